// LogParser: one implementation per log format, registered in parser_registry.cpp; the
// scanning helpers the implementations share are in parse_util.hpp.
#pragma once

#include <cstdint>
#include <string_view>

#include "module/parsers/log_line.hpp"
#include "module/parsers/record.hpp"

namespace vtrace {

enum class ParseStatus : std::uint8_t {
  kNotMine,    // another format's line
  kIgnored,    // this format's line, but it carries nothing the trace needs (noise)
  kRecord,     // `out` holds a record
  kMalformed,  // this format's line, but truncated or garbled; counted, never fatal
};

// Parsers do no I/O, read no clock and keep no state between lines; they are called from one
// thread.
class LogParser {
 public:
  virtual ~LogParser() = default;
  // A short stable name ("postfix", "sendmail", "clamav-milter") used in incidents and stats.
  virtual std::string_view name() const = 0;
  // True for an MTA's own log, whose lines trace the message; a scanner's lines only name
  // detections, and are what an incident shows as its detector when both logged one.
  virtual bool is_mta() const { return false; }
  // True iff lines with this syslog program name may be this format's. Called once per
  // distinct program name and cached, so it may be slow.
  virtual bool accepts_program(std::string_view program) const = 0;

  // Parses one line into `out`, which the caller passes empty (ParsedRecord::clear). `out`
  // holds a record iff the result is kRecord; on any other result it is left empty, so no
  // caller sees the half of a record a format gave up on.
  ParseStatus parse(const LogLine& line, ParsedRecord& out) const {
    const ParseStatus status = parse_line(line, out);
    if (status != ParseStatus::kRecord) out.clear();
    return status;
  }

 private:
  // The format's own reading of the line; it may stop half-way through filling `out`.
  virtual ParseStatus parse_line(const LogLine& line, ParsedRecord& out) const = 0;
};

}  // namespace vtrace
