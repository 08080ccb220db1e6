// Unit tests for the ClamSMTP parser: clamsmtpd's per-connection "from=, to=, status=" line
// (log-formats.md §7, clamsmtp smtppass.c sp_add_log / clamsmtpd.c).
#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <string_view>

#include "module/input/syslog_envelope.hpp"
#include "module/parsers/log_line.hpp"
#include "module/parsers/parser_registry.hpp"
#include "support/parser_runs.hpp"
#include "support/view_checks.hpp"

using namespace vtrace;

using vtrace::testing::check_record_views_inside;
using vtrace::testing::parse_message;
using vtrace::testing::parse_syslog_line;
using vtrace::testing::points_into;

namespace {

const LogParser& clamsmtp() {
  static const std::unique_ptr<LogParser> parser = make_clamsmtp_parser();
  return *parser;
}

// A whole syslog line, through the envelope decoder.
ParseStatus parse(std::string_view text, ParsedRecord& out) {
  return parse_syslog_line(clamsmtp(), text, out);
}

// The text after "clamsmtpd: ".
ParseStatus parse_body(std::string_view message, ParsedRecord& out) {
  return parse_message(clamsmtp(), "clamsmtpd", message, out);
}

}  // namespace

TEST_CASE("clamsmtp parser is named clamsmtp and accepts clamsmtpd and clamsmtp", "[clamsmtp]") {
  CHECK(clamsmtp().name() == "clamsmtp");
  CHECK(clamsmtp().accepts_program("clamsmtpd"));
  CHECK(clamsmtp().accepts_program("clamsmtp"));
  CHECK_FALSE(clamsmtp().accepts_program("clamd"));
  CHECK_FALSE(clamsmtp().accepts_program("clamav-milter"));
  CHECK_FALSE(clamsmtp().accepts_program("postfix/smtp"));
  CHECK_FALSE(clamsmtp().accepts_program("proxsmtpd"));
}

TEST_CASE("clamsmtp VIRUS status with a detection-info suffix is a discard detection",
          "[clamsmtp]") {
  // log-formats.md §7 [P: homecomputing.fr blog (French)]
  constexpr std::string_view kLine =
      "Oct 16 21:22:55 giggles clamsmtpd: 100000: from=sanpi@homecomputing.fr, "
      "to=sanpi@[192.168.51.5], status=VIRUS:Eicar-Test-Signature("
      "f079fa479d272525a158e63decc82bcc:71)";
  ParsedRecord r;
  REQUIRE(parse(kLine, r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kDetection);
  CHECK(r.virus == "Eicar-Test-Signature");
  CHECK(r.action == "discarded");
  CHECK(r.sender == "sanpi@homecomputing.fr");
  CHECK(r.has_sender);
  REQUIRE(r.recipients.size() == 1);
  CHECK(r.recipients[0] == "sanpi@[192.168.51.5]");
  // 100000 is clamsmtpd's connection counter, not a queue id of any MTA.
  CHECK(r.queue_id.empty());
  CHECK(r.message_id.empty());
  CHECK(r.client_ip.empty());
}

TEST_CASE("clamsmtp real VIRUS lines with hex connection ids give sender, recipient and virus",
          "[clamsmtp]") {
  ParsedRecord r;
  // log-formats.md §7 [P: github.com/xv1t/notes linux/mail/clamav/readme.md]
  REQUIRE(parse("Nov 20 13:19:32 mail clamsmtpd: 1308A0: from=info@coach-us.de, "
                "to=latipov.d@rain.ru, status=VIRUS:rules_block_Zip_js.UNOFFICIAL",
                r) == ParseStatus::kRecord);
  CHECK(r.virus == "rules_block_Zip_js.UNOFFICIAL");
  CHECK(r.sender == "info@coach-us.de");
  REQUIRE(r.recipients.size() == 1);
  CHECK(r.recipients[0] == "latipov.d@rain.ru");
  CHECK(r.queue_id.empty());
  REQUIRE(parse("Nov 20 13:23:34 mail clamsmtpd: 1308D2: from=alex@alexproehl.com, "
                "to=musagotova.f@rain.ru, status=VIRUS:rules_block_Zip_js.UNOFFICIAL",
                r) == ParseStatus::kRecord);
  CHECK(r.sender == "alex@alexproehl.com");
  CHECK(r.recipients[0] == "musagotova.f@rain.ru");
  // log-formats.md §7 [P: iesgn course blog (Spanish)]
  REQUIRE(parse("Feb 15 18:15:50 vps clamsmtpd: 100007: from=avacaferreras@gmail.com, "
                "to=root@iesgn19.es, status=VIRUS:Eicar-Signature",
                r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kDetection);
  CHECK(r.virus == "Eicar-Signature");
  CHECK(r.action == "discarded");
  CHECK(r.sender == "avacaferreras@gmail.com");
  REQUIRE(r.recipients.size() == 1);
  CHECK(r.recipients[0] == "root@iesgn19.es");
  CHECK(r.queue_id.empty());
}

TEST_CASE("clamsmtp lists every to= item as a recipient", "[clamsmtp]") {
  // The §7 iesgn line with two more RCPTs, as sp_add_log writes one "to=" per RCPT.
  ParsedRecord r;
  REQUIRE(
      parse_body("100007: from=avacaferreras@gmail.com, to=root@iesgn19.es, "
                 "to=admin@iesgn19.es, to=<postmaster@iesgn19.es>, status=VIRUS:Eicar-Signature",
                 r) == ParseStatus::kRecord);
  REQUIRE(r.recipients.size() == 3);
  CHECK(r.recipients[0] == "root@iesgn19.es");
  CHECK(r.recipients[1] == "admin@iesgn19.es");
  CHECK(r.recipients[2] == "postmaster@iesgn19.es");
  CHECK(r.sender == "avacaferreras@gmail.com");
}

TEST_CASE("clamsmtp VIRUS without a name is an unknown virus and the null sender is empty",
          "[clamsmtp]") {
  ParsedRecord r;
  // clamsmtpd.c logs "status=VIRUS" when clamd's reply names no virus.
  REQUIRE(parse_body("1000A3: from=<>, to=root@iesgn19.es, status=VIRUS", r) ==
          ParseStatus::kRecord);
  CHECK(r.virus == "unknown");
  CHECK(r.action == "discarded");
  CHECK(r.sender.empty());
  CHECK(r.has_sender);
  REQUIRE(r.recipients.size() == 1);
  REQUIRE(parse_body("1000A4: from=a@example.org, to=b@example.net, status=VIRUS:", r) ==
          ParseStatus::kRecord);
  CHECK(r.virus == "unknown");
}

TEST_CASE("clamsmtp CLEAN, error and connection lines are noise", "[clamsmtp]") {
  ParsedRecord r;
  // log-formats.md §7 [P: homecomputing.fr blog (French)]
  CHECK(parse("Oct 16 21:22:55 giggles clamsmtpd: 100000: accepted connection from: 127.0.0.1",
              r) == ParseStatus::kIgnored);
  // The §7 iesgn line as clamsmtpd logs the same message when clamd finds nothing.
  CHECK(parse("Feb 15 18:15:50 vps clamsmtpd: 100007: from=avacaferreras@gmail.com, "
              "to=root@iesgn19.es, status=CLEAN",
              r) == ParseStatus::kIgnored);
  CHECK(parse_body("100008: from=a@example.org, to=b@example.net, status=CLAMAV-ERROR", r) ==
        ParseStatus::kIgnored);
  CHECK(parse_body("100008: clamav error: /tmp/clamsmtpd.Xa3d: lstat() failed. ERROR", r) ==
        ParseStatus::kIgnored);
  CHECK(parse_body("100009: unexpected end of data from client", r) == ParseStatus::kIgnored);
  CHECK(parse_body("couldn't accept a connection", r) == ParseStatus::kIgnored);
  CHECK(r.virus.empty());
  CHECK(r.recipients.empty());
}

TEST_CASE(
    "clamsmtp quoted addresses holding field markers cannot add recipients or flip the "
    "status",
    "[clamsmtp]") {
  ParsedRecord r;
  // A quoted local part with ", to=" in the sender and in a recipient.
  REQUIRE(parse_body("10000A: from=\"x, to=fake@evil.example\"@evil.example, "
                     "to=\"y, to=fake2@evil.example\"@example.net, to=real@example.net, "
                     "status=VIRUS:Win.Trojan.Agent",
                     r) == ParseStatus::kRecord);
  CHECK(r.sender == "\"x, to=fake@evil.example\"@evil.example");
  REQUIRE(r.recipients.size() == 2);
  CHECK(r.recipients[0] == "\"y, to=fake2@evil.example\"@example.net");
  CHECK(r.recipients[1] == "real@example.net");
  CHECK(r.virus == "Win.Trojan.Agent");
  // An address imitating a VIRUS status on a clean message.
  CHECK(parse_body("10000B: from=\"a, status=VIRUS:Fake\"@evil.example, to=b@example.net, "
                   "status=CLEAN",
                   r) == ParseStatus::kIgnored);
  // An address imitating a CLEAN status on an infected one.
  REQUIRE(parse_body("10000C: from=\"a, status=CLEAN\"@evil.example, to=b@example.net, "
                     "status=VIRUS:Eicar-Signature",
                     r) == ParseStatus::kRecord);
  CHECK(r.virus == "Eicar-Signature");
  CHECK(r.sender == "\"a, status=CLEAN\"@evil.example");
  // Unbalanced quotes are no MTA's address: every separator counts.
  REQUIRE(parse_body("10000D: from=\"a@evil.example, to=b@example.net, status=VIRUS:Eicar", r) ==
          ParseStatus::kRecord);
  REQUIRE(r.recipients.size() == 1);
  CHECK(r.recipients[0] == "b@example.net");
}

TEST_CASE("clamsmtp lines cut before the status or inside the detection info are malformed",
          "[clamsmtp]") {
  ParsedRecord r;
  CHECK(parse_body("100000: from=sanpi@homecomputing.fr, to=sanpi@[192.168.51.5]", r) ==
        ParseStatus::kMalformed);
  CHECK(parse_body("100000: from=sanpi@homecomputing.fr, to=sanpi@[192.168.51.5], status=", r) ==
        ParseStatus::kMalformed);
  CHECK(parse_body("100000: from=sanpi@homecomputing.fr, to=sanpi@[192.168.51.5], "
                   "status=VIRUS:Eicar-Test-Signature(f079fa479d272525a1",
                   r) == ParseStatus::kMalformed);
  CHECK(parse_body("100000: from=sanpi@homecomputing.fr, to=sanpi@[192.168.51.5], "
                   "status=VIRUS:Eicar-Test-Signature(f079fa479d272525a158e63decc82bcc:)",
                   r) == ParseStatus::kMalformed);
  CHECK(r.virus.empty());
  CHECK(r.recipients.empty());
}

TEST_CASE("clamsmtp line cut at every position is noise, malformed or names a prefix of the virus",
          "[clamsmtp]") {
  constexpr std::string_view kBody =
      "100000: from=sanpi@homecomputing.fr, to=sanpi@[192.168.51.5], "
      "status=VIRUS:Eicar-Test-Signature(f079fa479d272525a158e63decc82bcc:71)";
  const std::size_t status_end = kBody.find("status=") + 7;
  const std::size_t name_end = kBody.find('(');
  ParsedRecord r;
  for (std::size_t cut = 0; cut <= kBody.size(); ++cut) {
    const std::string text(kBody.substr(0, cut));
    INFO("cut at " << cut);
    const ParseStatus status = parse_body(text, r);
    if (cut < 13) {  // "100000: from=" not complete yet
      CHECK(status == ParseStatus::kIgnored);
    } else if (cut <= status_end) {
      CHECK(status == ParseStatus::kMalformed);
    } else if (cut < status_end + 5) {  // "V", "VI", ... are no status clamsmtpd writes
      CHECK(status == ParseStatus::kIgnored);
    } else if (cut > name_end && cut < kBody.size()) {
      CHECK(status == ParseStatus::kMalformed);
    } else {
      REQUIRE(status == ParseStatus::kRecord);
      if (cut <= status_end + 6) {
        CHECK(r.virus == "unknown");  // "VIRUS" / "VIRUS:"
      } else if (cut == kBody.size()) {
        CHECK(r.virus == "Eicar-Test-Signature");
      } else {
        CHECK(r.virus == kBody.substr(status_end + 6, cut - status_end - 6));
      }
    }
  }
}
