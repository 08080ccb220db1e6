// omprog loop and rsyslog JSON decoding.
#include "module/input/omprog_loop.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <boost/json/basic_parser_impl.hpp>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <utility>
#include <vector>

namespace vtrace {

namespace {

// The record's fields in the order of RsyslogRecord::unescaped.
constexpr std::string_view RsyslogRecord::*kFields[] = {
    &RsyslogRecord::timereported, &RsyslogRecord::hostname, &RsyslogRecord::fromhost_ip,
    &RsyslogRecord::app_name,     &RsyslogRecord::procid,   &RsyslogRecord::msg,
    &RsyslogRecord::inputname};
constexpr int kTime = 0;
constexpr int kMsg = 5;
constexpr int kNone = -1;

// Parse events of one line, kept only where they are string values of the top-level object's
// known keys. Nested values are walked past; a known key with a non-string value counts as
// absent, as in a document-tree lookup.
struct FieldHandler {
  static constexpr std::size_t max_object_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_array_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_key_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_string_size = static_cast<std::size_t>(-1);
  using error_code = boost::json::error_code;
  using string_view = boost::json::string_view;

  RsyslogRecord* out = nullptr;
  const char* line_begin = nullptr;
  const char* line_end = nullptr;
  int target = kNone;     // the field the current top-level key names
  bool in_parts = false;  // the target's value came in parts, gathered in its unescaped copy
  std::string key;        // a key delivered in parts
  int depth = 0;
  bool object = false;
  bool has_time = false;
  bool has_msg = false;

  void start(std::string_view line, RsyslogRecord& record) {
    out = &record;
    line_begin = line.data();
    line_end = line.data() + line.size();
    for (const auto f : kFields) record.*f = {};
    target = kNone;
    in_parts = false;
    key.clear();
    depth = 0;
    object = has_time = has_msg = false;
  }
  static int field(std::string_view k) {
    // By length first: one comparison per key instead of up to seven.
    switch (k.size()) {
      case 3:
        return k == "msg" ? kMsg : kNone;
      case 6:
        return k == "procid" ? 4 : kNone;
      case 8:
        return k == "hostname" ? 1 : k == "app-name" ? 3 : kNone;
      case 9:
        return k == "inputname" ? 6 : kNone;
      case 11:
        return k == "fromhost-ip" ? 2 : kNone;
      case 12:
        return k == "timereported" ? kTime : kNone;
      default:
        return kNone;
    }
  }
  void presence(bool present) {
    if (target == kTime) has_time = present;
    if (target == kMsg) has_msg = present;
  }
  // A value that is not a string, at the top level.
  void other_value() {
    if (depth != 1 || target == kNone) return;
    out->*kFields[target] = {};
    presence(false);
    target = kNone;
  }
  void name_target(std::string_view k) {
    target = field(k);
    in_parts = false;
    if (target != kNone) out->*kFields[target] = {};
  }

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }
  bool on_object_begin(error_code&) {
    if (depth == 0) object = true;
    other_value();
    ++depth;
    return true;
  }
  bool on_object_end(std::size_t, error_code&) {
    --depth;
    return true;
  }
  bool on_array_begin(error_code&) {
    other_value();
    ++depth;
    return true;
  }
  bool on_array_end(std::size_t, error_code&) {
    --depth;
    return true;
  }
  bool on_key_part(string_view s, std::size_t, error_code&) {
    if (depth == 1) key.append(s.data(), s.size());
    return true;
  }
  bool on_key(string_view s, std::size_t, error_code&) {
    if (depth != 1) return true;
    if (key.empty()) {
      name_target(std::string_view(s.data(), s.size()));
    } else {
      key.append(s.data(), s.size());
      name_target(key);
      key.clear();
    }
    return true;
  }
  bool on_string_part(string_view s, std::size_t, error_code&) {
    if (depth != 1 || target == kNone) return true;
    std::string& copy = out->unescaped[target];
    if (!in_parts) copy.clear();
    in_parts = true;
    copy.append(s.data(), s.size());
    return true;
  }
  bool on_string(string_view s, std::size_t, error_code&) {
    if (depth != 1 || target == kNone) return true;
    // A whole value straight from the line is viewed there; an unescaped one (the parser's
    // scratch buffer, even when it is delivered whole) is copied.
    const auto at = reinterpret_cast<std::uintptr_t>(s.data());
    if (!in_parts && at >= reinterpret_cast<std::uintptr_t>(line_begin) &&
        at + s.size() <= reinterpret_cast<std::uintptr_t>(line_end)) {
      out->*kFields[target] = std::string_view(s.data(), s.size());
    } else {
      std::string& copy = out->unescaped[target];
      if (!in_parts) copy.clear();
      copy.append(s.data(), s.size());
      out->*kFields[target] = copy;
    }
    in_parts = false;
    presence(true);
    target = kNone;
    return true;
  }
  bool on_number_part(string_view, error_code&) { return true; }
  bool on_int64(std::int64_t, string_view, error_code&) {
    other_value();
    return true;
  }
  bool on_uint64(std::uint64_t, string_view, error_code&) {
    other_value();
    return true;
  }
  bool on_double(double, string_view, error_code&) {
    other_value();
    return true;
  }
  bool on_bool(bool, error_code&) {
    other_value();
    return true;
  }
  bool on_null(error_code&) {
    other_value();
    return true;
  }
  bool on_comment_part(string_view, error_code&) { return true; }
  bool on_comment(string_view, error_code&) { return true; }
};

}  // namespace

struct RsyslogJsonDecoder::Parser {
  static boost::json::parse_options options() {
    boost::json::parse_options o;
    o.allow_invalid_utf8 = true;
    return o;
  }
  boost::json::basic_parser<FieldHandler> parser{options()};
};

RsyslogJsonDecoder::RsyslogJsonDecoder() : parser_(std::make_unique<Parser>()) {}
RsyslogJsonDecoder::~RsyslogJsonDecoder() = default;

bool RsyslogJsonDecoder::decode(std::string_view line, RsyslogRecord& out) {
  auto& p = parser_->parser;
  p.reset();
  FieldHandler& h = p.handler();
  h.start(line, out);
  boost::json::error_code ec;
  const std::size_t used = p.write_some(false, line.data(), line.size(), ec);
  if (ec || !p.done()) return false;
  for (std::size_t i = used; i < line.size(); ++i) {
    const char c = line[i];
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return false;
  }
  return h.object && h.has_time && h.has_msg;
}

bool parse_rsyslog_json(std::string_view line, RsyslogRecord& out) {
  RsyslogJsonDecoder decoder;
  return decoder.decode(line, out);
}

const RsyslogIngester::Sender& RsyslogIngester::sender(std::string_view fromhost_ip) {
  // rsyslog hands over what one connection sent in runs: mostly the previous record's sender.
  if (last_ != senders_.end() && last_->first == fromhost_ip) return last_->second;
  last_ = senders_.find(fromhost_ip);
  if (last_ != senders_.end()) return last_->second;
  // Bounded by the hosts that send to this collector; a flood of spoofed UDP senders only
  // empties it now and then.
  if (senders_.size() >= 4096) senders_.clear();
  Sender sender;
  if (const auto address = IpAddress::parse(fromhost_ip)) {
    sender.loopback = address->is_loopback();
    sender.source = correlator_.topology().by_address(*address);
  }
  last_ = senders_.emplace(std::string(fromhost_ip), sender).first;
  return last_->second;
}

bool ingest_rsyslog_record(Correlator& correlator, const RsyslogRecord& record) {
  return RsyslogIngester(correlator).ingest(record).has_value();
}

std::optional<TimePoint> RsyslogIngester::ingest(const RsyslogRecord& record) {
  const auto time = times_.parse(record.timereported);
  if (!time) {
    correlator_.count_undecodable();
    return std::nullopt;
  }
  LogLine line;
  line.time = *time;
  line.hostname = record.hostname;
  line.program = record.app_name;
  line.pid = record.procid == "-" ? std::string_view{} : std::string_view(record.procid);
  std::string_view msg = record.msg;
  if (!msg.empty() && msg.front() == ' ') msg.remove_prefix(1);
  // Solaris sendmail: "[ID 801593 mail.info] ".
  if (msg.size() > 4 && msg.substr(0, 4) == "[ID ") {
    if (const auto close = msg.find("] "); close != std::string_view::npos) {
      msg.remove_prefix(close + 2);
    }
  }
  line.raw = record.msg;
  line.raw_is_message = true;
  const Sender& from = sender(record.fromhost_ip);
  std::optional<SourceIndex> source = from.source;
  // Over the network only the sender's address counts, never the hostname it claims (a forged
  // syslog line can claim any hostname). The hostname counts only for lines logged on the
  // collector itself: read from a file (no fromhost-ip) or from the local log socket. A TCP
  // connection over loopback is the network too: any local user could open one.
  const bool local_input = record.inputname == "imuxsock" || record.inputname == "imjournal" ||
                           record.inputname == "imfile" || record.inputname == "imklog";
  if (!source && (record.fromhost_ip.empty() || (from.loopback && local_input))) {
    source = correlator_.topology().by_hostname(record.hostname);
  }
  if (!source) {
    correlator_.ingest_untrusted_counted();
    return time;
  }
  // imfile delivers an InterScan record as one message of several lines (escapeLF="off"), or
  // with the line breaks written as the two characters "\n" (escapeLF="on").
  const bool multi_line = msg.find('\n') != std::string_view::npos;
  const bool escaped = !multi_line && msg.substr(0, 6) == "Date: " &&
                       msg.find("\\nMethod: ") != std::string_view::npos;
  if (multi_line || escaped) {
    const std::string_view separator = multi_line ? "\n" : "\\n";
    while (true) {
      const auto end = msg.find(separator);
      line.message = msg.substr(0, end);
      correlator_.ingest(*source, line);
      if (end == std::string_view::npos) break;
      msg.remove_prefix(end + separator.size());
    }
    return time;
  }
  line.message = msg;
  correlator_.ingest(*source, line);
  return time;
}

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
                          const std::function<bool()>& on_idle, int tick_ms, std::size_t max_line) {
  std::string answers;
  auto confirm = [&](std::size_t n) {
    answers.clear();
    for (std::size_t i = 0; i < n; ++i) answers += "OK\n";
    write_all(out_fd, answers.data(), answers.size());
  };
  confirm(1);  // configuration loaded: ready
  using Clock = std::chrono::steady_clock;
  const auto tick = std::chrono::milliseconds(tick_ms);
  auto last_idle = Clock::now();
  constexpr std::size_t kReadSize = 65536;
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
    if (Clock::now() - last_idle >= tick) {
      last_idle = Clock::now();
      if (!on_idle()) return OmprogEnd::kStopped;
    }
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
      if (ready <= 0) {  // timed out, or a signal (SIGTERM, SIGHUP) to be seen at once
        last_idle = Clock::now();
        if (!on_idle()) return OmprogEnd::kStopped;
      }
      continue;
    }
    if (n < 0 && errno == EINTR) {  // the tick, or a signal (SIGTERM, SIGHUP) to be seen now
      last_idle = Clock::now();
      if (!on_idle()) return OmprogEnd::kStopped;
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
