// The read-only reports: every JSON document the API and the operator page serve, and the
// gauges of /metrics. They read all the parts' tables (incidents, actions, outbox,
// containments) and write none.
#include "responder/api/reports.hpp"

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <map>
#include <set>

#include "common/incident.hpp"
#include "responder/mail/templates.hpp"

namespace vtrace::responder {

namespace json = boost::json;

namespace {

struct OriginRow {
  std::string name;
  std::string zone;
  bool internal = false;
  TimePoint first = 0;
  TimePoint last = 0;
  std::int64_t detections = 0;
  std::map<std::string, std::int64_t> viruses;
};

// The outbreak chart's classes, in the order they are stacked: where the mail came from when
// the trace found it, else why it did not.
// A firewall's direct_smtp incidents are a class of their own: what was seen is not virus mail.
constexpr std::array<const char*, 5> kTimelineClasses = {"internal", "external", "ambiguous",
                                                         "unresolved", "direct_smtp"};
constexpr Duration kTimelineBucket = 3600LL * 1000000;  // one hour

// A host's direct_smtp bursts in the statistics.
struct DirectSmtpRow {
  std::string name;
  std::int64_t bursts = 0;
  std::int64_t connections = 0;
  std::int64_t destinations = 0;  // the largest burst's
  std::int64_t blocked = 0;
  TimePoint last_seen = 0;
};
// A month of hours: the answer stays small whatever the period; older hours are counted.
constexpr std::size_t kMaxTimelineBuckets = 31 * 24;

std::size_t timeline_class(const Incident& in) {
  if (in.kind == IncidentKind::kDirectSmtp) return 4;
  if (in.origin) return in.origin->internal ? 0 : 1;
  return in.confidence == Confidence::kAmbiguous ? 2 : 3;
}

// One outbox row (columns as selected by kOutboxColumns) as the API shows it.
constexpr const char* kOutboxColumns =
    "id, kind, policy, incident_id, recipients, subject, status, attempts, last_error, created_at";

json::object outbox_row(Statement& m) {
  json::array to;
  for (const auto& r : from_json_array(m.text(4))) to.emplace_back(r);
  return json::object{{"id", m.integer(0)},      {"kind", m.text(1)},
                      {"policy", m.text(2)},     {"incident", m.text(3)},
                      {"to", std::move(to)},     {"subject", m.text(5)},
                      {"status", m.text(6)},     {"attempts", m.integer(7)},
                      {"last_error", m.text(8)}, {"created_at", format_rfc3339(m.integer(9))}};
}

}  // namespace

Reports::Reports(EngineState& state) : state_(state) {}

std::string Reports::origins_json(TimePoint since) {
  std::lock_guard lock(state_.mutex);
  Database& db = state_.db;
  std::map<std::string, OriginRow> rows;
  auto q = db.prepare(
      "SELECT json, detected_at FROM incidents WHERE origin_ip<>'' AND detected_at>=? "
      "ORDER BY detected_at");
  q.bind(1, since);
  while (q.step()) {
    std::string error;
    auto in = incident_from_json(q.text(0), &error);
    if (!in || !in->origin) continue;
    OriginRow& r = rows[in->origin->ip];
    if (r.detections == 0) r.first = in->detected_at;
    r.last = in->detected_at;
    r.name = in->origin->name;
    r.zone = in->origin->zone;
    r.internal = in->origin->internal;
    r.detections++;
    r.viruses[in->kind == IncidentKind::kDirectSmtp ? std::string(kDirectSmtpDigestKey)
                                                    : in->virus]++;
  }
  std::map<std::string, std::int64_t> mails;
  auto m = db.prepare(
      "SELECT i.origin_ip, COUNT(*) FROM outbox o JOIN incidents i ON o.incident_id=i.id "
      "WHERE o.status='sent' GROUP BY i.origin_ip");
  while (m.step()) mails[m.text(0)] = m.integer(1);
  std::map<std::string, json::object> contained;
  auto c = db.prepare(
      "SELECT origin_ip, id, status, device, port, downed_at, expires_at FROM containments "
      "ORDER BY id");
  while (c.step()) {  // the latest row per origin wins
    json::object o{
        {"id", c.integer(1)}, {"status", c.text(2)}, {"switch", c.text(3)}, {"port", c.text(4)}};
    o["downed_at"] =
        c.is_null(5) ? json::value(nullptr) : json::value(format_rfc3339(c.integer(5)));
    o["expires_at"] =
        c.is_null(6) ? json::value(nullptr) : json::value(format_rfc3339(c.integer(6)));
    contained[c.text(0)] = std::move(o);
  }
  json::array items;
  for (const auto& [ip, r] : rows) {
    json::array viruses;
    for (const auto& [v, n] : r.viruses) viruses.push_back(json::object{{"name", v}, {"count", n}});
    json::object o{{"ip", ip},
                   {"name", r.name},
                   {"zone", r.zone},
                   {"internal", r.internal},
                   {"first_seen", format_rfc3339(r.first)},
                   {"last_seen", format_rfc3339(r.last)},
                   {"detections", r.detections},
                   {"viruses", std::move(viruses)},
                   {"mails_sent", mails.count(ip) ? mails[ip] : 0}};
    auto it = contained.find(ip);
    o["containment"] = it == contained.end() ? json::value(nullptr) : json::value(it->second);
    items.push_back(std::move(o));
  }
  // Most recently active first.
  std::sort(items.begin(), items.end(), [](const json::value& a, const json::value& b) {
    return a.at("last_seen").as_string() > b.at("last_seen").as_string();
  });
  return json::serialize(json::object{{"origins", std::move(items)}});
}

std::string Reports::stats_json(TimePoint since) {
  std::lock_guard lock(state_.mutex);
  Database& db = state_.db;
  std::map<std::string, std::int64_t> per_virus;  // internal origins only
  std::map<std::string, std::set<std::string>> hosts_per_virus;
  std::int64_t internal = 0, external = 0, unknown = 0, direct_smtp = 0;
  std::map<std::string, DirectSmtpRow> direct_hosts;
  std::map<std::string, TimePoint> first_internal;
  std::map<TimePoint, std::array<std::int64_t, kTimelineClasses.size()>> per_hour;
  auto q = db.prepare("SELECT json FROM incidents WHERE detected_at>=? ORDER BY detected_at");
  q.bind(1, since);
  while (q.step()) {
    std::string error;
    auto in = incident_from_json(q.text(0), &error);
    if (!in) continue;
    const TimePoint hour =
        in->detected_at - (in->detected_at % kTimelineBucket + kTimelineBucket) % kTimelineBucket;
    per_hour[hour][timeline_class(*in)]++;
    if (in->kind == IncidentKind::kDirectSmtp) {
      // What a firewall saw: its own column, never a virus detection.
      direct_smtp++;
      if (in->origin) {
        DirectSmtpRow& h = direct_hosts[in->origin->ip];
        h.name = in->origin->name;
        h.bursts++;
        if (in->direct_smtp) {
          h.connections += in->direct_smtp->connections;
          h.destinations = std::max(h.destinations, in->direct_smtp->destinations);
          h.blocked += in->direct_smtp->blocked;
          h.last_seen = std::max(h.last_seen, in->direct_smtp->last_seen);
        }
        if (in->origin->internal) first_internal.try_emplace(in->origin->ip, in->detected_at);
      }
      continue;
    }
    if (!in->origin) {
      unknown++;
    } else if (in->origin->internal) {
      internal++;
      per_virus[in->virus]++;
      hosts_per_virus[in->virus].insert(in->origin->ip);
      first_internal.try_emplace(in->origin->ip, in->detected_at);
    } else {
      external++;
    }
  }
  json::array viruses;
  for (const auto& [v, n] : per_virus) {
    viruses.push_back(
        json::object{{"virus", v},
                     {"detections", n},
                     {"origins", static_cast<std::int64_t>(hosts_per_virus[v].size())}});
  }
  std::sort(viruses.begin(), viruses.end(), [](const json::value& a, const json::value& b) {
    return a.at("detections").as_int64() > b.at("detections").as_int64();
  });
  json::array to_containment;
  auto c = db.prepare(
      "SELECT MIN(downed_at) FROM containments WHERE origin_ip=? AND downed_at IS NOT NULL");
  for (const auto& [ip, first] : first_internal) {
    c.reset();
    c.bind(1, ip);
    json::object o{{"ip", ip}, {"first_detection", format_rfc3339(first)}};
    if (c.step() && !c.is_null(0)) {
      const TimePoint down = c.integer(0);
      o["contained_at"] = format_rfc3339(down);
      o["seconds"] = static_cast<double>(down - first) / 1e6;
    } else {
      o["contained_at"] = nullptr;
      o["seconds"] = nullptr;
    }
    to_containment.push_back(std::move(o));
  }
  json::array hours;
  // The most recent hours are kept; older ones only counted.
  const std::size_t dropped_hours =
      per_hour.size() > kMaxTimelineBuckets ? per_hour.size() - kMaxTimelineBuckets : 0;
  std::size_t seen = 0;
  for (const auto& [hour, counts] : per_hour) {
    if (seen++ < dropped_hours) continue;
    json::object o{{"hour", format_rfc3339(hour)}};
    for (std::size_t c = 0; c < kTimelineClasses.size(); ++c) o[kTimelineClasses[c]] = counts[c];
    hours.push_back(std::move(o));
  }
  json::array classes;
  for (const char* c : kTimelineClasses) classes.emplace_back(c);
  json::array direct_rows;
  for (const auto& [ip, h] : direct_hosts) {
    direct_rows.push_back(json::object{{"ip", ip},
                                       {"name", h.name},
                                       {"bursts", h.bursts},
                                       {"connections", h.connections},
                                       {"destinations", h.destinations},
                                       {"blocked", h.blocked},
                                       {"last_seen", format_rfc3339(h.last_seen)}});
  }
  // Most connections first.
  std::sort(direct_rows.begin(), direct_rows.end(), [](const json::value& a, const json::value& b) {
    return a.at("connections").as_int64() > b.at("connections").as_int64();
  });
  return json::serialize(json::object{
      {"since", format_rfc3339(since)},
      {"internal", internal},
      {"external", external},
      {"unknown", unknown},
      {"direct_smtp", direct_smtp},
      {"direct_smtp_hosts", std::move(direct_rows)},
      {"viruses", std::move(viruses)},
      {"time_to_containment", std::move(to_containment)},
      {"timeline", json::object{{"bucket_seconds", kTimelineBucket / 1000000},
                                {"classes", std::move(classes)},
                                {"hours", std::move(hours)},
                                {"hours_dropped", static_cast<std::int64_t>(dropped_hours)}}}});
}

std::string Reports::list_incidents_json(const std::string& origin, TimePoint since, int limit) {
  std::lock_guard lock(state_.mutex);
  Database& db = state_.db;
  auto q = db.prepare(
      "SELECT i.json, i.received_at, (SELECT COUNT(*) FROM actions a WHERE a.incident_id=i.id AND "
      "a.action_index>=0) FROM incidents i WHERE (?1='' OR i.origin_ip=?1) AND i.detected_at>=?2 "
      "ORDER BY i.detected_at DESC, i.id LIMIT ?3");
  q.bind(1, origin).bind(2, since).bind(3, limit);
  json::array items;
  while (q.step()) {
    std::string error;
    auto in = incident_from_json(q.text(0), &error);
    if (!in) continue;
    json::object o{{"id", in->id},
                   {"revision", in->revision},
                   {"detected_at", format_rfc3339(in->detected_at)},
                   {"received_at", format_rfc3339(q.integer(1))},
                   {"virus", in->virus},
                   {"confidence", to_string(in->confidence)},
                   {"detector", in->detector_host},
                   {"from", in->envelope_from},
                   {"subject", in->subject},
                   {"hops", static_cast<std::int64_t>(in->hops.size())},
                   {"actions", q.integer(2)},
                   {"kind", to_string(in->kind)}};
    if (in->direct_smtp) {
      o["direct_smtp"] = json::object{{"connections", in->direct_smtp->connections},
                                      {"destinations", in->direct_smtp->destinations}};
    }
    if (in->origin) {
      o["origin"] = json::object{{"ip", in->origin->ip},
                                 {"name", in->origin->name},
                                 {"internal", in->origin->internal},
                                 {"zone", in->origin->zone}};
    } else {
      o["origin"] = nullptr;
    }
    items.push_back(std::move(o));
  }
  return json::serialize(json::object{{"incidents", std::move(items)}});
}

std::optional<std::string> Reports::incident_json(const std::string& id) {
  std::lock_guard lock(state_.mutex);
  Database& db = state_.db;
  auto q = db.prepare("SELECT json, received_at, updated_at, peer FROM incidents WHERE id=?");
  q.bind(1, id);
  if (!q.step()) return std::nullopt;
  boost::system::error_code ec;
  json::value incident = json::parse(q.text(0), ec);
  json::object out{{"incident", ec ? json::value(nullptr) : incident},
                   {"received_at", format_rfc3339(q.integer(1))},
                   {"updated_at", format_rfc3339(q.integer(2))},
                   {"received_from", q.text(3)}};
  json::array actions;
  auto a = db.prepare(
      "SELECT policy, action_index, type, status, detail, mail_id, at FROM actions WHERE "
      "incident_id=? ORDER BY at, policy, action_index");
  a.bind(1, id);
  while (a.step()) {
    json::object o{{"policy", a.text(0)}, {"index", a.integer(1)},
                   {"type", a.text(2)},   {"status", a.text(3)},
                   {"detail", a.text(4)}, {"at", format_rfc3339(a.integer(6))}};
    if (!a.is_null(5)) o["mail_id"] = a.integer(5);
    actions.push_back(std::move(o));
  }
  out["actions"] = std::move(actions);
  json::array mails;
  auto m = db.prepare(
      "SELECT id, kind, recipients, subject, status, attempts, last_error FROM outbox WHERE "
      "incident_id=? ORDER BY id");
  m.bind(1, id);
  while (m.step()) {
    json::array to;
    for (const auto& r : from_json_array(m.text(2))) to.emplace_back(r);
    mails.push_back(json::object{{"id", m.integer(0)},
                                 {"kind", m.text(1)},
                                 {"to", std::move(to)},
                                 {"subject", m.text(3)},
                                 {"status", m.text(4)},
                                 {"attempts", m.integer(5)},
                                 {"last_error", m.text(6)}});
  }
  out["mails"] = std::move(mails);
  return json::serialize(out);
}

std::string Reports::outbox_json(const std::string& status, int limit) {
  std::lock_guard lock(state_.mutex);
  Database& db = state_.db;
  auto m = db.prepare(std::string("SELECT ") + kOutboxColumns +
                      " FROM outbox WHERE (?1='' OR status=?1) ORDER BY id DESC LIMIT ?2");
  m.bind(1, status).bind(2, limit);
  json::array mails;
  while (m.step()) mails.push_back(outbox_row(m));
  return json::serialize(json::object{{"mails", std::move(mails)}});
}

std::optional<std::string> Reports::mail_json(std::int64_t mail_id) {
  std::lock_guard lock(state_.mutex);
  Database& db = state_.db;
  auto m = db.prepare(std::string("SELECT ") + kOutboxColumns + ", body FROM outbox WHERE id=?");
  m.bind(1, mail_id);
  if (!m.step()) return std::nullopt;
  json::object mail = outbox_row(m);
  mail["body"] = m.text(10);
  return json::serialize(mail);
}

std::map<std::string, std::int64_t> Reports::gauges() {
  std::lock_guard lock(state_.mutex);
  Database& db = state_.db;
  std::map<std::string, std::int64_t> out;
  for (const char* s : {"queued", "sending", "sent", "failed", "held", "dry_run"}) {
    out[std::string("outbox_") + s] = 0;
  }
  auto q = db.prepare("SELECT status, COUNT(*) FROM outbox GROUP BY status");
  while (q.step()) out["outbox_" + q.text(0)] = q.integer(1);
  auto i = db.prepare("SELECT COUNT(*) FROM incidents");
  i.step();
  out["incidents_stored"] = i.integer(0);
  auto w = db.prepare("SELECT COUNT(*) FROM windows");
  w.step();
  out["digest_windows_open"] = w.integer(0);
  return out;
}

std::string Reports::containments_json(const std::string& status, int limit) {
  std::lock_guard lock(state_.mutex);
  Database& db = state_.db;
  auto q = db.prepare(
      "SELECT id, incident_id, policy, origin_ip, status, dry_run, device, port, if_index, mac, "
      "detail, created_at, acted_at, downed_at, expires_at, released_at, released_by, "
      "release_reason, follows, action, vlan, previous_vlan FROM containments WHERE (?1='' OR "
      "status=?1) ORDER BY id DESC "
      "LIMIT ?2");
  q.bind(1, status).bind(2, limit);
  json::array items;
  auto when = [&](int col) -> json::value {
    if (q.is_null(col)) return nullptr;
    return json::value(format_rfc3339(q.integer(col)));
  };
  while (q.step()) {
    items.push_back(
        json::object{{"id", q.integer(0)},
                     {"incident", q.text(1)},
                     {"policy", q.text(2)},
                     {"ip", q.text(3)},
                     {"status", q.text(4)},
                     {"dry_run", q.integer(5) != 0},
                     {"switch", q.text(6)},
                     {"port", q.text(7)},
                     {"if_index", q.integer(8)},
                     {"mac", q.text(9)},
                     {"detail", q.text(10)},
                     {"created_at", when(11)},
                     {"acted_at", when(12)},
                     {"downed_at", when(13)},
                     {"expires_at", when(14)},
                     {"released_at", when(15)},
                     {"released_by", q.text(16)},
                     {"release_reason", q.text(17)},
                     {"follows", q.is_null(18) ? json::value(nullptr) : json::value(q.integer(18))},
                     {"action", q.text(19)},
                     {"vlan", q.integer(20)},
                     {"previous_vlan", q.integer(21)}});
  }
  return json::serialize(json::object{{"containments", std::move(items)}});
}

}  // namespace vtrace::responder
