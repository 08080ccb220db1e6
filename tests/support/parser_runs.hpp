// How the parser tests run one parser on one line: through the syslog envelope decoder as
// replay reads a file, or on the message text alone as corpora without an envelope give it.
// Both check that every view of the record lies inside the text the parser was given.
#pragma once

#include <catch2/catch.hpp>
#include <string_view>

#include "module/input/syslog_envelope.hpp"
#include "module/parsers/log_parser.hpp"
#include "support/view_checks.hpp"

namespace vtrace::testing {

// Whether the record's virus may be the parsers' fixed word "unknown" (a verdict without a name),
// which is not a view into the line.
enum class UnknownVirus : bool { kRefused = false, kAllowed = true };

// A whole syslog line (year 2026, UTC): decoded, accepted by `parser` for its program, parsed
// into `out`. `text` must outlive the record. `line_out`, when given, receives the decoded line.
inline ParseStatus parse_syslog_line(const LogParser& parser, std::string_view text,
                                     ParsedRecord& out,
                                     UnknownVirus unknown = UnknownVirus::kAllowed,
                                     LogLine* line_out = nullptr) {
  SyslogEnvelopeDecoder decoder(2026, "UTC", 0);
  LogLine line;
  INFO(text);
  REQUIRE(decoder.decode(text, line));
  REQUIRE(parser.accepts_program(line.program));
  out.clear();
  const ParseStatus status = parser.parse(line, out);
  check_record_views_inside(out, text, unknown == UnknownVirus::kAllowed);
  if (line_out) *line_out = line;
  return status;
}

// The text after "program[pid]: " alone. An empty `program` is a line whose program rsyslog did
// not recognise, handed over whole as the message (raw_is_message).
inline ParseStatus parse_message(const LogParser& parser, std::string_view program,
                                 std::string_view message, ParsedRecord& out,
                                 UnknownVirus unknown = UnknownVirus::kAllowed) {
  LogLine line;
  line.program = program;
  line.message = message;
  line.raw = message;
  line.raw_is_message = program.empty();
  out.clear();
  const ParseStatus status = parser.parse(line, out);
  check_record_views_inside(out, message, unknown == UnknownVirus::kAllowed);
  return status;
}

}  // namespace vtrace::testing
