// Incident v1: the one record the correlator emits and the responder consumes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/time.hpp"

namespace vtrace {

inline constexpr std::string_view kIncidentSchema = "vtrace.incident/1";

enum class Confidence { kExact, kFuzzy, kAmbiguous, kUnresolved };
std::string_view to_string(Confidence c);
std::optional<Confidence> confidence_from_string(std::string_view s);

// What was seen. Incidents written before `kind` existed are virus mail.
enum class IncidentKind {
  kVirusMail,   // an antivirus verdict traced back to its sender
  kDirectSmtp,  // an internal host's own SMTP connections, seen by a firewall
};
std::string_view to_string(IncidentKind k);
std::optional<IncidentKind> incident_kind_from_string(std::string_view s);

// A direct_smtp incident's counts over its burst, as the firewall logged them.
struct DirectSmtpCounts {
  std::int64_t connections = 0;   // attempts (a retransmitted SYN is not a new one)
  std::int64_t destinations = 0;  // distinct destination addresses
  std::int64_t blocked = 0;       // attempts the firewall blocked ...
  std::int64_t allowed = 0;       // ... or let through; the rest it did not say
  TimePoint first_seen = 0;
  TimePoint last_seen = 0;
  friend bool operator==(const DirectSmtpCounts&, const DirectSmtpCounts&) = default;
};

// How a hop was linked to the hop after it (towards the detector). The first hop's link says
// how the detection was matched to the detecting host's record.
enum class HopLink {
  kQueueId,         // same queue id as the detection / the next hop
  kNextHopQueueId,  // the relay's delivery status named the next hop's queue id
  kMessageId,       // same Message-ID header
  kOrigQueueId,     // postfix XFORWARD after a content filter (orig_queue_id=)
  kBounce,          // a bounce generated on this host for the earlier message
  kEnvelope,        // envelope from/to within the clock-skew tolerance (fuzzy)
  kDirect,          // the detection line itself named the client
};
std::string_view to_string(HopLink link);
std::optional<HopLink> hop_link_from_string(std::string_view s);

struct Hop {
  std::string host;  // configured source name
  std::string queue_id;
  TimePoint received_at = 0;
  std::string client_ip;
  std::string client_name;
  HopLink link = HopLink::kQueueId;
  friend bool operator==(const Hop&, const Hop&) = default;
};

struct Origin {
  std::string ip;
  std::string name;
  bool internal = false;
  std::string zone;  // configured network name; empty for external origins
  friend bool operator==(const Origin&, const Origin&) = default;
};

// One possible origin when envelope matching was ambiguous.
struct Candidate {
  std::string host;
  std::string queue_id;
  TimePoint received_at = 0;
  std::string origin_ip;
  std::string origin_name;
  friend bool operator==(const Candidate&, const Candidate&) = default;
};

struct Incident {
  IncidentKind kind = IncidentKind::kVirusMail;
  std::string id;
  TimePoint detected_at = 0;
  std::string detector_host;    // configured source name
  std::string detector_format;  // parser name
  std::string virus;
  std::string action;  // rejected, deleted, quarantined, discarded, bounced, detected
  std::string envelope_from;
  std::vector<std::string> envelope_to;
  std::string queue_id;
  std::string message_id;
  std::optional<std::int64_t> size;
  std::string subject;  // attacker text: carried for the mail, never interpreted
  std::vector<std::string> files;
  std::vector<Hop> hops;  // detector first, origin-side last
  std::optional<Origin> origin;
  Confidence confidence = Confidence::kUnresolved;
  std::vector<Candidate> candidates;
  std::string note;                             // why a trace is not exact (human-readable)
  std::vector<std::string> evidence;            // the antivirus log lines behind the detection
  int revision = 1;                             // grows when a later trace updates the same id
  std::optional<DirectSmtpCounts> direct_smtp;  // present exactly for kind direct_smtp
  friend bool operator==(const Incident&, const Incident&) = default;
};

// What incident JSON may hold (docs/incident.md). Sizes are bytes of UTF-8 text, counts are
// list items; the parser refuses anything beyond them, so a producer shortens before it sends.
namespace incident_limits {
// Each at least what the correlator's own caps allow (module/output/incident_bounds.hpp).
inline constexpr std::size_t kIdBytes = 128;
inline constexpr std::size_t kNameBytes = 255;     // source, format and zone names
inline constexpr std::size_t kQueueIdBytes = 256;  // queue ids of the message, hops, candidates
inline constexpr std::size_t kLabelBytes = 512;    // virus, action
inline constexpr std::size_t kTextBytes = 1024;    // addresses, message-id, host names, files
inline constexpr std::size_t kNoteBytes = 4096;
inline constexpr std::size_t kSubjectBytes = 16384;
inline constexpr std::size_t kEvidenceLineBytes = 16384;
inline constexpr std::size_t kRecipients = 64;
inline constexpr std::size_t kFiles = 64;
inline constexpr std::size_t kHops = 128;
inline constexpr std::size_t kCandidates = 64;
inline constexpr std::size_t kEvidenceLines = 16;
}  // namespace incident_limits

// An incident id: 1 to 128 letters, digits, '-', '_' or '.' (the correlator's are 16 hex
// digits). Nothing else reaches a URL, a file name or a mail header.
bool valid_incident_id(std::string_view id);

// Serialises to one line of JSON (no trailing newline).
std::string to_json(const Incident& incident);

// Why a text is not an incident: the field, as a path into the document, and what is wrong.
struct IncidentError {
  std::string field;    // "hops[1].client_ip"; empty when the text is not a JSON object at all
  std::string problem;  // "not an IP address"
  // "hops[1].client_ip: not an IP address"
  std::string message() const;
};

// Parses an incident strictly: every key of schema v1 with its JSON type and its shape (names,
// addresses, RFC 3339 times, enumerations, sizes), no unknown or repeated key, nothing
// coerced or defaulted but the documented optional keys. Returns nullopt and fills `error`
// (when given) with the first field found wrong. to_json()'s output always parses back.
std::optional<Incident> parse_incident(std::string_view text, IncidentError* error);
// The same, with the error as one line of text (IncidentError::message()).
std::optional<Incident> incident_from_json(std::string_view text, std::string* error);

// A stable 16-hex-digit id from the detection's identity (FNV-1a 64 of the parts).
std::string make_incident_id(std::string_view detector_host, std::string_view key,
                             std::string_view virus, TimePoint detected_at);

}  // namespace vtrace
