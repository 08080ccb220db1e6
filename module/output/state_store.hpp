// The correlator's durable state. The Journal: the trusted input lines inside the correlation
// window, appended to plain segment files, replayed at start-up to rebuild the index and the
// pending detections after a crash. The StateStore: the outbox of incidents awaiting delivery
// to the responder, in SQLite (WAL).
//
// Durability level: a journal line or an incident is durable once written (journal: write()
// returned; outbox: transaction committed), and then survives the correlator being killed
// (kill -9, a crash, an OOM kill), not a power failure or kernel crash, which can lose the last
// ones (never corrupt what was there). That is rsyslog's own level for the omprog action queue
// the lines come from (a memory queue that only spills to disk under a backlog and at
// shutdown). An fsync per confirmed message would cost milliseconds each on a virtual disk,
// a hundredfold more than rsyslog needs to deliver the message.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/incident.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace vtrace {

struct OutboxEntry {
  std::int64_t rowid = 0;
  std::string id;
  int revision = 0;
  std::string json;
  int attempts = 0;
};

// An incident the responder refused for good (a 4xx that sending again cannot change).
struct RefusedIncident {
  std::string id;
  int revision = 0;
  std::string reason;  // the HTTP status and the responder's answer
};

// One connection; not thread-safe (the outbox sender opens its own).
class StateStore {
 public:
  // Opens or creates `path`. Returns nullopt and sets `error` on failure.
  static std::optional<StateStore> open(const std::string& path, std::string& error);
  StateStore(StateStore&& other) noexcept;
  StateStore& operator=(StateStore&&) = delete;
  ~StateStore();

  // Groups the following writes into one transaction, committed by commit(): the incidents
  // one batch of input completes are stored with one commit. Without begin() every write
  // commits on its own.
  bool begin();
  // Commits the open transaction; false (the transaction is rolled back) if it could not be
  // made durable, in which case nothing of it may be confirmed.
  bool commit();
  void rollback();
  bool in_transaction() const;

  // The journal of earlier versions, a table in this database: calls `fn` for each of its lines
  // in arrival order, then drops the table. Returns the number of lines.
  std::int64_t take_legacy_journal(const std::function<void(TimePoint, std::string_view)>& fn);

  enum class Enqueued { kNew, kUnchanged, kError };
  // Stores an incident for delivery. A resend of the same id and revision changes nothing
  // (kUnchanged); a higher revision replaces the stored one and is delivered again. Committed
  // on return, or with the enclosing transaction.
  Enqueued enqueue(const Incident& incident);
  // The same with the incident's to_json() already made (the caller writes it elsewhere too).
  Enqueued enqueue(const Incident& incident, std::string_view json);
  // Up to `limit` undelivered entries due at `now`, oldest first.
  std::vector<OutboxEntry> due(TimePoint now, int limit);
  void mark_delivered(std::int64_t rowid, int revision);
  void mark_failed(std::int64_t rowid, TimePoint next_attempt);
  // The responder refused this revision for good: it is not sent again (a higher revision
  // of the same id is), and is listed by refused().
  void mark_refused(std::int64_t rowid, int revision, std::string_view reason);
  // Entries still to deliver, refused ones left out.
  std::int64_t outbox_depth();
  std::int64_t outbox_refused();
  // The latest refused entries, newest first.
  std::vector<RefusedIncident> refused(int limit);

 private:
  struct Statements;
  StateStore(sqlite3* db, std::unique_ptr<Statements> statements);
  bool exec(const char* sql);
  sqlite3* db_ = nullptr;
  std::unique_ptr<Statements> statements_;
};

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
