// Unit tests for the incident v1 JSON form (common/incident) and its stable id.
#include "common/incident.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <limits>
#include <map>
#include <sstream>
#include <string>

#include "module/input/replay.hpp"
#include "module/output/incident_bounds.hpp"
#include "support/correlator_harness.hpp"

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

namespace {

// One wrong field of an otherwise valid document: `pointer` (RFC 6901) names what changes,
// `value` is its new JSON text (empty: the key is removed).
struct BadField {
  std::string pointer;
  std::string value;
  std::string field;    // what the error must name
  std::string problem;  // and the start of what it must say
};

void change(boost::json::value& document, const BadField& row) {
  const std::size_t slash = row.pointer.rfind('/');
  boost::json::value& parent =
      slash == 0 ? document : document.at_pointer(row.pointer.substr(0, slash));
  const std::string key = row.pointer.substr(slash + 1);
  if (parent.is_array()) {
    parent.as_array().at(std::stoul(key)) = boost::json::parse(row.value);
  } else if (row.value.empty()) {
    REQUIRE(parent.as_object().erase(key) == 1);
  } else {
    parent.as_object()[key] = boost::json::parse(row.value);
  }
}

std::string repeat_json_array(const std::string& item, std::size_t n) {
  std::string out = "[";
  for (std::size_t i = 0; i < n; ++i) out += (i ? "," : "") + item;
  return out + "]";
}

std::string quoted(std::size_t bytes) { return "\"" + std::string(bytes, 'a') + "\""; }

}  // namespace

TEST_CASE("every field of a wrong type or shape is refused, naming the field", "[incident]") {
  const std::string hop = R"({"host":"gw1","queue_id":"Q","received_at":"2026-11-28T05:00:36Z",)"
                          R"("client_ip":"10.1.0.25","client_name":"relay1","link":"queue_id"})";
  const std::vector<BadField> rows = {
      {"/schema", R"("vtrace.incident/2")", "schema", "not vtrace.incident/1"},
      {"/schema", "", "schema", "missing"},
      {"/schema", "1", "schema", "not vtrace.incident/1"},
      {"/id", "42", "id", "expected a string, got a number"},
      {"/id", R"("")", "id", "empty"},
      {"/id", R"("../../etc/passwd")", "id", "not an incident id"},
      {"/id", R"("a b")", "id", "not an incident id"},
      {"/id", quoted(129), "id", "longer than 128 bytes"},
      {"/id", "", "id", "missing"},
      {"/revision", R"("2")", "revision", "expected a whole number, got a string"},
      {"/revision", "2.0", "revision", "expected a whole number, got a number"},
      {"/revision", "0", "revision", "not a positive whole number"},
      {"/revision", "-1", "revision", "not a positive whole number"},
      {"/revision", "2147483648", "revision", "larger than 2147483647"},
      {"/revision", "18446744073709551615", "revision", "larger than 2147483647"},
      {"/revision", "true", "revision", "expected a whole number, got a boolean"},
      {"/revision", "", "revision", "missing"},
      {"/detected_at", R"("2026-02-29T00:00:00Z")", "detected_at", "not an RFC 3339 time"},
      {"/detected_at", R"("2026-04-31T00:00:00Z")", "detected_at", "not an RFC 3339 time"},
      {"/detected_at", R"("0001-01-01T00:00:00Z")", "detected_at", "not an RFC 3339 time"},
      {"/detected_at", R"("1969-12-31T23:59:59Z")", "detected_at", "not an RFC 3339 time"},
      {"/detected_at", R"("1970-01-01T00:30:00+01:00")", "detected_at", "not an RFC 3339 time"},
      {"/detected_at", R"("Nov 28 05:00:36")", "detected_at", "not an RFC 3339 time"},
      {"/detected_at", R"("2026-11-28T05:00:36")", "detected_at", "not an RFC 3339 time"},
      {"/detected_at", R"("2026-11-28 05:00:36Z")", "detected_at", "not an RFC 3339 time"},
      {"/detected_at", R"("2026-11-28T05:00:36+0900")", "detected_at", "not an RFC 3339 time"},
      {"/detected_at", R"("2026-11-28T05:00:36+24:00")", "detected_at", "not an RFC 3339 time"},
      {"/detected_at", R"("2026-11-28T05:00:36.618019999Z")", "detected_at",
       "not an RFC 3339 time"},
      {"/detected_at", R"("2026-11-28T05:00:36Z ")", "detected_at", "not an RFC 3339 time"},
      {"/detected_at", "1764306036", "detected_at", "expected an RFC 3339 time, got a number"},
      {"/detector", R"("gw1")", "detector", "expected an object, got a string"},
      {"/detector", "", "detector", "missing"},
      {"/detector/host", R"("gw 1")", "detector.host", "not a name"},
      {"/detector/host", R"("")", "detector.host", "empty"},
      {"/detector/host", quoted(256), "detector.host", "longer than 255 bytes"},
      {"/detector/format", "null", "detector.format", "expected a string, got null"},
      {"/detector/version", R"("1")", "detector.version", "unknown field"},
      {"/virus", "12345", "virus", "expected a string, got a number"},
      {"/virus", quoted(513), "virus", "longer than 512 bytes"},
      {"/action", quoted(513), "action", "longer than 512 bytes"},
      {"/virus", "", "virus", "missing"},
      {"/action", "true", "action", "expected a string, got a boolean"},
      {"/envelope/to", R"("a@example.ac.jp")", "envelope.to", "expected an array, got a string"},
      {"/envelope/to", R"(["a@example.ac.jp",1])", "envelope.to[1]", "expected a string"},
      {"/envelope/to", repeat_json_array(R"("a@example.ac.jp")", 65), "envelope.to",
       "more than 64 items"},
      {"/envelope/to/0", quoted(1025), "envelope.to[0]", "longer than 1024 bytes"},
      {"/envelope/from", "", "envelope.from", "missing"},
      {"/envelope/from", "null", "envelope.from", "expected a string, got null"},
      {"/message/size", R"("41526")", "message.size", "expected a whole number, got a string"},
      {"/message/size", "1.5", "message.size", "expected a whole number, got a number"},
      {"/message/size", "-1", "message.size", "negative"},
      {"/message/size", "18446744073709551615", "message.size", "too large"},
      {"/message/subject", quoted(16385), "message.subject", "longer than 16384 bytes"},
      {"/message/files", R"("photo.exe")", "message.files", "expected an array"},
      {"/message/queue_id", quoted(257), "message.queue_id", "longer than 256 bytes"},
      {"/message/message_id", "", "message.message_id", "missing"},
      {"/message/Subject", R"("x")", "message.Subject", "unknown field"},
      {"/hops", R"("relay1")", "hops", "expected an array, got a string"},
      {"/hops", "", "hops", "missing"},
      {"/hops", repeat_json_array(hop, 129), "hops", "more than 128 items"},
      {"/hops/1", "1", "hops[1]", "expected an object, got a number"},
      {"/hops/1/client_ip", R"("not-an-ip<>")", "hops[1].client_ip", "not an IP address"},
      {"/hops/1/client_ip", R"("relay1")", "hops[1].client_ip", "not an IP address"},
      {"/hops/1/client_ip", R"("10.20.1.256")", "hops[1].client_ip", "not an IP address"},
      {"/hops/1/client_ip", R"("IPv6:2001:db8::1")", "hops[1].client_ip", "not an IP address"},
      {"/hops/1/client_ip", R"("2001:DB8::1")", "hops[1].client_ip",
       "not an IP address in canonical form (expected 2001:db8::1)"},
      {"/hops/1/client_ip", R"("::ffff:10.20.1.40")", "hops[1].client_ip",
       "not an IP address in canonical form (expected 10.20.1.40)"},
      {"/hops/1/received_at", R"("yesterday")", "hops[1].received_at", "not an RFC 3339 time"},
      {"/hops/1/received_at", "", "hops[1].received_at", "missing"},
      {"/hops/1/link", R"("telepathy")", "hops[1].link", "not queue_id, next_hop_queue_id"},
      {"/hops/1/link", "2", "hops[1].link", "expected a string, got a number"},
      {"/hops/1/host", R"("relay1;reboot")", "hops[1].host", "not a name"},
      {"/hops/1/client_name", "[]", "hops[1].client_name", "expected a string, got an array"},
      {"/hops/1/via", R"("x")", "hops[1].via", "unknown field"},
      {"/origin", R"("10.20.1.40")", "origin", "expected an object, got a string"},
      {"/origin", "null", "origin", "missing or null while confidence is exact"},
      {"/origin", "", "origin", "missing or null while confidence is exact"},
      {"/origin/internal", R"("true")", "origin.internal", "expected true or false, got a string"},
      {"/origin/internal", "1", "origin.internal", "expected true or false, got a number"},
      {"/origin/ip", R"("not-an-ip<>")", "origin.ip", "not an IP address"},
      {"/origin/ip", R"("")", "origin.ip", "not an IP address"},
      {"/origin/zone", R"("dept office")", "origin.zone", "not a name"},
      {"/origin/zone", "", "origin.zone", "missing"},
      {"/confidence", R"("certain")", "confidence", "not exact, fuzzy, ambiguous or unresolved"},
      {"/confidence", R"("EXACT")", "confidence", "not exact, fuzzy, ambiguous or unresolved"},
      {"/confidence", "1", "confidence", "expected a string, got a number"},
      {"/confidence", R"("ambiguous")", "origin", "must be null when confidence is ambiguous"},
      {"/candidates", "{}", "candidates", "expected an array, got an object"},
      {"/candidates/0/origin_ip", R"("pc176")", "candidates[0].origin_ip", "not an IP address"},
      {"/candidates/0/received_at", R"("yesterday")", "candidates[0].received_at",
       "not an RFC 3339 time"},
      {"/candidates/0/host", R"("")", "candidates[0].host", "empty"},
      {"/note", "5", "note", "expected a string, got a number"},
      {"/note", quoted(4097), "note", "longer than 4096 bytes"},
      {"/evidence", R"("one line")", "evidence", "expected an array, got a string"},
      {"/evidence", repeat_json_array(R"("line")", 17), "evidence", "more than 16 items"},
      {"/evidence/0", quoted(16385), "evidence[0]", "longer than 16384 bytes"},
      {"/Internal", "true", "Internal", "unknown field"},
  };
  for (const auto& row : rows) {
    boost::json::value document = boost::json::parse(to_json(full_incident()));
    change(document, row);
    const std::string text = boost::json::serialize(document);
    INFO(row.pointer << " = " << row.value.substr(0, 80));
    IncidentError error;
    CHECK_FALSE(parse_incident(text, &error));
    CHECK(error.field == row.field);
    CHECK(error.problem.rfind(row.problem, 0) == 0);
    CHECK(error.message() == error.field + ": " + error.problem);
  }
}

TEST_CASE("a repeated key is refused, naming it, whichever value would have won", "[incident]") {
  const std::string text = to_json(full_incident());
  const std::vector<std::pair<std::string, std::string>> rows = {
      {R"("virus":"Win.Worm.Lovgate-3")", "virus"},
      {R"("internal":true)", "origin.internal"},
      {R"("client_ip":"10.20.1.40")", "hops[1].client_ip"},
      {R"("host":"relay2")", "candidates[0].host"},
  };
  for (const auto& [member, field] : rows) {
    const std::size_t at = text.find(member);
    REQUIRE(at != std::string::npos);
    for (const std::string& twice :
         {member + "," + member, member + "," + member.substr(0, member.find(':')) + ":\"x\""}) {
      std::string bad = text;
      bad.replace(at, member.size(), twice);
      INFO(bad);
      IncidentError error;
      CHECK_FALSE(parse_incident(bad, &error));
      CHECK(error.field == field);
      CHECK(error.problem == "repeated key");
    }
  }
}

TEST_CASE("a key repeated after many others in one object is still found", "[incident]") {
  std::string text = to_json(full_incident());
  std::string filler;
  for (int i = 0; i < 100; ++i) filler += "\"k" + std::to_string(i) + "\":0,";
  const std::string detector = R"("detector":{)";
  text.insert(text.find(detector) + detector.size(), R"("format":"postfix",)" + filler);
  IncidentError error;
  CHECK_FALSE(parse_incident(text, &error));
  CHECK(error.field == "detector.format");
  CHECK(error.problem == "repeated key");
}

TEST_CASE("an incident with every field at its documented limit is accepted unchanged",
          "[incident]") {
  namespace limits = incident_limits;
  Incident in = full_incident();
  in.id = std::string(limits::kIdBytes, 'f');
  in.revision = std::numeric_limits<int>::max();
  in.detector_host = std::string(limits::kNameBytes, 'g');
  in.detector_format = std::string(limits::kNameBytes, 'c');
  in.virus = std::string(limits::kLabelBytes, 'v');
  in.action = std::string(limits::kLabelBytes, 'a');
  in.envelope_from = std::string(limits::kTextBytes, 'f');
  in.envelope_to.assign(limits::kRecipients, std::string(limits::kTextBytes, 't'));
  in.queue_id = std::string(limits::kQueueIdBytes, 'Q');
  in.message_id = std::string(limits::kTextBytes, 'm');
  in.size = std::numeric_limits<std::int64_t>::max();
  in.subject = std::string(limits::kSubjectBytes, 's');
  in.files.assign(limits::kFiles, std::string(limits::kTextBytes, 'x'));
  Hop hop{std::string(limits::kNameBytes, 'h'), std::string(limits::kQueueIdBytes, 'q'),
          make_utc(1970, 1, 1, 0, 0, 0),        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
          std::string(limits::kTextBytes, 'n'), HopLink::kEnvelope};
  in.hops.assign(limits::kHops, hop);
  in.origin->zone = std::string(limits::kNameBytes, 'z');
  in.candidates.assign(limits::kCandidates, in.candidates.front());
  in.note = std::string(limits::kNoteBytes, 'n');
  in.evidence.assign(limits::kEvidenceLines, std::string(limits::kEvidenceLineBytes, 'e'));
  in.detected_at = make_utc(9999, 12, 31, 23, 59, 59, 999999);
  const std::string text = to_json(in);
  IncidentError error;
  const auto back = parse_incident(text, &error);
  INFO(error.message());
  REQUIRE(back);
  CHECK(*back == in);
  CHECK(to_json(*back) == text);
  // The largest incident the contract allows, before escaping: what a body limit must hold.
  CHECK(text.size() < 800'000);
}

TEST_CASE("an incident of oversized log text, once the correlator bounds it, is accepted",
          "[incident]") {
  // Every field the correlator copies from log lines, far over every limit.
  const std::string huge(100'000, 'x');
  Incident in = full_incident();
  in.virus = huge;
  in.envelope_from = huge;
  in.envelope_to.assign(100, huge);
  in.queue_id = huge;
  in.message_id = huge;
  in.subject = huge;
  in.files.assign(50, huge);
  for (auto& hop : in.hops) {
    hop.queue_id = huge;
    hop.client_name = huge;
  }
  in.origin->name = huge;
  in.candidates.assign(
      40, Candidate{"relay2", huge, make_utc(2026, 11, 28, 5, 0, 1), "10.1.138.188", huge});
  in.note = huge;
  in.evidence.assign(20, huge);
  REQUIRE(bound_incident(in) > 0);
  IncidentError error;
  const auto back = parse_incident(to_json(in), &error);
  INFO(error.message());
  REQUIRE(back);
  CHECK(*back == in);
}

TEST_CASE("the minimal documented incident is accepted with its optional keys defaulted",
          "[incident]") {
  const std::string text =
      R"({"schema":"vtrace.incident/1","id":"0123456789abcdef","revision":1,)"
      R"("detected_at":"2026-11-28T05:00:36.618019Z","detector":{"host":"gw2","format":"isvw"},)"
      R"("virus":"WORM_LOVGATE.F","action":"deleted","envelope":{"from":"","to":[]},)"
      R"("message":{"queue_id":"","message_id":""},"hops":[],"origin":null,)"
      R"("confidence":"unresolved","candidates":[]})";
  IncidentError error;
  const auto in = parse_incident(text, &error);
  INFO(error.message());
  REQUIRE(in);
  CHECK(in->id == "0123456789abcdef");
  CHECK(in->detected_at == make_utc(2026, 11, 28, 5, 0, 36, 618019));
  CHECK_FALSE(in->size);
  CHECK(in->subject.empty());
  CHECK(in->files.empty());
  CHECK(in->note.empty());
  CHECK(in->evidence.empty());
  CHECK_FALSE(in->origin);
  // an origin left out is the same as a null one
  std::string without_origin = text;
  without_origin.erase(without_origin.find(R"("origin":null,)"), 14);
  const auto same = parse_incident(without_origin, &error);
  INFO(error.message());
  REQUIRE(same);
  CHECK(*same == *in);
}

namespace {

// The correlator's incidents of the bundled scenario (tests/fixtures/scenario) from `files`.
std::vector<Incident> scenario_incidents(const std::vector<std::string>& files) {
  const std::string dir = std::string(VTRACE_FIXTURES) + "/scenario/";
  Diagnostics diagnostics;
  const auto settings = load_correlator_settings(dir + "vtrace.yaml", diagnostics);
  REQUIRE(settings);
  testing::RecordingSink sink;
  Correlator correlator(*settings, sink, "UTC");
  std::vector<ReplayInput> inputs;
  for (const std::string& file : files) {
    const std::size_t eq = file.find('=');
    inputs.push_back(parse_replay_argument(
        eq == std::string::npos ? dir + file : file.substr(0, eq + 1) + dir + file.substr(eq + 1)));
  }
  ReplayOptions options;
  options.year = 2026;
  options.timezone = "UTC";
  std::ostringstream progress;
  run_replay(correlator, inputs, options, progress);
  return sink.incidents;
}

}  // namespace

TEST_CASE(
    "every incident the correlator makes of the bundled scenario parses back strictly "
    "and serialises to the same bytes",
    "[incident][scenario]") {
  // All of it, then the gateways without their relays' logs (chains that break: unresolved).
  auto incidents = scenario_incidents({"relay1.log", "gw2=isvw.log", "gw1.log", "relay2.log",
                                       "relay3.log", "gw2.log", "intruder.log"});
  REQUIRE(incidents.size() > 50);
  const auto broken = scenario_incidents({"gw2=isvw.log", "gw1.log", "gw2.log"});
  incidents.insert(incidents.end(), broken.begin(), broken.end());
  std::map<Confidence, int> seen;
  for (const Incident& in : incidents) {
    const std::string text = to_json(in);
    IncidentError error;
    const auto back = parse_incident(text, &error);
    INFO(text);
    INFO(error.message());
    REQUIRE(back);
    CHECK(to_json(*back) == text);
    ++seen[back->confidence];
  }
  // Every kind of trace was made, so every branch of the contract was parsed.
  CHECK(seen[Confidence::kExact] > 0);
  CHECK(seen[Confidence::kFuzzy] > 0);
  CHECK(seen[Confidence::kAmbiguous] > 0);
  CHECK(seen[Confidence::kUnresolved] > 0);
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
