// Unit tests for the rspamd parser: the per-message task-log line "rspamd_task_write_log"
// (log-formats.md §8, rspamd src/libserver/task.c).
#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <string_view>

#include "module/parsers/log_line.hpp"
#include "module/parsers/parser_registry.hpp"
#include "support/parser_runs.hpp"
#include "support/view_checks.hpp"

using namespace vtrace;

using vtrace::testing::check_record_views_inside;
using vtrace::testing::parse_message;
using vtrace::testing::points_into;
using vtrace::testing::UnknownVirus;

namespace {

const LogParser& rspamd() {
  static const std::unique_ptr<LogParser> parser = make_rspamd_parser();
  return *parser;
}

// `message` is the text after "rspamd[pid]: " (or a whole line of rspamd's own log file).
ParseStatus parse(std::string_view message, ParsedRecord& out) {
  return parse_message(rspamd(), "rspamd", message, out, UnknownVirus::kRefused);
}

// For built lines: keeps the text alive after the call, as the record's views point into it.
ParseStatus parse_kept(std::string text, ParsedRecord& out) {
  static std::string kept;
  kept = std::move(text);
  return parse(kept, out);
}

// log-formats.md §8 [P: spiller.me blog "Erweiterte ClamAV-Signaturen mit fangfrisch"]: the
// task-log line as rspamd wrote it to its own log, after the author's "<timestamp>" (dropped
// here) and with the reference's "…" elision of ~20 unrelated symbols removed from the list.
constexpr std::string_view kSpillerTaskLog =
    "#2161(rspamd_proxy) <adfb84>; proxy; rspamd_task_write_log: id: "
    "<E1pwgnI-00DQGx-NA.octo03@web.heise.de>, qid: <1BBB9602BE>, ip: 2a02:2e0:3fe:1001::beef, "
    "from: <emailcheck-robot@ct.de>, (default: T (reject): [7.31/12.00] "
    "[CLAM_VIRUS(4.00){Win.Test.EICAR_HDB-1;},MIME_BAD_EXTENSION(4.00){com;}]), len: 2061, "
    "time: 43.627ms, dns req: 7, digest: <be3242c8ff90cdcad4cc1004a224d530>, rcpts: "
    "<marianne@spiller.me>, mime_rcpts: <marianne@spiller.me>, forced: reject \"clamav: virus "
    "found: \"Win.Test.EICAR_HDB-1\"\"; score=nan (set by clamav)";

// A task-log line in the §8 template with the given id/qid head, result block and tail.
std::string task_log(std::string_view head, std::string_view block, std::string_view tail) {
  return "<0c9e1a>; task; rspamd_task_write_log: " + std::string(head) + ", " + std::string(block) +
         ", len: 3120, time: 118.334ms, dns req: 12, digest: " +
         "<0f3c2a9be04b5c1a6d7e8f9012345678>" + std::string(tail);
}

void check_spiller_detection(const ParsedRecord& r) {
  CHECK(r.kind == RecordKind::kDetection);
  CHECK(r.virus == "Win.Test.EICAR_HDB-1");
  CHECK(r.action == "rejected");
  CHECK(r.queue_id == "1BBB9602BE");
  CHECK(r.message_id == "E1pwgnI-00DQGx-NA.octo03@web.heise.de");
  CHECK(r.client_ip == "2a02:2e0:3fe:1001::beef");
  CHECK(r.client_name.empty());
  CHECK(r.sender == "emailcheck-robot@ct.de");
  CHECK(r.has_sender);
  REQUIRE(r.recipients.size() == 1);
  CHECK(r.recipients[0] == "marianne@spiller.me");
  CHECK(r.next_queue_id.empty());
}

}  // namespace

TEST_CASE("rspamd parser is named rspamd and accepts the rspamd program names", "[rspamd]") {
  CHECK(rspamd().name() == "rspamd");
  CHECK(rspamd().accepts_program("rspamd"));
  CHECK(rspamd().accepts_program("rspamd_proxy"));
  CHECK_FALSE(rspamd().accepts_program("postfix/cleanup"));
  CHECK_FALSE(rspamd().accepts_program("clamsmtpd"));
  CHECK_FALSE(rspamd().accepts_program("amavis"));
  CHECK_FALSE(rspamd().accepts_program("rmilter-rspamd"));
}

TEST_CASE("rspamd task log with CLAM_VIRUS is a reject detection with every correlation key",
          "[rspamd]") {
  ParsedRecord r;
  REQUIRE(parse(kSpillerTaskLog, r) == ParseStatus::kRecord);
  check_spiller_detection(r);
}

TEST_CASE("rspamd task log is found behind a file-log timestamp and without the syslog prefix",
          "[rspamd]") {
  const std::string body(kSpillerTaskLog.substr(kSpillerTaskLog.find("rspamd_task_write_log")));
  ParsedRecord r;
  // rspamd's own log file: "YYYY-MM-DD HH:MM:SS #pid(process) <task>; module; ..."
  const std::string file_line = "2023-06-07 10:15:30 " + std::string(kSpillerTaskLog);
  REQUIRE(parse(file_line, r) == ParseStatus::kRecord);
  check_spiller_detection(r);
  const std::string file_line_usec = "2023-06-07 10:15:30.412 " + std::string(kSpillerTaskLog);
  REQUIRE(parse(file_line_usec, r) == ParseStatus::kRecord);
  check_spiller_detection(r);
  // syslog without "#pid(process)", and with nothing but the function name.
  const std::string tagged = "<adfb84>; proxy; " + body;
  REQUIRE(parse(tagged, r) == ParseStatus::kRecord);
  check_spiller_detection(r);
  REQUIRE(parse(body, r) == ParseStatus::kRecord);
  check_spiller_detection(r);
}

TEST_CASE("rspamd lines other than the task log are noise", "[rspamd]") {
  ParsedRecord r;
  // The companions of the task log, log-formats.md §8 [P: spiller.me blog].
  CHECK(parse("#2161(rspamd_proxy) <adfb84>; proxy; rspamd_message_parse: loaded message; id: "
              "<E1pwgnI-00DQGx-NA.octo03@web.heise.de>; queue-id: <1BBB9602BE>; size: 2061; "
              "checksum: <be3242c8ff90cdcad4cc1004a224d530>",
              r) == ParseStatus::kIgnored);
  CHECK(parse("#2161(rspamd_proxy) <adfb84>; lua; common.lua:110: clamav: result - virusfound: "
              "\"Win.Test.EICAR_HDB-1 - score: 1\"",
              r) == ParseStatus::kIgnored);
  CHECK(parse("#2161(rspamd_proxy) <adfb84>; proxy; rspamd_add_passthrough_result: "
              "<E1pwgnI-00DQGx-NA.octo03@web.heise.de>: set pre-result to 'reject' (no score): "
              "'clamav: virus found: \"Win.Test.EICAR_HDB-1\"' from clamav(1)",
              r) == ParseStatus::kIgnored);
  // rspamd logging documentation (rspamd.com/doc/configuration/logging.html).
  CHECK(parse("2015-09-02 16:41:59 #45015(normal) <ed2abb>; task; accept_socket: accepted "
              "connection from ::1 port 52895",
              r) == ParseStatus::kIgnored);
  // A lua line quoting a task log is not one: the function name must follow the prefix.
  CHECK(parse("<adfb84>; lua; my_plugin.lua:12: seen rspamd_task_write_log: id: <x@y>, qid: "
              "<ABCDE12345>, (default: T (reject): [9.00/15.00] [CLAM_VIRUS(9.00){Fake;}])",
              r) == ParseStatus::kIgnored);
  CHECK(r.virus.empty());
  CHECK(r.recipients.empty());
}

TEST_CASE("rspamd task logs without an antivirus verdict are noise", "[rspamd]") {
  constexpr std::string_view kHead =
      "id: <20230607101530.1@mx.example.org>, qid: <4QbXyZ1n2Mz9sW>"
      ", ip: 192.0.2.25, from: <alice@example.org>";
  constexpr std::string_view kTail = ", rcpts: <bob@example.net>, mime_rcpts: <bob@example.net>";
  ParsedRecord r;
  SECTION("a spam verdict") {
    CHECK(parse_kept(task_log(kHead,
                              "(default: T (add header): [8.10/15.00] [BAYES_SPAM(5.10){99.99%;},"
                              "MIME_BAD_EXTENSION(3.00){exe;}])",
                              kTail),
                     r) == ParseStatus::kIgnored);
  }
  SECTION("a clean message with no symbols at all") {
    CHECK(parse_kept(task_log(kHead, "(default: F (no action): [0.00/15.00] [])", kTail), r) ==
          ParseStatus::kIgnored);
  }
  SECTION("an antivirus symbol without an option") {
    CHECK(parse_kept(
              task_log(kHead, "(default: T (reject): [4.00/15.00] [CLAM_VIRUS(4.00){}])", kTail),
              r) == ParseStatus::kIgnored);
    CHECK(
        parse_kept(task_log(kHead, "(default: T (reject): [4.00/15.00] [CLAM_VIRUS(4.00)])", kTail),
                   r) == ParseStatus::kIgnored);
  }
  SECTION("the scanner's failure, encryption and macro symbols") {
    CHECK(parse_kept(
              task_log(kHead,
                       "(default: F (no action): [0.00/15.00] [CLAM_VIRUS_FAIL(0.00){failed to "
                       "scan, maximum retransmits exceed;}])",
                       kTail),
              r) == ParseStatus::kIgnored);
    CHECK(parse_kept(
              task_log(kHead,
                       "(default: F (no action): [1.00/15.00] [CLAM_VIRUS_ENCRYPTED(1.00){File "
                       "is encrypted;},ICAP_VIRUS_MACRO(0.00){File contains macros;}])",
                       kTail),
              r) == ParseStatus::kIgnored);
  }
  SECTION("a virus-like option under a symbol that is no antivirus") {
    CHECK(parse_kept(
              task_log(kHead,
                       "(default: T (reject): [16.00/15.00] [MIME_BAD_EXTENSION(4.00){virus.exe;}"
                       ",SUBJ_VIRUS_WORD(0.00)])",
                       kTail),
              r) == ParseStatus::kIgnored);
    CHECK(parse_kept(task_log(kHead,
                              "(default: T (reject): [16.00/15.00] [GRAV_RULE(4.00){Eicar;},"
                              "HAVE_AVATAR(1.00){x;}])",
                              kTail),
                     r) == ParseStatus::kIgnored);
  }
  CHECK(r.virus.empty());
  CHECK(r.recipients.empty());
}

TEST_CASE("rspamd antivirus symbols of every scanner give the first option as the virus",
          "[rspamd]") {
  constexpr std::string_view kHead = "id: <m1@example.org>, qid: <ABCDE12345>, ip: 192.0.2.25";
  ParsedRecord r;
  const auto virus_of = [&](std::string_view symbols) -> std::string {
    const std::string block = "(default: T (reject): [9.00/15.00] [" + std::string(symbols) + "])";
    if (parse_kept(task_log(kHead, block, ""), r) != ParseStatus::kRecord) return "<no record>";
    return std::string(r.virus);
  };
  CHECK(virus_of("ICAP_VIRUS(8.00){Trojan.Generic.123;}") == "Trojan.Generic.123");
  CHECK(virus_of("JUST_EICAR(5.00){EICAR-Test-File;}") == "EICAR-Test-File");
  CHECK(virus_of("DRWEB_VIRUS(8.00){EICAR Test File (NOT a Virus!);}") ==
        "EICAR Test File (NOT a Virus!)");
  CHECK(virus_of("KAS_VIRUS(8.00){HEUR:Trojan.Script.Generic;}") == "HEUR:Trojan.Script.Generic");
  CHECK(virus_of("AV_FOUND(8.00){W32.Sality;}") == "W32.Sality");
  CHECK(virus_of("SITE_ANTIVIRUS(8.00){Worm.Mydoom;}") == "Worm.Mydoom");
  CHECK(virus_of("MY_AV_HIT(8.00){Worm.Netsky;}") == "Worm.Netsky");
  // Several viruses: the first option; show_attachments adds "|filename".
  CHECK(virus_of("CLAM_VIRUS(8.00){Win.Trojan.Agent-1;Win.Trojan.Agent-2;}") ==
        "Win.Trojan.Agent-1");
  CHECK(virus_of("CLAM_VIRUS(8.00){Win.Test.EICAR_HDB-1|eicar.com.zip;}") ==
        "Win.Test.EICAR_HDB-1");
  // The verdict need not be the first symbol; non-AV options before it do not count.
  CHECK(virus_of("MIME_BAD_EXTENSION(4.00){com;},R_SPF_ALLOW(-0.20){+ip4:192.0.2.0/24;},"
                 "CLAM_VIRUS(4.00){Eicar-Signature;}") == "Eicar-Signature");
  // A failure symbol before the verdict is skipped.
  CHECK(virus_of("CLAM_VIRUS_FAIL(0.00){timeout;},SOPHOS_VIRUS(8.00){EICAR-AV-Test;}") ==
        "EICAR-AV-Test");
}

TEST_CASE("rspamd actions map onto the incident vocabulary", "[rspamd]") {
  constexpr std::string_view kHead = "id: <m2@example.org>, qid: <ABCDE12345>";
  ParsedRecord r;
  const auto action_of = [&](std::string_view action) -> std::string {
    const std::string block = "(default: T (" + std::string(action) +
                              "): [6.00/15.00] [CLAM_VIRUS(4.00){Eicar-Signature;}])";
    if (parse_kept(task_log(kHead, block, ""), r) != ParseStatus::kRecord) return "<no record>";
    return std::string(r.action);
  };
  CHECK(action_of("reject") == "rejected");
  CHECK(action_of("soft reject") == "deferred");
  CHECK(action_of("greylist") == "deferred");
  CHECK(action_of("add header") == "tagged");
  CHECK(action_of("rewrite subject") == "tagged");
  CHECK(action_of("no action") == "passed");
  CHECK(action_of("discard") == "discarded");
  CHECK(action_of("quarantine") == "quarantined");
  CHECK(action_of("custom_hold") == "custom_hold");
}

TEST_CASE("rspamd recipients are read in both list forms and the overflow mark is dropped",
          "[rspamd]") {
  constexpr std::string_view kHead =
      "id: <m3@example.org>, qid: <ABCDE12345>, ip: 198.51.100.7, from: <a@example.org>";
  constexpr std::string_view kBlock =
      "(default: T (reject): [4.00/15.00] [CLAM_VIRUS(4.00){Eicar-Signature;}])";
  ParsedRecord r;
  // rspamd joins the envelope recipients with ',' inside one pair of brackets.
  REQUIRE(
      parse_kept(task_log(kHead, kBlock,
                          ", rcpts: <b@example.net,c@example.net>, mime_rcpts: <b@example.net>"),
                 r) == ParseStatus::kRecord);
  REQUIRE(r.recipients.size() == 2);
  CHECK(r.recipients[0] == "b@example.net");
  CHECK(r.recipients[1] == "c@example.net");
  CHECK(r.client_ip == "198.51.100.7");
  // One pair of brackets per address.
  REQUIRE(parse_kept(task_log(kHead, kBlock, ", rcpts: <b@example.net>,<c@example.net>"), r) ==
          ParseStatus::kRecord);
  REQUIRE(r.recipients.size() == 2);
  CHECK(r.recipients[0] == "b@example.net");
  CHECK(r.recipients[1] == "c@example.net");
  // More than max_log_elts (7) addresses: rspamd writes the eighth and then "...".
  REQUIRE(parse_kept(task_log(kHead, kBlock,
                              ", rcpts: <r1@x.example,r2@x.example,r3@x.example,r4@x.example,"
                              "r5@x.example,r6@x.example,r7@x.example,r8@x.example,...>"),
                     r) == ParseStatus::kRecord);
  REQUIRE(r.recipients.size() == 8);
  CHECK(r.recipients[7] == "r8@x.example");
  // No envelope recipients (a message scanned with rspamc): mime_rcpts are not taken instead.
  REQUIRE(parse_kept(task_log(kHead, kBlock, ", mime_rcpts: <b@example.net>"), r) ==
          ParseStatus::kRecord);
  CHECK(r.recipients.empty());
}

TEST_CASE("rspamd undef values, a missing qid and a missing sender leave those fields empty",
          "[rspamd]") {
  constexpr std::string_view kBlock =
      "(default: T (reject): [4.00/15.00] [CLAM_VIRUS(4.00){Eicar-Signature;}])";
  ParsedRecord r;
  REQUIRE(parse_kept(task_log("id: <undef>, qid: <undef>, ip: undef", kBlock, ""), r) ==
          ParseStatus::kRecord);
  CHECK(r.message_id.empty());
  CHECK(r.queue_id.empty());
  CHECK(r.client_ip.empty());
  CHECK_FALSE(r.has_sender);
  // rspamc-style scan: no qid in the line at all.
  REQUIRE(parse_kept(task_log("id: <m4@example.org>, ip: 203.0.113.9, user: carol, from: "
                              "<carol@example.org>",
                              kBlock, ", rcpts: <dave@example.net>"),
                     r) == ParseStatus::kRecord);
  CHECK(r.message_id == "m4@example.org");
  CHECK(r.queue_id.empty());
  CHECK(r.client_ip == "203.0.113.9");
  CHECK(r.sender == "carol@example.org");
  REQUIRE(r.recipients.size() == 1);
  CHECK(r.recipients[0] == "dave@example.net");
}

TEST_CASE("rspamd symbol lists with hostile options and nested score parentheses still parse",
          "[rspamd]") {
  constexpr std::string_view kHead = "id: <m5@example.org>, qid: <ABCDE12345>, ip: 192.0.2.25";
  ParsedRecord r;
  // Options hold braces, brackets, parentheses, commas and semicolon-free text.
  REQUIRE(
      parse_kept(task_log(kHead,
                          "(default: T (reject): [20.00/15.00] [MIME_DOUBLE_BAD_EXTENSION(3.00)"
                          "{.pdf.exe (a}b]c), x;},CLAM_VIRUS((4.00)){Win.Trojan.Emotet-1;},"
                          "R_SPF_FAIL(-1.00){-all;},FROM_NEQ_ENVFROM(0.00){\"x;},(y\"@e.example;"
                          "z@e.example;}])",
                          ", rcpts: <v@example.net>"),
                 r) == ParseStatus::kRecord);
  CHECK(r.virus == "Win.Trojan.Emotet-1");
  CHECK(r.queue_id == "ABCDE12345");
  REQUIRE(r.recipients.size() == 1);
  CHECK(r.recipients[0] == "v@example.net");
}

TEST_CASE("rspamd attacker-written Message-ID and addresses cannot move the correlation keys",
          "[rspamd]") {
  constexpr std::string_view kBlock =
      "(default: T (reject): [9.00/15.00] [CLAM_VIRUS(9.00){Win.Worm.Real;}])";
  ParsedRecord r;
  SECTION("a Message-ID imitating the head and a clean result block") {
    const std::string line = task_log(
        "id: <x@evil.example>, qid: <FAKE00001>, ip: 6.6.6.6, from: <decoy@evil.example>, "
        "(default: F (no action): [0.00/15.00] []), len: 1, time: 1ms, dns req: 0, digest: "
        "<00>, rcpts: <nobody@evil.example>, forced: no action \"x\">, qid: <REAL12345>, ip: "
        "192.0.2.25, from: <sender@example.org>",
        kBlock, ", rcpts: <victim@example.net>");
    REQUIRE(parse(line, r) == ParseStatus::kRecord);
    CHECK(r.virus == "Win.Worm.Real");
    CHECK(r.queue_id == "REAL12345");
    CHECK(r.client_ip == "192.0.2.25");
    CHECK(r.sender == "sender@example.org");
    REQUIRE(r.recipients.size() == 1);
    CHECK(r.recipients[0] == "victim@example.net");
    CHECK(r.message_id.substr(0, 14) == "x@evil.example");
    CHECK(r.message_id.find("FAKE00001") != std::string_view::npos);
  }
  SECTION("an envelope sender holding field markers") {
    REQUIRE(parse_kept(task_log("id: <m6@example.org>, qid: <REAL12345>, ip: 192.0.2.25, from: "
                                "<\"a>, ip: 6.6.6.6, rcpts: <fake@evil.example>\"@evil.example>",
                                kBlock, ", rcpts: <victim@example.net>"),
                       r) == ParseStatus::kRecord);
    CHECK(r.queue_id == "REAL12345");
    CHECK(r.client_ip == "192.0.2.25");
    CHECK(r.sender == "\"a>, ip: 6.6.6.6, rcpts: <fake@evil.example>\"@evil.example");
    REQUIRE(r.recipients.size() == 1);
    CHECK(r.recipients[0] == "victim@example.net");
  }
  SECTION("a Message-ID full of unclosed imitation blocks and queue-id markers") {
    std::string mid = "x";
    for (int i = 0; i < 2000; ++i) mid += "(default: T (a): [1/1] [X{a;},, qid: <A";
    REQUIRE(parse_kept(task_log("id: <" + mid + ">, qid: <REAL12345>, ip: 192.0.2.25", kBlock,
                                ", rcpts: <victim@example.net>"),
                       r) == ParseStatus::kRecord);
    CHECK(r.virus == "Win.Worm.Real");
    CHECK(r.queue_id == "REAL12345");
    CHECK(r.client_ip == "192.0.2.25");
    CHECK(r.message_id.size() == mid.size());
  }
  SECTION("MIME recipients imitating the envelope recipients") {
    REQUIRE(parse_kept(task_log("id: <m7@example.org>, qid: <REAL12345>", kBlock,
                                ", rcpts: <victim@example.net>, mime_rcpts: <x@y.example>, rcpts: "
                                "<fake@evil.example>"),
                       r) == ParseStatus::kRecord);
    REQUIRE(r.recipients.size() == 1);
    CHECK(r.recipients[0] == "victim@example.net");
  }
}

TEST_CASE("rspamd task logs cut short or without id and qid are malformed", "[rspamd]") {
  ParsedRecord r;
  CHECK(parse("<adfb84>; proxy; rspamd_task_write_log: id: <E1pwgnI-00DQGx-NA.octo03@web.heise."
              "de>, qid: <1BBB9602BE>, ip: 2a02:2e0:3fe:1001::beef, from: <emailcheck-robot@ct.de"
              ">, (default: T (reject): [7.31/12.00] [CLAM_VIRUS(4.00){Win.Test.EICAR_HDB-1;},MIM",
              r) == ParseStatus::kMalformed);
  CHECK(parse("<adfb84>; proxy; rspamd_task_write_log: id: <E1pwgnI-00DQGx-NA.octo03@web.heise."
              "de>, qid: <1BBB96",
              r) == ParseStatus::kMalformed);
  CHECK(parse("<adfb84>; proxy; rspamd_task_write_log: ip: 192.0.2.1, (default: T (reject): "
              "[7.31/12.00] [CLAM_VIRUS(4.00){Win.Test.EICAR_HDB-1;}]), len: 2061",
              r) == ParseStatus::kMalformed);
  CHECK(parse("<adfb84>; proxy; rspamd_task_write_log: ", r) == ParseStatus::kMalformed);
  CHECK(r.virus.empty());
  CHECK(r.recipients.empty());
}

TEST_CASE("rspamd task log cut at every position is malformed until its symbol list closes",
          "[rspamd]") {
  const std::string_view full = kSpillerTaskLog;
  const std::size_t body = full.find("rspamd_task_write_log: ") + 23;
  const std::size_t list_end = full.find("}]),") + 3;
  ParsedRecord r;
  for (std::size_t cut = 0; cut <= full.size(); ++cut) {
    const std::string text(full.substr(0, cut));
    INFO("cut at " << cut);
    const ParseStatus status = parse(text, r);
    if (cut < body) {
      CHECK(status == ParseStatus::kIgnored);
    } else if (cut < list_end) {
      CHECK(status == ParseStatus::kMalformed);
    } else {
      REQUIRE(status == ParseStatus::kRecord);
      CHECK(r.virus == "Win.Test.EICAR_HDB-1");
      CHECK(r.queue_id == "1BBB9602BE");
      // A recipient list cut inside its last address is not reported.
      for (const auto rcpt : r.recipients) CHECK(rcpt == "marianne@spiller.me");
    }
  }
}
