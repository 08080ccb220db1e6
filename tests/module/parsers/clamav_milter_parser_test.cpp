// Unit tests for the clamav-milter parser: "LogInfected Basic" and "LogInfected Full" lines
// (format from clamav-milter/clamfi.c, log-formats.md §5).
#include <catch2/catch.hpp>
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

const LogParser& clamav() {
  static const std::unique_ptr<LogParser> parser = make_clamav_milter_parser();
  return *parser;
}

ParseStatus parse(std::string_view text, ParsedRecord& out) {
  return parse_syslog_line(clamav(), text, out, UnknownVirus::kRefused);
}

// The text after "clamav-milter[pid]: " for pages that quote lines without a timestamp.
ParseStatus parse_body(std::string_view message, ParsedRecord& out) {
  return parse_message(clamav(), "clamav-milter", message, out, UnknownVirus::kRefused);
}

// tests/fixtures/scenario/gw1.log (the project's scenario; no real "LogInfected Full" line is
// public, log-formats.md §14)
constexpr std::string_view kFullLine =
    "2026-11-28T05:00:36.618019+00:00 gw1 clamav-milter[777]: Message 7F310975433 from "
    "<support@example.com> to <office@example.ac.jp> with subject 'Re: document' message-id "
    "'<vpnkafic.241.Ahms0c@example.com>' date 'Sat, 28 Nov 2026 05:00:36 +0000' infected by "
    "Win.Worm.Lovgate-3";

}  // namespace

TEST_CASE("clamav-milter parser is named clamav-milter and accepts its program names", "[clamav]") {
  CHECK(clamav().name() == "clamav-milter");
  CHECK(clamav().accepts_program("clamav-milter"));
  CHECK(clamav().accepts_program("clamav"));
  CHECK_FALSE(clamav().accepts_program("clamd"));
  CHECK_FALSE(clamav().accepts_program("clamsmtpd"));
  CHECK_FALSE(clamav().accepts_program("postfix/cleanup"));
  CHECK_FALSE(clamav().accepts_program("sendmail"));
}

TEST_CASE("a LogInfected Basic line is a detection with sender and recipient", "[clamav]") {
  // log-formats.md §3.2(c) / §5.2 [P: i-MSCP/plugins incubator/ClamAV/README.md]
  ParsedRecord r;
  REQUIRE(parse("Feb 20 03:26:16 precise clamav-milter[18878]: Message from <nuxwin@domain.tld> "
                "to <nuxwin@domain.tld> infected by Eicar-Test-Signature",
                r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kDetection);
  CHECK(r.virus == "Eicar-Test-Signature");
  CHECK(r.action == "detected");
  CHECK(r.sender == "nuxwin@domain.tld");
  CHECK(r.has_sender);
  REQUIRE(r.recipients.size() == 1);
  CHECK(r.recipients[0] == "nuxwin@domain.tld");
  CHECK(r.queue_id.empty());  // Basic logs no queue id
  CHECK(r.message_id.empty());
  CHECK(r.subject.empty());
  // log-formats.md §5.2 [P: mail-server build notes (6circles)], quoted without timestamp
  REQUIRE(parse_body("Message from <kimchen@6circles.cc> to <kimchen@6circles.cc> infected by "
                     "Eicar-Signature",
                     r) == ParseStatus::kRecord);
  CHECK(r.virus == "Eicar-Signature");
  CHECK(r.sender == "kimchen@6circles.cc");
  REQUIRE(r.recipients.size() == 1);
  CHECK(r.recipients[0] == "kimchen@6circles.cc");
}

TEST_CASE("a LogInfected Basic line with the null sender states an empty sender", "[clamav]") {
  // log-formats.md §5.1 Basic format (clamfi.c) for a bounce, with the §5.2 [P: i-MSCP]
  // recipient and virus
  ParsedRecord r;
  REQUIRE(parse_body("Message from <> to <nuxwin@domain.tld> infected by Eicar-Test-Signature",
                     r) == ParseStatus::kRecord);
  CHECK(r.sender.empty());
  CHECK(r.has_sender);
  REQUIRE(r.recipients.size() == 1);
  CHECK(r.recipients[0] == "nuxwin@domain.tld");
}

TEST_CASE("a LogInfected Full line carries queue id, subject and message-id", "[clamav]") {
  ParsedRecord r;
  REQUIRE(parse(kFullLine, r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kDetection);
  CHECK(r.queue_id == "7F310975433");
  CHECK(r.sender == "support@example.com");
  REQUIRE(r.recipients.size() == 1);
  CHECK(r.recipients[0] == "office@example.ac.jp");
  CHECK(r.subject == "Re: document");
  CHECK(r.message_id == "vpnkafic.241.Ahms0c@example.com");
  CHECK(r.virus == "Win.Worm.Lovgate-3");
  CHECK(r.action == "detected");
}

TEST_CASE("a hostile subject cannot move the message-id or the virus", "[clamav]") {
  // kFullLine with an attacker-written Subject header that imitates the rest of the line
  constexpr std::string_view kLine =
      "2026-11-28T05:00:36.618019+00:00 gw1 clamav-milter[777]: Message 7F310975433 from "
      "<support@example.com> to <office@example.ac.jp> with subject 'x' message-id "
      "'<forged@evil.example>' date 'Sat' infected by Fake' message-id "
      "'<vpnkafic.241.Ahms0c@example.com>' date 'Sat, 28 Nov 2026 05:00:36 +0000' infected by "
      "Win.Worm.Lovgate-3";
  ParsedRecord r;
  REQUIRE(parse(kLine, r) == ParseStatus::kRecord);
  CHECK(r.queue_id == "7F310975433");
  CHECK(r.virus == "Win.Worm.Lovgate-3");
  CHECK(r.message_id == "vpnkafic.241.Ahms0c@example.com");
  CHECK(r.subject == "x' message-id '<forged@evil.example>' date 'Sat' infected by Fake");
  CHECK(r.sender == "support@example.com");
  REQUIRE(r.recipients.size() == 1);
  CHECK(r.recipients[0] == "office@example.ac.jp");
}

TEST_CASE("a subject with quotes, brackets and Japanese text is kept verbatim", "[clamav]") {
  // kFullLine with a subject in UTF-8 Japanese ("請求書 <至急>") and quotes
  constexpr std::string_view kLine =
      "2026-11-28T05:00:36.618019+00:00 gw1 clamav-milter[777]: Message 7F310975433 from "
      "<support@example.com> to <office@example.ac.jp> with subject "
      "'\xe8\xab\x8b\xe6\xb1\x82\xe6\x9b\xb8 <\xe8\x87\xb3\xe6\x80\xa5> it''s \"urgent\"' "
      "message-id '<vpnkafic.241.Ahms0c@example.com>' date 'Sat, 28 Nov 2026 05:00:36 +0000' "
      "infected by Win.Worm.Lovgate-3";
  ParsedRecord r;
  REQUIRE(parse(kLine, r) == ParseStatus::kRecord);
  CHECK(r.subject ==
        "\xe8\xab\x8b\xe6\xb1\x82\xe6\x9b\xb8 <\xe8\x87\xb3\xe6\x80\xa5> it''s \"urgent\"");
  CHECK(r.message_id == "vpnkafic.241.Ahms0c@example.com");
  CHECK(r.virus == "Win.Worm.Lovgate-3");
}

TEST_CASE("UNKNOWN queue id and message-id macros are left empty", "[clamav]") {
  // kFullLine as clamfi.c writes it when the MTA exports neither {i} nor a Message-ID header
  // ("UNKNOWN" for a missing macro, log-formats.md §5.1)
  ParsedRecord r;
  REQUIRE(parse_body("Message UNKNOWN from <support@example.com> to <office@example.ac.jp> with "
                     "subject 'Re: document' message-id 'UNKNOWN' date 'Sat, 28 Nov 2026 "
                     "05:00:36 +0000' infected by Win.Worm.Lovgate-3",
                     r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kDetection);
  CHECK(r.queue_id.empty());
  CHECK(r.message_id.empty());
  CHECK(r.subject == "Re: document");
  CHECK(r.sender == "support@example.com");
  CHECK(r.virus == "Win.Worm.Lovgate-3");
}

TEST_CASE("UNKNOWN sender and recipient macros are not stated addresses", "[clamav]") {
  // clamav-milter/clamfi.c: `static const char *HDR_UNAVAIL = "UNKNOWN"; ...
  // if(!from) from = HDR_UNAVAIL; if(!to) to = HDR_UNAVAIL;` (older releases write the literal
  // "UNKNOWN"), i.e. sendmail without {mail_addr}/{rcpt_addr} in confMILTER_MACROS_EOM
  // (log-formats.md §5.1). The Basic line of §5.2 [P: i-MSCP] as it then reads. "UNKNOWN" is
  // no address: like the {i} and message-id placeholders it must leave the field unstated, or
  // the fallback key (time, from, to) looks for a sender named UNKNOWN.
  ParsedRecord r;
  REQUIRE(parse_body("Message from <UNKNOWN> to <UNKNOWN> infected by Eicar-Test-Signature", r) ==
          ParseStatus::kRecord);
  CHECK(r.virus == "Eicar-Test-Signature");
  CHECK(r.sender.empty());
  CHECK_FALSE(r.has_sender);
  CHECK(r.recipients.empty());
}

TEST_CASE("Clean message lines are no detections; only Full ones name a message", "[clamav]") {
  ParsedRecord r;
  // log-formats.md §5.2 [P: mail-server build notes (6circles)]
  CHECK(parse("Sep 26 17:11:34 smtp.6circles.cc clamav-milter[3051]: Clean message from "
              "<kimchen@6circles.cc> to <kimchen@6circles.cc>",
              r) == ParseStatus::kIgnored);
  CHECK(r.sender.empty());
  // LogClean Full (clamfi.c, log-formats.md §5.1) for the kFullLine message: a verdict
  CHECK(parse_body("Clean message 7F310975433 from <support@example.com> to "
                   "<office@example.ac.jp> with subject 'Re: document' message-id "
                   "'<vpnkafic.241.Ahms0c@example.com>' date 'Sat, 28 Nov 2026 05:00:36 +0000'",
                   r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kAttribute);
  CHECK(r.clean);
  CHECK(r.virus.empty());
  r.clear();
  // other clamav-milter messages (clamfi.c: "No reply from clamd", "Unknown reply from clamd")
  CHECK(parse_body("No reply from clamd", r) == ParseStatus::kIgnored);
  CHECK(parse_body("Unknown reply from clamd", r) == ParseStatus::kIgnored);
}

TEST_CASE("truncated clamav-milter lines are malformed", "[clamav]") {
  ParsedRecord r;
  for (const char* message : {
           // log-formats.md §5.2 [P: i-MSCP] cut short
           "Message from <nuxwin@domain.tld> to <nuxwin@domain.tld> infected by ",
           "Message from <nuxwin@domain.tld> infected by Eicar-Test-Signature",
           "Message from <nuxwin@domain.tld> to <nuxwin@dom infected by Eicar-Test-Signature",
           // kFullLine without its date, and without its message-id
           "Message 7F310975433 from <support@example.com> to <office@example.ac.jp> with "
           "subject 'Re: document' message-id '<vpnkafic.241.Ahms0c@example.com>' infected by "
           "Win.Worm.Lovgate-3",
           "Message 7F310975433 from <support@example.com> to <office@example.ac.jp> with "
           "subject 'Re: document' date 'Sat, 28 Nov 2026 05:00:36 +0000' infected by "
           "Win.Worm.Lovgate-3",
           "Message 7F310975433 infected by Win.Worm.Lovgate-3",
       }) {
    INFO(message);
    CHECK(parse_body(message, r) == ParseStatus::kMalformed);
  }
}

TEST_CASE("a LogClean Full line marks its queue id clean; a LogClean Basic line is noise",
          "[clamav][verdict]") {
  // The Basic line is real (log-formats.md, a public forum post); the Full one follows
  // clamfi.c's LogClean Full format: "Clean message %s from <%s> to <%s> with subject ...".
  ParsedRecord r;
  REQUIRE(parse("Sep 26 17:11:34 smtp.6circles.cc clamav-milter[3051]: Clean message from "
                "<kimchen@6circles.cc> to <kimchen@6circles.cc>",
                r) == ParseStatus::kIgnored);
  r.clear();
  REQUIRE(parse("Nov 28 05:10:01 gw2 clamav-milter[3051]: Clean message 6B7HNx2a012328 from "
                "<a@example.net> to <b@example.ac.jp> with subject 'hello' message-id "
                "'<c1@example.net>' date 'Sat, 28 Nov 2026 05:10:01 +0000'",
                r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kAttribute);
  CHECK(r.queue_id == "6B7HNx2a012328");
  CHECK(r.clean);
  CHECK(r.virus.empty());
}
