// Incident v1 <-> JSON: written field by field with Boost.JSON's escaping, read with Boost.JSON.
#include "common/incident.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <boost/json/basic_parser_impl.hpp>
#include <charconv>
#include <cstdio>
#include <limits>
#include <set>

#include "common/net.hpp"
#include "common/text.hpp"

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

std::string_view to_string(IncidentKind k) {
  return k == IncidentKind::kDirectSmtp ? "direct_smtp" : "virus_mail";
}

std::optional<IncidentKind> incident_kind_from_string(std::string_view s) {
  for (auto k : {IncidentKind::kVirusMail, IncidentKind::kDirectSmtp}) {
    if (to_string(k) == s) return k;
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

// The incident's JSON is written field by field into one string: its shape is fixed, so a
// general document tree (built, then serialised) would only add allocations. Strings are
// escaped as Boost.JSON's serializer escapes them (tests/common/incident_json_test.cpp holds
// the two to the same bytes, and parses the output back with boost::json).
class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  // `"key":`; the keys are the schema's own, plain ASCII.
  void key(std::string_view k) {
    out_ += '"';
    out_.append(k);
    out_.append("\":", 2);
  }
  void raw(std::string_view text) { out_.append(text); }
  void raw(char c) { out_ += c; }
  // A string as it is: the bytes pass through, only '"', '\' and controls are escaped.
  void string(std::string_view s) {
    out_ += '"';
    for (std::size_t i = 0; i < s.size();) {
      const std::size_t plain = plain_run(s, i, false);
      out_.append(s.data() + i, plain - i);
      if (plain == s.size()) break;
      escape(static_cast<unsigned char>(s[plain]));
      i = plain + 1;
    }
    out_ += '"';
  }
  // Log text, which is not always UTF-8 (replayed files are raw bytes): invalid sequences
  // become U+FFFD so the JSON stays valid for every consumer.
  void text(std::string_view s) {
    out_ += '"';
    for (std::size_t i = 0; i < s.size();) {
      const std::size_t plain = plain_run(s, i, true);
      out_.append(s.data() + i, plain - i);
      if (plain == s.size()) break;
      i = plain;
      const auto c = static_cast<unsigned char>(s[i]);
      if (c < 0x80) {
        escape(c);
        ++i;
      } else if (const std::size_t n = utf8_length(s, i); n > 0) {
        out_.append(s.data() + i, n);
        i += n;
      } else {
        out_.append("\xEF\xBF\xBD", 3);
        ++i;
      }
    }
    out_ += '"';
  }
  void number(std::int64_t v) {
    char buf[24];
    const auto end = std::to_chars(buf, buf + sizeof buf, v).ptr;
    out_.append(buf, static_cast<std::size_t>(end - buf));
  }
  void boolean(bool v) { out_.append(v ? "true" : "false"); }
  void time(TimePoint t) {
    out_ += '"';
    append_rfc3339(out_, t);
    out_ += '"';
  }

 private:
  // The end of the run from s[i] that needs no escaping: no controls, '"' or '\', and with
  // `ascii`, nothing >= 0x80 (which text() checks for UTF-8). Eight bytes at a time: in each
  // flag mask the lowest flagged byte is a true hit (a borrow only runs upwards from one).
  static std::size_t plain_run(std::string_view s, std::size_t i, bool ascii) {
    constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
    constexpr std::uint64_t kHigh = 0x8080808080808080ULL;
    const std::uint64_t high = ascii ? kHigh : 0;
    for (; i + 8 <= s.size(); i += 8) {
      std::uint64_t w;
      std::memcpy(&w, s.data() + i, 8);
      const std::uint64_t quote = w ^ (kOnes * '"');
      const std::uint64_t backslash = w ^ (kOnes * '\\');
      const std::uint64_t below_space = (w - kOnes * 0x20) & ~w;
      const std::uint64_t quotes = (quote - kOnes) & ~quote;
      const std::uint64_t backslashes = (backslash - kOnes) & ~backslash;
      const std::uint64_t flags = ((below_space | quotes | backslashes) & kHigh) | (w & high);
      if (flags != 0) return i + static_cast<std::size_t>(std::countr_zero(flags)) / 8;
    }
    for (; i < s.size(); ++i) {
      const auto c = static_cast<unsigned char>(s[i]);
      if (c < 0x20 || c == '"' || c == '\\' || (ascii && c >= 0x80)) return i;
    }
    return i;
  }

  // Boost.JSON's escapes: the short forms for \b \t \n \f \r, \u00xx (lower-case hex) for the
  // other controls, and \" and \\.
  void escape(unsigned char c) {
    static constexpr char kHex[] = "0123456789abcdef";
    switch (c) {
      case '"':
        out_.append("\\\"", 2);
        break;
      case '\\':
        out_.append("\\\\", 2);
        break;
      case '\b':
        out_.append("\\b", 2);
        break;
      case '\t':
        out_.append("\\t", 2);
        break;
      case '\n':
        out_.append("\\n", 2);
        break;
      case '\f':
        out_.append("\\f", 2);
        break;
      case '\r':
        out_.append("\\r", 2);
        break;
      default: {
        const char u[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
        out_.append(u, 6);
      }
    }
  }

  std::string& out_;
};

// Lists of log text: `[` "a" `,` "b" `]`.
void text_array(JsonWriter& w, const std::vector<std::string>& items) {
  w.raw('[');
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) w.raw(',');
    w.text(items[i]);
  }
  w.raw(']');
}

std::size_t expected_size(const Incident& in) {
  std::size_t n = 640 + in.virus.size() + in.envelope_from.size() + in.message_id.size() +
                  in.subject.size() + in.note.size() +
                  200 * (in.hops.size() + in.candidates.size());
  for (const auto& e : in.evidence) n += e.size() + 8;
  for (const auto& r : in.envelope_to) n += r.size() + 4;
  return n;
}

}  // namespace

std::string to_json(const Incident& in) {
  std::string out;
  out.reserve(expected_size(in));
  JsonWriter w(out);
  w.raw('{');
  w.key("schema");
  w.string(kIncidentSchema);
  w.raw(',');
  w.key("id");
  w.string(in.id);
  w.raw(',');
  w.key("revision");
  w.number(in.revision);
  w.raw(',');
  w.key("kind");
  w.string(to_string(in.kind));
  w.raw(',');
  w.key("detected_at");
  w.time(in.detected_at);
  w.raw(",\"detector\":{");
  w.key("host");
  w.string(in.detector_host);
  w.raw(',');
  w.key("format");
  w.string(in.detector_format);
  w.raw("},");
  w.key("virus");
  w.text(in.virus);
  w.raw(',');
  w.key("action");
  w.text(in.action);
  w.raw(",\"envelope\":{");
  w.key("from");
  w.text(in.envelope_from);
  w.raw(',');
  w.key("to");
  text_array(w, in.envelope_to);
  w.raw("},\"message\":{");
  w.key("queue_id");
  w.text(in.queue_id);
  w.raw(',');
  w.key("message_id");
  w.text(in.message_id);
  if (in.size) {
    w.raw(',');
    w.key("size");
    w.number(*in.size);
  }
  if (!in.subject.empty()) {
    w.raw(',');
    w.key("subject");
    w.text(in.subject);
  }
  if (!in.files.empty()) {
    w.raw(',');
    w.key("files");
    text_array(w, in.files);
  }
  w.raw("},\"hops\":[");
  for (std::size_t i = 0; i < in.hops.size(); ++i) {
    const Hop& h = in.hops[i];
    w.raw(i > 0 ? ",{" : "{");
    w.key("host");
    w.string(h.host);
    w.raw(',');
    w.key("queue_id");
    w.text(h.queue_id);
    w.raw(',');
    w.key("received_at");
    w.time(h.received_at);
    w.raw(',');
    w.key("client_ip");
    w.string(h.client_ip);
    w.raw(',');
    w.key("client_name");
    w.text(h.client_name);
    w.raw(',');
    w.key("link");
    w.string(to_string(h.link));
    w.raw('}');
  }
  w.raw("],");
  w.key("origin");
  if (in.origin) {
    w.raw('{');
    w.key("ip");
    w.string(in.origin->ip);
    w.raw(',');
    w.key("name");
    w.text(in.origin->name);
    w.raw(',');
    w.key("internal");
    w.boolean(in.origin->internal);
    w.raw(',');
    w.key("zone");
    w.string(in.origin->zone);
    w.raw('}');
  } else {
    w.raw("null");
  }
  w.raw(',');
  w.key("confidence");
  w.string(to_string(in.confidence));
  w.raw(",\"candidates\":[");
  for (std::size_t i = 0; i < in.candidates.size(); ++i) {
    const Candidate& c = in.candidates[i];
    w.raw(i > 0 ? ",{" : "{");
    w.key("host");
    w.string(c.host);
    w.raw(',');
    w.key("queue_id");
    w.string(c.queue_id);
    w.raw(',');
    w.key("received_at");
    w.time(c.received_at);
    w.raw(',');
    w.key("origin_ip");
    w.string(c.origin_ip);
    w.raw(',');
    w.key("origin_name");
    w.text(c.origin_name);
    w.raw('}');
  }
  w.raw(']');
  if (!in.note.empty()) {
    w.raw(',');
    w.key("note");
    w.text(in.note);
  }
  w.raw(',');
  w.key("evidence");
  text_array(w, in.evidence);
  if (in.direct_smtp) {
    const DirectSmtpCounts& c = *in.direct_smtp;
    w.raw(",\"direct_smtp\":{");
    w.key("connections");
    w.number(c.connections);
    w.raw(',');
    w.key("destinations");
    w.number(c.destinations);
    w.raw(',');
    w.key("blocked");
    w.number(c.blocked);
    w.raw(',');
    w.key("allowed");
    w.number(c.allowed);
    w.raw(',');
    w.key("first_seen");
    w.time(c.first_seen);
    w.raw(',');
    w.key("last_seen");
    w.time(c.last_seen);
    w.raw('}');
  }
  w.raw('}');
  return out;
}

bool valid_incident_id(std::string_view id) {
  if (id.empty() || id.size() > incident_limits::kIdBytes) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

std::string IncidentError::message() const {
  return field.empty() ? problem : field + ": " + problem;
}

namespace {

namespace limits = incident_limits;

// The first wrong field, thrown from deep in the walk and caught once at the top.
struct Refusal {
  std::string field;
  std::string problem;
};

[[noreturn]] void refuse(std::string field, std::string problem) {
  throw Refusal{std::move(field), std::move(problem)};
}

const char* kind_name(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_:
      return "a number";
    case json::kind::string:
      return "a string";
    case json::kind::array:
      return "an array";
    case json::kind::object:
      return "an object";
  }
  return "something else";
}

[[noreturn]] void wrong_type(const std::string& field, const char* expected,
                             const json::value& got) {
  refuse(field, std::string("expected ") + expected + ", got " + kind_name(got));
}

// One JSON object of the document: its path, and its keys checked against the known ones.
class Fields {
 public:
  Fields(const json::value& v, std::string path, std::initializer_list<std::string_view> known)
      : path_(std::move(path)) {
    if (!v.is_object()) wrong_type(path_, "an object", v);
    object_ = &v.get_object();
    for (const auto& kv : *object_) {
      bool listed = false;
      for (auto k : known) listed = listed || k == kv.key();
      if (!listed) refuse(field(kv.key()), "unknown field");
    }
  }

  std::string field(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }
  const json::value* optional(std::string_view key) const { return object_->if_contains(key); }
  const json::value& required(std::string_view key) const {
    const json::value* v = object_->if_contains(key);
    if (!v) refuse(field(key), "missing");
    return *v;
  }

  // Attacker text from the logs (any characters), within `max` bytes.
  std::string text(std::string_view key, std::size_t max, bool required = true) const {
    const json::value* v = required ? &this->required(key) : optional(key);
    if (!v) return {};
    return text_value(*v, max, [&] { return field(key); });
  }
  // `path` makes the field's name, only when it is refused.
  template <class Path>
  static std::string text_value(const json::value& v, std::size_t max, const Path& path) {
    if (!v.is_string()) wrong_type(path(), "a string", v);
    const json::string& s = v.get_string();
    if (s.size() > max) refuse(path(), "longer than " + std::to_string(max) + " bytes");
    return std::string(s);
  }

  // A configured name (source, parser, zone): letters, digits, '-', '_', '.'.
  std::string name(std::string_view key, bool may_be_empty = false) const {
    std::string s = text(key, limits::kNameBytes);
    if (s.empty() && may_be_empty) return s;
    if (!valid_name(s, limits::kNameBytes)) {
      refuse(field(key), s.empty() ? "empty (expected a configured name)"
                                   : "not a name (letters, digits, '-', '_' and '.')");
    }
    return s;
  }

  // An IP address in canonical text (dotted quad, RFC 5952), so that one host is one string.
  std::string ip(std::string_view key, bool may_be_empty) const {
    std::string s = text(key, 64);
    if (s.empty() && may_be_empty) return s;
    const auto address = IpAddress::parse(s);
    if (!address || s.rfind("IPv6:", 0) == 0 || s.rfind("ipv6:", 0) == 0) {
      refuse(field(key), "not an IP address");
    }
    if (address->to_string() != s) {
      refuse(field(key),
             "not an IP address in canonical form (expected " + address->to_string() + ")");
    }
    return s;
  }

  TimePoint time(std::string_view key) const {
    const json::value& v = required(key);
    if (!v.is_string()) wrong_type(field(key), "an RFC 3339 time", v);
    const json::string& s = v.get_string();
    const auto t = parse_rfc3339_exact(std::string_view(s.data(), s.size()));
    if (!t) {
      refuse(field(key), "not an RFC 3339 time from 1970 on (such as 2026-11-28T05:00:36.618019Z)");
    }
    return *t;
  }

  const json::array* array(std::string_view key, std::size_t max_items, bool required) const {
    const json::value* v = required ? &this->required(key) : optional(key);
    if (!v) return nullptr;
    if (!v->is_array()) wrong_type(field(key), "an array", *v);
    if (v->get_array().size() > max_items) {
      refuse(field(key), "more than " + std::to_string(max_items) + " items");
    }
    return &v->get_array();
  }

  std::vector<std::string> texts(std::string_view key, std::size_t max_items, std::size_t max_bytes,
                                 bool required) const {
    std::vector<std::string> out;
    const json::array* a = array(key, max_items, required);
    if (!a) return out;
    for (std::size_t i = 0; i < a->size(); ++i) {
      out.push_back(text_value((*a)[i], max_bytes, [&] { return item(key, i); }));
    }
    return out;
  }

  std::string item(std::string_view key, std::size_t i) const {
    return field(key) + "[" + std::to_string(i) + "]";
  }

 private:
  std::string path_;
  const json::object* object_ = nullptr;
};

Hop hop_from(const json::value& v, const std::string& path) {
  const Fields f(v, path, {"host", "queue_id", "received_at", "client_ip", "client_name", "link"});
  Hop h;
  h.host = f.name("host");
  h.queue_id = f.text("queue_id", limits::kQueueIdBytes);
  h.received_at = f.time("received_at");
  h.client_ip = f.ip("client_ip", true);
  h.client_name = f.text("client_name", limits::kTextBytes);
  const json::value& link = f.required("link");
  if (!link.is_string()) wrong_type(f.field("link"), "a string", link);
  const auto parsed = hop_link_from_string(link.get_string());
  if (!parsed) {
    refuse(f.field("link"),
           "not queue_id, next_hop_queue_id, message_id, orig_queue_id, bounce, envelope or "
           "direct");
  }
  h.link = *parsed;
  return h;
}

Candidate candidate_from(const json::value& v, const std::string& path) {
  const Fields f(v, path, {"host", "queue_id", "received_at", "origin_ip", "origin_name"});
  Candidate c;
  c.host = f.name("host");
  c.queue_id = f.text("queue_id", limits::kQueueIdBytes);
  c.received_at = f.time("received_at");
  c.origin_ip = f.ip("origin_ip", true);
  c.origin_name = f.text("origin_name", limits::kTextBytes);
  return c;
}

Origin origin_from(const json::value& v) {
  const Fields f(v, "origin", {"ip", "name", "internal", "zone"});
  Origin o;
  o.ip = f.ip("ip", false);
  o.name = f.text("name", limits::kTextBytes);
  const json::value& internal = f.required("internal");
  if (!internal.is_bool()) wrong_type(f.field("internal"), "true or false", internal);
  o.internal = internal.get_bool();
  o.zone = f.name("zone", true);
  return o;
}

int revision_from(const Fields& f) {
  const json::value& v = f.required("revision");
  if (v.is_uint64() || (v.is_int64() && v.get_int64() > std::numeric_limits<int>::max())) {
    refuse(f.field("revision"), "larger than " + std::to_string(std::numeric_limits<int>::max()));
  }
  if (!v.is_int64()) wrong_type(f.field("revision"), "a whole number", v);
  if (v.get_int64() < 1) refuse(f.field("revision"), "not a positive whole number");
  return static_cast<int>(v.get_int64());
}

std::optional<std::int64_t> size_from(const Fields& f) {
  const json::value* v = f.optional("size");
  if (!v) return std::nullopt;
  if (v->is_uint64()) refuse(f.field("size"), "too large");
  if (!v->is_int64()) wrong_type(f.field("size"), "a whole number", *v);
  if (v->get_int64() < 0) refuse(f.field("size"), "negative");
  return v->get_int64();
}

std::int64_t count_from(const Fields& f, std::string_view key) {
  const json::value& v = f.required(key);
  if (v.is_uint64()) refuse(f.field(key), "too large");
  if (!v.is_int64()) wrong_type(f.field(key), "a whole number", v);
  if (v.get_int64() < 0) refuse(f.field(key), "negative");
  return v.get_int64();
}

DirectSmtpCounts direct_smtp_from(const json::value& v) {
  const Fields f(v, "direct_smtp",
                 {"connections", "destinations", "blocked", "allowed", "first_seen", "last_seen"});
  DirectSmtpCounts c;
  c.connections = count_from(f, "connections");
  c.destinations = count_from(f, "destinations");
  c.blocked = count_from(f, "blocked");
  c.allowed = count_from(f, "allowed");
  c.first_seen = f.time("first_seen");
  c.last_seen = f.time("last_seen");
  if (c.destinations > c.connections) {
    refuse("direct_smtp.destinations", "more than direct_smtp.connections");
  }
  if (c.blocked > c.connections - c.allowed) {
    refuse("direct_smtp.blocked", "blocked and allowed add up to more than connections");
  }
  if (c.last_seen < c.first_seen) refuse("direct_smtp.last_seen", "earlier than first_seen");
  return c;
}

Incident incident_from(const json::value& document) {
  const Fields f(document, "",
                 {"schema", "id", "revision", "detected_at", "detector", "virus", "action",
                  "envelope", "message", "hops", "origin", "confidence", "candidates", "note",
                  "evidence", "kind", "direct_smtp"});
  const json::value& schema = f.required("schema");
  if (!schema.is_string() || schema.get_string() != kIncidentSchema) {
    refuse("schema", "not " + std::string(kIncidentSchema));
  }
  Incident in;
  in.id = f.text("id", limits::kIdBytes);
  if (!valid_incident_id(in.id)) {
    refuse("id", in.id.empty() ? "empty" : "not an incident id (letters, digits, '-', '_', '.')");
  }
  in.revision = revision_from(f);
  in.detected_at = f.time("detected_at");
  {
    const Fields d(f.required("detector"), "detector", {"host", "format"});
    in.detector_host = d.name("host");
    in.detector_format = d.name("format");
  }
  in.virus = f.text("virus", limits::kLabelBytes);
  in.action = f.text("action", limits::kLabelBytes);
  {
    const Fields e(f.required("envelope"), "envelope", {"from", "to"});
    in.envelope_from = e.text("from", limits::kTextBytes);
    in.envelope_to = e.texts("to", limits::kRecipients, limits::kTextBytes, true);
  }
  {
    const Fields m(f.required("message"), "message",
                   {"queue_id", "message_id", "size", "subject", "files"});
    in.queue_id = m.text("queue_id", limits::kQueueIdBytes);
    in.message_id = m.text("message_id", limits::kTextBytes);
    in.size = size_from(m);
    in.subject = m.text("subject", limits::kSubjectBytes, false);
    in.files = m.texts("files", limits::kFiles, limits::kTextBytes, false);
  }
  const json::array& hops = *f.array("hops", limits::kHops, true);
  for (std::size_t i = 0; i < hops.size(); ++i) {
    in.hops.push_back(hop_from(hops[i], f.item("hops", i)));
  }
  const json::value* origin = f.optional("origin");
  if (origin && !origin->is_null()) in.origin = origin_from(*origin);
  const json::value& confidence = f.required("confidence");
  if (!confidence.is_string()) wrong_type("confidence", "a string", confidence);
  const auto parsed = confidence_from_string(confidence.get_string());
  if (!parsed) refuse("confidence", "not exact, fuzzy, ambiguous or unresolved");
  in.confidence = *parsed;
  // The responder acts on an origin only when the trace asserts one: the two must agree.
  const bool asserts_origin =
      in.confidence == Confidence::kExact || in.confidence == Confidence::kFuzzy;
  if (asserts_origin && !in.origin) {
    refuse("origin", "missing or null while confidence is " +
                         std::string(to_string(in.confidence)) +
                         " (exact and fuzzy traces name their origin)");
  }
  if (!asserts_origin && in.origin) {
    refuse("origin", "must be null when confidence is " + std::string(to_string(in.confidence)));
  }
  const json::array& candidates = *f.array("candidates", limits::kCandidates, true);
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    in.candidates.push_back(candidate_from(candidates[i], f.item("candidates", i)));
  }
  in.note = f.text("note", limits::kNoteBytes, false);
  in.evidence = f.texts("evidence", limits::kEvidenceLines, limits::kEvidenceLineBytes, false);
  if (const json::value* kind = f.optional("kind")) {
    if (!kind->is_string()) wrong_type("kind", "a string", *kind);
    const auto parsed_kind = incident_kind_from_string(kind->get_string());
    if (!parsed_kind) refuse("kind", "not virus_mail or direct_smtp");
    in.kind = *parsed_kind;
  }
  const json::value* counts = f.optional("direct_smtp");
  if (in.kind == IncidentKind::kDirectSmtp && !counts) {
    refuse("direct_smtp", "missing while kind is direct_smtp");
  }
  if (in.kind != IncidentKind::kDirectSmtp && counts) {
    refuse("direct_smtp", "only allowed when kind is direct_smtp");
  }
  if (counts) in.direct_smtp = direct_smtp_from(*counts);
  return in;
}

// Boost.JSON keeps the last of repeated keys. A repeated key is refused instead, so that no
// reader of the same document (a proxy, an audit tool) can see another value than we act on.
// This handler walks the text once, tracking the path, and stops at the first repetition.
class RepeatedKeyFinder {
 public:
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  std::string repeated;  // the path of the first repeated key

  bool on_document_begin(boost::system::error_code&) { return true; }
  bool on_document_end(boost::system::error_code&) { return true; }
  bool on_object_begin(boost::system::error_code&) {
    open(true);
    return true;
  }
  bool on_object_end(std::size_t, boost::system::error_code&) { return close(); }
  bool on_array_begin(boost::system::error_code&) {
    open(false);
    return true;
  }
  bool on_array_end(std::size_t, boost::system::error_code&) { return close(); }
  bool on_key_part(json::string_view s, std::size_t, boost::system::error_code&) {
    key_.append(s.data(), s.size());
    return true;
  }
  bool on_key(json::string_view s, std::size_t, boost::system::error_code& ec) {
    key_.append(s.data(), s.size());
    if (!levels_.back().add(key_)) {
      repeated = path() + key_;
      ec = json::error::syntax;  // any error stops the walk; `repeated` says why
      return false;
    }
    levels_.back().current = std::move(key_);
    key_.clear();
    return true;
  }
  bool on_string_part(json::string_view, std::size_t, boost::system::error_code&) { return true; }
  bool on_string(json::string_view, std::size_t, boost::system::error_code&) { return value(); }
  bool on_number_part(json::string_view, boost::system::error_code&) { return true; }
  bool on_int64(std::int64_t, json::string_view, boost::system::error_code&) { return value(); }
  bool on_uint64(std::uint64_t, json::string_view, boost::system::error_code&) { return value(); }
  bool on_double(double, json::string_view, boost::system::error_code&) { return value(); }
  bool on_bool(bool, boost::system::error_code&) { return value(); }
  bool on_null(boost::system::error_code&) { return value(); }
  bool on_comment_part(json::string_view, boost::system::error_code&) { return true; }
  bool on_comment(json::string_view, boost::system::error_code&) { return true; }

 private:
  struct Level {
    bool object = false;
    // An incident's objects have a few keys each: a list searched in turn, and a set only
    // for a document with many, so that no document costs quadratic time.
    std::vector<std::string> few;
    std::set<std::string> many;
    std::string current;    // the key being read (objects)
    std::size_t index = 0;  // the item being read (arrays)

    // False when `key` was seen before in this object.
    bool add(const std::string& key) {
      constexpr std::size_t kFew = 32;
      if (few.size() < kFew) {
        if (std::find(few.begin(), few.end(), key) != few.end()) return false;
        few.push_back(key);
        return true;
      }
      if (many.empty()) many.insert(few.begin(), few.end());
      return many.insert(key).second;
    }
  };

  // The path of the innermost container, with a '.' to append a key ("hops[1]."), made only
  // for the error: each level below names its item in the level above it.
  std::string path() const {
    std::string out;
    for (std::size_t i = 0; i + 1 < levels_.size(); ++i) {
      const Level& l = levels_[i];
      if (l.object) {
        out += (out.empty() ? "" : ".") + l.current;
      } else {
        out += "[" + std::to_string(l.index) + "]";
      }
    }
    return out.empty() ? out : out + ".";
  }

  void open(bool object) {
    levels_.emplace_back();
    levels_.back().object = object;
  }
  bool close() {
    levels_.pop_back();
    return value();
  }
  bool value() {
    if (!levels_.empty() && !levels_.back().object) ++levels_.back().index;
    return true;
  }

  std::vector<Level> levels_;
  std::string key_;
};

std::string repeated_key(std::string_view text) {
  json::basic_parser<RepeatedKeyFinder> parser(json::parse_options{});
  boost::system::error_code ec;
  parser.write_some(false, text.data(), text.size(), ec);
  return parser.handler().repeated;
}

}  // namespace

std::optional<Incident> parse_incident(std::string_view text, IncidentError* error) {
  auto fail = [error](std::string field, std::string problem) -> std::optional<Incident> {
    if (error) *error = IncidentError{std::move(field), std::move(problem)};
    return std::nullopt;
  };
  boost::system::error_code ec;
  const json::value document = json::parse(text, ec);
  if (ec) return fail("", "not JSON: " + ec.message());
  if (!document.is_object()) return fail("", "not a JSON object");
  if (const std::string key = repeated_key(text); !key.empty()) {
    return fail(key, "repeated key");
  }
  try {
    return incident_from(document);
  } catch (const Refusal& r) {
    return fail(r.field, r.problem);
  }
}

std::optional<Incident> incident_from_json(std::string_view text, std::string* error) {
  IncidentError e;
  auto in = parse_incident(text, &e);
  if (!in && error) *error = e.message();
  return in;
}

}  // namespace vtrace
