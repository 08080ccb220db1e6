// The SQLite outbox. Every SQL statement is prepared once per connection.
#include "module/output/state_store.hpp"

#include <sqlite3.h>

#include <string>
#include <utility>

namespace vtrace {

namespace {

struct Finalize {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using StatementPtr = std::unique_ptr<sqlite3_stmt, Finalize>;

// One run of a prepared statement: bindings in, rows out, and the statement reset for its
// next use when this goes out of scope.
class Run {
 public:
  explicit Run(const StatementPtr& s) : stmt_(s.get()) {}
  ~Run() {
    if (stmt_ != nullptr) {
      sqlite3_reset(stmt_);
      sqlite3_clear_bindings(stmt_);
    }
  }
  Run(const Run&) = delete;
  Run& operator=(const Run&) = delete;
  bool ok() const { return stmt_ != nullptr; }
  Run& bind(int i, std::int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  // The text must stay valid until the run ends (SQLITE_STATIC: not copied).
  Run& bind(int i, std::string_view v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
    return *this;
  }
  int step() { return sqlite3_step(stmt_); }
  std::int64_t integer(int col) { return sqlite3_column_int64(stmt_, col); }
  std::string text(int col) {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col))) : "";
  }

 private:
  sqlite3_stmt* stmt_;
};

}  // namespace

struct StateStore::Statements {
  StatementPtr begin, commit, rollback, enqueue, due, delivered, failed, refused, depth,
      refused_count, refused_list;
};

std::optional<StateStore> StateStore::open(const std::string& path, std::string& error) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    error = path + ": " + (db ? sqlite3_errmsg(db) : "cannot open");
    sqlite3_close(db);
    return std::nullopt;
  }
  sqlite3_busy_timeout(db, 5000);
  auto fail = [&] {
    error = path + ": " + sqlite3_errmsg(db);
    sqlite3_close(db);
    return std::nullopt;
  };
  auto exec = [db](const char* sql) {
    return sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK;
  };
  // WAL with synchronous=NORMAL: a commit is a write() into the WAL, in the OS's page cache when
  // it returns, so it survives the process; the fsyncs happen only at checkpoints (see the
  // durability level in state_store.hpp).
  if (!exec("PRAGMA journal_mode=WAL") || !exec("PRAGMA synchronous=NORMAL") ||
      !exec("CREATE TABLE IF NOT EXISTS outbox (rowid INTEGER PRIMARY KEY, id TEXT UNIQUE "
            "NOT NULL, revision INTEGER NOT NULL, json TEXT NOT NULL, delivered_revision "
            "INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0, next_attempt "
            "INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL)")) {
    return fail();
  }
  // Added in a later version: a databases of an earlier one gets the columns here (the
  // statements below fail to prepare if they are still missing).
  bool has_refusal = false;
  sqlite3_exec(
      db, "SELECT name FROM pragma_table_info('outbox') WHERE name = 'refused_revision'",
      [](void* found, int, char**, char**) {
        *static_cast<bool*>(found) = true;
        return 0;
      },
      &has_refusal, nullptr);
  if (!has_refusal &&
      (!exec("ALTER TABLE outbox ADD COLUMN refused_revision INTEGER NOT NULL DEFAULT 0") ||
       !exec("ALTER TABLE outbox ADD COLUMN refusal TEXT NOT NULL DEFAULT ''"))) {
    return fail();
  }
  auto statements = std::make_unique<Statements>();
  auto prepare = [db](StatementPtr& into, const char* sql) {
    sqlite3_stmt* s = nullptr;
    const bool ok =
        sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) == SQLITE_OK;
    into.reset(s);
    return ok;
  };
  // IMMEDIATE takes the write lock at once (waiting for the outbox sender's short updates
  // through the busy timeout), so no statement of a transaction can fail for a lock later.
  if (!prepare(statements->begin, "BEGIN IMMEDIATE") || !prepare(statements->commit, "COMMIT") ||
      !prepare(statements->rollback, "ROLLBACK") ||
      !prepare(statements->enqueue,
               "INSERT INTO outbox (id, revision, json, created) VALUES (?, ?, ?, "
               "strftime('%s','now')) ON CONFLICT(id) DO UPDATE SET revision = "
               "excluded.revision, json = excluded.json, attempts = 0, next_attempt = 0 WHERE "
               "excluded.revision > outbox.revision") ||
      !prepare(statements->due,
               "SELECT rowid, id, revision, json, attempts FROM outbox WHERE delivered_revision "
               "< revision AND refused_revision < revision AND next_attempt <= ? ORDER BY "
               "rowid LIMIT ?") ||
      !prepare(statements->delivered,
               "UPDATE outbox SET delivered_revision = max(delivered_revision, ?) WHERE rowid = "
               "?") ||
      !prepare(statements->failed,
               "UPDATE outbox SET attempts = attempts + 1, next_attempt = ? WHERE rowid = ?") ||
      !prepare(statements->refused,
               "UPDATE outbox SET refused_revision = ?, refusal = ? WHERE rowid = ?") ||
      !prepare(statements->depth,
               "SELECT count(*) FROM outbox WHERE delivered_revision < revision AND "
               "refused_revision < revision") ||
      !prepare(statements->refused_count,
               "SELECT count(*) FROM outbox WHERE delivered_revision < revision AND "
               "refused_revision = revision") ||
      !prepare(statements->refused_list,
               "SELECT id, revision, refusal FROM outbox WHERE delivered_revision < revision "
               "AND refused_revision = revision ORDER BY rowid DESC LIMIT ?")) {
    statements.reset();
    return fail();
  }
  StateStore store(db, std::move(statements));
  return store;
}

StateStore::StateStore(sqlite3* db, std::unique_ptr<Statements> statements)
    : db_(db), statements_(std::move(statements)) {}

StateStore::StateStore(StateStore&& other) noexcept
    : db_(other.db_), statements_(std::move(other.statements_)) {
  other.db_ = nullptr;
}

StateStore::~StateStore() {
  if (db_ == nullptr) return;
  if (in_transaction()) rollback();
  statements_.reset();
  sqlite3_close(db_);
}

bool StateStore::exec(const char* sql) {
  return sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) == SQLITE_OK;
}

bool StateStore::begin() {
  Run s(statements_->begin);
  return s.ok() && s.step() == SQLITE_DONE;
}

bool StateStore::commit() {
  {
    Run s(statements_->commit);
    if (s.ok() && s.step() == SQLITE_DONE) return true;
  }
  rollback();
  return false;
}

void StateStore::rollback() {
  if (in_transaction()) {
    Run s(statements_->rollback);
    s.step();
  }
}

bool StateStore::in_transaction() const { return sqlite3_get_autocommit(db_) == 0; }

std::int64_t StateStore::take_legacy_journal(
    const std::function<void(TimePoint, std::string_view)>& fn) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT t, line FROM journal ORDER BY seq", -1, &raw, nullptr) !=
      SQLITE_OK) {
    sqlite3_finalize(raw);
    return 0;  // no such table: nothing to take over
  }
  const StatementPtr select(raw);
  Run s(select);
  std::int64_t n = 0;
  while (s.step() == SQLITE_ROW) {
    const std::string line = s.text(1);
    fn(s.integer(0), line);
    ++n;
  }
  exec("DROP TABLE IF EXISTS journal");
  return n;
}

StateStore::Enqueued StateStore::enqueue(const Incident& incident) {
  return enqueue(incident, to_json(incident));
}

StateStore::Enqueued StateStore::enqueue(const Incident& incident, std::string_view json) {
  Run s(statements_->enqueue);
  if (!s.ok() ||
      s.bind(1, incident.id).bind(2, incident.revision).bind(3, json).step() != SQLITE_DONE) {
    return Enqueued::kError;
  }
  return sqlite3_changes(db_) > 0 ? Enqueued::kNew : Enqueued::kUnchanged;
}

std::vector<OutboxEntry> StateStore::due(TimePoint now, int limit) {
  std::vector<OutboxEntry> out;
  Run s(statements_->due);
  if (!s.ok()) return out;
  s.bind(1, now).bind(2, limit);
  while (s.step() == SQLITE_ROW) {
    out.push_back({s.integer(0), s.text(1), static_cast<int>(s.integer(2)), s.text(3),
                   static_cast<int>(s.integer(4))});
  }
  return out;
}

void StateStore::mark_delivered(std::int64_t rowid, int revision) {
  Run s(statements_->delivered);
  if (s.ok()) s.bind(1, revision).bind(2, rowid).step();
}

void StateStore::mark_failed(std::int64_t rowid, TimePoint next_attempt) {
  Run s(statements_->failed);
  if (s.ok()) s.bind(1, next_attempt).bind(2, rowid).step();
}

void StateStore::mark_refused(std::int64_t rowid, int revision, std::string_view reason) {
  Run s(statements_->refused);
  if (s.ok()) s.bind(1, revision).bind(2, reason).bind(3, rowid).step();
}

std::int64_t StateStore::outbox_refused() {
  Run s(statements_->refused_count);
  return s.ok() && s.step() == SQLITE_ROW ? s.integer(0) : -1;
}

std::vector<RefusedIncident> StateStore::refused(int limit) {
  std::vector<RefusedIncident> out;
  Run s(statements_->refused_list);
  if (!s.ok()) return out;
  s.bind(1, limit);
  while (s.step() == SQLITE_ROW) {
    out.push_back({s.text(0), static_cast<int>(s.integer(1)), s.text(2)});
  }
  return out;
}

std::int64_t StateStore::outbox_depth() {
  Run s(statements_->depth);
  return s.ok() && s.step() == SQLITE_ROW ? s.integer(0) : -1;
}

}  // namespace vtrace
