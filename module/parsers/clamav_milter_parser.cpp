// clamav-milter "LogInfected Basic" and "LogInfected Full" lines (format from clamfi.c).
#include "module/parsers/parse_util.hpp"
#include "module/parsers/parser_registry.hpp"

namespace vtrace {
namespace {

std::string_view known(std::string_view v) { return v == "UNKNOWN" ? std::string_view{} : v; }

class ClamavMilterParser final : public LogParser {
 public:
  std::string_view name() const override { return "clamav-milter"; }

  bool accepts_program(std::string_view program) const override {
    return program.starts_with("clamav-milter") || program == "clamav";
  }

  // Subject, addresses and message-id are attacker-written: the line is parsed from both ends
  // so that a subject containing "' message-id '" or " infected by " cannot move the fields.
  ParseStatus parse_line(const LogLine& line, ParsedRecord& out) const override {
    std::string_view msg = line.message;
    if (msg.starts_with("Clean message ")) return parse_clean(msg.substr(14), out);
    if (!msg.starts_with("Message ")) return ParseStatus::kIgnored;
    const auto infected = msg.rfind(" infected by ");
    if (infected == std::string_view::npos) return ParseStatus::kIgnored;
    out.kind = RecordKind::kDetection;
    out.action = "detected";
    out.virus = msg.substr(infected + 13);
    while (!out.virus.empty() && (out.virus.back() == ' ' || out.virus.back() == '\r')) {
      out.virus.remove_suffix(1);
    }
    if (out.virus.empty()) return ParseStatus::kMalformed;
    std::string_view head = msg.substr(8, infected - 8);
    // Full format: "QID from <...> to <...> with subject '...' message-id '...' date '...'"
    if (!head.starts_with("from <")) {
      const auto space = head.find(' ');
      if (space == std::string_view::npos) return ParseStatus::kMalformed;
      out.queue_id = known(head.substr(0, space));
      head.remove_prefix(space + 1);
    }
    if (!head.starts_with("from <")) return ParseStatus::kMalformed;
    std::string_view tail;  // " with subject '...' ... date '...'" (Full only)
    if (const auto with = head.find("> with subject '"); with != std::string_view::npos) {
      tail = head.substr(with + 1);
      head = head.substr(0, with + 1);
    }
    const auto to = head.find("> to <");
    if (to == std::string_view::npos || head.back() != '>') return ParseStatus::kMalformed;
    // clamfi.c writes "UNKNOWN" for a macro the MTA did not pass: no address was stated.
    out.sender = known(head.substr(6, to - 6));
    out.has_sender = head.substr(6, to - 6) != "UNKNOWN";
    const std::string_view recipient = known(head.substr(to + 6, head.size() - to - 7));
    if (!recipient.empty()) out.recipients.push_back(recipient);
    if (!tail.empty()) {
      const auto date = tail.rfind("' date '");
      const auto mid = tail.rfind("' message-id '", date);
      if (date == std::string_view::npos || mid == std::string_view::npos) {
        return ParseStatus::kMalformed;
      }
      out.subject = tail.substr(15, mid - 15);
      out.message_id = known(strip_brackets(tail.substr(mid + 14, date - mid - 14)));
    }
    return ParseStatus::kRecord;
  }

 private:
  // LogClean Full: "QID from <S> to <R> with subject ..." names the message: it was scanned
  // and found clean, so an envelope match for a detection cannot be it. LogClean Basic names
  // no queue id and is of no use.
  static ParseStatus parse_clean(std::string_view rest, ParsedRecord& out) {
    if (rest.starts_with("from <")) return ParseStatus::kIgnored;
    const auto space = rest.find(' ');
    if (space == std::string_view::npos || space == 0) return ParseStatus::kMalformed;
    out.queue_id = known(rest.substr(0, space));
    if (out.queue_id.empty()) return ParseStatus::kIgnored;
    if (!rest.substr(space + 1).starts_with("from <")) return ParseStatus::kMalformed;
    out.kind = RecordKind::kAttribute;
    out.clean = true;
    return ParseStatus::kRecord;
  }
};

}  // namespace

std::unique_ptr<LogParser> make_clamav_milter_parser() {
  return std::make_unique<ClamavMilterParser>();
}

}  // namespace vtrace
