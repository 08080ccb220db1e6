// omprog loop and rsyslog JSON decoding.
#include "module/omprog_loop.hpp"

#include <poll.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>

namespace vtrace {

bool parse_rsyslog_json(std::string_view line, RsyslogRecord& out) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(line, ec);
  if (ec || !v.is_object()) return false;
  const auto& o = v.get_object();
  auto get = [&o](std::string_view key, std::string& into) {
    if (auto* f = o.if_contains(key); f && f->is_string()) {
      into = std::string(f->get_string());
      return true;
    }
    return false;
  };
  get("hostname", out.hostname);
  get("fromhost-ip", out.fromhost_ip);
  get("app-name", out.app_name);
  get("procid", out.procid);
  get("inputname", out.inputname);
  return get("timereported", out.timereported) && get("msg", out.msg);
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

void run_omprog_loop(int in_fd, int out_fd, const std::function<void(std::string_view)>& on_line,
                     const std::function<bool()>& on_idle, int tick_ms) {
  auto confirm = [out_fd] {
    const char ok[] = "OK\n";
    std::size_t written = 0;
    while (written < 3) {
      const ssize_t n = ::write(out_fd, ok + written, 3 - written);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      written += static_cast<std::size_t>(n);
    }
  };
  confirm();  // configuration loaded: ready
  std::string buffer;
  char chunk[65536];
  while (true) {
    pollfd p{in_fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, tick_ms);
    if (ready < 0 && errno != EINTR) return;
    if (ready <= 0) {
      if (!on_idle()) return;
      continue;
    }
    const ssize_t n = ::read(in_fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (!buffer.empty()) {
        on_line(buffer);
        confirm();
      }
      return;
    }
    buffer.append(chunk, static_cast<std::size_t>(n));
    std::size_t start = 0;
    for (std::size_t nl; (nl = buffer.find('\n', start)) != std::string::npos; start = nl + 1) {
      on_line(std::string_view(buffer).substr(start, nl - start));
      confirm();
    }
    buffer.erase(0, start);
    if (!on_idle()) return;
  }
}

}  // namespace vtrace
