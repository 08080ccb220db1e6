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
#include <optional>
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

struct LiveRun {
  int exit_code = -1;
  std::string answers;  // what the correlator wrote back to rsyslog
};

// Runs live mode on `input` (rsyslog's side of stdin, closed at its end) until it ends.
LiveRun run_live_on(vtrace::CorrelatorSettings settings, const std::string& input) {
  int in[2], out[2];
  REQUIRE(::pipe(in) == 0);
  REQUIRE(::pipe(out) == 0);
  REQUIRE(::write(in[1], input.data(), input.size()) == static_cast<ssize_t>(input.size()));
  ::close(in[1]);
  LiveRun run;
  {
    const SavedSignals saved;
    run.exit_code = vtrace::run_live({"unused.yaml", std::move(settings), in[0], out[1]});
  }
  ::close(in[0]);
  ::close(out[1]);
  char buf[256];
  for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) > 0;) run.answers.append(buf, n);
  ::close(out[0]);
  return run;
}

// An empty directory for one test's state, named after the test and this process.
std::filesystem::path fresh_state_dir(const std::string& prefix) {
  const auto dir = std::filesystem::temp_directory_path() / (prefix + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// The campus configuration with its state and incidents in `dir`. Detections are traced when
// the input ends, not held for sources that stay silent (settle_timeout 0).
std::optional<vtrace::CorrelatorSettings> campus_settings_in(const std::filesystem::path& dir) {
  vtrace::Diagnostics diagnostics;
  auto settings =
      vtrace::parse_correlator_settings(vtrace::testing::kCampusYaml, "test.yaml", diagnostics);
  REQUIRE(settings);
  settings->output.state_dir = dir.string();
  settings->output.jsonl_path = (dir / "incidents.jsonl").string();
  settings->correlation.settle_timeout = 0;
  return settings;
}

std::vector<std::string> lines_of(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

}  // namespace

TEST_CASE("live mode confirms every line, traces the worm and journals the trusted lines",
          "[live]") {
  const auto dir = fresh_state_dir("vtrace-live-test-");
  auto settings = campus_settings_in(dir);

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
  const auto [exit_code, answers] = run_live_on(std::move(*settings), input);
  CHECK(exit_code == 0);
  CHECK(answers == "OK\nOK\nOK\nOK\nOK\nOK\n");  // start-up, four records, the malformed line
  const auto incidents = lines_of(dir / "incidents.jsonl");
  REQUIRE(incidents.size() == 1);
  CHECK(incidents[0].find("\"10.1.23.45\"") != std::string::npos);
  CHECK(std::filesystem::exists(dir / "correlator.db"));
  CHECK(!std::filesystem::is_empty(dir / "journal"));
  std::filesystem::remove_all(dir);
}

namespace {

// An InterScan VirusWall record as imfile hands it over with the shipped "isvw" feed: one
// message of seven lines (escapeLF="off", so real line breaks, written \n in JSON), logged on
// the collector (no fromhost-ip), with addMetadata's file name and offset.
std::string isvw_record_read_at(const std::string& offset, const std::string& date) {
  return R"({"timereported":")" + rfc3339_ago(0) +
         R"(","hostname":"gw2","fromhost-ip":"","app-name":"isvw","procid":"-","msg":"Date: )" +
         date +
         R"(\nMethod: SMTP\nFrom: info@example.net\nTo: <suzuki@example.ac.jp>\nFile: )"
         R"(invoice.exe\nAction: deleted\nVirus: WORM_LOVGATE.F","inputname":"imfile",)"
         R"("filename":"/var/log/isvw/virus.log","fileoffset":")" +
         offset + "\"}\n";
}

// gw2's sendmail lines for the mail an ISVW record names: the gateway's own record of it,
// without which an ISVW record is not believed (uncorroborated).
std::string gw2_sendmail_lines(const std::string& queue_id) {
  return json_record(
             "gw2", "192.0.2.26", "sendmail",
             queue_id +
                 ": from=<info@example.net>, size=70518, class=0, nrcpts=1, "
                 "msgid=<" +
                 queue_id +
                 "@example.net>, proto=ESMTP, daemon=MTA, relay=relay1.campus.example.ac.jp "
                 "[10.1.0.25]",
             7) +
         json_record("gw2", "192.0.2.26", "sendmail",
                     queue_id +
                         ": to=<suzuki@example.ac.jp>, delay=00:00:01, xdelay=00:00:01, "
                         "mailer=local, pri=100518, dsn=2.0.0, stat=Sent",
                     6);
}

}  // namespace

TEST_CASE("a record imfile reads again after rsyslogd lost its position is not a second incident",
          "[live]") {
  const auto dir = fresh_state_dir("vtrace-live-reread-");
  auto settings = campus_settings_in(dir);
  // Nothing else will arrive: the record's trace is given up on at once, not held for records.
  settings->correlation.pending_timeout = 0;
  const std::time_t t = std::time(nullptr) - 5;
  std::tm utc{};
  gmtime_r(&t, &utc);
  char date[32];
  std::strftime(date, sizeof date, "%m/%d/%y %H:%M:%S", &utc);
  const std::string first = isvw_record_read_at("0", date);

  REQUIRE(run_live_on(*settings, gw2_sendmail_lines("6AS50wTQ028968") + first).answers ==
          "OK\nOK\nOK\nOK\n");
  REQUIRE(lines_of(dir / "incidents.jsonl").size() == 1);

  // rsyslogd died before saving imfile's position: the next one reads the file from the start.
  // The journal (and so the restarted correlator) already has the record at offset 0.
  const LiveRun reread = run_live_on(*settings, first);
  CHECK(reread.answers == "OK\nOK\n");  // confirmed, so rsyslog does not keep it
  CHECK(lines_of(dir / "incidents.jsonl").size() == 1);
  const auto stats = lines_of(dir / "correlator-stats.json");
  REQUIRE(stats.size() == 1);
  CHECK(stats[0].find("\"reread_skipped\":1") != std::string::npos);

  // The worm mails the same envelope again in the same second: ISVW logs a second, identical
  // record further down the file. That one is a mail of its own.
  run_live_on(*settings, gw2_sendmail_lines("6AS50wTQ028969") + isvw_record_read_at("221", date));
  CHECK(lines_of(dir / "incidents.jsonl").size() == 2);
  std::filesystem::remove_all(dir);
}
