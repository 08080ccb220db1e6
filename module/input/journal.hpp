// The journal: the trusted input lines inside the correlation window, appended to plain segment
// files in <state_dir>/journal/ before rsyslog is told they were received, and replayed at
// start-up to rebuild the index and the pending detections after a crash.
//
// Durability level: a journal line is durable once write() returned (or its bytes are copied
// into the mapped segment), and then survives the correlator being killed, not a power failure
// or kernel crash, which can lose the last ones (never corrupt what was there): the level of
// rsyslog's omprog action queue and of the outbox (output/state_store.hpp says why no fsync).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/time.hpp"

namespace vtrace {

// Segment files <dir>/<20-digit number>.journal, one "<time µs>\t<line>\n" per journalled line.
// Appending a line is one write() per batch; a new segment starts at every start-up and every
// few minutes, and a segment goes as a whole once all its lines are older than the window.
// Only the correlator's main thread uses it.
class Journal {
 public:
  // Opens (creating) the directory; the segments already there are kept for for_each().
  static std::optional<Journal> open(const std::string& dir, std::string& error);
  Journal(Journal&& other) noexcept;
  Journal& operator=(Journal&&) = delete;
  ~Journal();

  // Queues a line of the current batch, with its time: its log time, or its arrival time if
  // that is earlier (a host whose clock runs ahead must not keep a segment alive).
  void add(TimePoint time, std::string_view line);
  // Writes the queued lines. True once they are in the file (durable as described above);
  // false if they could not all be written, and then none of them may be confirmed.
  bool flush();
  // Calls `fn` for every written line, oldest first. A torn last line (the write the process
  // died in) is skipped: it was never confirmed, so rsyslog sends it again.
  void for_each(const std::function<void(TimePoint, std::string_view)>& fn);
  // Deletes the segments whose lines are all older than `cutoff`, and starts a new segment
  // when the current one has lines and is a few minutes old (`now`: wall time).
  void prune(TimePoint cutoff, TimePoint now);
  // Lines in the journal (counted by for_each, then kept up to date).
  std::int64_t size() const { return lines_; }

  // Records that every line written so far was confirmed to rsyslog: call once the "OK"s of
  // the last flushed batch are written. Kept in <dir>/confirmed (a mapping: no system call).
  void mark_confirmed();
  // The lines for_each() found after the last confirmed one, oldest first: rsyslog sends
  // them again after a restart, and they are already in the journal (at most
  // kMaxUnconfirmed; an empty list when nothing was ever marked).
  static constexpr std::size_t kMaxUnconfirmed = 4096;
  std::deque<std::string> take_unconfirmed() { return std::move(unconfirmed_); }
  const std::string& directory() const { return dir_; }

 private:
  struct Segment {
    std::uint64_t number = 0;
    TimePoint newest = 0;  // the newest line's time; unknown (kept) until for_each() read it
    bool newest_known = false;
    std::int64_t lines = 0;
  };
  explicit Journal(std::string dir) : dir_(std::move(dir)) {}
  std::string path(std::uint64_t number) const;
  void close_segment();

  bool open_segment(std::size_t at_least);
  bool write_pending();

  std::string dir_;
  std::vector<Segment> segments_;  // oldest first; the open one, if any, is the last
  int fd_ = -1;
  // The open segment's blocks are allocated up front and mapped: a batch is then copied into
  // the page cache without a system call, as durable against the process dying as a write().
  // Without the mapping (a file system that cannot allocate ahead) batches are written.
  char* map_ = nullptr;
  std::size_t capacity_ = 0;
  std::size_t used_ = 0;
  TimePoint opened_at_ = 0;
  std::string pending_;
  // The decimal digits of the whole seconds of the last line added.
  TimePoint second_ = -1;
  char second_digits_[20] = {};
  std::size_t second_size_ = 0;
  std::int64_t pending_lines_ = 0;
  TimePoint pending_newest_ = 0;
  std::int64_t lines_ = 0;
  struct ConfirmedMark {
    std::uint64_t segment;  // 0: nothing marked yet
    std::uint64_t offset;   // bytes of that segment confirmed
  };
  int confirmed_fd_ = -1;
  ConfirmedMark* confirmed_ = nullptr;
  std::deque<std::string> unconfirmed_;
};

}  // namespace vtrace
