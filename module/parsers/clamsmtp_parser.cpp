// ClamSMTP (clamsmtpd) per-connection lines. Grammar: docs/log-formats.md section
// 7, from clamsmtp's smtppass.c (sp_add_log) and clamsmtpd.c:
//
//   CONNID: from=SENDER, to=R1[, to=R2 ...], status=CLEAN|VIRUS:NAME|VIRUS|CLAMAV-ERROR
//
// CONNID is clamsmtpd's own hex connection counter (100000, 1308A0), not an MTA queue id, so
// it is never reported as one. Addresses are logged without angle brackets ("<>" for the null
// sender). clamd's ExtendedDetectionInfo appends "(MD5:SIZE)" to the virus name.
//
// Records:
//   status=VIRUS:NAME / status=VIRUS   kDetection: virus NAME (without the "(md5:size)"
//                                      suffix) or "unknown", action "discarded", sender,
//                                      recipients; queue_id stays empty
// status=CLEAN, CLAMAV-ERROR and the other clamsmtpd lines ("accepted connection from: ...")
// are kIgnored; a from= line without its status, or with a virus name cut short, is kMalformed.
//
// Hostile text: the status is the last item clamsmtpd writes (when its 256-byte log buffer is
// full the status overwrites the end), so it is taken from the last ", status="; addresses
// cannot move it. An MTA hands special characters in a local part to clamsmtpd quoted
// ("a, to=b"@example.org), so the ", to=" separators are looked for outside double quotes.
#include "module/parsers/parse_util.hpp"
#include "module/parsers/parser_registry.hpp"

namespace vtrace {
namespace {

constexpr auto npos = std::string_view::npos;

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

constexpr std::string_view kToSep = ", to=";

// Finds the ", to=" separators from left to right, outside double-quoted strings; if the
// quotes do not balance (no address an MTA would send), every separator counts.
class ToSeparators {
 public:
  explicit ToSeparators(std::string_view s) : s_(s) {
    bool quoted = false;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '\\' && quoted) {
        ++i;
      } else if (s[i] == '"') {
        quoted = !quoted;
      }
    }
    honour_quotes_ = !quoted;
  }
  // The next separator at or after the previous one's end, or npos.
  std::size_t next() {
    for (; pos_ < s_.size(); ++pos_) {
      const char c = s_[pos_];
      if (honour_quotes_ && quoted_ && c == '\\') {
        ++pos_;
      } else if (honour_quotes_ && c == '"') {
        quoted_ = !quoted_;
      } else if (!quoted_ && s_.substr(pos_, kToSep.size()) == kToSep) {
        const std::size_t at = pos_;
        pos_ += kToSep.size();
        return at;
      }
    }
    return npos;
  }

 private:
  std::string_view s_;
  std::size_t pos_ = 0;
  bool quoted_ = false;
  bool honour_quotes_ = true;
};

// "Eicar-Test-Signature(f079fa479d272525a158e63decc82bcc:71)" -> "Eicar-Test-Signature".
// Returns false for a name whose suffix is cut short.
bool strip_detection_info(std::string_view& name) {
  const auto open = name.find('(');
  if (open == npos) return true;
  if (name.back() != ')') return false;
  const std::string_view info = name.substr(open + 1, name.size() - open - 2);
  const auto colon = info.find(':');
  if (colon == npos || colon == 0 || colon + 1 == info.size()) return false;
  for (std::size_t i = 0; i < info.size(); ++i) {
    if (i < colon && !is_hex(info[i])) return false;
    if (i > colon && !is_digit(info[i])) return false;
  }
  name = trim(name.substr(0, open));
  return true;
}

class ClamsmtpParser final : public LogParser {
 public:
  std::string_view name() const override { return "clamsmtp"; }

  bool accepts_program(std::string_view program) const override {
    return program == "clamsmtpd" || program == "clamsmtp";
  }

 private:
  ParseStatus parse_line(const LogLine& line, ParsedRecord& out) const override {
    std::string_view s = trim(line.message);
    // "100000: " (the connection counter).
    std::size_t i = 0;
    while (i < s.size() && is_hex(s[i])) ++i;
    if (i > 0 && i + 1 < s.size() && s[i] == ':' && s[i + 1] == ' ') s = trim(s.substr(i + 2));
    if (!s.starts_with("from=")) return ParseStatus::kIgnored;

    const auto status_at = s.rfind(", status=");
    if (status_at == npos) return ParseStatus::kMalformed;  // cut before the status
    const std::string_view status = trim(s.substr(status_at + 9));
    std::string_view virus;
    if (status == "VIRUS") {
      virus = "unknown";
    } else if (status.starts_with("VIRUS:")) {
      virus = trim(status.substr(6));
      if (!strip_detection_info(virus)) return ParseStatus::kMalformed;
      if (virus.empty()) virus = "unknown";
    } else if (status.empty()) {
      return ParseStatus::kMalformed;
    } else {
      return ParseStatus::kIgnored;  // CLEAN, CLAMAV-ERROR
    }

    const std::string_view head = s.substr(5, status_at - 5);  // "SENDER, to=R1, to=R2"
    ToSeparators separators(head);
    const std::size_t first = separators.next();
    out.recipients.clear();
    for (std::size_t at = first; at != npos;) {
      const std::size_t next = separators.next();
      const std::size_t b = at + kToSep.size();
      const std::size_t e = next == npos ? head.size() : next;
      const std::string_view r = strip_brackets(head.substr(b, e - b));
      if (!r.empty()) out.recipients.push_back(r);
      at = next;
    }
    out.kind = RecordKind::kDetection;
    out.virus = virus;
    out.action = "discarded";
    out.sender = strip_brackets(head.substr(0, first == npos ? head.size() : first));  // "<>" -> ""
    out.has_sender = true;
    return ParseStatus::kRecord;
  }
};

}  // namespace

std::unique_ptr<LogParser> make_clamsmtp_parser() { return std::make_unique<ClamsmtpParser>(); }

}  // namespace vtrace
