// The firewall parsers on lines others wrote: tests/fixtures/firewall-public/ (README.md there
// gives each file's origin and licence: CrowdSec's and logstash's parser tests, Cisco's
// configuration guide). Each line goes through the envelope decoder as replay reads it.
#include <catch2/catch.hpp>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "module/input/replay.hpp"
#include "module/input/syslog_envelope.hpp"
#include "module/parsers/log_line.hpp"
#include "module/parsers/parser_registry.hpp"
#include "module/settings.hpp"
#include "support/correlator_harness.hpp"

using namespace vtrace;

namespace {

const std::string kDir = std::string(VTRACE_FIXTURES) + "/firewall-public/";

std::vector<std::string> lines_of(const std::string& file) {
  std::ifstream in(kDir + file);
  REQUIRE(in);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

const LogParser& netfilter() {
  static const std::unique_ptr<LogParser> parser = make_netfilter_parser();
  return *parser;
}

const LogParser& asa() {
  static const std::unique_ptr<LogParser> parser = make_cisco_asa_parser();
  return *parser;
}

// What the firewall parser that takes the line's program made of it.
struct Parsed {
  ParseStatus status = ParseStatus::kNotMine;
  ParsedRecord record;
  std::string parser;
};

Parsed parse_line(const std::string& text) {
  SyslogEnvelopeDecoder decoder(2026, "UTC", 0);
  LogLine line;
  INFO(text);
  REQUIRE(decoder.decode(text, line));
  Parsed p;
  for (const LogParser* parser : {&netfilter(), &asa()}) {
    if (!parser->accepts_program(line.program)) continue;
    p.status = parser->parse(line, p.record);
    p.parser = std::string(parser->name());
    if (p.status != ParseStatus::kNotMine) break;
  }
  return p;
}

std::vector<Incident> replay_scan(const std::string& internal_cidrs, DirectSmtpStats& stats) {
  Diagnostics diagnostics;
  const auto settings = parse_correlator_settings(
      "sources:\n"
      "  - name: scw\n"
      "    hostnames: [scw-d95986]\n"
      "    role: firewall\n"
      "networks:\n"
      "  internal:\n"
      "    - name: site\n"
      "      cidrs: [" +
          internal_cidrs +
          "]\n"
          "direct_smtp:\n"
          "  ports: [21, 22, 25, 80, 125, 143, 443, 445, 1234, 2222, 3306, 4443, 8080, 8081, "
          "8082, 8083, 9090]\n"
          "  threshold: {connections: 10, destinations: 1, within: 10m}\n",
      "vtrace.yaml", diagnostics);
  INFO(diagnostics.render());
  REQUIRE(settings);
  testing::RecordingSink sink;
  Correlator correlator(*settings, sink, "UTC");
  ReplayOptions options;
  options.year = 2026;
  options.timezone = "UTC";
  std::ostringstream progress;
  const auto summary = run_replay(
      correlator, {parse_replay_argument(kDir + "crowdsec-iptables-scan-multi-port.log")}, options,
      progress);
  CHECK(summary.errors.empty());
  stats = correlator.direct_smtp_stats();
  return sink.incidents;
}

}  // namespace

TEST_CASE("CrowdSec's iptables test lines are read as the kernel wrote them", "[netfilter]") {
  const auto lines = lines_of("crowdsec-iptables-logs.log");
  REQUIRE(lines.size() == 4);
  const Parsed first = parse_line(lines[0]);
  REQUIRE(first.status == ParseStatus::kRecord);
  CHECK(first.parser == "netfilter");
  CHECK(first.record.src_ip == "195.54.160.107");
  CHECK(first.record.src_port == 8080);
  CHECK(first.record.dst_ip == "51.15.166.67");
  CHECK(first.record.dst_port == 8123);
  CHECK(first.record.verdict == ConnectionVerdict::kUnknown);   // no prefix: nothing said
  CHECK(parse_line(lines[1]).status == ParseStatus::kRecord);   // IN=enp.1s0
  CHECK(parse_line(lines[2]).status == ParseStatus::kNotMine);  // XX= instead of IN=
  // "IPTABLES-DROP: " UDP to port 53, after the space-padded uptime "[  203.842973]"
  CHECK(parse_line(lines[3]).status == ParseStatus::kIgnored);
}

TEST_CASE("a real outside SYN scan is 17 connection records and the cut-down lines noise",
          "[netfilter]") {
  const auto lines = lines_of("crowdsec-iptables-scan-multi-port.log");
  REQUIRE(lines.size() == 49);
  int records = 0;
  int to_port_25 = 0;
  int noise = 0;
  for (const auto& line : lines) {
    const Parsed p = parse_line(line);
    if (p.status == ParseStatus::kRecord) {
      ++records;
      CHECK(p.record.src_ip == "62.34.17.168");
      CHECK(p.record.dst_ip == "10.73.140.49");
      to_port_25 += p.record.dst_port == 25;
    } else {
      INFO(line);
      CHECK(p.status == ParseStatus::kIgnored);  // TCP without flags: no connection opening
      ++noise;
    }
  }
  CHECK(records == 17);
  CHECK(to_port_25 == 1);
  CHECK(noise == 32);
}

TEST_CASE("a real scan from outside makes no direct_smtp incident; from inside it would",
          "[netfilter][direct_smtp]") {
  DirectSmtpStats stats;
  CHECK(replay_scan("10.0.0.0/8", stats).empty());
  CHECK(stats.connections == 17);
  CHECK(stats.not_watched == 17);
  // The same lines with the scanner's network counted as ours: it crosses the threshold.
  const auto incidents = replay_scan("10.0.0.0/8, 62.34.17.0/24", stats);
  REQUIRE_FALSE(incidents.empty());  // its revisions: when crossing, and at the end of input
  for (const auto& in : incidents) {
    CHECK(in.id == incidents[0].id);
    CHECK(in.kind == IncidentKind::kDirectSmtp);
    REQUIRE(in.origin);
    CHECK(in.origin->ip == "62.34.17.168");
  }
  REQUIRE(incidents.back().direct_smtp);
  CHECK(incidents.back().direct_smtp->connections == 17);  // one source port, 17 ports
  CHECK(stats.retransmissions == 0);
}

TEST_CASE("logstash's quoted SuSEfirewall2, Shorewall and ASA lines are read", "[netfilter][asa]") {
  const auto lines = lines_of("logstash-patterns-core.log");
  REQUIRE(lines.size() == 7);
  // <191>Aug  1 14:01:20 abc-asa1: %ASA-6-302013: Built outbound TCP connection ... for
  // out-v1101:10.125.126.86/2010 ... to ent-v1124:100.100.100.111/51444 (10.125.1.11/37785)
  const Parsed built = parse_line(lines[0]);
  REQUIRE(built.status == ParseStatus::kRecord);
  CHECK(built.parser == "cisco-asa");
  CHECK(built.record.src_ip == "100.100.100.111");
  CHECK(built.record.src_port == 51444);
  CHECK(built.record.dst_ip == "10.125.126.86");
  CHECK(built.record.dst_port == 2010);
  CHECK(built.record.verdict == ConnectionVerdict::kAllowed);
  CHECK(parse_line(lines[1]).status == ParseStatus::kIgnored);  // SFW2-INext-DROP-DEFLT, UDP
  // SFW2-INext-ACC-TCP: a SYN with TCP options after URGP; "ACC" is none of the verdict words
  const Parsed accepted = parse_line(lines[2]);
  REQUIRE(accepted.status == ParseStatus::kRecord);
  CHECK(accepted.record.src_ip == "192.168.0.101");
  CHECK(accepted.record.dst_port == 631);
  CHECK(accepted.record.verdict == ConnectionVerdict::kUnknown);
  // SuSE-FW-DROP-DEFAULT, "Mar 8" with an unpadded day
  const Parsed dropped = parse_line(lines[3]);
  REQUIRE(dropped.status == ParseStatus::kRecord);
  CHECK(dropped.record.src_ip == "202.175.181.4");
  CHECK(dropped.record.dst_ip == "64.238.136.187");
  CHECK(dropped.record.dst_port == 3127);
  CHECK(dropped.record.verdict == ConnectionVerdict::kBlocked);
  CHECK(parse_line(lines[4]).status == ParseStatus::kIgnored);  // an ACK of a related flow
  CHECK(parse_line(lines[5]).status == ParseStatus::kIgnored);  // IPv6 UDP, full addresses
  // Shorewall:FORWARD:REJECT:IN=eth2 (the prefix runs into IN=), UDP: read, and noise
  const Parsed shorewall = parse_line(lines[6]);
  CHECK(shorewall.parser == "netfilter");
  CHECK(shorewall.status == ParseStatus::kIgnored);
}

TEST_CASE("the ACL log examples of Cisco's configuration guide are read", "[asa]") {
  const auto lines = lines_of("cisco-asa-config-guide.txt");
  REQUIRE(lines.size() == 4);
  std::vector<ParseStatus> statuses;
  for (const auto& message : lines) {
    LogLine line;
    line.message = message;
    line.raw = message;
    line.raw_is_message = true;
    ParsedRecord r;
    statuses.push_back(asa().parse(line, r));
    if (statuses.back() == ParseStatus::kRecord) {
      CHECK(r.src_ip == "1.1.1.1");
      CHECK(r.src_port == 12345);
      CHECK(r.dst_ip == "192.168.1.1");
      CHECK(r.dst_port == 1357);
      CHECK(r.verdict == ConnectionVerdict::kAllowed);
    }
  }
  // permitted tcp (first hit), permitted tcp (600-second interval, "(12345)->"), denied ip x2
  CHECK(statuses == std::vector<ParseStatus>{ParseStatus::kRecord, ParseStatus::kRecord,
                                             ParseStatus::kIgnored, ParseStatus::kIgnored});
}
