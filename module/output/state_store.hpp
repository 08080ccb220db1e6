// The correlator's outbox: the incidents awaiting delivery to the responder, in SQLite (WAL),
// <state_dir>/correlator.db.
//
// Durability level: an incident is durable once its transaction committed, and then survives
// the correlator being killed (kill -9, a crash, an OOM kill), not a power failure or kernel
// crash, which can lose the last ones (never corrupt what was there). That is rsyslog's own
// level for the omprog action queue the lines come from (a memory queue that only spills to
// disk under a backlog and at shutdown), and the journal's (input/journal.hpp). An fsync per
// confirmed message would cost milliseconds each on a virtual disk, a hundredfold more than
// rsyslog needs to deliver the message.
#pragma once

#include <cstdint>
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

}  // namespace vtrace
