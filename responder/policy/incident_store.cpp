// IncidentStore: incidents in, decisions out, all of it durable in SQLite.
//
// Every decision about an incident is taken in the same transaction that stores it, so a crash
// either loses the POST (the correlator resends it) or keeps the incident with every decision;
// never half. Action rows are keyed by (incident, policy, action index): an action that ran is
// never run again for the same incident, whatever revision or resend arrives later.
//
// Tables: incidents (the best revision of each), policy_hits (what the thresholds count),
// actions (what each policy action did to each incident).
#include "responder/policy/incident_store.hpp"

#include <boost/json.hpp>
#include <iostream>

#include "responder/policy/policy.hpp"

namespace vtrace::responder {

namespace json = boost::json;

namespace {

const char* const kSchema = R"(
CREATE TABLE IF NOT EXISTS incidents(
  id TEXT PRIMARY KEY,
  revision INTEGER NOT NULL,
  json TEXT NOT NULL,
  detected_at INTEGER NOT NULL,
  origin_ip TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  peer TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS incidents_by_origin ON incidents(origin_ip, detected_at);
CREATE INDEX IF NOT EXISTS incidents_by_detected ON incidents(detected_at);
CREATE TABLE IF NOT EXISTS policy_hits(
  policy TEXT NOT NULL,
  origin_ip TEXT NOT NULL,
  incident_id TEXT NOT NULL,
  detected_at INTEGER NOT NULL,
  PRIMARY KEY(policy, incident_id));
CREATE INDEX IF NOT EXISTS policy_hits_by_origin ON policy_hits(policy, origin_ip, detected_at);
CREATE TABLE IF NOT EXISTS actions(
  incident_id TEXT NOT NULL,
  policy TEXT NOT NULL,
  action_index INTEGER NOT NULL,
  type TEXT NOT NULL,
  status TEXT NOT NULL,
  detail TEXT NOT NULL,
  mail_id INTEGER,
  at INTEGER NOT NULL,
  PRIMARY KEY(incident_id, policy, action_index));
)";

std::string origin_ip_of(const Incident& in) { return in.origin ? in.origin->ip : std::string(); }

}  // namespace

IncidentStore::IncidentStore(EngineState& state, Outbox& outbox, ContainmentQueue& containment)
    : state_(state), outbox_(outbox), containment_(containment) {
  state_.db.exec(kSchema);
}

bool is_better_trace(const Incident& offered, const std::optional<Incident>& held) {
  if (!held) return true;  // an unreadable stored row is replaced
  const Confidence now = held->confidence;
  if (offered.confidence == Confidence::kExact) return now != Confidence::kExact;
  // An envelope trace or an ambiguity only replaces a chain that broke.
  return now == Confidence::kUnresolved && offered.confidence != Confidence::kUnresolved;
}

IngestResult IncidentStore::ingest(const Incident& incident, const std::string& peer) {
  std::lock_guard lock(state_.mutex);
  state_.counters.incidents_received++;
  IngestResult result;
  Transaction tx(state_.db);
  const TimePoint now = state_.clock.now();
  auto existing = state_.db.prepare("SELECT revision, json FROM incidents WHERE id=?");
  existing.bind(1, incident.id);
  const std::string stored = to_json(incident);
  if (existing.step()) {
    const int revision = static_cast<int>(existing.integer(0));
    const bool better = incident.revision == revision &&
                        is_better_trace(incident, incident_from_json(existing.text(1), nullptr));
    if (incident.revision < revision || (incident.revision == revision && !better)) {
      state_.counters.incidents_unchanged++;
      result.kind = IngestKind::kUnchanged;
      result.revision = revision;
      return result;  // the transaction rolls back: nothing changed
    }
    state_.db
        .prepare(
            "UPDATE incidents SET revision=?, json=?, detected_at=?, origin_ip=?, updated_at=? "
            "WHERE id=?")
        .bind(1, incident.revision)
        .bind(2, stored)
        .bind(3, incident.detected_at)
        .bind(4, origin_ip_of(incident))
        .bind(5, now)
        .bind(6, incident.id)
        .run();
    result.kind = IngestKind::kUpdated;
    state_.counters.incidents_updated++;
  } else {
    state_.db
        .prepare(
            "INSERT INTO incidents(id, revision, json, detected_at, origin_ip, received_at, "
            "updated_at, peer) VALUES(?,?,?,?,?,?,?,?)")
        .bind(1, incident.id)
        .bind(2, incident.revision)
        .bind(3, stored)
        .bind(4, incident.detected_at)
        .bind(5, origin_ip_of(incident))
        .bind(6, now)
        .bind(7, now)
        .bind(8, peer)
        .run();
    result.kind = IngestKind::kCreated;
    state_.counters.incidents_created++;
  }
  result.revision = incident.revision;
  run_policies(incident, result);
  tx.commit();
  if (result.containments_queued > 0) containment_.wake_locked();
  return result;
}

void IncidentStore::run_policies(const Incident& in, IngestResult& result) {
  const ResponderConfig& config = *state_.config;
  const std::string origin = origin_ip_of(in);
  const TimePoint now = state_.clock.now();
  for (const Policy& policy : config.policies) {
    if (!matches(policy.match, in)) continue;
    state_.db
        .prepare(
            "INSERT OR IGNORE INTO policy_hits(policy, origin_ip, incident_id, detected_at) "
            "VALUES(?,?,?,?)")
        .bind(1, policy.name)
        .bind(2, origin)
        .bind(3, in.id)
        .bind(4, in.detected_at)
        .run();
    if (policy.threshold.count > 1) {
      auto count = state_.db.prepare(
          "SELECT COUNT(*) FROM policy_hits WHERE policy=? AND origin_ip=? AND detected_at>? "
          "AND detected_at<=?");
      count.bind(1, policy.name)
          .bind(2, origin)
          .bind(3, in.detected_at - policy.threshold.within)
          .bind(4, in.detected_at);
      count.step();
      const std::int64_t n = count.integer(0);
      if (n < policy.threshold.count) {
        // Recorded (index -1) so `show` explains why nothing happened; replaced when recounted.
        state_.db
            .prepare(
                "INSERT OR REPLACE INTO actions(incident_id, policy, action_index, type, status, "
                "detail, mail_id, at) VALUES(?,?,-1,'threshold','below_threshold',?,NULL,?)")
            .bind(1, in.id)
            .bind(2, policy.name)
            .bind(3, std::to_string(n) + " of " + std::to_string(policy.threshold.count) +
                         " detections from this origin within " +
                         duration_text(policy.threshold.within))
            .bind(4, now)
            .run();
        continue;
      }
      state_.db.prepare("DELETE FROM actions WHERE incident_id=? AND policy=? AND action_index=-1")
          .bind(1, in.id)
          .bind(2, policy.name)
          .run();
    }
    for (std::size_t i = 0; i < policy.actions.size(); ++i) {
      auto done = state_.db.prepare(
          "SELECT 1 FROM actions WHERE incident_id=? AND policy=? AND action_index=?");
      done.bind(1, in.id).bind(2, policy.name).bind(3, static_cast<std::int64_t>(i));
      if (done.step()) continue;  // ran for an earlier revision: never again
      const ActionConfig& action = policy.actions[i];
      ActionRun run = run_action(policy, i, action, in);
      const bool contains =
          action.type == ActionType::kDisablePort || action.type == ActionType::kQuarantineVlan;
      if (contains && run.status == "queued") ++result.containments_queued;
      auto insert = state_.db.prepare(
          "INSERT INTO actions(incident_id, policy, action_index, type, status, detail, mail_id, "
          "at) VALUES(?,?,?,?,?,?,?,?)");
      insert.bind(1, in.id)
          .bind(2, policy.name)
          .bind(3, static_cast<std::int64_t>(i))
          .bind(4, to_string(action.type))
          .bind(5, run.status)
          .bind(6, run.detail)
          .bind(8, now);
      if (run.mail_id) {
        insert.bind(7, *run.mail_id);
      } else {
        insert.bind_null(7);
      }
      insert.run();
      ++result.actions_run;
      state_.counters.actions_run++;
    }
  }
}

ActionRun IncidentStore::run_action(const Policy& policy, std::size_t index,
                                    const ActionConfig& action, const Incident& in) {
  const ResponderConfig& config = *state_.config;
  switch (action.type) {
    case ActionType::kLog: {
      // One structured line; attacker text is JSON-encoded.
      json::object line{{"event", "incident"},
                        {"policy", policy.name},
                        {"incident", in.id},
                        {"revision", in.revision},
                        {"virus", in.virus},
                        {"origin", origin_ip_of(in)},
                        {"internal", in.origin && in.origin->internal},
                        {"confidence", to_string(in.confidence)},
                        {"dry_run", action.dry_run}};
      std::clog << "vtrace-responder: " << json::serialize(line) << '\n';
      return {action.dry_run ? "dry_run" : "logged", "logged to stderr", std::nullopt};
    }
    case ActionType::kMail:
      return outbox_.mail_with_digest(policy, index, action, action.to, in);
    case ActionType::kMailAbuse: {
      if (!in.origin) return {"skipped", "no origin: no abuse contact to ask", std::nullopt};
      if (in.origin->internal) {
        return {"skipped", "the origin is internal: abuse mail is for external origins",
                std::nullopt};
      }
      const std::string contact = abuse_contact_for(config.abuse_contacts, in.origin->ip);
      if (contact.empty()) {
        return {"skipped", "no abuse contact configured for " + in.origin->ip, std::nullopt};
      }
      return outbox_.mail_with_digest(policy, index, action, {contact}, in);
    }
    case ActionType::kDisablePort:
    case ActionType::kQuarantineVlan:
      return containment_.queue(policy, action, in);
    case ActionType::kMailSender: {
      if (in.envelope_from.empty()) {
        return {"skipped", "the envelope sender is empty (<>)", std::nullopt};
      }
      if (!is_own_address(in.envelope_from, config.own_domains)) {
        return {"skipped",
                "the sender's domain is not one of own_domains: forged outside addresses are "
                "never mailed",
                std::nullopt};
      }
      if (!is_safe_address(in.envelope_from)) {
        return {"skipped", "the sender address is not a plain mail address", std::nullopt};
      }
      std::string sender = in.envelope_from;
      for (char& c : sender) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return outbox_.mail_with_digest(policy, index, action, {sender}, in);
    }
  }
  return {"skipped", "unknown action", std::nullopt};
}

}  // namespace vtrace::responder
