// The rsyslog omprog protocol: "OK" once after start-up and once per message, nothing else
// on stdout; EOF ends the program. Lines are rsyslog's JSON template (see packaging/).
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/time.hpp"
#include "module/trace/correlator.hpp"

namespace vtrace {

// The fields of one rsyslog JSON record (template with option.jsonf="on"). A field is a view
// into the decoded line when the line holds it as it is (no escape in it), else into the
// record's own copy: valid until the record is decoded again, and while that line lives.
struct RsyslogRecord {
  std::string_view timereported;
  std::string_view hostname;
  std::string_view fromhost_ip;
  std::string_view app_name;
  std::string_view procid;
  std::string_view msg;
  std::string_view inputname;  // rsyslog's input module (imuxsock, imfile, ...); optional
  // The unescaped values, one per field in the order above, kept from line to line so that
  // their memory is reused.
  std::array<std::string, 7> unescaped;
};

// Decodes lines of the JSON template into a record, reusing the parser's and the record's
// memory from line to line: the fields are taken from the parse events as they stream by, with
// no document tree built and nothing allocated once the buffers have grown to the longest line.
// Strict JSON syntax, but bytes that are not UTF-8 are taken as they are: rsyslog passes a log
// line's bytes through, and a Latin-1 line is still a line to trace. Only string values of the
// top-level object count.
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

// Feeds rsyslog records to one correlator, trusting a record only if its fromhost-ip (or, for
// records rsyslog received locally, its hostname) belongs to a configured source. What
// consecutive records repeat is worked out once: the second and zone of their time, and
// which source a sender's address is (a correlator's sources do not change; a new
// configuration means a new correlator and a new ingester).
class RsyslogIngester {
 public:
  explicit RsyslogIngester(Correlator& correlator) : correlator_(correlator) {}
  RsyslogIngester(const RsyslogIngester&) = delete;
  RsyslogIngester& operator=(const RsyslogIngester&) = delete;
  // The record's time, or nullopt when the record was malformed (it is counted, and must
  // still be confirmed).
  std::optional<TimePoint> ingest(const RsyslogRecord& record);

 private:
  struct Sender {
    bool loopback = false;
    std::optional<SourceIndex> source;  // by its address
  };
  const Sender& sender(std::string_view fromhost_ip);

  Correlator& correlator_;
  Rfc3339Parser times_;
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using Senders = std::unordered_map<std::string, Sender, Hash, std::equal_to<>>;
  Senders senders_;
  Senders::iterator last_ = senders_.end();  // the previous record's
};

// One-off ingestion (tests); a loop keeps an RsyslogIngester. False when the record was
// malformed.
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
// rsyslog restarts the program and sends the unconfirmed messages again. `on_idle` runs every
// `tick_ms` while no input arrives, at least every `tick_ms` under constant input, and at once
// when a signal whose handler does not restart system calls interrupts the wait, so held
// detections settle and signals are seen either way. The wait is a blocking read(), which a
// timer signal (SIGRTMIN, to the calling thread only) interrupts every `tick_ms`; the
// signal's previous disposition is restored on return. A line longer than `max_line` bytes
// is not kept: its bytes are dropped as they arrive and it is handed over as an empty line, to
// be counted and confirmed (rsyslog would otherwise send it again for ever).
inline constexpr std::size_t kMaxOmprogLineBytes = 1 << 20;
OmprogEnd run_omprog_loop(int in_fd, int out_fd,
                          const std::function<bool(std::span<const std::string_view>)>& on_batch,
                          const std::function<bool()>& on_idle, int tick_ms = 250,
                          std::size_t max_line = kMaxOmprogLineBytes);

}  // namespace vtrace
