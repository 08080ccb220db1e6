// Unit tests for the firewall parsers: netfilter LOG/nftables log lines, Cisco ASA/FTD
// connection messages and custom connection formats. Real lines are quoted one by one, each
// with its origin; the formats are the kernel's (net/netfilter/nf_log_syslog.c, GPL-2.0:
// `nf_log_buf_add(m, "SRC=%pI4 DST=%pI4 ", &ih->saddr, &ih->daddr);`) and Cisco's ("Cisco
// Secure Firewall ASA Series Syslog Messages", messages 106023, 106100 and 302013).
#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <string_view>

#include "module/input/syslog_envelope.hpp"
#include "module/parsers/log_line.hpp"
#include "module/parsers/parser_registry.hpp"
#include "module/settings.hpp"
#include "support/parser_runs.hpp"
#include "support/view_checks.hpp"

using namespace vtrace;
using vtrace::testing::parse_syslog_line;
using vtrace::testing::points_into;

namespace {

const LogParser& netfilter() {
  static const std::unique_ptr<LogParser> parser = make_netfilter_parser();
  return *parser;
}

const LogParser& asa() {
  static const std::unique_ptr<LogParser> parser = make_cisco_asa_parser();
  return *parser;
}

// A whole syslog line, through the envelope decoder, as replay reads it.
ParseStatus parse(const LogParser& parser, std::string_view text, ParsedRecord& out) {
  const ParseStatus status = parse_syslog_line(parser, text, out);
  CHECK(points_into(out.action, text));
  return status;
}

// The message alone, as rsyslog hands it over when it took no program name from the line.
ParseStatus parse_message(const LogParser& parser, std::string_view message, ParsedRecord& out) {
  return vtrace::testing::parse_message(parser, "", message, out);
}

}  // namespace

TEST_CASE("a UFW block of an outbound SYN to port 25 is a blocked connection", "[netfilter]") {
  ParsedRecord r;
  // The kernel's layout with ufw's prefix, as in the forum line below, for an internal PC.
  REQUIRE(parse(netfilter(),
                "Dec  7 10:00:01 fw1 kernel: [486938.916177] [UFW BLOCK] IN=eth1 OUT=eth0 "
                "MAC=00:00:00:00:00:00:00:00:00:00:00:00:08:00 SRC=10.1.2.3 DST=198.51.100.7 "
                "LEN=60 TOS=0x00 PREC=0x00 TTL=63 ID=51005 DF PROTO=TCP SPT=41945 DPT=25 "
                "WINDOW=64240 RES=0x00 SYN URGP=0 ",
                r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kConnection);
  CHECK(r.src_ip == "10.1.2.3");
  CHECK(r.dst_ip == "198.51.100.7");
  CHECK(r.src_port == 41945);
  CHECK(r.dst_port == 25);
  CHECK(r.verdict == ConnectionVerdict::kBlocked);
}

TEST_CASE("a netfilter line whose prefix names no verdict has an unknown verdict", "[netfilter]") {
  ParsedRecord r;
  REQUIRE(parse(netfilter(),
                "Dec  7 10:00:01 fw1 kernel: smtp-out: IN=eth1 OUT=eth0 SRC=10.1.2.3 "
                "DST=198.51.100.7 LEN=60 TOS=0x00 PREC=0x00 TTL=63 ID=1 DF PROTO=TCP SPT=41945 "
                "DPT=25 WINDOW=64240 RES=0x00 SYN URGP=0",
                r) == ParseStatus::kRecord);
  CHECK(r.verdict == ConnectionVerdict::kUnknown);
  REQUIRE(parse(netfilter(),
                "Dec  7 10:00:01 fw1 kernel: [UFW ALLOW] IN=eth1 OUT=eth0 SRC=10.1.2.3 "
                "DST=198.51.100.7 LEN=60 TOS=0x00 PREC=0x00 TTL=63 ID=1 DF PROTO=TCP SPT=41945 "
                "DPT=587 WINDOW=64240 RES=0x00 SYN URGP=0",
                r) == ParseStatus::kRecord);
  CHECK(r.verdict == ConnectionVerdict::kAllowed);
  CHECK(r.dst_port == 587);
}

TEST_CASE("nftables log lines with IPv6 addresses and sequence numbers are read", "[netfilter]") {
  ParsedRecord r;
  // nf_log_syslog's IPv6 layout (TC, HOPLIMIT, FLOWLBL) with logflags sequence numbers:
  // "SEQ=%u ACK=%u" is a key, not the ACK flag.
  REQUIRE(parse(netfilter(),
                "Dec  7 10:00:02 fw1 kernel: DROP smtp IN=eth1 OUT=eth0 "
                "SRC=2001:0db8:0000:0000:0000:0000:0000:0045 "
                "DST=2001:0db8:00ff:0000:0000:0000:0000:0007 LEN=80 TC=0 HOPLIMIT=63 "
                "FLOWLBL=123 PROTO=TCP SPT=50312 DPT=25 SEQ=4711 ACK=0 WINDOW=64800 RES=0x00 "
                "SYN URGP=0",
                r) == ParseStatus::kRecord);
  CHECK(r.src_ip == "2001:0db8:0000:0000:0000:0000:0000:0045");
  CHECK(r.dst_port == 25);
  CHECK(r.verdict == ConnectionVerdict::kBlocked);
}

TEST_CASE("netfilter packets that open no TCP connection are this format's noise", "[netfilter]") {
  ParsedRecord r;
  // Ubuntu forums, "ufw logs formatting" (2014-06-23): a UDP packet, verbatim.
  CHECK(parse(netfilter(),
              "Jun 23 08:52:36 server1 kernel: [487012.604424] [UFW BLOCK] IN=eth1 OUT= "
              "MAC=00:00:00:00:00:00:00:00:00:00:00:00:00:00 SRC=46.138.41.210 DST=1.2.3.4 "
              "LEN=129 TOS=0x00 PREC=0x00 TTL=112 ID=12729 PROTO=UDP SPT=6899 DPT=6881 LEN=109 ",
              r) == ParseStatus::kIgnored);
  // A SYN-ACK (a server's answer) and a packet of an established connection.
  CHECK(parse(netfilter(),
              "Dec  7 10:00:01 fw1 kernel: [UFW BLOCK] IN=eth0 OUT=eth1 SRC=198.51.100.7 "
              "DST=10.1.2.3 LEN=60 TOS=0x00 PREC=0x00 TTL=50 ID=0 DF PROTO=TCP SPT=25 "
              "DPT=41945 WINDOW=65160 RES=0x00 ACK SYN URGP=0",
              r) == ParseStatus::kIgnored);
  CHECK(parse(netfilter(),
              "Dec  7 10:00:01 fw1 kernel: [UFW BLOCK] IN=eth1 OUT=eth0 SRC=10.1.2.3 "
              "DST=198.51.100.7 LEN=52 TOS=0x00 PREC=0x00 TTL=63 ID=2 DF PROTO=TCP SPT=41945 "
              "DPT=25 WINDOW=502 RES=0x00 ACK PSH URGP=0",
              r) == ParseStatus::kIgnored);
}

TEST_CASE("a netfilter line with an address that is no address is malformed", "[netfilter]") {
  ParsedRecord r;
  // Ubuntu forums, "ufw logs formatting" (2014-06-23), verbatim: its author anonymised DST.
  CHECK(parse(netfilter(),
              "Jun 23 08:51:22 server1 kernel: [486938.916177] [UFW BLOCK] IN=eth1 OUT= "
              "MAC=00:00:00:00:00:00:00:00:00:00:00:00:00:00 SRC=86.101.38.88 DST=xx.xx.xx.xx "
              "LEN=60 TOS=0x00 PREC=0x00 TTL=50 ID=51005 DF PROTO=TCP SPT=41945 DPT=16881 "
              "WINDOW=7300 RES=0x00 SYN URGP=0 ",
              r) == ParseStatus::kMalformed);
  CHECK(parse(netfilter(),
              "Dec  7 10:00:01 fw1 kernel: IN=eth1 OUT=eth0 SRC=10.1.2.3 DST=198.51.100.7 "
              "PROTO=TCP SPT=41945 DPT=99999 SYN URGP=0",
              r) == ParseStatus::kMalformed);
}

TEST_CASE("netfilter reads the kernel's and ulogd's lines and no mail program's", "[netfilter]") {
  CHECK(netfilter().name() == "netfilter");
  CHECK(netfilter().accepts_program("kernel"));
  CHECK(netfilter().accepts_program("ulogd"));
  CHECK_FALSE(netfilter().accepts_program("postfix/smtpd"));
  ParsedRecord r;
  CHECK(parse_message(netfilter(), "4AB12345: client=pc[10.1.2.3]", r) == ParseStatus::kNotMine);
}

TEST_CASE("an ASA 106023 deny of tcp to port 25 is a blocked connection", "[asa]") {
  ParsedRecord r;
  // The layout of a public ASA log line (an ASA's "show log", quoted in a script's comment):
  // "%ASA-4-106023: Deny tcp src outside:10.251.52.73/61688 dst inside:10.4.0.200/25 by
  // access-group "ACL_V901:DMZ_V101:DATACENTER" [0x0, 0x0]", here from an inside PC outwards.
  REQUIRE(parse(asa(),
                "Dec  7 10:00:03 fw2 %ASA-4-106023: Deny tcp src inside:10.1.2.3/61688 dst "
                "outside:198.51.100.7/25 by access-group \"inside_in\" [0x0, 0x0]",
                r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kConnection);
  CHECK(r.src_ip == "10.1.2.3");
  CHECK(r.src_port == 61688);
  CHECK(r.dst_ip == "198.51.100.7");
  CHECK(r.dst_port == 25);
  CHECK(r.verdict == ConnectionVerdict::kBlocked);
  // The tag inside the message (a collector that kept "fw2 : %ASA-..." whole), with an
  // identity-firewall user after the source.
  REQUIRE(parse_message(asa(),
                        "fw2 : %ASA-4-106023: Deny tcp src inside:10.1.2.3/61688 (LOCAL\\alice) "
                        "dst outside:198.51.100.8/25 by access-group \"inside_in\" [0x0, 0x0]",
                        r) == ParseStatus::kRecord);
  CHECK(r.src_ip == "10.1.2.3");
  CHECK(r.dst_ip == "198.51.100.8");
}

TEST_CASE("an ASA 106100 ACL log says permitted or denied", "[asa]") {
  ParsedRecord r;
  // Cisco ASA Series CLI Configuration Guide, "Configuring Logging for Access Lists": "%ASA|PIX-7-
  // 106100: access-list outside-acl permitted tcp outside/1.1.1.1(12345) -> inside/
  // 192.168.1.1(1357) hit-cnt 1 (first hit)", with the ASA tag.
  REQUIRE(parse(asa(),
                "Dec  7 10:00:04 fw2 %ASA-7-106100: access-list outside-acl permitted tcp "
                "outside/1.1.1.1(12345) -> inside/192.168.1.1(1357) hit-cnt 1 (first hit)",
                r) == ParseStatus::kRecord);
  CHECK(r.src_ip == "1.1.1.1");
  CHECK(r.dst_ip == "192.168.1.1");
  CHECK(r.dst_port == 1357);
  CHECK(r.verdict == ConnectionVerdict::kAllowed);
  REQUIRE(parse(asa(),
                "Dec  7 10:00:04 fw2 %ASA-6-106100: access-list inside_in denied tcp "
                "inside/10.1.2.3(50312)->outside/198.51.100.7(25) hit-cnt 1 first hit "
                "[0x91e9b1c8, 0x0]",
                r) == ParseStatus::kRecord);
  CHECK(r.src_ip == "10.1.2.3");
  CHECK(r.dst_port == 25);
  CHECK(r.verdict == ConnectionVerdict::kBlocked);
  CHECK(parse(asa(),
              "Dec  7 10:00:04 fw2 %ASA-6-106100: access-list inside_in est-allowed tcp "
              "outside/198.51.100.7(25) -> inside/10.1.2.3(50312) hit-cnt 1 first hit",
              r) == ParseStatus::kIgnored);
}

TEST_CASE("an ASA 302013 built connection names its initiator by direction", "[asa]") {
  ParsedRecord r;
  // pastebin.com/EQsiTTD1 (2021-04-01), the message after its time and sender: an inbound
  // connection, whose "for" side is the initiator.
  REQUIRE(parse_message(asa(),
                        "10.126.11.254 : %ASA-6-302013: Built inbound TCP "
                        "connection 991727 for pt:10.159.19.254/56310 (10.159.19.254/56310) to "
                        "gw:10.159.11.1/443 (10.159.11.1/443)",
                        r) == ParseStatus::kRecord);
  CHECK(r.src_ip == "10.159.19.254");
  CHECK(r.dst_ip == "10.159.11.1");
  CHECK(r.dst_port == 443);
  CHECK(r.verdict == ConnectionVerdict::kAllowed);
  // Outbound: "for" is the foreign host, the destination.
  REQUIRE(parse(asa(),
                "Dec  7 10:00:05 fw2 %FTD-6-302013: Built outbound TCP connection 1234 for "
                "outside:198.51.100.7/25 (198.51.100.7/25) to inside:10.1.2.3/50312 "
                "(203.0.113.9/50312)",
                r) == ParseStatus::kRecord);
  CHECK(r.src_ip == "10.1.2.3");
  CHECK(r.src_port == 50312);
  CHECK(r.dst_ip == "198.51.100.7");
  CHECK(r.dst_port == 25);
}

TEST_CASE("ASA lines with the ASA's timestamp and device-id are connection records", "[asa]") {
  ParsedRecord r;
  REQUIRE(parse(asa(),
                "Mar 16 2015 20:57:10 V901-V101 : %ASA-4-106023: Deny tcp src "
                "outside:10.251.52.73/61688 dst inside:10.4.0.200/25 by access-group "
                "\"ACL_V901:DMZ_V101:DATACENTER\" [0x0, 0x0]",
                r) == ParseStatus::kRecord);
  CHECK(r.src_ip == "10.251.52.73");
  CHECK(r.dst_ip == "10.4.0.200");
  CHECK(r.dst_port == 25);
  CHECK(r.verdict == ConnectionVerdict::kBlocked);
  REQUIRE(parse(asa(),
                "<166>Dec 07 2026 10:00:05 fw2 : %ASA-6-302013: Built outbound TCP connection "
                "1234 for outside:198.51.100.7/25 (198.51.100.7/25) to inside:10.1.2.3/50312 "
                "(203.0.113.9/50312)",
                r) == ParseStatus::kRecord);
  CHECK(r.src_ip == "10.1.2.3");
  CHECK(r.dst_ip == "198.51.100.7");
  REQUIRE(parse(asa(),
                "Dec  7 10:00:06 fw2 : %ASA-6-106100: access-list inside_in denied tcp "
                "inside/10.1.2.3(50313) -> outside/198.51.100.8(25) hit-cnt 1 first hit "
                "[0x91e9b1c8, 0x0]",
                r) == ParseStatus::kRecord);
  CHECK(r.dst_ip == "198.51.100.8");
  CHECK(r.verdict == ConnectionVerdict::kBlocked);
}

TEST_CASE("other ASA messages are noise and a garbled one is malformed", "[asa]") {
  ParsedRecord r;
  CHECK(parse(asa(),
              "Dec  7 10:00:06 fw2 %ASA-6-302014: Teardown TCP connection 1234 for "
              "outside:198.51.100.7/25 to inside:10.1.2.3/50312 duration 0:00:01 bytes 0",
              r) == ParseStatus::kIgnored);
  CHECK(parse(asa(),
              "Dec  7 10:00:06 fw2 %ASA-4-106023: Deny udp src inside:10.1.2.3/5353 dst "
              "outside:224.0.0.251/5353 by access-group \"inside_in\" [0x0, 0x0]",
              r) == ParseStatus::kIgnored);
  CHECK(parse(asa(),
              "Dec  7 10:00:06 fw2 %ASA-4-106023: Deny tcp src inside:10.1.2.3 dst "
              "outside:198.51.100.7/25 by access-group \"inside_in\"",
              r) == ParseStatus::kMalformed);
  CHECK(parse_message(asa(), "connect from pc[10.1.2.3]", r) == ParseStatus::kNotMine);
  CHECK(asa().accepts_program("%FTD-6-302013"));
  CHECK_FALSE(asa().accepts_program("postfix/smtpd"));
}

TEST_CASE("a custom connection format reads its named groups and its action's verdict",
          "[custom-connection]") {
  CustomFormatSettings format;
  format.name = "fortigate";
  format.kind = "connection";
  format.pattern = R"(srcip=(?P<src_ip>\S+) srcport=(?P<src_port>\d+) dstip=(?P<dst_ip>\S+) )"
                   R"(dstport=(?P<dst_port>\d+) .*action="?(?P<action>\w+))";
  const auto parser = make_custom_parser(format);
  ParsedRecord r;
  LogLine line;
  line.program = "fgt";
  line.message =
      "type=traffic srcip=10.1.2.3 srcport=50312 dstip=198.51.100.7 dstport=25 proto=6 "
      "action=\"deny\"";
  REQUIRE(parser->parse(line, r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kConnection);
  CHECK(r.src_ip == "10.1.2.3");
  CHECK(r.src_port == 50312);
  CHECK(r.dst_ip == "198.51.100.7");
  CHECK(r.dst_port == 25);
  CHECK(r.verdict == ConnectionVerdict::kBlocked);
  r.clear();
  line.message =
      "type=traffic srcip=10.1.2.300 srcport=50312 dstip=198.51.100.7 dstport=25 action=deny";
  CHECK(parser->parse(line, r) == ParseStatus::kMalformed);
}
