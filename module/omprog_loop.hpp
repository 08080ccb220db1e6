// The rsyslog omprog protocol: "OK" once after start-up and once per message, nothing else
// on stdout; EOF ends the program. Lines are rsyslog's JSON template (see packaging/).
#pragma once

#include <functional>
#include <memory>
#include <span>
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
  std::string inputname;  // rsyslog's input module (imuxsock, imfile, ...); optional
};

// Decodes lines of the JSON template into a record, reusing the parser's and the record's
// memory from line to line: the fields are taken from the parse events as they stream by, with
// no document tree built and nothing allocated once the buffers have grown to the longest line.
// Strict JSON (valid UTF-8 included); only string values of the top-level object count.
class RsyslogJsonDecoder {
 public:
  RsyslogJsonDecoder();
  ~RsyslogJsonDecoder();
  RsyslogJsonDecoder(const RsyslogJsonDecoder&) = delete;
  RsyslogJsonDecoder& operator=(const RsyslogJsonDecoder&) = delete;
  // Every field of `out` is overwritten (emptied when absent). False for anything malformed,
  // or a record without a string "timereported" and "msg".
  bool decode(std::string_view line, RsyslogRecord& out);

 private:
  struct Parser;
  std::unique_ptr<Parser> parser_;
};

// One-off decoding (tests, tools); a loop keeps an RsyslogJsonDecoder.
bool parse_rsyslog_json(std::string_view line, RsyslogRecord& out);

// Feeds one rsyslog record to the correlator, trusting it only if its fromhost-ip (or, for
// records rsyslog received locally, its hostname) belongs to a configured source.
// Returns false when the record was malformed (it is counted and must still be confirmed).
bool ingest_rsyslog_record(Correlator& correlator, const RsyslogRecord& record);

enum class OmprogEnd {
  kEndOfInput,  // rsyslog closed our stdin: shutdown, or it restarts the program
  kStopped,     // `on_idle` returned false (a signal asked the program to stop)
  kFailed,      // `on_batch` could not make a batch durable; it was not confirmed
};

// Runs the loop on file descriptors `in_fd` / `out_fd`. Every read() hands over what rsyslog
// has written so far; the complete lines in it go to `on_batch` together, and only once it
// returns true are they answered, with one "OK\n" each in a single write. rsyslog without
// useTransactions waits for each message's answer before it writes the next, so in practice a
// batch is one line; the batch is still the unit of durability (one commit) whatever arrives.
// When `on_batch` returns false nothing of the batch is confirmed and the loop ends (kFailed):
// rsyslog restarts the program and sends the unconfirmed messages again. `on_idle` runs when
// no input arrived for `tick_ms`, and at least every `tick_ms` under constant input, so held
// detections settle and signals are seen either way.
OmprogEnd run_omprog_loop(int in_fd, int out_fd,
                          const std::function<bool(std::span<const std::string_view>)>& on_batch,
                          const std::function<bool()>& on_idle, int tick_ms = 250);

}  // namespace vtrace
