// The operator view's read-only queries: origins and the statistics report.
#include <array>
#include <boost/json.hpp>
#include <map>
#include <set>

#include "responder/engine.hpp"

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
constexpr std::array<const char*, 4> kTimelineClasses = {"internal", "external", "ambiguous",
                                                         "unresolved"};
constexpr Duration kTimelineBucket = 3600LL * 1000000;  // one hour
// A month of hours: the answer stays small whatever the period; older hours are counted.
constexpr std::size_t kMaxTimelineBuckets = 31 * 24;

std::size_t timeline_class(const Incident& in) {
  if (in.origin) return in.origin->internal ? 0 : 1;
  return in.confidence == Confidence::kAmbiguous ? 2 : 3;
}

}  // namespace

std::string Engine::origins_json(TimePoint since) {
  std::lock_guard lock(mutex_);
  std::map<std::string, OriginRow> rows;
  auto q = db_.prepare(
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
    r.viruses[in->virus]++;
  }
  std::map<std::string, std::int64_t> mails;
  auto m = db_.prepare(
      "SELECT i.origin_ip, COUNT(*) FROM outbox o JOIN incidents i ON o.incident_id=i.id "
      "WHERE o.status='sent' GROUP BY i.origin_ip");
  while (m.step()) mails[m.text(0)] = m.integer(1);
  std::map<std::string, json::object> contained;
  auto c = db_.prepare(
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

std::string Engine::stats_json(TimePoint since) {
  std::lock_guard lock(mutex_);
  std::map<std::string, std::int64_t> per_virus;  // internal origins only
  std::map<std::string, std::set<std::string>> hosts_per_virus;
  std::int64_t internal = 0, external = 0, unknown = 0;
  std::map<std::string, TimePoint> first_internal;
  std::map<TimePoint, std::array<std::int64_t, kTimelineClasses.size()>> per_hour;
  auto q = db_.prepare("SELECT json FROM incidents WHERE detected_at>=? ORDER BY detected_at");
  q.bind(1, since);
  while (q.step()) {
    std::string error;
    auto in = incident_from_json(q.text(0), &error);
    if (!in) continue;
    const TimePoint hour =
        in->detected_at - (in->detected_at % kTimelineBucket + kTimelineBucket) % kTimelineBucket;
    per_hour[hour][timeline_class(*in)]++;
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
  auto c = db_.prepare(
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
  return json::serialize(json::object{
      {"since", format_rfc3339(since)},
      {"internal", internal},
      {"external", external},
      {"unknown", unknown},
      {"viruses", std::move(viruses)},
      {"time_to_containment", std::move(to_containment)},
      {"timeline", json::object{{"bucket_seconds", kTimelineBucket / 1000000},
                                {"classes", std::move(classes)},
                                {"hours", std::move(hours)},
                                {"hours_dropped", static_cast<std::int64_t>(dropped_hours)}}}});
}

}  // namespace vtrace::responder
