// ParsedRecord: the normalised facts one log line states about one message on one host.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "common/time.hpp"

namespace vtrace {

enum class RecordKind : std::uint8_t {
  kReceive,    // the host accepted a message from a client (postfix smtpd client=,
               // sendmail from= with relay=, exim <=, postfix pickup)
  kAttribute,  // more facts about a known message (message-id, qmgr from=, size)
  kDelivery,   // the host handed the message on (postfix to=, sendmail to=, exim =>/->)
  kBounce,     // the host generated a bounce `bounce_queue_id` for message `queue_id`
  kDetection,  // an antivirus verdict
  kDone,       // the message left the queue (postfix removed, exim Completed)
  // a firewall logged a TCP connection attempt (src_ip -> dst_ip:dst_port)
  kConnection,
};

enum class DeliveryStatus : std::uint8_t { kUnknown, kSent, kDeferred, kBounced, kRejected };

// What the host's MTA did with a whole message on a verdict (a milter's, or its own header or
// body checks): sendmail "milter=M, quarantine=...", "Milter: data, reject=..." / "discard";
// postfix "milter-hold" / "milter-reject" / "milter-discard" at end of message, "hold" /
// "discard". A reject of one recipient is not one.
enum class MtaAction : std::uint8_t { kNone, kQuarantined, kRejected, kDiscarded };
// The incident's word for it ("" for kNone).
inline std::string_view to_string(MtaAction action) {
  switch (action) {
    case MtaAction::kQuarantined:
      return "quarantined";
    case MtaAction::kRejected:
      return "rejected";
    case MtaAction::kDiscarded:
      return "discarded";
    case MtaAction::kNone:
      break;
  }
  return {};
}

// What a firewall did with a connection it logged; kUnknown when its line does not say (a
// netfilter LOG rule whose prefix names no verdict).
enum class ConnectionVerdict : std::uint8_t { kUnknown, kBlocked, kAllowed };

// Every string_view points into the LogLine the parser was given. Fields a line does not
// state stay empty. `recipients` is cleared and refilled by each parse (reused capacity).
struct ParsedRecord {
  RecordKind kind = RecordKind::kAttribute;
  std::string_view queue_id;
  std::string_view client_ip;    // the SMTP client that handed this message to this host
  std::string_view client_name;  // its (unverified) name; "unknown" is left empty
  std::string_view message_id;   // without angle brackets
  std::string_view sender;       // envelope from, without angle brackets ("" for <>)
  bool has_sender = false;       // distinguishes "<>" from "not stated"
  std::vector<std::string_view> recipients;
  std::string_view next_queue_id;  // delivery: the id the next hop gave the message
  std::string_view relay_ip;       // delivery: the next hop's address
  std::string_view relay_name;
  DeliveryStatus status = DeliveryStatus::kUnknown;
  std::string_view orig_queue_id;   // receive after a content filter: the pre-filter queue id
  std::string_view orig_client_ip;  // receive after a content filter: the original client
  std::string_view orig_client_name;
  std::string_view bounce_queue_id;  // bounce: the id of the bounce message generated
  std::string_view virus;            // detection
  std::string_view action;           // detection: rejected, deleted, quarantined, ...
  std::string_view subject;          // detection (clamav-milter Full)
  std::string_view file;             // detection (ISVW File:)
  std::int64_t size = -1;
  // The host's own scanner, or its MTA for a milter, logged this message as clean
  // (clamav-milter "Clean message", "X-Virus-Status: Clean", amavis "Passed CLEAN").
  bool clean = false;
  MtaAction mta_action = MtaAction::kNone;
  // connection: the endpoints as the firewall logged them (addresses as written, not yet
  // canonical), and its verdict.
  std::string_view src_ip;
  std::string_view dst_ip;
  std::int32_t src_port = -1;
  std::int32_t dst_port = -1;
  ConnectionVerdict verdict = ConnectionVerdict::kUnknown;

  void clear() {
    recipients.clear();
    auto keep = std::move(recipients);
    *this = ParsedRecord{};
    recipients = std::move(keep);
  }
};

}  // namespace vtrace
