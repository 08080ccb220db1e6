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

ParseStatus parse_amavis(std::string_view message, ParsedRecord& out) {
  static const std::unique_ptr<LogParser> parser = make_amavis_parser();
  return vtrace::testing::parse_message(*parser, "amavis", message, out);
}

}  // namespace

TEST_CASE("amavis parser is named amavis and accepts amavis program names", "[amavis]") {
  const auto parser = make_amavis_parser();
  CHECK(parser->name() == "amavis");
  CHECK(parser->accepts_program("amavis"));
  CHECK(parser->accepts_program("amavisd"));
  CHECK(parser->accepts_program("amavisd-new"));
  CHECK(parser->accepts_program("amavis/foo"));
  CHECK(parser->accepts_program("/usr/sbin/amavisd-new"));
  CHECK_FALSE(parser->accepts_program("postfix/smtpd"));
  CHECK_FALSE(parser->accepts_program("postfix/amavis"));
  CHECK_FALSE(parser->accepts_program("exim4"));
  CHECK_FALSE(parser->accepts_program("amavisd-milter"));
  CHECK_FALSE(parser->accepts_program("clamav-milter"));
}

TEST_CASE("amavis Blocked INFECTED with client port and Queue-ID is a detection", "[amavis]") {
  // docs/log-formats.md §6.2 [P: TUM PSA team-02 documentation]
  constexpr std::string_view kLine =
      "(48018-02) Blocked INFECTED (Eicar-Signature) {DiscardedInbound,Quarantined}, "
      "[192.168.2.2]:47128 <root@vmpsateam02-02.psa-team02.cit.tum.de> -> "
      "<robyn.koelle@psa-team02.cit.tum.de>, quarantine: S/virus-SAW35wmwyoTa, Queue-ID: "
      "A1CD1A5ABD, Message-ID: <1725667188.573865.13440.nullmailer@vmpsateam02-02>, mail_id: "
      "SAW35wmwyoTa, Hits: -, size: 1226, 165 ms";
  ParsedRecord r;
  REQUIRE(parse_amavis(kLine, r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kDetection);
  CHECK(r.virus == "Eicar-Signature");
  CHECK(r.action == "blocked");
  CHECK(r.client_ip == "192.168.2.2");
  CHECK(r.client_name.empty());
  CHECK(r.sender == "root@vmpsateam02-02.psa-team02.cit.tum.de");
  CHECK(r.has_sender);
  REQUIRE(r.recipients.size() == 1);
  CHECK(r.recipients[0] == "robyn.koelle@psa-team02.cit.tum.de");
  CHECK(r.queue_id == "A1CD1A5ABD");
  CHECK(r.message_id == "1725667188.573865.13440.nullmailer@vmpsateam02-02");
  CHECK(r.size == 1226);
  CHECK(r.next_queue_id.empty());
  CHECK(points_into(r.virus, kLine));
  CHECK(points_into(r.queue_id, kLine));
  CHECK(points_into(r.recipients[0], kLine));
}

TEST_CASE("amavis policy banks and LOCAL precede the client, the originator is not used",
          "[amavis]") {
  // docs/log-formats.md §6.2 [P: Gentoo-wiki-derived "virtual mail server" guide]
  ParsedRecord r;
  REQUIRE(parse_amavis("(07554-01) Blocked INFECTED (Eicar-Test-Signature) "
                       "{DiscardedInternal,Quarantined}, MYNETS LOCAL [10.0.0.2]:41144 "
                       "[10.0.0.2] <root@test.example.net> -> <testuser@example.com>, "
                       "quarantine: virus-WYHuLpwdzPVr, Queue-ID: 7FC7B22DF6, mail_id: "
                       "WYHuLpwdzPVr, Hits: -, size: 407, 166 ms",
                       r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kDetection);
  CHECK(r.virus == "Eicar-Test-Signature");
  CHECK(r.client_ip == "10.0.0.2");
  CHECK(r.queue_id == "7FC7B22DF6");
  CHECK(r.sender == "root@test.example.net");
  CHECK(r.recipients.size() == 1);
  CHECK(r.message_id.empty());
  CHECK(r.size == 407);

  // [C: logwatch amavis-logwatch #TD comment] via §6.2: client and originator differ.
  REQUIRE(parse_amavis("Blocked INFECTED (HTML.Phishing.Bank-43), [198.168.0.1] [10.0.0.1] "
                       "<bogus@example.com> -> <to@sample.net>, quarantine: virus-SCwJcs, "
                       "Message-ID: <509@acm.org>, mail_id: SCwJcs, Hits: -, size: 4134, 3721 ms",
                       r) == ParseStatus::kRecord);
  CHECK(r.virus == "HTML.Phishing.Bank-43");
  CHECK(r.client_ip == "198.168.0.1");
  CHECK(r.message_id == "509@acm.org");
  CHECK(r.queue_id.empty());
}

TEST_CASE("amavis 2.6 line without Queue-ID and port still gives the detection facts", "[amavis]") {
  // docs/log-formats.md §6.2 [P: EasyEngine/rtCamp-style mail setup guide]
  ParsedRecord r;
  REQUIRE(parse_amavis("(1576510-03) Blocked INFECTED (Eicar-Test-Signature), [192.241.254.103] "
                       "[192.241.254.103] <root@test.rtcamp.com> -> <admin@example.com>, "
                       "quarantine: S/virus-SA93AIGegqCY, Message-ID: "
                       "<20131012145923.GA29765@example.com>, mail_id: SA93AIGegqCY, Hits: -, "
                       "size: 976, 57 ms",
                       r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kDetection);
  CHECK(r.virus == "Eicar-Test-Signature");
  CHECK(r.action == "blocked");
  CHECK(r.client_ip == "192.241.254.103");
  CHECK(r.sender == "root@test.rtcamp.com");
  CHECK(r.recipients[0] == "admin@example.com");
  CHECK(r.queue_id.empty());
  CHECK(r.message_id == "20131012145923.GA29765@example.com");
  CHECK(r.size == 976);
}

TEST_CASE("amavis 2.2 line with an IPv6 client and capitalised Size", "[amavis]") {
  // docs/log-formats.md §6.2 [C: perl log-parser comment, amavis 2.2-era]
  ParsedRecord r;
  REQUIRE(parse_amavis("(01088-09) Blocked INFECTED (EICAR-Test-File), [IPv6:3ffe::1] [3ffe::1] "
                       "<sender@domain.example> -> <account@domain.example>, quarantine: "
                       "virus-20050228-142656-01088-09, Message-ID: "
                       "<20050228132655.GA7155@host.domain.example>, Hits: -, Size: 1147, 1180",
                       r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kDetection);
  CHECK(r.virus == "EICAR-Test-File");
  CHECK(r.client_ip == "3ffe::1");
  CHECK(r.sender == "sender@domain.example");
  CHECK(r.recipients[0] == "account@domain.example");
  CHECK(r.message_id == "20050228132655.GA7155@host.domain.example");
  CHECK(r.size == 1147);
}

TEST_CASE("amavis pre-2.4 INFECTED line without verb or client lists every recipient", "[amavis]") {
  // docs/log-formats.md §6.2 [C: logwatch amavis-logwatch #TD comment]
  ParsedRecord r;
  REQUIRE(parse_amavis("INFECTED (Exploit.HTML.IFrame, Worm.SomeFool.P), <from@sample.net> -> "
                       "<to@example.com>,<to2@example.com>, quarantine qiO2ZG4K, Message-ID: "
                       "<200608.5A5@mail.example.com>, Hits: -",
                       r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kDetection);
  CHECK(r.virus == "Exploit.HTML.IFrame");
  CHECK(r.action == "blocked");
  CHECK(r.client_ip.empty());
  CHECK(r.sender == "from@sample.net");
  REQUIRE(r.recipients.size() == 2);
  CHECK(r.recipients[0] == "to@example.com");
  CHECK(r.recipients[1] == "to2@example.com");
  CHECK(r.message_id == "200608.5A5@mail.example.com");
  CHECK(r.size == -1);
}

TEST_CASE("amavis Passed INFECTED is a detection with action passed and the re-injected id",
          "[amavis]") {
  // The §6.2 tudv Passed CLEAN line (docs/log-formats.md) with the verdict changed
  // to INFECTED, as amavis logs it when $final_virus_destiny is D_PASS.
  ParsedRecord r;
  REQUIRE(parse_amavis("(04082-01) Passed INFECTED (Eicar-Signature) {RelayedInbound}, "
                       "[209.85.222.51]:39854 [209.85.222.51] <idinhtu1989@gmail.com> -> "
                       "<admin@tudv3.tudv.xyz>, Queue-ID: ECE98E6BE1, mail_id: fbSD2R7xnBNZ, "
                       "Hits: -, size: 3463, queued_as: B51DBE6BE7, 764 ms",
                       r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kDetection);
  CHECK(r.action == "passed");
  CHECK(r.virus == "Eicar-Signature");
  CHECK(r.queue_id == "ECE98E6BE1");
  CHECK(r.next_queue_id == "B51DBE6BE7");
  CHECK(r.client_ip == "209.85.222.51");
}

TEST_CASE("amavis Passed CLEAN with queued_as links the filtered message to its re-injection",
          "[amavis]") {
  // docs/log-formats.md §6.2 [P: Zimbra/postfix notes (tudv)]
  constexpr std::string_view kLine =
      "(04082-01) Passed CLEAN {RelayedInbound}, [209.85.222.51]:39854 [209.85.222.51] "
      "<idinhtu1989@gmail.com> -> <admin@tudv3.tudv.xyz>, Queue-ID: ECE98E6BE1, Message-ID: "
      "<CAMzzhF9GpAMR6iTmZ-hzC6RriDQ=m1mao8zHY06Eky-_iry-=A@mail.gmail.com>, mail_id: "
      "fbSD2R7xnBNZ, Hits: -0.549, size: 3463, queued_as: B51DBE6BE7, "
      "dkim_sd=20210112:gmail.com, 764 ms";
  ParsedRecord r;
  REQUIRE(parse_amavis(kLine, r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kDelivery);
  CHECK(r.status == DeliveryStatus::kSent);
  CHECK(r.queue_id == "ECE98E6BE1");
  CHECK(r.next_queue_id == "B51DBE6BE7");
  REQUIRE(r.recipients.size() == 1);
  CHECK(r.recipients[0] == "admin@tudv3.tudv.xyz");
  CHECK(r.virus.empty());
  CHECK(r.message_id == "CAMzzhF9GpAMR6iTmZ-hzC6RriDQ=m1mao8zHY06Eky-_iry-=A@mail.gmail.com");
  CHECK(r.size == 3463);
  CHECK(points_into(r.next_queue_id, kLine));

  // Several re-injected ids: the first one is the link.
  REQUIRE(parse_amavis("(04082-01) Passed SPAM {RelayedTaggedInbound}, [209.85.222.51]:39854 "
                       "[209.85.222.51] <idinhtu1989@gmail.com> -> <admin@tudv3.tudv.xyz>,"
                       "<root@tudv3.tudv.xyz>, Queue-ID: ECE98E6BE1, mail_id: fbSD2R7xnBNZ, "
                       "Hits: 7.1, size: 3463, queued_as: B51DBE6BE7/C61DBE6BE8, 764 ms",
                       r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kDelivery);
  CHECK(r.next_queue_id == "B51DBE6BE7");
  CHECK(r.recipients.size() == 2);
}

TEST_CASE("amavis Passed lines without Queue-ID or queued_as are noise", "[amavis]") {
  ParsedRecord r;
  // docs/log-formats.md §6.2 [R:ossec-docs amavis.rst]: queued_as, no Queue-ID.
  CHECK(parse_amavis("(22838-08) Passed CLEAN, [87.28.227.29] [145.136.142.65] "
                     "<removes@espci.fr> -> <USERNAME@FQHOSTNAME.org>, Message-ID: "
                     "<000801c73ae6$67f161b0$00000000@caritasamm>, mail_id: yT709FGcUKJa, Hits: "
                     "5.357, queued_as: 097491CC2E, 11031 ms",
                     r) == ParseStatus::kIgnored);
  // docs/log-formats.md §6.2 [C: logwatch amavis-logwatch #TD comment]: three
  // recipients, no queued_as.
  CHECK(parse_amavis("Passed BAD-HEADER, ORIGINATING/MYNETS LOCAL [10.0.0.1] [10.0.0.1] "
                     "<from@sample.net> -> <to1@sample.net>,<to2@sample.net>,<to3@example.com>, "
                     "quarantine: virus-SCwJcs, Message-ID: <df@acm.org>, mail_id: SCwJcs, Hits: "
                     "-, size: 4134, 3721 ms",
                     r) == ParseStatus::kIgnored);
  CHECK(r.recipients.empty());
}

TEST_CASE("amavis Blocked non-virus verdicts and other amavis lines are noise", "[amavis]") {
  ParsedRecord r;
  // Constructed from the §6.1 grammar (docs/log-formats.md).
  CHECK(parse_amavis("(48018-03) Blocked SPAM {DiscardedInbound,Quarantined}, "
                     "[192.168.2.2]:47130 <spam@example.net> -> <robyn@example.org>, Queue-ID: "
                     "B2CD1A5ABD, mail_id: XAW35wmwyoTb, Hits: 12.1, size: 5120, 300 ms",
                     r) == ParseStatus::kIgnored);
  CHECK(parse_amavis("(48018-04) Blocked BANNED (multipart/mixed | application/zip,.zip,a.zip | "
                     ".exe,a.exe) {DiscardedInbound,Quarantined}, [192.168.2.2]:47131 "
                     "<x@example.net> -> <robyn@example.org>, Queue-ID: C3CD1A5ABD, Hits: -, "
                     "size: 9000, 120 ms",
                     r) == ParseStatus::kIgnored);
  CHECK(parse_amavis("(12345-01) Checking: fbSD2R7xnBNZ [209.85.222.51] <a@example.net> -> "
                     "<b@example.org>",
                     r) == ParseStatus::kIgnored);
  CHECK(parse_amavis("(12345-01) TIMING [total 764 ms] - SMTP greeting: 5 (1%)1, SMTP EHLO: 1 "
                     "(0%)1",
                     r) == ParseStatus::kIgnored);
  CHECK(parse_amavis("(!!)TROUBLE in check_mail: parts_decode_ext FAILED", r) ==
        ParseStatus::kIgnored);
  CHECK(parse_amavis("starting. /usr/sbin/amavisd at mail.example.org amavisd-new-2.11.0", r) ==
        ParseStatus::kIgnored);
  CHECK(r.virus.empty());
}

TEST_CASE("amavis truncated INFECTED lines are malformed", "[amavis]") {
  ParsedRecord r;
  // Cut-off versions of the §6.2 TUM line (docs/log-formats.md).
  CHECK(parse_amavis("(48018-02) Blocked INFECTED (Eicar-Sig", r) == ParseStatus::kMalformed);
  CHECK(parse_amavis("(48018-02) Blocked INFECTED", r) == ParseStatus::kMalformed);
  CHECK(parse_amavis("(48018-02) Blocked INFECTED (Eicar-Signature) {DiscardedInbound,Quar", r) ==
        ParseStatus::kMalformed);
  CHECK(parse_amavis("(48018-02) Blocked INFECTED (Eicar-Signature) {DiscardedInbound,"
                     "Quarantined}, [192.168.2.2]:47128 <root@vmpsateam02-02.psa-team02.cit",
                     r) == ParseStatus::kMalformed);
  CHECK(parse_amavis("(48018-02) Blocked INFECTED (Eicar-Signature) {DiscardedInbound,"
                     "Quarantined}, [192.168.2.2]:47128 <root@vmpsateam02-02.psa-team02.cit.tum."
                     "de> -> <robyn.koelle@psa-te",
                     r) == ParseStatus::kMalformed);
  CHECK(parse_amavis("(48018-02) Blocked INFECTED () {DiscardedInbound}, [192.168.2.2]:47128 "
                     "<a@b.example> -> <c@d.example>, Hits: -, size: 1, 1 ms",
                     r) == ParseStatus::kMalformed);
  CHECK(r.recipients.empty());
  CHECK(r.virus.empty());
}
