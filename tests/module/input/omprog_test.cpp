// The omprog contract and the trust rule for records that arrive over the network.
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "module/input/crash_guard.hpp"
#include "module/input/journal.hpp"
#include "module/input/omprog_loop.hpp"
#include "module/input/rsyslog_ingester.hpp"
#include "module/input/rsyslog_json_decoder.hpp"
#include "module/output/outbox_sender.hpp"
#include "module/output/state_store.hpp"
#include "support/correlator_harness.hpp"

namespace {

std::string json_record(const std::string& host, const std::string& ip, const std::string& app,
                        const std::string& msg, const std::string& time) {
  return R"({"timereported":")" + time + R"(","hostname":")" + host + R"(","fromhost-ip":")" + ip +
         R"(","app-name":")" + app + R"(","procid":"1","msg":")" + msg + "\"}";
}

std::vector<std::string> chain(const std::string& relay_ip, const std::string& gateway_ip) {
  return {
      json_record("relay1", relay_ip, "postfix/smtpd",
                  " 1345D2CCE8: client=pc45.campus.example.ac.jp[10.1.23.45]",
                  "2026-11-28T05:00:05.000000+00:00"),
      json_record("relay1", relay_ip, "postfix/smtp",
                  " 1345D2CCE8: to=<kato@example.ac.jp>, relay=gw1[192.0.2.25]:25, delay=1, "
                  "delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as A39D5E08539)",
                  "2026-11-28T05:00:06.000000+00:00"),
      json_record("gw1", gateway_ip, "postfix/smtpd", " A39D5E08539: client=relay1[10.1.0.25]",
                  "2026-11-28T05:00:06.100000+00:00"),
      json_record("gw1", gateway_ip, "clamav-milter",
                  "Message A39D5E08539 from <a@example.org> to <kato@example.ac.jp> with subject "
                  "'\u3053\u3093\u306b\u3061\u306f' message-id '<m@x>' date 'x' infected by Worm.A",
                  "2026-11-28T05:00:06.400000+00:00"),
  };
}

std::vector<vtrace::Incident> run(const std::vector<std::string>& records) {
  vtrace::testing::Harness harness;
  for (const auto& r : records) {
    vtrace::RsyslogRecord record;
    REQUIRE(vtrace::parse_rsyslog_json(r, record));
    vtrace::ingest_rsyslog_record(harness.correlator(), record);
  }
  return harness.finish();
}

}  // namespace

TEST_CASE("records from the sources' own addresses are traced", "[omprog]") {
  const auto incidents = run(chain("10.1.0.25", "192.0.2.25"));
  REQUIRE(incidents.size() == 1);
  REQUIRE(incidents[0].origin);
  CHECK(incidents[0].origin->ip == "10.1.23.45");
  CHECK(incidents[0].subject == "\u3053\u3093\u306b\u3061\u306f");
}

TEST_CASE("a live detection's evidence is the whole line, with time, host and program",
          "[omprog][evidence]") {
  const auto incidents = run(chain("10.1.0.25", "192.0.2.25"));
  REQUIRE(incidents.size() == 1);
  REQUIRE(incidents[0].evidence.size() == 1);
  CHECK(
      incidents[0].evidence[0].starts_with("2026-11-28T05:00:06.400000Z gw1 clamav-milter[1]: "
                                           "Message A39D5E08539 from <a@example.org>"));
}

TEST_CASE("a record claiming a source's hostname from another address changes nothing",
          "[omprog][trust]") {
  CHECK(run(chain("10.1.0.25", "203.0.113.66")).empty());
  CHECK(run(chain("203.0.113.66", "203.0.113.66")).empty());
}

TEST_CASE("one ingester applies the trust rule to every record, whatever came before",
          "[omprog][trust]") {
  vtrace::testing::Harness harness;
  vtrace::Correlator& correlator = harness.correlator();
  vtrace::RsyslogIngester ingester(correlator);
  // Each record: fromhost-ip, inputname, and whether it is trusted.
  const std::vector<std::tuple<std::string, std::string, bool>> cases = {
      {"10.1.0.25", "imtcp", true},     // relay1's own address
      {"10.1.0.25", "imtcp", true},     // again, from what the ingester remembers
      {"127.0.0.1", "imtcp", false},    // loopback over TCP: the network, any local user
      {"127.0.0.1", "imuxsock", true},  // loopback from the local socket: the hostname counts
      {"127.0.0.1", "imtcp", false},
      {"", "imfile", true},  // read from a file: the hostname counts
      {"203.0.113.66", "imtcp", false},
      {"203.0.113.66", "imuxsock", false},  // a local input name does not make a remote sender
      {"not an address", "imtcp", false},
      {"10.1.0.25", "imtcp", true},
      {"127.0.0.1", "local", true},      // the syslog-ng snippet's local sources
      {"127.0.0.1", "", false},          // its network sources, over loopback
      {"203.0.113.66", "local", false},  // "local" does not make a remote sender local either
  };
  for (const auto& [ip, input, trusted] : cases) {
    INFO(ip << " " << input);
    const std::string line =
        R"({"timereported":"2026-11-28T05:00:05.5+00:00","hostname":"relay1","fromhost-ip":")" +
        ip +
        R"(","app-name":"postfix/smtpd","procid":"1","msg":" 1345D2CCE8: )"
        R"(client=pc45.campus.example.ac.jp[10.1.23.45]","inputname":")" +
        input + "\"}";
    vtrace::RsyslogRecord record;
    REQUIRE(vtrace::parse_rsyslog_json(line, record));
    const auto untrusted = correlator.stats().untrusted;
    CHECK(ingester.ingest(record) == vtrace::make_utc(2026, 11, 28, 5, 0, 5, 500000));
    CHECK((correlator.stats().untrusted == untrusted) == trusted);
  }
}

TEST_CASE("the ingester gives a record's time, and nothing for a record without a valid one",
          "[omprog]") {
  vtrace::testing::Harness harness;
  vtrace::Correlator& correlator = harness.correlator();
  vtrace::RsyslogIngester ingester(correlator);
  vtrace::RsyslogRecord record;
  REQUIRE(vtrace::parse_rsyslog_json(
      R"({"timereported":"2026-11-28T14:00:05+09:00","msg":"x","fromhost-ip":"10.1.0.25"})",
      record));
  CHECK(ingester.ingest(record) == vtrace::make_utc(2026, 11, 28, 5, 0, 5));
  REQUIRE(vtrace::parse_rsyslog_json(
      R"({"timereported":"2026-11-28T14:00:05","msg":"x","fromhost-ip":"10.1.0.25"})", record));
  CHECK_FALSE(ingester.ingest(record));
  CHECK(correlator.undecodable() == 1);
}

TEST_CASE("malformed JSON records are rejected by the decoder, not thrown", "[omprog]") {
  vtrace::RsyslogRecord record;
  CHECK_FALSE(vtrace::parse_rsyslog_json("not json", record));
  CHECK_FALSE(vtrace::parse_rsyslog_json(R"({"hostname":"gw1"})", record));
  CHECK_FALSE(vtrace::parse_rsyslog_json(R"([1,2])", record));
  CHECK(vtrace::parse_rsyslog_json(
      R"({"timereported":"2026-11-28T05:00:06Z","msg":"x","hostname":"h","fromhost-ip":"1.2.3.4","app-name":"a","procid":"-"})",
      record));
}

namespace {

struct LoopRun {
  std::vector<std::vector<std::string>> batches;
  std::string answers;
  vtrace::OmprogEnd end = vtrace::OmprogEnd::kEndOfInput;
};

// Everything readable from `fd` until its write end is closed.
std::string read_to_end(int fd) {
  std::string text;
  char buf[256];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) text.append(buf, n);
  return text;
}

// Writes `input` into the loop's stdin (then EOF) and collects what it confirmed.
// `accept(batch number)` says whether that batch is made durable.
LoopRun run_loop(const std::string& input, const std::function<bool(std::size_t)>& accept,
                 std::size_t max_line = vtrace::kMaxOmprogLineBytes) {
  int in[2], out[2];
  REQUIRE(::pipe(in) == 0);
  REQUIRE(::pipe(out) == 0);
  REQUIRE(::write(in[1], input.data(), input.size()) == static_cast<ssize_t>(input.size()));
  ::close(in[1]);
  LoopRun run;
  run.end = vtrace::run_omprog_loop(
      in[0], out[1],
      [&](std::span<const std::string_view> lines) {
        run.batches.emplace_back(lines.begin(), lines.end());
        return accept(run.batches.size());
      },
      [] { return true; }, 10, max_line);
  ::close(out[1]);
  run.answers = read_to_end(out[0]);
  ::close(in[0]);
  ::close(out[0]);
  return run;
}

std::size_t lines_in(const LoopRun& run) {
  std::size_t n = 0;
  for (const auto& b : run.batches) n += b.size();
  return n;
}

}  // namespace

TEST_CASE("the omprog loop answers OK once at start and once per line, and nothing else",
          "[omprog]") {
  const auto run =
      run_loop("line one\nline two\n\nlast line without newline", [](std::size_t) { return true; });
  REQUIRE(lines_in(run) == 4);
  std::vector<std::string> seen;
  for (const auto& b : run.batches) seen.insert(seen.end(), b.begin(), b.end());
  CHECK(seen[0] == "line one");
  CHECK(seen[2].empty());
  CHECK(seen[3] == "last line without newline");
  CHECK(run.answers == "OK\nOK\nOK\nOK\nOK\n");
  CHECK(run.end == vtrace::OmprogEnd::kEndOfInput);
}

TEST_CASE("a line over the length limit is handed over empty and confirmed, the next one whole",
          "[omprog]") {
  const std::string huge(1000, 'x');
  const auto run = run_loop(
      "short\n" + huge + "\nafter\n" + huge, [](std::size_t) { return true; }, 100);
  std::vector<std::string> seen;
  for (const auto& b : run.batches) seen.insert(seen.end(), b.begin(), b.end());
  CHECK(seen == std::vector<std::string>{"short", "", "after", ""});
  CHECK(run.answers == "OK\nOK\nOK\nOK\nOK\n");
}

TEST_CASE("lines that arrive together are handed over as one batch before any is confirmed",
          "[omprog]") {
  const auto run = run_loop("a\nb\nc\n", [](std::size_t) { return true; });
  REQUIRE(run.batches.size() == 1);
  CHECK(run.batches[0] == std::vector<std::string>{"a", "b", "c"});
  CHECK(run.answers == "OK\nOK\nOK\nOK\n");
}

TEST_CASE("a batch that cannot be made durable is not confirmed and ends the loop", "[omprog]") {
  const auto run = run_loop("a\nb\n", [](std::size_t) { return false; });
  CHECK(run.end == vtrace::OmprogEnd::kFailed);
  CHECK(run.answers == "OK\n");  // the start-up OK only
}

TEST_CASE("with no input the omprog loop runs its idle work every tick until that work stops it",
          "[omprog]") {
  int in[2], out[2];
  REQUIRE(::pipe(in) == 0);
  REQUIRE(::pipe(out) == 0);
  struct sigaction before {};
  REQUIRE(::sigaction(SIGRTMIN, nullptr, &before) == 0);
  int idle_runs = 0;
  int batches = 0;
  const auto end = vtrace::run_omprog_loop(
      in[0], out[1],
      [&](std::span<const std::string_view>) {
        ++batches;
        return true;
      },
      [&] { return ++idle_runs < 3; }, 10);
  CHECK(end == vtrace::OmprogEnd::kStopped);
  CHECK(idle_runs == 3);
  CHECK(batches == 0);
  // The loop's tick signal is given back as it was found, and no timer outlives the loop.
  struct sigaction after {};
  REQUIRE(::sigaction(SIGRTMIN, nullptr, &after) == 0);
  CHECK(after.sa_handler == before.sa_handler);
  char byte;
  const auto waited = ::read(out[0], &byte, 1);  // the start-up OK is there
  CHECK(waited == 1);
  for (int fd : {in[0], in[1], out[0], out[1]}) ::close(fd);
}

TEST_CASE("the omprog loop also reads input that rsyslog left non-blocking", "[omprog]") {
  int in[2], out[2];
  REQUIRE(::pipe(in) == 0);
  REQUIRE(::pipe(out) == 0);
  REQUIRE(::fcntl(in[0], F_SETFL, ::fcntl(in[0], F_GETFL) | O_NONBLOCK) == 0);
  std::vector<std::string> seen;
  std::atomic<int> idle_runs = 0;
  // The line is written only once the loop has waited through an idle tick, so the loop
  // certainly met an empty non-blocking pipe first.
  ssize_t written = 0;
  std::thread writer([&] {
    for (int i = 0; i < 1000 && idle_runs == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    written = ::write(in[1], "late line\n", 10);
    ::close(in[1]);
  });
  const auto end = vtrace::run_omprog_loop(
      in[0], out[1],
      [&](std::span<const std::string_view> lines) {
        seen.insert(seen.end(), lines.begin(), lines.end());
        return true;
      },
      [&] {
        ++idle_runs;
        return true;
      },
      5);
  writer.join();
  CHECK(written == 10);
  CHECK(end == vtrace::OmprogEnd::kEndOfInput);
  CHECK(seen == std::vector<std::string>{"late line"});
  CHECK(idle_runs >= 1);
  ::close(out[1]);
  CHECK(read_to_end(out[0]) == "OK\nOK\n");
  ::close(in[0]);
  ::close(out[0]);
}

TEST_CASE("the decoder reads each line's own fields, whatever the previous line held", "[omprog]") {
  vtrace::RsyslogJsonDecoder decoder;
  vtrace::RsyslogRecord record;
  REQUIRE(decoder.decode(
      R"({"timereported":"2026-11-28T05:00:06Z", "hostname":"gw1", "fromhost-ip":"192.0.2.25", "app-name":"postfix\/smtpd", "procid":"77", "msg":" say \"hi\" \u3053\\n", "inputname":"imtcp"})",
      record));
  CHECK(record.app_name == "postfix/smtpd");
  CHECK(record.msg == " say \"hi\" \u3053\\n");
  CHECK(record.inputname == "imtcp");
  REQUIRE(decoder.decode(R"({"msg":"second","timereported":"2026-11-28T05:00:07Z"})", record));
  CHECK(record.msg == "second");
  CHECK(record.hostname.empty());
  CHECK(record.fromhost_ip.empty());
  CHECK(record.inputname.empty());
}

TEST_CASE("the decoder takes only string values of the top-level object", "[omprog]") {
  vtrace::RsyslogJsonDecoder decoder;
  vtrace::RsyslogRecord record;
  REQUIRE(decoder.decode(
      R"({"timereported":"t","msg":"m","x":{"hostname":"nested"},"procid":12,"hostname":["h"]})",
      record));
  CHECK(record.hostname.empty());
  CHECK(record.procid.empty());
  CHECK_FALSE(decoder.decode(R"({"timereported":"t","msg":{"text":"m"}})", record));
  CHECK_FALSE(decoder.decode(R"({"timereported":"t","msg":null})", record));
}

TEST_CASE("the decoder rejects what is not one JSON object, and recovers for the next line",
          "[omprog]") {
  vtrace::RsyslogJsonDecoder decoder;
  vtrace::RsyslogRecord record;
  CHECK_FALSE(decoder.decode(R"({"timereported":"t","msg":"m"} trailing)", record));
  CHECK_FALSE(decoder.decode(R"({"timereported":"t","msg":"m")", record));
  CHECK_FALSE(decoder.decode("[\"timereported\",\"msg\"]", record));
  CHECK_FALSE(decoder.decode("", record));
  REQUIRE(decoder.decode("{\"timereported\":\"t\",\"msg\":\"ok\"} \r", record));
  CHECK(record.msg == "ok");
}

TEST_CASE("a line with bytes that are not UTF-8 is decoded with the bytes as they are",
          "[omprog]") {
  // rsyslog passes the bytes of a Latin-1 log line through into its JSON.
  vtrace::RsyslogJsonDecoder decoder;
  vtrace::RsyslogRecord record;
  REQUIRE(decoder.decode(
      "{\"timereported\":\"2026-11-28T05:00:06Z\",\"hostname\":\"gw1\",\"msg\":\"Message "
      "A39D5E08539 with subject 'caf\xe9' infected by Worm.A\"}",
      record));
  CHECK(record.msg == "Message A39D5E08539 with subject 'caf\xe9' infected by Worm.A");
  CHECK(record.hostname == "gw1");
}

TEST_CASE("a detection whose subject is Latin-1 is traced, and its incident is valid JSON",
          "[omprog]") {
  auto records = chain("10.1.0.25", "192.0.2.25");
  records[3] = json_record("gw1", "192.0.2.25", "clamav-milter",
                           "Message A39D5E08539 from <a@example.org> to <kato@example.ac.jp> with "
                           "subject 'caf\xe9' message-id '<m@x>' date 'x' infected by Worm.A",
                           "2026-11-28T05:00:06.400000+00:00");
  const auto incidents = run(records);
  REQUIRE(incidents.size() == 1);
  REQUIRE(incidents[0].origin);
  CHECK(incidents[0].origin->ip == "10.1.23.45");
  CHECK(incidents[0].subject == "caf\xe9");
  boost::json::error_code ec;
  const auto json = boost::json::parse(vtrace::to_json(incidents[0]), ec);
  REQUIRE_FALSE(ec);
  CHECK(json.at("message").at("subject") == "caf\uFFFD");
}

TEST_CASE("escaped values are unescaped wherever the escape is, and outlive a one-off decoder",
          "[omprog]") {
  // Escapes first, in the middle, last and throughout; a key with an escape too.
  const std::string line = R"({"timereported":"2026-11-28T05:00:06Z", "hostname":"\u0067w1", )"
                           R"("app-name":"postfix\/smtpd", "procid":"7\/", "msg":"\/\/\"", )"
                           R"("input\u006eame":"imtcp", "fromhost-ip":"192.0.2.25"})";
  vtrace::RsyslogRecord record;
  REQUIRE(vtrace::parse_rsyslog_json(line, record));
  CHECK(record.hostname == "gw1");
  CHECK(record.app_name == "postfix/smtpd");
  CHECK(record.procid == "7/");
  CHECK(record.msg == "//\"");
  CHECK(record.inputname == "imtcp");
  CHECK(record.fromhost_ip == "192.0.2.25");
  CHECK(record.timereported == "2026-11-28T05:00:06Z");
}

TEST_CASE("a record decoded again holds only the new line's values, escaped or not", "[omprog]") {
  vtrace::RsyslogJsonDecoder decoder;
  vtrace::RsyslogRecord record;
  REQUIRE(decoder.decode(R"({"timereported":"t","msg":"a\/b","app-name":"x\/y"})", record));
  CHECK(record.msg == "a/b");
  REQUIRE(decoder.decode(R"({"timereported":"t","msg":"plain","app-name":"\/z"})", record));
  CHECK(record.msg == "plain");
  CHECK(record.app_name == "/z");
  REQUIRE(decoder.decode(R"({"timereported":"t","msg":"m"})", record));
  CHECK(record.app_name.empty());
  // A repeated key: the last value counts, as in a document-tree lookup.
  REQUIRE(decoder.decode(R"({"timereported":"t","msg":"fir\/st","msg":"second"})", record));
  CHECK(record.msg == "second");
  REQUIRE(decoder.decode(R"({"timereported":"t","msg":"first","msg":"sec\/ond"})", record));
  CHECK(record.msg == "sec/ond");
}

namespace {

// A fresh directory under /tmp, removed with everything in it at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string name = "/tmp/vtrace-state-test-XXXXXX";
    REQUIRE(::mkdtemp(name.data()) != nullptr);
    path_ = name;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

using Lines = std::vector<std::pair<vtrace::TimePoint, std::string>>;

Lines read_all(vtrace::Journal& journal) {
  Lines out;
  journal.for_each(
      [&](vtrace::TimePoint t, std::string_view line) { out.emplace_back(t, std::string(line)); });
  return out;
}

vtrace::Incident incident(const std::string& id) {
  vtrace::Incident in;
  in.id = id;
  in.detector_host = "gw1";
  in.virus = "Worm.A";
  return in;
}

}  // namespace

TEST_CASE("journalled lines come back in order after a restart, without a torn last line",
          "[omprog][state]") {
  TempDir dir;
  std::string error;
  {
    auto journal = vtrace::Journal::open(dir.path() + "/journal", error);
    REQUIRE(journal);
    journal->add(1, R"({"msg":"one"})");
    journal->add(2, R"({"msg":"two"})");
    REQUIRE(journal->flush());
    journal->add(3, R"({"msg":"three"})");
    REQUIRE(journal->flush());
    CHECK(journal->size() == 3);
  }
  // A process killed in the middle of a write leaves a line without its newline.
  for (const auto& entry : std::filesystem::directory_iterator(dir.path() + "/journal")) {
    std::ofstream(entry.path(), std::ios::app) << "4\t{\"msg\":\"to";
  }
  auto journal = vtrace::Journal::open(dir.path() + "/journal", error);
  REQUIRE(journal);
  CHECK(read_all(*journal) ==
        Lines{{1, R"({"msg":"one"})"}, {2, R"({"msg":"two"})"}, {3, R"({"msg":"three"})"}});
  CHECK(journal->size() == 3);
  // Appending after the restart goes to a new segment, never after the torn line.
  journal->add(5, R"({"msg":"five"})");
  REQUIRE(journal->flush());
  const auto lines = read_all(*journal);
  REQUIRE(lines.size() == 4);
  CHECK(lines.back().second == R"({"msg":"five"})");
  CHECK(journal->size() == 4);
}

TEST_CASE("journalled times come back exact, within a second, across seconds and below one",
          "[omprog][state]") {
  TempDir dir;
  std::string error;
  auto journal = vtrace::Journal::open(dir.path() + "/journal", error);
  REQUIRE(journal);
  const std::vector<vtrace::TimePoint> times = {1795866291974803,
                                                1795866291000007,
                                                1795866291000000,
                                                1795866292000001,
                                                1795866291999999,
                                                1000000,
                                                999999,
                                                7,
                                                0,
                                                -1500000};
  Lines expected;
  for (const auto t : times) {
    journal->add(t, "line " + std::to_string(t));
    expected.emplace_back(t, "line " + std::to_string(t));
  }
  REQUIRE(journal->flush());
  CHECK(read_all(*journal) == expected);
}

TEST_CASE("lines a killed process had journalled come back, without the segment's unwritten tail",
          "[omprog][state]") {
  TempDir dir;
  std::string error;
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // Dies the way kill -9 leaves it: no destructor closes or trims the mapped segment.
    auto journal = vtrace::Journal::open(dir.path() + "/journal", error);
    if (!journal) ::_exit(1);
    journal->add(1, R"({"msg":"one"})");
    journal->add(2, R"({"msg":"two"})");
    ::_exit(journal->flush() ? 0 : 1);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  auto journal = vtrace::Journal::open(dir.path() + "/journal", error);
  REQUIRE(journal);
  CHECK(read_all(*journal) == Lines{{1, R"({"msg":"one"})"}, {2, R"({"msg":"two"})"}});
  journal->add(3, R"({"msg":"three"})");
  REQUIRE(journal->flush());
  CHECK(read_all(*journal).size() == 3);
}

TEST_CASE("pruning deletes the segments whose lines are all older than the cutoff",
          "[omprog][state]") {
  TempDir dir;
  std::string error;
  auto journal = vtrace::Journal::open(dir.path() + "/journal", error);
  REQUIRE(journal);
  const vtrace::TimePoint minute = vtrace::seconds(60);
  const vtrace::TimePoint start = 1000 * minute;
  vtrace::TimePoint now = start;
  // Three segments: a prune more than five minutes after a segment was opened closes it.
  for (int segment = 0; segment < 3; ++segment) {
    journal->add(now, "a");
    journal->add(now + 1, "b");
    REQUIRE(journal->flush());
    journal->prune(0, now);
    now += 6 * minute;
    journal->prune(0, now);
  }
  CHECK(journal->size() == 6);
  journal->prune(start + 2, now);
  CHECK(journal->size() == 4);
  CHECK(read_all(*journal).front().first == start + 6 * minute);
  journal->prune(now, now);
  CHECK(journal->size() == 0);
  CHECK(read_all(*journal).empty());
}

TEST_CASE("the journal table of earlier versions is handed over once and dropped",
          "[omprog][state]") {
  TempDir dir;
  const std::string path = dir.path() + "/correlator.db";
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db,
                         "CREATE TABLE journal (seq INTEGER PRIMARY KEY, t INTEGER NOT NULL, line "
                         "TEXT NOT NULL); INSERT INTO journal (t, line) VALUES (7, 'old one'), (8, "
                         "'old two');",
                         nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
  }
  std::string error;
  auto store = vtrace::StateStore::open(path, error);
  REQUIRE(store);
  Lines taken;
  CHECK(store->take_legacy_journal([&](vtrace::TimePoint t, std::string_view line) {
    taken.emplace_back(t, std::string(line));
  }) == 2);
  CHECK(taken == Lines{{7, "old one"}, {8, "old two"}});
  CHECK(store->take_legacy_journal([](vtrace::TimePoint, std::string_view) {}) == 0);
}

TEST_CASE("incidents of a rolled back batch are not in the outbox, those of a committed one are",
          "[omprog][state]") {
  TempDir dir;
  std::string error;
  auto store = vtrace::StateStore::open(dir.path() + "/correlator.db", error);
  REQUIRE(store);
  REQUIRE(store->begin());
  CHECK(store->enqueue(incident("a")) == vtrace::StateStore::Enqueued::kNew);
  store->rollback();
  CHECK_FALSE(store->in_transaction());
  CHECK(store->outbox_depth() == 0);
  REQUIRE(store->begin());
  CHECK(store->enqueue(incident("a")) == vtrace::StateStore::Enqueued::kNew);
  CHECK(store->enqueue(incident("b")) == vtrace::StateStore::Enqueued::kNew);
  REQUIRE(store->commit());
  auto other = vtrace::StateStore::open(dir.path() + "/correlator.db", error);
  REQUIRE(other);
  CHECK(other->outbox_depth() == 2);
  CHECK(store->enqueue(incident("a")) == vtrace::StateStore::Enqueued::kUnchanged);
}

namespace {

// A responder that answers each POST with the next status of its script (the last repeats).
class ScriptedPoster final : public vtrace::IncidentPoster {
 public:
  explicit ScriptedPoster(std::vector<long> statuses) : statuses_(std::move(statuses)) {}
  long post(const std::string&, std::string& error) override {
    const std::size_t n = posts_++;
    const long status = statuses_[std::min(n, statuses_.size() - 1)];
    if (status != 200 && status != 201) error = "{\"error\":\"hops[0].client_ip: not an IP\"}";
    return status;
  }
  std::size_t posts() const { return posts_; }

 private:
  std::vector<long> statuses_;
  std::atomic<std::size_t> posts_{0};
};

// Waits (bounded) for `done`, polling; the sender works on its own thread.
bool eventually(const std::function<bool()>& done) {
  for (int i = 0; i < 1000 && !done(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

}  // namespace

TEST_CASE("an incident the responder refuses for good is recorded, not sent again",
          "[omprog][state][outbox]") {
  TempDir dir;
  const std::string db = dir.path() + "/correlator.db";
  std::string error;
  auto store = vtrace::StateStore::open(db, error);
  REQUIRE(store);
  REQUIRE(store->enqueue(incident("refused")) == vtrace::StateStore::Enqueued::kNew);
  ScriptedPoster poster({400, 201});
  vtrace::OutboxSender sender(db, poster);
  sender.start();
  sender.notify();
  REQUIRE(eventually([&] { return store->outbox_refused() == 1; }));
  sender.notify();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK(poster.posts() == 1);
  CHECK(store->outbox_depth() == 0);
  const auto refused = store->refused(10);
  REQUIRE(refused.size() == 1);
  CHECK(refused[0].id == "refused");
  CHECK(refused[0].reason.find("HTTP 400") == 0);
  CHECK(refused[0].reason.find("client_ip") != std::string::npos);
  // A later revision of the same incident is new content: it is sent.
  auto revised = incident("refused");
  revised.revision = 2;
  REQUIRE(store->enqueue(revised) == vtrace::StateStore::Enqueued::kNew);
  sender.notify();
  REQUIRE(eventually([&] { return poster.posts() == 2; }));
  CHECK(eventually([&] { return store->outbox_refused() == 0 && store->outbox_depth() == 0; }));
  sender.stop();
  CHECK(sender.refused() == 1);
}

TEST_CASE("a responder that is down or unauthorised is retried, not refused",
          "[omprog][state][outbox]") {
  for (long status : {0L, 401L, 404L, 429L, 503L}) {
    INFO("status " << status);
    CHECK_FALSE(vtrace::OutboxSender::is_permanent_refusal(status));
  }
  for (long status : {400L, 413L, 415L, 422L}) {
    INFO("status " << status);
    CHECK(vtrace::OutboxSender::is_permanent_refusal(status));
  }
  TempDir dir;
  const std::string db = dir.path() + "/correlator.db";
  std::string error;
  auto store = vtrace::StateStore::open(db, error);
  REQUIRE(store);
  REQUIRE(store->enqueue(incident("later")) == vtrace::StateStore::Enqueued::kNew);
  ScriptedPoster poster({503, 201});
  vtrace::OutboxSender sender(db, poster);
  sender.start();
  sender.notify();
  // The first attempt fails; the backoff (1 s) passes and the second is delivered.
  CHECK(eventually([&] { return store->outbox_depth() == 0; }));
  sender.stop();
  CHECK(poster.posts() == 2);
  CHECK(store->outbox_refused() == 0);
}

namespace {

// Runs `body` in a child process that dies without any destructor (as kill -9 leaves it, or a
// fault); returns its wait status.
int in_child(const std::function<void()>& body) {
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    body();
    ::_exit(0);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  return status;
}

std::uintmax_t directory_bytes(const std::string& dir) {
  std::uintmax_t total = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.is_regular_file()) total += e.file_size();
  }
  return total;
}

}  // namespace

TEST_CASE("twenty killed processes leave a journal the size of what it holds",
          "[omprog][state][journal]") {
  TempDir dir;
  const std::string journal_dir = dir.path() + "/journal";
  std::string error;
  for (int kill = 0; kill < 20; ++kill) {
    in_child([&] {
      auto journal = vtrace::Journal::open(journal_dir, error);
      if (!journal) ::_exit(1);
      read_all(*journal);  // a start-up replays the journal first
      journal->add(kill + 1, R"({"msg":"line )" + std::to_string(kill) + R"("})");
      if (!journal->flush()) ::_exit(1);
      ::kill(::getpid(), SIGKILL);
    });
  }
  auto journal = vtrace::Journal::open(journal_dir, error);
  REQUIRE(journal);
  CHECK(read_all(*journal).size() == 20);
  // 20 lines of ~40 bytes in 20 segments, plus the 16-byte confirmation mark; without the
  // trimming each killed process left a 64 MiB segment.
  CHECK(directory_bytes(journal_dir) < 4096);
}

TEST_CASE("journalled lines after the last confirmation come back as unconfirmed, in order",
          "[omprog][state][journal]") {
  TempDir dir;
  const std::string journal_dir = dir.path() + "/journal";
  std::string error;
  in_child([&] {
    auto journal = vtrace::Journal::open(journal_dir, error);
    if (!journal) ::_exit(1);
    journal->add(1, "confirmed");
    if (!journal->flush()) ::_exit(1);
    journal->mark_confirmed();
    journal->add(2, "written, not confirmed");
    journal->add(3, "also not confirmed");
    if (!journal->flush()) ::_exit(1);
    ::kill(::getpid(), SIGKILL);
  });
  auto journal = vtrace::Journal::open(journal_dir, error);
  REQUIRE(journal);
  CHECK(read_all(*journal).size() == 3);
  const auto unconfirmed = journal->take_unconfirmed();
  CHECK(std::vector<std::string>(unconfirmed.begin(), unconfirmed.end()) ==
        std::vector<std::string>{"written, not confirmed", "also not confirmed"});
  // Once this process confirms what it writes, nothing is unconfirmed at the next start.
  journal->add(4, "new");
  REQUIRE(journal->flush());
  journal->mark_confirmed();
  auto reopened = vtrace::Journal::open(journal_dir, error);
  REQUIRE(reopened);
  read_all(*reopened);
  CHECK(reopened->take_unconfirmed().empty());
}

TEST_CASE("a crash blames its line at once; a kill from outside only at the second in a row",
          "[omprog][crash-guard]") {
  TempDir dir;
  std::string error;
  const std::string line = R"({"msg":"the line being processed"})";
  SECTION("a fault of its own") {
    const int status = in_child([&] {
      auto guard = vtrace::CrashGuard::open(dir.path(), error);
      if (!guard) ::_exit(1);
      guard->startup_finished();
      guard->enter_ingest(line);
      __builtin_trap();
    });
    CHECK(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGILL);
    auto guard = vtrace::CrashGuard::open(dir.path(), error);
    REQUIRE(guard);
    CHECK(guard->recovery().crashed);
    REQUIRE(guard->recovery().quarantined_line);
    CHECK(*guard->recovery().quarantined_line == line);
    CHECK(guard->is_quarantined(line));
    CHECK_FALSE(guard->is_quarantined(R"({"msg":"another line"})"));
  }
  SECTION("kills from outside") {
    auto killed_while_processing = [&](const std::string& noted) {
      in_child([&] {
        auto guard = vtrace::CrashGuard::open(dir.path(), error);
        if (!guard) ::_exit(1);
        guard->startup_finished();
        guard->enter_ingest(noted);
        ::kill(::getpid(), SIGKILL);
      });
    };
    killed_while_processing(line);
    {
      auto guard = vtrace::CrashGuard::open(dir.path(), error);
      REQUIRE(guard);
      CHECK_FALSE(guard->recovery().crashed);
      CHECK(guard->recovery().killed_in_a_row == 1);
      CHECK_FALSE(guard->recovery().quarantined_line);
      CHECK_FALSE(guard->is_quarantined(line));
    }
    killed_while_processing(R"({"msg":"another line"})");
    killed_while_processing(line);
    {
      auto guard = vtrace::CrashGuard::open(dir.path(), error);
      REQUIRE(guard);
      CHECK_FALSE(guard->recovery().quarantined_line);  // not twice in a row
    }
    killed_while_processing(line);
    killed_while_processing(line);
    auto guard = vtrace::CrashGuard::open(dir.path(), error);
    REQUIRE(guard);
    REQUIRE(guard->recovery().quarantined_line);
    CHECK(*guard->recovery().quarantined_line == line);
  }
}

TEST_CASE("only start-ups that crash or hang move the journal aside, not quick kills",
          "[omprog][crash-guard]") {
  TempDir dir;
  std::string error;
  std::int64_t now = 1'796'000'000'000'000;
  // A start-up that dies before startup_finished(), `lived` µs after it began.
  auto startup_dies = [&](bool fault, std::int64_t lived) {
    in_child([&] {
      auto guard = vtrace::CrashGuard::open(dir.path(), error, now);
      if (!guard) ::_exit(1);
      if (fault) __builtin_trap();
      ::kill(::getpid(), SIGKILL);
    });
    now += lived;
  };
  auto next_start_moves_journal_aside = [&] {
    auto guard = vtrace::CrashGuard::open(dir.path(), error, now);
    REQUIRE(guard);
    const bool aside = guard->recovery().move_journal_aside;
    guard->startup_finished();
    return aside;
  };
  SECTION("killed from outside a second after starting, five times") {
    for (int i = 0; i < 5; ++i) startup_dies(false, vtrace::seconds(1));
    CHECK_FALSE(next_start_moves_journal_aside());
  }
  SECTION("killed after hanging for 30 s (rsyslog's confirmTimeout), three times") {
    for (int i = 0; i < 3; ++i) startup_dies(false, vtrace::seconds(30));
    CHECK(next_start_moves_journal_aside());
  }
  SECTION("crashing at once, three times") {
    for (int i = 0; i < 3; ++i) startup_dies(true, vtrace::seconds(1));
    CHECK(next_start_moves_journal_aside());
  }
  SECTION("two hangs, quick kills in between, then a third hang") {
    startup_dies(false, vtrace::seconds(30));
    startup_dies(false, vtrace::seconds(1));
    startup_dies(false, vtrace::seconds(30));
    startup_dies(false, vtrace::seconds(2));
    startup_dies(false, vtrace::seconds(30));
    CHECK(next_start_moves_journal_aside());
  }
}

TEST_CASE("fed by syslog-ng's program() the loop hands every line over and answers nothing",
          "[omprog]") {
  int in[2], out[2];
  REQUIRE(::pipe(in) == 0);
  REQUIRE(::pipe(out) == 0);
  const std::string input = "one\ntwo\nthree\n";
  REQUIRE(::write(in[1], input.data(), input.size()) == static_cast<ssize_t>(input.size()));
  ::close(in[1]);
  std::vector<std::string> seen;
  const auto end = vtrace::run_omprog_loop(
      in[0], out[1],
      [&](std::span<const std::string_view> lines) {
        seen.insert(seen.end(), lines.begin(), lines.end());
        return true;
      },
      [] { return true; }, 10, vtrace::kMaxOmprogLineBytes, vtrace::Feed::kSyslogNgProgram);
  CHECK(end == vtrace::OmprogEnd::kEndOfInput);
  CHECK(seen == std::vector<std::string>{"one", "two", "three"});
  ::close(out[1]);
  CHECK(read_to_end(out[0]).empty());
  ::close(in[0]);
  ::close(out[0]);
}

TEST_CASE("asked to stop, the syslog-ng loop first hands over what the pipe still holds",
          "[omprog]") {
  // syslog-ng writes its last lines, sends SIGTERM and closes the pipe: here the lines are in
  // the pipe, and the pipe closed, when the idle work asks to stop.
  for (const auto feed : {vtrace::Feed::kSyslogNgProgram, vtrace::Feed::kRsyslogOmprog}) {
    int in[2], out[2];
    REQUIRE(::pipe(in) == 0);
    REQUIRE(::pipe(out) == 0);
    std::vector<std::string> seen;
    const auto end = vtrace::run_omprog_loop(
        in[0], out[1],
        [&](std::span<const std::string_view> lines) {
          seen.insert(seen.end(), lines.begin(), lines.end());
          return true;
        },
        [&] {
          const std::string last = "last\nlines\n";
          const bool written =
              ::write(in[1], last.data(), last.size()) == static_cast<ssize_t>(last.size());
          ::close(in[1]);
          return !written;
        },
        10, vtrace::kMaxOmprogLineBytes, feed);
    if (feed == vtrace::Feed::kSyslogNgProgram) {
      CHECK(end == vtrace::OmprogEnd::kEndOfInput);
      CHECK(seen == std::vector<std::string>{"last", "lines"});
    } else {
      CHECK(end == vtrace::OmprogEnd::kStopped);
      CHECK(seen.empty());  // rsyslog sends what was not confirmed again
    }
    for (int fd : {in[0], out[0], out[1]}) ::close(fd);
  }
}

TEST_CASE("the syslog-ng loop reads at most a few KiB at a time, so a kill loses little",
          "[omprog]") {
  int in[2], out[2];
  REQUIRE(::pipe(in) == 0);
  REQUIRE(::pipe(out) == 0);
  const std::string line(99, 'x');
  std::string input;
  for (int i = 0; i < 200; ++i) input += line + "\n";  // 20,000 bytes, all in the pipe at once
  REQUIRE(::write(in[1], input.data(), input.size()) == static_cast<ssize_t>(input.size()));
  ::close(in[1]);
  std::size_t largest = 0;
  std::size_t total = 0;
  vtrace::run_omprog_loop(
      in[0], out[1],
      [&](std::span<const std::string_view> lines) {
        largest = std::max(largest, lines.size());
        total += lines.size();
        return true;
      },
      [] { return true; }, 10, vtrace::kMaxOmprogLineBytes, vtrace::Feed::kSyslogNgProgram);
  CHECK(total == 200);
  // A read completes at most the line the previous one began, then 4 KiB of whole lines.
  CHECK(largest <= vtrace::kSyslogNgReadBytes / 100 + 1);
  for (int fd : {in[0], out[0], out[1]}) ::close(fd);
}
