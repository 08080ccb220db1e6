// The omprog contract and the trust rule for records that arrive over the network.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

#include "module/omprog_loop.hpp"
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
  vtrace::Diagnostics d;
  auto settings = vtrace::parse_correlator_settings(vtrace::testing::kCampusYaml, "t.yaml", d);
  REQUIRE(settings);
  vtrace::testing::RecordingSink sink;
  vtrace::Correlator correlator(*settings, sink, "UTC");
  for (const auto& r : records) {
    vtrace::RsyslogRecord record;
    REQUIRE(vtrace::parse_rsyslog_json(r, record));
    vtrace::ingest_rsyslog_record(correlator, record);
  }
  correlator.finish();
  return sink.incidents;
}

}  // namespace

TEST_CASE("records from the sources' own addresses are traced", "[omprog]") {
  const auto incidents = run(chain("10.1.0.25", "192.0.2.25"));
  REQUIRE(incidents.size() == 1);
  REQUIRE(incidents[0].origin);
  CHECK(incidents[0].origin->ip == "10.1.23.45");
  CHECK(incidents[0].subject == "\u3053\u3093\u306b\u3061\u306f");
}

TEST_CASE("a record claiming a source's hostname from another address changes nothing",
          "[omprog][trust]") {
  CHECK(run(chain("10.1.0.25", "203.0.113.66")).empty());
  CHECK(run(chain("203.0.113.66", "203.0.113.66")).empty());
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

TEST_CASE("the omprog loop answers OK once at start and once per line, and nothing else",
          "[omprog]") {
  int in[2], out[2];
  REQUIRE(::pipe(in) == 0);
  REQUIRE(::pipe(out) == 0);
  const std::string input = "line one\nline two\n\nlast line without newline";
  REQUIRE(::write(in[1], input.data(), input.size()) == static_cast<ssize_t>(input.size()));
  ::close(in[1]);
  std::vector<std::string> seen;
  int idles = 0;
  vtrace::run_omprog_loop(
      in[0], out[1], [&](std::string_view line) { seen.emplace_back(line); },
      [&] {
        ++idles;
        return true;
      },
      10);
  ::close(out[1]);
  std::string answers;
  char buf[256];
  for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) > 0;) answers.append(buf, n);
  ::close(in[0]);
  ::close(out[0]);
  REQUIRE(seen.size() == 4);
  CHECK(seen[0] == "line one");
  CHECK(seen[2].empty());
  CHECK(seen[3] == "last line without newline");
  CHECK(answers == "OK\nOK\nOK\nOK\nOK\n");
}
