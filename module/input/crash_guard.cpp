// The crash guard's note is one fixed-size record in a shared file mapping: writing it is a
// copy into the page cache, with no system call on the per-line path.
#include "module/input/crash_guard.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>

#include "common/time.hpp"

namespace vtrace {

namespace {

constexpr std::uint32_t kNoteMagic = 0x76744731;  // "vtG1"

const char* stage_name(CrashGuard::Stage stage) {
  switch (stage) {
    case CrashGuard::Stage::kIngest:
      return "ingest";
    case CrashGuard::Stage::kTrace:
      return "trace";
    case CrashGuard::Stage::kStartup:
      return "start-up";
    case CrashGuard::Stage::kIdle:
      break;
  }
  return "idle";
}

std::uint64_t identity_of(std::string_view prefix, std::uint64_t full_length) {
  return std::hash<std::string_view>{}(prefix) ^ (full_length * 0x9E3779B97F4A7C15ULL);
}

}  // namespace

struct CrashGuard::Note {
  std::uint32_t magic;
  std::uint32_t stage;
  std::uint32_t unfinished_startups;
  // Set by the fatal-signal handler: the process died of a fault of its own (SIGSEGV, SIGBUS,
  // SIGFPE, SIGILL, SIGABRT), not of a kill from outside.
  volatile std::uint32_t crashed;
  std::uint64_t full_length;  // of the noted line; the text holds at most kMaxNotedLine bytes
  // The line noted at the last death without a fault (a kill -9, rsyslog killing a hung
  // correlator), and how many such deaths in a row found that same line.
  std::uint64_t killed_identity;
  std::uint32_t killed_in_a_row;
  std::uint32_t reserved;
  std::int64_t startup_began;  // wall time (µs) the last start-up began
  char line[kMaxNotedLine];
};

namespace {

CrashGuard::Note* g_note = nullptr;  // for the fatal-signal handler

// Async-signal-safe: one store into the mapping. SA_RESETHAND restores the default action,
// so returning re-executes the fault (or abort() goes on) and the process dies as it would.
extern "C" void note_fatal_signal(int) {
  if (g_note != nullptr) g_note->crashed = 1;
}

void install_fatal_signal_handlers() {
  static char alternate_stack[64 * 1024];  // a stack overflow's SIGSEGV needs another stack
  stack_t ss{};
  ss.ss_sp = alternate_stack;
  ss.ss_size = sizeof alternate_stack;
  ::sigaltstack(&ss, nullptr);
  struct sigaction sa {};
  sa.sa_handler = note_fatal_signal;
  sa.sa_flags = SA_RESETHAND | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) ::sigaction(sig, &sa, nullptr);
}

}  // namespace

std::uint64_t line_identity(std::string_view line) {
  return identity_of(line.substr(0, CrashGuard::kMaxNotedLine), line.size());
}

std::optional<CrashGuard> CrashGuard::open(const std::string& state_dir, std::string& error,
                                           std::int64_t now) {
  if (now < 0) {
    now = std::chrono::duration_cast<std::chrono::microseconds>(
              std::chrono::system_clock::now().time_since_epoch())
              .count();
  }
  const std::string path = state_dir + "/inflight";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) {
    error = path + ": " + std::strerror(errno);
    return std::nullopt;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 ||
      (static_cast<std::size_t>(st.st_size) != sizeof(Note) && ::ftruncate(fd, 0) != 0) ||
      ::ftruncate(fd, sizeof(Note)) != 0) {
    error = path + ": " + std::strerror(errno);
    ::close(fd);
    return std::nullopt;
  }
  void* map = ::mmap(nullptr, sizeof(Note), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) {
    error = path + ": " + std::strerror(errno);
    ::close(fd);
    return std::nullopt;
  }
  CrashGuard guard(state_dir, fd, static_cast<Note*>(map));
  guard.load_quarantine();
  Note& note = *guard.note_;
  Recovery& recovery = guard.recovery_;
  if (note.magic == kNoteMagic) {
    recovery.stage = static_cast<Stage>(note.stage);
    recovery.unfinished_startups = static_cast<int>(note.unfinished_startups);
    if (recovery.stage == Stage::kIngest || recovery.stage == Stage::kTrace) {
      const std::size_t kept =
          static_cast<std::size_t>(std::min<std::uint64_t>(note.full_length, kMaxNotedLine));
      std::string line(note.line, kept);
      const std::uint64_t identity = identity_of(line, note.full_length);
      // A fault is blamed on the line at once. A kill from outside may have hit any line, so
      // only the same line at two such deaths in a row is blamed (a hang that rsyslog kills).
      const bool crashed = note.crashed != 0;
      if (!crashed) {
        note.killed_in_a_row = note.killed_identity == identity ? note.killed_in_a_row + 1 : 1;
        note.killed_identity = identity;
      }
      recovery.crashed = crashed;
      recovery.killed_in_a_row = crashed ? 0 : static_cast<int>(note.killed_in_a_row);
      if (crashed || note.killed_in_a_row >= 2) {
        note.killed_in_a_row = 0;
        note.killed_identity = 0;
        guard.quarantine(
            recovery.stage, line, note.full_length,
            std::string(crashed ? "the correlator crashed" : "the correlator was killed twice") +
                " while processing this line (" + stage_name(recovery.stage) + ")");
        guard.quarantined_.insert(identity);
        recovery.quarantined_line = std::move(line);
        // The line is blamed for the crash, so the start-up it ended is no evidence against
        // the journal's other lines.
        recovery.unfinished_startups = 0;
      }
    } else {
      note.killed_in_a_row = 0;
    }
    if (recovery.unfinished_startups > 0 && note.crashed == 0 &&
        now - note.startup_began < kHungStartup) {
      // The last start-up was killed from outside soon after it began: no evidence against
      // the journal, so it does not count.
      --recovery.unfinished_startups;
    }
  }
  ++recovery.unfinished_startups;
  if (recovery.unfinished_startups > kMaxUnfinishedStartups) {
    recovery.move_journal_aside = true;
    recovery.unfinished_startups = 1;
  }
  note.stage = static_cast<std::uint32_t>(Stage::kStartup);
  note.crashed = 0;
  note.unfinished_startups = static_cast<std::uint32_t>(recovery.unfinished_startups);
  note.full_length = 0;
  note.startup_began = now;
  std::atomic_signal_fence(std::memory_order_release);
  note.magic = kNoteMagic;
  if (const char* hook = std::getenv("VTRACE_TEST_CRASH_ON")) {
    std::string_view specs(hook);
    while (!specs.empty()) {
      const auto end = std::min(specs.find(';'), specs.size());
      const std::string_view spec = specs.substr(0, end);
      specs.remove_prefix(std::min(end + 1, specs.size()));
      if (const auto colon = spec.find(':'); colon != std::string_view::npos) {
        guard.test_crashes_.emplace_back(spec.substr(0, colon), spec.substr(colon + 1));
      }
    }
  }
  g_note = guard.note_;
  install_fatal_signal_handlers();
  return guard;
}

CrashGuard::CrashGuard(std::string dir, int fd, Note* note)
    : dir_(std::move(dir)), quarantine_path_(dir_ + "/quarantine.jsonl"), fd_(fd), note_(note) {}

CrashGuard::CrashGuard(CrashGuard&& other) noexcept
    : dir_(std::move(other.dir_)),
      quarantine_path_(std::move(other.quarantine_path_)),
      fd_(std::exchange(other.fd_, -1)),
      note_(std::exchange(other.note_, nullptr)),
      recovery_(std::move(other.recovery_)),
      quarantined_(std::move(other.quarantined_)),
      skipped_(other.skipped_),
      ingesting_(other.ingesting_),
      in_ingest_(other.in_ingest_),
      test_crashes_(std::move(other.test_crashes_)) {}

CrashGuard::~CrashGuard() {
  if (note_ != nullptr) {
    if (g_note == note_) g_note = nullptr;
    // A clean exit leaves nothing to blame.
    note_->stage = static_cast<std::uint32_t>(Stage::kIdle);
    ::munmap(note_, sizeof(Note));
  }
  if (fd_ >= 0) ::close(fd_);
}

void CrashGuard::startup_finished() {
  note_->unfinished_startups = 0;
  write_note(Stage::kIdle, {});
}

bool CrashGuard::is_quarantined(std::string_view line) const {
  return !quarantined_.empty() && quarantined_.count(line_identity(line)) > 0;
}

void CrashGuard::write_note(Stage stage, std::string_view line) {
  Note& note = *note_;
  note.stage = static_cast<std::uint32_t>(Stage::kIdle);
  std::atomic_signal_fence(std::memory_order_release);
  if (stage == Stage::kIngest || stage == Stage::kTrace) {
    const std::size_t kept = std::min(line.size(), kMaxNotedLine);
    std::memcpy(note.line, line.data(), kept);
    note.full_length = line.size();
    std::atomic_signal_fence(std::memory_order_release);
  }
  note.stage = static_cast<std::uint32_t>(stage);
  std::atomic_signal_fence(std::memory_order_release);
  if (!test_crashes_.empty()) maybe_crash_for_test(stage_name(stage), line);
}

void CrashGuard::enter_ingest(std::string_view line) {
  ingesting_ = line;
  in_ingest_ = true;
  write_note(Stage::kIngest, line);
}

void CrashGuard::leave() {
  in_ingest_ = false;
  ingesting_ = {};
  note_->stage = static_cast<std::uint32_t>(Stage::kIdle);
}

void CrashGuard::watch_trace(std::string_view line) {
  if (!line.empty()) {
    write_note(Stage::kTrace, line);
  } else if (in_ingest_) {
    write_note(Stage::kIngest, ingesting_);
  } else {
    note_->stage = static_cast<std::uint32_t>(Stage::kIdle);
  }
}

void CrashGuard::quarantine(Stage stage, std::string_view line, std::uint64_t full_length,
                            std::string_view reason) {
  boost::json::object entry;
  entry["at"] = format_rfc3339(std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
  entry["stage"] = stage_name(stage);
  entry["reason"] = reason;
  entry["line"] = line;
  entry["length"] = full_length;
  std::ofstream out(quarantine_path_, std::ios::app);
  out << boost::json::serialize(entry) << '\n';
}

void CrashGuard::load_quarantine() {
  std::ifstream in(quarantine_path_);
  std::string text;
  while (std::getline(in, text)) {
    boost::system::error_code ec;
    const auto value = boost::json::parse(text, ec);
    if (ec || !value.is_object()) continue;
    const auto* line = value.as_object().if_contains("line");
    if (line == nullptr || !line->is_string()) continue;
    const std::string_view kept(line->as_string());
    std::uint64_t full_length = kept.size();
    if (const auto* length = value.as_object().if_contains("length");
        length != nullptr && length->is_uint64()) {
      full_length = length->as_uint64();
    } else if (length != nullptr && length->is_int64() && length->as_int64() >= 0) {
      full_length = static_cast<std::uint64_t>(length->as_int64());
    }
    quarantined_.insert(identity_of(kept, full_length));
  }
}

void CrashGuard::maybe_crash_for_test(std::string_view stage, std::string_view line) const {
  for (const auto& [crash_stage, text] : test_crashes_) {
    if (crash_stage == stage && !line.empty() && line.find(text) != std::string_view::npos) {
      if (stage == "confirm") ::kill(::getpid(), SIGKILL);  // a kill from outside, not a bug
      __builtin_trap();  // a fault of the process's own, as a bug would make (SIGILL)
    }
  }
}

}  // namespace vtrace
