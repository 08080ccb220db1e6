// Engine: the responder's state (SQLite) and decisions, behind the one interface the daemon and
// the router use. It wires four parts that each own their tables and schema over one shared
// EngineState (connection, clock, configuration, counters, mutex):
//   policy/incident_store       incidents, policy_hits, actions: ingest and policy evaluation
//   mail/outbox                 outbox, recipient_sends, windows: mail queue, digests, delivery
//   containment/containment_queue  containments: the containment state machine and its audit
//   api/reports                 read-only JSON views and /metrics gauges over all of them
// The audit table (engine_state.cpp) is written by all parts.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "common/incident.hpp"
#include "responder/api/reports.hpp"
#include "responder/clock.hpp"
#include "responder/config/config.hpp"
#include "responder/containment/containment_queue.hpp"
#include "responder/engine_state.hpp"
#include "responder/mail/mail_sender.hpp"
#include "responder/mail/outbox.hpp"
#include "responder/policy/incident_store.hpp"

namespace vtrace::responder {

// Thread-safe: every public method takes the engine's mutex, except that deliver_due() does not
// hold it while the MailSender talks to the server, and process_containments() not during
// network I/O.
class Engine {
 public:
  // Opens (creating) the state database at config->state_file, or the one given.
  Engine(std::shared_ptr<const ResponderConfig> config, const Clock& clock,
         const std::string& state_file);

  // Swaps the configuration (SIGHUP). Open digest windows keep the settings they began with.
  void set_config(std::shared_ptr<const ResponderConfig> config);
  std::shared_ptr<const ResponderConfig> config() const;

  // Stores the incident and runs the policies, all in one transaction: when this returns the
  // incident and every decision about it are committed. A resend (same id, revision not higher)
  // changes nothing; a higher revision replaces the stored incident and runs only actions that
  // never ran for it. Throws SqliteError on storage failure (nothing is committed then).
  IngestResult ingest(const Incident& incident, const std::string& peer);

  // Sends the digests of windows that ended by now; returns how many mails were queued.
  int flush_digests();

  // Delivers up to `max` due outbox mails through `sender`; returns how many were attempted.
  int deliver_due(MailSender& sender, int max = 100);

  // Releases a held mail for delivery; false when there is no held mail with that id. The
  // audit row names the actor and, when given, the operator's reason.
  bool release_mail(std::int64_t mail_id, const std::string& actor, const std::string& reason = "");

  // The earliest time something needs doing (a due mail, a window end); nullopt when idle.
  std::optional<TimePoint> next_wakeup();

  // JSON documents for the API.
  std::string list_incidents_json(const std::string& origin, TimePoint since, int limit);
  std::optional<std::string> incident_json(const std::string& id);
  std::string outbox_json(const std::string& status, int limit);
  // One outbox mail with its rendered body (for review before a held mail is released).
  std::optional<std::string> mail_json(std::int64_t mail_id);

  // Gauges for /metrics: outbox rows per status, stored incidents, open windows.
  std::map<std::string, std::int64_t> gauges();

  // Appends to the audit table (reloads, releases, failures).
  void audit(const std::string& actor, const std::string& event, const std::string& detail);

  Counters& counters() { return state_.counters; }

  // ---- containment (containment/containment_queue.cpp) ----
  // The backend does the network I/O; `wake` is called after an ingest queued a containment.
  void set_containment_backend(ContainmentBackend* backend, std::function<void()> wake = {});
  // Works through queued containments (locate, guards, breaker, write, verify) and re-enables
  // expired ones. Network I/O happens without the engine lock. Returns rows handled.
  int process_containments();
  // An operator asks for a port to be re-enabled: a pending containment is cancelled at once
  // (200); a shut one becomes release_requested (202) and the containment worker writes it,
  // keeping `actor` and `reason`; a failed write is retried a minute later.
  ContainmentRelease request_release(std::int64_t id, const std::string& actor,
                                     const std::string& reason);
  std::string containments_json(const std::string& status, int limit);

  // ---- operator view (api/reports.cpp) ----
  // Per origin IP seen since `since`: first/last seen, detections, viruses, mails sent about
  // it, and its latest containment.
  std::string origins_json(TimePoint since);
  // The original system's report: detections per virus for internal origins, internal vs
  // external counts, time from first detection to verified containment per origin, and the
  // outbreak timeline: detections per hour by origin class (internal, external, ambiguous,
  // unresolved), at most a month of non-empty hours.
  std::string stats_json(TimePoint since);

 private:
  EngineState state_;
  Outbox outbox_{state_};
  ContainmentQueue containment_{state_, outbox_};
  IncidentStore incidents_{state_, outbox_, containment_};
  Reports reports_{state_};
};

}  // namespace vtrace::responder
