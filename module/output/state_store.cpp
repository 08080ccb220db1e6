// The journal's segment files and the SQLite outbox. Every SQL statement is prepared once per
// connection.
#include "module/output/state_store.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>

namespace vtrace {

namespace {

// A new journal segment after this long or this size, so that pruning (a whole segment at a
// time) keeps the journal close to the window.
constexpr TimePoint kSegmentSpan = 300'000'000;
constexpr off_t kSegmentBytes = 64 << 20;

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

Journal::Journal(Journal&& other) noexcept
    : dir_(std::move(other.dir_)),
      segments_(std::move(other.segments_)),
      fd_(std::exchange(other.fd_, -1)),
      map_(std::exchange(other.map_, nullptr)),
      capacity_(other.capacity_),
      used_(other.used_),
      opened_at_(other.opened_at_),
      pending_(std::move(other.pending_)),
      pending_lines_(other.pending_lines_),
      pending_newest_(other.pending_newest_),
      lines_(other.lines_),
      confirmed_fd_(std::exchange(other.confirmed_fd_, -1)),
      confirmed_(std::exchange(other.confirmed_, nullptr)),
      unconfirmed_(std::move(other.unconfirmed_)) {}

Journal::~Journal() {
  close_segment();
  if (confirmed_ != nullptr) ::munmap(confirmed_, sizeof(ConfirmedMark));
  if (confirmed_fd_ >= 0) ::close(confirmed_fd_);
}

std::optional<Journal> Journal::open(const std::string& dir, std::string& error) {
  if (::mkdir(dir.c_str(), 0750) != 0 && errno != EEXIST) {
    error = dir + ": " + std::strerror(errno);
    return std::nullopt;
  }
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    error = dir + ": " + std::strerror(errno);
    return std::nullopt;
  }
  Journal journal(dir);
  constexpr std::string_view kSuffix = ".journal";
  while (const dirent* e = ::readdir(d)) {
    const std::string_view name = e->d_name;
    if (name.size() != 20 + kSuffix.size() || !name.ends_with(kSuffix)) continue;
    Segment segment;
    const auto [end, ec] = std::from_chars(name.data(), name.data() + 20, segment.number);
    if (ec == std::errc() && end == name.data() + 20) journal.segments_.push_back(segment);
  }
  ::closedir(d);
  std::sort(journal.segments_.begin(), journal.segments_.end(),
            [](const Segment& a, const Segment& b) { return a.number < b.number; });
  const std::string mark = dir + "/confirmed";
  journal.confirmed_fd_ = ::open(mark.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  void* map = MAP_FAILED;
  if (journal.confirmed_fd_ >= 0 &&
      ::ftruncate(journal.confirmed_fd_, sizeof(ConfirmedMark)) == 0) {
    map = ::mmap(nullptr, sizeof(ConfirmedMark), PROT_READ | PROT_WRITE, MAP_SHARED,
                 journal.confirmed_fd_, 0);
  }
  if (map == MAP_FAILED) {
    error = mark + ": " + std::strerror(errno);
    return std::nullopt;
  }
  journal.confirmed_ = static_cast<ConfirmedMark*>(map);
  return journal;
}

void Journal::mark_confirmed() {
  if (segments_.empty() || fd_ < 0) return;
  // Two stores into the page cache; a process killed between them leaves a segment number
  // with the previous offset, which only makes more lines look unconfirmed than are.
  confirmed_->segment = segments_.back().number;
  confirmed_->offset = used_;
}

std::string Journal::path(std::uint64_t number) const {
  char name[32];
  std::snprintf(name, sizeof name, "%020llu.journal", static_cast<unsigned long long>(number));
  return dir_ + "/" + name;
}

void Journal::close_segment() {
  if (map_ != nullptr) {
    ::munmap(map_, capacity_);
    map_ = nullptr;
    // The allocated tail is given back; a segment of a process that died keeps its zeros,
    // which for_each() stops at.
    if (::ftruncate(fd_, static_cast<off_t>(used_)) != 0) {
      // Harmless: the zeros stay until the segment is pruned.
    }
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  capacity_ = used_ = 0;
}

bool Journal::open_segment(std::size_t at_least) {
  // A new segment: the one written before (by this process or by one that died while
  // writing) is never appended to again, so a torn line can only be a segment's last.
  Segment segment;
  segment.number = segments_.empty() ? 1 : segments_.back().number + 1;
  segment.newest_known = true;
  fd_ =
      ::open(path(segment.number).c_str(), O_RDWR | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0640);
  if (fd_ < 0) return false;
  segments_.push_back(segment);
  opened_at_ = 0;
  used_ = 0;
  const std::size_t capacity = std::max<std::size_t>(kSegmentBytes, at_least);
  // Allocating the blocks first means a full disk fails here, not later as a SIGBUS on a page
  // of the mapping.
  int allocated;
  // The live loop's tick signal can interrupt the allocation; it is simply tried again.
  while ((allocated = ::posix_fallocate(fd_, 0, static_cast<off_t>(capacity))) == EINTR) {
  }
  if (allocated == 0) {
    void* map = ::mmap(nullptr, capacity, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
    if (map != MAP_FAILED) {
      map_ = static_cast<char*>(map);
      capacity_ = capacity;
      return true;
    }
    if (::ftruncate(fd_, 0) != 0) return false;
  }
  return true;
}

bool Journal::write_pending() {
  if (map_ != nullptr) {
    std::memcpy(map_ + used_, pending_.data(), pending_.size());
    used_ += pending_.size();
    return true;
  }
  std::size_t written = 0;
  while (written < pending_.size()) {
    const ssize_t n = ::write(fd_, pending_.data() + written, pending_.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    written += static_cast<std::size_t>(n);
  }
  used_ += written;
  return true;
}

void Journal::add(TimePoint time, std::string_view line) {
  constexpr std::size_t kMaxDigits = 20;
  const std::size_t at = pending_.size();
  pending_.resize_and_overwrite(at + kMaxDigits + line.size() + 2, [&](char* p, std::size_t) {
    char* out = p + at;
    if (time >= kMicrosPerSecond) {
      // Consecutive lines mostly fall in the same second: its digits are formatted once, the
      // six digits of the microseconds every time.
      const TimePoint second = time / kMicrosPerSecond;
      if (second != second_) {
        second_ = second;
        second_size_ = static_cast<std::size_t>(
            std::to_chars(second_digits_, second_digits_ + sizeof second_digits_, second).ptr -
            second_digits_);
      }
      out = std::copy_n(second_digits_, second_size_, out);
      auto micros = static_cast<unsigned>(time % kMicrosPerSecond);
      for (int i = 5; i >= 0; --i) {
        out[i] = static_cast<char>('0' + micros % 10);
        micros /= 10;
      }
      out += 6;
    } else {
      out = std::to_chars(out, out + kMaxDigits, time).ptr;
    }
    *out++ = '\t';
    out = std::copy_n(line.data(), line.size(), out);
    *out++ = '\n';
    return static_cast<std::size_t>(out - p);
  });
  pending_newest_ = pending_lines_ == 0 ? time : std::max(pending_newest_, time);
  ++pending_lines_;
}

bool Journal::flush() {
  if (pending_lines_ == 0) return true;
  if (fd_ >= 0 && map_ != nullptr && used_ + pending_.size() > capacity_) close_segment();
  if (fd_ < 0 && !open_segment(pending_.size())) return false;
  if (!write_pending()) {
    close_segment();
    return false;
  }
  Segment& current = segments_.back();
  current.newest = current.lines == 0 ? pending_newest_ : std::max(current.newest, pending_newest_);
  current.lines += pending_lines_;
  lines_ += pending_lines_;
  pending_.clear();
  pending_lines_ = 0;
  return true;
}

void Journal::for_each(const std::function<void(TimePoint, std::string_view)>& fn) {
  std::int64_t total = 0;
  std::string data;
  unconfirmed_.clear();
  const ConfirmedMark confirmed = *confirmed_;
  for (Segment& segment : segments_) {
    data.clear();
    const int fd = ::open(path(segment.number).c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) continue;
    char chunk[1 << 16];
    bool zero_tail = false;
    for (ssize_t n; (n = ::read(fd, chunk, sizeof chunk)) != 0;) {
      if (n < 0) {
        if (errno == EINTR) continue;
        break;
      }
      // The allocated, never written tail of a segment whose process died.
      const auto* zero = static_cast<const char*>(std::memchr(chunk, '\0', n));
      data.append(chunk, zero != nullptr ? zero - chunk : static_cast<std::size_t>(n));
      if (zero != nullptr) {
        zero_tail = true;
        break;
      }
    }
    // The open segment (a reload replays the journal while it is written) keeps its
    // allocated tail: the mapping writes into it.
    const bool open_segment = fd_ >= 0 && &segment == &segments_.back();
    if (zero_tail && !open_segment) {
      // Never appended to again: its allocated tail (up to 64 MiB) and a torn last line go,
      // so the directory holds what the journal holds, however often the process was killed.
      const std::size_t last = data.rfind('\n');
      const std::size_t whole = last == std::string::npos ? 0 : last + 1;
      if (::ftruncate(fd, static_cast<off_t>(whole)) == 0) data.resize(whole);
    }
    ::close(fd);
    std::int64_t lines = 0;
    TimePoint newest = 0;
    std::string_view rest = data;
    for (std::size_t nl; (nl = rest.find('\n')) != std::string_view::npos;
         rest.remove_prefix(nl + 1)) {
      const std::string_view record = rest.substr(0, nl);
      // Lines written after the last batch rsyslog had its OK for: it sends them again.
      const std::size_t end_offset = static_cast<std::size_t>(rest.data() - data.data()) + nl + 1;
      const bool unconfirmed =
          confirmed.segment != 0 &&
          (segment.number > confirmed.segment ||
           (segment.number == confirmed.segment && end_offset > confirmed.offset));
      const auto tab = record.find('\t');
      TimePoint t = 0;
      if (tab == std::string_view::npos ||
          std::from_chars(record.data(), record.data() + tab, t).ec != std::errc()) {
        continue;
      }
      fn(t, record.substr(tab + 1));
      if (unconfirmed && unconfirmed_.size() < kMaxUnconfirmed) {
        unconfirmed_.emplace_back(record.substr(tab + 1));
      }
      newest = lines == 0 ? t : std::max(newest, t);
      ++lines;
    }
    segment.lines = lines;
    segment.newest = newest;
    segment.newest_known = true;
    total += lines;
  }
  lines_ = total;
}

void Journal::prune(TimePoint cutoff, TimePoint now) {
  if (fd_ >= 0) {
    if (opened_at_ == 0) opened_at_ = now;
    if (segments_.back().lines > 0 &&
        (now - opened_at_ >= kSegmentSpan || used_ >= static_cast<std::size_t>(kSegmentBytes))) {
      close_segment();
    }
  }
  // The open segment stays whatever its age: the next batch is appended to it.
  const std::size_t closed = fd_ >= 0 ? segments_.size() - 1 : segments_.size();
  std::size_t gone = 0;
  while (gone < closed && segments_[gone].newest_known && segments_[gone].newest < cutoff) {
    ::unlink(path(segments_[gone].number).c_str());
    lines_ -= segments_[gone].lines;
    ++gone;
  }
  segments_.erase(segments_.begin(), segments_.begin() + static_cast<std::ptrdiff_t>(gone));
}

}  // namespace vtrace
