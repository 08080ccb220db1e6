// Containment: disable_port and quarantine_vlan actions become rows in `containments` inside
// the ingest transaction; a worker (process_containments) locates the port, applies the guards and
// the circuit breaker, writes and verifies, and re-enables on expiry. Network I/O never runs
// under the engine lock. Every step is an audit record; a restart resumes from the rows.
//
// Row states: pending -> working -> (not_located | refused | dry_run | writing | confirmed)
//             writing -> (down | failed);  pending -> cancelled (operator)
//             down -> releasing -> (released | release_failed -> retried a minute later)
//             down | release_failed -> release_requested (operator) -> releasing -> ...
//             down -> escaped (a follow-up found the MAC elsewhere; the port stays shut and is
//                     re-enabled on expiry or by an operator like a down one)
// A follow-up row (`follows` = the containment it checks) is queued when an exact incident
// for an origin whose port is down is dated after that port was verified down. It ends
// `confirmed` when the MAC is still on the shut port (nothing written), or contains the port
// the MAC is on now and marks the first one escaped.
// An operator's release is only recorded by the API call; the worker does the write, so a slow
// switch or automation never holds the HTTP server.
#include "responder/containment/containment_queue.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <set>

#include "common/net.hpp"

namespace vtrace::responder {

namespace json = boost::json;

namespace {

constexpr Duration kReleaseRetry = seconds(60);
// What both release paths read of a containment, in the order claim_release takes it.
constexpr const char* kReleaseColumns =
    "id, device, port, if_index, incident_id, origin_ip, mac, vlan, previous_vlan";
constexpr int kReleaseColumnCount = 9;
// A location that failed because a device did not answer is tried again after 30 s, doubling
// up to 10 min, for an hour; a breaker refusal is reconsidered when the rolling hour allows,
// for a day. Past those, the refusal stands.
constexpr Duration kRetryFirst = seconds(30);
constexpr Duration kRetryMax = seconds(600);
constexpr Duration kRetryFor = kHour;
constexpr Duration kHoldFor = 24 * kHour;
constexpr Duration kFollowUpEvery = seconds(60);

// What a release writes: the VLAN a quarantined port had (a quarantine row always recorded
// it when it went down), or 0 for ifAdminStatus up.
int back_to(std::int64_t quarantine_vlan, std::int64_t previous_vlan) {
  return quarantine_vlan > 0 ? static_cast<int>(previous_vlan) : 0;
}

Duration retry_delay(std::int64_t attempts) {
  Duration d = kRetryFirst;
  for (std::int64_t i = 0; i < attempts && d < kRetryMax; ++i) d *= 2;
  return std::min(d, kRetryMax);
}

const SnmpDeviceConfig* find_switch(const ContainmentConfig& c, const std::string& name) {
  for (const auto& s : c.switches) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

const char* const kSchema = R"(
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

}  // namespace

ContainmentQueue::ContainmentQueue(EngineState& state, Outbox& outbox)
    : state_(state), outbox_(outbox) {
  state_.db.exec(kSchema);
  migrate();
  recover();
}

void ContainmentQueue::wake_locked() {
  if (wake_) wake_();
}

void ContainmentQueue::set_backend(ContainmentBackend* backend, std::function<void()> wake) {
  std::lock_guard lock(state_.mutex);
  backend_ = backend;
  wake_ = std::move(wake);
}

void ContainmentQueue::migrate() {
  std::set<std::string> have;
  auto columns = state_.db.prepare("PRAGMA table_info(containments)");
  while (columns.step()) have.insert(columns.text(1));
  columns.reset();
  for (const auto& [column, type] :
       {std::pair{"follows", "INTEGER"}, std::pair{"retry_at", "INTEGER"},
        std::pair{"attempts", "INTEGER NOT NULL DEFAULT 0"},
        std::pair{"action", "TEXT NOT NULL DEFAULT 'disable_port'"},
        std::pair{"vlan", "INTEGER NOT NULL DEFAULT 0"},
        std::pair{"previous_vlan", "INTEGER NOT NULL DEFAULT 0"}}) {
    if (!have.count(column)) {
      state_.db.exec(std::string("ALTER TABLE containments ADD COLUMN ") + column + " " + type);
    }
  }
}

void ContainmentQueue::recover() {
  // A write that was in flight when the process stopped is done again (SET down is idempotent
  // and is verified); a release in flight is retried at once.
  state_.db.exec("UPDATE containments SET status='pending' WHERE status IN ('working','writing')");
  state_.db
      .prepare(
          "UPDATE containments SET status='release_failed', expires_at=? WHERE "
          "status='releasing'")
      .bind(1, state_.clock.now())
      .run();
}

void ContainmentQueue::audit_containment(const std::string& actor, const std::string& event,
                                         std::int64_t id, const std::string& result,
                                         const std::string& detail) {
  json::object o{{"containment", id}, {"result", result}, {"why", detail}};
  auto q = state_.db.prepare(
      "SELECT incident_id, policy, origin_ip, device, port, if_index, mac, dry_run FROM "
      "containments WHERE id=?");
  q.bind(1, id);
  if (q.step()) {
    o["incident"] = q.text(0);
    o["policy"] = q.text(1);
    o["ip"] = q.text(2);
    o["switch"] = q.text(3);
    o["port"] = q.text(4);
    o["if_index"] = q.integer(5);
    o["mac"] = q.text(6);
    o["dry_run"] = q.integer(7) != 0;
  }
  state_.audit_locked(actor, event, json::serialize(o));
}

ActionRun ContainmentQueue::queue(const Policy& policy, const ActionConfig& action,
                                  const Incident& in) {
  const ContainmentConfig& c = state_.config->containment;
  const std::string actor = "policy:" + policy.name;
  auto refuse = [&](const std::string& why) {
    state_.counters.containments_refused++;
    json::object o{{"incident", in.id},
                   {"ip", in.origin ? in.origin->ip : std::string()},
                   {"result", "refused"},
                   {"why", why}};
    state_.audit_locked(actor, "containment.refused", json::serialize(o));
    return ActionRun{"refused", why, std::nullopt};
  };
  if (!in.origin) return refuse("no origin: nothing to contain");
  if (!in.origin->internal)
    return refuse("the origin is external: only internal hosts are contained");
  if (in.confidence == Confidence::kFuzzy && !action.allow_fuzzy) {
    return refuse("the trace is fuzzy and the action does not allow_fuzzy");
  }
  if (in.confidence != Confidence::kExact && in.confidence != Confidence::kFuzzy) {
    return refuse("the trace is " + std::string(to_string(in.confidence)) +
                  ": only exact traces are contained");
  }
  auto ip = IpAddress::parse(in.origin->ip);
  if (!ip) return refuse("the origin is not an IP address");
  for (const auto& cidr : c.protected_hosts) {
    if (cidr.contains(*ip)) {
      return refuse(ip->to_string() + " is a protected host (containment.protected_hosts)");
    }
  }
  const std::string address = ip->to_string();
  // The newest containment still holding (or about to hold) this origin; an escaped one holds
  // nothing.
  auto active = state_.db.prepare(
      "SELECT id, status, downed_at FROM containments WHERE origin_ip=? AND status IN "
      "('pending','retrying','held','working','writing','down','release_requested','releasing',"
      "'release_failed') "
      "ORDER BY id DESC LIMIT 1");
  active.bind(1, address);
  std::optional<std::int64_t> follows;
  if (active.step()) {
    const std::int64_t first = active.integer(0);
    const std::string status = active.text(1);
    const bool detected_after_down =
        status == "down" && !active.is_null(2) && in.detected_at > active.integer(2);
    active.reset();
    // Mail sent after the port was verified down proves the containment is not holding: the
    // PC may have moved. Only an exact trace is followed.
    if (!detected_after_down || in.confidence != Confidence::kExact) {
      return {"skipped",
              "already contained: containment " + std::to_string(first) + " (" + status + ")",
              std::nullopt};
    }
    // A worm mails in bursts: one fresh location per contained origin a minute is enough.
    auto recent =
        state_.db.prepare("SELECT MAX(id) FROM containments WHERE follows=? AND created_at>?");
    recent.bind(1, first).bind(2, state_.clock.now() - kFollowUpEvery);
    if (recent.step() && !recent.is_null(0)) {
      const std::int64_t checked = recent.integer(0);
      recent.reset();
      return {"skipped",
              "already contained: containment " + std::to_string(first) +
                  " (down), checked again by containment " + std::to_string(checked) +
                  " less than a minute ago",
              std::nullopt};
    }
    recent.reset();
    follows = first;
  } else {
    active.reset();
  }
  auto insert = state_.db.prepare(
      "INSERT INTO containments(incident_id, policy, origin_ip, status, dry_run, duration, "
      "created_at, follows, action, vlan) VALUES(?,?,?,'pending',?,?,?,?,?,?)");
  insert.bind(1, in.id)
      .bind(2, policy.name)
      .bind(3, address)
      .bind(4, action.dry_run ? 1 : 0)
      .bind(5, action.duration)
      .bind(6, state_.clock.now());
  if (follows) {
    insert.bind(7, *follows);
  } else {
    insert.bind_null(7);
  }
  insert.bind(8, std::string(to_string(action.type))).bind(9, action.vlan);
  insert.run();
  const std::int64_t id = state_.db.last_insert_rowid();
  const std::string follow_note = follows ? "; detected again after containment " +
                                                std::to_string(*follows) +
                                                " was verified down: located again"
                                          : "";
  audit_containment(actor, "containment.queued", id, "pending",
                    "policy " + policy.name + follow_note);
  return {"queued", "containment " + std::to_string(id) + " for " + address + follow_note,
          std::nullopt};
}

void ContainmentQueue::forget_location(const std::string& ip) {
  ContainmentBackend* backend = nullptr;
  {
    std::lock_guard lock(state_.mutex);
    backend = backend_;
  }
  if (backend && backend->locator) backend->locator->forget(ip);
}

PortWrite ContainmentQueue::write_port(PortRequest request, const std::string& device) {
  auto cfg = state_.current_config();
  PortWrite out;
  const SnmpDeviceConfig* sw = find_switch(cfg->containment, device);
  if (!sw) {
    out.detail = "switch " + device + " is no longer configured";
    return out;
  }
  ContainmentBackend* backend = nullptr;
  {
    std::lock_guard lock(state_.mutex);
    backend = backend_;
  }
  if (!backend || !backend->controller) {
    out.detail = "no containment back end";
    return out;
  }
  request.device = sw;
  std::lock_guard io(backend->io);
  return backend->controller->set_admin_status(request);
}

bool ContainmentQueue::contain_one() {
  std::int64_t id = 0;
  std::string ip, policy, incident;
  bool dry_run = true;
  Duration duration = 0;
  std::optional<std::int64_t> follows;              // the containment this one checks
  std::pair<std::string, std::string> followed_at;  // its switch and port
  TimePoint created_at = 0;
  std::int64_t attempts = 0;  // locations retried because a device did not answer
  int vlan = 0;               // quarantine_vlan: the VLAN the port is moved to
  std::optional<TimePoint> retry_at;
  std::shared_ptr<const ResponderConfig> cfg;
  ContainmentBackend* backend = nullptr;
  {
    std::lock_guard lock(state_.mutex);
    auto q = state_.db.prepare(
        "SELECT c.id, c.origin_ip, c.policy, c.incident_id, c.dry_run, c.duration, c.follows, "
        "f.device, f.port, c.created_at, c.attempts, c.vlan FROM containments c LEFT JOIN "
        "containments f "
        "ON f.id=c.follows WHERE c.status='pending' OR (c.status IN ('retrying','held') AND "
        "c.retry_at<=?) ORDER BY c.id LIMIT 1");
    q.bind(1, state_.clock.now());
    if (!q.step()) return false;
    id = q.integer(0);
    ip = q.text(1);
    policy = q.text(2);
    incident = q.text(3);
    dry_run = q.integer(4) != 0;
    duration = q.integer(5);
    if (!q.is_null(6)) {
      follows = q.integer(6);
      followed_at = {q.text(7), q.text(8)};
    }
    created_at = q.integer(9);
    attempts = q.integer(10);
    vlan = static_cast<int>(q.integer(11));
    q.reset();
    state_.db.prepare("UPDATE containments SET status='working' WHERE id=?").bind(1, id).run();
    cfg = state_.config;
    backend = backend_;
  }
  const ContainmentConfig& c = cfg->containment;
  Location where;
  std::string relocated;
  if (!backend || !backend->locator) {
    where.problem = "no containment back end";
  } else {
    std::lock_guard io(backend->io);
    // A follow-up asks where the MAC is now: nothing cached is good enough.
    if (follows) backend->locator->forget(ip);
    where = backend->locator->locate(c, ip, follows.has_value());
    // The cached location or the walked tables may be older than the PC's last move: the
    // write goes where the MAC is now, or the location is done again on fresh tables.
    if (std::string moved; !backend->locator->confirm(c, where, &moved)) {
      relocated = moved;
      backend->locator->forget(ip);
      where = backend->locator->locate(c, ip, true);
    }
  }
  std::optional<std::string> refusal = port_refusal(c, where);
  bool write = false;
  {
    std::lock_guard lock(state_.mutex);
    Transaction tx(state_.db);
    const TimePoint now = state_.clock.now();
    std::string status;
    std::string detail;
    if (!relocated.empty()) {
      audit_containment("policy:" + policy, "containment.relocated", id, "working",
                        relocated + "; located again: " +
                            (where.found ? where.device + " " + where.port : where.problem));
    }
    const bool same_port =
        follows && where.found && std::pair{where.device, where.port} == followed_at;
    if (follows && where.found && !same_port) {
      mark_escaped(*follows, id, ip, where, policy, incident);
    }
    if (same_port) {
      status = "confirmed";
      detail = "detected again, but the MAC is still on " + where.device + " " + where.port +
               ", the port containment " + std::to_string(*follows) + " shut: nothing written";
    } else if (refusal && !where.found && where.unanswered && now - created_at < kRetryFor) {
      status = "retrying";
      retry_at = now + retry_delay(attempts);
      ++attempts;
      detail = *refusal + "; trying again in " +
               std::to_string(*retry_at / seconds(1) - now / seconds(1)) + " s (attempt " +
               std::to_string(attempts) + ")";
    } else if (refusal) {
      status = where.found ? "refused" : "not_located";
      detail = *refusal;
      if (!where.found && attempts > 0) {
        detail += " (gave up after " + std::to_string(attempts + 1) + " tries)";
      }
    } else {
      auto count = [&](const std::string& device) {
        auto q = state_.db.prepare(
            "SELECT COUNT(*) FROM containments WHERE downed_at IS NOT NULL AND downed_at>? AND "
            "(?='' OR device=?)");
        q.bind(1, now - kHour).bind(2, device).bind(3, device);
        q.step();
        return q.integer(0);
      };
      const std::int64_t all = count("");
      const std::int64_t on_switch = count(where.device);
      const SnmpDeviceConfig* sw = find_switch(c, where.device);
      const bool all_full = all >= c.breaker.max_per_hour;
      if (all_full || on_switch >= c.breaker.max_per_switch_per_hour) {
        status = "refused";
        detail = "circuit breaker: " + std::to_string(all) + " ports shut in the last hour (max " +
                 std::to_string(c.breaker.max_per_hour) + "), " + std::to_string(on_switch) +
                 " on " + where.device + " (max " +
                 std::to_string(c.breaker.max_per_switch_per_hour) +
                 "); containment stopped, a person must look";
        // The hour rolls on: reconsidered once the oldest shutdown that fills it is an hour
        // old (for a day; a person may cancel it before).
        auto oldest = state_.db.prepare(
            "SELECT MIN(downed_at) FROM containments WHERE downed_at IS NOT NULL AND downed_at>? "
            "AND (?='' OR device=?)");
        const std::string scope = all_full ? std::string() : where.device;
        oldest.bind(1, now - kHour).bind(2, scope).bind(3, scope);
        if (oldest.step() && !oldest.is_null(0) && now - created_at < kHoldFor) {
          status = "held";
          retry_at = oldest.integer(0) + kHour + seconds(1);
          detail += "; held, reconsidered at " + format_rfc3339(*retry_at);
        }
        oldest.reset();
        const bool already = outbox_.mailed_since("containment_breaker", now - kHour);
        if (!already && !c.breaker.notify.empty()) {
          const std::string body =
              "vtrace-responder stopped shutting switch ports: the circuit breaker tripped.\n\n" +
              detail + "\n\nThe origin that would have been contained next: " + ip + " (incident " +
              incident + ", policy " + policy + ", " + where.device + " " + where.port +
              ").\nFurther origins are refused until the rate drops; list them "
              "with `vtracectl containments`.\n";
          outbox_.queue_mail("containment_breaker", policy, incident, c.breaker.notify,
                             "[vtrace] containment circuit breaker tripped", body, false, false,
                             nullptr);
        }
      } else if (dry_run || !sw || sw->dry_run) {
        status = "dry_run";
        detail = (vlan > 0 ? "would move " : "would shut ") + where.device + " " + where.port +
                 " (ifIndex " + std::to_string(where.if_index) + ", " + where.source + ")" +
                 (vlan > 0 ? " to VLAN " + std::to_string(vlan) : "") +
                 (dry_run ? " [action dry_run]" : " [switch dry_run]");
      } else {
        status = "writing";
        detail = (vlan > 0 ? "moving " + where.device + " " + where.port + " to VLAN " +
                                 std::to_string(vlan)
                           : "shutting " + where.device + " " + where.port);
        write = true;
      }
    }
    auto update = state_.db.prepare(
        "UPDATE containments SET status=?, detail=?, device=?, port=?, if_index=?, mac=?, "
        "acted_at=?, attempts=?, retry_at=? WHERE id=?");
    update.bind(1, status)
        .bind(2, detail)
        .bind(3, where.device)
        .bind(4, where.port)
        .bind(5, where.if_index)
        .bind(6, where.mac)
        .bind(7, now)
        .bind(8, attempts)
        .bind(10, id);
    if (retry_at) {
      update.bind(9, *retry_at);
    } else {
      update.bind_null(9);
    }
    update.run();
    if (!write) {
      if (status != "dry_run" && status != "retrying" && status != "confirmed") {
        state_.counters.containments_refused++;
      }
      audit_containment("policy:" + policy, "containment." + status, id, status, detail);
    }
    tx.commit();
  }
  if (!write) return true;
  PortWrite w =
      write_port({nullptr, where.port, where.if_index, false, id, incident, ip, where.mac, vlan},
                 where.device);
  std::lock_guard lock(state_.mutex);
  Transaction tx(state_.db);
  const TimePoint now = state_.clock.now();
  if (w.ok) {
    state_.db
        .prepare(
            "UPDATE containments SET status='down', detail=?, if_index=?, downed_at=?, "
            "expires_at=?, previous_vlan=? WHERE id=?")
        .bind(1, w.detail)
        .bind(2, w.if_index)
        .bind(3, now)
        .bind(4, now + duration)
        .bind(5, w.previous_vlan)
        .bind(6, id)
        .run();
    state_.counters.ports_disabled++;
    audit_containment("policy:" + policy, "containment.down", id, "down", w.detail);
  } else {
    state_.db.prepare("UPDATE containments SET status='failed', detail=? WHERE id=?")
        .bind(1, w.detail)
        .bind(2, id)
        .run();
    state_.counters.containments_failed++;
    audit_containment("policy:" + policy, "containment.failed", id, "failed", w.detail);
  }
  tx.commit();
  return true;
}

void ContainmentQueue::mark_escaped(std::int64_t first, std::int64_t follow_up,
                                    const std::string& ip, const Location& now_at,
                                    const std::string& policy, const std::string& incident) {
  auto q = state_.db.prepare(
      "SELECT device, port, downed_at FROM containments WHERE id=? AND status='down'");
  q.bind(1, first);
  if (!q.step()) return;  // released or escaped meanwhile
  const std::string device = q.text(0);
  const std::string port = q.text(1);
  const std::string downed = format_rfc3339(q.integer(2));
  q.reset();
  const std::string detail =
      "escaped: " + ip + " was detected again (incident " + incident + ") after " + device + " " +
      port + " was verified down at " + downed + ", and its MAC " + now_at.mac + " is now on " +
      now_at.device + " " + now_at.port + "; followed by containment " + std::to_string(follow_up) +
      ". The port stays shut until it expires "
      "or is released.";
  state_.db.prepare("UPDATE containments SET status='escaped', detail=? WHERE id=?")
      .bind(1, detail)
      .bind(2, first)
      .run();
  state_.counters.containments_escaped++;
  audit_containment("policy:" + policy, "containment.escaped", first, "escaped", detail);
  const ContainmentConfig& c = state_.config->containment;
  const std::vector<std::string> notify = c.escaped_notify.value_or(c.breaker.notify);
  if (notify.empty()) return;
  const std::string body =
      "vtrace-responder: a contained host escaped its containment.\n\n"
      "Containment " +
      std::to_string(first) + " shut " + device + " " + port + " for " + ip +
      " (verified down at " + downed + ").\nIncident " + incident +
      " shows the host sending again after that, and its MAC " + now_at.mac + " is now on " +
      now_at.device + " " + now_at.port + ".\nContainment " + std::to_string(follow_up) +
      " follows it there (same guards, breaker and dry-run).\n\n"
      "The first port stays shut until it expires or is released: someone else may be plugged "
      "into it now. Check with `vtracectl containments`.\n";
  outbox_.queue_mail(
      "containment_escaped", policy, incident, notify,
      "[vtrace] contained host " + ip + " escaped: now on " + now_at.device + " " + now_at.port,
      body, false, false, nullptr);
}

void ContainmentQueue::claim_release(Statement& row, std::int64_t& id, std::string& device,
                                     PortRequest& request) {
  id = row.integer(0);
  device = row.text(1);
  request = {nullptr,     row.text(2), row.integer(3),
             true,        id,          row.text(4),
             row.text(5), row.text(6), back_to(row.integer(7), row.integer(8))};
  request.previous_vlan = static_cast<int>(row.integer(7));  // the quarantine VLAN it leaves
  row.reset();
  state_.db.prepare("UPDATE containments SET status='releasing' WHERE id=?").bind(1, id).run();
}

void ContainmentQueue::record_release_failure(std::int64_t id, const std::string& actor,
                                              const std::string& detail, TimePoint now) {
  state_.db
      .prepare("UPDATE containments SET status='release_failed', expires_at=?, detail=? WHERE id=?")
      .bind(1, now + kReleaseRetry)
      .bind(2, detail)
      .bind(3, id)
      .run();
  audit_containment(actor, "containment.release_failed", id, "release_failed", detail);
}

bool ContainmentQueue::release_one_expired() {
  std::int64_t id = 0;
  std::string device;
  PortRequest request;
  {
    std::lock_guard lock(state_.mutex);
    auto q = state_.db.prepare(std::string("SELECT ") + kReleaseColumns +
                               " FROM containments WHERE status IN ('down','escaped',"
                               "'release_failed') AND expires_at<=? ORDER BY expires_at, id "
                               "LIMIT 1");
    q.bind(1, state_.clock.now());
    if (!q.step()) return false;
    claim_release(q, id, device, request);
  }
  // The containment ends: where the PC was is no guide to where it will be.
  forget_location(request.origin_ip);
  PortWrite w = write_port(request, device);
  std::lock_guard lock(state_.mutex);
  const TimePoint now = state_.clock.now();
  if (w.ok) {
    state_.db
        .prepare(
            "UPDATE containments SET status='released', released_at=?, released_by=CASE WHEN "
            "released_by='' THEN 'timer' ELSE released_by END, release_reason=CASE WHEN "
            "release_reason='' THEN 'expired' ELSE release_reason END, detail=? WHERE id=?")
        .bind(1, now)
        .bind(2, w.detail)
        .bind(3, id)
        .run();
    state_.counters.ports_enabled++;
    audit_containment("timer", "containment.released", id, "released", w.detail);
  } else {
    record_release_failure(id, "timer", w.detail, now);
  }
  return true;
}

int ContainmentQueue::process() {
  int handled = 0;
  // An operator waiting for a port comes first.
  while (handled < 100 && release_one_requested()) ++handled;
  while (handled < 1000 && contain_one()) ++handled;
  while (handled < 2000 && release_one_expired()) ++handled;
  if (handled == 0) refresh_tables();
  return handled;
}

void ContainmentQueue::refresh_tables() {
  ContainmentBackend* backend = nullptr;
  std::shared_ptr<const ResponderConfig> cfg;
  {
    std::lock_guard lock(state_.mutex);
    backend = backend_;
    cfg = state_.config;
  }
  if (!backend || !backend->locator || cfg->containment.table_refresh <= 0) return;
  std::lock_guard io(backend->io);
  backend->locator->refresh(cfg->containment);
}

ContainmentRelease ContainmentQueue::request_release(std::int64_t id, const std::string& actor,
                                                     const std::string& reason) {
  std::function<void()> wake;
  ContainmentRelease out;
  {
    std::lock_guard lock(state_.mutex);
    auto q = state_.db.prepare("SELECT status FROM containments WHERE id=?");
    q.bind(1, id);
    if (!q.step()) return {404, "no containment " + std::to_string(id)};
    const std::string status = q.text(0);
    q.reset();
    if (status == "pending" || status == "retrying" || status == "held") {
      state_.db
          .prepare(
              "UPDATE containments SET status='cancelled', released_at=?, released_by=?, "
              "release_reason=? WHERE id=?")
          .bind(1, state_.clock.now())
          .bind(2, actor)
          .bind(3, reason)
          .bind(4, id)
          .run();
      audit_containment(actor, "containment.cancelled", id, "cancelled", reason);
      return {200, "cancelled before any write"};
    }
    if (status == "release_requested" || status == "releasing") {
      return {202, "containment " + std::to_string(id) + " is already being released"};
    }
    if (status != "down" && status != "escaped" && status != "release_failed") {
      return {409, "containment " + std::to_string(id) + " is " + status +
                       (status == "dry_run" ? ": the port was never shut" : "")};
    }
    state_.db
        .prepare(
            "UPDATE containments SET status='release_requested', released_by=?, "
            "release_reason=? WHERE id=?")
        .bind(1, actor)
        .bind(2, reason)
        .bind(3, id)
        .run();
    audit_containment(actor, "containment.release_requested", id, "release_requested", reason);
    wake = wake_;
    out = {202, "release of containment " + std::to_string(id) +
                    " requested; the containment worker re-enables the port"};
  }
  if (wake) wake();
  return out;
}

bool ContainmentQueue::release_one_requested() {
  std::int64_t id = 0;
  std::string device, actor, reason;
  PortRequest request;
  {
    std::lock_guard lock(state_.mutex);
    auto q = state_.db.prepare(std::string("SELECT ") + kReleaseColumns +
                               ", released_by, release_reason FROM containments WHERE "
                               "status='release_requested' ORDER BY id LIMIT 1");
    if (!q.step()) return false;
    actor = q.text(kReleaseColumnCount);
    reason = q.text(kReleaseColumnCount + 1);
    claim_release(q, id, device, request);
  }
  // The containment ends: where the PC was is no guide to where it will be.
  forget_location(request.origin_ip);
  PortWrite w = write_port(request, device);
  std::lock_guard lock(state_.mutex);
  const TimePoint now = state_.clock.now();
  if (w.ok) {
    state_.db
        .prepare("UPDATE containments SET status='released', released_at=?, detail=? WHERE id=?")
        .bind(1, now)
        .bind(2, w.detail)
        .bind(3, id)
        .run();
    state_.counters.ports_enabled++;
    audit_containment(actor, "containment.released", id, "released", reason + "; " + w.detail);
    return true;
  }
  record_release_failure(id, actor, w.detail, now);
  return true;
}

}  // namespace vtrace::responder
