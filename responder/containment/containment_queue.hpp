// ContainmentQueue: the containment state machine. Policies queue a containment (a row in
// `containments`) inside the ingest transaction; the containment worker calls process() to
// locate the port, apply the guards and the circuit breaker, write and verify, re-enable
// expired ports and carry out operators' releases. Network I/O never runs under the engine
// lock. Every step is an audit record; a restart resumes from the rows. Owns the containments
// table and its migrations.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "common/incident.hpp"
#include "responder/containment/containment.hpp"
#include "responder/engine_state.hpp"
#include "responder/mail/outbox.hpp"

namespace vtrace::responder {

struct ContainmentRelease {
  int status = 200;  // HTTP-like: 200 cancelled, 202 requested, 404 unknown, 409 not releasable
  std::string message;
};

class ContainmentQueue {
 public:
  // Creates the table (adding the columns later versions use to an older state file) and
  // resumes what a stopped process left in flight. Breaker and escape notices go to `outbox`.
  ContainmentQueue(EngineState& state, Outbox& outbox);

  // The backend does the network I/O; `wake` is called after an ingest queued a containment.
  void set_backend(ContainmentBackend* backend, std::function<void()> wake);
  // Works through queued containments (locate, guards, breaker, write, verify) and re-enables
  // expired ones. Network I/O happens without the engine lock. Returns rows handled.
  int process();
  // An operator asks for a port to be re-enabled: a pending containment is cancelled at once
  // (200); a shut one becomes release_requested (202) and the containment worker writes it,
  // keeping `actor` and `reason`; a failed write is retried a minute later.
  ContainmentRelease request_release(std::int64_t id, const std::string& actor,
                                     const std::string& reason);

  // For the policies; the caller holds the lock (inside the ingest transaction).

  // A disable_port or quarantine_vlan action: refused (with the reason) or queued ("queued").
  ActionRun queue(const Policy& policy, const ActionConfig& action, const Incident& incident);
  // Tells the worker that containments were queued.
  void wake_locked();

 private:
  // Adds the columns later versions use to a state file an older version created.
  void migrate();
  void recover();
  // A follow-up located its origin's MAC away from the port `first` shut: `first` is marked
  // escaped, audited and mailed to containment.escaped_notify (breaker.notify when unset).
  void mark_escaped(std::int64_t first, std::int64_t follow_up, const std::string& ip,
                    const Location& now_at, const std::string& policy, const std::string& incident);
  // When idle: re-walk the tables table_refresh asks for (no network I/O under the lock).
  void refresh_tables();
  bool contain_one();
  bool release_one_expired();
  bool release_one_requested();
  // Under the lock: takes the containment `row` (kReleaseColumns first) describes, builds the
  // port write that undoes it and marks it releasing, so no other pass picks it up.
  void claim_release(Statement& row, std::int64_t& id, std::string& device, PortRequest& request);
  // Under the lock: a release that did not verify is retried in kReleaseRetry and audited.
  void record_release_failure(std::int64_t id, const std::string& actor, const std::string& detail,
                              TimePoint now);
  // Drops the locator's cached location of `ip` (a containment that ends).
  void forget_location(const std::string& ip);
  // Writes through the back end; `request.device` is filled in from the current configuration.
  PortWrite write_port(PortRequest request, const std::string& device);
  void audit_containment(const std::string& actor, const std::string& event, std::int64_t id,
                         const std::string& result, const std::string& detail);

  EngineState& state_;
  Outbox& outbox_;
  ContainmentBackend* backend_ = nullptr;  // guarded
  std::function<void()> wake_;             // guarded
};

}  // namespace vtrace::responder
