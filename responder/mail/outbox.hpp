// Outbox: the durable mail queue and the digest windows. Policies (and containment's breaker
// and escape notices) queue mail here inside their own transaction; the mail worker delivers
// due rows; the daemon's tick flushes windows that ended. Owns the outbox, recipient_sends and
// windows tables.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/incident.hpp"
#include "responder/engine_state.hpp"
#include "responder/mail/mail_sender.hpp"

namespace vtrace::responder {

class Outbox {
 public:
  // Creates the tables; a mail that was being sent when the process stopped is queued again.
  explicit Outbox(EngineState& state);

  // Sends the digests of windows that ended by now; returns how many mails were queued.
  int flush_digests();
  // Delivers up to `max` due outbox mails through `sender`; returns how many were attempted.
  // The lock is not held while the MailSender talks to the server.
  int deliver_due(MailSender& sender, int max);
  // Releases a held mail for delivery; false when there is no held mail with that id.
  bool release_mail(std::int64_t mail_id, const std::string& actor, const std::string& reason);
  // The earliest time something needs doing (a due mail, a window end); nullopt when idle.
  std::optional<TimePoint> next_wakeup();

  // The rest is for the other parts; the caller holds the lock (inside its transaction).

  // A mail action: the first incident from an origin is mailed at once and opens a window for
  // (policy action, origin, recipients); later ones are counted into the window's digest.
  ActionRun mail_with_digest(const Policy& policy, std::size_t index, const ActionConfig& action,
                             const std::vector<std::string>& recipients, const Incident& incident);
  // Queues one mail (dry_run, held, rate-limited or queued); returns its outbox id. `status`,
  // when given, is what the action row records.
  std::int64_t queue_mail(const std::string& kind, const std::string& policy,
                          const std::string& incident_id, const std::vector<std::string>& to,
                          const std::string& subject, const std::string& body, bool dry_run,
                          bool hold, std::string* status);
  // True if a mail of `kind` was queued after `since`.
  bool mailed_since(const std::string& kind, TimePoint since);

 private:
  bool flush_window(const std::string& key);

  EngineState& state_;
};

}  // namespace vtrace::responder
