// Unit tests for the sendmail parser: the samples of log-formats.md §2 decoded from full syslog
// lines, and the fluent-plugin-sendmail test log (tests/fixtures/logs/).
#include <catch2/catch.hpp>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>

#include "module/input/syslog_envelope.hpp"
#include "module/parsers/parser_registry.hpp"
#include "support/parser_runs.hpp"
#include "support/view_checks.hpp"

using namespace vtrace;

using vtrace::testing::check_record_views_inside;
using vtrace::testing::parse_syslog_line;
using vtrace::testing::points_into;

namespace {

const LogParser& sendmail() {
  static const std::unique_ptr<LogParser> parser = make_sendmail_parser();
  return *parser;
}

// Decodes a full syslog line (year 2026, UTC) and runs the sendmail parser on it.
ParseStatus parse(std::string_view text, ParsedRecord& out) {
  return parse_syslog_line(sendmail(), text, out);
}

}  // namespace

TEST_CASE("sendmail parser is named sendmail and accepts sendmail program names", "[sendmail]") {
  CHECK(sendmail().name() == "sendmail");
  for (const char* program :
       {"sendmail", "sm-mta", "sm-msp-queue", "sm-acceptingconnections", "sendmail-in"}) {
    INFO(program);
    CHECK(sendmail().accepts_program(program));
  }
  for (const char* program : {"postfix/smtpd", "exim", "clamav-milter", "smtpd", "amavis"}) {
    INFO(program);
    CHECK_FALSE(sendmail().accepts_program(program));
  }
}

// --- from= ------------------------------------------------------------------------------------

TEST_CASE("from= with relay=name [ip] is a receive with sender, size, msgid and client",
          "[sendmail]") {
  // log-formats.md §2.3(c) [C: sendmail grok-pattern test script for sonic.net]
  ParsedRecord r;
  REQUIRE(parse("Nov  7 13:52:47 b.mx.sonic.net sm-mta[29841]: qA7LqlqC029841: "
                "from=<augie@corp.sonic.net>, size=1391, class=0, nrcpts=1, "
                "msgid=<509AD829.8000902@corp.sonic.net>, proto=ESMTP, daemon=MTA, "
                "relay=a.mail.sonic.net [64.142.16.245]",
                r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kReceive);
  CHECK(r.queue_id == "qA7LqlqC029841");
  CHECK(r.sender == "augie@corp.sonic.net");
  CHECK(r.has_sender);
  CHECK(r.size == 1391);
  CHECK(r.message_id == "509AD829.8000902@corp.sonic.net");
  CHECK(r.client_name == "a.mail.sonic.net");
  CHECK(r.client_ip == "64.142.16.245");
  CHECK(r.recipients.empty());
}

TEST_CASE("from= with relay=[ip] only is a receive without a client name", "[sendmail]") {
  // tests/fixtures/logs/fluent-plugin-sendmail/data (MIT)
  ParsedRecord r;
  REQUIRE(parse("Apr  2 00:15:25 mta001 sendmail[32300]: u31FFPtp032300: "
                "from=<grandeur09@gmail.com>, size=5938, class=0, nrcpts=7, "
                "msgid=<201604011515.u31FFIAj012911@gmail.com>, proto=ESMTP, daemon=MTA, "
                "relay=[64.233.187.27]",
                r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kReceive);
  CHECK(r.queue_id == "u31FFPtp032300");
  CHECK(r.sender == "grandeur09@gmail.com");
  CHECK(r.size == 5938);
  CHECK(r.message_id == "201604011515.u31FFIAj012911@gmail.com");
  CHECK(r.client_name.empty());
  CHECK(r.client_ip == "64.233.187.27");
}

TEST_CASE("from= with (may be forged) takes the bracketed address", "[sendmail]") {
  // log-formats.md §2.3(e) [C: sendmail log-statistics perl script comment ("jinx" host)]
  ParsedRecord r;
  REQUIRE(parse("Oct 19 09:44:26 jinx sm-mta[4418]: l9JDiNUq004418: from=<Ruipetrusa@d111.com>, "
                "size=594, class=0, nrcpts=1, "
                "msgid=<200710191344.l9JDiNUq004418@jinx.jinxed.net>, proto=ESMTP, "
                "daemon=MTA-v4, relay=190-51-98-155.speedy.com.ar [190.51.98.155] (may be "
                "forged)",
                r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kReceive);
  CHECK(r.queue_id == "l9JDiNUq004418");
  CHECK(r.sender == "Ruipetrusa@d111.com");
  CHECK(r.message_id == "200710191344.l9JDiNUq004418@jinx.jinxed.net");
  CHECK(r.client_ip == "190.51.98.155");
  CHECK(r.client_name == "190-51-98-155.speedy.com.ar");
}

TEST_CASE("from= with an [IPv6:...] relay reports the bare IPv6 address", "[sendmail]") {
  // log-formats.md §2.1: RELAY "name [IPv6:2001:DB8::1]", as in the §2.3(f) line
  // [R:fail2ban sendmail-reject] "example.com [IPv6:2001:DB8::1]", on the §2.3(c) from= line
  ParsedRecord r;
  REQUIRE(parse("Nov  7 13:52:47 b.mx.sonic.net sm-mta[29841]: qA7LqlqC029841: "
                "from=<augie@corp.sonic.net>, size=1391, class=0, nrcpts=1, "
                "msgid=<509AD829.8000902@corp.sonic.net>, proto=ESMTP, daemon=MTA-v6, "
                "relay=example.com [IPv6:2001:DB8::1]",
                r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kReceive);
  CHECK(r.client_name == "example.com");
  CHECK(r.client_ip == "2001:DB8::1");
}

TEST_CASE("from= of a local submission has a bare sender and no client", "[sendmail]") {
  // log-formats.md §2.3(b) [P: dev-server setup notes (egolife)]
  ParsedRecord r;
  REQUIRE(parse("Jun 18 17:34:38 dev sendmail[4201]: r5I9YcUV004201: from=root, size=7516, "
                "class=0, nrcpts=1, msgid=<201306180934.r5I9YcUV004201@dev.egolife.com>, "
                "relay=root@localhost",
                r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kReceive);
  CHECK(r.queue_id == "r5I9YcUV004201");
  CHECK(r.sender == "root");
  CHECK(r.has_sender);
  CHECK(r.size == 7516);
  CHECK(r.message_id == "201306180934.r5I9YcUV004201@dev.egolife.com");
  CHECK(r.client_ip.empty());
  CHECK(r.client_name.empty());
}

TEST_CASE("from= through the local MTA reports localhost as the client", "[sendmail]") {
  // log-formats.md §2.3(b) [P: dev-server setup notes (egolife)]
  ParsedRecord r;
  REQUIRE(parse("Jun 18 17:34:38 dev sendmail[4202]: r5I9YcOE004202: "
                "from=<root@dev.egolife.com>, size=7772, class=0, nrcpts=1, "
                "msgid=<201306180934.r5I9YcUV004201@dev.egolife.com>, proto=ESMTP, "
                "daemon=MTA, relay=localhost [127.0.0.1]",
                r) == ParseStatus::kRecord);
  CHECK(r.queue_id == "r5I9YcOE004202");
  CHECK(r.sender == "root@dev.egolife.com");
  CHECK(r.message_id == "201306180934.r5I9YcUV004201@dev.egolife.com");
  CHECK(r.client_name == "localhost");
  CHECK(r.client_ip == "127.0.0.1");
}

TEST_CASE("Solaris from= lines decode through the envelope", "[sendmail]") {
  // log-formats.md §1.3 [P: pastebin.com/AHD7LVBw]
  ParsedRecord r;
  REQUIRE(parse("Jul 11 20:37:58 rt sendmail[9156]: [ID 801593 mail.info] n6BKbwgB009156: "
                "from=nobody, size=2651, class=0, nrcpts=1, "
                "msgid=<rt-3.8.2-27793-1247344678-1788.566003-159-0@rt.example.net>, "
                "relay=nobody@localhost",
                r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kReceive);
  CHECK(r.queue_id == "n6BKbwgB009156");
  CHECK(r.sender == "nobody");
  CHECK(r.size == 2651);
  CHECK(r.message_id == "rt-3.8.2-27793-1247344678-1788.566003-159-0@rt.example.net");
  CHECK(r.client_ip.empty());
  // log-formats.md §2.3(d) [P: pastebin.com/AHD7LVBw]
  REQUIRE(parse("Jul 11 20:45:37 rt sendmail[9609]: [ID 801593 mail.info] n6BKjb0S009609: "
                "from=<nobody@rt.example.net>, size=2788, class=0, nrcpts=1, "
                "msgid=<rt-3.8.2-27793-1247344678-1788.566003-159-0@rt.example.net>, "
                "proto=ESMTP, daemon=NoMTA4, relay=localhost [127.0.0.1]",
                r) == ParseStatus::kRecord);
  CHECK(r.queue_id == "n6BKjb0S009609");
  CHECK(r.sender == "nobody@rt.example.net");
  CHECK(r.client_ip == "127.0.0.1");
}

TEST_CASE("from= in a BSD syslogd -v envelope decodes", "[sendmail]") {
  // log-formats.md §1.2 [R:fail2ban sendmail-reject]
  ParsedRecord r;
  REQUIRE(parse("Jun 17 14:37:39 <mail.info> robin sm-mta[2794]: 55HIbcGI002794: "
                "from=<root@yourhost.com>, size=108, class=0, nrcpts=0, proto=ESMTP, "
                "daemon=MTA-v4, relay=[192.168.1.45]",
                r) == ParseStatus::kRecord);
  CHECK(r.queue_id == "55HIbcGI002794");
  CHECK(r.sender == "root@yourhost.com");
  CHECK(r.size == 108);
  CHECK(r.message_id.empty());
  CHECK(r.client_ip == "192.168.1.45");
}

TEST_CASE("a from= line cut before relay= is malformed", "[sendmail]") {
  // tests/fixtures/logs/fluent-plugin-sendmail/data (MIT), cut short
  ParsedRecord r;
  CHECK(parse("Apr  2 00:15:25 mta001 sendmail[32300]: u31FFPtp032300: "
              "from=<grandeur09@gmail.com>, size=5938, class=0, nrcpts=7",
              r) == ParseStatus::kMalformed);
  CHECK(parse("Apr  2 00:15:25 mta001 sendmail[32300]: u31FFPtp032300: from=", r) ==
        ParseStatus::kMalformed);
}

TEST_CASE("a hostile sender address cannot replace the relay's address", "[sendmail]") {
  // The §2.3(c) [C: sonic.net] from= line with an attacker-chosen quoted local part in MAIL
  // FROM (RFC 5321 allows ", " inside quotes; sendmail logs it as given). fail2ban's
  // sendmail-auth test log carries the same attack on its user= field
  // ("user=criminal, relay=[192.0.2.100], relay=[192.0.2.4]"). The client is the relay= that
  // sendmail wrote, not one inside the address.
  ParsedRecord r;
  REQUIRE(parse("Nov  7 13:52:47 b.mx.sonic.net sm-mta[29841]: qA7LqlqC029841: "
                "from=<\"x, relay=trusted.example [10.1.0.25]\"@corp.sonic.net>, size=1391, "
                "class=0, nrcpts=1, msgid=<509AD829.8000902@corp.sonic.net>, proto=ESMTP, "
                "daemon=MTA, relay=a.mail.sonic.net [64.142.16.245]",
                r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kReceive);
  CHECK(r.client_ip == "64.142.16.245");
  CHECK(r.client_name == "a.mail.sonic.net");
  CHECK(r.sender == "\"x, relay=trusted.example [10.1.0.25]\"@corp.sonic.net");
}

// --- to= --------------------------------------------------------------------------------------

TEST_CASE("to= with stat=Sent (ID Message accepted for delivery) links to the next sendmail",
          "[sendmail]") {
  // log-formats.md §2.3(c) [C: sendmail grok-pattern test script for sonic.net]
  ParsedRecord r;
  REQUIRE(parse("Nov  7 13:52:47 b.mx.sonic.net sm-mta[29846]: qA7LqlqC029841: "
                "to=<augie@corp.sonic.net>, delay=00:00:00, xdelay=00:00:00, mailer=esmtp, "
                "pri=121391, relay=lds.sonic.net. [69.12.221.231], dsn=2.0.0, stat=Sent "
                "(qA7Lqlbm023338 Message accepted for delivery)",
                r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kDelivery);
  CHECK(r.queue_id == "qA7LqlqC029841");
  REQUIRE(r.recipients.size() == 1);
  CHECK(r.recipients[0] == "augie@corp.sonic.net");
  CHECK(r.relay_name == "lds.sonic.net");  // the trailing dot of the MX name is dropped
  CHECK(r.relay_ip == "69.12.221.231");
  CHECK(r.status == DeliveryStatus::kSent);
  CHECK(r.next_queue_id == "qA7Lqlbm023338");
  CHECK(r.virus.empty());
}

TEST_CASE("to= of the MSP through [127.0.0.1] [127.0.0.1] links to the local MTA", "[sendmail]") {
  // log-formats.md §2.3(a) [P: RHCE/RHCSA mail-server study notes]
  ParsedRecord r;
  REQUIRE(parse("Apr 26 12:11:46 rhel2 sendmail[15891]: s3QIBkVm015891: to=user1@local.com, "
                "ctladdr=user2 (501/501), delay=00:00:00, xdelay=00:00:00, mailer=relay, "
                "pri=30056, relay=[127.0.0.1] [127.0.0.1], dsn=2.0.0, stat=Sent (s3QIBk6H015892 "
                "Message accepted for delivery)",
                r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kDelivery);
  CHECK(r.queue_id == "s3QIBkVm015891");
  REQUIRE(r.recipients.size() == 1);
  CHECK(r.recipients[0] == "user1@local.com");
  CHECK(r.relay_name.empty());  // a literal is no name
  CHECK(r.relay_ip == "127.0.0.1");
  CHECK(r.status == DeliveryStatus::kSent);
  CHECK(r.next_queue_id == "s3QIBk6H015892");
}

TEST_CASE("to= with stat=Sent (Ok: queued as X) links to the next postfix", "[sendmail]") {
  // log-formats.md §2.3(a) [P: RHCE/RHCSA mail-server study notes]
  ParsedRecord r;
  REQUIRE(parse("Apr 26 12:11:46 rhel2 sendmail[15894]: s3QIBk6H015892: "
                "to=<user1@local.com>, delay=00:00:00, xdelay=00:00:00, mailer=esmtp, "
                "pri=120334, relay=rhel1.local.com. [192.168.2.2], dsn=2.0.0, stat=Sent (Ok: "
                "queued as 2471D40E5E)",
                r) == ParseStatus::kRecord);
  CHECK(r.queue_id == "s3QIBk6H015892");
  CHECK(r.relay_name == "rhel1.local.com");
  CHECK(r.relay_ip == "192.168.2.2");
  CHECK(r.status == DeliveryStatus::kSent);
  CHECK(r.next_queue_id == "2471D40E5E");
  // log-formats.md §2.3(g) [P: forum post]
  REQUIRE(parse("Sep  4 16:29:34 pbx sendmail[2955]: q84KTYe0002955: to=me@gmail.com, "
                "ctladdr=root (0/0), delay=00:00:00, xdelay=00:00:00, mailer=relay, pri=30237, "
                "relay=[127.0.0.1] [127.0.0.1], dsn=2.0.0, stat=Sent (Ok: queued as "
                "DD92B23E057)",
                r) == ParseStatus::kRecord);
  REQUIRE(r.recipients.size() == 1);
  CHECK(r.recipients[0] == "me@gmail.com");
  CHECK(r.next_queue_id == "DD92B23E057");
}

TEST_CASE("to= with stat=Sent (OK id=X) links to the next exim", "[sendmail]") {
  // log-formats.md §2.3(g) [D: sendmail2dlf(1) man page (Lire)], a pre-8.12 queue id
  ParsedRecord r;
  REQUIRE(parse("Apr 20 05:00:11 firewall sendmail[503]: DAA00442: to=<jan@aap.com>, "
                "delay=02:00:00, xdelay=00:00:03, mailer=smtp, relay=mailgw.aap.com. "
                "[3.4.64.199], stat=Sent (OK id=12i7CN-0001Kv-00)",
                r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kDelivery);
  CHECK(r.queue_id == "DAA00442");
  REQUIRE(r.recipients.size() == 1);
  CHECK(r.recipients[0] == "jan@aap.com");
  CHECK(r.relay_name == "mailgw.aap.com");
  CHECK(r.relay_ip == "3.4.64.199");
  CHECK(r.status == DeliveryStatus::kSent);
  CHECK(r.next_queue_id == "12i7CN-0001Kv-00");
}

TEST_CASE("to= with a Solaris tag links to the next hop's id", "[sendmail]") {
  // log-formats.md §2.3(d) [P: pastebin.com/AHD7LVBw]
  ParsedRecord r;
  REQUIRE(parse("Jul 11 20:45:37 rt sendmail[9608]: [ID 801593 mail.info] n6BKbwgB009156: "
                "to=systems@example.net, ctladdr=nobody (60001/60001), delay=00:07:39, "
                "xdelay=00:00:00, mailer=relay, pri=122651, relay=[127.0.0.1] [127.0.0.1], "
                "dsn=2.0.0, stat=Sent (n6BKjb0S009609 Message accepted for delivery)",
                r) == ParseStatus::kRecord);
  CHECK(r.queue_id == "n6BKbwgB009156");
  REQUIRE(r.recipients.size() == 1);
  CHECK(r.recipients[0] == "systems@example.net");
  CHECK(r.next_queue_id == "n6BKjb0S009609");
  // the qmail next hop's reply names no queue id
  REQUIRE(parse("Jul 11 20:45:38 rt sendmail[9611]: [ID 801593 mail.info] n6BKjb0S009609: "
                "to=<systems@example.net>, ctladdr=<nobody@rt.example.net> (60001/60001), "
                "delay=00:00:01, xdelay=00:00:01, mailer=esmtp, pri=122788, "
                "relay=qmail.example.net. [205.171.7.14], dsn=2.0.0, stat=Sent (ok 1247345138 "
                "qp 26344)",
                r) == ParseStatus::kRecord);
  CHECK(r.status == DeliveryStatus::kSent);
  CHECK(r.relay_ip == "205.171.7.14");
  CHECK(r.next_queue_id.empty());
}

TEST_CASE("a multi-recipient to= lists every recipient of the transaction", "[sendmail]") {
  // log-formats.md §2.3(c) [C: sendmail grok-pattern test script for sonic.net]
  ParsedRecord r;
  REQUIRE(parse("Nov 13 14:52:10 a.mail.sonic.net sm-mta[16961]: qADMh0cd016570: "
                "to=<augie@corp.sonic.net>,<augie@sonic.net>,<augie@schwer.us>, delay=00:09:09, "
                "xdelay=00:00:09, mailer=esmtp, pri=4437228, "
                "relay=ign-com.mail.eo.outlook.com. [216.32.180.22], dsn=2.0.0, stat=Sent "
                "(<00b601cdc1f0$4d506a80$e7f13f80$@com> [InternalId=14475985] Queued mail for "
                "delivery)",
                r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kDelivery);
  CHECK(r.queue_id == "qADMh0cd016570");
  REQUIRE(r.recipients.size() == 3);
  CHECK(r.recipients[0] == "augie@corp.sonic.net");
  CHECK(r.recipients[1] == "augie@sonic.net");
  CHECK(r.recipients[2] == "augie@schwer.us");
  CHECK(r.relay_name == "ign-com.mail.eo.outlook.com");
  CHECK(r.relay_ip == "216.32.180.22");
  CHECK(r.status == DeliveryStatus::kSent);
  CHECK(r.next_queue_id.empty());  // Exchange's InternalId is no queue id
}

TEST_CASE("to= with stat=Deferred is a deferred delivery", "[sendmail]") {
  // log-formats.md §2.3(e) [C: sendmail log-statistics perl script comment]
  ParsedRecord r;
  REQUIRE(parse("Oct 19 09:46:30 jinx sm-mta[4420]: l9JDiUUq004420: to=<Ruipetrusa@d111.com>, "
                "delay=00:02:00, xdelay=00:02:00, mailer=esmtp, pri=30000, relay=d111.com. "
                "[8.15.231.110], dsn=4.0.0, stat=Deferred: Connection timed out with d111.com.",
                r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kDelivery);
  CHECK(r.queue_id == "l9JDiUUq004420");
  CHECK(r.relay_name == "d111.com");
  CHECK(r.relay_ip == "8.15.231.110");
  CHECK(r.status == DeliveryStatus::kDeferred);
  CHECK(r.next_queue_id.empty());
  // log-formats.md §2.3(h) [P: forum post]: a delay with days
  REQUIRE(parse("Jul 16 03:15:16 server123 sendmail[4828]: e6EBXrO12616: "
                "to=<sales@mail.domain2.pt>, delay=1+14:41:13, xdelay=00:00:55, mailer=esmtp, "
                "pri=3001977, relay=mail.domain2.pt. [11.0.0.130], dsn=4.0.0, stat=Deferred: "
                "Connection refused by mail.domain2.pt.",
                r) == ParseStatus::kRecord);
  CHECK(r.queue_id == "e6EBXrO12616");
  CHECK(r.status == DeliveryStatus::kDeferred);
}

TEST_CASE("to= bounced with a virus stat is a detection", "[sendmail]") {
  // log-formats.md §5.1: sendmail `to=… stat=virus NAME detected by ClamAV` (as parsed by
  // sendmailanalyzer), on the §2.3(c) [C: sonic.net] to= line
  ParsedRecord r;
  REQUIRE(parse("Nov  7 13:52:47 b.mx.sonic.net sm-mta[29846]: qA7LqlqC029841: "
                "to=<augie@corp.sonic.net>, delay=00:00:00, xdelay=00:00:00, mailer=esmtp, "
                "pri=121391, relay=lds.sonic.net. [69.12.221.231], dsn=5.7.1, stat=virus "
                "Eicar-Test-Signature detected by ClamAV",
                r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kDetection);
  CHECK(r.queue_id == "qA7LqlqC029841");
  CHECK(r.virus == "Eicar-Test-Signature");
  CHECK(r.action == "bounced");
  CHECK(r.status == DeliveryStatus::kBounced);
  CHECK(r.relay_ip == "69.12.221.231");
  REQUIRE(r.recipients.size() == 1);
  CHECK(r.recipients[0] == "augie@corp.sonic.net");
}

TEST_CASE("to= bounced without a virus stays a bounced delivery", "[sendmail]") {
  // log-formats.md §2.1 stat= "User unknown", on the §2.3(c) [C: sonic.net] to= line
  ParsedRecord r;
  REQUIRE(parse("Nov  7 13:52:47 b.mx.sonic.net sm-mta[29846]: qA7LqlqC029841: "
                "to=<augie@corp.sonic.net>, delay=00:00:00, xdelay=00:00:00, mailer=esmtp, "
                "pri=121391, relay=lds.sonic.net. [69.12.221.231], dsn=5.1.1, stat=User unknown",
                r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kDelivery);
  CHECK(r.status == DeliveryStatus::kBounced);
  CHECK(r.virus.empty());
}

TEST_CASE("to= for a local mailer without relay= is a delivery without a relay", "[sendmail]") {
  // log-formats.md §2.3(i) [P: clamav-milter install notes]
  ParsedRecord r;
  REQUIRE(parse("Jun  1 14:04:17 sandbox sendmail[4604]: m51L409D004600: to=admin, "
                "delay=00:00:04, xdelay=00:00:00, mailer=local, pri=30479, dsn=2.0.0, "
                "stat=Sent",
                r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kDelivery);
  REQUIRE(r.recipients.size() == 1);
  CHECK(r.recipients[0] == "admin");
  CHECK(r.relay_ip.empty());
  CHECK(r.relay_name.empty());
  CHECK(r.status == DeliveryStatus::kSent);
  CHECK(r.next_queue_id.empty());
}

TEST_CASE("truncated to= lines are malformed", "[sendmail]") {
  ParsedRecord r;
  // tests/fixtures/logs/fluent-plugin-sendmail/data (MIT), cut short
  CHECK(parse("Apr  2 00:15:25 mta001 sendmail[32302]: u31FFPtp032300: "
              "to=<sent1@example.com>,<sent2@example.com>",
              r) == ParseStatus::kMalformed);
  CHECK(parse("Apr  2 00:15:25 mta001 sendmail[32302]: u31FFPtp032300: "
              "to=<sent1@example.com>,<sent2@example.com>, delay=00:00:00, xdelay=00:00:00, "
              "mailer=esmtp, pri=245938, relay=[93.184.216.34] [93.184.216.34], dsn=2.0.0",
              r) == ParseStatus::kMalformed);
  CHECK(parse("Apr  2 00:15:25 mta001 sendmail[32302]: u31FFPtp032300: to=, delay=00:00:00, "
              "stat=Sent",
              r) == ParseStatus::kMalformed);
}

TEST_CASE("a recipient address cannot forge the stat= of a sendmail delivery", "[sendmail]") {
  // The §2.3(c) [C: sonic.net] to= line with an attacker-chosen quoted local part (RFC 5321
  // allows it; sendmail logs it as given). The real stat= is Sent.
  ParsedRecord r;
  REQUIRE(parse("Nov  7 13:52:47 b.mx.sonic.net sm-mta[29846]: qA7LqlqC029841: "
                "to=<\"stat=virus Evil.Fake detected\"@corp.sonic.net>, delay=00:00:00, "
                "xdelay=00:00:00, mailer=esmtp, pri=121391, relay=lds.sonic.net. "
                "[69.12.221.231], dsn=2.0.0, stat=Sent (qA7Lqlbm023338 Message accepted for "
                "delivery)",
                r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kDelivery);
  CHECK(r.status == DeliveryStatus::kSent);
  CHECK(r.virus.empty());
  CHECK(r.next_queue_id == "qA7Lqlbm023338");
}

// --- DSN, milter, ruleset, noise --------------------------------------------------------------

TEST_CASE("QID: NEWQID: DSN: is a bounce generated for QID", "[sendmail]") {
  // log-formats.md §2.3(h) [P: forum post]
  ParsedRecord r;
  REQUIRE(parse("Feb 20 11:33:52 mydomain sm-mta[7814]: u1KEXqu0007812: u1KEXqu0007814: DSN: "
                "User unknown",
                r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kBounce);
  CHECK(r.queue_id == "u1KEXqu0007812");
  CHECK(r.bounce_queue_id == "u1KEXqu0007814");
}

TEST_CASE("Milter add header X-Virus-Status Infected is a detection", "[sendmail]") {
  // log-formats.md §2.3(i) [P: clamav-milter install notes] with the header value clamav-milter
  // writes for infected mail (§5.1, clamfi.c "Infected (%s)")
  ParsedRecord r;
  REQUIRE(parse("Jun  1 14:04:17 sandbox sendmail[4600]: m51L409D004600: Milter add: header: "
                "X-Virus-Status: Infected (Eicar-Test-Signature)",
                r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kDetection);
  CHECK(r.queue_id == "m51L409D004600");
  CHECK(r.virus == "Eicar-Test-Signature");
  CHECK(r.action == "tagged");
}

TEST_CASE("Milter add header X-Virus-Status Clean marks its message clean, not a detection",
          "[sendmail][verdict]") {
  // log-formats.md §2.3(i) [P: clamav-milter install notes]
  ParsedRecord r;
  CHECK(parse("Jun  1 14:04:17 sandbox sendmail[4600]: m51L409D004600: Milter add: header: "
              "X-Virus-Status: Clean",
              r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kAttribute);
  CHECK(r.queue_id == "m51L409D004600");
  CHECK(r.clean);
  CHECK(r.virus.empty());
}

TEST_CASE("a Milter data reject naming a virus is a detection", "[sendmail]") {
  // log-formats.md §2.1 "QID: Milter: data, reject=550 5.7.1 …" with the clamav-milter reject
  // text of §3.2(c) [P: i-MSCP/plugins README], for the §2.3(i) message
  ParsedRecord r;
  REQUIRE(parse("Jun  1 14:04:17 sandbox sendmail[4600]: m51L409D004600: Milter: data, "
                "reject=550 5.7.1 Blocked by ClamAV - FOUND VIRUS: Eicar-Test-Signature",
                r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kDetection);
  CHECK(r.queue_id == "m51L409D004600");
  CHECK(r.virus == "Eicar-Test-Signature");
  CHECK(r.action == "rejected");
  CHECK(r.mta_action == MtaAction::kRejected);
}

TEST_CASE("a milter's quarantine line records the quarantine of its message, not a detection",
          "[sendmail][verdict]") {
  // log-formats.md §2.1 "QID: milter=clamav-milter, quarantine=quarantined by clamav-milter"
  // (sendmail milter.c "milter=%s, quarantine=%s"; the reason is clamav-milter's), for the
  // §2.3(i) message
  ParsedRecord r;
  REQUIRE(parse("Jun  1 14:04:17 sandbox sendmail[4600]: m51L409D004600: milter=clamav-milter, "
                "quarantine=quarantined by clamav-milter",
                r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kAttribute);
  CHECK(r.queue_id == "m51L409D004600");
  CHECK(r.mta_action == MtaAction::kQuarantined);
  CHECK(r.virus.empty());
}

TEST_CASE("a Milter data reject or discard without a virus name records what the MTA did",
          "[sendmail][verdict]") {
  // sendmail srvrsmtp.c: "Milter: data, reject=554 5.7.1 Command rejected" (a milter's plain
  // SMFIS_REJECT: clamav-milter OnInfected Reject without RejectMsg) and "Milter: data,
  // discard" (OnInfected Blackhole), for the §2.3(i) message
  ParsedRecord r;
  REQUIRE(parse("Jun  1 14:04:17 sandbox sendmail[4600]: m51L409D004600: Milter: data, "
                "reject=554 5.7.1 Command rejected",
                r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kAttribute);
  CHECK(r.mta_action == MtaAction::kRejected);
  r.clear();
  REQUIRE(parse("Jun  1 14:04:17 sandbox sendmail[4600]: m51L409D004600: Milter: data, discard",
                r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kAttribute);
  CHECK(r.mta_action == MtaAction::kDiscarded);
  r.clear();
  // srvrsmtp.c's MSG_TEMPFAIL: the client is asked to try again, nothing was decided
  CHECK(parse("Jun  1 14:04:17 sandbox sendmail[4600]: m51L409D004600: Milter: data, "
              "reject=451 4.3.2 Please try again later",
              r) == ParseStatus::kIgnored);
}

TEST_CASE("a ruleset reject for relaying is ignored", "[sendmail]") {
  // log-formats.md §2.3(f) [R:fail2ban sendmail-reject]
  ParsedRecord r;
  CHECK(parse("Feb 23 21:36:14 petermurray sm-mta[22248]: s1NLaDQT022248: ruleset=check_rcpt, "
              "arg1=<dautareuk2@hotmail.it>, relay=int0.client.access.azadnet.net "
              "[80.253.155.119] (may be forged), reject=550 5.7.1 <dautareuk2@hotmail.it>... "
              "Relaying denied. IP name possibly forged [80.253.155.119]",
              r) == ParseStatus::kIgnored);
  CHECK(r.virus.empty());
}

TEST_CASE("sendmail lines without from=, to= or a verdict are ignored", "[sendmail]") {
  ParsedRecord r;
  for (const char* text : {
           // log-formats.md §2.3(f) [R:fail2ban sendmail-reject] (IPv6 and long-pid ids)
           "Mar 29 22:51:46 server sm-mta[50438]: 06QDQnNf050438: example.com "
           "[IPv6:2001:DB8::1] did not issue MAIL/EXPN/VRFY/ETRN during connection to IPv6",
           "Mar 29 22:51:43 server sendmail[3529565]: xA32R2PQ3529565: [192.0.2.2] did not "
           "issue MAIL/EXPN/VRFY/ETRN during connection to MTA",
           // tests/fixtures/logs/fluent-plugin-sendmail/data (MIT)
           "Apr  2 00:15:25 mta001 sendmail[32300]: u31FFPtp032300: Milter: no active filter",
           "Apr  2 00:15:25 mta001 sendmail[32302]: u31FFPtp032300: SMTP outgoing connect on "
           "[192.168.198.81]",
           "Apr  2 00:15:25 mta001 sendmail[32302]: u31FFPtp032300: done; delay=00:00:00, "
           "ntries=2",
       }) {
    INFO(text);
    CHECK(parse(text, r) == ParseStatus::kIgnored);
  }
}

TEST_CASE("sendmail lines without a queue id are ignored", "[sendmail]") {
  ParsedRecord r;
  for (const char* text : {
           // [P: public forum post quoting its /var/log/mail.log (sm-mta daemon start)]
           "Mar  6 18:42:27 localhost sm-mta[7924]: starting daemon (8.14.4): "
           "SMTP+queueing@00:10:00",
           // [P: public forum post about sendmail after an Ubuntu server reboot, quoting its
           // mail log]
           "Oct 21 21:02:04 server sendmail[23796]: STARTTLS=client, relay=[127.0.0.1], "
           "version=TLSv1/SSLv3, verify=FAIL, cipher=DHE-RSA-AES256-SHA, bits=256/256",
       }) {
    INFO(text);
    CHECK(parse(text, r) == ParseStatus::kIgnored);
    CHECK(r.queue_id.empty());
  }
}

TEST_CASE("the fluent-plugin-sendmail test log parses line by line", "[sendmail]") {
  const std::string path = std::string(VTRACE_FIXTURES) + "/logs/fluent-plugin-sendmail/data";
  std::ifstream in(path);
  REQUIRE(in);
  SyslogEnvelopeDecoder decoder(2016, "UTC", 0);
  std::string text;
  int receives = 0, sent = 0, deferred = 0, ignored = 0;
  std::vector<std::string> recipients;
  while (std::getline(in, text)) {
    LogLine line;
    REQUIRE(decoder.decode(text, line));
    ParsedRecord r;
    const ParseStatus status = sendmail().parse(line, r);
    INFO(text);
    CHECK(status != ParseStatus::kMalformed);
    check_record_views_inside(r, text, /*unknown_virus_allowed=*/true);
    if (status == ParseStatus::kIgnored) {
      ++ignored;
      continue;
    }
    REQUIRE(status == ParseStatus::kRecord);
    CHECK(r.queue_id == "u31FFPtp032300");
    if (r.kind == RecordKind::kReceive) {
      ++receives;
      CHECK(r.client_ip == "64.233.187.27");
      continue;
    }
    REQUIRE(r.kind == RecordKind::kDelivery);
    for (auto rcpt : r.recipients) recipients.emplace_back(rcpt);
    if (r.status == DeliveryStatus::kSent) ++sent;
    if (r.status == DeliveryStatus::kDeferred) ++deferred;
    if (r.relay_ip == "93.184.216.34") CHECK(r.relay_name.empty());
  }
  CHECK(receives == 1);
  CHECK(sent == 4);
  CHECK(deferred == 2);
  CHECK(ignored == 3);
  CHECK(recipients == std::vector<std::string>{
                          "sent1@example.com", "sent2@example.com", "deferred1@example.com",
                          "deferred2@example.com", "sent3@example2.com", "sent4@example2.com",
                          "deferred1@example.com", "root@localhost.localdomain"});
}
