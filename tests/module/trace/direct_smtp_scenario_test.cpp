// Acceptance-style: the bundled mail scenario replayed with firewall logs
// (tests/fixtures/direct_smtp/README.md). One worm PC crosses the threshold; a PC under it, a
// configured relay, an outside host and an unknown "firewall" do not.
#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "module/input/replay.hpp"
#include "support/correlator_harness.hpp"

using namespace vtrace;

namespace {

const std::string kScenario = std::string(VTRACE_FIXTURES) + "/scenario/";
const std::string kDirect = std::string(VTRACE_FIXTURES) + "/direct_smtp/";

std::vector<Incident> replay(const std::string& config, const std::vector<std::string>& files) {
  Diagnostics diagnostics;
  const auto settings = load_correlator_settings(config, diagnostics);
  INFO(diagnostics.render());
  REQUIRE(settings);
  testing::RecordingSink sink;
  Correlator correlator(*settings, sink, "UTC");
  std::vector<ReplayInput> inputs;
  for (const auto& f : files) inputs.push_back(parse_replay_argument(f));
  ReplayOptions options;
  options.year = 2026;
  options.timezone = "UTC";
  std::ostringstream progress;
  const auto summary = run_replay(correlator, inputs, options, progress);
  CHECK(summary.errors.empty());
  return sink.incidents;
}

std::vector<std::string> mail_logs() {
  std::vector<std::string> files;
  for (const char* f :
       {"relay1.log", "gw1.log", "relay2.log", "relay3.log", "gw2.log", "intruder.log"}) {
    files.push_back(kScenario + f);
  }
  files.push_back("gw2=" + kScenario + "isvw.log");
  return files;
}

// The last revision of each incident, by id.
std::map<std::string, Incident> latest(const std::vector<Incident>& incidents, IncidentKind kind) {
  std::map<std::string, Incident> out;
  for (const auto& in : incidents) {
    if (in.kind == kind) out[in.id] = in;
  }
  return out;
}

}  // namespace

TEST_CASE("replayed firewall and mail logs give one direct_smtp incident, for the worm PC only",
          "[direct-smtp][acceptance]") {
  auto files = mail_logs();
  files.push_back(kDirect + "firewall.log");
  const auto incidents = replay(kDirect + "vtrace.yaml", files);
  const auto direct = latest(incidents, IncidentKind::kDirectSmtp);
  REQUIRE(direct.size() == 1);
  const Incident& in = direct.begin()->second;
  REQUIRE(in.origin);
  CHECK(in.origin->ip == "10.20.1.45");
  CHECK(in.origin->internal);
  CHECK(in.origin->zone == "campus");
  CHECK(in.confidence == Confidence::kExact);
  CHECK(in.detector_host == "fw1");
  CHECK(in.detector_format == "netfilter");
  CHECK(in.action == "blocked");
  REQUIRE(in.direct_smtp);
  // Every SYN was retried and logged by both firewalls: still 30 attempts.
  CHECK(in.direct_smtp->connections == 30);
  CHECK(in.direct_smtp->destinations == 25);
  CHECK(in.direct_smtp->blocked == 30);
  CHECK(in.direct_smtp->first_seen == make_utc(2026, 11, 28, 5, 10, 0));
  CHECK(in.direct_smtp->last_seen == make_utc(2026, 11, 28, 5, 12, 54));
  CHECK(in.detected_at == make_utc(2026, 11, 28, 5, 11, 54));  // the 20th attempt
  CHECK(in.revision >= 2);
}

TEST_CASE("firewall logs beside the mail logs change no virus-mail incident",
          "[direct-smtp][acceptance]") {
  auto files = mail_logs();
  const auto without = latest(replay(kScenario + "vtrace.yaml", files), IncidentKind::kVirusMail);
  files.push_back(kDirect + "firewall.log");
  const auto with = latest(replay(kDirect + "vtrace.yaml", files), IncidentKind::kVirusMail);
  REQUIRE(without.size() > 10);
  REQUIRE(with.size() == without.size());
  for (const auto& [id, in] : without) {
    INFO(id);
    REQUIRE(with.count(id) == 1);
    CHECK(to_json(with.at(id)) == to_json(in));
  }
}
