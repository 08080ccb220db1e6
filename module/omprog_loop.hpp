// The rsyslog omprog protocol: "OK" once after start-up and once per message, nothing else
// on stdout; EOF ends the program. Lines are rsyslog's JSON template (see packaging/).
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "module/correlator.hpp"

namespace vtrace {

// The fields of one rsyslog JSON record (template with option.jsonf="on").
struct RsyslogRecord {
  std::string timereported;
  std::string hostname;
  std::string fromhost_ip;
  std::string app_name;
  std::string procid;
  std::string msg;
  std::string inputname;  // rsyslog's input module (imuxsock, imfile, imtcp, ...); optional
};

// Parses one line of the JSON template; false for anything malformed.
bool parse_rsyslog_json(std::string_view line, RsyslogRecord& out);

// Feeds one rsyslog record to the correlator, trusting it only if its fromhost-ip (or, for
// records rsyslog received locally, its hostname) belongs to a configured source.
// Returns false when the record was malformed (it is counted and must still be confirmed).
bool ingest_rsyslog_record(Correlator& correlator, const RsyslogRecord& record);

// Runs the loop on file descriptors `in_fd` / `out_fd`: reads lines, calls `on_line` for each,
// answers "OK\n" (flushed) after it returns, and calls `on_idle` at least every `tick_ms`
// while no input arrives, so held detections settle without new log lines. Returns at EOF or
// when `on_idle` returns false (a signal asked the program to stop).
void run_omprog_loop(int in_fd, int out_fd, const std::function<void(std::string_view)>& on_line,
                     const std::function<bool()>& on_idle, int tick_ms = 250);

}  // namespace vtrace
