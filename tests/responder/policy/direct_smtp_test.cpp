// The responder and direct_smtp incidents: policies match on `kind`, the mail says what the
// firewall saw (no virus), and the incident is stored with its kind and counts.
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <string>

#include "responder/engine.hpp"
#include "responder/policy/policy.hpp"
#include "tests/responder/support.hpp"

namespace vtrace::responder {
namespace {

using test::FakeClock;
using test::internal_incident;
using test::RecordingSender;

// What the correlator sends for pc-45: 312 blocked attempts to 97 hosts over 4 minutes.
Incident direct_smtp_incident(const std::string& id, TimePoint at) {
  Incident in;
  in.kind = IncidentKind::kDirectSmtp;
  in.id = id;
  in.detected_at = at;
  in.detector_host = "fw1";
  in.detector_format = "netfilter";
  in.action = "blocked";
  in.hops = {Hop{"fw1", "", at - seconds(240), "10.1.23.45", "", HopLink::kDirect}};
  in.origin = Origin{"10.1.23.45", "pc-45", true, "tsushima"};
  in.confidence = Confidence::kExact;
  in.direct_smtp = DirectSmtpCounts{312, 97, 312, 0, at - seconds(240), at};
  in.evidence = {
      "Dec  7 10:00:01 fw1 kernel: [UFW BLOCK] IN=eth1 OUT=eth0 SRC=10.1.23.45 "
      "DST=198.51.100.7 PROTO=TCP SPT=41945 DPT=25 SYN URGP=0"};
  return in;
}

std::optional<ResponderConfig> parse(const std::string& text, Diagnostics& d) {
  return parse_responder_config(text, "responder.yaml", d);
}

const std::string kHead = R"(smtp:
  host: 127.0.0.1
  port: 2525
  from: vtrace@example.ac.jp
policies:
)";

}  // namespace

TEST_CASE("a policy's match may name one kind or a list of kinds", "[responder][direct-smtp]") {
  Diagnostics d;
  auto c = parse(kHead + R"(  - name: worms
    match: {kind: direct_smtp}
    actions: [{type: log}]
  - name: both
    match: {kind: [virus_mail, direct_smtp]}
    actions: [{type: log}]
)",
                 d);
  INFO(d.render());
  REQUIRE(c);
  CHECK(c->policies[0].match.kinds == std::vector<std::string>{"direct_smtp"});
  CHECK(c->policies[1].match.kinds == std::vector<std::string>{"virus_mail", "direct_smtp"});
  Diagnostics bad;
  CHECK_FALSE(
      parse(kHead + "  - name: worms\n    match: {kind: worm}\n    actions: [{type: log}]\n", bad));
  REQUIRE(bad.size() == 1);
  CHECK(bad.items()[0].line == 7);
  CHECK_THAT(bad.items()[0].message,
             Catch::Contains("'worm' is not one of: virus_mail, direct_smtp"));
}

TEST_CASE("a kind match selects incidents of that kind only", "[responder][direct-smtp]") {
  PolicyMatch direct;
  direct.kinds = {"direct_smtp"};
  PolicyMatch virus;
  virus.kinds = {"virus_mail"};
  const PolicyMatch any;
  const Incident worm = direct_smtp_incident("d1", make_utc(2026, 12, 7, 10, 4, 0));
  const Incident mail = internal_incident("i1", make_utc(2026, 12, 7, 10, 4, 0));
  CHECK(matches(direct, worm));
  CHECK_FALSE(matches(direct, mail));
  CHECK(matches(virus, mail));
  CHECK_FALSE(matches(virus, worm));
  CHECK(matches(any, worm));
  CHECK(matches(any, mail));
}

TEST_CASE("a direct_smtp incident is mailed with what the firewall saw and no virus wording",
          "[responder][direct-smtp]") {
  auto config = std::make_shared<ResponderConfig>();
  config->smtp.from = "vtrace@example.ac.jp";
  config->mail.per_recipient_per_hour = 1000;
  Policy policy;
  policy.name = "worms";
  policy.match.kinds = {"direct_smtp"};
  ActionConfig mail;
  mail.type = ActionType::kMail;
  mail.to = {"admins@example.ac.jp"};
  mail.template_name = "incident";
  policy.actions = {mail};
  config->policies = {policy};
  FakeClock clock;
  Engine engine(config, clock, ":memory:");
  const Incident in = direct_smtp_incident("d1", clock.now());
  const auto r = engine.ingest(in, "127.0.0.1");
  CHECK(r.kind == IngestKind::kCreated);
  CHECK(r.actions_run == 1);
  // Not a virus mail: a virus-mail policy of the same engine would not have matched it.
  CHECK(engine.ingest(internal_incident("i1", clock.now()), "127.0.0.1").actions_run == 0);
  RecordingSender sender;
  engine.deliver_due(sender, 10);
  REQUIRE(sender.sent.size() == 1);
  const std::string& message = sender.sent[0].message;
  CHECK(message.find("Subject: [vtrace] direct SMTP from 10.1.23.45 (pc-45) (internal, zone "
                     "tsushima): 312 connections to 97 hosts") != std::string::npos);
  CHECK(message.find("10.1.23.45 (pc-45) tried 312 SMTP connections to 97 hosts in 4 min, all "
                     "blocked by fw1.") != std::string::npos);
  CHECK(message.find("SRC=10.1.23.45") != std::string::npos);
  CHECK(message.find("irus") == std::string::npos);  // neither "Virus" nor "virus"
  // Stored as sent: the kind and the counts come back from the store.
  const auto stored = engine.incident_json("d1");
  REQUIRE(stored);
  CHECK(stored->find(R"("kind":"direct_smtp")") != std::string::npos);
  CHECK(stored->find(R"("connections":312)") != std::string::npos);
}

TEST_CASE("the statistics count direct SMTP bursts apart from virus mail",
          "[responder][direct-smtp][stats]") {
  auto config = std::make_shared<ResponderConfig>();
  FakeClock clock;
  Engine engine(config, clock, ":memory:");
  const TimePoint since = clock.now() - seconds(3600);
  REQUIRE(engine.ingest(direct_smtp_incident("d1", clock.now()), "127.0.0.1").kind ==
          IngestKind::kCreated);
  REQUIRE(engine.ingest(internal_incident("i1", clock.now()), "127.0.0.1").kind ==
          IngestKind::kCreated);
  const auto stats = boost::json::parse(engine.stats_json(since)).as_object();
  CHECK(stats.at("internal").as_int64() == 1);  // the virus mail only
  CHECK(stats.at("direct_smtp").as_int64() == 1);
  const auto& viruses = stats.at("viruses").as_array();
  REQUIRE(viruses.size() == 1);
  CHECK(viruses[0].at("virus").as_string() == "Worm.Mydoom.M");
  const auto& hosts = stats.at("direct_smtp_hosts").as_array();
  REQUIRE(hosts.size() == 1);
  CHECK(hosts[0].at("ip").as_string() == "10.1.23.45");
  CHECK(hosts[0].at("bursts").as_int64() == 1);
  CHECK(hosts[0].at("connections").as_int64() == 312);
  CHECK(hosts[0].at("destinations").as_int64() == 97);
  CHECK(hosts[0].at("blocked").as_int64() == 312);
  // The outbreak timeline: a class of its own.
  const auto& timeline = stats.at("timeline").as_object();
  CHECK(timeline.at("classes").as_array().back().as_string() == "direct_smtp");
  const auto& hour = timeline.at("hours").as_array().at(0).as_object();
  CHECK(hour.at("direct_smtp").as_int64() == 1);
  CHECK(hour.at("internal").as_int64() == 1);
  // The incident list says which kind each is, with a firewall's counts.
  const auto list = boost::json::parse(engine.list_incidents_json("", since, 10)).as_object();
  bool seen_direct = false;
  for (const auto& i : list.at("incidents").as_array()) {
    if (i.at("id").as_string() != "d1") {
      CHECK(i.at("kind").as_string() == "virus_mail");
      continue;
    }
    seen_direct = true;
    CHECK(i.at("kind").as_string() == "direct_smtp");
    CHECK(i.at("direct_smtp").at("connections").as_int64() == 312);
  }
  CHECK(seen_direct);
}

TEST_CASE("the shipped policies answer a direct_smtp incident with its own policy only",
          "[responder][direct-smtp][config]") {
  Diagnostics d;
  auto shipped = load_responder_config(std::string(VTRACE_SOURCE_DIR) + "/rules/responder.yaml", d);
  INFO(d.render());
  REQUIRE(shipped);
  auto config = std::make_shared<ResponderConfig>(*shipped);
  FakeClock clock;
  Engine engine(config, clock, ":memory:");
  // direct-smtp: log, disable_port and mail (both dry-run); the virus-mail policies name
  // their kind, so the same recipient gets one mail, not two.
  CHECK(engine.ingest(direct_smtp_incident("d1", clock.now()), "127.0.0.1").actions_run == 3);
  // A virus mail from inside: internal-origin's log and mail, as before (contain-internal
  // waits for its third), and direct-smtp stays out of it.
  CHECK(engine.ingest(internal_incident("i1", clock.now()), "127.0.0.1").actions_run == 2);
}

}  // namespace vtrace::responder
