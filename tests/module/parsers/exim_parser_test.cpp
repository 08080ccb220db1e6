#include <catch2/catch.hpp>
#include <memory>
#include <string_view>

#include "module/parsers/log_line.hpp"
#include "module/parsers/parser_registry.hpp"
#include "support/parser_runs.hpp"
#include "support/view_checks.hpp"

using namespace vtrace;

using vtrace::testing::check_record_views_inside;
using vtrace::testing::points_into;

namespace {

ParseStatus parse_exim(std::string_view message, ParsedRecord& out) {
  static const std::unique_ptr<LogParser> parser = make_exim_parser();
  return vtrace::testing::parse_message(*parser, "exim", message, out);
}

}  // namespace

TEST_CASE("exim parser is named exim and accepts only exim program names", "[exim]") {
  const auto parser = make_exim_parser();
  CHECK(parser->name() == "exim");
  CHECK(parser->accepts_program("exim"));
  CHECK(parser->accepts_program("exim4"));
  CHECK(parser->accepts_program("exim-4.97"));
  CHECK_FALSE(parser->accepts_program("postfix/smtpd"));
  CHECK_FALSE(parser->accepts_program("sendmail"));
  CHECK_FALSE(parser->accepts_program("amavis"));
  CHECK_FALSE(parser->accepts_program("clamav-milter"));
  CHECK_FALSE(parser->accepts_program(""));
}

TEST_CASE("exim arrival with a forged HELO takes the client from the bracketed address", "[exim]") {
  // docs/log-formats.md §4.2(a) [P: LKML message by Florian Weimer, 2019-10-04]
  constexpr std::string_view kLine =
      "2019-10-04 07:09:29 1iGHiT-00007b-Na <= fw@deneb.enyo.de H=(deneb.enyo.de) "
      "[172.17.203.2] P=esmtps X=TLS1.2:ECDHE_RSA_AES_256_GCM_SHA384:256 CV=no S=72580 "
      "id=87h84pgf6h.fsf@mid.deneb.enyo.de";
  ParsedRecord r;
  REQUIRE(parse_exim(kLine, r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kReceive);
  CHECK(r.queue_id == "1iGHiT-00007b-Na");
  CHECK(r.sender == "fw@deneb.enyo.de");
  CHECK(r.has_sender);
  CHECK(r.client_ip == "172.17.203.2");
  CHECK(r.client_name.empty());  // the HELO name is unverified and not reported
  CHECK(r.message_id == "87h84pgf6h.fsf@mid.deneb.enyo.de");
  CHECK(r.size == 72580);
  CHECK(r.orig_queue_id.empty());
  CHECK(r.action.empty());
  CHECK(points_into(r.queue_id, kLine));
  CHECK(points_into(r.client_ip, kLine));
  CHECK(points_into(r.message_id, kLine));
}

TEST_CASE("exim arrival with a verified name reports the name and ignores the HELO literal",
          "[exim]") {
  // docs/log-formats.md §4.2(d) [C: Lua syslog-grammar test]
  ParsedRecord r;
  REQUIRE(parse_exim("2017-04-20 12:06:19 1d18yh-0006Kd-Ji <= cheval@cheval.fr "
                     "H=mou03-h01-176-128-239-175.dsl.sta.abo.bbox.fr ([192.168.1.95]) "
                     "[177.27.244.99] I=[192.168.34.27]:2025 P=esmtpa "
                     "A=fixed_plain:cheval@cheval.fr K S=723 "
                     "id=DADD6207-CE79-4053-9A86-621C76BB5150@cheval.fr",
                     r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kReceive);
  CHECK(r.queue_id == "1d18yh-0006Kd-Ji");
  CHECK(r.client_name == "mou03-h01-176-128-239-175.dsl.sta.abo.bbox.fr");
  CHECK(r.client_ip == "177.27.244.99");
  CHECK(r.size == 723);
  CHECK(r.message_id == "DADD6207-CE79-4053-9A86-621C76BB5150@cheval.fr");
}

TEST_CASE("exim H=(ip) [ip] and H=([ip]) [ip] forged HELO literals yield the final address",
          "[exim]") {
  // Exim spec example line (docs/log-formats.md §4.2, [D] "16ZCW1-0005MB-00 <= ...")
  // with its H= field replaced by the two forged-HELO forms the spec quotes.
  ParsedRecord r;
  REQUIRE(parse_exim("2002-10-31 08:57:53 16ZCW1-0005MB-00 <= kryten@dwarf.fict.example "
                     "H=(10.21.32.43) [192.168.8.34] U=exim P=smtp S=5678 "
                     "id=<incoming message id>",
                     r) == ParseStatus::kRecord);
  CHECK(r.client_ip == "192.168.8.34");
  CHECK(r.client_name.empty());
  CHECK(r.message_id == "incoming message id");
  CHECK(r.size == 5678);

  REQUIRE(parse_exim("2002-10-31 08:57:53 16ZCW1-0005MB-00 <= kryten@dwarf.fict.example "
                     "H=([10.21.32.43]) [192.168.8.34] U=exim P=smtp S=5678",
                     r) == ParseStatus::kRecord);
  CHECK(r.client_ip == "192.168.8.34");
  CHECK(r.client_name.empty());

  // The spec line itself, with a verified name.
  REQUIRE(parse_exim("2002-10-31 08:57:53 16ZCW1-0005MB-00 <= kryten@dwarf.fict.example "
                     "H=mailer.fict.example [192.168.123.123] U=exim P=smtp S=5678 "
                     "id=<incoming message id>",
                     r) == ParseStatus::kRecord);
  CHECK(r.client_name == "mailer.fict.example");
  CHECK(r.client_ip == "192.168.123.123");
}

TEST_CASE("exim arrival from an IPv6 client with port keeps the full address", "[exim]") {
  // docs/log-formats.md §4.2(c) [P: blog grepular.com (Mike Cardwell)]
  ParsedRecord r;
  REQUIRE(
      parse_exim("2016-02-25 20:08:55 1aZ1HS-0006iF-Rk <= "
                 "m-2vlkybcnxljidjw6iay5827f5opbillgehggdelein1h7sxg15@bounce.linkedin.com "
                 "H=mail01.pyzuka.nl [2a01:7c8:c037:6::4]:47889 "
                 "I=[2001:7b8:3:47:213:154:229:26]:25 P=esmtps "
                 "X=TLS1.2:DHE_RSA_AES_128_CBC_SHA1:128 CV=no S=39472 "
                 "id=1087531239.521310.1456427301019.JavaMail.app@ltx1-app7953.prod.linkedin.com",
                 r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kReceive);
  CHECK(r.queue_id == "1aZ1HS-0006iF-Rk");
  CHECK(r.client_ip == "2a01:7c8:c037:6::4");
  CHECK(r.client_name == "mail01.pyzuka.nl");
  CHECK(r.size == 39472);
  CHECK(r.message_id ==
        "1087531239.521310.1456427301019.JavaMail.app@ltx1-app7953.prod.linkedin.com");

  // Exim/exim test/log/1003 (GPL-2.0-or-later), one cited line: loopback IPv6, HELO only.
  REQUIRE(parse_exim("1999-03-02 09:44:33 10HmbC-000000005vi-0000 <= CALLER@myhost.test.ex "
                     "H=(myhost.test.ex) [::1] P=esmtp S=sss "
                     "id=E10HmaZ-000000005vi-0000@myhost.test.ex",
                     r) == ParseStatus::kRecord);
  CHECK(r.queue_id == "10HmbC-000000005vi-0000");
  CHECK(r.client_ip == "::1");
  CHECK(r.client_name.empty());
  CHECK(r.size == -1);  // the test harness munges S= to "sss"
  CHECK(r.message_id == "E10HmaZ-000000005vi-0000@myhost.test.ex");
}

TEST_CASE("exim 4.97 message ids of the form 6-11-4 are recognised", "[exim]") {
  // docs/log-formats.md §4.2(b) [P: security-course homework repo]
  ParsedRecord r;
  REQUIRE(parse_exim("2024-09-07 01:34:11 1smkL5-00000000e65-24eQ <= nothing@change.this "
                     "H=(v261955545.local) [43.6.92.12] P=esmtps "
                     "X=TLS1.3:ECDHE_X25519__RSA_PSS_RSAE_SHA256__AES_256_GCM:256 CV=no S=15813",
                     r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kReceive);
  CHECK(r.queue_id == "1smkL5-00000000e65-24eQ");
  CHECK(r.client_ip == "43.6.92.12");
  CHECK(r.size == 15813);
  CHECK(r.message_id.empty());

  REQUIRE(parse_exim("2024-09-07 01:34:12 1smkL5-00000000e65-24eQ Completed", r) ==
          ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kDone);
  CHECK(r.queue_id == "1smkL5-00000000e65-24eQ");
}

TEST_CASE("exim local submission has no client address", "[exim]") {
  // Exim/exim test/log/0036 (GPL-2.0-or-later), one cited line.
  ParsedRecord r;
  REQUIRE(parse_exim("1999-03-02 09:44:33 10HmaX-000000005vi-0000 <= CALLER@myhost.test.ex "
                     "U=CALLER P=local S=sss",
                     r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kReceive);
  CHECK(r.queue_id == "10HmaX-000000005vi-0000");
  CHECK(r.sender == "CALLER@myhost.test.ex");
  CHECK(r.client_ip.empty());
  CHECK(r.client_name.empty());
}

TEST_CASE("exim arrival lists the received recipients after for", "[exim]") {
  // Exim/exim test/log/0552 (GPL-2.0-or-later), one cited line.
  ParsedRecord r;
  REQUIRE(parse_exim("1999-03-02 09:44:33 10HmaY-000000005vi-0000 <= CALLER@myhost.test.ex "
                     "H=localhost (myhost.test.ex) [127.0.0.1] Ci=p1240 P=esmtp S=sss "
                     "id=E10HmaX-000000005vi-0000@myhost.test.ex for userx1@test.ex "
                     "userx2@test.ex userx3@test.ex",
                     r) == ParseStatus::kRecord);
  CHECK(r.client_name == "localhost");
  CHECK(r.client_ip == "127.0.0.1");
  REQUIRE(r.recipients.size() == 3);
  CHECK(r.recipients[0] == "userx1@test.ex");
  CHECK(r.recipients[2] == "userx3@test.ex");
}

TEST_CASE("exim bounce arrival is a receive carrying the failed message id as bounce-of",
          "[exim]") {
  // mysociety/alaveteli spec/models/mail_server_log/exim_line_spec.rb (AGPL-3.0), one cited
  // line.
  constexpr std::string_view kLine =
      "2016-04-06 12:01:08 [14935] 1anlCu-0003st-1p <= <> R=1anlCt-0003sm-LG U=Debian-exim "
      "P=local S=2934 T=\"Mail delivery failed: returning message to sender\" from <> for "
      "request-326806-hk82iwn7@localhost";
  ParsedRecord r;
  REQUIRE(parse_exim(kLine, r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kReceive);
  CHECK(r.queue_id == "1anlCu-0003st-1p");
  CHECK(r.has_sender);
  CHECK(r.sender.empty());
  CHECK(r.orig_queue_id == "1anlCt-0003sm-LG");
  CHECK(r.action == "bounce-of");
  CHECK(r.size == 2934);
  CHECK(r.client_ip.empty());
  REQUIRE(r.recipients.size() == 1);
  CHECK(r.recipients[0] == "request-326806-hk82iwn7@localhost");
}

TEST_CASE("exim delivery to the next hop takes its queue id from C=\"250 OK id=...\"", "[exim]") {
  // Exim/exim test/log/0036 (GPL-2.0-or-later), one cited line.
  ParsedRecord r;
  REQUIRE(parse_exim("1999-03-02 09:44:33 10HmaX-000000005vi-0000 => abcd@eximtesthost.test.ex "
                     "<abcd@eximtesthost> R=lookuphost T=send_to_server H=eximtesthost.test.ex "
                     "[ip4.ip4.ip4.ip4] C=\"250 OK id=10HmaY-000000005vi-0000\"",
                     r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kDelivery);
  CHECK(r.status == DeliveryStatus::kSent);
  CHECK(r.queue_id == "10HmaX-000000005vi-0000");
  REQUIRE(r.recipients.size() == 1);
  CHECK(r.recipients[0] == "abcd@eximtesthost.test.ex");
  CHECK(r.relay_name == "eximtesthost.test.ex");
  CHECK(r.relay_ip == "ip4.ip4.ip4.ip4");
  CHECK(r.next_queue_id == "10HmaY-000000005vi-0000");
}

TEST_CASE("exim additional-address lines are deliveries of the same message", "[exim]") {
  // Exim/exim test/log/0552 (GPL-2.0-or-later), one cited line.
  ParsedRecord r;
  REQUIRE(parse_exim("1999-03-02 09:44:33 10HmaX-000000005vi-0000 -> userx2@test.ex R=r1 T=t1 "
                     "H=127.0.0.1 [127.0.0.1] C=\"250 OK id=10HmaY-000000005vi-0000\"",
                     r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kDelivery);
  CHECK(r.status == DeliveryStatus::kSent);
  CHECK(r.queue_id == "10HmaX-000000005vi-0000");
  REQUIRE(r.recipients.size() == 1);
  CHECK(r.recipients[0] == "userx2@test.ex");
  CHECK(r.relay_ip == "127.0.0.1");
  CHECK(r.next_queue_id == "10HmaY-000000005vi-0000");

  // docs/log-formats.md §4.2(a) [P: LKML message by Florian Weimer, 2019-10-04]:
  // a reply without a queue id.
  REQUIRE(parse_exim("2019-10-04 07:09:37 1iGHiT-00007b-Na -> linux-arch@vger.kernel.org "
                     "R=dnslookup T=remote_smtp_ext H=vger.kernel.org [209.132.180.67] "
                     "C=\"250 2.7.1 Looks like Linux source DIFF email.. BF:<S 1>; "
                     "S1728766AbfJDHJg\"",
                     r) == ParseStatus::kRecord);
  CHECK(r.recipients[0] == "linux-arch@vger.kernel.org");
  CHECK(r.relay_name == "vger.kernel.org");
  CHECK(r.relay_ip == "209.132.180.67");
  CHECK(r.next_queue_id.empty());
}

TEST_CASE("exim delivery to an IPv6 next hop and with a port and original recipient", "[exim]") {
  // Exim/exim test/log/1003 (GPL-2.0-or-later), one cited line.
  ParsedRecord r;
  REQUIRE(parse_exim("1999-03-02 09:44:33 10HmaZ-000000005vi-0000 => user6@h3.test.ex R=client "
                     "T=send_to_server3 H=::1 [::1] C=\"250 OK id=10HmbC-000000005vi-0000\"",
                     r) == ParseStatus::kRecord);
  CHECK(r.relay_name == "::1");
  CHECK(r.relay_ip == "::1");
  CHECK(r.next_queue_id == "10HmbC-000000005vi-0000");

  // mysociety/alaveteli spec/models/mail_server_log/exim_line_spec.rb (AGPL-3.0), one cited
  // line.
  REQUIRE(parse_exim("2016-06-03 14:22:11 [31522] 1b8p3C-0008CN-Vl -> authority@example.com "
                     "<Authority@example.com> F=<request-123-abc987@example.net> "
                     "P=<request-123-abc987@example.net> R=dnslookup T=remote_smtp S=5745 "
                     "H=cluster5.eu.messagelabs.com [85.158.138.179]:25 "
                     "X=TLS1.2:DHE_RSA_AES_128_CBC_SHA1:128 CV=no DN=\"C=US,ST=California,"
                     "L=Mountain View,O=Symantec Corporation,OU=Symantec.cloud,"
                     "CN=mail169.messagelabs.com\" C=\"250 ok 1464960131 qp 11694 "
                     "server-9.tower-169.messagelabs.com!1464960131!41697448!1\" QT=1s DT=0s",
                     r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kDelivery);
  CHECK(r.queue_id == "1b8p3C-0008CN-Vl");
  REQUIRE(r.recipients.size() == 1);
  CHECK(r.recipients[0] == "authority@example.com");
  CHECK(r.relay_name == "cluster5.eu.messagelabs.com");
  CHECK(r.relay_ip == "85.158.138.179");
  CHECK(r.next_queue_id.empty());
}

TEST_CASE("exim local delivery names the local part and no relay", "[exim]") {
  // docs/log-formats.md §4.2(c) [P: blog grepular.com (Mike Cardwell)]
  ParsedRecord r;
  REQUIRE(parse_exim("2016-02-25 20:02:24 1aZ1B6-0006g0-ND => r3boot <r3boot@r3blog.nl> "
                     "R=mailbox T=dovecot S=7727 QT=4s DT=0s",
                     r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kDelivery);
  CHECK(r.status == DeliveryStatus::kSent);
  REQUIRE(r.recipients.size() == 1);
  CHECK(r.recipients[0] == "r3boot");
  CHECK(r.relay_ip.empty());
  CHECK(r.next_queue_id.empty());
}

TEST_CASE("exim deferred deliveries are deliveries with status deferred", "[exim]") {
  // Exim/exim test/log/0552 (GPL-2.0-or-later), one cited line.
  ParsedRecord r;
  REQUIRE(parse_exim("1999-03-02 09:44:33 10HmaX-000000005vi-0000 == userx1@test.ex R=r1 T=t1 "
                     "defer (dd): Connection timed out H=127.0.0.1 [127.0.0.1]: SMTP timeout "
                     "after pipelined MAIL FROM:<CALLER@myhost.test.ex> SIZE=ssss",
                     r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kDelivery);
  CHECK(r.status == DeliveryStatus::kDeferred);
  CHECK(r.queue_id == "10HmaX-000000005vi-0000");
  REQUIRE(r.recipients.size() == 1);
  CHECK(r.recipients[0] == "userx1@test.ex");
  CHECK(r.relay_ip == "127.0.0.1");
  CHECK(r.next_queue_id.empty());
}

TEST_CASE("exim failed deliveries are deliveries with status bounced", "[exim]") {
  // docs/log-formats.md §4.2(e) [R:ossec-docs exim.rst], syslog-wrapped; the
  // envelope decoder leaves the part after "exim[13428]: " as the message.
  ParsedRecord r;
  REQUIRE(parse_exim("2006-11-21 14:39:59 1GmbTK-0003UZ-00 ** xxxxxxxx@somedomain.com "
                     "R=dnslookup T=remote_smtp: SMTP error from remote mailer after RCPT "
                     "TO:<xxxxxxxx@somedomain.com>: host mail.somedomain.com [1.1.3.1]: 501 This "
                     "system is not configured to relay mail (r) to <somedomain.com> for 2.2.1.5",
                     r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kDelivery);
  CHECK(r.status == DeliveryStatus::kBounced);
  CHECK(r.queue_id == "1GmbTK-0003UZ-00");
  REQUIRE(r.recipients.size() == 1);
  CHECK(r.recipients[0] == "xxxxxxxx@somedomain.com");

  // mysociety/alaveteli spec/models/mail_server_log/exim_line_spec.rb (AGPL-3.0), one cited
  // line.
  REQUIRE(parse_exim("2016-06-03 01:21:52 [22942] 1b8cs4-0005xz-6g ** invalid@example.com "
                     "F=<do-not-reply-to-this-address@example.net>: Unrouteable address",
                     r) == ParseStatus::kRecord);
  CHECK(r.status == DeliveryStatus::kBounced);
  CHECK(r.queue_id == "1b8cs4-0005xz-6g");
  CHECK(r.recipients[0] == "invalid@example.com");

  // Constructed from the spec grammar "ID ** RCPT: text" (recipient followed by a colon).
  REQUIRE(parse_exim("2016-06-03 01:21:52 1b8cs4-0005xz-6g ** invalid@example.com: "
                     "Unrouteable address",
                     r) == ParseStatus::kRecord);
  CHECK(r.recipients[0] == "invalid@example.com");
}

TEST_CASE("exim Completed ends the message", "[exim]") {
  // docs/log-formats.md §4.2(c) [P: blog grepular.com (Mike Cardwell)]
  ParsedRecord r;
  REQUIRE(parse_exim("2016-02-25 20:02:24 1aZ1B6-0006g0-ND Completed", r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kDone);
  CHECK(r.queue_id == "1aZ1B6-0006g0-ND");
  CHECK(r.recipients.empty());
}

TEST_CASE("exim virus reject after DATA is a detection with client, sender and virus", "[exim]") {
  // fail2ban/fail2ban tests/files/logs/exim-spam (GPL-2.0), one cited line.
  constexpr std::string_view kLine =
      "2013-06-15 11:20:36 [2516] 1Unmew-0000ea-SE H=egeftech.static.otenet.gr "
      "[83.235.177.148]:32706 I=[1.2.3.4]:25 F=auguriesvbd40@google.com rejected after DATA: "
      "This message contains a virus (Sanesecurity.Junk.39934.UNOFFICIAL).";
  ParsedRecord r;
  REQUIRE(parse_exim(kLine, r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kDetection);
  CHECK(r.virus == "Sanesecurity.Junk.39934.UNOFFICIAL");
  CHECK(r.action == "rejected");
  CHECK(r.queue_id == "1Unmew-0000ea-SE");
  CHECK(r.client_ip == "83.235.177.148");
  CHECK(r.client_name == "egeftech.static.otenet.gr");
  CHECK(r.sender == "auguriesvbd40@google.com");
  CHECK(r.has_sender);
  CHECK(points_into(r.virus, kLine));
  CHECK(points_into(r.action, kLine));
}

TEST_CASE("exim virus reject variants: no message id, malware wording, bracketed sender",
          "[exim]") {
  // Variants of the fail2ban exim-spam line above (GPL-2.0): message id dropped, sender in
  // brackets, and the reject text changed to other common malware ACL wordings.
  ParsedRecord r;
  REQUIRE(parse_exim("2013-06-15 11:20:36 H=egeftech.static.otenet.gr [83.235.177.148]:32706 "
                     "I=[1.2.3.4]:25 F=<auguriesvbd40@google.com> rejected after DATA: This "
                     "message contains malware (Eicar-Test-Signature)",
                     r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kDetection);
  CHECK(r.queue_id.empty());
  CHECK(r.virus == "Eicar-Test-Signature");
  CHECK(r.sender == "auguriesvbd40@google.com");
  CHECK(r.client_ip == "83.235.177.148");

  REQUIRE(parse_exim("2013-06-15 11:20:36 [2516] 1Unmew-0000ea-SE H=(helo.example) "
                     "[83.235.177.148]:32706 F=<> rejected after DATA: This message contains a "
                     "virus or other harmful content (Win.Test.EICAR_HDB-1)",
                     r) == ParseStatus::kRecord);
  CHECK(r.virus == "Win.Test.EICAR_HDB-1");
  CHECK(r.client_name.empty());
  CHECK(r.has_sender);
  CHECK(r.sender.empty());

  REQUIRE(parse_exim("2013-06-15 11:20:36 [2516] 1Unmew-0000ea-SE H=egeftech.static.otenet.gr "
                     "[83.235.177.148]:32706 F=auguriesvbd40@google.com rejected after DATA: "
                     "VIRUS detected",
                     r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kDetection);
  CHECK(r.virus == "unknown");
}

TEST_CASE("exim rejects after DATA that name no virus are noise", "[exim]") {
  ParsedRecord r;
  // Exim/exim test/log/4006 (GPL-2.0-or-later), one cited line each.
  CHECK(parse_exim("1999-03-02 09:44:33 10HmbA-000000005vi-0000 U=CALLER "
                   "F=<CALLER@myhost.test.ex> rejected after DATA",
                   r) == ParseStatus::kIgnored);
  CHECK(parse_exim("1999-03-02 09:44:33 10HmaX-000000005vi-0000 U=CALLER "
                   "F=<CALLER@myhost.test.ex> temporarily rejected after DATA",
                   r) == ParseStatus::kIgnored);
  CHECK(parse_exim("1999-03-02 09:44:33 10HmaY-000000005vi-0000 malware acl condition: clamd "
                   "TESTSUITE/eximdir/clam_sock : unable to read from socket (Connection timed "
                   "out)",
                   r) == ParseStatus::kIgnored);
  // fail2ban/fail2ban tests/files/logs/exim-spam (GPL-2.0), one cited line.
  CHECK(parse_exim("2013-06-09 10:21:28 [14127] 1UlasQ-0003fr-45 F=mcorporation4@aol.com "
                   "H=(mail38.fssprus.ru) [46.254.240.82]:43671 I=[1.2.3.4]:25 P=esmtp rejected "
                   "by local_scan(): Rejected",
                   r) == ParseStatus::kIgnored);
  CHECK(r.queue_id.empty());
}

TEST_CASE("exim noise lines are ignored", "[exim]") {
  ParsedRecord r;
  // Exim/exim test/log/0036 (GPL-2.0-or-later), one cited line.
  CHECK(parse_exim("1999-03-02 09:44:33 Start queue run: pid=p1234 -qf", r) ==
        ParseStatus::kIgnored);
  // Exim spec example with a time zone (docs/log-formats.md §1.7 [D]).
  CHECK(parse_exim("2003-04-25 11:17:07 +0100 Start queue run: pid=12762", r) ==
        ParseStatus::kIgnored);
  // docs/log-formats.md §4.2(b) [P: security-course homework repo]
  CHECK(parse_exim("2024-09-07 01:34:11 1smkL5-00000000e65-24eQ H=mx.yandex.ru [2a02:6b8::311] "
                   "Network is unreachable",
                   r) == ParseStatus::kIgnored);
  // fail2ban/fail2ban tests/files/logs/exim (GPL-2.0), one cited line each.
  CHECK(parse_exim("2013-01-04 17:03:46 login authenticator failed for "
                   "rrcs-24-106-174-74.se.biz.rr.com ([192.168.2.33]) [24.106.174.74]: 535 "
                   "Incorrect authentication data (set_id=brian)",
                   r) == ParseStatus::kIgnored);
  CHECK(parse_exim("2016-03-21 04:07:49 [25874] 1ahr79-0006jK-G9 SMTP connection from "
                   "(voyeur.webair.com) [174.137.147.204]:44884 I=[172.89.0.6]:25 closed by "
                   "DROP in ACL",
                   r) == ParseStatus::kIgnored);
  // syslog-ng form: only "[pid]" before the text.
  CHECK(parse_exim("[8001] no MAIL in SMTP connection from (User) [192.0.2.29]:20042 "
                   "I=[192.0.2.1]:25 Ci=8001 D=0.349s C=EHLO,AUTH,QUIT",
                   r) == ParseStatus::kIgnored);
  // systemd-journal form: the message is what follows "exim[3751842]: ".
  CHECK(parse_exim("2021-07-17 23:20:49 plain_server authenticator failed for ([192.0.2.17]) "
                   "[192.0.2.27]: 535 Incorrect authentication data",
                   r) == ParseStatus::kIgnored);
  // fail2ban/fail2ban tests/files/logs/exim-spam (GPL-2.0), one cited line.
  CHECK(parse_exim("2013-12-30 00:24:50 1VxPit-000MMd-U4 SA: Action: flagged as Spam but "
                   "accepted: score=8.2 required=5.0 (scanned in 6/6 secs | Message-Id: "
                   "008701cf04ed_24497d70_6cdc7850_@xxx.xx). From <spammer@xxx.xx> "
                   "(host=ip-4.net-3-2-1.rev.xxx.xx [178.123.108.196]) for trap@example.com",
                   r) == ParseStatus::kIgnored);
  // Exim/exim test/log/0552 (GPL-2.0-or-later), one cited line.
  CHECK(parse_exim("1999-03-02 09:44:33 10HmaX-000000005vi-0000 Accept non-SMTP", r) ==
        ParseStatus::kIgnored);
  // Suppressed delivery (-N), from the spec grammar.
  CHECK(parse_exim("2015-10-30 19:24:16 [17817] 1ZsFHb-0004dK-SM *> authority@example.com "
                   "R=dnslookup T=remote_smtp",
                   r) == ParseStatus::kIgnored);
  CHECK(r.queue_id.empty());
  CHECK(r.recipients.empty());
}

TEST_CASE("exim timestamps with zone, fraction and pid are skipped before the id", "[exim]") {
  // §4.2(a) LKML line (docs/log-formats.md) with the optional zone, millisecond
  // and pid parts of the exim main-log prefix added.
  ParsedRecord r;
  REQUIRE(parse_exim("2019-10-04 07:09:37.123 +0200 [4711] 1iGHiT-00007b-Na Completed", r) ==
          ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kDone);
  CHECK(r.queue_id == "1iGHiT-00007b-Na");
  REQUIRE(parse_exim("2019-10-04 07:09:37 -0500 [4711:2] 1iGHiT-00007b-Na Completed", r) ==
          ParseStatus::kRecord);
  CHECK(r.queue_id == "1iGHiT-00007b-Na");
  // Without the exim timestamp at all (syslog_timestamp = false).
  REQUIRE(parse_exim("1iGHiT-00007b-Na Completed", r) == ParseStatus::kRecord);
  CHECK(r.queue_id == "1iGHiT-00007b-Na");
}

TEST_CASE("exim truncated lines are malformed", "[exim]") {
  ParsedRecord r;
  // Cut-off versions of the §4.2(a) LKML lines (docs/log-formats.md).
  CHECK(parse_exim("2019-10-04 07:09:29 1iGHiT-00007b-Na <=", r) == ParseStatus::kMalformed);
  CHECK(parse_exim("2019-10-04 07:09:29 1iGHiT-00007b-Na <= fw@deneb.enyo.de", r) ==
        ParseStatus::kMalformed);
  CHECK(parse_exim("2019-10-04 07:09:29 1iGHiT-00007b-Na <= fw@deneb.enyo.de "
                   "H=(deneb.enyo.de) [172.17.20",
                   r) == ParseStatus::kMalformed);
  CHECK(parse_exim("2019-10-04 07:09:37 1iGHiT-00007b-Na => ", r) == ParseStatus::kMalformed);
  CHECK(parse_exim("2019-10-04 07:09:37 1iGHiT-00007b-Na ->", r) == ParseStatus::kMalformed);
  CHECK(parse_exim("2019-10-04 07:09:37 1iGHiT-00007b-Na", r) == ParseStatus::kMalformed);
  CHECK(parse_exim("2019-10-04 07:0", r) == ParseStatus::kMalformed);
  CHECK(parse_exim("2013-06-15 11:20:36 [2516] 1Unmew-0000ea-SE H=egeftech.static.otenet.gr "
                   "[83.235.177.148]:32706 F=auguriesvbd40@google.com rejected after DATA: This "
                   "message contains a virus (Sanesecurity.Junk",
                   r) == ParseStatus::kMalformed);
  CHECK(r.queue_id.empty());
  CHECK(r.virus.empty());
}
