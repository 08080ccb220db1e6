// libFuzzer target: every log parser of the registry, the ISVW record assembler, and the
// site-declared (RE2) formats. Each input line goes through the envelope decoder and the
// parsers its program selects, through the exim main-log decoder, and as a bare message to
// every parser under a program name that parser accepts. Every view a record holds must lie
// inside the line it was parsed from (a few fixed words excepted).
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "module/input/syslog_envelope.hpp"
#include "module/parsers/isvw_assembler.hpp"
#include "module/parsers/parser_registry.hpp"
#include "module/settings.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace vtrace;
using vtrace::fuzz::inside;
using vtrace::fuzz::require;

namespace {

// Two site formats: the commented example of rules/vtrace.yaml and a receive format.
std::vector<CustomFormatSettings> custom_formats() {
  CustomFormatSettings detection;
  detection.name = "myav";
  detection.program = "myav(d)?";
  detection.pattern = R"(virus (?P<virus>\S+) found in (?P<queue_id>\w+))";
  detection.kind = "detection";
  CustomFormatSettings receive;
  receive.name = "mygw";
  receive.program = "mygw";
  receive.pattern =
      R"((?P<queue_id>[A-Z0-9]+): accepted from (?P<client_name>\S*) \[(?P<client_ip>[^]]+)\] )"
      R"(msgid=<(?P<message_id>[^>]*)> from=<(?P<sender>[^>]*)> to=(?P<recipients>\S+))";
  receive.kind = "receive";
  return {detection, receive};
}

// Program names under which the parsers see a bare message: one at least for each parser.
constexpr std::array<std::string_view, 16> kPrograms = {"postfix/smtpd",  "postfix/cleanup",
                                                        "postfix/smtp",   "postfix/pickup",
                                                        "postfix/bounce", "sendmail",
                                                        "exim",           "clamav-milter",
                                                        "amavis",         "rspamd",
                                                        "clamsmtpd",      "mimedefang.pl",
                                                        "myav",           "mygw",
                                                        "kernel",         "%ASA-4-106023"};

bool fixed_word(std::string_view a) {
  for (std::string_view w :
       {"rejected", "bounced", "detected", "held", "discarded", "tagged", "blocked", "passed",
        "bounce-of", "deleted", "quarantined", "unknown"}) {
    if (a == w) return true;
  }
  return false;
}

void check_record(const ParsedRecord& r, std::string_view text) {
  for (const std::string_view v :
       {r.queue_id, r.client_ip, r.client_name, r.message_id, r.sender, r.next_queue_id, r.relay_ip,
        r.relay_name, r.orig_queue_id, r.orig_client_ip, r.orig_client_name, r.bounce_queue_id,
        r.subject, r.file}) {
    require(inside(v, text), "record field inside the line");
  }
  for (const std::string_view v : r.recipients)
    require(inside(v, text), "recipient inside the line");
  require(inside(r.virus, text) || fixed_word(r.virus), "virus inside the line");
  require(inside(r.action, text) || fixed_word(r.action), "action inside the line");
}

void parse_all(ParserRegistry& registry, std::string_view program, const LogLine& line,
               std::string_view text, ParsedRecord& record) {
  for (const LogParser* parser : registry.parsers_for(program)) {
    record.clear();
    if (parser->parse(line, record) == ParseStatus::kRecord) check_record(record, text);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static ParserRegistry registry(custom_formats());
  static constexpr std::string_view kHost = "fuzz-host";
  SyslogEnvelopeDecoder decoder(2026, "UTC", 0);
  LocalTimeResolver zone("UTC");
  IsvwAssembler isvw;
  ParsedRecord record;
  const fuzz::ExactLines lines(fuzz::as_text(data, size));
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string_view text = lines[i];
    LogLine line;
    if (decoder.decode(text, line)) parse_all(registry, line.program, line, text, record);
    if (decoder.decode_exim_mainlog(text, kHost, line)) {
      parse_all(registry, "exim", line, text, record);
    }
    for (const std::string_view program : kPrograms) {
      LogLine bare;
      bare.program = program;
      bare.message = bare.raw = text;
      parse_all(registry, program, bare, text, record);
    }
    if (isvw.feed(text, zone) == IsvwAssembler::Feed::kRecord) {
      require(!isvw.record().virus.empty(), "an ISVW record names its virus");
    }
  }
  return 0;
}
