// Incident v1 <-> JSON, with Boost.JSON doing all escaping.
#include "common/incident.hpp"

#include <boost/json.hpp>
#include <cstdio>

namespace vtrace {

namespace json = boost::json;

std::string_view to_string(Confidence c) {
  switch (c) {
    case Confidence::kExact:
      return "exact";
    case Confidence::kFuzzy:
      return "fuzzy";
    case Confidence::kAmbiguous:
      return "ambiguous";
    case Confidence::kUnresolved:
      return "unresolved";
  }
  return "unresolved";
}

std::optional<Confidence> confidence_from_string(std::string_view s) {
  for (auto c :
       {Confidence::kExact, Confidence::kFuzzy, Confidence::kAmbiguous, Confidence::kUnresolved}) {
    if (to_string(c) == s) return c;
  }
  return std::nullopt;
}

namespace {
constexpr std::pair<HopLink, std::string_view> kLinkNames[] = {
    {HopLink::kQueueId, "queue_id"},     {HopLink::kNextHopQueueId, "next_hop_queue_id"},
    {HopLink::kMessageId, "message_id"}, {HopLink::kOrigQueueId, "orig_queue_id"},
    {HopLink::kBounce, "bounce"},        {HopLink::kEnvelope, "envelope"},
    {HopLink::kDirect, "direct"},
};
}  // namespace

std::string_view to_string(HopLink link) {
  for (const auto& [l, name] : kLinkNames) {
    if (l == link) return name;
  }
  return "queue_id";
}

std::optional<HopLink> hop_link_from_string(std::string_view s) {
  for (const auto& [l, name] : kLinkNames) {
    if (name == s) return l;
  }
  return std::nullopt;
}

std::string make_incident_id(std::string_view detector_host, std::string_view key,
                             std::string_view virus, TimePoint detected_at) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  auto mix = [&h](std::string_view part) {
    for (unsigned char c : part) {
      h ^= c;
      h *= 0x100000001b3ULL;
    }
    h ^= 0xff;
    h *= 0x100000001b3ULL;
  };
  mix(detector_host);
  mix(key);
  mix(virus);
  mix(std::to_string(detected_at / kMicrosPerSecond));
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

namespace {

// Log text is not always UTF-8 (replayed files are raw bytes): invalid sequences become
// U+FFFD so the JSON stays valid for every consumer.
std::string utf8(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80           ? 1
                    : (c >> 5) == 0x6  ? 2
                    : (c >> 4) == 0xe  ? 3
                    : (c >> 3) == 0x1e ? 4
                                       : 0;
    bool ok = n > 0 && i + n <= s.size();
    for (std::size_t k = 1; ok && k < n; ++k) {
      ok = (static_cast<unsigned char>(s[i + k]) & 0xc0) == 0x80;
    }
    if (ok && n == 2) ok = c >= 0xc2;
    if (ok && n == 3) {
      const auto c1 = static_cast<unsigned char>(s[i + 1]);
      ok = !(c == 0xe0 && c1 < 0xa0) && !(c == 0xed && c1 >= 0xa0);
    }
    if (ok && n == 4) {
      const auto c1 = static_cast<unsigned char>(s[i + 1]);
      ok = c <= 0xf4 && !(c == 0xf0 && c1 < 0x90) && !(c == 0xf4 && c1 >= 0x90);
    }
    if (ok) {
      out.append(s, i, n);
      i += n;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

}  // namespace

std::string to_json(const Incident& in) {
  json::object o;
  o["schema"] = kIncidentSchema;
  o["id"] = in.id;
  o["revision"] = in.revision;
  o["detected_at"] = format_rfc3339(in.detected_at);
  o["detector"] = json::object{{"host", in.detector_host}, {"format", in.detector_format}};
  o["virus"] = utf8(in.virus);
  o["action"] = utf8(in.action);
  json::array to;
  for (const auto& r : in.envelope_to) to.emplace_back(utf8(r));
  o["envelope"] = json::object{{"from", utf8(in.envelope_from)}, {"to", std::move(to)}};
  json::object message{{"queue_id", utf8(in.queue_id)}, {"message_id", utf8(in.message_id)}};
  if (in.size) message["size"] = *in.size;
  if (!in.subject.empty()) message["subject"] = utf8(in.subject);
  if (!in.files.empty()) {
    json::array files;
    for (const auto& f : in.files) files.emplace_back(utf8(f));
    message["files"] = std::move(files);
  }
  o["message"] = std::move(message);
  json::array hops;
  for (const auto& h : in.hops) {
    hops.emplace_back(json::object{{"host", h.host},
                                   {"queue_id", utf8(h.queue_id)},
                                   {"received_at", format_rfc3339(h.received_at)},
                                   {"client_ip", h.client_ip},
                                   {"client_name", utf8(h.client_name)},
                                   {"link", to_string(h.link)}});
  }
  o["hops"] = std::move(hops);
  if (in.origin) {
    o["origin"] = json::object{{"ip", in.origin->ip},
                               {"name", utf8(in.origin->name)},
                               {"internal", in.origin->internal},
                               {"zone", in.origin->zone}};
  } else {
    o["origin"] = nullptr;
  }
  o["confidence"] = to_string(in.confidence);
  json::array candidates;
  for (const auto& c : in.candidates) {
    candidates.emplace_back(json::object{{"host", c.host},
                                         {"queue_id", c.queue_id},
                                         {"received_at", format_rfc3339(c.received_at)},
                                         {"origin_ip", c.origin_ip},
                                         {"origin_name", utf8(c.origin_name)}});
  }
  o["candidates"] = std::move(candidates);
  if (!in.note.empty()) o["note"] = utf8(in.note);
  json::array evidence;
  for (const auto& e : in.evidence) evidence.emplace_back(utf8(e));
  o["evidence"] = std::move(evidence);
  return json::serialize(o);
}

namespace {

std::string str(const json::object& o, std::string_view key) {
  if (auto* v = o.if_contains(key); v && v->is_string()) return std::string(v->get_string());
  return {};
}

TimePoint time_of(const json::object& o, std::string_view key, bool& ok) {
  const std::string text = str(o, key);
  auto t = parse_rfc3339(text);
  if (!t) {
    ok = false;
    return 0;
  }
  return *t;
}

std::vector<std::string> strings(const json::value* v) {
  std::vector<std::string> out;
  if (v && v->is_array()) {
    for (const auto& item : v->get_array()) {
      if (item.is_string()) out.emplace_back(item.get_string());
    }
  }
  return out;
}

}  // namespace

std::optional<Incident> incident_from_json(std::string_view text, std::string* error) {
  auto fail = [error](const std::string& why) -> std::optional<Incident> {
    if (error) *error = why;
    return std::nullopt;
  };
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return fail("not JSON: " + ec.message());
  if (!v.is_object()) return fail("not a JSON object");
  const auto& o = v.get_object();
  if (str(o, "schema") != kIncidentSchema) return fail("schema is not vtrace.incident/1");
  Incident in;
  in.id = str(o, "id");
  if (in.id.empty() || in.id.size() > 128) return fail("id is missing or too long");
  bool ok = true;
  in.detected_at = time_of(o, "detected_at", ok);
  if (!ok) return fail("detected_at is not RFC 3339");
  if (auto* r = o.if_contains("revision"); r && r->is_int64()) {
    in.revision = static_cast<int>(r->get_int64());
  }
  if (auto* d = o.if_contains("detector"); d && d->is_object()) {
    in.detector_host = str(d->get_object(), "host");
    in.detector_format = str(d->get_object(), "format");
  }
  in.virus = str(o, "virus");
  in.action = str(o, "action");
  if (auto* e = o.if_contains("envelope"); e && e->is_object()) {
    in.envelope_from = str(e->get_object(), "from");
    in.envelope_to = strings(e->get_object().if_contains("to"));
  }
  if (auto* m = o.if_contains("message"); m && m->is_object()) {
    const auto& mo = m->get_object();
    in.queue_id = str(mo, "queue_id");
    in.message_id = str(mo, "message_id");
    in.subject = str(mo, "subject");
    in.files = strings(mo.if_contains("files"));
    if (auto* s = mo.if_contains("size"); s && s->is_int64()) in.size = s->get_int64();
  }
  if (auto* hs = o.if_contains("hops"); hs && hs->is_array()) {
    for (const auto& hv : hs->get_array()) {
      if (!hv.is_object()) return fail("hop is not an object");
      const auto& ho = hv.get_object();
      Hop h;
      h.host = str(ho, "host");
      h.queue_id = str(ho, "queue_id");
      h.received_at = time_of(ho, "received_at", ok);
      h.client_ip = str(ho, "client_ip");
      h.client_name = str(ho, "client_name");
      h.link = hop_link_from_string(str(ho, "link")).value_or(HopLink::kQueueId);
      in.hops.push_back(std::move(h));
    }
  }
  if (auto* og = o.if_contains("origin"); og && og->is_object()) {
    const auto& oo = og->get_object();
    Origin origin;
    origin.ip = str(oo, "ip");
    origin.name = str(oo, "name");
    if (auto* i = oo.if_contains("internal"); i && i->is_bool()) origin.internal = i->get_bool();
    origin.zone = str(oo, "zone");
    in.origin = origin;
  }
  auto confidence = confidence_from_string(str(o, "confidence"));
  if (!confidence) return fail("confidence is not exact, fuzzy, ambiguous or unresolved");
  in.confidence = *confidence;
  if (auto* cs = o.if_contains("candidates"); cs && cs->is_array()) {
    for (const auto& cv : cs->get_array()) {
      if (!cv.is_object()) continue;
      const auto& co = cv.get_object();
      Candidate c;
      c.host = str(co, "host");
      c.queue_id = str(co, "queue_id");
      c.received_at = time_of(co, "received_at", ok);
      c.origin_ip = str(co, "origin_ip");
      c.origin_name = str(co, "origin_name");
      in.candidates.push_back(std::move(c));
    }
  }
  in.note = str(o, "note");
  in.evidence = strings(o.if_contains("evidence"));
  if (!ok) return fail("a timestamp is not RFC 3339");
  return in;
}

}  // namespace vtrace
