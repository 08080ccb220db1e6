// Unit tests for the incident v1 JSON form (common/incident) and its stable id.
#include "common/incident.hpp"

#include <catch2/catch.hpp>
#include <string>

using namespace vtrace;

namespace {

// A fully populated incident built from the facts of the bundled scenario's first gw1 detection
// (tests/fixtures/scenario/gw1.log, clamav-milter line for queue id 7F310975433).
Incident full_incident() {
  Incident in;
  in.detected_at = make_utc(2026, 11, 28, 5, 0, 36, 618019);
  in.id = make_incident_id("gw1", "7F310975433", "Win.Worm.Lovgate-3", in.detected_at);
  in.revision = 3;
  in.detector_host = "gw1";
  in.detector_format = "clamav-milter";
  in.virus = "Win.Worm.Lovgate-3";
  in.action = "rejected";
  in.envelope_from = "support@example.com";
  in.envelope_to = {"office@example.ac.jp", "sato@example.ac.jp"};
  in.queue_id = "7F310975433";
  in.message_id = "vpnkafic.241.Ahms0c@example.com";
  in.size = 41526;
  in.subject = "Re: document";
  in.files = {"photo.exe", "readme.scr"};
  in.hops = {
      Hop{"gw1", "7F310975433", make_utc(2026, 11, 28, 5, 0, 36, 100000), "10.1.0.25",
          "relay1.campus.example.ac.jp", HopLink::kQueueId},
      Hop{"relay1", "21599E3E9C", make_utc(2026, 11, 28, 5, 0, 35, 999999), "10.20.1.40",
          "pc83.dept.example.ac.jp", HopLink::kNextHopQueueId},
  };
  in.origin = Origin{"10.20.1.40", "pc83.dept.example.ac.jp", true, "dept"};
  in.confidence = Confidence::kExact;
  in.candidates = {Candidate{"relay2", "6AS503TO001068", make_utc(2026, 11, 28, 5, 0, 1),
                             "10.1.138.188", "pc176.campus.example.ac.jp"}};
  in.note = "traced by queue id";
  in.evidence = {
      "2026-11-28T05:00:36.618019+00:00 gw1 clamav-milter[777]: Message 7F310975433 from "
      "<support@example.com> to <office@example.ac.jp> with subject 'Re: document' "
      "message-id '<vpnkafic.241.Ahms0c@example.com>' date 'Sat, 28 Nov 2026 05:00:36 +0000' "
      "infected by Win.Worm.Lovgate-3"};
  return in;
}

std::optional<Incident> round_trip(const Incident& in, std::string* error = nullptr) {
  return incident_from_json(to_json(in), error);
}

// A minimal valid document that the rejection tests vary one field at a time.
std::string minimal_json(std::string_view schema = "\"vtrace.incident/1\"",
                         std::string_view id = "\"0123456789abcdef\"",
                         std::string_view detected_at = "\"2026-11-28T05:00:36.618019Z\"",
                         std::string_view confidence = "\"unresolved\"",
                         std::string_view hops = "[]") {
  std::string s = "{";
  if (!schema.empty()) s += "\"schema\":" + std::string(schema) + ",";
  s += "\"id\":" + std::string(id) + ",";
  s += "\"detected_at\":" + std::string(detected_at) + ",";
  s += "\"hops\":" + std::string(hops) + ",";
  s += "\"confidence\":" + std::string(confidence) + "}";
  return s;
}

}  // namespace

TEST_CASE("an incident survives to_json and incident_from_json unchanged", "[incident]") {
  const Incident in = full_incident();
  std::string error;
  const auto back = round_trip(in, &error);
  INFO(error);
  REQUIRE(back);
  CHECK(*back == in);
  CHECK(back->hops.size() == 2);
  CHECK(back->hops[1].link == HopLink::kNextHopQueueId);
  CHECK(back->origin->zone == "dept");
  CHECK(back->size == 41526);
}

TEST_CASE("an unresolved incident without optional parts round-trips", "[incident]") {
  Incident in;
  in.detected_at = make_utc(2026, 11, 28, 5, 0, 59);
  in.id = make_incident_id("gw2", "", "WORM_LOVGATE.F", in.detected_at);
  in.detector_host = "gw2";
  in.detector_format = "isvw";
  in.virus = "WORM_LOVGATE.F";
  in.action = "deleted";
  in.envelope_from = "";  // the null sender <>
  const auto back = round_trip(in);
  REQUIRE(back);
  CHECK(*back == in);
  CHECK_FALSE(back->origin);
  CHECK_FALSE(back->size);
  CHECK(back->confidence == Confidence::kUnresolved);
}

TEST_CASE("to_json writes one line with the schema, the id and RFC 3339 times", "[incident]") {
  const std::string json = to_json(full_incident());
  CHECK(json.find('\n') == std::string::npos);
  CHECK(json.find("\"schema\":\"vtrace.incident/1\"") != std::string::npos);
  CHECK(json.find("\"detected_at\":\"2026-11-28T05:00:36.618019Z\"") != std::string::npos);
  CHECK(json.find("\"confidence\":\"exact\"") != std::string::npos);
  CHECK(json.find("\"link\":\"next_hop_queue_id\"") != std::string::npos);
}

TEST_CASE("every confidence and hop link name round-trips", "[incident]") {
  for (auto c :
       {Confidence::kExact, Confidence::kFuzzy, Confidence::kAmbiguous, Confidence::kUnresolved}) {
    CHECK(confidence_from_string(to_string(c)) == c);
  }
  for (auto l : {HopLink::kQueueId, HopLink::kNextHopQueueId, HopLink::kMessageId,
                 HopLink::kOrigQueueId, HopLink::kBounce, HopLink::kEnvelope, HopLink::kDirect}) {
    CHECK(hop_link_from_string(to_string(l)) == l);
    Incident in = full_incident();
    in.hops[0].link = l;
    const auto back = round_trip(in);
    REQUIRE(back);
    CHECK(back->hops[0].link == l);
  }
  CHECK_FALSE(confidence_from_string("certain"));
  CHECK_FALSE(hop_link_from_string("telepathy"));
}

TEST_CASE("hostile attacker text survives the JSON round trip byte for byte", "[incident]") {
  Incident in = full_incident();
  in.subject =
      "\"quoted\" 'single' back\\slash \r\nX-Injected: yes\r\n</script><script>alert(1)"
      "</script> \t tab \x01\x1f ctl";
  in.message_id = "<\"}],\"virus\":\"none\",\"x\":[{\"@evil>";
  in.envelope_from = "\"x, relay=evil [6.6.6.6]\"@example.com";
  in.envelope_to = {"\xe9\x88\xb4\xe6\x9c\xa8@example.ac.jp", "a\"b@example.com"};  // 鈴木
  in.note = std::string("embedded\0nul", 12);
  in.evidence.push_back(
      "Date: 11/28/26 05:00:59 | Subject: "
      "\xe3\x82\xa6\xe3\x82\xa4\xe3\x83\xab\xe3\x82\xb9\xe6\xa4\x9c\xe5\x87\xba");
  in.files = {"\xe8\xab\x8b\xe6\xb1\x82\xe6\x9b\xb8.exe"};  // 請求書.exe
  const std::string json = to_json(in);
  CHECK(json.find('\n') == std::string::npos);
  CHECK(json.find('\r') == std::string::npos);
  std::string error;
  const auto back = incident_from_json(json, &error);
  INFO(error);
  REQUIRE(back);
  CHECK(*back == in);
  CHECK(back->virus == "Win.Worm.Lovgate-3");  // the injected "virus" key did not take over
  CHECK(back->subject == in.subject);
  CHECK(back->note.size() == 12);
}

TEST_CASE("attacker text with bytes that are not UTF-8 still yields parseable JSON", "[incident]") {
  // Shift_JIS / ISO-8859-1 subjects appear raw in clamav-milter Full lines (clamfi.c logs the
  // header unconverted). The incident must stay readable JSON: a consumer that cannot parse
  // it loses the whole detection.
  Incident in = full_incident();
  in.subject = "\x83\x45\x83\x43\x83\x8b\x83\x58 caf\xe9 \xff\xfe";  // "ウイルス" in Shift_JIS
  std::string error;
  const auto back = round_trip(in, &error);
  INFO(error);
  REQUIRE(back);
  CHECK(back->virus == in.virus);
  CHECK(back->queue_id == in.queue_id);
  CHECK(back->hops == in.hops);
  // the ASCII survives; what cannot be UTF-8 is replaced, not dropped with the incident
  CHECK(back->subject.find(" caf") != std::string::npos);
  CHECK(back->subject.find("\xEF\xBF\xBD") != std::string::npos);  // U+FFFD
}

TEST_CASE("incident_from_json rejects documents of another schema", "[incident]") {
  std::string error;
  CHECK_FALSE(incident_from_json(minimal_json("\"vtrace.incident/2\""), &error));
  CHECK(error == "schema is not vtrace.incident/1");
  CHECK_FALSE(incident_from_json(minimal_json(""), &error));
  CHECK(error == "schema is not vtrace.incident/1");
  CHECK_FALSE(incident_from_json(minimal_json("1"), &error));
  CHECK(error == "schema is not vtrace.incident/1");
  // the minimal document itself is accepted
  const auto ok = incident_from_json(minimal_json(), &error);
  REQUIRE(ok);
  CHECK(ok->id == "0123456789abcdef");
  CHECK(ok->detected_at == make_utc(2026, 11, 28, 5, 0, 36, 618019));
  CHECK(ok->revision == 1);
}

TEST_CASE("incident_from_json rejects text that is not a JSON object", "[incident]") {
  std::string error;
  CHECK_FALSE(incident_from_json("", &error));
  CHECK(error.rfind("not JSON", 0) == 0);
  CHECK_FALSE(incident_from_json("{\"schema\":\"vtrace.incident/1\"", &error));
  CHECK(error.rfind("not JSON", 0) == 0);
  CHECK_FALSE(incident_from_json("[\"vtrace.incident/1\"]", &error));
  CHECK(error == "not a JSON object");
  CHECK_FALSE(incident_from_json("\"vtrace.incident/1\"", &error));
  CHECK(error == "not a JSON object");
  CHECK_FALSE(incident_from_json("{\"schema\":\"vtrace.incident/1\"} trailing", nullptr));
}

TEST_CASE("incident_from_json rejects a missing id, bad times and unknown confidences",
          "[incident]") {
  std::string error;
  CHECK_FALSE(incident_from_json(minimal_json("\"vtrace.incident/1\"", "\"\""), &error));
  CHECK(error == "id is missing or too long");
  CHECK_FALSE(incident_from_json(
      minimal_json("\"vtrace.incident/1\"", "\"" + std::string(129, 'a') + "\""), &error));
  CHECK(error == "id is missing or too long");
  CHECK_FALSE(incident_from_json(minimal_json("\"vtrace.incident/1\"", "42"), &error));
  CHECK_FALSE(incident_from_json(
      minimal_json("\"vtrace.incident/1\"", "\"abc\"", "\"Nov 28 05:00:36\""), &error));
  CHECK(error == "detected_at is not RFC 3339");
  CHECK_FALSE(incident_from_json(
      minimal_json("\"vtrace.incident/1\"", "\"abc\"", "\"2026-11-28T05:00:36Z\"", "\"certain\""),
      &error));
  CHECK(error == "confidence is not exact, fuzzy, ambiguous or unresolved");
  CHECK_FALSE(incident_from_json(minimal_json("\"vtrace.incident/1\"", "\"abc\"",
                                              "\"2026-11-28T05:00:36Z\"", "\"exact\"", "[1]"),
                                 &error));
  CHECK(error == "hop is not an object");
  CHECK_FALSE(incident_from_json(
      minimal_json("\"vtrace.incident/1\"", "\"abc\"", "\"2026-11-28T05:00:36Z\"", "\"exact\"",
                   "[{\"host\":\"gw1\",\"received_at\":\"yesterday\"}]"),
      &error));
  CHECK(error == "a timestamp is not RFC 3339");
}

TEST_CASE("make_incident_id is 16 hex digits and deterministic", "[incident]") {
  const TimePoint t = make_utc(2026, 11, 28, 5, 0, 36, 618019);
  const std::string id = make_incident_id("gw1", "7F310975433", "Win.Worm.Lovgate-3", t);
  CHECK(id.size() == 16);
  CHECK(id.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(make_incident_id("gw1", "7F310975433", "Win.Worm.Lovgate-3", t) == id);
  // sub-second differences of the same detection keep the id (seconds resolution)
  CHECK(make_incident_id("gw1", "7F310975433", "Win.Worm.Lovgate-3",
                         make_utc(2026, 11, 28, 5, 0, 36, 999999)) == id);
}

TEST_CASE("make_incident_id changes with every part of the detection's identity", "[incident]") {
  const TimePoint t = make_utc(2026, 11, 28, 5, 0, 36);
  const std::string id = make_incident_id("gw1", "7F310975433", "Win.Worm.Lovgate-3", t);
  CHECK(make_incident_id("gw2", "7F310975433", "Win.Worm.Lovgate-3", t) != id);
  CHECK(make_incident_id("gw1", "7F310975434", "Win.Worm.Lovgate-3", t) != id);
  CHECK(make_incident_id("gw1", "7F310975433", "Win.Worm.Lovgate-4", t) != id);
  CHECK(make_incident_id("gw1", "7F310975433", "Win.Worm.Lovgate-3", t + seconds(1)) != id);
  // the parts are delimited: moving a character across a boundary changes the id
  CHECK(make_incident_id("gw", "17F310975433", "Win.Worm.Lovgate-3", t) != id);
  CHECK(make_incident_id("ab", "c", "v", t) != make_incident_id("a", "bc", "v", t));
  CHECK(make_incident_id("", "", "", 0) != make_incident_id("", "", "", seconds(1)));
}
