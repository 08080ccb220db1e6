// Unit tests for the Trend Micro InterScan VirusWall virus-log assembler. No real ISVW line is
// public (log-formats.md §12), so the records are those of the project's scenario
// (tests/fixtures/scenario/isvw.log), whose layout follows the vendor's field list.
#include "module/parsers/isvw_assembler.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

using namespace vtrace;

namespace {

// tests/fixtures/scenario/isvw.log, first record
const std::vector<std::string> kRecord1 = {
    "Date: 11/28/26 05:00:59",    "Method: SMTP",    "From: info@example.net",
    "To: <suzuki@example.ac.jp>", "File: photo.exe", "Action: deleted",
    "Virus: WORM_LOVGATE.F",
};
// tests/fixtures/scenario/isvw.log, second record
const std::vector<std::string> kRecord2 = {
    "Date: 11/28/26 05:01:10",    "Method: SMTP",     "From: hana@mail.example.org",
    "To: <suzuki@example.ac.jp>", "File: readme.scr", "Action: deleted",
    "Virus: MIME_Tag_Overflow",
};

// Feeds all lines but the last and expects each to be consumed; returns the last line's result.
IsvwAssembler::Feed feed_record(IsvwAssembler& a, const std::vector<std::string>& lines,
                                LocalTimeResolver& zone) {
  for (std::size_t i = 0; i + 1 < lines.size(); ++i) {
    INFO(lines[i]);
    CHECK(a.feed(lines[i], zone) == IsvwAssembler::Feed::kConsumed);
  }
  return a.feed(lines.back(), zone);
}

}  // namespace

TEST_CASE("a seven-line ISVW record becomes one detection", "[isvw]") {
  IsvwAssembler a;
  LocalTimeResolver utc("UTC");
  REQUIRE(feed_record(a, kRecord1, utc) == IsvwAssembler::Feed::kRecord);
  const ParsedRecord& r = a.record();
  CHECK(a.time() == make_utc(2026, 11, 28, 5, 0, 59));
  CHECK(r.kind == RecordKind::kDetection);
  CHECK(r.virus == "WORM_LOVGATE.F");
  CHECK(r.action == "deleted");
  CHECK(r.file == "photo.exe");
  CHECK(r.sender == "info@example.net");
  CHECK(r.has_sender);
  REQUIRE(r.recipients.size() == 1);
  CHECK(r.recipients[0] == "suzuki@example.ac.jp");
  CHECK(r.queue_id.empty());
  CHECK(r.client_ip.empty());
  CHECK(a.evidence() ==
        "Date: 11/28/26 05:00:59 | Method: SMTP | From: info@example.net | To: "
        "<suzuki@example.ac.jp> | File: photo.exe | Action: deleted | Virus: WORM_LOVGATE.F");
}

TEST_CASE("an ISVW date is local time of the configured zone", "[isvw]") {
  IsvwAssembler a;
  LocalTimeResolver tokyo("Asia/Tokyo");
  REQUIRE(feed_record(a, kRecord1, tokyo) == IsvwAssembler::Feed::kRecord);
  CHECK(a.time() == make_utc(2026, 11, 27, 20, 0, 59));
  CHECK(a.record().virus == "WORM_LOVGATE.F");
}

TEST_CASE("blank-line separated ISVW records each become a detection", "[isvw]") {
  IsvwAssembler a;
  LocalTimeResolver utc("UTC");
  REQUIRE(feed_record(a, kRecord1, utc) == IsvwAssembler::Feed::kRecord);
  CHECK(a.feed("", utc) == IsvwAssembler::Feed::kConsumed);
  CHECK(a.feed("   ", utc) == IsvwAssembler::Feed::kConsumed);
  REQUIRE(feed_record(a, kRecord2, utc) == IsvwAssembler::Feed::kRecord);
  CHECK(a.time() == make_utc(2026, 11, 28, 5, 1, 10));
  CHECK(a.record().virus == "MIME_Tag_Overflow");
  CHECK(a.record().file == "readme.scr");
  CHECK(a.record().sender == "hana@mail.example.org");
  REQUIRE(a.record().recipients.size() == 1);
  CHECK(a.record().recipients[0] == "suzuki@example.ac.jp");
  // the second record's evidence does not contain the first's
  CHECK(a.evidence().find("WORM_LOVGATE.F") == std::string::npos);
}

TEST_CASE("ISVW lines with CR LF endings and surrounding blanks parse", "[isvw]") {
  IsvwAssembler a;
  LocalTimeResolver utc("UTC");
  std::vector<std::string> crlf;
  for (const auto& l : kRecord1) crlf.push_back(l + "\r\n");
  crlf[3] = "  " + kRecord1[3] + " \r\n";
  REQUIRE(feed_record(a, crlf, utc) == IsvwAssembler::Feed::kRecord);
  CHECK(a.record().virus == "WORM_LOVGATE.F");
  CHECK(a.record().action == "deleted");
  REQUIRE(a.record().recipients.size() == 1);
  CHECK(a.record().recipients[0] == "suzuki@example.ac.jp");
}

TEST_CASE("a record cut short by a blank line is malformed and the next record parses", "[isvw]") {
  IsvwAssembler a;
  LocalTimeResolver utc("UTC");
  for (std::size_t i = 0; i < 4; ++i) {
    CHECK(a.feed(kRecord1[i], utc) == IsvwAssembler::Feed::kConsumed);
  }
  CHECK(a.feed("", utc) == IsvwAssembler::Feed::kMalformed);
  REQUIRE(feed_record(a, kRecord2, utc) == IsvwAssembler::Feed::kRecord);
  CHECK(a.record().virus == "MIME_Tag_Overflow");
  CHECK(a.record().file == "readme.scr");
}

TEST_CASE("a record cut short by the next Date: line is malformed and the next one parses",
          "[isvw]") {
  IsvwAssembler a;
  LocalTimeResolver utc("UTC");
  for (std::size_t i = 0; i < 5; ++i) {
    CHECK(a.feed(kRecord1[i], utc) == IsvwAssembler::Feed::kConsumed);
  }
  CHECK(a.feed(kRecord2[0], utc) == IsvwAssembler::Feed::kMalformed);
  for (std::size_t i = 1; i + 1 < kRecord2.size(); ++i) {
    CHECK(a.feed(kRecord2[i], utc) == IsvwAssembler::Feed::kConsumed);
  }
  REQUIRE(a.feed(kRecord2.back(), utc) == IsvwAssembler::Feed::kRecord);
  CHECK(a.time() == make_utc(2026, 11, 28, 5, 1, 10));
  CHECK(a.record().virus == "MIME_Tag_Overflow");
  CHECK(a.record().file == "readme.scr");  // not photo.exe of the abandoned record
  CHECK(a.evidence().find("photo.exe") == std::string::npos);
}

TEST_CASE("a record interrupted by a foreign line is malformed", "[isvw]") {
  IsvwAssembler a;
  LocalTimeResolver utc("UTC");
  CHECK(a.feed(kRecord1[0], utc) == IsvwAssembler::Feed::kConsumed);
  CHECK(a.feed(kRecord1[1], utc) == IsvwAssembler::Feed::kConsumed);
  // tests/fixtures/scenario/gw2.log, a sendmail line in the same stream
  CHECK(a.feed("Nov 28 05:00:04 gw2 sendmail[1123]: 6AS504Kr001108: from=<admin@example.net>, "
               "size=86439",
               utc) == IsvwAssembler::Feed::kMalformed);
  REQUIRE(feed_record(a, kRecord2, utc) == IsvwAssembler::Feed::kRecord);
  CHECK(a.record().virus == "MIME_Tag_Overflow");
}

TEST_CASE("foreign lines outside a record are not ISVW", "[isvw]") {
  IsvwAssembler a;
  LocalTimeResolver utc("UTC");
  CHECK(a.feed("Nov 28 05:00:04 gw2 sendmail[1123]: 6AS504Kr001108: from=<admin@example.net>",
               utc) == IsvwAssembler::Feed::kNotIsvw);
  CHECK(a.feed("Subject: hello", utc) == IsvwAssembler::Feed::kNotIsvw);
  // a record's tail without its Date: line
  CHECK(a.feed("Virus: WORM_LOVGATE.F", utc) == IsvwAssembler::Feed::kMalformed);
  CHECK(a.feed("From: info@example.net", utc) == IsvwAssembler::Feed::kMalformed);
  REQUIRE(feed_record(a, kRecord1, utc) == IsvwAssembler::Feed::kRecord);
}

TEST_CASE("a record with a bad date or without addresses is malformed", "[isvw]") {
  LocalTimeResolver utc("UTC");
  {
    IsvwAssembler a;
    auto lines = kRecord1;
    lines[0] = "Date: 13/28/26 05:00:59";
    CHECK(feed_record(a, lines, utc) == IsvwAssembler::Feed::kMalformed);
    REQUIRE(feed_record(a, kRecord2, utc) == IsvwAssembler::Feed::kRecord);
  }
  {
    IsvwAssembler a;
    auto lines = kRecord1;
    lines[2] = "From:";
    lines[3] = "To: ";
    CHECK(feed_record(a, lines, utc) == IsvwAssembler::Feed::kMalformed);
  }
  {
    IsvwAssembler a;
    auto lines = kRecord1;
    lines[6] = "Virus:";
    CHECK(feed_record(a, lines, utc) == IsvwAssembler::Feed::kMalformed);
  }
}

TEST_CASE("a record with only a recipient still names it", "[isvw]") {
  IsvwAssembler a;
  LocalTimeResolver utc("UTC");
  auto lines = kRecord1;
  lines[2] = "From: ";
  REQUIRE(feed_record(a, lines, utc) == IsvwAssembler::Feed::kRecord);
  CHECK(a.record().sender.empty());
  CHECK_FALSE(a.record().has_sender);
  REQUIRE(a.record().recipients.size() == 1);
  CHECK(a.record().recipients[0] == "suzuki@example.ac.jp");
}

TEST_CASE("parse_date refuses a day the calendar lacks", "[isvw]") {
  vtrace::LocalTimeResolver utc("UTC");
  CHECK_FALSE(IsvwAssembler::parse_date("02/29/26 05:00:59", utc));
  CHECK_FALSE(IsvwAssembler::parse_date("04/31/2026 05:00:59", utc));
  CHECK(IsvwAssembler::parse_date("02/29/28 05:00:59", utc) == make_utc(2028, 2, 29, 5, 0, 59));
}

TEST_CASE("parse_date reads MM/DD/YY and MM/DD/YYYY", "[isvw]") {
  LocalTimeResolver utc("UTC");
  CHECK(IsvwAssembler::parse_date("11/28/26 05:00:59", utc) == make_utc(2026, 11, 28, 5, 0, 59));
  CHECK(IsvwAssembler::parse_date("11/28/2026 05:00:59", utc) == make_utc(2026, 11, 28, 5, 0, 59));
  CHECK(IsvwAssembler::parse_date("1/2/26 05:00:59", utc) == make_utc(2026, 1, 2, 5, 0, 59));
  CHECK(IsvwAssembler::parse_date("02/29/2024 23:59:59", utc) == make_utc(2024, 2, 29, 23, 59, 59));
  CHECK(IsvwAssembler::parse_date("  11/28/26 05:00:59\r", utc) ==
        make_utc(2026, 11, 28, 5, 0, 59));
  LocalTimeResolver tokyo("Asia/Tokyo");
  CHECK(IsvwAssembler::parse_date("11/28/26 05:00:59", tokyo) == make_utc(2026, 11, 27, 20, 0, 59));
}

TEST_CASE("parse_date rejects malformed dates", "[isvw]") {
  LocalTimeResolver utc("UTC");
  for (const char* text : {"",
                           "11/28/26",
                           "05:00:59",
                           "13/28/26 05:00:59",
                           "00/28/26 05:00:59",
                           "11/32/26 05:00:59",
                           "11/00/26 05:00:59",
                           "11/28/26 24:00:59",
                           "11/28/26 05:60:59",
                           "11/28/26 05:00:61",
                           "11/28/26 5:00:59",
                           "11/28/26  05:00:59",
                           "11/28/26 05.00.59",
                           "11-28-26 05:00:59",
                           "2026/11/28 05:00:59",
                           "11/28/1989 05:00:59",
                           "ab/28/26 05:00:59",
                           "11/28/ 05:00:59",
                           "11/28/26 05:00:59 JST",
                           "11/28/26 0a:00:59",
                           "//26 05:00:59",
                           "11/28/26 05:00"}) {
    INFO(text);
    CHECK_FALSE(IsvwAssembler::parse_date(text, utc));
  }
}

TEST_CASE("looks_like_isvw recognises the seven keys only", "[isvw]") {
  for (const auto& line : kRecord1) {
    INFO(line);
    CHECK(IsvwAssembler::looks_like_isvw(line));
  }
  CHECK_FALSE(IsvwAssembler::looks_like_isvw(""));
  CHECK_FALSE(IsvwAssembler::looks_like_isvw("Subject: hello"));
  CHECK_FALSE(IsvwAssembler::looks_like_isvw("date: 11/28/26 05:00:59"));
  CHECK_FALSE(IsvwAssembler::looks_like_isvw("Dates: 11/28/26 05:00:59"));
  CHECK_FALSE(IsvwAssembler::looks_like_isvw(" Date: 11/28/26 05:00:59"));
  CHECK_FALSE(IsvwAssembler::looks_like_isvw(
      "Nov 28 05:00:04 gw2 sendmail[1123]: 6AS504Kr001108: from=<admin@example.net>"));
}

TEST_CASE("the scenario's ISVW log assembles into one detection per record", "[isvw]") {
  std::ifstream in(std::string(VTRACE_FIXTURES) + "/scenario/isvw.log");
  REQUIRE(in);
  IsvwAssembler a;
  LocalTimeResolver utc("UTC");
  std::string line;
  int records = 0, malformed = 0, dates = 0;
  TimePoint last = 0;
  while (std::getline(in, line)) {
    if (line.rfind("Date: ", 0) == 0) ++dates;
    switch (a.feed(line, utc)) {
      case IsvwAssembler::Feed::kRecord:
        ++records;
        CHECK_FALSE(a.record().virus.empty());
        CHECK_FALSE(a.record().recipients.empty());
        CHECK(a.time() >= last);
        last = a.time();
        break;
      case IsvwAssembler::Feed::kMalformed:
        ++malformed;
        break;
      case IsvwAssembler::Feed::kNotIsvw:
        FAIL("not ISVW: " << line);
        break;
      case IsvwAssembler::Feed::kConsumed:
        break;
    }
  }
  CHECK(dates == 33);
  CHECK(records == 33);
  CHECK(malformed == 0);
}
