// to_json() writes the incident field by field; these tests hold it to the bytes Boost.JSON's
// document serialiser made of the same incidents (the serialiser it replaced, kept here as the
// reference), on generated incidents full of hostile text, and parse its output back.
#include <array>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <cstdio>
#include <ctime>
#include <limits>
#include <random>
#include <string>

#include "common/incident.hpp"

namespace {

namespace json = boost::json;
using vtrace::Incident;

// The replaced serialiser: invalid UTF-8 to U+FFFD, then a Boost.JSON document.
std::string utf8(const std::string& s) {
  std::string out;
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

std::string reference_to_json(const Incident& in) {
  using vtrace::format_rfc3339;
  using vtrace::to_string;
  json::object o;
  o["schema"] = vtrace::kIncidentSchema;
  o["id"] = in.id;
  o["revision"] = in.revision;
  o["kind"] = to_string(in.kind);
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
  if (in.direct_smtp) {
    const vtrace::DirectSmtpCounts& c = *in.direct_smtp;
    o["direct_smtp"] = json::object{{"connections", c.connections},
                                    {"destinations", c.destinations},
                                    {"blocked", c.blocked},
                                    {"allowed", c.allowed},
                                    {"first_seen", format_rfc3339(c.first_seen)},
                                    {"last_seen", format_rfc3339(c.last_seen)}};
  }
  return json::serialize(o);
}

// Text as hostile as a log line can be: controls, quotes, backslashes, DEL, valid multi-byte
// characters, and every kind of invalid UTF-8 (stray continuations, overlong forms,
// surrogates, beyond U+10FFFF, sequences cut short, at the end too).
class HostileText {
 public:
  explicit HostileText(std::uint32_t seed) : rng_(seed) {}

  std::string operator()(std::size_t max_pieces = 12) {
    static const char* const kPieces[] = {"a",
                                          "mail@example.org",
                                          " ",
                                          "\"",
                                          "\\",
                                          "\\\"",
                                          "\x7f",
                                          "/",
                                          "\xC3\xA9",
                                          "\xE4\xB8\xAD",
                                          "\xF0\x9F\x98\x80",
                                          "\x80",
                                          "\xBF",
                                          "\xC0\x80",
                                          "\xC1\xBF",
                                          "\xE0\x80\x80",
                                          "\xED\xA0\x80",
                                          "\xF4\x90\x80\x80",
                                          "\xF5\x80\x80\x80",
                                          "\xF8\x88\x80\x80\x80",
                                          "\xFF",
                                          "\xE2\x82",
                                          "\xF0\x9F\x98",
                                          "\xC3",
                                          "\xC2\xA0",
                                          "\xEF\xBF\xBD",
                                          "\xE0\xA0\x80",
                                          "\xED\x9F\xBF",
                                          "\xF0\x90\x80\x80",
                                          "\xF4\x8F\xBF\xBF",
                                          "\xE2\x80\xA8",
                                          "<script>",
                                          "'",
                                          "\r\n",
                                          "}",
                                          "]"};
    std::string s;
    const std::size_t pieces = pick(max_pieces + 1);
    for (std::size_t i = 0; i < pieces; ++i) {
      switch (pick(4)) {
        case 0:
          s += static_cast<char>(pick(0x20));  // a control character
          break;
        case 1:
          s += static_cast<char>(pick(256));  // any byte
          break;
        default:
          s += kPieces[pick(std::size(kPieces))];
      }
    }
    return s;
  }
  std::size_t pick(std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_);
  }
  std::int64_t number() {
    return std::uniform_int_distribution<std::int64_t>(
        std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max())(rng_);
  }
  // Times around now, and now and then far before 1970 or beyond year 9999.
  vtrace::TimePoint time() {
    if (pick(8) == 0) return number() / 4;
    return 1'795'000'000'000'000 + static_cast<std::int64_t>(pick(1'000'000'000'000));
  }

 private:
  std::mt19937 rng_;
};

Incident hostile_incident(HostileText& text) {
  Incident in;
  in.kind = text.pick(2) ? vtrace::IncidentKind::kVirusMail : vtrace::IncidentKind::kDirectSmtp;
  in.id = text();
  in.revision = static_cast<int>(text.number());
  in.detected_at = text.time();
  in.detector_host = text();
  in.detector_format = text();
  in.virus = text();
  in.action = text();
  in.envelope_from = text();
  for (std::size_t i = text.pick(4); i-- > 0;) in.envelope_to.push_back(text());
  in.queue_id = text();
  in.message_id = text();
  if (text.pick(2)) in.size = text.number();
  if (text.pick(2)) in.subject = text(text.pick(8) == 0 ? 4000 : 12);  // now and then long
  for (std::size_t i = text.pick(3); i-- > 0;) in.files.push_back(text());
  for (std::size_t i = text.pick(4); i-- > 0;) {
    in.hops.push_back(
        {text(), text(), text.time(), text(), text(), static_cast<vtrace::HopLink>(text.pick(7))});
  }
  if (text.pick(3)) in.origin = vtrace::Origin{text(), text(), text.pick(2) == 0, text()};
  in.confidence = static_cast<vtrace::Confidence>(text.pick(4));
  for (std::size_t i = text.pick(3); i-- > 0;) {
    in.candidates.push_back({text(), text(), text.time(), text(), text()});
  }
  if (text.pick(2)) in.note = text();
  for (std::size_t i = text.pick(4); i-- > 0;)
    in.evidence.push_back(text(text.pick(4) == 0 ? 6000 : 20));
  if (in.kind == vtrace::IncidentKind::kDirectSmtp) {
    in.direct_smtp = vtrace::DirectSmtpCounts{text.number(), text.number(), text.number(),
                                              text.number(), text.time(),   text.time()};
  }
  return in;
}

}  // namespace

TEST_CASE("to_json writes the bytes Boost.JSON's serialiser wrote, for hostile incidents",
          "[incident]") {
  HostileText text(20);
  for (int i = 0; i < 3000; ++i) {
    const Incident in = hostile_incident(text);
    const std::string written = vtrace::to_json(in);
    const std::string reference = reference_to_json(in);
    INFO("incident " << i);
    REQUIRE(written == reference);
  }
}

TEST_CASE("to_json output parses with boost::json to the incident's texts, made valid UTF-8",
          "[incident]") {
  HostileText text(7);
  for (int i = 0; i < 500; ++i) {
    Incident in = hostile_incident(text);
    // Names from the configuration and addresses are written as they are (they are UTF-8
    // already); log text is made valid.
    for (std::string* plain : {&in.id, &in.detector_host, &in.detector_format})
      *plain = utf8(*plain);
    for (auto& h : in.hops) h.host = utf8(h.host), h.client_ip = utf8(h.client_ip);
    for (auto& c : in.candidates) {
      c.host = utf8(c.host), c.queue_id = utf8(c.queue_id), c.origin_ip = utf8(c.origin_ip);
    }
    if (in.origin) in.origin->ip = utf8(in.origin->ip), in.origin->zone = utf8(in.origin->zone);
    boost::system::error_code ec;
    const json::value doc = json::parse(vtrace::to_json(in), ec);
    INFO("incident " << i);
    REQUIRE(!ec);
    const json::object& o = doc.as_object();
    CHECK(o.at("id").as_string() == in.id);
    CHECK(o.at("virus").as_string() == utf8(in.virus));
    CHECK(o.at("message").as_object().at("message_id").as_string() == utf8(in.message_id));
    CHECK(o.at("evidence").as_array().size() == in.evidence.size());
    for (std::size_t e = 0; e < in.evidence.size(); ++e) {
      CHECK(o.at("evidence").as_array()[e].as_string() == utf8(in.evidence[e]));
    }
    CHECK(o.at("revision").as_int64() == in.revision);
  }
}

TEST_CASE("an RFC 3339 time is written as snprintf wrote it, in every year", "[time]") {
  HostileText text(3);
  for (int i = 0; i < 20000; ++i) {
    const vtrace::TimePoint t =
        i < 4 ? std::array<vtrace::TimePoint, 4>{0, -1, 253402300799999999, 253402300800000000}[i]
              : text.time();
    std::int64_t secs = t / vtrace::kMicrosPerSecond;
    std::int64_t micros = t % vtrace::kMicrosPerSecond;
    if (micros < 0) micros += vtrace::kMicrosPerSecond, secs -= 1;
    const std::time_t whole = static_cast<std::time_t>(secs);
    std::tm tm{};
    if (gmtime_r(&whole, &tm) == nullptr) continue;  // beyond what the C library counts
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<long long>(micros));
    INFO("t = " << t);
    REQUIRE(vtrace::format_rfc3339(t) == buf);
  }
}
