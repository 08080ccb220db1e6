// The trust rule for rsyslog's records, and their fields made into log lines.
#include "module/input/rsyslog_ingester.hpp"

#include <string>

#include "common/net.hpp"

namespace vtrace {

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
  // "local": what the syslog-ng snippet sets for its local sources.
  const bool local_input = record.inputname == "imuxsock" || record.inputname == "imjournal" ||
                           record.inputname == "imfile" || record.inputname == "imklog" ||
                           record.inputname == "local";
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

}  // namespace vtrace
