// StateStore: the correlator's durable state in SQLite (WAL). A journal of the trusted log
// records inside the correlation window (to rebuild the index and pending detections after a
// crash), and the outbox of incidents awaiting delivery to the responder.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
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

// One connection; not thread-safe (the outbox sender opens its own).
class StateStore {
 public:
  // Opens or creates `path`. Returns nullopt and sets `error` on failure.
  static std::optional<StateStore> open(const std::string& path, std::string& error);
  StateStore(StateStore&& other) noexcept;
  StateStore& operator=(StateStore&&) = delete;
  ~StateStore();

  // Appends one accepted input line (the raw rsyslog JSON). Committed when this returns: the
  // caller confirms the line to rsyslog only afterwards.
  bool journal(TimePoint time, const std::string& line);
  // Calls `fn` for every journalled line in arrival order.
  void for_each_journalled(const std::function<void(const std::string&)>& fn);
  // Forgets journalled lines older than `cutoff`.
  void prune_journal(TimePoint cutoff);
  std::int64_t journal_size();

  enum class Enqueued { kNew, kUnchanged, kError };
  // Stores an incident for delivery. A resend of the same id and revision changes nothing
  // (kUnchanged); a higher revision replaces the stored one and is delivered again. Committed
  // on return.
  Enqueued enqueue(const Incident& incident);
  // Up to `limit` undelivered entries due at `now`, oldest first.
  std::vector<OutboxEntry> due(TimePoint now, int limit);
  void mark_delivered(std::int64_t rowid, int revision);
  void mark_failed(std::int64_t rowid, TimePoint next_attempt);
  std::int64_t outbox_depth();

 private:
  explicit StateStore(sqlite3* db) : db_(db) {}
  bool exec(const char* sql);
  sqlite3* db_ = nullptr;
};

}  // namespace vtrace
