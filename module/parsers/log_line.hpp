// A log line after its syslog envelope has been decoded: the input every parser sees.
#pragma once

#include <string_view>

#include "common/time.hpp"

namespace vtrace {

// Views into a buffer owned by the caller; valid only while that buffer is.
struct LogLine {
  TimePoint time = 0;
  std::string_view hostname;  // as written in the envelope (may be an FQDN)
  std::string_view program;   // syslog tag without pid: "postfix/smtpd", "sm-mta", "exim"
  std::string_view pid;
  std::string_view message;  // the text after "prog[pid]: " (Solaris "[ID n f.l]" removed)
  std::string_view raw;      // the whole input line, for evidence
  // rsyslog hands over the fields, not the line: `raw` is the message alone, and a detection's
  // evidence is written with its time, host and program in front, as replay's lines have them.
  bool raw_is_message = false;
};

}  // namespace vtrace
