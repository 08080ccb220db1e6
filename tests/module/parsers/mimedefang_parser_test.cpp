// Unit tests for the MIMEDefang parser: md_graphdefang_log's "MDLOG,..." syslog lines (field
// layout and percent-encoding from MIMEDefang's Mail::MIMEDefang md_graphdefang_log and
// percent_encode_for_graphdefang; log-formats.md §11, sendmailanalyzer's comment).
#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <string_view>

#include "module/input/syslog_envelope.hpp"
#include "module/parsers/log_line.hpp"
#include "module/parsers/parser_registry.hpp"
#include "support/correlator_harness.hpp"
#include "support/parser_runs.hpp"
#include "support/view_checks.hpp"

using namespace vtrace;

using vtrace::testing::check_record_views_inside;
using vtrace::testing::parse_syslog_line;

namespace {

const LogParser& mimedefang() {
  static const std::unique_ptr<LogParser> parser = make_mimedefang_parser();
  return *parser;
}

ParseStatus parse(std::string_view text, ParsedRecord& out) {
  return parse_syslog_line(mimedefang(), text, out);
}

}  // namespace

TEST_CASE("a MIMEDefang virus event is a detection with the sendmail queue id and envelope",
          "[mimedefang]") {
  ParsedRecord r;
  REQUIRE(parse("Nov 28 05:41:03 gw2 mimedefang.pl[23120]: 2ASH4fX9012345: "
                "MDLOG,2ASH4fX9012345,virus,Win.Worm.Mydoom-1,document.zip,"
                "<billing@mail.example.org>,<kato@example.ac.jp>,Re: document",
                r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kDetection);
  CHECK(r.queue_id == "2ASH4fX9012345");
  CHECK(r.virus == "Win.Worm.Mydoom-1");
  CHECK(r.file == "document.zip");
  CHECK(r.sender == "billing@mail.example.org");
  CHECK(r.has_sender);
  CHECK(r.recipients == std::vector<std::string_view>{"kato@example.ac.jp"});
  CHECK(r.subject == "Re: document");
}

TEST_CASE("older MIMEDefang lines without the queue id in front parse the same", "[mimedefang]") {
  ParsedRecord r;
  REQUIRE(parse("Nov 28 05:41:03 gw2 mimedefang.pl[23120]: "
                "MDLOG,2ASH4fX9012345,virus,Eicar-Test-Signature,,<>,rcpts=3,hello",
                r) == ParseStatus::kRecord);
  CHECK(r.queue_id == "2ASH4fX9012345");
  CHECK(r.virus == "Eicar-Test-Signature");
  CHECK(r.sender.empty());
  CHECK(r.has_sender);
  CHECK(r.recipients.empty());  // "rcpts=3": several, not enumerated
}

TEST_CASE("an encoded comma in a subject or address cannot shift the fields", "[mimedefang]") {
  ParsedRecord r;
  REQUIRE(parse("Nov 28 05:41:03 gw2 mimedefang.pl[1]: MDLOG,2ASH4fX9012345,virus,W32.Netsky,"
                "a.pif,<x%2Cvirus%2Cfake@evil.example>,<kato@example.ac.jp>,"
                "invoice, virus, urgent",
                r) == ParseStatus::kRecord);
  CHECK(r.virus == "W32.Netsky");
  CHECK(r.sender == "x%2Cvirus%2Cfake@evil.example");
  CHECK(r.recipients == std::vector<std::string_view>{"kato@example.ac.jp"});
  CHECK(r.subject == "invoice, virus, urgent");
}

TEST_CASE("other MIMEDefang events and lines are noise, a cut MDLOG line is malformed",
          "[mimedefang]") {
  ParsedRecord r;
  CHECK(parse("Nov 28 05:41:03 gw2 mimedefang.pl[1]: 2ASH4fX9012345: MDLOG,2ASH4fX9012345,"
              "mail_in,,,<a@example.org>,<b@example.ac.jp>,hi",
              r) == ParseStatus::kIgnored);
  CHECK(parse("Nov 28 05:41:03 gw2 mimedefang.pl[1]: MDLOG,2ASH4fX9012345,spam,7.2,,<a@x>,"
              "<b@y>,buy",
              r) == ParseStatus::kIgnored);
  CHECK(parse("Nov 28 05:41:03 gw2 mimedefang-multiplexor[900]: Starting worker 3 (pid 1234)", r) ==
        ParseStatus::kIgnored);
  CHECK(parse("Nov 28 05:41:03 gw2 mimedefang.pl[1]: MDLOG,2ASH4fX9012345,virus,W32.Netsky", r) ==
        ParseStatus::kMalformed);
  // Text that only quotes "MDLOG," further on is not an event line.
  CHECK(parse("Nov 28 05:41:03 gw2 mimedefang.pl[1]: filter: saw MDLOG,x,virus,a,b,c,d,e", r) ==
        ParseStatus::kIgnored);
}

TEST_CASE("a MIMEDefang detection on a sendmail gateway is traced to the sending PC",
          "[mimedefang][trace]") {
  vtrace::testing::Harness h;
  const auto& incidents =
      h
          .feed({
              "Nov 28 05:41:02 gw2 sm-mta[4242]: 2ASH4fX9012345: from=<billing@mail.example.org>, "
              "size=77984, class=0, nrcpts=1, msgid=<worm9@mail.example.org>, proto=ESMTP, "
              "daemon=MTA, relay=pc45.campus.example.ac.jp [10.1.23.45]",
              "Nov 28 05:41:03 gw2 mimedefang.pl[23120]: 2ASH4fX9012345: "
              "MDLOG,2ASH4fX9012345,virus,Win.Worm.Mydoom-1,document.zip,"
              "<billing@mail.example.org>,<kato@example.ac.jp>,Re: document",
          })
          .finish();
  REQUIRE(incidents.size() == 1);
  CHECK(incidents[0].detector_format == "mimedefang");
  CHECK(incidents[0].confidence == Confidence::kExact);
  REQUIRE(incidents[0].origin);
  CHECK(incidents[0].origin->ip == "10.1.23.45");
  CHECK(incidents[0].files == std::vector<std::string>{"document.zip"});
}
