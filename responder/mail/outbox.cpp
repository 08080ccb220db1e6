// The mail outbox and the digests. A mail action either mails at once and opens an
// aggregation window, or counts the incident into the open window; a window that ends becomes
// one digest mail. Every mail is an outbox row first (in the ingest transaction), and the mail
// worker delivers due rows with retries and backoff: at least once, never lost.
//
// Tables: outbox (every mail and its delivery state), recipient_sends (the per-recipient hourly
// rate limit), windows (open digest windows).
#include "responder/mail/outbox.hpp"

#include <algorithm>
#include <boost/json.hpp>

#include "responder/mail/mail_message.hpp"
#include "responder/mail/templates.hpp"

namespace vtrace::responder {

namespace json = boost::json;

namespace {

constexpr std::size_t kDigestIdsKept = 50;

const char* const kSchema = R"(
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
)";

std::string join(const std::vector<std::string>& items, const char* sep = ", ") {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : sep) + i;
  return out;
}

}  // namespace

Outbox::Outbox(EngineState& state) : state_(state) {
  state_.db.exec(kSchema);
  // A mail that was being sent when the process stopped is sent again: at least once.
  state_.db.exec("UPDATE outbox SET status='queued' WHERE status='sending'");
}

bool Outbox::mailed_since(const std::string& kind, TimePoint since) {
  auto mailed = state_.db.prepare("SELECT COUNT(*) FROM outbox WHERE kind=? AND created_at>?");
  mailed.bind(1, kind).bind(2, since);
  mailed.step();
  return mailed.integer(0) > 0;
}

ActionRun Outbox::mail_with_digest(const Policy& policy, std::size_t index,
                                   const ActionConfig& action,
                                   const std::vector<std::string>& recipients, const Incident& in) {
  const ResponderConfig& config = *state_.config;
  const TimePoint now = state_.clock.now();
  const std::string origin = in.origin ? in.origin->ip : std::string();
  // One aggregation window per policy action, origin and recipient set.
  const std::string key = policy.name + '\x1f' + std::to_string(index) + '\x1f' + origin + '\x1f' +
                          join(recipients, ",");
  for (int pass = 0; pass < 2; ++pass) {
    auto window = state_.db.prepare(
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
        viruses.as_object()[in.kind == IncidentKind::kDirectSmtp ? std::string(kDirectSmtpDigestKey)
                                                                 : in.virus];
    slot = (slot.is_int64() ? slot.as_int64() : 0) + 1;
    std::vector<std::string> ids = from_json_array(window.text(5));
    if (ids.size() < kDigestIdsKept) ids.push_back(in.id);
    state_.db
        .prepare(
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
    state_.counters.mails_digested++;
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
  state_.db
      .prepare(
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

std::int64_t Outbox::queue_mail(const std::string& kind, const std::string& policy,
                                const std::string& incident_id, const std::vector<std::string>& to,
                                const std::string& subject, const std::string& body, bool dry_run,
                                bool hold, std::string* status) {
  const ResponderConfig& config = *state_.config;
  const TimePoint now = state_.clock.now();
  std::string outbox_status = "queued";
  std::string note;
  if (dry_run) {
    outbox_status = "dry_run";
  } else if (hold) {
    outbox_status = "held";
    note = "held for manual release";
  } else {
    auto queued =
        state_.db.prepare("SELECT COUNT(*) FROM outbox WHERE status IN ('queued','sending')");
    queued.step();
    if (queued.integer(0) >= config.mail.max_outbox) {
      outbox_status = "failed";
      note = "outbox full (mail.max_outbox " + std::to_string(config.mail.max_outbox) + ")";
    }
    for (const auto& r : to) {
      if (outbox_status != "queued") break;
      auto sent =
          state_.db.prepare("SELECT COUNT(*) FROM recipient_sends WHERE recipient=? AND at>?");
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
    state_.db.prepare("DELETE FROM recipient_sends WHERE at<=?").bind(1, now - kHour).run();
    for (const auto& r : to) {
      state_.db.prepare("INSERT INTO recipient_sends(recipient, at) VALUES(?,?)")
          .bind(1, r)
          .bind(2, now)
          .run();
    }
    state_.counters.mails_queued++;
  }
  state_.db
      .prepare(
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
  const std::int64_t id = state_.db.last_insert_rowid();
  if (status) {
    *status = outbox_status == "held" && !note.empty() && note.rfind("rate limit", 0) == 0
                  ? "rate_limited"
                  : outbox_status;
  }
  return id;
}

bool Outbox::flush_window(const std::string& key) {
  const TimePoint now = state_.clock.now();
  auto w = state_.db.prepare(
      "SELECT policy, kind, origin_ip, origin_name, zone, internal, recipients, digest_template, "
      "digest_window, dry_run, hold, window_start, window_end, count, first_at, last_at, "
      "viruses, incidents FROM windows WHERE key=?");
  w.bind(1, key);
  if (!w.step()) return false;
  const std::int64_t count = w.integer(13);
  if (count == 0) {
    // A quiet window closes: the next detection from this origin is mailed at once again.
    state_.db.prepare("DELETE FROM windows WHERE key=?").bind(1, key).run();
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
  auto tmpl = find_template(state_.config->mail.templates_dir, template_name, nullptr);
  if (!tmpl) tmpl = find_template("", "digest", nullptr);
  RenderedMail mail = render_digest(*tmpl, digest, policy);
  queue_mail(kind + "_digest", policy, first_id, recipients, mail.subject, mail.body, dry_run, hold,
             nullptr);
  state_.counters.digests_flushed++;
  // Activity went on, so the next window starts where this one ended: a burst that lasts
  // longer than one window yields one digest per window, never a fresh "first" mail.
  TimePoint next_end = digest.window_end + length;
  if (next_end <= now) next_end = now + length;
  state_.db
      .prepare(
          "UPDATE windows SET window_start=?, window_end=?, count=0, first_at=0, last_at=0, "
          "viruses='{}', incidents='[]' WHERE key=?")
      .bind(1, digest.window_end)
      .bind(2, next_end)
      .bind(3, key)
      .run();
  return true;
}

int Outbox::flush_digests() {
  std::lock_guard lock(state_.mutex);
  std::vector<std::string> keys;
  {
    auto due = state_.db.prepare("SELECT key FROM windows WHERE window_end<=?");
    due.bind(1, state_.clock.now());
    while (due.step()) keys.push_back(due.text(0));
  }
  if (keys.empty()) return 0;  // the common case, once a second: no write, no fsync
  Transaction tx(state_.db);
  int mails = 0;
  for (const auto& key : keys) mails += flush_window(key) ? 1 : 0;
  tx.commit();
  return mails;
}

int Outbox::deliver_due(MailSender& sender, int max) {
  int attempted = 0;
  while (attempted < max) {
    std::int64_t id = 0;
    std::vector<std::string> to;
    std::string message;
    std::string from;
    int attempts = 0;
    SmtpConfig smtp;
    {
      std::lock_guard lock(state_.mutex);
      smtp = state_.config->smtp;
      auto next = state_.db.prepare(
          "SELECT id, recipients, subject, body, attempts, created_at, incident_id FROM outbox "
          "WHERE status='queued' AND next_attempt<=? ORDER BY next_attempt, id LIMIT 1");
      next.bind(1, state_.clock.now());
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
      state_.db.prepare("UPDATE outbox SET status='sending' WHERE id=?").bind(1, id).run();
    }
    ++attempted;
    SendResult result = sender.send(from, to, message);
    std::lock_guard lock(state_.mutex);
    const TimePoint now = state_.clock.now();
    ++attempts;
    if (result.status == SendStatus::kSent) {
      state_.db
          .prepare(
              "UPDATE outbox SET status='sent', attempts=?, sent_at=?, last_error=? WHERE id=?")
          .bind(1, attempts)
          .bind(2, now)
          .bind(3, result.detail)
          .bind(4, id)
          .run();
      state_.counters.mails_sent++;
    } else if (result.status == SendStatus::kRetry && attempts < smtp.max_attempts) {
      Duration delay = smtp.retry_initial;
      for (int i = 1; i < attempts && delay < smtp.retry_max; ++i) delay *= 2;
      delay = std::min(delay, smtp.retry_max);
      state_.db
          .prepare(
              "UPDATE outbox SET status='queued', attempts=?, next_attempt=?, last_error=? "
              "WHERE id=?")
          .bind(1, attempts)
          .bind(2, now + delay)
          .bind(3, result.detail)
          .bind(4, id)
          .run();
      state_.counters.mails_retried++;
    } else {
      std::string why = result.detail;
      if (result.status == SendStatus::kRetry) {
        why = "gave up after " + std::to_string(attempts) + " attempts: " + why;
      }
      state_.db.prepare("UPDATE outbox SET status='failed', attempts=?, last_error=? WHERE id=?")
          .bind(1, attempts)
          .bind(2, why)
          .bind(3, id)
          .run();
      state_.audit_locked("mailer", "mail.failed", "mail " + std::to_string(id) + ": " + why);
      state_.counters.mails_failed++;
    }
  }
  return attempted;
}

bool Outbox::release_mail(std::int64_t mail_id, const std::string& actor,
                          const std::string& reason) {
  std::lock_guard lock(state_.mutex);
  Transaction tx(state_.db);
  state_.db
      .prepare(
          "UPDATE outbox SET status='queued', next_attempt=?, last_error='' WHERE id=? AND "
          "status='held'")
      .bind(1, state_.clock.now())
      .bind(2, mail_id)
      .run();
  if (state_.db.changes() == 0) return false;
  state_.audit_locked(actor, "mail.released",
                      "mail " + std::to_string(mail_id) + (reason.empty() ? "" : ": " + reason));
  tx.commit();
  state_.counters.mails_queued++;
  return true;
}

std::optional<TimePoint> Outbox::next_wakeup() {
  std::lock_guard lock(state_.mutex);
  std::optional<TimePoint> out;
  auto mail = state_.db.prepare("SELECT MIN(next_attempt) FROM outbox WHERE status='queued'");
  if (mail.step() && !mail.is_null(0)) out = mail.integer(0);
  auto window = state_.db.prepare("SELECT MIN(window_end) FROM windows");
  if (window.step() && !window.is_null(0)) {
    out = out ? std::min(*out, window.integer(0)) : window.integer(0);
  }
  return out;
}

}  // namespace vtrace::responder
