// The omprog loop.
#include "module/input/omprog_loop.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace vtrace {

namespace {

bool write_all(int fd, const char* data, std::size_t size) {
  std::size_t written = 0;
  while (written < size) {
    const ssize_t n = ::write(fd, data + written, size - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      // stdout shares a non-blocking file description with stdin (a terminal).
      pollfd p{fd, POLLOUT, 0};
      ::poll(&p, 1, -1);
      continue;
    }
    if (n <= 0) return false;
    written += static_cast<std::size_t>(n);
  }
  return true;
}

// Makes reads on `fd` non-blocking for its lifetime and restores the flags after.
class NonBlocking {
 public:
  explicit NonBlocking(int fd) : fd_(fd), flags_(::fcntl(fd, F_GETFL)) {
    if (flags_ >= 0) ::fcntl(fd_, F_SETFL, flags_ | O_NONBLOCK);
  }
  ~NonBlocking() {
    if (flags_ >= 0) ::fcntl(fd_, F_SETFL, flags_);
  }
  NonBlocking(const NonBlocking&) = delete;
  NonBlocking& operator=(const NonBlocking&) = delete;

 private:
  int fd_;
  int flags_;
};

// Interrupts the calling thread's blocking read() every `tick_ms` with a signal of its own,
// so that the loop can block in read() as a plain omprog program does: one system call per
// message when rsyslog's next line is not there yet, where a non-blocking read, poll() and a
// second read() took three. The signal goes to this thread only (the correlator's other
// threads never see it) and is handled without SA_RESTART, so the read returns EINTR.
class TickInterrupter {
 public:
  explicit TickInterrupter(int tick_ms) {
    struct sigaction action {};
    action.sa_handler = [](int) {};
    sigemptyset(&action.sa_mask);
    if (::sigaction(signal_number(), &action, &previous_) != 0) return;
    sigevent event{};
    event.sigev_notify = SIGEV_THREAD_ID;
    event.sigev_signo = signal_number();
    event._sigev_un._tid = ::gettid();
    if (::timer_create(CLOCK_MONOTONIC, &event, &timer_) != 0) {
      ::sigaction(signal_number(), &previous_, nullptr);
      return;
    }
    sigset_t unblock;
    sigemptyset(&unblock);
    sigaddset(&unblock, signal_number());
    ::pthread_sigmask(SIG_UNBLOCK, &unblock, nullptr);
    itimerspec period{};
    period.it_interval.tv_sec = tick_ms / 1000;
    period.it_interval.tv_nsec = static_cast<long>(tick_ms % 1000) * 1'000'000;
    period.it_value = period.it_interval;
    armed_ = ::timer_settime(timer_, 0, &period, nullptr) == 0;
    if (!armed_) {
      ::timer_delete(timer_);
      ::sigaction(signal_number(), &previous_, nullptr);
    }
  }
  ~TickInterrupter() {
    if (!armed_) return;
    // A signal the timer raised before it was deleted is delivered on the way back from
    // timer_delete(), to the handler still in place; none is left for the previous one.
    ::timer_delete(timer_);
    ::sigaction(signal_number(), &previous_, nullptr);
  }
  TickInterrupter(const TickInterrupter&) = delete;
  TickInterrupter& operator=(const TickInterrupter&) = delete;
  bool armed() const { return armed_; }

 private:
  static int signal_number() { return SIGRTMIN; }
  timer_t timer_{};
  struct sigaction previous_ {};
  bool armed_ = false;
};

}  // namespace

OmprogEnd run_omprog_loop(int in_fd, int out_fd,
                          const std::function<bool(std::span<const std::string_view>)>& on_batch,
                          const std::function<bool()>& on_idle, int tick_ms, std::size_t max_line,
                          Feed feed) {
  std::string answers;
  auto confirm = [&](std::size_t n) {
    if (feed == Feed::kSyslogNgProgram) return;
    answers.clear();
    for (std::size_t i = 0; i < n; ++i) answers += "OK\n";
    write_all(out_fd, answers.data(), answers.size());
  };
  confirm(1);  // configuration loaded: ready
  using Clock = std::chrono::steady_clock;
  const auto tick = std::chrono::milliseconds(tick_ms);
  auto last_idle = Clock::now();
  // Asked to stop, with the pipe still to be read until syslog-ng closes it: until when at
  // most. (Not just until it is empty: syslog-ng may still finish a write after SIGTERM.)
  std::optional<Clock::time_point> draining_until;
  // False when the loop is to stop now; true to go on (to drain the pipe, for syslog-ng).
  auto idle = [&] {
    if (draining_until) return Clock::now() < *draining_until;
    last_idle = Clock::now();
    if (on_idle()) return true;
    if (feed != Feed::kSyslogNgProgram) return false;
    draining_until = Clock::now() + std::chrono::milliseconds(kMaxDrainMillis);
    return true;
  };
  // What one read() takes out of the pipe. From syslog-ng, whatever was read and not yet handed
  // over is lost if the process is killed (nothing is sent again): small reads keep that small.
  const std::size_t kReadSize = feed == Feed::kSyslogNgProgram ? kSyslogNgReadBytes : 65536;
  std::string buffer;     // a partial line not yet handed over, then what the next read adds
  bool dropping = false;  // the partial line grew over max_line: its bytes are dropped
  std::vector<std::string_view> lines;
  // The loop blocks in read() and a timer interrupts it every tick. Without a timer (none
  // available), or on an input that is non-blocking already, an empty read is followed by a
  // poll() that waits at most a tick.
  const TickInterrupter ticks(tick_ms);
  std::optional<NonBlocking> non_blocking;
  if (!ticks.armed()) non_blocking.emplace(in_fd);
  while (true) {
    if (Clock::now() - last_idle >= tick && !idle()) return OmprogEnd::kStopped;
    // Read straight into the buffer's tail, so that a line is not copied through a second
    // buffer (and its cache lines) on its way.
    const std::size_t kept = buffer.size();
    ssize_t n = 0;
    buffer.resize_and_overwrite(kept + kReadSize, [&](char* data, std::size_t) {
      n = ::read(in_fd, data + kept, kReadSize);
      return kept + (n > 0 ? static_cast<std::size_t>(n) : 0);
    });
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{in_fd, POLLIN, 0};
      const int ready = ::poll(&p, 1, tick_ms);
      if (ready < 0 && errno != EINTR) return OmprogEnd::kEndOfInput;
      // Timed out, or a signal (SIGTERM, SIGHUP) to be seen at once.
      if (ready <= 0 && !idle()) return OmprogEnd::kStopped;
      continue;
    }
    if (n < 0 && errno == EINTR) {  // the tick, or a signal (SIGTERM, SIGHUP) to be seen now
      if (!idle()) return OmprogEnd::kStopped;
      continue;
    }
    if (n <= 0) {
      if (!buffer.empty() || dropping) {
        const std::string_view last = dropping ? std::string_view() : std::string_view(buffer);
        if (!on_batch(std::span(&last, 1))) return OmprogEnd::kFailed;
        confirm(1);
      }
      return OmprogEnd::kEndOfInput;
    }
    lines.clear();
    std::size_t start = 0;
    for (std::size_t from = kept, nl; (nl = buffer.find('\n', from)) != std::string::npos;
         start = from = nl + 1) {
      // A line over the limit, or the end of one whose start was dropped: handed over empty,
      // to be confirmed.
      const bool too_long = std::exchange(dropping, false) || nl - start > max_line;
      lines.push_back(too_long ? std::string_view()
                               : std::string_view(buffer).substr(start, nl - start));
    }
    if (!lines.empty()) {
      if (!on_batch(lines)) return OmprogEnd::kFailed;
      confirm(lines.size());
    }
    buffer.erase(0, start);
    if (buffer.size() > max_line) {
      dropping = true;
      buffer.clear();
    }
  }
}

}  // namespace vtrace
