// Small scanning helpers shared by the format parsers; no allocation, no regex.
#include "module/parsers/parse_util.hpp"

#include <array>
#include <cstring>
#include <string>

namespace vtrace {

namespace {
bool is_id_char(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '-' ||
         c == '.' || c == '_';
}
// Characters of a field name ("orig_queue_id", "X-Virus"), as a table: one load per byte.
constexpr auto kKeyChars = [] {
  std::array<bool, 256> table{};
  for (int c = 0; c < 256; ++c) {
    table[c] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-';
  }
  return table;
}();

// string_view::rfind compares the needle at every position from the back; this jumps between
// occurrences of its first byte (memrchr) and compares only there.
std::size_t last_occurrence(std::string_view hay, std::string_view needle) {
  if (needle.empty() || needle.size() > hay.size()) return std::string_view::npos;
  std::size_t starts = hay.size() - needle.size() + 1;  // candidate starts: [0, starts)
  while (starts > 0) {
    const void* hit = ::memrchr(hay.data(), needle.front(), starts);
    if (hit == nullptr) break;
    const auto pos = static_cast<std::size_t>(static_cast<const char*>(hit) - hay.data());
    if (hay.substr(pos, needle.size()) == needle) return pos;
    starts = pos;
  }
  return std::string_view::npos;
}

// The position of the next ", " at or after `from`, or text.size().
std::size_t next_separator(std::string_view text, std::size_t from) {
  const char* const end = text.data() + text.size();
  const char* p = text.data() + from;
  while (p < end) {
    p = static_cast<const char*>(std::memchr(p, ',', static_cast<std::size_t>(end - p)));
    if (p == nullptr) break;
    if (p + 1 < end && p[1] == ' ') return static_cast<std::size_t>(p - text.data());
    ++p;
  }
  return text.size();
}
}  // namespace

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

std::string_view strip_brackets(std::string_view s) {
  s = trim(s);
  if (s.size() >= 2 && s.front() == '<' && s.back() == '>') {
    s = s.substr(1, s.size() - 2);
  }
  return trim(s);
}

void split_addresses(std::string_view list, std::vector<std::string_view>& out) {
  while (!list.empty()) {
    std::size_t end;
    list = trim(list);
    if (list.empty()) break;
    if (list.front() == '<') {
      end = address_end(list, 0);
    } else {
      end = list.find(',');
      if (end == std::string_view::npos) end = list.size();
    }
    const std::string_view address = strip_brackets(list.substr(0, end));
    if (!address.empty()) out.push_back(address);
    list.remove_prefix(end);
    while (!list.empty() && (list.front() == ',' || list.front() == ' ')) list.remove_prefix(1);
  }
}

bool split_name_address(std::string_view s, std::string_view& name, std::string_view& address) {
  const auto open = s.find('[');
  if (open == std::string_view::npos) return false;
  const auto close = s.find(']', open);
  if (close == std::string_view::npos) return false;
  name = trim(s.substr(0, open));
  if (name == "unknown") name = {};
  address = s.substr(open + 1, close - open - 1);
  return !address.empty();
}

// The end (one past '>') of the bracketed address starting at `pos`, honouring quoted local
// parts: RFC 5321 allows '"x, status=sent (...)"@host', and MTAs log it as given.
std::size_t address_end(std::string_view text, std::size_t pos) {
  // The common case, no quote before the closing bracket, goes at memchr speed.
  const std::size_t close = text.find('>', pos + 1);
  if (close != std::string_view::npos &&
      text.substr(pos + 1, close - pos - 1).find('"') == std::string_view::npos) {
    return close + 1;
  }
  bool quoted = false;
  for (std::size_t i = pos + 1; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\\' && quoted) {
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == '>' && !quoted) {
      return i + 1;
    }
  }
  return text.size();
}

std::size_t find_key(std::string_view text, std::string_view key) {
  // memchr/memcmp-driven: jump to the next '<' or the next occurrence of the key, whichever
  // comes first, and skip addresses whole.
  std::size_t pos = 0;
  std::size_t next_address = text.find('<');
  while (pos < text.size()) {
    const std::size_t candidate = text.find(key, pos);
    if (candidate == std::string_view::npos) return std::string_view::npos;
    if (next_address < candidate) {
      // Attacker-written addresses are skipped whole: a key inside one is not a field.
      pos = address_end(text, next_address);
      next_address = text.find('<', pos);
      continue;
    }
    if (candidate == 0 || text[candidate - 1] == ' ' || text[candidate - 1] == ',' ||
        text[candidate - 1] == ';') {
      return candidate;
    }
    pos = candidate + 1;
  }
  return std::string_view::npos;
}

std::string_view field_value(std::string_view text, std::string_view key) {
  const std::size_t pos = find_key(text, key);
  if (pos == std::string_view::npos) return {};
  std::string_view rest = text.substr(pos + key.size());
  if (!rest.empty() && rest.front() == '<') {
    // An address, then any following ",<...>" items.
    std::size_t end = address_end(rest, 0);
    while (end + 1 < rest.size() && rest[end] == ',' && rest[end + 1] == '<') {
      end = address_end(rest, end + 1);
    }
    return rest.substr(0, end);
  }
  std::size_t end = rest.find(", ");
  if (end == std::string_view::npos) end = rest.size();
  return rest.substr(0, end);
}

bool FieldScanner::next(Field& field) {
  while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == ',')) ++pos_;
  if (pos_ >= text_.size()) return false;
  field.at = pos_;
  std::size_t i = pos_;
  while (i < text_.size() && kKeyChars[static_cast<unsigned char>(text_[i])]) ++i;
  if (i > pos_ && i < text_.size() && text_[i] == '=') {
    field.key = text_.substr(pos_, i - pos_);
    ++i;
  } else {
    field.key = {};
    i = pos_;
  }
  field.value_at = i;
  std::size_t end;
  if (i < text_.size() && text_[i] == '<') {
    end = address_end(text_, i);
    while (end + 1 < text_.size() && text_[end] == ',' && text_[end + 1] == '<') {
      end = address_end(text_, end + 1);
    }
  } else {
    end = next_separator(text_, i);
  }
  field.value = text_.substr(i, end - i);
  // An item that stops short of ", " (an address followed by a comment) ends at the next
  // separator, so the next item starts on a key.
  pos_ = end;
  if (pos_ < text_.size() && text_[pos_] != ',') pos_ = next_separator(text_, pos_);
  return true;
}

std::int64_t leading_number(std::string_view s) {
  std::int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9' || v > 1'000'000'000'000LL) break;
    v = v * 10 + (c - '0');
  }
  return v;
}

bool plausible_queue_id(std::string_view s) {
  if (s.size() < 5 || s.size() > 40) return false;
  bool has_digit_or_upper = false;
  for (char c : s) {
    if (!is_id_char(c)) return false;
    has_digit_or_upper = has_digit_or_upper || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z');
  }
  return has_digit_or_upper;
}

std::string_view next_hop_queue_id(std::string_view reply) {
  // postfix: "... queued as 153053D" (also behind amavis's "from MTA(...): 250 ...")
  if (auto pos = last_occurrence(reply, "queued as "); pos != std::string_view::npos) {
    std::string_view rest = reply.substr(pos + 10);
    std::size_t end = 0;
    while (end < rest.size() && is_id_char(rest[end])) ++end;
    while (end > 0 && rest[end - 1] == '.') --end;
    rest = rest.substr(0, end);
    if (plausible_queue_id(rest)) return rest;
  }
  // exim: "250 OK id=1iGHiT-00007b-Na"
  if (auto pos = reply.find("id=");
      pos != std::string_view::npos && (pos == 0 || reply[pos - 1] == ' ')) {
    std::string_view rest = reply.substr(pos + 3);
    std::size_t end = 0;
    while (end < rest.size() && is_id_char(rest[end])) ++end;
    rest = rest.substr(0, end);
    if (plausible_queue_id(rest)) return rest;
  }
  // sendmail: "[250 2.0.0 ]ID[-ID2] Message accepted for delivery"
  if (auto pos = reply.find(" Message accepted"); pos != std::string_view::npos) {
    std::string_view head = reply.substr(0, pos);
    const auto space = head.rfind(' ');
    std::string_view id = space == std::string_view::npos ? head : head.substr(space + 1);
    // sendmail with envelope split logs "ID1-ID2": the first is the message as received.
    if (auto dash = id.find('-'); dash != std::string_view::npos && dash >= 8) {
      id = id.substr(0, dash);
    }
    id = strip_brackets(id);
    if (plausible_queue_id(id)) return id;
  }
  return {};
}

}  // namespace vtrace

namespace vtrace {

namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

}  // namespace

std::size_t find_nocase(std::string_view hay, std::string_view lower_needle, std::size_t from) {
  if (lower_needle.size() > hay.size()) return std::string_view::npos;
  for (std::size_t i = from; i + lower_needle.size() <= hay.size(); ++i) {
    std::size_t j = 0;
    while (j < lower_needle.size() && lower(hay[i + j]) == lower_needle[j]) ++j;
    if (j == lower_needle.size()) return i;
  }
  return std::string_view::npos;
}

std::size_t skip_parens(std::string_view s, std::size_t open) {
  int depth = 0;
  for (std::size_t i = open; i < s.size(); ++i) {
    if (s[i] == '(') {
      ++depth;
    } else if (s[i] == ')' && --depth == 0) {
      return i + 1;
    }
  }
  return std::string_view::npos;
}

namespace {

std::string_view name_token(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '"' || s.front() == '\'' ||
                        s.front() == '(' || s.front() == '<')) {
    s.remove_prefix(1);
  }
  std::size_t end = 0;
  while (end < s.size() && s[end] != ' ' && s[end] != ';' && s[end] != ')' && s[end] != '"' &&
         s[end] != '\'' && s[end] != ',' && s[end] != '>') {
    ++end;
  }
  std::string_view token = s.substr(0, end);
  while (!token.empty() && (token.back() == '.' || token.back() == ':')) token.remove_suffix(1);
  return token;
}

// True iff `stem` occurs in `text`. memchr jumps between occurrences of stem[anchor], a byte
// chosen for being rare, where string_view::find would stop at every occurrence of the first.
bool contains(std::string_view text, std::string_view stem, std::size_t anchor) {
  if (text.size() < stem.size()) return false;
  const char* const end = text.data() + text.size();
  const char* p = text.data() + anchor;
  while (p < end) {
    p = static_cast<const char*>(std::memchr(p, stem[anchor], static_cast<std::size_t>(end - p)));
    if (p == nullptr) return false;
    const char* start = p - anchor;
    if (static_cast<std::size_t>(end - start) >= stem.size() &&
        std::memcmp(start, stem.data(), stem.size()) == 0) {
      return true;
    }
    ++p;
  }
  return false;
}

bool looks_like_virus_name(std::string_view t) {
  if (t.size() < 3 || t.size() > 200) return false;
  static constexpr std::string_view kWords[] = {"detected", "found", "by", "in",      "the",
                                                "a",        "was",   "is", "message", "mail"};
  for (auto w : kWords) {
    if (t.size() == w.size() && find_nocase(t, w) == 0) return false;
  }
  return true;
}

}  // namespace

std::string_view virus_in_reply(std::string_view text) {
  // Most replies are spam or policy rejects: a case-sensitive scan for the few stems every
  // verdict contains rules them out before the case-insensitive search. Each is found by a
  // byte of it that is rare in mail text ('u', 'f', 'w').
  struct Stem {
    std::string_view text;
    std::size_t anchor;
  };
  static constexpr Stem kStems[] = {{"irus", 2},  {"IRUS", 2},   {"nfect", 1},
                                    {"NFECT", 1}, {"alware", 2}, {"ALWARE", 2}};
  bool maybe = false;
  for (const auto& stem : kStems) maybe = maybe || contains(text, stem.text, stem.anchor);
  if (!maybe) return {};
  // Every search below ignores ASCII case: one lower-cased copy, then plain (memchr-driven)
  // finds in it, at the same offsets as in the text, instead of a byte-by-byte case-folding
  // scan of the whole text for each marker.
  std::string folded(text);
  for (char& c : folded) c = lower(c);
  const std::string_view low = folded;
  // Markers followed by the name.
  static constexpr std::string_view kAfter[] = {
      "found virus:",     "virus found:",     "infected:",      "infected by ",
      "contains a virus", "virus identified", "malware found:", "infected with "};
  for (auto marker : kAfter) {
    const auto pos = low.find(marker);
    if (pos == std::string_view::npos) continue;
    const auto name = name_token(text.substr(pos + marker.size()));
    if (looks_like_virus_name(name)) return name;
    return "unknown";
  }
  // "Virus NAME detected" / "virus NAME found"
  for (std::size_t pos = low.find("virus "); pos != std::string_view::npos;
       pos = low.find("virus ", pos + 1)) {
    const auto name = name_token(text.substr(pos + 6));
    const std::size_t after = text.find(name, pos) + name.size();
    std::string_view rest = text.substr(after);
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    const std::string_view low_rest =
        low.substr(static_cast<std::size_t>(rest.data() - text.data()));
    if (looks_like_virus_name(name) &&
        (low_rest.starts_with("detected") || low_rest.starts_with("found"))) {
      return name;
    }
  }
  // "Infected (NAME)" as in X-Virus-Status headers.
  if (const auto pos = low.find("infected ("); pos != std::string_view::npos) {
    const auto name = name_token(text.substr(pos + 10));
    if (looks_like_virus_name(name)) return name;
  }
  if (low.find("virus") != std::string_view::npos ||
      low.find("malware") != std::string_view::npos) {
    return "unknown";
  }
  return {};
}

}  // namespace vtrace
