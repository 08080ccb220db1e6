// CorrelatorSettings: the correlator's configuration, loaded from YAML with diagnostics.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/diagnostic.hpp"
#include "common/net.hpp"
#include "common/time.hpp"

namespace vtrace {

// A firewall's lines are read for connection attempts (direct SMTP), never for mail.
enum class SourceRole { kGateway, kRelay, kMailServer, kFirewall };

// A host whose logs we trust. Records from any other host are dropped and counted.
struct SourceSettings {
  std::string name;
  std::vector<std::string> hostnames;  // matched case-insensitively against the envelope
  std::vector<IpAddress> addresses;    // its own addresses: syslog fromhost-ip, and how
                                       // other hosts' logs name it as a client
  SourceRole role = SourceRole::kGateway;
  std::vector<std::string> archive;  // glob patterns of its archived log files
  std::string timezone;              // for BSD timestamps of this source; empty = global
};

struct NetworkZone {
  std::string name;
  std::vector<Cidr> cidrs;
};

// A site-declared log format: a RE2 pattern with named groups that become record fields.
struct CustomFormatSettings {
  std::string name;
  std::string program;  // RE2 matched against the syslog program name; empty = any
  std::string pattern;  // RE2 with named groups: queue_id, message_id, sender, recipient(s),
                        // client_ip, client_name, virus, action, next_queue_id, subject, file
                        // or, for kind connection: src_ip, dst_ip, dst_port, src_port
  std::string kind;     // detection | receive | delivery | attribute | connection
  std::string file;     // where it was declared, for diagnostics
  int line = 0;
  int column = 0;
};

struct CorrelationSettings {
  // Envelope matching: how far apart two hosts' records of one message may be in time.
  Duration clock_skew = seconds(5);
  // Links by id (a queue id named in a delivery status, a Message-ID): how much later than the
  // next hop received it the previous host may have logged the message. An id is an identity,
  // so this only has to keep a reused queue id from matching: it is not clock_skew, which an
  // NTP site sets small, and a host whose clock drifts by seconds still links by id.
  Duration id_link_skew = seconds(5 * 60);
  // A detection waits until every source that has logged anything has logged past its time
  // plus clock_skew; at most this long after it arrived (a source may be silent, not late).
  Duration settle_timeout = seconds(10);
  Duration window = seconds(30 * 60);
  int max_hops = 8;
  Duration pending_timeout = seconds(5 * 60);
  std::int64_t max_messages = 2'000'000;  // index capacity (messages over all hosts)
  std::int64_t max_pending = 100'000;     // detections waiting for their records
  // Allow containment-grade "fuzzy" traces? Only informs the incident; the responder decides.
  bool envelope_matching = true;
};

struct OutputSettings {
  std::string responder_url;  // e.g. http://127.0.0.1:8025/v1/incidents; empty = none
  std::string jsonl_path;     // also append every incident to this file; empty = none
  std::string state_dir = "/var/lib/vtrace";
  std::string stats_path;  // periodic counters as JSON; empty = state_dir/correlator-stats.json
  Duration stats_interval = seconds(60);
};

// The largest connection threshold: what one host's window of attempts must be able to hold.
inline constexpr int kMaxDirectSmtpConnections = 1000;

// Internal hosts that send SMTP themselves, seen in firewall logs (role: firewall). Off unless
// the `direct_smtp:` section is present.
struct DirectSmtpSettings {
  bool enabled = false;
  std::vector<int> ports = {25};
  // An incident when, within `within`, a host made at least `connections` attempts to at least
  // `destinations` distinct addresses.
  int connections = 20;
  int destinations = 5;
  Duration within = seconds(10 * 60);
  // A host silent this long ends its burst: its next crossing is a new incident.
  Duration quiet = seconds(60 * 60);
  // Never reported, besides the configured mail sources' own addresses.
  std::vector<Cidr> allowed_senders;
  // Internal zones watched; empty = every internal zone. External hosts are never watched.
  std::vector<std::string> zones;
  std::int64_t max_hosts = 100'000;  // hosts tracked at once
};

struct CorrelatorSettings {
  std::vector<SourceSettings> sources;
  std::vector<NetworkZone> internal_networks;
  std::vector<NetworkZone> external_networks;  // optional names for known outside networks
  CorrelationSettings correlation;
  std::vector<CustomFormatSettings> custom_formats;
  DirectSmtpSettings direct_smtp;
  OutputSettings output;
  std::string timezone;  // default zone for BSD timestamps; empty = the process's TZ
  std::string path;      // the file it was loaded from
};

// Loads and validates the file; on any problem returns nullopt with every problem recorded in
// `diagnostics` (file:line:col, code, message).
std::optional<CorrelatorSettings> load_correlator_settings(const std::string& path,
                                                           Diagnostics& diagnostics);
// Same from text already in memory (tests, embedded defaults); `path` names it in messages.
std::optional<CorrelatorSettings> parse_correlator_settings(const std::string& text,
                                                            const std::string& path,
                                                            Diagnostics& diagnostics);

}  // namespace vtrace
