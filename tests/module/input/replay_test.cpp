// Replay: reading files (plain and gzip) in any order, SOURCE= attribution, exim main logs.
#include "module/input/replay.hpp"

#include <zlib.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "support/correlator_harness.hpp"

namespace fs = std::filesystem;
using vtrace::Confidence;

namespace {

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("vtrace-replay-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string write(const std::string& name, const std::string& text) {
    std::ofstream(path_ / name) << text;
    return (path_ / name).string();
  }
  std::string write_gz(const std::string& name, const std::string& text) {
    const auto p = (path_ / name).string();
    gzFile f = gzopen(p.c_str(), "wb");
    gzwrite(f, text.data(), static_cast<unsigned>(text.size()));
    gzclose(f);
    return p;
  }

 private:
  fs::path path_;
  static inline int counter_ = 0;
};

const char* kRelay =
    "Nov 28 05:00:05 relay1 postfix/smtpd[1180]: 1345D2CCE8: "
    "client=pc45.campus.example.ac.jp[10.1.23.45]\n"
    "Nov 28 05:00:05 relay1 postfix/cleanup[1181]: 1345D2CCE8: "
    "message-id=<worm1@mail.example.org>\n"
    "Nov 28 05:00:06 relay1 postfix/smtp[1285]: 1345D2CCE8: to=<kato@example.ac.jp>, "
    "relay=gw1.example.ac.jp[192.0.2.25]:25, delay=0.52, delays=0.06/0.01/0.21/0.24, dsn=2.0.0, "
    "status=sent (250 2.0.0 Ok: queued as A39D5E08539)\n";
const char* kGateway =
    "2026-11-28T05:00:06.100000+00:00 gw1 postfix/smtpd[29377]: A39D5E08539: "
    "client=relay1.campus.example.ac.jp[10.1.0.25]\n"
    "2026-11-28T05:00:06.400000+00:00 gw1 clamav-milter[777]: Message A39D5E08539 from "
    "<billing@mail.example.org> to <kato@example.ac.jp> with subject 'x' message-id "
    "'<worm1@mail.example.org>' date 'x' infected by Win.Worm.Mydoom-1\n";

std::vector<vtrace::Incident> replay(const std::vector<std::string>& args,
                                     vtrace::ReplaySummary* summary_out = nullptr) {
  vtrace::Diagnostics d;
  auto settings = vtrace::parse_correlator_settings(vtrace::testing::kCampusYaml, "t.yaml", d);
  REQUIRE(settings);
  vtrace::testing::RecordingSink sink;
  vtrace::Correlator correlator(*settings, sink, "UTC");
  std::vector<vtrace::ReplayInput> inputs;
  for (const auto& a : args) inputs.push_back(vtrace::parse_replay_argument(a));
  vtrace::ReplayOptions options;
  options.year = 2026;
  options.timezone = "UTC";
  std::ostringstream progress;
  auto summary = vtrace::run_replay(correlator, inputs, options, progress);
  if (summary_out) *summary_out = summary;
  return sink.incidents;
}

}  // namespace

TEST_CASE("replay argument SOURCE=FILE names a source, a path with '=' after '/' does not",
          "[replay]") {
  CHECK(vtrace::parse_replay_argument("gw2=isvw.log").source == "gw2");
  CHECK(vtrace::parse_replay_argument("gw2=isvw.log").path == "isvw.log");
  CHECK(vtrace::parse_replay_argument("/var/log/a=b.log").source.empty());
  CHECK(vtrace::parse_replay_argument("mail.log").path == "mail.log");
}

TEST_CASE("replay traces across files given in any order, plain and gzip", "[replay]") {
  TempDir dir;
  const auto gateway = dir.write("gw1.log", kGateway);
  const auto relay = dir.write_gz("relay1.log.gz", kRelay);
  vtrace::ReplaySummary summary;
  const auto incidents = replay({gateway, relay}, &summary);
  CHECK(summary.files == 2);
  CHECK(summary.lines == 5);
  REQUIRE(incidents.size() == 1);
  CHECK(incidents[0].confidence == Confidence::kExact);
  REQUIRE(incidents[0].origin);
  CHECK(incidents[0].origin->ip == "10.1.23.45");
}

TEST_CASE("a gzip file of many inflated chunks replays line for line like the plain file",
          "[replay]") {
  TempDir dir;
  // ~3 MB of relay noise around the traced message: more than the inflater's queue holds,
  // with lines cut across its chunk boundaries.
  std::string relay;
  for (int i = 0; i < 20000; ++i) {
    relay += "Nov 28 04:59:" + std::to_string(10 + i % 50) + " relay1 postfix/smtpd[" +
             std::to_string(1000 + i) + "]: connect from pc" + std::to_string(i) +
             ".campus.example.ac.jp[10.1." + std::to_string(i % 250) + "." +
             std::to_string(i % 200) + "] padding to spread lines over chunk boundaries\n";
  }
  relay += kRelay;
  vtrace::ReplaySummary plain_summary, gz_summary;
  const auto plain =
      replay({dir.write("gw1.log", kGateway), dir.write("relay1.log", relay)}, &plain_summary);
  const auto gz =
      replay({dir.write("gw1b.log", kGateway), dir.write_gz("relay1.log.gz", relay)}, &gz_summary);
  CHECK(gz_summary.lines == 20005);
  CHECK(gz_summary.lines == plain_summary.lines);
  CHECK(gz_summary.bytes == plain_summary.bytes);
  CHECK(gz_summary.errors.empty());
  REQUIRE(gz.size() == 1);
  REQUIRE(plain.size() == 1);
  CHECK(gz[0].id == plain[0].id);
  REQUIRE(gz[0].origin);
  CHECK(gz[0].origin->ip == "10.1.23.45");
}

TEST_CASE("a truncated gzip file yields the lines before the cut and an error naming it",
          "[replay]") {
  TempDir dir;
  std::string relay;
  for (int i = 0; i < 5000; ++i) {
    relay += "Nov 28 04:59:" + std::to_string(10 + i % 50) + " relay1 postfix/smtpd[" +
             std::to_string(i) + "]: connect from unknown[10.1.0." + std::to_string(i % 250) +
             "]\n";
  }
  const auto whole = dir.write_gz("relay1.log.gz", relay);
  const auto size = fs::file_size(whole);
  fs::resize_file(whole, size / 2);
  vtrace::ReplaySummary summary;
  replay({whole}, &summary);
  CHECK(summary.lines > 100);
  CHECK(summary.lines < 5000);
  REQUIRE(summary.errors.size() == 1);
  CHECK(summary.errors[0].find("relay1.log.gz") != std::string::npos);
  CHECK(summary.errors[0].find("gzip") != std::string::npos);
}

TEST_CASE("replay reads an exim main log attributed with SOURCE=", "[replay][exim]") {
  TempDir dir;
  const auto mainlog = dir.write(
      "mainlog",
      "2026-11-28 05:00:47 eORPzv-6vGwJc-JB <= a@mail.example.org H=pc73.dept.example.ac.jp "
      "[10.20.1.90] P=esmtp S=65309 id=d.243@mail.example.org\n"
      "2026-11-28 05:00:48 eORPzv-6vGwJc-JB => ito@example.ac.jp R=smarthost T=remote_smtp "
      "H=gw1.example.ac.jp [192.0.2.25] C=\"250 2.0.0 Ok: queued as 942846D2971\"\n"
      "2026-11-28 05:00:48 eORPzv-6vGwJc-JB Completed\n");
  const auto gateway =
      dir.write("gw1.log",
                "2026-11-28T05:00:48.500000+00:00 gw1 postfix/smtpd[5]: 942846D2971: "
                "client=relay3[10.20.0.5]\n"
                "2026-11-28T05:00:48.577164+00:00 gw1 clamav-milter[777]: Message 942846D2971 from "
                "<a@mail.example.org> to <ito@example.ac.jp> with subject 'hello' message-id "
                "'<d.243@mail.example.org>' date 'x' infected by Win.Worm.Lovgate-3\n");
  const auto incidents = replay({"relay3=" + mainlog, gateway});
  REQUIRE(incidents.size() == 1);
  CHECK(incidents[0].confidence == Confidence::kExact);
  REQUIRE(incidents[0].origin);
  CHECK(incidents[0].origin->ip == "10.20.1.90");
}

TEST_CASE("replay reports a file it cannot read and an unknown source, and goes on", "[replay]") {
  TempDir dir;
  const auto gateway = dir.write("gw1.log", kGateway);
  const auto relay = dir.write("relay1.log", kRelay);
  vtrace::ReplaySummary summary;
  const auto incidents =
      replay({gateway, relay, "/nonexistent/file.log", "nosuchhost=" + relay}, &summary);
  CHECK(summary.errors.size() == 2);
  CHECK(incidents.size() == 1);
}

TEST_CASE("replay counts undecodable lines without stopping", "[replay]") {
  TempDir dir;
  const auto gateway = dir.write("gw1.log", std::string(kGateway) + "garbage line\n\x01\x02\n");
  const auto relay = dir.write("relay1.log", kRelay);
  vtrace::ReplaySummary summary;
  const auto incidents = replay({gateway, relay}, &summary);
  CHECK(summary.undecodable == 2);
  CHECK(incidents.size() == 1);
}

TEST_CASE(
    "a line over the length limit is skipped and counted, plain and gzip, and the lines "
    "around it are traced",
    "[replay]") {
  TempDir dir;
  const std::string huge = "Nov 28 05:00:04 relay1 postfix/smtpd[1]: 1345D2CCE8: client=" +
                           std::string(4 * vtrace::kMaxReplayLineBytes, 'x') + "[10.9.9.9]\n";
  const std::string at_limit = "Nov 28 05:00:04 relay1 postfix/smtpd[1]: connect from " +
                               std::string(vtrace::kMaxReplayLineBytes - 60, 'y') + "\n";
  const std::string relay = huge + at_limit + kRelay;
  for (bool gzip : {false, true}) {
    INFO((gzip ? "gzip" : "plain"));
    vtrace::ReplaySummary summary;
    const auto relay_file =
        gzip ? dir.write_gz("relay1.log.gz", relay) : dir.write("relay1.log", relay);
    const auto incidents = replay({dir.write("gw1.log", kGateway), relay_file}, &summary);
    CHECK(summary.oversized == 1);
    CHECK(summary.lines == 6);
    REQUIRE(incidents.size() == 1);
    REQUIRE(incidents[0].origin);
    CHECK(incidents[0].origin->ip == "10.1.23.45");
  }
}

TEST_CASE("an oversized last line without a line end is skipped too", "[replay]") {
  TempDir dir;
  vtrace::ReplaySummary summary;
  replay({dir.write_gz("relay1.log.gz",
                       std::string(kRelay) + std::string(3 * vtrace::kMaxReplayLineBytes, 'z'))},
         &summary);
  CHECK(summary.oversized == 1);
  CHECK(summary.lines == 3);
}

TEST_CASE("replay gives byte-identical output whatever the order of its file arguments",
          "[replay][order]") {
  const std::string scenario = std::string(VTRACE_SOURCE_DIR) + "/tests/fixtures/scenario/";
  vtrace::Diagnostics d;
  auto settings = vtrace::load_correlator_settings(scenario + "vtrace.yaml", d);
  INFO(d.render());
  REQUIRE(settings);
  std::vector<std::string> files = {"gw1.log",    "gw2.log",    "gw2=isvw.log", "relay1.log",
                                    "relay2.log", "relay3.log", "intruder.log"};
  auto run = [&](const std::vector<std::string>& order) {
    vtrace::testing::RecordingSink sink;
    vtrace::Correlator correlator(*settings, sink, "UTC");
    std::vector<vtrace::ReplayInput> inputs;
    for (const auto& f : order) {
      auto input = vtrace::parse_replay_argument(f);
      input.path = scenario + input.path;
      inputs.push_back(input);
    }
    vtrace::ReplayOptions options;
    options.year = 2026;
    options.timezone = "UTC";
    std::ostringstream progress;
    vtrace::run_replay(correlator, inputs, options, progress);
    std::string out;
    for (const auto& in : sink.incidents) out += vtrace::to_json(in) + "\n";
    return out;
  };
  const std::string first = run(files);
  CHECK(std::count(first.begin(), first.end(), '\n') > 50);
  std::sort(files.begin(), files.end());
  int orders = 0;
  int n = 0;
  do {
    if (n++ % 420 != 0) continue;  // 12 of the 5040 orders, spread over all of them
    INFO("order starting " << files[0] << ", " << files[1] << ", " << files[2]);
    CHECK(run(files) == first);
    ++orders;
  } while (std::next_permutation(files.begin(), files.end()));
  CHECK(orders == 12);
}

TEST_CASE("same-time detections in two files come out in the same order either way",
          "[replay][order]") {
  TempDir dir;
  // gw1 and gw2 detect one message each in the same microsecond, both traced through relay1.
  const std::string gw2 =
      "2026-11-28T05:00:06.100000+00:00 gw2 postfix/smtpd[29377]: B49D5E08540: "
      "client=relay1.campus.example.ac.jp[10.1.0.25]\n"
      "2026-11-28T05:00:06.400000+00:00 gw2 clamav-milter[777]: Message B49D5E08540 from "
      "<billing@mail.example.org> to <sato@example.ac.jp> with subject 'x' message-id "
      "'<worm2@mail.example.org>' date 'x' infected by Win.Worm.Mydoom-1\n";
  const std::string relay =
      std::string(kRelay) +
      "Nov 28 05:00:05 relay1 postfix/smtpd[1180]: 2345D2CCE8: "
      "client=pc46.campus.example.ac.jp[10.1.23.46]\n"
      "Nov 28 05:00:06 relay1 postfix/smtp[1285]: 2345D2CCE8: to=<sato@example.ac.jp>, "
      "relay=gw2.example.ac.jp[192.0.2.26]:25, delay=0.52, delays=0.06/0.01/0.21/0.24, "
      "dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as B49D5E08540)\n";
  const auto a = dir.write("a-gw1.log", kGateway);
  const auto b = dir.write("b-gw2.log", gw2);
  const auto r = dir.write("relay1.log", relay);
  auto ids = [](const std::vector<vtrace::Incident>& incidents) {
    std::vector<std::string> out;
    for (const auto& in : incidents) out.push_back(in.detector_host + ":" + vtrace::to_json(in));
    return out;
  };
  const auto forward = ids(replay({a, b, r}));
  const auto backward = ids(replay({r, b, a}));
  REQUIRE(forward.size() == 2);
  CHECK(forward == backward);
}
