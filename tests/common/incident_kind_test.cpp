// The incident's `kind` and the direct_smtp counts (docs/incident.md): older incidents without
// a kind are virus mail, and the counts come exactly with kind direct_smtp.
#include <catch2/catch.hpp>
#include <string>

#include "common/incident.hpp"

using namespace vtrace;

namespace {

// The minimal documented incident, as a responder receives it from an older correlator.
const std::string kWithoutKind =
    R"({"schema":"vtrace.incident/1","id":"0123456789abcdef","revision":1,)"
    R"("detected_at":"2026-11-28T05:00:36.618019Z","detector":{"host":"gw2","format":"isvw"},)"
    R"("virus":"WORM_LOVGATE.F","action":"deleted","envelope":{"from":"","to":[]},)"
    R"("message":{"queue_id":"","message_id":""},"hops":[],"origin":null,)"
    R"("confidence":"unresolved","candidates":[]})";

Incident direct_smtp_incident() {
  Incident in;
  in.kind = IncidentKind::kDirectSmtp;
  in.detected_at = make_utc(2026, 12, 7, 10, 4, 0);
  in.id = make_incident_id("fw1", "direct_smtp|10.20.1.45", "", in.detected_at);
  in.detector_host = "fw1";
  in.detector_format = "netfilter";
  in.action = "blocked";
  in.hops = {Hop{"fw1", "", make_utc(2026, 12, 7, 10, 0, 0), "10.20.1.45", "", HopLink::kDirect}};
  in.origin = Origin{"10.20.1.45", "", true, "campus"};
  in.confidence = Confidence::kExact;
  in.direct_smtp = DirectSmtpCounts{
      312, 97, 312, 0, make_utc(2026, 12, 7, 10, 0, 0), make_utc(2026, 12, 7, 10, 4, 0)};
  in.evidence = {"Dec  7 10:00:00 fw1 kernel: [UFW BLOCK] IN=eth1 OUT=eth0 SRC=10.20.1.45 ..."};
  return in;
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("an incident without a kind is accepted as virus mail", "[incident][kind]") {
  IncidentError error;
  const auto in = parse_incident(kWithoutKind, &error);
  INFO(error.message());
  REQUIRE(in);
  CHECK(in->kind == IncidentKind::kVirusMail);
  CHECK_FALSE(in->direct_smtp);
  CHECK(to_json(*in).find(R"("kind":"virus_mail")") != std::string::npos);
}

TEST_CASE("a direct_smtp incident with its counts survives the JSON round trip",
          "[incident][kind]") {
  const Incident in = direct_smtp_incident();
  const std::string text = to_json(in);
  CHECK(text.find(R"("kind":"direct_smtp")") != std::string::npos);
  CHECK(text.find(R"("direct_smtp":{"connections":312,"destinations":97,"blocked":312,)"
                  R"("allowed":0,"first_seen":"2026-12-07T10:00:00.000000Z",)"
                  R"("last_seen":"2026-12-07T10:04:00.000000Z"})") != std::string::npos);
  std::string problem;
  const auto back = incident_from_json(text, &problem);
  INFO(problem);
  REQUIRE(back);
  CHECK(*back == in);
  CHECK(to_json(*back) == text);
}

TEST_CASE("a kind and its counts that disagree are refused, naming the field", "[incident][kind]") {
  const std::string good = to_json(direct_smtp_incident());
  const std::string counts_at = R"(,"direct_smtp":{)";
  const auto cut = good.find(counts_at);
  REQUIRE(cut != std::string::npos);
  struct Row {
    std::string text;
    std::string field;
    std::string problem;
  };
  const std::vector<Row> rows = {
      {good.substr(0, cut) + "}", "direct_smtp", "missing while kind is direct_smtp"},
      {replaced(kWithoutKind, R"("candidates":[])",
                R"("candidates":[],"direct_smtp":{"connections":1,"destinations":1,)"
                R"("blocked":0,"allowed":0,"first_seen":"2026-12-07T10:00:00.000000Z",)"
                R"("last_seen":"2026-12-07T10:00:00.000000Z"})"),
       "direct_smtp", "only allowed when kind is direct_smtp"},
      {replaced(good, R"("kind":"direct_smtp")", R"("kind":"worm")"), "kind",
       "not virus_mail or direct_smtp"},
      {replaced(good, R"("kind":"direct_smtp")", R"("kind":1)"), "kind", "expected a string"},
      {replaced(good, R"("destinations":97)", R"("destinations":400)"), "direct_smtp.destinations",
       "more than direct_smtp.connections"},
      {replaced(good, R"("allowed":0)", R"("allowed":1)"), "direct_smtp.blocked",
       "add up to more than connections"},
      {replaced(good, R"("connections":312)", R"("connections":-1)"), "direct_smtp.connections",
       "negative"},
      {replaced(good, R"("last_seen":"2026-12-07T10:04:00.000000Z")",
                R"("last_seen":"2026-12-07T09:00:00.000000Z")"),
       "direct_smtp.last_seen", "earlier than first_seen"},
      {replaced(good, R"("allowed":0,)", R"("allowed":0,"ports":[25],)"), "direct_smtp.ports",
       "unknown field"},
  };
  for (const auto& row : rows) {
    INFO(row.text);
    IncidentError error;
    CHECK_FALSE(parse_incident(row.text, &error));
    CHECK(error.field == row.field);
    CHECK_THAT(error.problem, Catch::Contains(row.problem));
  }
}
