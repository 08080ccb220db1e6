// Live mode end to end in one process: rsyslog's stdin and stdout are pipes.
#include "module/input/live.hpp"

#include <signal.h>
#include <unistd.h>

#include <array>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "support/correlator_harness.hpp"

namespace {

// An RFC 3339 time `seconds_ago` before now, as rsyslog's template writes it.
std::string rfc3339_ago(int seconds_ago) {
  const std::time_t t = std::time(nullptr) - seconds_ago;
  std::tm utc{};
  gmtime_r(&t, &utc);
  char text[40];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S.000000+00:00", &utc);
  return text;
}

std::string json_record(const std::string& host, const std::string& ip, const std::string& app,
                        const std::string& msg, int seconds_ago) {
  return R"({"timereported":")" + rfc3339_ago(seconds_ago) + R"(","hostname":")" + host +
         R"(","fromhost-ip":")" + ip + R"(","app-name":")" + app + R"(","procid":"1","msg":")" +
         msg + "\"}\n";
}

// run_live installs its own signal handlers; the test process gets its own back.
class SavedSignals {
 public:
  SavedSignals() {
    for (std::size_t i = 0; i < kSignals.size(); ++i) ::sigaction(kSignals[i], nullptr, &saved_[i]);
  }
  ~SavedSignals() {
    for (std::size_t i = 0; i < kSignals.size(); ++i) ::sigaction(kSignals[i], &saved_[i], nullptr);
  }

 private:
  static constexpr std::array<int, 4> kSignals{SIGTERM, SIGINT, SIGHUP, SIGPIPE};
  std::array<struct sigaction, 4> saved_{};
};

}  // namespace

TEST_CASE("live mode confirms every line, traces the worm and journals the trusted lines",
          "[live]") {
  const auto dir =
      std::filesystem::temp_directory_path() / ("vtrace-live-test-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  vtrace::Diagnostics diagnostics;
  auto settings =
      vtrace::parse_correlator_settings(vtrace::testing::kCampusYaml, "test.yaml", diagnostics);
  REQUIRE(settings);
  settings->output.state_dir = dir.string();
  settings->output.jsonl_path = (dir / "incidents.jsonl").string();
  // The detection is traced when the input ends, not held for sources that stay silent.
  settings->correlation.settle_timeout = 0;

  const std::string input =
      json_record("relay1", "10.1.0.25", "postfix/smtpd",
                  " 1345D2CCE8: client=pc45.campus.example.ac.jp[10.1.23.45]", 9) +
      json_record("relay1", "10.1.0.25", "postfix/smtp",
                  " 1345D2CCE8: to=<kato@example.ac.jp>, relay=gw1[192.0.2.25]:25, delay=1, "
                  "delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as A39D5E08539)",
                  8) +
      json_record("gw1", "192.0.2.25", "postfix/smtpd", " A39D5E08539: client=relay1[10.1.0.25]",
                  8) +
      json_record("gw1", "192.0.2.25", "clamav-milter",
                  "Message A39D5E08539 from <a@example.org> to <kato@example.ac.jp> with subject "
                  "'hello' message-id '<m@x>' date 'x' infected by Worm.A",
                  7) +
      "not json\n";
  int in[2], out[2];
  REQUIRE(::pipe(in) == 0);
  REQUIRE(::pipe(out) == 0);
  REQUIRE(::write(in[1], input.data(), input.size()) == static_cast<ssize_t>(input.size()));
  ::close(in[1]);
  int exit_code = -1;
  {
    const SavedSignals saved;
    exit_code = vtrace::run_live({"unused.yaml", std::move(*settings), in[0], out[1]});
  }
  ::close(in[0]);
  ::close(out[1]);
  std::string answers;
  char buf[256];
  for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) > 0;) answers.append(buf, n);
  ::close(out[0]);

  CHECK(exit_code == 0);
  CHECK(answers == "OK\nOK\nOK\nOK\nOK\nOK\n");  // start-up, four records, the malformed line
  std::ifstream jsonl(dir / "incidents.jsonl");
  std::vector<std::string> incidents;
  for (std::string line; std::getline(jsonl, line);) incidents.push_back(line);
  REQUIRE(incidents.size() == 1);
  CHECK(incidents[0].find("\"10.1.23.45\"") != std::string::npos);
  CHECK(std::filesystem::exists(dir / "correlator.db"));
  CHECK(!std::filesystem::is_empty(dir / "journal"));
  std::filesystem::remove_all(dir);
}
