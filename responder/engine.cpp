// Engine: incidents in, decisions and mails out, all of it durable in SQLite.
//
// Every decision about an incident is taken in the same transaction that stores it, so a crash
// either loses the POST (the correlator resends it) or keeps the incident with every decision;
// never half. Action rows are keyed by (incident, policy, action index): an action that ran is
// never run again for the same incident, whatever revision or resend arrives later.
#include "responder/engine.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <iostream>

#include "responder/mail/mail_message.hpp"
#include "responder/mail/templates.hpp"
#include "responder/policy/policy.hpp"

namespace vtrace::responder {

namespace json = boost::json;

namespace {

constexpr std::size_t kDigestIdsKept = 50;

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
CREATE TABLE IF NOT EXISTS outbox(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL,
  policy TEXT NOT NULL,
  incident_id TEXT NOT NULL,
  recipients TEXT NOT NULL,
  subject TEXT NOT NULL,
  body TEXT NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt INTEGER NOT NULL,
  last_error TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  sent_at INTEGER);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox(status, next_attempt);
CREATE TABLE IF NOT EXISTS recipient_sends(recipient TEXT NOT NULL, at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS recipient_sends_by_recipient ON recipient_sends(recipient, at);
CREATE TABLE IF NOT EXISTS windows(
  key TEXT PRIMARY KEY,
  policy TEXT NOT NULL,
  action_index INTEGER NOT NULL,
  kind TEXT NOT NULL,
  origin_ip TEXT NOT NULL,
  origin_name TEXT NOT NULL,
  zone TEXT NOT NULL,
  internal INTEGER NOT NULL,
  recipients TEXT NOT NULL,
  digest_template TEXT NOT NULL,
  digest_window INTEGER NOT NULL,
  dry_run INTEGER NOT NULL,
  hold INTEGER NOT NULL,
  window_start INTEGER NOT NULL,
  window_end INTEGER NOT NULL,
  count INTEGER NOT NULL,
  first_at INTEGER NOT NULL,
  last_at INTEGER NOT NULL,
  viruses TEXT NOT NULL,
  incidents TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS windows_by_end ON windows(window_end);
CREATE TABLE IF NOT EXISTS containments(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  incident_id TEXT NOT NULL,
  policy TEXT NOT NULL,
  origin_ip TEXT NOT NULL,
  status TEXT NOT NULL,
  dry_run INTEGER NOT NULL,
  duration INTEGER NOT NULL,
  device TEXT NOT NULL DEFAULT '',
  port TEXT NOT NULL DEFAULT '',
  if_index INTEGER NOT NULL DEFAULT 0,
  mac TEXT NOT NULL DEFAULT '',
  detail TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  acted_at INTEGER,
  downed_at INTEGER,
  expires_at INTEGER,
  released_at INTEGER,
  released_by TEXT NOT NULL DEFAULT '',
  release_reason TEXT NOT NULL DEFAULT '',
  follows INTEGER);
CREATE INDEX IF NOT EXISTS containments_by_status ON containments(status, expires_at);
CREATE INDEX IF NOT EXISTS containments_by_origin ON containments(origin_ip, status);
)";

std::string join(const std::vector<std::string>& items, const char* sep = ", ") {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : sep) + i;
  return out;
}

std::string origin_ip_of(const Incident& in) { return in.origin ? in.origin->ip : std::string(); }

}  // namespace

Engine::Engine(std::shared_ptr<const ResponderConfig> config, const Clock& clock,
               const std::string& state_file)
    : state_(std::move(config), clock, state_file) {
  create_schema();
  migrate_containments();
  recover_containments();
  // A mail that was being sent when the process stopped is sent again: at least once.
  db_.exec("UPDATE outbox SET status='queued' WHERE status='sending'");
}

void Engine::create_schema() { db_.exec(kSchema); }

void Engine::set_config(std::shared_ptr<const ResponderConfig> config) {
  std::lock_guard lock(mutex_);
  config_ = std::move(config);
}

std::shared_ptr<const ResponderConfig> Engine::config() const {
  std::lock_guard lock(mutex_);
  return config_;
}

void Engine::audit(const std::string& actor, const std::string& event, const std::string& detail) {
  std::lock_guard lock(mutex_);
  state_.audit_locked(actor, event, detail);
}

bool is_better_trace(const Incident& offered, const std::optional<Incident>& held) {
  if (!held) return true;  // an unreadable stored row is replaced
  const Confidence now = held->confidence;
  if (offered.confidence == Confidence::kExact) return now != Confidence::kExact;
  // An envelope trace or an ambiguity only replaces a chain that broke.
  return now == Confidence::kUnresolved && offered.confidence != Confidence::kUnresolved;
}

IngestResult Engine::ingest(const Incident& incident, const std::string& peer) {
  std::lock_guard lock(mutex_);
  counters_.incidents_received++;
  IngestResult result;
  Transaction tx(db_);
  const TimePoint now = clock_.now();
  auto existing = db_.prepare("SELECT revision, json FROM incidents WHERE id=?");
  existing.bind(1, incident.id);
  const std::string stored = to_json(incident);
  if (existing.step()) {
    const int revision = static_cast<int>(existing.integer(0));
    const bool better = incident.revision == revision &&
                        is_better_trace(incident, incident_from_json(existing.text(1), nullptr));
    if (incident.revision < revision || (incident.revision == revision && !better)) {
      counters_.incidents_unchanged++;
      result.kind = IngestKind::kUnchanged;
      result.revision = revision;
      return result;  // the transaction rolls back: nothing changed
    }
    db_.prepare(
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
    counters_.incidents_updated++;
  } else {
    db_.prepare(
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
    counters_.incidents_created++;
  }
  result.revision = incident.revision;
  pending_wakes_ = 0;
  run_policies(incident, result);
  tx.commit();
  result.containments_queued = pending_wakes_;
  if (pending_wakes_ > 0 && wake_) wake_();
  return result;
}

void Engine::run_policies(const Incident& in, IngestResult& result) {
  const ResponderConfig& config = *config_;
  const std::string origin = origin_ip_of(in);
  const TimePoint now = clock_.now();
  for (const Policy& policy : config.policies) {
    if (!matches(policy.match, in)) continue;
    db_.prepare(
           "INSERT OR IGNORE INTO policy_hits(policy, origin_ip, incident_id, detected_at) "
           "VALUES(?,?,?,?)")
        .bind(1, policy.name)
        .bind(2, origin)
        .bind(3, in.id)
        .bind(4, in.detected_at)
        .run();
    if (policy.threshold.count > 1) {
      auto count = db_.prepare(
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
        db_.prepare(
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
      db_.prepare("DELETE FROM actions WHERE incident_id=? AND policy=? AND action_index=-1")
          .bind(1, in.id)
          .bind(2, policy.name)
          .run();
    }
    for (std::size_t i = 0; i < policy.actions.size(); ++i) {
      auto done =
          db_.prepare("SELECT 1 FROM actions WHERE incident_id=? AND policy=? AND action_index=?");
      done.bind(1, in.id).bind(2, policy.name).bind(3, static_cast<std::int64_t>(i));
      if (done.step()) continue;  // ran for an earlier revision: never again
      const ActionConfig& action = policy.actions[i];
      ActionRun run = run_action(policy, i, action, in);
      auto insert = db_.prepare(
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
      counters_.actions_run++;
    }
  }
}

ActionRun Engine::run_action(const Policy& policy, std::size_t index, const ActionConfig& action,
                             const Incident& in) {
  const ResponderConfig& config = *config_;
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
      return mail_with_digest(policy, index, action, action.to, in);
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
      return mail_with_digest(policy, index, action, {contact}, in);
    }
    case ActionType::kDisablePort:
    case ActionType::kQuarantineVlan:
      return queue_containment(policy, action, in);
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
      return mail_with_digest(policy, index, action, {sender}, in);
    }
  }
  return {"skipped", "unknown action", std::nullopt};
}

ActionRun Engine::mail_with_digest(const Policy& policy, std::size_t index,
                                   const ActionConfig& action,
                                   const std::vector<std::string>& recipients, const Incident& in) {
  const ResponderConfig& config = *config_;
  const TimePoint now = clock_.now();
  const std::string origin = origin_ip_of(in);
  // One aggregation window per policy action, origin and recipient set.
  const std::string key = policy.name + '\x1f' + std::to_string(index) + '\x1f' + origin + '\x1f' +
                          join(recipients, ",");
  for (int pass = 0; pass < 2; ++pass) {
    auto window = db_.prepare(
        "SELECT window_end, count, first_at, last_at, viruses, incidents FROM windows WHERE "
        "key=?");
    window.bind(1, key);
    if (!window.step()) break;
    const TimePoint end = window.integer(0);
    if (now >= end) {
      // The window ended but its flush has not run yet: flush it now, then look again.
      window.reset();
      flush_window(key);
      continue;
    }
    std::int64_t count = window.integer(1) + 1;
    TimePoint first =
        window.integer(1) == 0 ? in.detected_at : std::min(window.integer(2), in.detected_at);
    TimePoint last = std::max(window.integer(3), in.detected_at);
    boost::system::error_code ec;
    json::value viruses = json::parse(window.text(4), ec);
    if (ec || !viruses.is_object()) viruses = json::object();
    auto& slot =
        viruses.as_object()[in.kind == IncidentKind::kDirectSmtp ? "(direct SMTP)" : in.virus];
    slot = (slot.is_int64() ? slot.as_int64() : 0) + 1;
    std::vector<std::string> ids = from_json_array(window.text(5));
    if (ids.size() < kDigestIdsKept) ids.push_back(in.id);
    db_.prepare(
           "UPDATE windows SET count=?, first_at=?, last_at=?, viruses=?, incidents=?, "
           "origin_name=? WHERE key=?")
        .bind(1, count)
        .bind(2, first)
        .bind(3, last)
        .bind(4, json::serialize(viruses))
        .bind(5, to_json_array(ids))
        .bind(6, in.origin ? in.origin->name : std::string())
        .bind(7, key)
        .run();
    counters_.mails_digested++;
    return {"digested",
            "collected into the digest for " + join(recipients) + " due at " + format_rfc3339(end),
            std::nullopt};
  }

  // First incident for this origin in a window: mail at once, then open the window.
  std::string problem;
  // What a firewall saw is not a virus mail: the default template has its own for it.
  const std::string& template_name =
      in.kind == IncidentKind::kDirectSmtp && action.template_name == "incident"
          ? kDirectSmtpTemplate
          : action.template_name;
  auto tmpl = find_template(config.mail.templates_dir, template_name, &problem);
  if (!tmpl) return {"failed", problem, std::nullopt};
  RenderedMail mail = render_incident(*tmpl, in, policy.name);
  std::string status;
  const std::int64_t mail_id =
      queue_mail(std::string(to_string(action.type)), policy.name, in.id, recipients, mail.subject,
                 mail.body, action.dry_run, action.hold, &status);
  db_.prepare(
         "INSERT OR REPLACE INTO windows(key, policy, action_index, kind, origin_ip, origin_name, "
         "zone, internal, recipients, digest_template, digest_window, dry_run, hold, "
         "window_start, window_end, count, first_at, last_at, viruses, incidents) "
         "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,0,0,0,'{}','[]')")
      .bind(1, key)
      .bind(2, policy.name)
      .bind(3, static_cast<std::int64_t>(index))
      .bind(4, to_string(action.type))
      .bind(5, origin)
      .bind(6, in.origin ? in.origin->name : std::string())
      .bind(7, in.origin ? in.origin->zone : std::string())
      .bind(8, in.origin && in.origin->internal ? 1 : 0)
      .bind(9, to_json_array(recipients))
      .bind(10, action.digest_template)
      .bind(11, action.digest_window)
      .bind(12, action.dry_run ? 1 : 0)
      .bind(13, action.hold ? 1 : 0)
      .bind(14, now)
      .bind(15, now + action.digest_window)
      .run();
  return {status, "mail " + std::to_string(mail_id) + " to " + join(recipients), mail_id};
}

std::int64_t Engine::queue_mail(const std::string& kind, const std::string& policy,
                                const std::string& incident_id, const std::vector<std::string>& to,
                                const std::string& subject, const std::string& body, bool dry_run,
                                bool hold, std::string* status) {
  const ResponderConfig& config = *config_;
  const TimePoint now = clock_.now();
  std::string outbox_status = "queued";
  std::string note;
  if (dry_run) {
    outbox_status = "dry_run";
  } else if (hold) {
    outbox_status = "held";
    note = "held for manual release";
  } else {
    auto queued = db_.prepare("SELECT COUNT(*) FROM outbox WHERE status IN ('queued','sending')");
    queued.step();
    if (queued.integer(0) >= config.mail.max_outbox) {
      outbox_status = "failed";
      note = "outbox full (mail.max_outbox " + std::to_string(config.mail.max_outbox) + ")";
    }
    for (const auto& r : to) {
      if (outbox_status != "queued") break;
      auto sent = db_.prepare("SELECT COUNT(*) FROM recipient_sends WHERE recipient=? AND at>?");
      sent.bind(1, r).bind(2, now - kHour);
      sent.step();
      if (sent.integer(0) >= config.mail.per_recipient_per_hour) {
        outbox_status = "held";
        note = "rate limit: " + std::to_string(sent.integer(0)) + " mails to " + r +
               " in the last hour (mail.per_recipient_per_hour); held for manual release";
      }
    }
  }
  if (outbox_status == "queued") {
    db_.prepare("DELETE FROM recipient_sends WHERE at<=?").bind(1, now - kHour).run();
    for (const auto& r : to) {
      db_.prepare("INSERT INTO recipient_sends(recipient, at) VALUES(?,?)")
          .bind(1, r)
          .bind(2, now)
          .run();
    }
    counters_.mails_queued++;
  }
  db_.prepare(
         "INSERT INTO outbox(kind, policy, incident_id, recipients, subject, body, status, "
         "attempts, next_attempt, last_error, created_at) VALUES(?,?,?,?,?,?,?,0,?,?,?)")
      .bind(1, kind)
      .bind(2, policy)
      .bind(3, incident_id)
      .bind(4, to_json_array(to))
      .bind(5, subject)
      .bind(6, body)
      .bind(7, outbox_status)
      .bind(8, now)
      .bind(9, note)
      .bind(10, now)
      .run();
  const std::int64_t id = db_.last_insert_rowid();
  if (status) {
    *status = outbox_status == "held" && !note.empty() && note.rfind("rate limit", 0) == 0
                  ? "rate_limited"
                  : outbox_status;
  }
  return id;
}

bool Engine::flush_window(const std::string& key) {
  const TimePoint now = clock_.now();
  auto w = db_.prepare(
      "SELECT policy, kind, origin_ip, origin_name, zone, internal, recipients, digest_template, "
      "digest_window, dry_run, hold, window_start, window_end, count, first_at, last_at, "
      "viruses, incidents FROM windows WHERE key=?");
  w.bind(1, key);
  if (!w.step()) return false;
  const std::int64_t count = w.integer(13);
  if (count == 0) {
    // A quiet window closes: the next detection from this origin is mailed at once again.
    db_.prepare("DELETE FROM windows WHERE key=?").bind(1, key).run();
    return false;
  }
  DigestInfo digest;
  const std::string policy = w.text(0);
  const std::string kind = w.text(1);
  digest.origin_ip = w.text(2);
  digest.origin_name = w.text(3);
  digest.zone = w.text(4);
  digest.internal = w.integer(5) != 0;
  const std::vector<std::string> recipients = from_json_array(w.text(6));
  const std::string template_name = w.text(7);
  const Duration length = w.integer(8);
  const bool dry_run = w.integer(9) != 0;
  const bool hold = w.integer(10) != 0;
  digest.window_start = w.integer(11);
  digest.window_end = w.integer(12);
  digest.count = count;
  digest.first_at = w.integer(14);
  digest.last_at = w.integer(15);
  boost::system::error_code ec;
  json::value viruses = json::parse(w.text(16), ec);
  if (!ec && viruses.is_object()) {
    for (const auto& [name, n] : viruses.get_object()) {
      digest.viruses[std::string(name)] = n.is_int64() ? n.get_int64() : 0;
    }
  }
  digest.incident_ids = from_json_array(w.text(17));
  const std::string first_id = digest.incident_ids.empty() ? "" : digest.incident_ids.front();
  w.reset();

  // The template was valid when the window opened; a reload may have removed it since.
  auto tmpl = find_template(config_->mail.templates_dir, template_name, nullptr);
  if (!tmpl) tmpl = find_template("", "digest", nullptr);
  RenderedMail mail = render_digest(*tmpl, digest, policy);
  queue_mail(kind + "_digest", policy, first_id, recipients, mail.subject, mail.body, dry_run, hold,
             nullptr);
  counters_.digests_flushed++;
  // Activity went on, so the next window starts where this one ended: a burst that lasts
  // longer than one window yields one digest per window, never a fresh "first" mail.
  TimePoint next_end = digest.window_end + length;
  if (next_end <= now) next_end = now + length;
  db_.prepare(
         "UPDATE windows SET window_start=?, window_end=?, count=0, first_at=0, last_at=0, "
         "viruses='{}', incidents='[]' WHERE key=?")
      .bind(1, digest.window_end)
      .bind(2, next_end)
      .bind(3, key)
      .run();
  return true;
}

int Engine::flush_digests() {
  std::lock_guard lock(mutex_);
  std::vector<std::string> keys;
  {
    auto due = db_.prepare("SELECT key FROM windows WHERE window_end<=?");
    due.bind(1, clock_.now());
    while (due.step()) keys.push_back(due.text(0));
  }
  if (keys.empty()) return 0;  // the common case, once a second: no write, no fsync
  Transaction tx(db_);
  int mails = 0;
  for (const auto& key : keys) mails += flush_window(key) ? 1 : 0;
  tx.commit();
  return mails;
}

int Engine::deliver_due(MailSender& sender, int max) {
  int attempted = 0;
  while (attempted < max) {
    std::int64_t id = 0;
    std::vector<std::string> to;
    std::string message;
    std::string from;
    int attempts = 0;
    SmtpConfig smtp;
    {
      std::lock_guard lock(mutex_);
      smtp = config_->smtp;
      auto next = db_.prepare(
          "SELECT id, recipients, subject, body, attempts, created_at, incident_id FROM outbox "
          "WHERE status='queued' AND next_attempt<=? ORDER BY next_attempt, id LIMIT 1");
      next.bind(1, clock_.now());
      if (!next.step()) break;
      id = next.integer(0);
      to = from_json_array(next.text(1));
      attempts = static_cast<int>(next.integer(4));
      OutgoingMail mail;
      mail.from = smtp.from;
      mail.to = to;
      mail.subject = next.text(2);
      mail.body = next.text(3);
      mail.date = next.integer(5);
      mail.incident_id = next.text(6);
      // Stable per outbox row: a resend after a crash carries the same Message-ID.
      mail.message_id = "vtrace." + std::to_string(id) + "." +
                        std::to_string(mail.date / kMicrosPerSecond) + "@" + smtp.helo;
      message = build_message(mail);
      from = smtp.from;
      next.reset();
      db_.prepare("UPDATE outbox SET status='sending' WHERE id=?").bind(1, id).run();
    }
    ++attempted;
    SendResult result = sender.send(from, to, message);
    std::lock_guard lock(mutex_);
    const TimePoint now = clock_.now();
    ++attempts;
    if (result.status == SendStatus::kSent) {
      db_.prepare("UPDATE outbox SET status='sent', attempts=?, sent_at=?, last_error=? WHERE id=?")
          .bind(1, attempts)
          .bind(2, now)
          .bind(3, result.detail)
          .bind(4, id)
          .run();
      counters_.mails_sent++;
    } else if (result.status == SendStatus::kRetry && attempts < smtp.max_attempts) {
      Duration delay = smtp.retry_initial;
      for (int i = 1; i < attempts && delay < smtp.retry_max; ++i) delay *= 2;
      delay = std::min(delay, smtp.retry_max);
      db_.prepare(
             "UPDATE outbox SET status='queued', attempts=?, next_attempt=?, last_error=? "
             "WHERE id=?")
          .bind(1, attempts)
          .bind(2, now + delay)
          .bind(3, result.detail)
          .bind(4, id)
          .run();
      counters_.mails_retried++;
    } else {
      std::string why = result.detail;
      if (result.status == SendStatus::kRetry) {
        why = "gave up after " + std::to_string(attempts) + " attempts: " + why;
      }
      db_.prepare("UPDATE outbox SET status='failed', attempts=?, last_error=? WHERE id=?")
          .bind(1, attempts)
          .bind(2, why)
          .bind(3, id)
          .run();
      state_.audit_locked("mailer", "mail.failed", "mail " + std::to_string(id) + ": " + why);
      counters_.mails_failed++;
    }
  }
  return attempted;
}

bool Engine::release_mail(std::int64_t mail_id, const std::string& actor,
                          const std::string& reason) {
  std::lock_guard lock(mutex_);
  Transaction tx(db_);
  db_.prepare(
         "UPDATE outbox SET status='queued', next_attempt=?, last_error='' WHERE id=? AND "
         "status='held'")
      .bind(1, clock_.now())
      .bind(2, mail_id)
      .run();
  if (db_.changes() == 0) return false;
  state_.audit_locked(actor, "mail.released",
                      "mail " + std::to_string(mail_id) + (reason.empty() ? "" : ": " + reason));
  tx.commit();
  counters_.mails_queued++;
  return true;
}

std::optional<TimePoint> Engine::next_wakeup() {
  std::lock_guard lock(mutex_);
  std::optional<TimePoint> out;
  auto mail = db_.prepare("SELECT MIN(next_attempt) FROM outbox WHERE status='queued'");
  if (mail.step() && !mail.is_null(0)) out = mail.integer(0);
  auto window = db_.prepare("SELECT MIN(window_end) FROM windows");
  if (window.step() && !window.is_null(0)) {
    out = out ? std::min(*out, window.integer(0)) : window.integer(0);
  }
  return out;
}

std::string Engine::list_incidents_json(const std::string& origin, TimePoint since, int limit) {
  return reports_.list_incidents_json(origin, since, limit);
}

std::optional<std::string> Engine::incident_json(const std::string& id) {
  return reports_.incident_json(id);
}

std::string Engine::outbox_json(const std::string& status, int limit) {
  return reports_.outbox_json(status, limit);
}

std::optional<std::string> Engine::mail_json(std::int64_t mail_id) {
  return reports_.mail_json(mail_id);
}

std::string Engine::containments_json(const std::string& status, int limit) {
  return reports_.containments_json(status, limit);
}

std::map<std::string, std::int64_t> Engine::gauges() { return reports_.gauges(); }

std::string Engine::origins_json(TimePoint since) { return reports_.origins_json(since); }

std::string Engine::stats_json(TimePoint since) { return reports_.stats_json(since); }

}  // namespace vtrace::responder
