// Unit tests for SyslogEnvelopeDecoder: every syslog envelope form of log-formats.md §1, year
// inference for BSD timestamps, and exim's own main-log lines.
#include "module/input/syslog_envelope.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "support/view_checks.hpp"

using namespace vtrace;

using vtrace::testing::check_record_views_inside;
using vtrace::testing::points_into;

namespace {

TimePoint utc(int y, int mo, int d, int h, int mi, int s, std::int64_t us = 0) {
  return make_utc(y, mo, d, h, mi, s, us);
}

void check_views_inside(const LogLine& line, std::string_view text) {
  CHECK(line.raw.data() == text.data());
  CHECK(line.raw.size() == text.size());
  CHECK(points_into(line.hostname, text));
  CHECK(points_into(line.program, text));
  CHECK(points_into(line.pid, text));
  CHECK(points_into(line.message, text));
}

// Decodes with a fixed year 2026 in UTC, as the tests of the parsers do.
LogLine decode_ok(std::string_view text) {
  SyslogEnvelopeDecoder decoder(2026, "UTC", 0);
  LogLine line;
  INFO(text);
  REQUIRE(decoder.decode(text, line));
  check_views_inside(line, text);
  return line;
}

bool decodes(std::string_view text) {
  SyslogEnvelopeDecoder decoder(2026, "UTC", 0);
  LogLine line;
  return decoder.decode(text, line);
}

}  // namespace

// --- RFC 3164 ---------------------------------------------------------------------------------

TEST_CASE("an RFC 3164 line with a space-padded day decodes host, tag, pid and message",
          "[envelope]") {
  // log-formats.md §1.1 [R:fail2ban sendmail-reject]
  constexpr std::string_view kLine =
      "Nov  3 11:35:30 Microsoft sendmail[26254]: rA37ZTSC026254: from=<davaojk25@domain.com>, "
      "size=0, class=0, nrcpts=0, bodytype=8BITMIME, proto=ESMTP, daemon=MTA, "
      "relay=163.23.32.95.dsl-dynamic.vsi.ru [95.32.23.163]";
  const LogLine line = decode_ok(kLine);
  CHECK(line.time == utc(2026, 11, 3, 11, 35, 30));
  CHECK(line.hostname == "Microsoft");
  CHECK(line.program == "sendmail");
  CHECK(line.pid == "26254");
  CHECK(line.message ==
        "rA37ZTSC026254: from=<davaojk25@domain.com>, size=0, class=0, nrcpts=0, "
        "bodytype=8BITMIME, proto=ESMTP, daemon=MTA, "
        "relay=163.23.32.95.dsl-dynamic.vsi.ru [95.32.23.163]");
}

TEST_CASE("an RFC 3164 line with a two-digit day and an FQDN host decodes", "[envelope]") {
  // log-formats.md §2.3(c) [C: sendmail grok-pattern test script for sonic.net]
  const LogLine line = decode_ok(
      "Nov 13 14:52:10 a.mail.sonic.net sm-mta[16961]: qADMh0cd016570: "
      "to=<augie@corp.sonic.net>,<augie@sonic.net>,<augie@schwer.us>, delay=00:09:09");
  CHECK(line.time == utc(2026, 11, 13, 14, 52, 10));
  CHECK(line.hostname == "a.mail.sonic.net");
  CHECK(line.program == "sm-mta");
  CHECK(line.pid == "16961");
  CHECK(line.message ==
        "qADMh0cd016570: to=<augie@corp.sonic.net>,<augie@sonic.net>,<augie@schwer.us>, "
        "delay=00:09:09");
}

TEST_CASE("BSD timestamps are read in the decoder's zone", "[envelope]") {
  // tests/fixtures/scenario/gw2.log (the project's scenario)
  constexpr std::string_view kLine =
      "Nov 28 05:00:04 gw2 sendmail[1123]: 6AS504Kr001108: from=<admin@example.net>, "
      "size=86439, class=0, nrcpts=1, msgid=<yjchdmio.2.erNANM@example.net>, proto=ESMTP, "
      "daemon=MTA, relay=relay2.campus.example.ac.jp [10.1.0.26]";
  SyslogEnvelopeDecoder tokyo(2026, "Asia/Tokyo", 0);
  LogLine line;
  REQUIRE(tokyo.decode(kLine, line));
  CHECK(line.time == utc(2026, 11, 27, 20, 0, 4));
  SyslogEnvelopeDecoder berlin(2026, "Europe/Berlin", 0);
  REQUIRE(berlin.decode(kLine, line));
  CHECK(line.time == utc(2026, 11, 28, 4, 0, 4));
}

TEST_CASE("a BSD timestamp with a fraction keeps the microseconds", "[envelope]") {
  // log-formats.md §3.2(c) [P: i-MSCP/plugins README], as written by rsyslog's
  // RSYSLOG_TraditionalFileFormat with high-precision timestamps enabled
  const LogLine line = decode_ok(
      "Feb 20 03:26:16.123456 precise postfix/smtpd[19062]: 0A618260345: "
      "client=unknown[192.168.5.100], sasl_method=CRAM-MD5, sasl_username=nuxwin@domain.tld");
  CHECK(line.time == utc(2026, 2, 20, 3, 26, 16, 123456));
  CHECK(line.hostname == "precise");
  CHECK(line.program == "postfix/smtpd");
  CHECK(line.message.substr(0, 13) == "0A618260345: ");
}

TEST_CASE("a trailing CR LF is not part of the message", "[envelope]") {
  // log-formats.md §2.3(c) [C: sendmail grok-pattern test script], read from a CRLF file
  constexpr std::string_view kLine =
      "Nov  7 13:52:47 b.mx.sonic.net sm-mta[29841]: qA7LqlqC029841: from=<augie@corp.sonic.net>, "
      "size=1391, class=0, nrcpts=1, msgid=<509AD829.8000902@corp.sonic.net>, proto=ESMTP, "
      "daemon=MTA, relay=a.mail.sonic.net [64.142.16.245]\r\n";
  const LogLine line = decode_ok(kLine);
  CHECK(line.raw == kLine);
  CHECK(line.message.find('\r') == std::string_view::npos);
  CHECK(line.message.ends_with("relay=a.mail.sonic.net [64.142.16.245]"));
}

// --- RFC 3339 / ISO timestamps ----------------------------------------------------------------

TEST_CASE("an rsyslog RFC 3339 high-precision line decodes with its offset", "[envelope]") {
  // log-formats.md §1.4 / §3.2(b) [P: FHNW CyberLab mail-server lab report]
  const LogLine line = decode_ok(
      "2026-05-16T16:13:25.137663+02:00 mail postfix/smtpd[2312]: 21957407BE: "
      "client=localhost[127.0.0.1]");
  CHECK(line.time == utc(2026, 5, 16, 14, 13, 25, 137663));
  CHECK(line.hostname == "mail");
  CHECK(line.program == "postfix/smtpd");
  CHECK(line.pid == "2312");
  CHECK(line.message == "21957407BE: client=localhost[127.0.0.1]");
}

TEST_CASE("an ISO timestamp with a +0000 offset and a multi-instance postfix name decodes",
          "[envelope]") {
  // log-formats.md §1.5 / §3.2(a) [P: MailRoute ITAR/HIPAA FAQ]
  const LogLine line = decode_ok(
      "2018-11-21T15:18:43+0000 007.lax postfix-inbound/smtpd[7514]: 430R6q29CSzTgvf: "
      "client=sm1.email.bmwusa.com[50.57.212.101]");
  CHECK(line.time == utc(2018, 11, 21, 15, 18, 43));
  CHECK(line.hostname == "007.lax");
  CHECK(line.program == "postfix-inbound/smtpd");
  CHECK(line.pid == "7514");
  CHECK(line.message == "430R6q29CSzTgvf: client=sm1.email.bmwusa.com[50.57.212.101]");
}

TEST_CASE("RFC 3339 envelopes ignore the decoder's zone and year", "[envelope]") {
  // tests/fixtures/scenario/gw1.log (the project's scenario)
  constexpr std::string_view kLine =
      "2026-11-28T05:00:36.618019+00:00 gw1 clamav-milter[777]: Message 7F310975433 from "
      "<support@example.com> to <office@example.ac.jp> with subject 'Re: document' message-id "
      "'<vpnkafic.241.Ahms0c@example.com>' date 'Sat, 28 Nov 2026 05:00:36 +0000' infected by "
      "Win.Worm.Lovgate-3";
  SyslogEnvelopeDecoder decoder(1999, "Asia/Tokyo", 0);
  LogLine line;
  REQUIRE(decoder.decode(kLine, line));
  CHECK(line.time == utc(2026, 11, 28, 5, 0, 36, 618019));
  CHECK(line.hostname == "gw1");
  CHECK(line.program == "clamav-milter");
  CHECK(line.pid == "777");
  CHECK(line.message.substr(0, 20) == "Message 7F310975433 ");
}

TEST_CASE("an RFC 3339 envelope on a day the calendar lacks or before 1970 is not decoded",
          "[envelope]") {
  // The decoder reuses the last line's second: the refused day must not slip through it.
  SyslogEnvelopeDecoder decoder(2026, "UTC", 0);
  LogLine line;
  REQUIRE(decoder.decode("2026-02-28T23:59:59.000001+00:00 gw1 clamav-milter[777]: x", line));
  CHECK(line.time == utc(2026, 2, 28, 23, 59, 59, 1));
  CHECK_FALSE(decoder.decode("2026-02-29T00:00:00.000001+00:00 gw1 clamav-milter[777]: x", line));
  CHECK_FALSE(decoder.decode("2026-04-31T12:00:00+09:00 gw1 clamav-milter[777]: x", line));
  CHECK_FALSE(decoder.decode("0001-01-01T00:00:00.000000+00:00 gw1 clamav-milter[777]: x", line));
  CHECK_FALSE(decoder.decode("<14>1 2026-02-29T00:00:00Z gw1 clamav-milter 777 - - x", line));
  REQUIRE(decoder.decode("2028-02-29T00:00:00.000001+00:00 gw1 clamav-milter[777]: x", line));
  CHECK(line.time == utc(2028, 2, 29, 0, 0, 0, 1));
}

TEST_CASE("BSD and exim timestamps on a day the calendar lacks are not decoded", "[envelope]") {
  // The BSD year is the decoder's (2026 here): no February 29th in it.
  SyslogEnvelopeDecoder decoder(2026, "UTC", 0);
  LogLine line;
  CHECK_FALSE(decoder.decode("Feb 29 05:00:05 relay1 postfix/smtpd[1180]: x", line));
  CHECK_FALSE(decoder.decode("Apr 31 05:00:05 relay1 postfix/smtpd[1180]: x", line));
  REQUIRE(decoder.decode("Feb 28 05:00:05 relay1 postfix/smtpd[1180]: x", line));
  CHECK_FALSE(decoder.decode_exim_mainlog("2026-02-29 05:00:39 wHBbRe-qV5UMQ-LK Completed",
                                          "relay3", line));
  SyslogEnvelopeDecoder leap(2028, "UTC", 0);
  REQUIRE(leap.decode("Feb 29 05:00:05 relay1 postfix/smtpd[1180]: x", line));
  CHECK(line.time == utc(2028, 2, 29, 5, 0, 5, 0));
}

// --- PRI --------------------------------------------------------------------------------------

TEST_CASE("a <PRI> prefix before a BSD timestamp is skipped", "[envelope]") {
  // log-formats.md §2.3(c) sonic.net line as a network syslog sender transmits it, with
  // PRI 22 (mail.info) in front
  const LogLine line = decode_ok(
      "<22>Nov  7 13:52:47 b.mx.sonic.net sm-mta[29841]: qA7LqlqC029841: "
      "from=<augie@corp.sonic.net>, size=1391, class=0, nrcpts=1, "
      "msgid=<509AD829.8000902@corp.sonic.net>, proto=ESMTP, daemon=MTA, "
      "relay=a.mail.sonic.net [64.142.16.245]");
  CHECK(line.time == utc(2026, 11, 7, 13, 52, 47));
  CHECK(line.hostname == "b.mx.sonic.net");
  CHECK(line.program == "sm-mta");
  CHECK(line.pid == "29841");
  CHECK(line.message.substr(0, 22) == "qA7LqlqC029841: from=<");
}

TEST_CASE("a <PRI> prefix before an RFC 3339 timestamp is skipped", "[envelope]") {
  // log-formats.md §1.4 [P: FHNW CyberLab report] with PRI 22 (mail.info) in front
  const LogLine line = decode_ok(
      "<22>2026-05-16T16:13:25.137663+02:00 mail postfix/smtpd[2312]: 21957407BE: "
      "client=localhost[127.0.0.1]");
  CHECK(line.time == utc(2026, 5, 16, 14, 13, 25, 137663));
  CHECK(line.program == "postfix/smtpd");
  CHECK(line.message == "21957407BE: client=localhost[127.0.0.1]");
}

TEST_CASE("a <PRI> line with an unpadded single-digit day decodes", "[envelope]") {
  // log-formats.md §1.6 [C: Cortex XSIAM sendmail parser header comment]: the sender wrote
  // "Jan 1" with one space, not RFC 3164's "Jan  1".
  const LogLine line = decode_ok(
      "<22>Jan 1 01:23:45 mxhost sendmail[12345]: e6FFBLP22398: from=<user@example.lan>, "
      "size=1940, class=0, nrcpts=1, msgid=<TinNvkXLAL_XXXXXXXXX+CJ2uSBxaihU=DnS@example.lan>, "
      "proto=SMTP, daemon=MTA-v6, relay=mail.local [192.168.1.2]");
  CHECK(line.time == utc(2026, 1, 1, 1, 23, 45));
  CHECK(line.hostname == "mxhost");
  CHECK(line.program == "sendmail");
  CHECK(line.pid == "12345");
  CHECK(line.message.substr(0, 20) == "e6FFBLP22398: from=<");
}

// --- RFC 5424 ---------------------------------------------------------------------------------

TEST_CASE("an RFC 5424 line without structured data decodes app, procid and message",
          "[envelope]") {
  // RFC 5424 §6.5 example 2
  const LogLine line = decode_ok(
      "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make "
      "the do-nuts.");
  CHECK(line.time == utc(2003, 8, 24, 12, 14, 15, 3));
  CHECK(line.hostname == "192.0.2.1");
  CHECK(line.program == "myproc");
  CHECK(line.pid == "8710");
  CHECK(line.message == "%% It's time to make the do-nuts.");
}

TEST_CASE("an RFC 5424 line with a nil procid leaves the pid empty", "[envelope]") {
  // RFC 5424 §6.5 example 1 (the BOM written as the bytes EF BB BF)
  const LogLine line = decode_ok(
      "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - "
      "\xEF\xBB\xBF'su root' failed for lonvick on /dev/pts/8");
  CHECK(line.time == utc(2003, 10, 11, 22, 14, 15, 3000));
  CHECK(line.hostname == "mymachine.example.com");
  CHECK(line.program == "su");
  CHECK(line.pid.empty());
  CHECK(line.message.ends_with("'su root' failed for lonvick on /dev/pts/8"));
}

TEST_CASE("an RFC 5424 line with structured data skips every SD element", "[envelope]") {
  // RFC 5424 §6.5 example 3
  const LogLine with_msg = decode_ok(
      "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
      "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"] "
      "\xEF\xBB\xBF"
      "An application event log entry...");
  CHECK(with_msg.program == "evntslog");
  CHECK(with_msg.hostname == "mymachine.example.com");
  CHECK(with_msg.pid.empty());
  CHECK(with_msg.message.ends_with("An application event log entry..."));
  CHECK(with_msg.message.find('[') == std::string_view::npos);
  // RFC 5424 §6.5 example 4: two SD elements and no MSG
  const LogLine no_msg = decode_ok(
      "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
      "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"]"
      "[examplePriority@32473 class=\"high\"]");
  CHECK(no_msg.program == "evntslog");
  CHECK(no_msg.message.empty());
}

TEST_CASE("an RFC 5424 SD parameter with an escaped bracket does not end the element",
          "[envelope]") {
  // RFC 5424 §6.5 example 3 with a PARAM-VALUE holding "\]" as §6.3.3 allows, carrying the
  // postfix message of log-formats.md §3.2(b)
  const LogLine line = decode_ok(
      "<22>1 2026-05-16T16:13:25.137663+02:00 mail postfix/smtpd 2312 - "
      "[exampleSDID@32473 note=\"a\\]b\"] 21957407BE: client=localhost[127.0.0.1]");
  CHECK(line.program == "postfix/smtpd");
  CHECK(line.pid == "2312");
  CHECK(line.message == "21957407BE: client=localhost[127.0.0.1]");
}

TEST_CASE("an RFC 5424 message starts after its UTF-8 BOM", "[envelope]") {
  // RFC 5424 §6.4: a UTF-8 MSG starts with the BOM. Parsers look for their text at the front
  // of the message (clamav-milter: "Message "), so the BOM must not stay in it.
  // Line: RFC 5424 §6.5 example 1's header around the clamav-milter line of log-formats.md
  // §5.2 [P: i-MSCP/plugins README].
  const LogLine line = decode_ok(
      "<22>1 2015-02-20T03:26:16Z precise clamav-milter 18878 - - \xEF\xBB\xBF"
      "Message from <nuxwin@domain.tld> to <nuxwin@domain.tld> infected by "
      "Eicar-Test-Signature");
  CHECK(line.program == "clamav-milter");
  CHECK(line.message ==
        "Message from <nuxwin@domain.tld> to <nuxwin@domain.tld> infected by "
        "Eicar-Test-Signature");
}

// --- facility tags, Solaris IDs, program names ------------------------------------------------

TEST_CASE("a BSD syslogd -v facility tag before the host is skipped", "[envelope]") {
  // log-formats.md §1.2 [R:fail2ban sendmail-reject]
  const LogLine line = decode_ok(
      "Jun 17 14:37:39 <mail.info> robin sm-mta[2794]: 55HIbcGI002794: "
      "from=<root@yourhost.com>, size=108, class=0, nrcpts=0, proto=ESMTP, daemon=MTA-v4, "
      "relay=[192.168.1.45]");
  CHECK(line.time == utc(2026, 6, 17, 14, 37, 39));
  CHECK(line.hostname == "robin");
  CHECK(line.program == "sm-mta");
  CHECK(line.pid == "2794");
  CHECK(line.message.substr(0, 22) == "55HIbcGI002794: from=<");
}

TEST_CASE("a Solaris [ID n facility.level] tag is removed from the message", "[envelope]") {
  // log-formats.md §1.3 [P: pastebin.com/AHD7LVBw]
  const LogLine line = decode_ok(
      "Jul 11 20:37:58 rt sendmail[9156]: [ID 801593 mail.info] n6BKbwgB009156: from=nobody, "
      "size=2651, class=0, nrcpts=1, "
      "msgid=<rt-3.8.2-27793-1247344678-1788.566003-159-0@rt.example.net>, "
      "relay=nobody@localhost");
  CHECK(line.time == utc(2026, 7, 11, 20, 37, 58));
  CHECK(line.hostname == "rt");
  CHECK(line.program == "sendmail");
  CHECK(line.pid == "9156");
  CHECK(line.message ==
        "n6BKbwgB009156: from=nobody, size=2651, class=0, nrcpts=1, "
        "msgid=<rt-3.8.2-27793-1247344678-1788.566003-159-0@rt.example.net>, "
        "relay=nobody@localhost");
}

TEST_CASE("multi-instance postfix program names keep every path component", "[envelope]") {
  // log-formats.md §3.2(g) [R:fail2ban postfix]
  const LogLine smo = decode_ok(
      "Mar 11 23:27:54 server postfix-smo/submission/smtpd[22427]: 44JCRG5tYPzCqt2: reject: "
      "BDAT from signing-milter.example.com[192.0.2.109]: 550 5.5.3 <DATA>: Data command "
      "rejected: Multi-recipient bounce; from=<> to=<some@example.com> proto=ESMTP "
      "helo=<domain.tld>");
  CHECK(smo.program == "postfix-smo/submission/smtpd");
  CHECK(smo.pid == "22427");
  CHECK(smo.hostname == "server");
  CHECK(smo.message.substr(0, 24) == "44JCRG5tYPzCqt2: reject:");
  // log-formats.md §3.2(a) [P: MailRoute ITAR/HIPAA FAQ]
  const LogLine lmtp = decode_ok(
      "2018-11-21T15:18:44+0000 007.lax postfix-inbound/lmtp[7383]: 430R6q29CSzTgvf: "
      "to=<user@domain.com>, relay=127.0.0.1[127.0.0.1]:10024, delay=1.7, "
      "delays=0.46/0/0/1.2, dsn=2.0.0, status=sent (250 2.0.0 from "
      "MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as 430R6r67h7zTgyH)");
  CHECK(lmtp.program == "postfix-inbound/lmtp");
  CHECK(lmtp.pid == "7383");
}

TEST_CASE("a tag without a pid decodes with an empty pid", "[envelope]") {
  // log-formats.md §7 [P: github.com/xv1t/notes]
  const LogLine clamsmtpd = decode_ok(
      "Nov 20 13:19:32 mail clamsmtpd: 1308A0: from=info@coach-us.de, to=latipov.d@rain.ru, "
      "status=VIRUS:rules_block_Zip_js.UNOFFICIAL");
  CHECK(clamsmtpd.hostname == "mail");
  CHECK(clamsmtpd.program == "clamsmtpd");
  CHECK(clamsmtpd.pid.empty());
  CHECK(clamsmtpd.message ==
        "1308A0: from=info@coach-us.de, to=latipov.d@rain.ru, "
        "status=VIRUS:rules_block_Zip_js.UNOFFICIAL");
  // tests/fixtures/logs/log-ship-elastic-postfix/mail.log (BSD-2-Clause), last line
  const LogLine madeup = decode_ok("Jul 30 00:10:11 imac27 madeup: Gobbely Gook");
  CHECK(madeup.hostname == "imac27");
  CHECK(madeup.program == "madeup");
  CHECK(madeup.pid.empty());
  CHECK(madeup.message == "Gobbely Gook");
}

TEST_CASE("a program whose message repeats its name keeps the message whole", "[envelope]") {
  // tests/fixtures/logs/log-ship-elastic-postfix/mail.log (BSD-2-Clause), first line
  const LogLine line = decode_ok(
      "Jul  5 06:52:01 prd-mx1 spamd[11526]: spamd: identified spam (9.3/5.0) for nagios:1209 "
      "in 0.8 seconds, 5 bytes.");
  CHECK(line.time == utc(2026, 7, 5, 6, 52, 1));
  CHECK(line.program == "spamd");
  CHECK(line.pid == "11526");
  CHECK(line.message ==
        "spamd: identified spam (9.3/5.0) for nagios:1209 in 0.8 seconds, 5 bytes.");
}

TEST_CASE("a syslog-wrapped exim line keeps exim's own timestamp in the message", "[envelope]") {
  // tests/fixtures/scenario/relay3.log (the project's scenario)
  const LogLine line = decode_ok(
      "Nov 28 05:00:38 relay3 exim[2935]: 2026-11-28 05:00:38 wHBbRe-qV5UMQ-LK <= "
      "billing@example.ac.jp H=pc83.dept.example.ac.jp [10.20.1.40] P=esmtp S=57223 "
      "id=jbhjwjwo.19.4hExGo@example.ac.jp");
  CHECK(line.time == utc(2026, 11, 28, 5, 0, 38));
  CHECK(line.program == "exim");
  CHECK(line.pid == "2935");
  CHECK(line.message.substr(0, 37) == "2026-11-28 05:00:38 wHBbRe-qV5UMQ-LK ");
}

// --- year inference ---------------------------------------------------------------------------

TEST_CASE("with year 0 a December line read in January belongs to the previous year",
          "[envelope]") {
  const TimePoint reference = utc(2027, 1, 5, 9, 0, 0);
  LogLine line;
  {
    // log-formats.md §3.2(g) [R:fail2ban postfix]
    SyslogEnvelopeDecoder decoder(0, "UTC", reference);
    REQUIRE(
        decoder.decode("Dec 23 19:39:13 xxx postfix/postscreen[21057]: PREGREET 14 after "
                       "0.08 from [192.0.2.2]:59415: EHLO ylmf-pc\\r\\n",
                       line));
    CHECK(line.time == utc(2026, 12, 23, 19, 39, 13));
  }
  {
    // [R:fail2ban postfix]
    SyslogEnvelopeDecoder decoder(0, "UTC", reference);
    REQUIRE(
        decoder.decode("Jan 31 13:55:24 xxx postfix-incoming/smtpd[3462]: NOQUEUE: reject: "
                       "EHLO from s271272.static.corbina.ru[78.107.251.238]: 504 5.5.2 "
                       "<User>: Helo command rejected: need fully-qualified hostname; "
                       "proto=SMTP helo=<User>",
                       line));
    CHECK(line.time == utc(2027, 1, 31, 13, 55, 24));
  }
  {
    // log-formats.md §2.3(h) [P: forum post]: one month ahead is still this year
    SyslogEnvelopeDecoder decoder(0, "UTC", reference);
    REQUIRE(
        decoder.decode("Feb 20 11:33:52 mydomain sm-mta[7814]: u1KEXqu0007812: "
                       "u1KEXqu0007814: DSN: User unknown",
                       line));
    CHECK(line.time == utc(2027, 2, 20, 11, 33, 52));
  }
  {
    // log-formats.md §2.3(f) [R:fail2ban sendmail-reject]: two months ahead is last year
    SyslogEnvelopeDecoder decoder(0, "UTC", reference);
    REQUIRE(
        decoder.decode("Mar 29 22:51:43 server sendmail[3529565]: xA32R2PQ3529565: "
                       "[192.0.2.2] did not issue MAIL/EXPN/VRFY/ETRN during connection "
                       "to MTA",
                       line));
    CHECK(line.time == utc(2026, 3, 29, 22, 51, 43));
  }
}

TEST_CASE("with a fixed year a file that crosses New Year moves to the next year once",
          "[envelope]") {
  SyslogEnvelopeDecoder decoder(2026, "UTC", 0);
  LogLine line;
  // [R:fail2ban postfix] lines, read in this order from one file
  REQUIRE(
      decoder.decode("Dec 30 18:19:15 xxx postfix-incoming/smtpd[1574]: NOQUEUE: reject: "
                     "RCPT from badguy.example.com[93.184.216.34]: 454 4.7.1 Service "
                     "unavailable; Client host [93.184.216.34] blocked using "
                     "rbl.example.com; http://www.example.com/query?ip=93.184.216.34; "
                     "from=<spammer@example.com> to=<goodguy@example.com> proto=ESMTP "
                     "helo=<badguy.example.com>",
                     line));
  CHECK(line.time == utc(2026, 12, 30, 18, 19, 15));
  REQUIRE(
      decoder.decode("Jan 31 13:55:24 xxx postfix-incoming/smtpd[3462]: NOQUEUE: reject: "
                     "EHLO from s271272.static.corbina.ru[78.107.251.238]: 504 5.5.2 "
                     "<User>: Helo command rejected: need fully-qualified hostname; "
                     "proto=SMTP helo=<User>",
                     line));
  CHECK(line.time == utc(2027, 1, 31, 13, 55, 24));
  // log-formats.md §2.3(h) [P: forum post]
  REQUIRE(
      decoder.decode("Feb 20 11:33:52 mydomain sm-mta[7814]: u1KEXqu0007812: "
                     "u1KEXqu0007814: DSN: User unknown",
                     line));
  CHECK(line.time == utc(2027, 2, 20, 11, 33, 52));
}

TEST_CASE(
    "with year 0 a file read in January that crosses New Year keeps January in the "
    "reference year",
    "[envelope]") {
  // The reference is "now" (5 Jan 2027); the file starts in December 2026 and continues into
  // January 2027. The December line is last year by the one-month rule; the January line after
  // it must be 2027, not 2028.
  SyslogEnvelopeDecoder decoder(0, "UTC", utc(2027, 1, 5, 9, 0, 0));
  LogLine line;
  // [R:fail2ban postfix]
  REQUIRE(
      decoder.decode("Dec 30 18:19:15 xxx postfix-incoming/smtpd[1574]: NOQUEUE: reject: "
                     "RCPT from badguy.example.com[93.184.216.34]: 454 4.7.1 Service "
                     "unavailable; Client host [93.184.216.34] blocked using "
                     "rbl.example.com; http://www.example.com/query?ip=93.184.216.34; "
                     "from=<spammer@example.com> to=<goodguy@example.com> proto=ESMTP "
                     "helo=<badguy.example.com>",
                     line));
  CHECK(line.time == utc(2026, 12, 30, 18, 19, 15));
  // [R:fail2ban postfix], fed next as the input continues into January
  REQUIRE(
      decoder.decode("Jan 31 13:55:24 xxx postfix-incoming/smtpd[3462]: NOQUEUE: reject: "
                     "EHLO from s271272.static.corbina.ru[78.107.251.238]: 504 5.5.2 "
                     "<User>: Helo command rejected: need fully-qualified hostname; "
                     "proto=SMTP helo=<User>",
                     line));
  CHECK(line.time == utc(2027, 1, 31, 13, 55, 24));
}

// --- exim main log ----------------------------------------------------------------------------

TEST_CASE("an exim main-log line decodes as program exim of the given host", "[envelope]") {
  // log-formats.md §4.2(a) [P: LKML message by Florian Weimer, 2019-10-04]
  constexpr std::string_view kLine =
      "2019-10-04 07:09:29 1iGHiT-00007b-Na <= fw@deneb.enyo.de H=(deneb.enyo.de) "
      "[172.17.203.2] P=esmtps X=TLS1.2:ECDHE_RSA_AES_256_GCM_SHA384:256 CV=no S=72580 "
      "id=87h84pgf6h.fsf@mid.deneb.enyo.de";
  SyslogEnvelopeDecoder decoder(0, "UTC", 0);
  LogLine line;
  REQUIRE(decoder.decode_exim_mainlog(kLine, "deneb", line));
  CHECK(line.time == utc(2019, 10, 4, 7, 9, 29));
  CHECK(line.hostname == "deneb");
  CHECK(line.program == "exim");
  CHECK(line.pid.empty());
  CHECK(line.message == kLine);
  CHECK(line.raw == kLine);
}

TEST_CASE("an exim main-log line without a zone is read in the decoder's zone", "[envelope]") {
  // tests/fixtures/scenario/relay3.log message part (the project's scenario)
  SyslogEnvelopeDecoder decoder(0, "Asia/Tokyo", 0);
  LogLine line;
  REQUIRE(decoder.decode_exim_mainlog("2026-11-28 05:00:39 wHBbRe-qV5UMQ-LK Completed", "relay3",
                                      line));
  CHECK(line.time == utc(2026, 11, 27, 20, 0, 39));
}

TEST_CASE("an exim main-log line with +zzzz uses that offset, not the decoder's zone",
          "[envelope]") {
  // log-formats.md §1.7 [D: Exim spec, doc/doc-docbook/spec.xfpt]
  SyslogEnvelopeDecoder decoder(0, "Asia/Tokyo", 0);
  LogLine line;
  REQUIRE(decoder.decode_exim_mainlog("2003-04-25 11:17:07 +0100 Start queue run: pid=12762",
                                      "exim-host", line));
  CHECK(line.time == utc(2003, 4, 25, 10, 17, 7));
  CHECK(line.message == "2003-04-25 11:17:07 +0100 Start queue run: pid=12762");
  REQUIRE(decoder.decode_exim_mainlog("2003-04-25 11:17:07 -0130 Start queue run: pid=12762",
                                      "exim-host", line));
  CHECK(line.time == utc(2003, 4, 25, 12, 47, 7));
}

TEST_CASE("an exim main-log line with a [pid] and a fraction decodes", "[envelope]") {
  // log-formats.md §4.2(e) [R:fail2ban exim-spam]
  SyslogEnvelopeDecoder decoder(0, "UTC", 0);
  LogLine line;
  REQUIRE(decoder.decode_exim_mainlog(
      "2013-06-15 11:20:36 [2516] 1Unmew-0000ea-SE H=egeftech.static.otenet.gr "
      "[83.235.177.148]:32706 I=[1.2.3.4]:25 F=auguriesvbd40@google.com rejected after DATA: "
      "This message contains a virus (Sanesecurity.Junk.39934.UNOFFICIAL).",
      "mx", line));
  CHECK(line.time == utc(2013, 6, 15, 11, 20, 36));
  // the same arrival with exim's +millisec log selector
  REQUIRE(decoder.decode_exim_mainlog("2019-10-04 07:09:29.123 1iGHiT-00007b-Na Completed", "mx",
                                      line));
  CHECK(line.time == utc(2019, 10, 4, 7, 9, 29, 123000));
}

TEST_CASE("decode_exim_mainlog rejects lines that are not exim main-log lines", "[envelope]") {
  SyslogEnvelopeDecoder decoder(0, "UTC", 0);
  LogLine line;
  // log-formats.md §1.7 [R:ossec-docs exim.rst]: the syslog-wrapped form is not a main-log line
  CHECK_FALSE(decoder.decode_exim_mainlog(
      "exim[14700]: 2006-11-21 15:01:33 1Glsgv-0002wv-00 Completed", "h", line));
  CHECK_FALSE(decoder.decode_exim_mainlog("", "h", line));
  CHECK_FALSE(decoder.decode_exim_mainlog("2003-04-25 11:17", "h", line));
  CHECK_FALSE(decoder.decode_exim_mainlog("2003-13-25 11:17:07 Start queue run", "h", line));
  CHECK_FALSE(decoder.decode_exim_mainlog("2003-04-00 11:17:07 Start queue run", "h", line));
  CHECK_FALSE(decoder.decode_exim_mainlog("2003/04/25 11:17:07 Start queue run", "h", line));
  CHECK_FALSE(decoder.decode_exim_mainlog("2003-04-25T11:17:07 Start queue run", "h", line));
  CHECK_FALSE(decoder.decode_exim_mainlog(
      "Nov 28 05:00:38 relay3 exim[2935]: 2026-11-28 05:00:38 wHBbRe-qV5UMQ-LK Completed", "h",
      line));
}

TEST_CASE("decode_exim_mainlog rejects a clock time out of range", "[envelope]") {
  // log-formats.md §1.7 [D: Exim spec] with impossible hours/minutes/seconds
  SyslogEnvelopeDecoder decoder(0, "UTC", 0);
  LogLine line;
  CHECK_FALSE(
      decoder.decode_exim_mainlog("2003-04-25 25:17:07 Start queue run: pid=12762", "h", line));
  CHECK_FALSE(
      decoder.decode_exim_mainlog("2003-04-25 11:77:07 Start queue run: pid=12762", "h", line));
  CHECK_FALSE(
      decoder.decode_exim_mainlog("2003-04-25 11:17:99 Start queue run: pid=12762", "h", line));
}

// --- garbage ----------------------------------------------------------------------------------

TEST_CASE("an ASA line with its own timestamp and device-id decodes host, tag and message",
          "[envelope][asa]") {
  // An ASA's "show logging", quoted in a public script's comment (logging timestamp, logging
  // device-id hostname): "Mon dd yyyy hh:mm:ss host : %ASA-...".
  const std::string_view text =
      "Mar 16 2015 20:57:10 V901-V101 : %ASA-4-106023: Deny tcp src outside:10.251.52.73/61688 "
      "dst inside:10.4.0.200/25 by access-group \"ACL_V901:DMZ_V101:DATACENTER\" [0x0, 0x0]";
  const LogLine line = decode_ok(text);
  CHECK(line.time == utc(2015, 3, 16, 20, 57, 10));  // its own year, not the decoder's
  CHECK(line.hostname == "V901-V101");
  CHECK(line.program == "%ASA-4-106023");
  CHECK(line.message.starts_with("Deny tcp src outside:10.251.52.73/61688 "));
  // As sent, with its priority, a single-digit day and milliseconds.
  const LogLine sent = decode_ok(
      "<166>Dec  7 2026 10:00:05.250 fw2 : %ASA-6-302013: Built outbound TCP connection 1234 "
      "for outside:198.51.100.7/25 (198.51.100.7/25) to inside:10.1.2.3/50312 "
      "(203.0.113.9/50312)");
  CHECK(sent.time == utc(2026, 12, 7, 10, 0, 5, 250000));
  CHECK(sent.hostname == "fw2");
  CHECK(sent.program == "%ASA-6-302013");
  CHECK(sent.message.starts_with("Built outbound TCP connection 1234 "));
}

TEST_CASE("an ASA line without a device-id decodes with no host", "[envelope][asa]") {
  const LogLine line = decode_ok(
      "<164>Dec 07 2026 10:00:03: %ASA-4-106023: Deny tcp src inside:10.1.2.3/61688 dst "
      "outside:198.51.100.7/25 by access-group \"inside_in\" [0x0, 0x0]");
  CHECK(line.time == utc(2026, 12, 7, 10, 0, 3));
  CHECK(line.hostname.empty());
  CHECK(line.program == "%ASA-4-106023");
  CHECK(line.message.starts_with("Deny tcp src inside:10.1.2.3/61688 "));
}

TEST_CASE("a collector's line with a device-id's ' : ' before the ASA tag decodes",
          "[envelope][asa]") {
  // rsyslogd 8.2302 (imudp, RSYSLOG_TraditionalFileFormat and RSYSLOG_FileFormat) wrote these
  // for the packet "<164>Dec 07 2026 10:00:03 fw2 : %ASA-4-106023: ..." (observed on Debian 12).
  for (const std::string_view text :
       {std::string_view("Dec  7 10:00:03 fw2 : %ASA-4-106023: Deny tcp src inside:10.1.2.3/1 "
                         "dst outside:198.51.100.7/25 by access-group \"in\" [0x0, 0x0]"),
        std::string_view("2026-12-07T10:00:03+00:00 fw2 : %ASA-4-106023: Deny tcp src "
                         "inside:10.1.2.3/1 dst outside:198.51.100.7/25 by access-group \"in\" "
                         "[0x0, 0x0]")}) {
    const LogLine line = decode_ok(text);
    CHECK(line.time == utc(2026, 12, 7, 10, 0, 3));
    CHECK(line.hostname == "fw2");
    CHECK(line.program == "%ASA-4-106023");
    CHECK(line.message.starts_with("Deny tcp src inside:10.1.2.3/1 "));
  }
}

TEST_CASE("Cisco timestamps and separators that are not Cisco's are not decoded",
          "[envelope][asa]") {
  SyslogEnvelopeDecoder decoder(2026, "UTC", 0);
  LogLine line;
  for (const std::string_view text : {
           // no Cisco tag after " : " (a tag is never empty otherwise)
           std::string_view("Dec  7 10:00:03 fw2 : hello world"),
           std::string_view("Dec 07 2026 10:00:03: hello world"),
           // hour 25, February 29th of 2026, a three-digit year, a month that is none
           std::string_view("Dec 07 2026 25:00:03 fw2 : %ASA-4-106023: Deny"),
           std::string_view("Feb 29 2026 10:00:03 fw2 : %ASA-4-106023: Deny"),
           std::string_view("Dec 07 026 10:00:03 fw2 : %ASA-4-106023: Deny"),
           std::string_view("Foo 07 2026 10:00:03 fw2 : %ASA-4-106023: Deny"),
           std::string_view("Dec 07 2026 10:00:03"),
       }) {
    INFO(text);
    CHECK_FALSE(decoder.decode(text, line));
  }
}

TEST_CASE("garbage and truncated envelopes are rejected", "[envelope]") {
  for (const char* text : {
           "",
           "\r\n",
           "Gobbely Gook",
           "Nov",
           "Nov  3",
           "Nov  3 11:35:30",
           "Nov  3 11:35:30 ",
           "Nov  3 11:35:30 Microsoft",
           "Nov  3 11:35:30 Microsoft sendmail",
           "Nov  3 11:35:30 Microsoft sendmail[26254",
           "Nov  3 11:35:30 Microsoft two words",
           "Nov 33 11:35:30 Microsoft sendmail[26254]: x",
           "Nov  0 11:35:30 Microsoft sendmail[26254]: x",
           "Nov  3 24:35:30 Microsoft sendmail[26254]: x",
           "Nov  3 11:60:30 Microsoft sendmail[26254]: x",
           "Nov  3 11:35:61 Microsoft sendmail[26254]: x",
           "Nox  3 11:35:30 Microsoft sendmail[26254]: x",
           "nov  3 11:35:30 Microsoft sendmail[26254]: x",
           "Nov  3 11-35-30 Microsoft sendmail[26254]: x",
           "2026-05-16T16:13:25.137663+02:00",
           "2026-05-16T16:13:25.137663+02:00 ",
           "2026-05-16T16:13:25.137663 mail postfix/smtpd[2312]: x",
           "2026-13-16T16:13:25.137663+02:00 mail postfix/smtpd[2312]: x",
           "2026-05-16T16:13:25.137663+02:00 mail",
           "<22>",
           "<22>Gobbely Gook",
           "<165>1 - mymachine.example.com su - ID47 - x",
           "<165>1 2003-10-11T22:14:15.003Z",
       }) {
    INFO(std::string(text));
    CHECK_FALSE(decodes(text));
  }
}

TEST_CASE("a decoder that rejected a line still decodes the next one", "[envelope]") {
  SyslogEnvelopeDecoder decoder(2026, "UTC", 0);
  LogLine line;
  CHECK_FALSE(decoder.decode("Nov  3 11:35:30 Microsoft sendmail[26254", line));
  // tests/fixtures/logs/log-ship-elastic-postfix/mail.log (BSD-2-Clause)
  REQUIRE(
      decoder.decode("Jul  5 06:52:11 prd-mx1 postfix/qmgr[20459]: 3mPVKl0Mhjz7sXv: "
                     "from=<>, size=2666, nrcpt=2 (queue active)",
                     line));
  CHECK(line.program == "postfix/qmgr");
  CHECK(line.message == "3mPVKl0Mhjz7sXv: from=<>, size=2666, nrcpt=2 (queue active)");
}

TEST_CASE("lines decoded through the warm caches decode exactly as a fresh decoder decodes them",
          "[envelope]") {
  // The first line of each group fills the caches (second, minute, program); the rest take the
  // shortcuts, or must be refused by them and fall back to the general decoder.
  const std::vector<std::vector<std::string>> groups = {
      {"Nov 28 05:40:01 relay1 postfix/smtpd[1180]: connect from pc1[10.1.0.1]",
       "Nov 28 05:40:01 relay1 postfix/smtpd[1181]: 4C123B1612: client=pc1[10.1.0.1]",
       "Nov 28 05:40:01 relay1 postfix/cleanup[77]: 4C123B1612: message-id=<a@b>",
       "Nov 28 05:40:01 relay1  postfix/qmgr[9]: two spaces before the tag",
       "Nov 28 05:40:01  relay1 postfix/qmgr[9]: two spaces before the host",
       "Nov 28 05:40:01 relay1 postfix/qmgr[9] no colon after the pid",
       "Nov 28 05:40:01 relay1 postfix/qmgr: no pid",
       "Nov 28 05:40:01 relay1 sendmail[1]: [ID 801593 mail.info] solaris",
       "Nov 28 05:40:01 relay1 postfix/qmgr[9]:no space after the colon",
       "Nov 28 05:40:01 relay1 postfix/qmgr[9]:", "Nov 28 05:40:01 relay1 word word",
       "Nov 28 05:40:01 relay1 ",
       "Nov 28 05:40:01.250000 relay1 postfix/smtp[5]: a fraction in the cached second",
       "Nov 28 05:40:02 relay1 postfix/smtp[5]: the next second of the cached minute",
       "Nov 28 05:40:59 relay1 postfix/smtp[5]: the minute's last second",
       "Nov 28 05:41:00 relay1 postfix/smtp[5]: the next minute",
       "Nov 28 05:41:60 relay1 postfix/smtp[5]: a leap second",
       "Nov 28 05:41:61 relay1 postfix/smtp[5]: not a second",
       "Nov 28 05:41:01 relay1 an-extraordinarily-long-program-name-of-forty-bytes[3]: x"},
      {"2026-11-28T05:40:01.436837+09:00 gw1 postfix/postscreen[8817]: CONNECT from [1.2.3.4]:1",
       "2026-11-28T05:40:01.000001+09:00 gw1 postfix/smtpd[8818]: connect from x[1.2.3.4]",
       "2026-11-28T05:40:01.999999+09:00 gw1 postfix/smtpd[8818]: disconnect from x[1.2.3.4]",
       "2026-11-28T05:40:01.1234567+09:00 gw1 postfix/smtpd[8818]: seven fraction digits",
       "2026-11-28T05:40:01.123+09:00 gw1 postfix/smtpd[8818]: milliseconds",
       "2026-11-28T05:40:01.12345x+09:00 gw1 postfix/smtpd[8818]: a letter in the fraction",
       "2026-11-28T05:40:01.123456+08:00 gw1 postfix/smtpd[8818]: another zone",
       "2026-11-28T05:40:01.123456+09:00 gw1 postfix/smtpd[8818]: back to the first zone",
       "2026-11-28T05:40:02.123456+09:00 gw1 postfix/smtpd[8818]: the next second",
       "2026-11-28T05:40:02.123456Z gw1 postfix/smtpd[8818]: UTC",
       "2026-11-28T05:40:02.123456Z gw1 postfix/smtpd[8818]: UTC again",
       "2026-11-28T05:40:02.123456Z  gw1 postfix/smtpd[8818]: two spaces",
       "2026-11-28T05:40:02.123456Z gw1 postfix/smtpd[8818]: trailing CR\r",
       "2026-11-28T05:40:02,123456Z gw1 postfix/smtpd[8818]: a comma before the fraction",
       "2026-11-28T05:40:02.123456Z"}};
  for (const auto& group : groups) {
    SyslogEnvelopeDecoder warm(2026, "Asia/Tokyo", 0);
    for (const auto& text : group) {
      INFO(text);
      SyslogEnvelopeDecoder fresh(2026, "Asia/Tokyo", 0);
      LogLine expected, got;
      const bool fresh_ok = fresh.decode(text, expected);
      REQUIRE(warm.decode(text, got) == fresh_ok);
      if (!fresh_ok) continue;
      CHECK(got.time == expected.time);
      CHECK(got.hostname == expected.hostname);
      CHECK(got.program == expected.program);
      CHECK(got.pid == expected.pid);
      CHECK(got.message == expected.message);
      CHECK(got.raw == expected.raw);
      check_views_inside(got, text);
      // Decoded twice in a row: the second decode is the cached one.
      LogLine again;
      REQUIRE(warm.decode(text, again));
      CHECK(again.time == expected.time);
      CHECK(again.message == expected.message);
      CHECK(again.program == expected.program);
    }
  }
}
