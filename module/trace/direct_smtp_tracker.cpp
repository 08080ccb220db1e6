// Direct SMTP: a sliding window of attempts per internal host, one incident per burst.
#include "module/trace/direct_smtp_tracker.hpp"

#include <algorithm>

namespace vtrace {

DirectSmtpTracker::DirectSmtpTracker(const CorrelatorSettings& settings, const Topology& topology)
    : settings_(settings.direct_smtp),
      topology_(topology),
      // Twice the threshold: room for the attempts that cross it and the spread of their
      // destinations, and a hard bound whatever a host sends.
      window_capacity_(static_cast<std::size_t>(
          2 * std::max({settings_.connections, settings_.destinations, 32}))) {}

bool DirectSmtpTracker::watched(const IpAddress& address, Origin& origin) {
  if (topology_.by_address(address) ||
      std::any_of(settings_.allowed_senders.begin(), settings_.allowed_senders.end(),
                  [&](const Cidr& cidr) { return cidr.contains(address); })) {
    ++stats_.exempt;
    return false;
  }
  origin = topology_.classify(address, "");
  if (!origin.internal ||
      (!settings_.zones.empty() && std::find(settings_.zones.begin(), settings_.zones.end(),
                                             origin.zone) == settings_.zones.end())) {
    ++stats_.not_watched;
    return false;
  }
  return true;
}

DirectSmtpTracker::Host& DirectSmtpTracker::host(const IpAddress& address) {
  if (auto it = hosts_.find(address); it != hosts_.end()) {
    hosts_by_age_.splice(hosts_by_age_.end(), hosts_by_age_, it->second.order);
    return it->second;
  }
  if (hosts_.size() >= static_cast<std::size_t>(settings_.max_hosts)) {
    // Full: the host seen least recently is forgotten (its burst, if any, already went out).
    hosts_.erase(hosts_by_age_.front());
    hosts_by_age_.pop_front();
    ++stats_.hosts_dropped;
  }
  Host& h = hosts_[address];
  h.order = hosts_by_age_.insert(hosts_by_age_.end(), address);
  return h;
}

// A retransmitted SYN repeats the whole connection: source port, destination and its port
// (a scanner sends from one source port to many ports of a host: each is an attempt).
bool DirectSmtpTracker::retransmission(const Host& h, const Attempt& a) {
  if (a.source_port < 0) return false;
  return std::any_of(h.window.begin(), h.window.end(), [&](const Attempt& seen) {
    return seen.source_port == a.source_port && seen.destination == a.destination &&
           seen.destination_port == a.destination_port;
  });
}

namespace {

void count_verdict(DirectSmtpCounts& counts, ConnectionVerdict verdict) {
  if (verdict == ConnectionVerdict::kBlocked) ++counts.blocked;
  if (verdict == ConnectionVerdict::kAllowed) ++counts.allowed;
}

// "blocked" or "allowed" when the firewall said so of every attempt, else "logged".
std::string action_of(const DirectSmtpCounts& counts) {
  if (counts.blocked == counts.connections) return "blocked";
  if (counts.allowed == counts.connections) return "allowed";
  return "logged";
}

// A line as evidence: rsyslog hands over the message alone, so its time, host and program are
// written in front, as replay's lines have them.
std::string evidence_text(const LogLine& line) {
  if (!line.raw_is_message) return std::string(line.raw);
  std::string text = format_rfc3339(line.time);
  text.append(" ").append(line.hostname).append(" ").append(line.program);
  if (!line.pid.empty()) text.append("[").append(line.pid).append("]");
  return text.append(": ").append(line.message);
}

}  // namespace

void DirectSmtpTracker::observe(SourceIndex source, const LogLine& line, std::string_view format,
                                const ParsedRecord& record, std::vector<Incident>& out) {
  ++stats_.connections;
  if (std::find(settings_.ports.begin(), settings_.ports.end(), record.dst_port) ==
      settings_.ports.end()) {
    ++stats_.other_ports;
    return;
  }
  const auto from = IpAddress::parse(record.src_ip);
  const auto to = IpAddress::parse(record.dst_ip);
  if (!from || !to) {
    ++stats_.unreadable;
    return;
  }
  Origin origin;
  if (!watched(*from, origin)) return;
  const TimePoint t = line.time;
  Host& h = host(*from);
  if (h.last_seen != 0 && t - h.last_seen > settings_.quiet) {
    // A new burst: the old one went out when it went quiet (advance), or goes out now.
    if (h.reported && h.unsent) send(h, out);
    h.window.clear();
    h.reported = false;
    h.destinations.clear();
  }
  h.last_seen = std::max(h.last_seen, t);
  const Attempt attempt{t, *to, record.src_port, record.verdict, record.dst_port};
  if (retransmission(h, attempt)) {
    ++stats_.retransmissions;
    return;
  }
  while (!h.window.empty() && h.window.front().time < h.last_seen - settings_.within) {
    h.window.pop_front();
  }
  h.window.push_back(attempt);
  if (h.window.size() > window_capacity_) {
    h.window.pop_front();
    ++stats_.attempts_dropped;
  }
  if (h.reported) {
    add_to_burst(h, attempt, line);
    if (t - h.last_sent >= kRevisionInterval) send(h, out);
    return;
  }
  if (h.window.size() < static_cast<std::size_t>(settings_.connections)) return;
  std::unordered_set<IpAddress, IpAddressHash> distinct;
  for (const auto& a : h.window) distinct.insert(a.destination);
  if (distinct.size() < static_cast<std::size_t>(settings_.destinations)) return;
  start_burst(h, source, t, format, origin, line);
  send(h, out);
}

void DirectSmtpTracker::start_burst(Host& h, SourceIndex source, TimePoint t,
                                    std::string_view format, const Origin& origin,
                                    const LogLine& line) {
  h.reported = true;
  h.destinations.clear();
  DirectSmtpCounts counts;
  counts.first_seen = h.window.front().time;
  for (const auto& a : h.window) {
    ++counts.connections;
    count_verdict(counts, a.verdict);
    counts.first_seen = std::min(counts.first_seen, a.time);
    h.destinations.insert(a.destination);
  }
  counts.destinations = static_cast<std::int64_t>(h.destinations.size());
  counts.last_seen = h.last_seen;
  const std::string& firewall = topology_.source(source).name;
  Incident& in = h.incident;
  in = Incident{};
  in.kind = IncidentKind::kDirectSmtp;
  in.id = make_incident_id(firewall, "direct_smtp|" + origin.ip, "", counts.first_seen);
  in.detected_at = t;
  in.detector_host = firewall;
  in.detector_format = std::string(format);
  in.action = action_of(counts);
  in.hops = {Hop{firewall, "", counts.first_seen, origin.ip, "", HopLink::kDirect}};
  in.origin = origin;
  in.confidence = Confidence::kExact;
  in.direct_smtp = counts;
  in.evidence = {evidence_text(line)};
  in.revision = 0;  // send() makes it 1
  h.unsent = true;
}

void DirectSmtpTracker::add_to_burst(Host& h, const Attempt& a, const LogLine& line) {
  DirectSmtpCounts& counts = *h.incident.direct_smtp;
  ++counts.connections;
  count_verdict(counts, a.verdict);
  if (!h.destinations.contains(a.destination)) {
    if (h.destinations.size() < kMaxDestinations) {
      h.destinations.insert(a.destination);
    } else {
      ++stats_.destinations_dropped;
    }
  }
  counts.destinations = static_cast<std::int64_t>(h.destinations.size());
  counts.first_seen = std::min(counts.first_seen, a.time);
  counts.last_seen = std::max(counts.last_seen, a.time);
  h.incident.action = action_of(counts);
  if (h.incident.evidence.size() < kEvidenceLines)
    h.incident.evidence.push_back(evidence_text(line));
  h.unsent = true;
}

void DirectSmtpTracker::send(Host& h, std::vector<Incident>& out) {
  if (h.incident.revision == 0) {
    ++stats_.incidents;
  } else {
    ++stats_.revisions;
  }
  ++h.incident.revision;
  h.last_sent = h.incident.direct_smtp->last_seen;
  h.unsent = false;
  out.push_back(h.incident);
}

void DirectSmtpTracker::advance(TimePoint now, std::vector<Incident>& out) {
  // Least recently seen first: stop at the first host not yet quiet. A quiet host's burst is
  // over (quiet is at least the window, so nothing of it still counts): its last counts go out.
  while (!hosts_by_age_.empty()) {
    auto it = hosts_.find(hosts_by_age_.front());
    Host& h = it->second;
    if (now - h.last_seen <= settings_.quiet) break;
    if (h.reported && h.unsent) send(h, out);
    hosts_.erase(it);
    hosts_by_age_.pop_front();
  }
}

void DirectSmtpTracker::finish(std::vector<Incident>& out) {
  for (const auto& address : hosts_by_age_) {
    Host& h = hosts_.find(address)->second;
    if (h.reported && h.unsent) send(h, out);
  }
}

}  // namespace vtrace
