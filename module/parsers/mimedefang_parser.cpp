// MIMEDefang's GraphDefang event lines (md_graphdefang_log, Mail::MIMEDefang), as a sendmail or
// postfix site with MIMEDefang running ClamAV logs them through syslog as mimedefang.pl:
//
//   [QID: ]MDLOG,QID,EVENT,VALUE1,VALUE2,SENDER,RECIPIENT,SUBJECT
//
// QID is the MTA's queue id ($MsgID; "NOQUEUE" before one exists); newer versions also put it
// in front of every line they log. SENDER and RECIPIENT are lower-cased and keep their angle
// brackets; RECIPIENT is "rcpts=N" when a message had several and the site does not enumerate
// them. Every field is percent-encoded by MIMEDefang (commas, '%', '\' and non-printable bytes
// become %XX), so splitting on ',' is exact. For the event "virus" VALUE1 is the virus name and
// VALUE2 what the filter passed (mostly the file name).
//
// Records:
//   EVENT virus   kDetection: queue id, virus (VALUE1, "unknown" when empty), action
//                 "detected", sender, the recipient unless "rcpts=N", subject, file (VALUE2)
// Other events (mail_in, spam, bad_filename, ...) and other mimedefang lines are kIgnored; an
// MDLOG line with fewer than eight fields (cut short) is kMalformed.
//
// Hostile text: sender, recipient and subject are attacker-written, but MIMEDefang encodes the
// commas in them, so they cannot shift the fields; their %XX sequences are kept as they are.
#include "module/parsers/parse_util.hpp"
#include "module/parsers/parser_registry.hpp"

namespace vtrace {
namespace {

constexpr auto npos = std::string_view::npos;

class MimedefangParser final : public LogParser {
 public:
  std::string_view name() const override { return "mimedefang"; }

  bool accepts_program(std::string_view program) const override {
    return program == "mimedefang.pl" || program == "mimedefang" ||
           program == "mimedefang-multiplexor";
  }

  // `out` is only written once the line is known to be a record.
  ParseStatus parse_line(const LogLine& line, ParsedRecord& out) const override {
    std::string_view s = line.message;
    const auto mdlog = s.find("MDLOG,");
    if (mdlog == npos) return ParseStatus::kIgnored;
    // Only "QID: " may stand in front of it.
    if (mdlog != 0 && (mdlog < 3 || s.substr(mdlog - 2, 2) != ": " ||
                       !plausible_queue_id(s.substr(0, mdlog - 2)))) {
      return ParseStatus::kIgnored;
    }
    s.remove_prefix(mdlog + 6);
    std::string_view fields[7];
    for (int i = 0; i < 6; ++i) {
      const auto comma = s.find(',');
      if (comma == npos) return ParseStatus::kMalformed;
      fields[i] = s.substr(0, comma);
      s.remove_prefix(comma + 1);
    }
    fields[6] = s;  // the subject, up to the end
    const std::string_view queue_id = fields[0];
    if (fields[1] != "virus") return ParseStatus::kIgnored;
    out.kind = RecordKind::kDetection;
    if (queue_id != "NOQUEUE" && plausible_queue_id(queue_id)) out.queue_id = queue_id;
    out.virus = fields[2].empty() ? std::string_view("unknown") : fields[2];
    out.action = "detected";
    out.file = fields[3];
    out.sender = strip_brackets(fields[4]);
    out.has_sender = !fields[4].empty();
    out.recipients.clear();
    if (const std::string_view r = strip_brackets(fields[5]);
        !r.empty() && !r.starts_with("rcpts=")) {
      out.recipients.push_back(r);
    }
    out.subject = fields[6];
    return ParseStatus::kRecord;
  }
};

}  // namespace

std::unique_ptr<LogParser> make_mimedefang_parser() { return std::make_unique<MimedefangParser>(); }

}  // namespace vtrace
