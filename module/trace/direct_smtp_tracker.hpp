// DirectSmtpTracker: internal hosts that open SMTP connections to outside hosts themselves,
// counted from the connection records of the firewall sources (direct_smtp in vtrace.yaml).
// Pure like the correlator: time is the log lines' time, so live and replay agree.
#pragma once

#include <cstdint>
#include <deque>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/incident.hpp"
#include "common/net.hpp"
#include "module/parsers/log_line.hpp"
#include "module/parsers/record.hpp"
#include "module/settings.hpp"
#include "module/trace/topology.hpp"

namespace vtrace {

struct DirectSmtpStats {
  std::uint64_t connections = 0;      // connection records from firewall sources
  std::uint64_t other_ports = 0;      // not to one of the configured ports
  std::uint64_t not_watched = 0;      // from an external host or an unwatched zone
  std::uint64_t exempt = 0;           // from a mail source or an allowed sender
  std::uint64_t unreadable = 0;       // an address that is no address
  std::uint64_t retransmissions = 0;  // the same source port to the same host again
  std::uint64_t not_firewall = 0;     // connection records from sources that are no firewall
  std::uint64_t incidents = 0;
  std::uint64_t revisions = 0;
  std::uint64_t hosts_dropped = 0;     // hosts forgotten because max_hosts were tracked
  std::uint64_t attempts_dropped = 0;  // attempts still inside the window pushed out of a full one
  std::uint64_t destinations_dropped = 0;  // distinct destinations beyond what a burst remembers
};

class DirectSmtpTracker {
 public:
  // At most one revision of a burst per this much log time; the last one when it goes quiet.
  static constexpr Duration kRevisionInterval = seconds(60);
  // Evidence lines an incident carries, and distinct destinations a burst remembers.
  static constexpr std::size_t kEvidenceLines = 4;
  static constexpr std::size_t kMaxDestinations = 4096;

  // `settings` and `topology` must outlive the tracker.
  DirectSmtpTracker(const CorrelatorSettings& settings, const Topology& topology);

  // The connection record `record` that firewall `source` logged in `line`. Incidents it makes
  // or revises are appended to `out`. `format` is the parser's name.
  void observe(SourceIndex source, const LogLine& line, std::string_view format,
               const ParsedRecord& record, std::vector<Incident>& out);
  // Log time moved on to `now`: hosts quiet for `quiet` are forgotten, and their bursts end
  // with their last revision.
  void advance(TimePoint now, std::vector<Incident>& out);
  // End of input: every burst's unsent counts go out.
  void finish(std::vector<Incident>& out);

  // Counts a connection record from a source that is not a firewall.
  void count_not_firewall() { ++stats_.not_firewall; }
  const DirectSmtpStats& stats() const { return stats_; }
  std::size_t hosts() const { return hosts_.size(); }

 private:
  struct Attempt {
    TimePoint time = 0;
    IpAddress destination;
    std::int32_t source_port = -1;
    ConnectionVerdict verdict = ConnectionVerdict::kUnknown;
    std::int32_t destination_port = -1;
  };
  struct Host {
    std::deque<Attempt> window;  // arrival order, at most window_capacity_
    TimePoint last_seen = 0;
    std::list<IpAddress>::iterator order;  // its place in hosts_by_age_
    // The burst, once the threshold was crossed.
    bool reported = false;
    bool unsent = false;  // counts changed since the last revision sent
    TimePoint last_sent = 0;
    Incident incident;
    std::unordered_set<IpAddress, IpAddressHash> destinations;
  };

  bool watched(const IpAddress& address, Origin& origin);
  Host& host(const IpAddress& address);
  static bool retransmission(const Host& h, const Attempt& a);
  void start_burst(Host& h, SourceIndex source, TimePoint t, std::string_view format,
                   const Origin& origin, const LogLine& line);
  void add_to_burst(Host& h, const Attempt& a, const LogLine& line);
  void send(Host& h, std::vector<Incident>& out);

  const DirectSmtpSettings& settings_;
  const Topology& topology_;
  std::size_t window_capacity_ = 0;
  std::unordered_map<IpAddress, Host, IpAddressHash> hosts_;
  std::list<IpAddress> hosts_by_age_;  // least recently seen first
  DirectSmtpStats stats_;
};

}  // namespace vtrace
