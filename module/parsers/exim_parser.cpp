// Exim main-log lines, syslog-wrapped ("exim[pid]: 2006-11-21 15:01:33 1Glsgv-0002wv-00 <= ...")
// or the bare remainder. Grammar: docs/log-formats.md section 4 and the Exim spec,
// chapter "Log files".
//
// Records:
//   ID <= SENDER ... H=[NAME ][(HELO) ][IP]:PORT ... S=N id=MSGID   kReceive
//   ID (= ...                                                         kReceive (fakereject: the
//                                                                     message was kept)
//   ID => / -> / >> RCPT ... H=NAME [IP] ... C="250 ... id=NEXT"      kDelivery kSent
//   ID == RCPT ...                                                    kDelivery kDeferred
//   ID ** RCPT[:] ...                                                 kDelivery kBounced
//   ID Completed                                                      kDone
//   [ID ]... F=<s> rejected after DATA: ... virus (NAME) ...          kDetection
//
// Bounce convention: exim logs a bounce as the arrival of a new message with a null sender
// and `R=<id of the message that failed>` ("ID2 <= <> R=ID1 U=Debian-exim P=local S=..").
// Such a line is a kReceive for ID2 (so the new message's facts are kept) with
// `orig_queue_id` = ID1 and `action` = "bounce-of"; no kBounce record is produced.
//
// The embedded exim timestamp ("YYYY-MM-DD HH:MM:SS[.fff][ +zzzz]") and an optional "[pid]"
// are skipped, not interpreted: the line's time is LogLine::time, set by the envelope decoder.
#include <cstdint>

#include "module/parsers/parse_util.hpp"
#include "module/parsers/parser_registry.hpp"

namespace vtrace {
namespace {

constexpr auto npos = std::string_view::npos;

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_digit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
void skip_spaces(std::string_view& s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!is_digit(c)) return false;
  }
  return true;
}

std::int64_t parse_size(std::string_view s) {
  if (!all_digits(s) || s.size() > 18) return -1;
  std::int64_t v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return v;
}

// `pattern` uses 'd' for a digit; every other character must match itself.
bool matches_digits(std::string_view s, std::string_view pattern) {
  if (s.size() < pattern.size()) return false;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == 'd' ? !is_digit(s[i]) : s[i] != pattern[i]) return false;
  }
  return true;
}

// True for X{6}-Y{6,11}-Z{2,4} over [A-Za-z0-9]: classic 1iGHiT-00007b-Na and 4.97+
// 1smkL5-00000000e65-24eQ.
bool is_exim_id(std::string_view s) {
  std::size_t i = 0;
  auto run = [&](std::size_t lo, std::size_t hi) {
    std::size_t n = 0;
    while (i < s.size() && is_alnum(s[i])) ++i, ++n;
    return n >= lo && n <= hi;
  };
  if (!run(6, 6) || i >= s.size() || s[i] != '-') return false;
  ++i;
  if (!run(6, 11) || i >= s.size() || s[i] != '-') return false;
  ++i;
  return run(2, 4) && i == s.size();
}

// Skips "YYYY-MM-DD HH:MM:SS[.fff][ +zzzz][.fff]" and "[pid]" / "[pid:n]". Returns false if the
// text starts like a timestamp but is cut short.
bool skip_prefix(std::string_view& s) {
  if (matches_digits(s, "dddd-dd-dd")) {
    if (!matches_digits(s, "dddd-dd-dd dd:dd:dd")) return false;
    s.remove_prefix(19);
    auto skip_fraction = [&] {
      if (s.size() >= 2 && s[0] == '.' && is_digit(s[1])) {
        s.remove_prefix(1);
        while (!s.empty() && is_digit(s.front())) s.remove_prefix(1);
      }
    };
    skip_fraction();
    if (s.size() >= 6 && s[0] == ' ' && (s[1] == '+' || s[1] == '-') &&
        matches_digits(s.substr(2), "dddd") && (s.size() == 6 || s[6] == ' ' || s[6] == '.')) {
      s.remove_prefix(6);
      skip_fraction();
    }
    if (!s.empty() && s.front() != ' ') return false;
    skip_spaces(s);
  }
  if (s.size() >= 3 && s.front() == '[' && is_digit(s[1])) {
    std::size_t i = 1;
    while (i < s.size() && (is_digit(s[i]) || s[i] == ':')) ++i;
    if (i < s.size() && s[i] == ']' && (i + 1 == s.size() || s[i + 1] == ' ')) {
      s.remove_prefix(i + 1);
      skip_spaces(s);
    }
  }
  return true;
}

// The parts of an H= field: "H=[NAME ][(HELO) ][IP][:PORT][*]". Only the last bracketed
// address can be relied on; the parenthesised HELO is ignored.
struct HostField {
  std::string_view name;
  std::string_view ip;
  bool broken = false;  // an unclosed bracket or parenthesis: the line was cut
};

// Parses the H= value starting at s[i]; returns the index just after the field.
std::size_t parse_host_field(std::string_view s, std::size_t i, HostField& host) {
  bool first = true;
  while (i < s.size()) {
    const char c = s[i];
    if (c == '[') {
      const auto close = s.find(']', i);
      if (close == npos) {
        host.broken = true;
        return s.size();
      }
      std::string_view ip = s.substr(i + 1, close - i - 1);
      if (ip.size() > 5 && ip.substr(0, 5) == "IPv6:") ip.remove_prefix(5);
      host.ip = ip;
      i = close + 1;
      if (i + 1 < s.size() && s[i] == ':' && is_digit(s[i + 1])) {
        ++i;
        while (i < s.size() && is_digit(s[i])) ++i;
      }
      if (i < s.size() && s[i] == '*') ++i;
      return i;
    }
    if (c == '(') {
      const auto end = skip_parens(s, i);
      if (end == npos) {
        host.broken = true;
        return s.size();
      }
      i = end;
    } else if (first) {
      std::size_t end = i;
      while (end < s.size() && s[end] != ' ' && s[end] != '[') ++end;
      host.name = s.substr(i, end - i);
      i = end;
    } else {
      return i;
    }
    first = false;
    // Another component follows only as " (" or " [".
    if (i + 1 < s.size() && s[i] == ' ' && (s[i + 1] == '(' || s[i + 1] == '[')) {
      ++i;
    } else if (i < s.size() && s[i] == '[') {
      // "name[ip]" without a space: tolerated.
    } else {
      return i;
    }
  }
  return i;
}

// One token of an exim log line: `KEY=value` (value quoted, <bracketed> or plain; H= parsed
// as a host field), or a free token (key empty). Returns false at the end of the text.
struct Token {
  std::string_view key;
  std::string_view value;  // for free tokens: the token itself
  HostField host;          // for H=
  bool unterminated = false;
};

class Tokenizer {
 public:
  explicit Tokenizer(std::string_view text) : s_(text) {}
  std::size_t position() const { return i_; }

  bool next(Token& t) {
    t = Token{};
    while (i_ < s_.size() && s_[i_] == ' ') ++i_;
    if (i_ >= s_.size()) return false;
    const std::size_t start = i_;
    std::size_t k = i_;
    while (k < s_.size() && (is_alnum(s_[k]) || s_[k] == '_')) ++k;
    if (k > start && k < s_.size() && s_[k] == '=') {
      t.key = s_.substr(start, k - start);
      i_ = k + 1;
      if (t.key == "H") {
        i_ = parse_host_field(s_, i_, t.host);
        t.value = s_.substr(k + 1, i_ - k - 1);
        t.unterminated = t.host.broken;
        return true;
      }
      if (i_ < s_.size() && s_[i_] == '"') {
        std::size_t j = i_ + 1;
        while (j < s_.size() && s_[j] != '"') j += (s_[j] == '\\' && j + 1 < s_.size()) ? 2 : 1;
        if (j >= s_.size()) {
          t.unterminated = true;
          t.value = s_.substr(i_ + 1);
          i_ = s_.size();
        } else {
          t.value = s_.substr(i_ + 1, j - i_ - 1);
          i_ = j + 1;
        }
        return true;
      }
      if (i_ < s_.size() && s_[i_] == '<') {
        const auto close = s_.find('>', i_);
        if (close == npos) {
          t.unterminated = true;
          t.value = s_.substr(i_);
          i_ = s_.size();
        } else {
          t.value = s_.substr(i_, close + 1 - i_);
          i_ = close + 1;
        }
        return true;
      }
      std::size_t j = i_;
      while (j < s_.size() && s_[j] != ' ') ++j;
      t.value = s_.substr(i_, j - i_);
      i_ = j;
      return true;
    }
    // A free token; "(parent)" and "<orig>" may contain spaces.
    std::size_t j = start;
    if (s_[start] == '(') {
      j = skip_parens(s_, start);
      if (j == npos) {
        t.unterminated = true;
        j = s_.size();
      }
    } else if (s_[start] == '<') {
      j = s_.find('>', start);
      if (j == npos) {
        t.unterminated = true;
        j = s_.size();
      } else {
        ++j;
      }
    }
    while (j < s_.size() && s_[j] != ' ') ++j;
    t.value = s_.substr(start, j - start);
    i_ = j;
    return true;
  }

 private:
  std::string_view s_;
  std::size_t i_ = 0;
};

// First whitespace-delimited token of s.
std::string_view first_token(std::string_view s) {
  const auto end = s.find(' ');
  return end == npos ? s : s.substr(0, end);
}

class EximParser final : public LogParser {
 public:
  std::string_view name() const override { return "exim"; }
  bool is_mta() const override { return true; }

  bool accepts_program(std::string_view program) const override {
    return program.size() >= 4 && program.substr(0, 4) == "exim";
  }

 private:
  ParseStatus parse_line(const LogLine& line, ParsedRecord& out) const override {
    std::string_view s = line.message;
    while (!s.empty() && (s.back() == '\r' || s.back() == '\n' || s.back() == ' ')) {
      s.remove_suffix(1);
    }
    skip_spaces(s);
    if (!skip_prefix(s)) return ParseStatus::kMalformed;
    if (s.empty()) return ParseStatus::kIgnored;

    const std::string_view id = first_token(s);
    if (!is_exim_id(id)) return parse_reject(s, {}, out);
    std::string_view rest = s.substr(id.size());
    skip_spaces(rest);
    if (rest.empty()) return ParseStatus::kMalformed;  // "ID" and nothing else: cut short

    const std::string_view flag = first_token(rest);
    if (flag.size() == 2) {
      std::string_view body = rest.substr(2);
      skip_spaces(body);
      if (flag == "<=" || flag == "(=") return parse_receive(id, body, out);
      if (flag == "=>" || flag == "->" || flag == ">>") {
        return parse_delivery(id, body, DeliveryStatus::kSent, out);
      }
      if (flag == "==") return parse_delivery(id, body, DeliveryStatus::kDeferred, out);
      if (flag == "**") return parse_delivery(id, body, DeliveryStatus::kBounced, out);
      if (flag == "*>") return ParseStatus::kIgnored;  // delivery suppressed by -N
    }
    if (flag == "Completed") {
      out.kind = RecordKind::kDone;
      out.queue_id = id;
      return ParseStatus::kRecord;
    }
    return parse_reject(rest, id, out);
  }

  static ParseStatus parse_receive(std::string_view id, std::string_view body, ParsedRecord& out) {
    const std::string_view sender = first_token(body);
    if (sender.empty()) return ParseStatus::kMalformed;
    out.kind = RecordKind::kReceive;
    out.queue_id = id;
    out.sender = strip_brackets(sender);
    out.has_sender = true;

    Tokenizer tok(body.substr(sender.size()));
    Token t;
    bool any_field = false;
    bool saw_host = false;
    while (tok.next(t)) {
      if (t.key.empty()) {
        if (t.value == "for") {
          // "for RCPT RCPT ..." (log_selector +received_recipients) ends the line.
          while (tok.next(t)) {
            const auto rcpt = strip_brackets(t.value);
            if (!rcpt.empty()) out.recipients.push_back(rcpt);
          }
          break;
        }
        if (t.unterminated) return ParseStatus::kMalformed;
        continue;
      }
      any_field = true;
      if (t.key == "H" && !saw_host) {
        saw_host = true;
        if (t.host.broken) return ParseStatus::kMalformed;
        out.client_ip = t.host.ip;
        out.client_name = t.host.name;
      } else if (t.key == "R") {
        out.orig_queue_id = t.value;
        out.action = "bounce-of";
      } else if (t.key == "S") {
        out.size = parse_size(t.value);
      } else if (t.key == "id") {
        if (t.unterminated) return ParseStatus::kMalformed;
        out.message_id = strip_brackets(t.value);
      }
    }
    if (!any_field) return ParseStatus::kMalformed;  // no P=/S=: the line was cut
    return ParseStatus::kRecord;
  }

  static ParseStatus parse_delivery(std::string_view id, std::string_view body,
                                    DeliveryStatus status, ParsedRecord& out) {
    std::string_view rcpt = first_token(body);
    // "** user@example.com: Unrouteable address"; but "=> :blackhole: <x@y>" keeps its colons.
    if (status != DeliveryStatus::kSent && rcpt.size() > 1 && rcpt.back() == ':') {
      rcpt.remove_suffix(1);
    }
    rcpt = strip_brackets(rcpt);
    if (rcpt.empty()) return ParseStatus::kMalformed;
    out.kind = RecordKind::kDelivery;
    out.queue_id = id;
    out.status = status;
    out.recipients.push_back(rcpt);

    Tokenizer tok(body.substr(first_token(body).size()));
    Token t;
    bool saw_host = false;
    bool saw_reply = false;
    while (tok.next(t)) {
      if (t.key == "H" && !saw_host) {
        saw_host = true;
        if (t.host.broken) return ParseStatus::kMalformed;
        out.relay_name = t.host.name;
        out.relay_ip = t.host.ip;
      } else if (t.key == "C" && !saw_reply && status == DeliveryStatus::kSent) {
        saw_reply = true;
        out.next_queue_id = next_hop_queue_id(t.value);
      }
    }
    return ParseStatus::kRecord;
  }

  // "[ID ][H=...] [F=<sender>] rejected after DATA: <text naming a virus>" (an acl_smtp_data
  // `malware` deny). Any other line is exim noise.
  static ParseStatus parse_reject(std::string_view text, std::string_view id, ParsedRecord& out) {
    static constexpr std::string_view kMarker = "rejected after DATA";
    const auto pos = text.find(kMarker);
    if (pos == npos) return ParseStatus::kIgnored;
    if (pos > 0 && text[pos - 1] != ' ') return ParseStatus::kIgnored;
    const std::string_view head = text.substr(0, pos);
    // "temporarily rejected after DATA" is a scanner failure, not a verdict.
    if (head.size() >= 12 && head.substr(head.size() - 12) == "temporarily ") {
      return ParseStatus::kIgnored;
    }
    std::string_view reason = text.substr(pos + kMarker.size());
    if (!reason.empty() && reason.front() == ':') reason.remove_prefix(1);
    std::size_t keyword = find_nocase(reason, "virus");
    if (keyword == npos) keyword = find_nocase(reason, "malware");
    if (keyword == npos) return ParseStatus::kIgnored;  // a spam or policy reject

    out.kind = RecordKind::kDetection;
    out.queue_id = id;
    out.action = text.substr(pos, 8);  // "rejected"
    out.virus = "unknown";
    if (const auto open = reason.find('(', keyword); open != npos) {
      const auto close = skip_parens(reason, open);
      if (close == npos) return ParseStatus::kMalformed;
      std::string_view name = reason.substr(open + 1, close - open - 2);
      while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
      while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
      if (!name.empty()) out.virus = name;
    }

    Tokenizer tok(head);
    Token t;
    bool saw_host = false;
    while (tok.next(t)) {
      if (t.key == "H" && !saw_host) {
        saw_host = true;
        out.client_ip = t.host.ip;
        out.client_name = t.host.name;
      } else if (t.key == "F" && !out.has_sender) {
        out.sender = strip_brackets(t.value);
        out.has_sender = true;
      }
    }
    return ParseStatus::kRecord;
  }
};

}  // namespace

std::unique_ptr<LogParser> make_exim_parser() { return std::make_unique<EximParser>(); }

}  // namespace vtrace
