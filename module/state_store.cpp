// SQLite-backed journal and outbox. Prepared statements are made per call: the rates here
// (accepted mail-log records, incidents) are far below what that costs.
#include "module/state_store.hpp"

#include <sqlite3.h>

namespace vtrace {

namespace {

class Statement {
 public:
  Statement(sqlite3* db, const char* sql) { sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr); }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  bool ok() const { return stmt_ != nullptr; }
  Statement& bind(int i, std::int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  Statement& bind(int i, const std::string& v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  int step() { return sqlite3_step(stmt_); }
  std::int64_t integer(int col) { return sqlite3_column_int64(stmt_, col); }
  std::string text(int col) {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col))) : "";
  }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace

std::optional<StateStore> StateStore::open(const std::string& path, std::string& error) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    error = path + ": " + (db ? sqlite3_errmsg(db) : "cannot open");
    sqlite3_close(db);
    return std::nullopt;
  }
  sqlite3_busy_timeout(db, 5000);
  StateStore store(db);
  // WAL with synchronous=NORMAL: a committed transaction survives the process being killed
  // (the OS keeps the WAL pages); only a power failure can lose the last ones.
  if (!store.exec("PRAGMA journal_mode=WAL") || !store.exec("PRAGMA synchronous=NORMAL") ||
      !store.exec("CREATE TABLE IF NOT EXISTS journal (seq INTEGER PRIMARY KEY, t INTEGER NOT "
                  "NULL, line TEXT NOT NULL)") ||
      !store.exec("CREATE INDEX IF NOT EXISTS journal_t ON journal(t)") ||
      !store.exec("CREATE TABLE IF NOT EXISTS outbox (rowid INTEGER PRIMARY KEY, id TEXT UNIQUE "
                  "NOT NULL, revision INTEGER NOT NULL, json TEXT NOT NULL, delivered_revision "
                  "INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0, next_attempt "
                  "INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL)")) {
    error = path + ": " + sqlite3_errmsg(db);
    return std::nullopt;
  }
  return store;
}

StateStore::StateStore(StateStore&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }

StateStore::~StateStore() {
  if (db_ != nullptr) sqlite3_close(db_);
}

bool StateStore::exec(const char* sql) {
  return sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) == SQLITE_OK;
}

bool StateStore::journal(TimePoint time, const std::string& line) {
  Statement s(db_, "INSERT INTO journal (t, line) VALUES (?, ?)");
  return s.ok() && s.bind(1, time).bind(2, line).step() == SQLITE_DONE;
}

void StateStore::for_each_journalled(const std::function<void(const std::string&)>& fn) {
  Statement s(db_, "SELECT line FROM journal ORDER BY seq");
  while (s.ok() && s.step() == SQLITE_ROW) fn(s.text(0));
}

void StateStore::prune_journal(TimePoint cutoff) {
  Statement s(db_, "DELETE FROM journal WHERE t < ?");
  if (s.ok()) s.bind(1, cutoff).step();
}

std::int64_t StateStore::journal_size() {
  Statement s(db_, "SELECT count(*) FROM journal");
  return s.ok() && s.step() == SQLITE_ROW ? s.integer(0) : -1;
}

StateStore::Enqueued StateStore::enqueue(const Incident& incident) {
  Statement s(db_,
              "INSERT INTO outbox (id, revision, json, created) VALUES (?, ?, ?, "
              "strftime('%s','now')) ON CONFLICT(id) DO UPDATE SET revision = excluded.revision, "
              "json = excluded.json, attempts = 0, next_attempt = 0 WHERE excluded.revision > "
              "outbox.revision");
  if (!s.ok() ||
      s.bind(1, incident.id).bind(2, incident.revision).bind(3, to_json(incident)).step() !=
          SQLITE_DONE) {
    return Enqueued::kError;
  }
  return sqlite3_changes(db_) > 0 ? Enqueued::kNew : Enqueued::kUnchanged;
}

std::vector<OutboxEntry> StateStore::due(TimePoint now, int limit) {
  std::vector<OutboxEntry> out;
  Statement s(db_,
              "SELECT rowid, id, revision, json, attempts FROM outbox WHERE delivered_revision < "
              "revision AND next_attempt <= ? ORDER BY rowid LIMIT ?");
  if (!s.ok()) return out;
  s.bind(1, now).bind(2, limit);
  while (s.step() == SQLITE_ROW) {
    out.push_back({s.integer(0), s.text(1), static_cast<int>(s.integer(2)), s.text(3),
                   static_cast<int>(s.integer(4))});
  }
  return out;
}

void StateStore::mark_delivered(std::int64_t rowid, int revision) {
  Statement s(db_,
              "UPDATE outbox SET delivered_revision = max(delivered_revision, ?) WHERE rowid = ?");
  if (s.ok()) s.bind(1, revision).bind(2, rowid).step();
}

void StateStore::mark_failed(std::int64_t rowid, TimePoint next_attempt) {
  Statement s(db_, "UPDATE outbox SET attempts = attempts + 1, next_attempt = ? WHERE rowid = ?");
  if (s.ok()) s.bind(1, next_attempt).bind(2, rowid).step();
}

std::int64_t StateStore::outbox_depth() {
  Statement s(db_, "SELECT count(*) FROM outbox WHERE delivered_revision < revision");
  return s.ok() && s.step() == SQLITE_ROW ? s.integer(0) : -1;
}

}  // namespace vtrace
