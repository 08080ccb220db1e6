// The rsyslog omprog protocol: "OK" once after start-up and once per message, nothing else
// on stdout; EOF ends the program. Lines are rsyslog's JSON template (see packaging/), decoded
// by rsyslog_json_decoder.hpp.
#pragma once

#include <cstddef>
#include <functional>
#include <span>
#include <string_view>

namespace vtrace {

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
//
// `feed` kSyslogNgProgram is syslog-ng's program() destination: nobody reads the answers (its
// stdout is /dev/null), so none are written; and a message counts as delivered for syslog-ng
// once it is in the pipe, so when `on_idle` asks to stop (syslog-ng sends SIGTERM after its
// last write, when it stops or reloads) the loop first reads what the pipe still holds, until
// syslog-ng closes it (end of input) or for kMaxDrainMillis, and hands it over as usual. It reads
// at most kSyslogNgReadBytes at a time: what a killed process had read and not yet journalled
// is lost.
enum class Feed { kRsyslogOmprog, kSyslogNgProgram };
inline constexpr std::size_t kMaxOmprogLineBytes = 1 << 20;
inline constexpr int kMaxDrainMillis = 5000;
inline constexpr std::size_t kSyslogNgReadBytes = 4096;
OmprogEnd run_omprog_loop(int in_fd, int out_fd,
                          const std::function<bool(std::span<const std::string_view>)>& on_batch,
                          const std::function<bool()>& on_idle, int tick_ms = 250,
                          std::size_t max_line = kMaxOmprogLineBytes,
                          Feed feed = Feed::kRsyslogOmprog);

}  // namespace vtrace
