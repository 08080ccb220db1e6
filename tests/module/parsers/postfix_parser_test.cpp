// Unit tests for the postfix parser: every record kind of log-formats.md §3, decoded from full
// syslog lines, plus the postfix-grok-patterns test corpus (tests/fixtures/logs/).
#include <yaml-cpp/yaml.h>

#include <catch2/catch.hpp>
#include <filesystem>
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
using vtrace::testing::parse_message;
using vtrace::testing::parse_syslog_line;
using vtrace::testing::points_into;
using vtrace::testing::UnknownVirus;

namespace {

const LogParser& postfix() {
  static const std::unique_ptr<LogParser> parser = make_postfix_parser();
  return *parser;
}

// Decodes a full syslog line (year 2026, UTC) and runs the postfix parser on it. `text` must
// outlive the record.
ParseStatus parse(std::string_view text, ParsedRecord& out, LogLine* line_out = nullptr) {
  return parse_syslog_line(postfix(), text, out, UnknownVirus::kAllowed, line_out);
}

// Runs the parser on a message body without an envelope (the postfix-grok-patterns corpus and
// pages whose timestamps were anonymised give only the text after "prog[pid]: ").
ParseStatus parse_body(std::string_view program, std::string_view message, ParsedRecord& out) {
  return parse_message(postfix(), program, message, out);
}

}  // namespace

TEST_CASE("postfix parser is named postfix and accepts every postfix syslog name", "[postfix]") {
  CHECK(postfix().name() == "postfix");
  for (const char* program :
       {"postfix/smtpd", "postfix/cleanup", "postfix/qmgr", "postfix/smtp", "postfix/lmtp",
        "postfix/local", "postfix/bounce", "postfix/pickup", "postfix/submission/smtpd",
        "postfix/smtps/smtpd", "postfix-inbound/smtpd", "postfix-incoming/smtpd",
        "postfix-smo/submission/smtpd", "postfix-inbound/lmtp",
        // rsyslog's app-name of an RFC 3164 line stops at '/'.
        "postfix"}) {
    INFO(program);
    CHECK(postfix().accepts_program(program));
  }
  for (const char* program :
       {"sendmail", "sm-mta", "exim", "clamav-milter", "amavis", "postfixadmin"}) {
    INFO(program);
    CHECK_FALSE(postfix().accepts_program(program));
  }
}

// --- smtpd client= ----------------------------------------------------------------------------

TEST_CASE("smtpd client= with SASL fields is a receive from the bracketed address", "[postfix]") {
  // log-formats.md §3.2(c) [P: i-MSCP/plugins incubator/ClamAV/README.md]
  constexpr std::string_view kLine =
      "Feb 20 03:26:16 precise postfix/smtpd[19062]: 0A618260345: client=unknown[192.168.5.100], "
      "sasl_method=CRAM-MD5, sasl_username=nuxwin@domain.tld";
  ParsedRecord r;
  REQUIRE(parse(kLine, r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kReceive);
  CHECK(r.queue_id == "0A618260345");
  CHECK(r.client_ip == "192.168.5.100");
  CHECK(r.client_name.empty());  // "unknown" is no name
  CHECK(r.orig_queue_id.empty());
  CHECK(r.orig_client_ip.empty());
  CHECK_FALSE(r.has_sender);
}

TEST_CASE("smtpd client= of a verified host reports its name", "[postfix]") {
  // log-formats.md §2.3(a) [P: RHCE/RHCSA mail-server study notes]
  ParsedRecord r;
  REQUIRE(parse("Apr 26 12:11:46 rhel1 postfix/smtpd[15538]: 2471D40E5E: "
                "client=rhel2.local.com[192.168.2.3]",
                r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kReceive);
  CHECK(r.queue_id == "2471D40E5E");
  CHECK(r.client_name == "rhel2.local.com");
  CHECK(r.client_ip == "192.168.2.3");
}

TEST_CASE("smtpd client= after a content filter carries orig_queue_id and orig_client",
          "[postfix]") {
  // log-formats.md §3.2(a) [P: MailRoute ITAR/HIPAA FAQ]
  ParsedRecord r;
  REQUIRE(parse("2018-11-21T15:18:44+0000 007.lax postfix-inbound/smtpd[7519]: 430R6r67h7zTgyH: "
                "client=007.lax.mailroute.net[127.0.0.1], orig_queue_id=430R6q29CSzTgvf, "
                "orig_client=sm1.email.bmwusa.com[50.57.212.101]",
                r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kReceive);
  CHECK(r.queue_id == "430R6r67h7zTgyH");
  CHECK(r.client_name == "007.lax.mailroute.net");
  CHECK(r.client_ip == "127.0.0.1");
  CHECK(r.orig_queue_id == "430R6q29CSzTgvf");
  CHECK(r.orig_client_name == "sm1.email.bmwusa.com");
  CHECK(r.orig_client_ip == "50.57.212.101");
}

TEST_CASE("smtpd client= with a port reports the address without the port", "[postfix]") {
  // log-formats.md §3.1: ":PORT only with smtpd_client_port_logging=yes"; the client of
  // §3.2(c) [P: i-MSCP/plugins README] as that setting logs it
  ParsedRecord r;
  REQUIRE(parse("Feb 20 03:26:16 precise postfix/smtpd[19062]: 0A618260345: "
                "client=unknown[192.168.5.100]:41144, sasl_method=CRAM-MD5, "
                "sasl_username=nuxwin@domain.tld",
                r) == ParseStatus::kRecord);
  CHECK(r.client_ip == "192.168.5.100");
  CHECK(r.client_name.empty());
}

TEST_CASE("smtpd client= with an IPv6 client reports the bare IPv6 address", "[postfix]") {
  // log-formats.md §3.2(h) [C: postfix-logwatch #TD comment]; "QID: " added as smtpd writes it
  ParsedRecord r;
  REQUIRE(parse_body("postfix/smtpd", "4104E3D: client=mail.example.com[2001:dead:beef::1]", r) ==
          ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kReceive);
  CHECK(r.client_name == "mail.example.com");
  CHECK(r.client_ip == "2001:dead:beef::1");
}

// --- cleanup / qmgr ---------------------------------------------------------------------------

TEST_CASE("cleanup message-id= is an attribute with the id without brackets", "[postfix]") {
  // tests/fixtures/logs/log-ship-elastic-postfix/mail.log (BSD-2-Clause)
  ParsedRecord r;
  REQUIRE(parse("Jul  5 06:52:11 prd-mx1 postfix/cleanup[21893]: 3mPVKl0Mhjz7sXv: "
                "message-id=<E1ZB06G-0006n5-Vp@anc-dev-web1.slc.example.net>",
                r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kAttribute);
  CHECK(r.queue_id == "3mPVKl0Mhjz7sXv");
  CHECK(r.message_id == "E1ZB06G-0006n5-Vp@anc-dev-web1.slc.example.net");
  CHECK(r.client_ip.empty());
}

TEST_CASE("cleanup message-id=<> is an attribute with an empty id", "[postfix]") {
  // postfix-grok-patterns test/cleanup_0002.yaml (BSD-3-Clause)
  ParsedRecord r;
  REQUIRE(parse_body("postfix/cleanup", "4104E3D: message-id=<>", r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kAttribute);
  CHECK(r.queue_id == "4104E3D");
  CHECK(r.message_id.empty());
}

TEST_CASE("qmgr from= with the null sender states the sender and the size", "[postfix]") {
  // tests/fixtures/logs/log-ship-elastic-postfix/mail.log (BSD-2-Clause)
  ParsedRecord r;
  REQUIRE(parse("Jul  5 06:52:11 prd-mx1 postfix/qmgr[20459]: 3mPVKl0Mhjz7sXv: from=<>, "
                "size=2666, nrcpt=2 (queue active)",
                r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kAttribute);
  CHECK(r.queue_id == "3mPVKl0Mhjz7sXv");
  CHECK(r.sender.empty());
  CHECK(r.has_sender);
  CHECK(r.size == 2666);
}

TEST_CASE("qmgr from= with a sender states the sender and the size", "[postfix]") {
  // log-formats.md §3.2(a) [P: MailRoute ITAR/HIPAA FAQ]
  ParsedRecord r;
  REQUIRE(parse("2018-11-21T15:18:43+0000 007.lax postfix-inbound/qmgr[3320]: 430R6q29CSzTgvf: "
                "from=<bounce@bounce.email.bmwusa.com>, size=57417, nrcpt=1 (queue active)",
                r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kAttribute);
  CHECK(r.queue_id == "430R6q29CSzTgvf");
  CHECK(r.sender == "bounce@bounce.email.bmwusa.com");
  CHECK(r.has_sender);
  CHECK(r.size == 57417);
}

TEST_CASE("qmgr removed ends the message's life in the queue", "[postfix]") {
  // log-formats.md §3.2(b) [P: FHNW CyberLab report]
  ParsedRecord r;
  REQUIRE(parse("2026-05-16T16:13:26.397062+02:00 mail postfix/qmgr[2267]: 21957407BE: removed",
                r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kDone);
  CHECK(r.queue_id == "21957407BE");
}

// --- deliveries -------------------------------------------------------------------------------

TEST_CASE("smtp status=sent with a long next-hop queue id links to that id", "[postfix]") {
  // tests/fixtures/logs/log-ship-elastic-postfix/mail.log (BSD-2-Clause)
  constexpr std::string_view kLine =
      "Jul  5 06:52:11 prd-mx1 postfix/smtp[22030]: 3mPVKl0Mhjz7sXv: "
      "to=<56597@continuity.delivery>, relay=10.2.2.85[10.2.2.85]:2527, delay=0.51, "
      "delays=0.44/0.01/0.05/0.01, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as "
      "3mPVKl3YVXz2pS5Z)";
  ParsedRecord r;
  LogLine line;
  REQUIRE(parse(kLine, r, &line) == ParseStatus::kRecord);
  CHECK(line.time == make_utc(2026, 7, 5, 6, 52, 11));
  CHECK(r.kind == RecordKind::kDelivery);
  CHECK(r.queue_id == "3mPVKl0Mhjz7sXv");
  REQUIRE(r.recipients.size() == 1);
  CHECK(r.recipients[0] == "56597@continuity.delivery");
  CHECK(r.relay_name == "10.2.2.85");
  CHECK(r.relay_ip == "10.2.2.85");
  CHECK(r.status == DeliveryStatus::kSent);
  CHECK(r.next_queue_id == "3mPVKl3YVXz2pS5Z");
  CHECK(r.virus.empty());
}

TEST_CASE("smtp status=sent with a short next-hop queue id links to that id", "[postfix]") {
  // log-formats.md §3.2(b) [P: FHNW CyberLab report]
  ParsedRecord r;
  REQUIRE(parse("2026-05-16T16:13:26.396352+02:00 mail postfix/smtp[2323]: 21957407BE: "
                "to=<reflector@cyberlab.fhnw.ch>, relay=srvMSG01.cyberlab.fhnw.ch"
                "[192.168.64.33]:25, delay=1.3, delays=0/0.01/1/0.23, dsn=2.0.0, status=sent "
                "(250 2.0.0 Ok: queued as 56285601BC)",
                r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kDelivery);
  CHECK(r.queue_id == "21957407BE");
  REQUIRE(r.recipients.size() == 1);
  CHECK(r.recipients[0] == "reflector@cyberlab.fhnw.ch");
  CHECK(r.relay_name == "srvMSG01.cyberlab.fhnw.ch");
  CHECK(r.relay_ip == "192.168.64.33");
  CHECK(r.status == DeliveryStatus::kSent);
  CHECK(r.next_queue_id == "56285601BC");
}

TEST_CASE("lmtp status=sent through amavis takes the id after from MTA(...)", "[postfix]") {
  // log-formats.md §3.2(a) [P: MailRoute ITAR/HIPAA FAQ]
  ParsedRecord r;
  REQUIRE(parse("2018-11-21T15:18:44+0000 007.lax postfix-inbound/lmtp[7383]: 430R6q29CSzTgvf: "
                "to=<user@domain.com>, relay=127.0.0.1[127.0.0.1]:10024, delay=1.7, "
                "delays=0.46/0/0/1.2, dsn=2.0.0, status=sent (250 2.0.0 from "
                "MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as 430R6r67h7zTgyH)",
                r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kDelivery);
  CHECK(r.queue_id == "430R6q29CSzTgvf");
  CHECK(r.relay_ip == "127.0.0.1");
  CHECK(r.status == DeliveryStatus::kSent);
  CHECK(r.next_queue_id == "430R6r67h7zTgyH");
  // log-formats.md §3.2(d) [P: forum post "vps411"]: the older "from MTA([ip]:port)" form
  REQUIRE(parse("Jan 13 21:10:24 vps411 postfix/smtp[24837]: 38D779262A9: "
                "to=<admin@myserver.com>, relay=127.0.0.1[127.0.0.1]:10024, delay=7.8, "
                "delays=0.55/0.02/0.31/6.9, dsn=2.0.0, status=sent (250 2.0.0 from "
                "MTA([127.0.0.1]:10025): 250 2.0.0 Ok: queued as A0A669262EC)",
                r) == ParseStatus::kRecord);
  CHECK(r.queue_id == "38D779262A9");
  CHECK(r.next_queue_id == "A0A669262EC");
}

TEST_CASE("smtp status=sent to sendmail takes the first id of ID-ID Message accepted",
          "[postfix]") {
  // log-formats.md §3.2(f) [P: postfix appliance log (credicard)]
  ParsedRecord r;
  REQUIRE(parse("Jul 31 16:20:29 lrkprdappsmtprelay postfix/smtp[528887]: E324FC01379: "
                "to=<carlos.gomez@credicard.com.ve>, relay=10.136.0.90[10.136.0.90]:25, "
                "delay=0.22, delays=0.04/0.04/0/0.14, dsn=2.0.0, status=sent (250 2.0.0 "
                "36VKKS9J026559-36VKKS9K026559 Message accepted for delivery)",
                r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kDelivery);
  CHECK(r.queue_id == "E324FC01379");
  REQUIRE(r.recipients.size() == 1);
  CHECK(r.recipients[0] == "carlos.gomez@credicard.com.ve");
  CHECK(r.relay_ip == "10.136.0.90");
  CHECK(r.status == DeliveryStatus::kSent);
  CHECK(r.next_queue_id == "36VKKS9J026559");
}

TEST_CASE("smtp status=sent to exim takes the id of OK id=", "[postfix]") {
  // log-formats.md §3.1 `(250 OK id=…)` (exim) with the exim id of §4.2(f)
  // [R:exim-testsuite/0036], on the §3.2(b) [P: FHNW CyberLab] delivery line
  ParsedRecord r;
  REQUIRE(parse("2026-05-16T16:13:26.396352+02:00 mail postfix/smtp[2323]: 21957407BE: "
                "to=<reflector@cyberlab.fhnw.ch>, relay=srvMSG01.cyberlab.fhnw.ch"
                "[192.168.64.33]:25, delay=1.3, delays=0/0.01/1/0.23, dsn=2.0.0, status=sent "
                "(250 OK id=10HmaY-000000005vi-0000)",
                r) == ParseStatus::kRecord);
  CHECK(r.status == DeliveryStatus::kSent);
  CHECK(r.next_queue_id == "10HmaY-000000005vi-0000");
}

TEST_CASE("smtp status=sent without a next-hop id leaves next_queue_id empty", "[postfix]") {
  ParsedRecord r;
  // postfix-grok-patterns test/smtp_0017.yaml (BSD-3-Clause): dovecot LMTP's own id is no
  // queue id
  REQUIRE(parse_body("postfix/lmtp",
                     "AD6E41CDC05C: to=<admin@example.com>, relay=sub1.example.com"
                     "[private/dovecot-lmtp], delay=0.15, delays=0.04/0/0.02/0.08, dsn=2.0.0, "
                     "status=sent (250 2.0.0 <admin@example.com> qYyyBMsl9FRuZQAAA15QOA Saved)",
                     r) == ParseStatus::kRecord);
  CHECK(r.relay_name == "sub1.example.com");
  CHECK(r.next_queue_id.empty());
  // postfix-grok-patterns test/local_0001.yaml (BSD-3-Clause): local delivery, relay=local
  REQUIRE(parse_body("postfix/local",
                     "2A22C263F6: to=user@hostname.example.com, orig_to=root@localhost, "
                     "relay=local, delay=0.07, delays=0.04/0/0/0.03, dsn=2.0.0, status=sent "
                     "(delivered to command: procmail -a \"$EXTENSION\")",
                     r) == ParseStatus::kRecord);
  REQUIRE(r.recipients.size() == 1);
  CHECK(r.recipients[0] == "user@hostname.example.com");
  CHECK(r.relay_name == "local");
  CHECK(r.relay_ip.empty());
  CHECK(r.next_queue_id.empty());
}

TEST_CASE("a content filter's discard reply on a sent delivery is a detection", "[postfix]") {
  // log-formats.md §6.2 [P: Gentoo-wiki-derived "virtual mail server" guide]: amavis took the
  // message only to discard it; "id=07554-01" is amavis's own id, no next hop's queue id
  ParsedRecord r;
  REQUIRE(parse("Dec 28 14:05:33 7of9 postfix/lmtp[15452]: 7FC7B22DF6: "
                "to=<testuser@example.com>, relay=127.0.0.1[127.0.0.1]:10024, delay=0.41, "
                "delays=0.21/0.02/0.01/0.16, dsn=2.7.0, status=sent (250 2.7.0 Ok, discarded, "
                "id=07554-01 - INFECTED: Eicar-Test-Signature)",
                r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kDetection);
  CHECK(r.queue_id == "7FC7B22DF6");
  CHECK(r.virus == "Eicar-Test-Signature");
  CHECK(r.action == "discarded");
  CHECK(r.relay_ip == "127.0.0.1");
  REQUIRE(r.recipients.size() == 1);
  CHECK(r.recipients[0] == "testuser@example.com");
  CHECK(r.next_queue_id.empty());
  // log-formats.md §7 [P: iesgn course blog]: ClamSMTP discarded the virus without naming it
  REQUIRE(parse("Feb 15 18:15:50 vps postfix/smtp[12677]: 34FC3E14DC: to=<root@iesgn19.es>, "
                "relay=127.0.0.1[127.0.0.1]:10026, delay=0.1, delays=0.05/0/0.04/0, "
                "dsn=2.0.0, status=sent (250 Virus Detected; Discarded Email)",
                r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kDetection);
  CHECK(r.queue_id == "34FC3E14DC");
  CHECK(r.virus == "unknown");
  CHECK(r.action == "discarded");
  CHECK(r.relay_ip == "127.0.0.1");
  CHECK(r.next_queue_id.empty());
}

TEST_CASE("smtp status=deferred is a deferred delivery", "[postfix]") {
  // postfix-grok-patterns test/smtp_0026.yaml (BSD-3-Clause)
  ParsedRecord r;
  REQUIRE(parse_body("postfix/smtp",
                     "A0E85200BD: to=<whatever-user@lists.example.org>, "
                     "relay=open.example.nl[10.49.140.10]:25, delay=2.3, "
                     "delays=0.25/0.05/2/0.04, dsn=4.2.0, status=deferred (host "
                     "open.example.nl[10.49.140.10] said: 450 4.2.0 "
                     "<whatever-user@lists.example.org>: Recipient address rejected: "
                     "Greylisted, see http://postgrey.schweikert.ch/help/lists.example.org.html "
                     "(in reply to RCPT TO command))",
                     r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kDelivery);
  CHECK(r.queue_id == "A0E85200BD");
  REQUIRE(r.recipients.size() == 1);
  CHECK(r.recipients[0] == "whatever-user@lists.example.org");
  CHECK(r.relay_name == "open.example.nl");
  CHECK(r.relay_ip == "10.49.140.10");
  CHECK(r.status == DeliveryStatus::kDeferred);
  CHECK(r.next_queue_id.empty());
  CHECK(r.virus.empty());
}

TEST_CASE("smtp status=bounced for spam stays a bounced delivery", "[postfix]") {
  // postfix-grok-patterns test/smtp_0018.yaml (BSD-3-Clause), IPv6 next hop
  ParsedRecord r;
  REQUIRE(parse_body("postfix/smtp",
                     "4E74613FE76: to=<redacted@gmail.com>, "
                     "relay=gmail-smtp-in.l.google.com[2607:f8b0:400e:c04::1b]:25, delay=1.9, "
                     "delays=0.05/0/1.1/0.71, dsn=5.7.1, status=bounced (host "
                     "gmail-smtp-in.l.google.com[2607:f8b0:400e:c04::1b] said: 550-5.7.1 "
                     "[2607:4100:3:25:100::2      12] Our system has detected that this "
                     "550-5.7.1 message is likely unsolicited mail. To reduce the amount of "
                     "spam sent 550-5.7.1 to Gmail, this message has been blocked. Please visit "
                     "550-5.7.1 http://support.google.com/mail/bin/answer.py?hl=en&answer=188131 "
                     "for 550 5.7.1 more information. qc12si8475009pab.211 - gsmtp (in reply to "
                     "end of DATA command))",
                     r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kDelivery);
  CHECK(r.status == DeliveryStatus::kBounced);
  CHECK(r.relay_name == "gmail-smtp-in.l.google.com");
  CHECK(r.relay_ip == "2607:f8b0:400e:c04::1b");
  CHECK(r.virus.empty());
  // postfix-grok-patterns test/local_0002.yaml (BSD-3-Clause): unknown local user
  REQUIRE(parse_body("postfix/local",
                     "892A0205B6: to=ghdsgfhdslfh@localhost, relay=local, delay=0.05, "
                     "delays=0.02/0/0/0.02, dsn=5.1.1, status=bounced (unknown user: "
                     "\"ghdsgfhdslfh\")",
                     r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kDelivery);
  CHECK(r.status == DeliveryStatus::kBounced);
  REQUIRE(r.recipients.size() == 1);
  CHECK(r.recipients[0] == "ghdsgfhdslfh@localhost");
}

TEST_CASE("smtp status=bounced with a virus reply is a detection naming the next hop",
          "[postfix]") {
  // tests/fixtures/scenario/relay1.log (the project's scenario)
  constexpr std::string_view kLine =
      "Nov 28 05:00:44 relay1 postfix/smtp[28617]: 4D74BF07DB: to=<sato@example.ac.jp>, "
      "relay=gw1.example.ac.jp[192.0.2.25]:25, delay=0.52, delays=0.06/0.01/0.21/0.24, "
      "dsn=5.7.1, status=bounced (host gw1.example.ac.jp[192.0.2.25] said: 550 5.7.1 Virus "
      "Win.Trojan.Mabutu-2 detected by gateway (in reply to end of DATA command))";
  ParsedRecord r;
  REQUIRE(parse(kLine, r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kDetection);
  CHECK(r.queue_id == "4D74BF07DB");
  CHECK(r.virus == "Win.Trojan.Mabutu-2");
  CHECK(r.action == "bounced");
  CHECK(r.status == DeliveryStatus::kBounced);
  CHECK(r.relay_name == "gw1.example.ac.jp");
  CHECK(r.relay_ip == "192.0.2.25");
  REQUIRE(r.recipients.size() == 1);
  CHECK(r.recipients[0] == "sato@example.ac.jp");
  CHECK(r.next_queue_id.empty());
}

// --- milter / proxy rejects -------------------------------------------------------------------

TEST_CASE("cleanup milter-reject by ClamAV is a detection with client, sender and recipient",
          "[postfix]") {
  // log-formats.md §3.2(c) [P: i-MSCP/plugins incubator/ClamAV/README.md]
  ParsedRecord r;
  REQUIRE(parse("Feb 20 03:26:16 precise postfix/cleanup[19158]: 0A618260345: milter-reject: "
                "END-OF-MESSAGE from unknown[192.168.5.100]: 5.7.1 Blocked by ClamAV - FOUND "
                "VIRUS: Eicar-Test-Signature; from=<nuxwin@domain.tld> to=<nuxwin@domain.tld> "
                "proto=ESMTP helo=<[192.168.5.100]>",
                r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kDetection);
  CHECK(r.queue_id == "0A618260345");
  CHECK(r.virus == "Eicar-Test-Signature");
  CHECK(r.action == "rejected");
  CHECK(r.client_ip == "192.168.5.100");
  CHECK(r.client_name.empty());
  CHECK(r.sender == "nuxwin@domain.tld");
  CHECK(r.has_sender);
  REQUIRE(r.recipients.size() == 1);
  CHECK(r.recipients[0] == "nuxwin@domain.tld");
}

TEST_CASE("cleanup milter-reject 'Virus X detected by gateway' is a detection", "[postfix]") {
  // tests/fixtures/scenario/gw1.log (the project's scenario)
  ParsedRecord r;
  REQUIRE(parse("2026-11-28T05:00:45.537403+00:00 gw1 postfix/cleanup[28595]: 38E58BACD89: "
                "milter-reject: END-OF-MESSAGE from relay1.campus.example.ac.jp[10.1.0.25]: "
                "5.7.1 Virus Win.Trojan.Mabutu-2 detected by gateway; "
                "from=<hana@mail.example.org> to=<sato@example.ac.jp> proto=ESMTP "
                "helo=<relay1.campus.example.ac.jp>",
                r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kDetection);
  CHECK(r.queue_id == "38E58BACD89");
  CHECK(r.virus == "Win.Trojan.Mabutu-2");
  CHECK(r.action == "rejected");
  CHECK(r.client_name == "relay1.campus.example.ac.jp");
  CHECK(r.client_ip == "10.1.0.25");
  CHECK(r.sender == "hana@mail.example.org");
  REQUIRE(r.recipients.size() == 1);
  CHECK(r.recipients[0] == "sato@example.ac.jp");
}

TEST_CASE("a milter-reject with an IPv6 client and an rspamd virus text is a detection",
          "[postfix]") {
  // log-formats.md §8 [P: spiller.me blog]; the author anonymised the timestamp, so the text
  // after "postfix/submission/cleanup[161122]: " is used
  ParsedRecord r;
  REQUIRE(parse_body("postfix/submission/cleanup",
                     "1BBB9602BE: milter-reject: END-OF-MESSAGE from "
                     "web.heise.de[2a02:2e0:3fe:1001::beef]: 5.7.1 clamav: virus found: "
                     "\"Win.Test.EICAR_HDB-1\"; from=<emailcheck-robot@ct.de> "
                     "to=<marianne@spiller.me> proto=ESMTP helo=<web.heise.de>",
                     r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kDetection);
  CHECK(r.queue_id == "1BBB9602BE");
  CHECK(r.virus == "Win.Test.EICAR_HDB-1");
  CHECK(r.client_name == "web.heise.de");
  CHECK(r.client_ip == "2a02:2e0:3fe:1001::beef");
  CHECK(r.sender == "emailcheck-robot@ct.de");
  REQUIRE(r.recipients.size() == 1);
  CHECK(r.recipients[0] == "marianne@spiller.me");
}

TEST_CASE("a milter-reject for spam records the rejection, never a detection", "[postfix]") {
  // postfix-grok-patterns test/cleanup_0004.yaml (BSD-3-Clause)
  ParsedRecord r;
  REQUIRE(parse_body("postfix/cleanup",
                     "4104E3D: milter-reject: END-OF-MESSAGE from "
                     "061238241086.static.ctinets.com[61.238.241.86]: 5.7.1 Blocked by "
                     "SpamAssassin; from=<wumt5@cchfdc.com> to=<voorzitter@example.com> "
                     "proto=ESMTP helo=<ecsolved.com>",
                     r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kAttribute);
  CHECK(r.mta_action == MtaAction::kRejected);
  CHECK(r.virus.empty());
  CHECK(r.sender == "wumt5@cchfdc.com");
  r.clear();
  // postfix-grok-patterns test/smtpd_0038.yaml (BSD-3-Clause): greylisting at RCPT
  REQUIRE(parse_body("postfix/smtpd",
                     "NOQUEUE: milter-reject: RCPT from mailrelay.example.com[8.8.8.8]: 451 "
                     "4.7.1 Greylisting in action, please come back later; "
                     "from=<support@example.com> to=<example@example.org> proto=ESMTP "
                     "helo=<mailrelay.example.com>",
                     r) == ParseStatus::kIgnored);
  CHECK(r.recipients.empty());
}

TEST_CASE("an amavis proxy-reject INFECTED is a detection with sender and recipient", "[postfix]") {
  // log-formats.md §3.2(h) [C: postfix-logwatch #TD comment]; smtpd writes "QID: " before it
  ParsedRecord r;
  REQUIRE(parse_body("postfix/smtpd",
                     "4104E3D: proxy-reject: END-OF-MESSAGE: 554 5.7.0 Reject, id=11912-03 - "
                     "INFECTED: Eicar-Test-Signature; from=<root@example.com> "
                     "to=<root@example.net> proto=ESMTP helo=<example.com>",
                     r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kDetection);
  CHECK(r.queue_id == "4104E3D");
  CHECK(r.virus == "Eicar-Test-Signature");
  CHECK(r.action == "rejected");
  CHECK(r.sender == "root@example.com");
  REQUIRE(r.recipients.size() == 1);
  CHECK(r.recipients[0] == "root@example.net");
  CHECK(r.client_ip.empty());
}

TEST_CASE("an amavis proxy-reject for spam is ignored", "[postfix]") {
  // postfix-grok-patterns test/smtpd_0022.yaml (BSD-3-Clause); "QID: " as smtpd writes it
  ParsedRecord r;
  CHECK(parse_body("postfix/smtpd",
                   "4104E3D: proxy-reject: END-OF-MESSAGE: 554 5.7.0 Reject, contact "
                   "postmaster@example.com, id=31619-02 - spam; from=<> to=<user2@example2.com> "
                   "proto=SMTP helo=<17.33.12.53>",
                   r) == ParseStatus::kIgnored);
  CHECK(r.recipients.empty());
}

// --- bounce / pickup --------------------------------------------------------------------------

TEST_CASE("bounce sender non-delivery notification names the bounce's queue id", "[postfix]") {
  // log-formats.md §3.2(d) [P: forum post "vps411"]
  ParsedRecord r;
  REQUIRE(parse("Jan 13 21:10:24 vps411 postfix/bounce[24843]: A0A669262EC: sender "
                "non-delivery notification: B8FFB9262F0",
                r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kBounce);
  CHECK(r.queue_id == "A0A669262EC");
  CHECK(r.bounce_queue_id == "B8FFB9262F0");
}

TEST_CASE("every bounce notification variant is a bounce", "[postfix]") {
  // postfix-grok-patterns test/bounce_0002..0004.yaml (BSD-3-Clause)
  ParsedRecord r;
  REQUIRE(parse_body("postfix/bounce", "65AFB8B5: sender delivery status notification: 1DF35917",
                     r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kBounce);
  CHECK(r.bounce_queue_id == "1DF35917");
  REQUIRE(parse_body("postfix/bounce", "264FE1A18: sender delay notification: 0A87A1A08", r) ==
          ParseStatus::kRecord);
  CHECK(r.bounce_queue_id == "0A87A1A08");
  REQUIRE(parse_body("postfix/bounce",
                     "482E4404AC8: postmaster non-delivery notification: 47335405A44",
                     r) == ParseStatus::kRecord);
  CHECK(r.queue_id == "482E4404AC8");
  CHECK(r.bounce_queue_id == "47335405A44");
}

TEST_CASE("pickup uid= from= is a local receive without a client", "[postfix]") {
  // postfix-grok-patterns test/pickup_0001.yaml (BSD-3-Clause)
  ParsedRecord r;
  REQUIRE(parse_body("postfix/pickup", "D2FAE20586: uid=0 from=<fail2ban>", r) ==
          ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kReceive);
  CHECK(r.queue_id == "D2FAE20586");
  CHECK(r.sender == "fail2ban");
  CHECK(r.has_sender);
  CHECK(r.client_ip.empty());
}

// --- noise ------------------------------------------------------------------------------------

TEST_CASE("NOQUEUE rejects are ignored", "[postfix]") {
  ParsedRecord r;
  // log-formats.md §3.2(g) [R:postfix-grok-patterns / fail2ban postfix]
  CHECK(parse("May  5 15:51:11 xxx postfix/postscreen[1148]: NOQUEUE: reject: RCPT from "
              "[216.245.194.173]:60591: 550 5.7.1 Service unavailable; client "
              "[216.245.194.173] blocked using rbl.example.com; from=<spammer@example.com>, "
              "to=<goodguy@example.com>, proto=ESMTP, helo=<badguy.example.com>",
              r) == ParseStatus::kIgnored);
  CHECK(r.recipients.empty());
  // postfix-grok-patterns test/smtpd_0004.yaml, smtpd_0008.yaml (IPv6) (BSD-3-Clause)
  CHECK(parse_body("postfix/smtpd",
                   "NOQUEUE: reject: RCPT from 061238241086.static.ctinets.com[61.238.241.86]: "
                   "550 5.1.1 <toernooicommissie@example.com>: Recipient address rejected: User "
                   "unknown in virtual mailbox table; from=<wumt5@cchfdc.com> "
                   "to=<toernooicommissie@example.com> proto=ESMTP helo=<ecsolved.com>",
                   r) == ParseStatus::kIgnored);
  CHECK(parse_body("postfix/smtpd",
                   "NOQUEUE: reject: RCPT from unknown[2001:980:cfb1:1:82f:f74e:a45c:3033]: 504 "
                   "5.5.2 <aap@henk>: Sender address rejected: need fully-qualified address; "
                   "from=<aap@henk> to=<user@example.com> proto=SMTP helo=<test>",
                   r) == ParseStatus::kIgnored);
  CHECK(r.client_ip.empty());
}

TEST_CASE("postscreen, connect and warning lines are ignored", "[postfix]") {
  ParsedRecord r;
  // log-formats.md §3.2(g) [R:fail2ban postfix]
  CHECK(parse("Dec 23 19:39:13 xxx postfix/postscreen[21057]: PREGREET 14 after 0.08 from "
              "[192.0.2.2]:59415: EHLO ylmf-pc\\r\\n",
              r) == ParseStatus::kIgnored);
  // postfix-grok-patterns test/postscreen_0002/0005, smtpd_0001/0002, smtp_0006,
  // cleanup_0005, smtpd_0029 (BSD-3-Clause)
  for (const auto& [program, message] : {
           std::pair{"postfix/postscreen",
                     "CONNECT from [61.238.241.86]:53024 to [89.105.204.244]:25"},
           std::pair{"postfix/postscreen", "PASS OLD [2604:8d00:0:1::3]:52237"},
           std::pair{"postfix/smtpd",
                     "connect from 061238241086.static.ctinets.com[61.238.241.86]"},
           std::pair{"postfix/smtpd",
                     "disconnect from 061238241086.static.ctinets.com[61.238.241.86]"},
           std::pair{"postfix/smtp",
                     "B99FE3D: lost connection with mx3.hotmail.com[65.55.37.72] "
                     "while receiving the initial server greeting"},
           std::pair{"postfix/cleanup",
                     "warning: dict_ldap_get_values[1]: DN "
                     "uid=mguiraud,ou=people,dc=neotion,dc=com not found, "
                     "skipping "},
           std::pair{"postfix/smtpd",
                     "warning: ec2-3-84-57-208.compute-1.amazonaws.com"
                     "[3.84.57.208]: SASL LOGIN authentication failed: "
                     "UGFzc3dvcmQ6"},
       }) {
    INFO(message);
    CHECK(parse_body(program, message, r) == ParseStatus::kIgnored);
    CHECK(r.client_ip.empty());
  }
}

// --- malformed --------------------------------------------------------------------------------

TEST_CASE("truncated postfix lines are malformed", "[postfix]") {
  ParsedRecord r;
  // each is a real line of this file cut short, as a full disk or a syslog size limit leaves it
  for (const auto& [program, message] : {
           // log-ship-elastic-postfix/mail.log
           std::pair{"postfix/cleanup", "3mPVKl0Mhjz7sXv:"},
           std::pair{"postfix/smtp",
                     "3mPVKl0Mhjz7sXv: to=<56597@continuity.delivery>, "
                     "relay=10.2.2.85[10.2.2.85]:2527, delay=0.51"},
           std::pair{"postfix/smtp", "3mPVKl0Mhjz7sXv: to="},
           std::pair{"postfix/qmgr", "3mPVKl0Mhjz7sXv: from="},
           std::pair{"postfix/qmgr", "3mPVKl0Mhjz7sXv: from=, size=2666"},
           // log-formats.md §3.2(c)
           std::pair{"postfix/smtpd", "0A618260345: client=unknown"},
           std::pair{"postfix/smtpd", "0A618260345: client=unknown[192.168.5.100"},
           std::pair{"postfix/smtpd", "0A618260345: client="},
           // log-formats.md §3.2(d)
           std::pair{"postfix/bounce", "A0A669262EC: sender non-delivery notification: "},
           std::pair{"postfix/bounce", "A0A669262EC: sender non-delivery notification: B8"},
       }) {
    INFO(message);
    CHECK(parse_body(program, message, r) == ParseStatus::kMalformed);
  }
}

TEST_CASE("a recipient address cannot forge the status of a postfix delivery", "[postfix]") {
  // The §3.2(b) [P: FHNW CyberLab] delivery with an attacker-chosen quoted local part (RFC 5321
  // allows spaces and commas inside quotes; postfix logs the address as given). The real
  // status is "sent"; the recipient must not turn it into a bounced virus detection.
  ParsedRecord r;
  REQUIRE(parse("2026-05-16T16:13:26.396352+02:00 mail postfix/smtp[2323]: 21957407BE: "
                "to=<\"x, status=bounced (Virus Evil.Fake detected)\"@cyberlab.fhnw.ch>, "
                "relay=srvMSG01.cyberlab.fhnw.ch[192.168.64.33]:25, delay=1.3, "
                "delays=0/0.01/1/0.23, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as "
                "56285601BC)",
                r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kDelivery);
  CHECK(r.status == DeliveryStatus::kSent);
  CHECK(r.virus.empty());
  CHECK(r.next_queue_id == "56285601BC");
  REQUIRE(r.recipients.size() == 1);
  CHECK(r.recipients[0] == "\"x, status=bounced (Virus Evil.Fake detected)\"@cyberlab.fhnw.ch");
}

TEST_CASE("a delivery with orig_to and conn_use fields keeps its recipient, relay and status",
          "[postfix]") {
  ParsedRecord r;
  REQUIRE(parse("Nov 28 05:40:01 relay1 postfix/smtp[2323]: 4BF5E1A2B3: to=<kato@example.ac.jp>, "
                "orig_to=<k.kato@example.ac.jp>, relay=gw1.example.ac.jp[192.0.2.25]:25, "
                "conn_use=2, delay=0.31, delays=0.01/0/0.1/0.2, dsn=2.0.0, status=sent (250 2.0.0 "
                "Ok: queued as 9C2D11F0A4)",
                r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kDelivery);
  REQUIRE(r.recipients.size() == 1);
  CHECK(r.recipients[0] == "kato@example.ac.jp");
  CHECK(r.relay_name == "gw1.example.ac.jp");
  CHECK(r.relay_ip == "192.0.2.25");
  CHECK(r.status == DeliveryStatus::kSent);
  CHECK(r.next_queue_id == "9C2D11F0A4");
}

TEST_CASE("a quoted recipient holding '>' and a status cannot end the address early", "[postfix]") {
  // As above, with a '>' inside the quotes so that a naive scan ends the address there.
  ParsedRecord r;
  REQUIRE(parse("2026-05-16T16:13:26.396352+02:00 mail postfix/smtp[2323]: 21957407BE: "
                "to=<\"a>, status=bounced (Virus Evil.Fake detected)\"@cyberlab.fhnw.ch>, "
                "relay=srvMSG01.cyberlab.fhnw.ch[192.168.64.33]:25, delay=1.3, "
                "delays=0/0.01/1/0.23, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as "
                "56285601BC)",
                r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kDelivery);
  CHECK(r.status == DeliveryStatus::kSent);
  CHECK(r.virus.empty());
  CHECK(r.relay_ip == "192.168.64.33");
  CHECK(r.next_queue_id == "56285601BC");
  REQUIRE(r.recipients.size() == 1);
  CHECK(r.recipients[0] == "\"a>, status=bounced (Virus Evil.Fake detected)\"@cyberlab.fhnw.ch");
}

TEST_CASE("a hostile sender in a milter-reject cannot replace the recipient or the client",
          "[postfix]") {
  // The §3.2(c) [P: i-MSCP/plugins README] ClamAV reject with an attacker-chosen quoted
  // MAIL FROM local part imitating the rest of the line.
  ParsedRecord r;
  REQUIRE(parse("Feb 20 03:26:16 precise postfix/cleanup[19158]: 0A618260345: milter-reject: "
                "END-OF-MESSAGE from unknown[192.168.5.100]: 5.7.1 Blocked by ClamAV - FOUND "
                "VIRUS: Eicar-Test-Signature; from=<\"x> to=<ceo@domain.tld> from "
                "trusted[10.1.0.25]: \"@evil.example> to=<nuxwin@domain.tld> proto=ESMTP "
                "helo=<[192.168.5.100]>",
                r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kDetection);
  CHECK(r.virus == "Eicar-Test-Signature");
  CHECK(r.client_ip == "192.168.5.100");
  CHECK(r.sender == "\"x> to=<ceo@domain.tld> from trusted[10.1.0.25]: \"@evil.example");
  REQUIRE(r.recipients.size() == 1);
  CHECK(r.recipients[0] == "nuxwin@domain.tld");
}

// --- the postfix-grok-patterns corpus ---------------------------------------------------------

TEST_CASE("the postfix-grok-patterns corpus parses to the fields its authors expect", "[postfix]") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(VTRACE_FIXTURES) / "logs" / "postfix-grok-patterns" / "test";
  REQUIRE(fs::is_directory(dir));
  int files = 0, records = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".yaml") continue;
    const std::string name = entry.path().stem().string();
    const YAML::Node doc = YAML::LoadFile(entry.path().string());
    const std::string data = doc["data"].as<std::string>();
    const YAML::Node results = doc["results"];
    const auto result = [&](const char* key) -> std::optional<std::string> {
      if (!results[key]) return std::nullopt;
      return results[key].as<std::string>();
    };
    // test/smtp_0001.yaml is a postfix/smtp line; the daemon is the file name's prefix
    const std::string program = "postfix/" + name.substr(0, name.find('_'));
    INFO(name << ": " << data);
    ++files;
    ParsedRecord r;
    const ParseStatus status = parse_body(program, data, r);
    CHECK(status != ParseStatus::kMalformed);
    CHECK(status != ParseStatus::kNotMine);
    if (status == ParseStatus::kRecord) ++records;
    const auto qid = result("postfix_queueid");
    if (!qid || *qid == "NOQUEUE") {
      CHECK(status == ParseStatus::kIgnored);
      continue;
    }
    if (status == ParseStatus::kRecord) CHECK(r.queue_id == *qid);
    if (const auto bounce = result("postfix_bounce_queueid")) {
      REQUIRE(status == ParseStatus::kRecord);
      CHECK(r.kind == RecordKind::kBounce);
      CHECK(r.bounce_queue_id == *bounce);
    }
    if (const auto mid = result("postfix_message-id")) {
      REQUIRE(status == ParseStatus::kRecord);
      CHECK(r.kind == RecordKind::kAttribute);
      CHECK(r.message_id == *mid);
    }
    if (const auto from = result("postfix_from")) {
      REQUIRE(status == ParseStatus::kRecord);
      CHECK(r.sender == *from);
      CHECK(r.has_sender);
    }
    const auto kv = result("postfix_keyvalue_data");
    if (kv && kv->rfind("client=", 0) == 0) {
      REQUIRE(status == ParseStatus::kRecord);
      CHECK(r.kind == RecordKind::kReceive);
      const auto open = kv->find('['), close = kv->find(']');
      CHECK(r.client_ip == kv->substr(open + 1, close - open - 1));
    }
    const auto st = result("postfix_status");
    if (st && data.find(": to=") != std::string::npos) {
      REQUIRE(status == ParseStatus::kRecord);
      CHECK(r.kind == RecordKind::kDelivery);
      const DeliveryStatus expected = *st == "sent"       ? DeliveryStatus::kSent
                                      : *st == "deferred" ? DeliveryStatus::kDeferred
                                      : *st == "bounced"  ? DeliveryStatus::kBounced
                                                          : DeliveryStatus::kUnknown;
      CHECK(r.status == expected);
      const auto reply = result("postfix_smtp_response");
      if (reply && reply->find("queued as ") != std::string::npos) {
        CHECK(r.next_queue_id == reply->substr(reply->find("queued as ") + 10));
      } else {
        CHECK(r.next_queue_id.empty());
      }
    }
  }
  CHECK(files >= 30);
  CHECK(records >= 20);
}

TEST_CASE("the log-ship-elastic-postfix trace parses line by line", "[postfix]") {
  const std::string path = std::string(VTRACE_FIXTURES) + "/logs/log-ship-elastic-postfix/mail.log";
  std::ifstream in(path);
  REQUIRE(in);
  SyslogEnvelopeDecoder decoder(2026, "UTC", 0);
  std::string text;
  int postfix_lines = 0;
  std::vector<RecordKind> kinds;
  while (std::getline(in, text)) {
    if (text.empty()) continue;
    LogLine line;
    REQUIRE(decoder.decode(text, line));
    if (!postfix().accepts_program(line.program)) continue;
    ++postfix_lines;
    ParsedRecord r;
    REQUIRE(postfix().parse(line, r) == ParseStatus::kRecord);
    check_record_views_inside(r, text, /*unknown_virus_allowed=*/true);
    CHECK(r.queue_id == "3mPVKl0Mhjz7sXv");
    kinds.push_back(r.kind);
  }
  CHECK(postfix_lines == 3);
  CHECK(kinds ==
        std::vector{RecordKind::kAttribute, RecordKind::kAttribute, RecordKind::kDelivery});
}

TEST_CASE("a queued message rejected at its end of data records the rejection",
          "[postfix][verdict]") {
  ParsedRecord r;
  // log-formats.md §3.2(g) [R:fail2ban postfix]: a queued reject without a virus
  REQUIRE(parse("Mar 11 23:27:54 server postfix-smo/submission/smtpd[22427]: 44JCRG5tYPzCqt2: "
                "reject: BDAT from signing-milter.example.com[192.0.2.109]: 550 5.5.3 <DATA>: "
                "Data command rejected: Multi-recipient bounce; from=<> to=<some@example.com> "
                "proto=ESMTP helo=<domain.tld>",
                r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kAttribute);
  CHECK(r.queue_id == "44JCRG5tYPzCqt2");
  CHECK(r.mta_action == MtaAction::kRejected);
  r.clear();
  // shared/corpus/public/fail2ban/postfix (GPL-2.0): a milter's plain SMFIS_REJECT at DATA
  REQUIRE(parse("Mar 7 02:09:33 server postfix/smtpd[27246]: 1D8CC1CA0A7F: milter-reject: DATA "
                "from 66-220-155-151.mail-mail.facebook.com[192.0.2.151]: 550 5.7.1 Command "
                "rejected; from=<security@mail.example.com> to=<hostmaster@example.com> "
                "proto=ESMTP helo=<192-0-2-151.mail-mail.example.com>",
                r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kAttribute);
  CHECK(r.mta_action == MtaAction::kRejected);
  CHECK(r.recipients == std::vector<std::string_view>{"hostmaster@example.com"});
}

TEST_CASE("a milter-hold without a virus name records the quarantine of its message",
          "[postfix][verdict]") {
  // shared/reference/mta-lab.md §A: postfix 3.7 with clamav-milter OnInfected Quarantine
  ParsedRecord r;
  REQUIRE(parse("Nov 28 05:07:17 gw postfix-gw/cleanup[27082]: 467C4A7225B: milter-hold: "
                "END-OF-MESSAGE from unknown[10.200.1.2]: milter triggers HOLD action; "
                "from=<it-support@bank.example> to=<bob@partner.example> proto=ESMTP "
                "helo=<relay.lab.test>",
                r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kAttribute);
  CHECK(r.queue_id == "467C4A7225B");
  CHECK(r.mta_action == MtaAction::kQuarantined);
  CHECK(r.virus.empty());
  CHECK(r.client_ip == "10.200.1.2");
  CHECK(r.sender == "it-support@bank.example");
  CHECK(r.recipients == std::vector<std::string_view>{"bob@partner.example"});
}

TEST_CASE("a milter-discard records the discard of its message", "[postfix][verdict]") {
  // The lab's milter-hold line (mta-lab.md §A) with the DISCARD text of postfix's
  // cleanup_milter.c ("milter-discard", "milter triggers DISCARD action"): clamav-milter
  // OnInfected Blackhole.
  ParsedRecord r;
  REQUIRE(parse("Nov 28 05:07:17 gw postfix-gw/cleanup[27082]: 467C4A7225B: milter-discard: "
                "END-OF-MESSAGE from unknown[10.200.1.2]: milter triggers DISCARD action; "
                "from=<it-support@bank.example> to=<bob@partner.example> proto=ESMTP "
                "helo=<relay.lab.test>",
                r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kAttribute);
  CHECK(r.mta_action == MtaAction::kDiscarded);
  CHECK(r.recipients == std::vector<std::string_view>{"bob@partner.example"});
}

TEST_CASE("a milter-reject naming a virus is a detection and records the rejection",
          "[postfix][verdict]") {
  // shared/reference/mta-lab.md §B: clamav-milter OnInfected Reject with RejectMsg "Virus %v ..."
  ParsedRecord r;
  REQUIRE(parse("Nov 28 05:06:49 gw postfix-gw/cleanup[26099]: 39949A7214C: milter-reject: "
                "END-OF-MESSAGE from unknown[10.200.1.2]: 5.7.1 Virus "
                "Lab.Test.EICAR-NDB.UNOFFICIAL detected by lab gateway; "
                "from=<it-support@bank.example> to=<bob@partner.example> proto=ESMTP "
                "helo=<relay.lab.test>",
                r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kDetection);
  CHECK(r.virus == "Lab.Test.EICAR-NDB.UNOFFICIAL");
  CHECK(r.mta_action == MtaAction::kRejected);
}

TEST_CASE("a temporary or one-recipient reject of a queued message is no verdict about it",
          "[postfix][verdict]") {
  ParsedRecord r;
  // postfix-grok-patterns test/smtpd_0038.yaml (BSD-3-Clause) with a queue id: greylisting
  CHECK(parse_body("postfix/cleanup",
                   "4104E3D: milter-reject: END-OF-MESSAGE from mailrelay.example.com[8.8.8.8]: "
                   "451 4.7.1 Greylisting in action, please come back later; "
                   "from=<support@example.com> to=<example@example.org> proto=ESMTP "
                   "helo=<mailrelay.example.com>",
                   r) == ParseStatus::kIgnored);
  // postfix-grok-patterns test/smtpd_0004.yaml (BSD-3-Clause) with a queue id: one recipient
  CHECK(parse_body("postfix/smtpd",
                   "4104E3D: reject: RCPT from 061238241086.static.ctinets.com[61.238.241.86]: "
                   "550 5.1.1 <toernooicommissie@example.com>: Recipient address rejected: User "
                   "unknown in virtual mailbox table; from=<wumt5@cchfdc.com> "
                   "to=<toernooicommissie@example.com> proto=ESMTP helo=<ecsolved.com>",
                   r) == ParseStatus::kIgnored);
}
