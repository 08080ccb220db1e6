// Small scanning helpers shared by the format parsers (and the ISVW assembler): no allocation,
// no regex. Defined in parse_util.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace vtrace {

// Without leading blanks and tabs, and without trailing blanks, tabs, CR and LF.
std::string_view trim(std::string_view s);
// The first position at or after `from` where `lower_needle` (written in lower case) stands in
// `hay`, ASCII letters compared without case; npos when it does not.
std::size_t find_nocase(std::string_view hay, std::string_view lower_needle, std::size_t from = 0);
// The index just past the ')' that closes the '(' at s[open] (nested pairs skipped), or npos
// when the text ends first (a cut line).
std::size_t skip_parens(std::string_view s, std::size_t open);
// Splits "<a@b>,<c@d>" or "a@b, c@d" into addresses without brackets.
void split_addresses(std::string_view list, std::vector<std::string_view>& out);
// Strips one pair of surrounding angle brackets and whitespace.
std::string_view strip_brackets(std::string_view s);
// Splits "name[1.2.3.4]:25" / "name[1.2.3.4]" (postfix style) into name and address.
// Returns false if there is no [address]. A name of "unknown" is returned empty.
bool split_name_address(std::string_view s, std::string_view& name, std::string_view& address);
// Finds `key` (such as "from=") at the start of the text or after ' ', ',' or ';', outside any
// <bracketed address>, and returns the value: a whole address list when it starts with '<',
// else up to the next ", ". Empty if absent.
std::string_view field_value(std::string_view text, std::string_view key);
// One "key=value" item of a ", "-separated field list, as postfix and sendmail log them.
struct Field {
  std::string_view key;    // without '='; empty for an item that is not "key=value"
  std::string_view value;  // an address list when it starts with '<', else up to ", "
  std::size_t at = 0;      // where the item starts in the scanned text
  std::size_t value_at = 0;
};
// Walks the items of a field list once, front to back, where field_value would search the
// text once per key. Addresses are taken whole, as field_value takes them: a "key=" inside
// one is not a field.
class FieldScanner {
 public:
  explicit FieldScanner(std::string_view text) : text_(text) {}
  // The next item, or false at the end of the text.
  bool next(Field& field);
  // Continues at `pos`, which must be the start of an item or of a ", " before one.
  void skip_to(std::size_t pos) { pos_ = pos; }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
};
// The position of `key` as field_value finds it, or npos.
std::size_t find_key(std::string_view text, std::string_view key);
// One past the '>' closing the bracketed address that starts at text[pos] == '<', honouring
// quoted local parts; text.size() when unclosed.
std::size_t address_end(std::string_view text, std::size_t pos);
// Finds the next-hop queue id in a delivery reply: "queued as X", "id=X",
// "X Message accepted for delivery", "<X> Message accepted" and the like.
std::string_view next_hop_queue_id(std::string_view reply);
// The decimal number at the start of `s` ("1391" of "1391, class=0"); 0 when there is none.
std::int64_t leading_number(std::string_view s);
// True for strings that look like a queue id of some MTA (letters, digits, '-' and '.' only).
bool plausible_queue_id(std::string_view s);

// Finds an antivirus verdict in free reply text ("5.7.1 Virus X detected", "FOUND VIRUS: X",
// "INFECTED: X", "contains a virus (X)", "virus found: \"X\"", "infected by X"). Returns the
// virus name, "unknown" when the text names a virus verdict without a name, or an empty view
// when the text is no virus verdict at all (a spam or policy reject).
std::string_view virus_in_reply(std::string_view text);

}  // namespace vtrace
