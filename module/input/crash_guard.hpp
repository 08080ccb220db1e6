// CrashGuard: one bad input line must never become a crash loop. Live, the correlator notes in a
// small memory-mapped file which input line it is working on (ingesting it, or tracing the
// detection it brought); a process that dies leaves that note behind, and the next start sets
// the line aside in a quarantine file instead of replaying it into the same crash. A note in
// the page cache survives the process being killed, which is the failure this guards against.
//
// Who is blamed: a fault of the process's own (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT; a
// handler marks the note) blames the noted line at once. A kill from outside (kill -9, the OOM
// killer, rsyslog killing a hung correlator) may land on any line, so it blames the line only
// when two such deaths in a row found the same line noted: a line that hangs the correlator
// is set aside at its second kill, an innocent line hit by one kill never is.
//
// The quarantine file (<state_dir>/quarantine.jsonl) holds one JSON object per line set aside:
// {"at":"<RFC 3339>","stage":"ingest"|"trace"|"start-up","reason":"...","line":"<the line>"}.
// Its lines are skipped wherever they come from: the journal replay at start-up, or rsyslog
// sending the unconfirmed line again.
//
// Crashes that no line can be blamed for (in the start-up replay's housekeeping, say) are
// caught by counting start-ups that never finished: after kMaxUnfinishedStartups of them the
// journal is moved aside (kept on disk, named in the log) and the correlator starts empty.
// A start-up counts when it died of a fault, or was killed from outside after running for
// kHungStartup (rsyslog kills a start-up that hangs after confirmTimeout, 30 s). A quick kill
// (an administrator, a collector restarting, syslog-ng's restart loop) is no evidence against
// the journal, and moving it aside would lose the detections it holds.
//
// Only the correlator's main thread uses it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

namespace vtrace {

class CrashGuard {
 public:
  static constexpr int kMaxUnfinishedStartups = 3;
  static constexpr std::int64_t kHungStartup = 25'000'000;  // µs
  // The longest line the note keeps whole; a longer one is set aside by its first bytes' and
  // its length's identity (lines are already capped by the input's maximum line length).
  static constexpr std::size_t kMaxNotedLine = 96 * 1024;

  enum class Stage : std::uint32_t { kIdle = 0, kIngest = 1, kTrace = 2, kStartup = 3 };
  struct Note;

  // What open() found and did, for the log.
  struct Recovery {
    std::optional<std::string> quarantined_line;  // set aside now
    Stage stage = Stage::kIdle;                   // where the previous process died
    bool crashed = false;                         // of a fault, not a kill from outside
    int killed_in_a_row = 0;          // deaths without a fault that found the same line noted
    int unfinished_startups = 0;      // counting this one
    bool move_journal_aside = false;  // the caller moves the journal aside
  };

  // Maps <state_dir>/inflight and reads <state_dir>/quarantine.jsonl. Marks a start-up in
  // progress until startup_finished(). `now`: wall time in µs (the system clock if negative).
  static std::optional<CrashGuard> open(const std::string& state_dir, std::string& error,
                                        std::int64_t now = -1);
  CrashGuard(CrashGuard&& other) noexcept;
  CrashGuard& operator=(CrashGuard&&) = delete;
  ~CrashGuard();

  const Recovery& recovery() const { return recovery_; }
  void startup_finished();

  // True if `line` was set aside: the caller skips it (and counts it with skipped()).
  bool is_quarantined(std::string_view line) const;
  void skipped() { ++skipped_; }
  std::uint64_t skipped_count() const { return skipped_; }
  std::size_t quarantine_size() const { return quarantined_.size(); }
  const std::string& quarantine_path() const { return quarantine_path_; }

  // The line being ingested now: valid until leave(). Cheap (a copy into the mapping).
  void enter_ingest(std::string_view line);
  void leave();
  // Tracing the detection of `line`, inside or outside an ingest: an empty view ends it, and
  // the note goes back to the ingest it interrupted, if any.
  void watch_trace(std::string_view line);
  // Test hook only (stage "confirm"): `line` is journalled and about to be confirmed.
  bool has_test_hooks() const { return !test_crashes_.empty(); }
  void confirming(std::string_view line) const { maybe_crash_for_test("confirm", line); }

 private:
  CrashGuard(std::string dir, int fd, Note* note);
  void write_note(Stage stage, std::string_view line);
  void quarantine(Stage stage, std::string_view line, std::uint64_t full_length,
                  std::string_view reason);
  void load_quarantine();
  void maybe_crash_for_test(std::string_view stage, std::string_view line) const;

  std::string dir_;
  std::string quarantine_path_;
  int fd_ = -1;
  Note* note_ = nullptr;
  Recovery recovery_;
  std::unordered_set<std::uint64_t> quarantined_;  // identities of lines set aside
  std::uint64_t skipped_ = 0;
  std::string_view ingesting_;  // the line of the ingest in progress
  bool in_ingest_ = false;
  // VTRACE_TEST_CRASH_ON="<stage>:<text>[;<stage>:<text>...]" (ingest, trace, confirm) kills
  // the process (SIGKILL) when it enters that stage for a line containing <text>: how the tests
  // crash it inside the processing of a chosen line, every time it meets that line.
  std::vector<std::pair<std::string, std::string>> test_crashes_;
};

// The identity of a line for the quarantine: a 64-bit hash of its bytes.
std::uint64_t line_identity(std::string_view line);

}  // namespace vtrace
