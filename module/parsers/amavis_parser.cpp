// amavisd-new main log lines (the default $log_templ, amavisd-new 2.2 .. 2.13). Grammar:
// docs/log-formats.md section 6.
//
//   (PID-SEQ) Passed|Blocked CCAT[ (VIRUS-LIST)][ {ACTIONS}], [BANKS ][LOCAL ][CLIENT]:PORT
//       [ORIG] <SENDER> -> <R1>,<R2>[, quarantine: Q][, Queue-ID: QID][, Message-ID: <ID>]
//       [, mail_id: MID], Hits: H, size: N[, queued_as: QID2[/QID3]], ..., T ms
//
// Records:
//   Blocked|Passed INFECTED (V1, V2)   kDetection: virus V1, action "blocked" / "passed"
//   (very old, no verb) INFECTED (..)  kDetection, action "blocked" (the message was quarantined)
//   Passed <other> with Queue-ID and queued_as
//                                      kDelivery Queue-ID -> queued_as (the filter re-injected
//                                      the message under a new MTA queue id), status kSent
// Everything else is kIgnored; an INFECTED line cut short is kMalformed.
//
// The client: amavis logs `[%a]:port` (the SMTP client, from XFORWARD or amavis's own SMTP
// peer, preceded by "LOCAL" for internal ones) and then `[%e]` (its best guess of the
// originator from the Received trace). The first bracket is the client; the second is never
// used. (%a is empty only for non-SMTP input without client data; then a lone bracket would be
// %e. Real lines with a lone bracket, e.g. "[::1] <> -> <postmaster>" from a telnet test, are
// %a, so a lone bracket is taken as the client.)
#include <cstdint>

#include "module/parsers/parse_util.hpp"
#include "module/parsers/parser_registry.hpp"

namespace vtrace {
namespace {

constexpr auto npos = std::string_view::npos;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool starts_with_word(std::string_view s, std::string_view word) {
  return s.size() >= word.size() && s.substr(0, word.size()) == word &&
         (s.size() == word.size() || s[word.size()] == ' ' || s[word.size()] == ',');
}

std::int64_t parse_size(std::string_view s) {
  std::int64_t v = 0;
  std::size_t n = 0;
  while (n < s.size() && is_digit(s[n]) && n < 18) v = v * 10 + (s[n++] - '0');
  return n == 0 ? -1 : v;
}

// The first queue id of "QID2/QID3" or, when amavis logged the whole SMTP reply because its
// "queued as" pattern did not match, whatever id that reply names.
std::string_view first_queued_as(std::string_view value) {
  std::string_view id = value.substr(0, value.find('/'));
  if (plausible_queue_id(id)) return id;
  return next_hop_queue_id(value);
}

class AmavisParser final : public LogParser {
 public:
  std::string_view name() const override { return "amavis"; }

  bool accepts_program(std::string_view program) const override {
    // "/usr/sbin/amavisd" style tags: judge the base name.
    if (!program.empty() && program.front() == '/') {
      program = program.substr(program.rfind('/') + 1);
    }
    const std::string_view base = program.substr(0, program.find('/'));
    return base == "amavis" || base == "amavisd" || base == "amavisd-new";
  }

 private:
  ParseStatus parse_line(const LogLine& line, ParsedRecord& out) const override {
    std::string_view s = trim(line.message);
    // "(PID-SEQ) " / "(PID-SEQ-N) ".
    if (!s.empty() && s.front() == '(') {
      std::size_t i = 1;
      while (i < s.size() && (is_digit(s[i]) || s[i] == '-')) ++i;
      if (i == 1 || i >= s.size() || s[i] != ')') return ParseStatus::kIgnored;  // "(!!)..."
      s = trim(s.substr(i + 1));
    }

    std::string_view action;
    if (starts_with_word(s, "Blocked")) {
      action = "blocked";
      s.remove_prefix(7);
    } else if (starts_with_word(s, "Passed")) {
      action = "passed";
      s.remove_prefix(6);
    } else if (!starts_with_word(s, "INFECTED")) {
      return ParseStatus::kIgnored;  // Checking:, TIMING, SPAM-TAG, lookup lines, ...
    }
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);

    // CCAT ("CLEAN", "BAD-HEADER-0", "UNCHECKED-ENCRYPTED"), possibly absent ("Passed, <..").
    std::size_t i = 0;
    while (i < s.size() && s[i] != ' ' && s[i] != ',') ++i;
    const std::string_view ccat = s.substr(0, i);
    const bool infected = ccat == "INFECTED";
    if (action.empty()) action = "blocked";  // pre-2.4 "INFECTED (...)": quarantined, blocked
    const auto cut = infected ? ParseStatus::kMalformed : ParseStatus::kIgnored;

    std::string_view virus_list;
    if (i + 1 < s.size() && s[i] == ' ' && s[i + 1] == '(') {
      const auto end = skip_parens(s, i + 1);
      if (end == npos) return cut;
      virus_list = s.substr(i + 2, end - i - 3);
      i = end;
    } else if (infected) {
      return ParseStatus::kMalformed;  // INFECTED without its virus list
    }
    if (i + 1 < s.size() && s[i] == ' ' && s[i + 1] == '{') {
      const auto end = s.find('}', i);
      if (end == npos) return cut;
      i = end + 1;
    }
    if (i >= s.size() || s[i] != ',') return cut;
    const std::string_view body = s.substr(i + 1);

    const auto arrow = body.find(" -> ");
    if (arrow == npos) return cut;
    const std::string_view head = body.substr(0, arrow);
    const auto lt = head.find('<');
    if (lt == npos) return cut;
    const std::string_view sender_token = trim(head.substr(lt));
    if (sender_token.back() != '>') return cut;

    // Recipients: "<a>,<b>" up to the first ", ".
    std::string_view tail = body.substr(arrow + 4);
    auto list_end = tail.find(", ");
    const std::string_view list = tail.substr(0, list_end);
    tail = list_end == npos ? std::string_view{} : tail.substr(list_end);
    out.recipients.clear();
    for (std::size_t p = 0; p < list.size();) {
      if (list[p] == ',' || list[p] == ' ') {
        ++p;
        continue;
      }
      if (list[p] != '<') return cut;
      const auto close = list.find('>', p);
      if (close == npos) return cut;
      out.recipients.push_back(list.substr(p + 1, close - p - 1));
      p = close + 1;
    }
    if (out.recipients.empty()) return cut;

    const std::string_view queue_id = field_value(tail, "Queue-ID: ");
    std::string_view next_id = field_value(tail, "queued_as: ");
    if (!next_id.empty()) next_id = first_queued_as(next_id);

    if (!infected) {
      if (action != "passed" || queue_id.empty() || next_id.empty()) {
        out.recipients.clear();
        return ParseStatus::kIgnored;
      }
      out.kind = RecordKind::kDelivery;
      out.status = DeliveryStatus::kSent;
      out.clean = ccat == "CLEAN";
    } else {
      // The first name of "(Exploit.HTML.IFrame, Worm.SomeFool.P)".
      std::string_view virus = trim(virus_list.substr(0, virus_list.find(',')));
      if (virus.empty()) return ParseStatus::kMalformed;
      out.kind = RecordKind::kDetection;
      out.virus = virus;
      out.action = action;
      out.client_ip = client_address(head.substr(0, lt));
    }
    out.queue_id = queue_id;
    out.next_queue_id = next_id;
    out.sender = strip_brackets(sender_token);
    out.has_sender = true;
    out.message_id = strip_brackets(field_value(tail, "Message-ID: "));
    std::string_view size = field_value(tail, "size: ");
    if (size.empty()) size = field_value(tail, "Size: ");
    out.size = parse_size(size);
    return ParseStatus::kRecord;
  }

  // "[BANKS ][LOCAL ][CLIENT]:PORT [ORIG] " -> CLIENT (see the file comment).
  static std::string_view client_address(std::string_view head) {
    const auto open = head.find('[');
    if (open == npos) return {};
    const auto close = head.find(']', open);
    if (close == npos) return {};
    std::string_view ip = head.substr(open + 1, close - open - 1);
    if (ip.size() > 5 && ip.substr(0, 5) == "IPv6:") ip.remove_prefix(5);
    return ip;
  }
};

}  // namespace

std::unique_ptr<LogParser> make_amavis_parser() { return std::make_unique<AmavisParser>(); }

}  // namespace vtrace
