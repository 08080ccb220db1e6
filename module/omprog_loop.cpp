// omprog loop and rsyslog JSON decoding.
#include "module/omprog_loop.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <boost/json/basic_parser_impl.hpp>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <vector>

namespace vtrace {

namespace {

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
  std::string* target = nullptr;  // the field the current top-level key names
  std::string key;                // a key delivered in parts
  int depth = 0;
  bool object = false;
  bool has_time = false;
  bool has_msg = false;

  void start(RsyslogRecord& record) {
    out = &record;
    for (std::string* f : {&record.timereported, &record.hostname, &record.fromhost_ip,
                           &record.app_name, &record.procid, &record.msg, &record.inputname}) {
      f->clear();
    }
    target = nullptr;
    key.clear();
    depth = 0;
    object = has_time = has_msg = false;
  }
  std::string* field(std::string_view k) const {
    if (k == "msg") return &out->msg;
    if (k == "timereported") return &out->timereported;
    if (k == "hostname") return &out->hostname;
    if (k == "fromhost-ip") return &out->fromhost_ip;
    if (k == "app-name") return &out->app_name;
    if (k == "procid") return &out->procid;
    if (k == "inputname") return &out->inputname;
    return nullptr;
  }
  void presence(bool present) {
    if (target == &out->timereported) has_time = present;
    if (target == &out->msg) has_msg = present;
  }
  // A value that is not a string, at the top level.
  void other_value() {
    if (depth != 1 || target == nullptr) return;
    target->clear();
    presence(false);
    target = nullptr;
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
      target = field(std::string_view(s.data(), s.size()));
    } else {
      key.append(s.data(), s.size());
      target = field(key);
      key.clear();
    }
    if (target != nullptr) target->clear();
    return true;
  }
  bool on_string_part(string_view s, std::size_t, error_code&) {
    if (depth == 1 && target != nullptr) target->append(s.data(), s.size());
    return true;
  }
  bool on_string(string_view s, std::size_t, error_code&) {
    if (depth == 1 && target != nullptr) {
      target->append(s.data(), s.size());
      presence(true);
      target = nullptr;
    }
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
  boost::json::basic_parser<FieldHandler> parser{boost::json::parse_options{}};
};

RsyslogJsonDecoder::RsyslogJsonDecoder() : parser_(std::make_unique<Parser>()) {}
RsyslogJsonDecoder::~RsyslogJsonDecoder() = default;

bool RsyslogJsonDecoder::decode(std::string_view line, RsyslogRecord& out) {
  auto& p = parser_->parser;
  p.reset();
  FieldHandler& h = p.handler();
  h.start(out);
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

bool ingest_rsyslog_record(Correlator& correlator, const RsyslogRecord& record) {
  const auto time = parse_rfc3339(record.timereported);
  if (!time) {
    correlator.count_undecodable();
    return false;
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
  std::optional<SourceIndex> source;
  const auto address = IpAddress::parse(record.fromhost_ip);
  if (address) source = correlator.topology().by_address(*address);
  // Over the network only the sender's address counts, never the hostname it claims (a forged
  // syslog line can claim any hostname). The hostname counts only for lines logged on the
  // collector itself: read from a file (no fromhost-ip) or from the local log socket. A TCP
  // connection over loopback is the network too: any local user could open one.
  const bool local_input = record.inputname == "imuxsock" || record.inputname == "imjournal" ||
                           record.inputname == "imfile" || record.inputname == "imklog";
  if (!source &&
      (record.fromhost_ip.empty() || (address && address->is_loopback() && local_input))) {
    source = correlator.topology().by_hostname(record.hostname);
  }
  if (!source) {
    correlator.ingest_untrusted_counted();
    return true;
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
      correlator.ingest(*source, line);
      if (end == std::string_view::npos) break;
      msg.remove_prefix(end + separator.size());
    }
    return true;
  }
  line.message = msg;
  correlator.ingest(*source, line);
  return true;
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

}  // namespace

OmprogEnd run_omprog_loop(int in_fd, int out_fd,
                          const std::function<bool(std::span<const std::string_view>)>& on_batch,
                          const std::function<bool()>& on_idle, int tick_ms) {
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
  std::string buffer;
  std::vector<std::string_view> lines;
  char chunk[65536];
  // The read is tried first and poll() is only called when nothing is there: rsyslog mostly
  // has the next message written by the time its OK went out, and a poll() per message would
  // be a third of the syscalls the protocol costs.
  const NonBlocking non_blocking(in_fd);
  while (true) {
    if (Clock::now() - last_idle >= tick) {
      last_idle = Clock::now();
      if (!on_idle()) return OmprogEnd::kStopped;
    }
    const ssize_t n = ::read(in_fd, chunk, sizeof chunk);
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
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (!buffer.empty()) {
        const std::string_view last = buffer;
        if (!on_batch(std::span(&last, 1))) return OmprogEnd::kFailed;
        confirm(1);
      }
      return OmprogEnd::kEndOfInput;
    }
    buffer.append(chunk, static_cast<std::size_t>(n));
    lines.clear();
    std::size_t start = 0;
    for (std::size_t nl; (nl = buffer.find('\n', start)) != std::string::npos; start = nl + 1) {
      lines.push_back(std::string_view(buffer).substr(start, nl - start));
    }
    if (!lines.empty()) {
      if (!on_batch(lines)) return OmprogEnd::kFailed;
      confirm(lines.size());
    }
    buffer.erase(0, start);
  }
}

}  // namespace vtrace
