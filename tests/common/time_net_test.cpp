// Unit tests for common/time (RFC 3339, durations, local zones) and common/net (addresses,
// CIDR networks). Timestamps are the ones printed in docs/log-formats.md.
#include <arpa/inet.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "common/net.hpp"
#include "common/time.hpp"

using namespace vtrace;

namespace {

TimePoint utc(int y, int mo, int d, int h, int mi, int s, std::int64_t us = 0) {
  return make_utc(y, mo, d, h, mi, s, us);
}

IpAddress ip(std::string_view text) {
  const auto a = IpAddress::parse(text);
  REQUIRE(a.has_value());
  return *a;
}

}  // namespace

// --- civil time -------------------------------------------------------------------------------

TEST_CASE("make_utc counts microseconds from the Unix epoch", "[time]") {
  CHECK(make_utc(1970, 1, 1, 0, 0, 0) == 0);
  CHECK(make_utc(1970, 1, 2, 0, 0, 0) == seconds(86400));
  CHECK(make_utc(2000, 3, 1, 0, 0, 0) - make_utc(2000, 2, 28, 0, 0, 0) == seconds(2 * 86400));
  CHECK(make_utc(1969, 12, 31, 23, 59, 59, 999999) == -1);
  CHECK(days_from_civil(2026, 11, 28) == 20785);
}

// --- parse_rfc3339 ----------------------------------------------------------------------------

TEST_CASE("parse_rfc3339 reads the rsyslog high-precision form with a +00:00 offset", "[time]") {
  // tests/fixtures/scenario/gw1.log (the project's scenario, rsyslog default format)
  const auto t = parse_rfc3339("2026-11-28T05:00:36.618019+00:00");
  REQUIRE(t);
  CHECK(*t == utc(2026, 11, 28, 5, 0, 36, 618019));
}

TEST_CASE("parse_rfc3339 refuses a local time of year 9999 that is in year 10000 in UTC",
          "[time]") {
  // Found by the time fuzz target: the parse gave a time no RFC 3339 text can write, so it did
  // not format and parse back.
  CHECK_FALSE(parse_rfc3339("9999-12-31T23:59:59.6-11:00"));
  const auto last = parse_rfc3339("9999-12-31T23:59:59.999999+00:00");
  REQUIRE(last);
  CHECK(*last == vtrace::kLatestTime);
  CHECK(parse_rfc3339(vtrace::format_rfc3339(*last)) == last);
}

TEST_CASE("parse_rfc3339 subtracts a positive offset to reach UTC", "[time]") {
  // log-formats.md §1.4 [P: FHNW CyberLab mail-server lab report]
  const auto t = parse_rfc3339("2026-05-16T16:13:25.137663+02:00");
  REQUIRE(t);
  CHECK(*t == utc(2026, 5, 16, 14, 13, 25, 137663));
}

TEST_CASE("parse_rfc3339 accepts an offset without a colon", "[time]") {
  // log-formats.md §1.5 [P: MailRoute ITAR/HIPAA FAQ]
  const auto t = parse_rfc3339("2018-11-21T15:18:43+0000");
  REQUIRE(t);
  CHECK(*t == utc(2018, 11, 21, 15, 18, 43));
  const auto minus = parse_rfc3339("2003-08-24T05:14:15.000003-07:00");  // RFC 5424 §6.5 ex. 2
  REQUIRE(minus);
  CHECK(*minus == utc(2003, 8, 24, 12, 14, 15, 3));
}

TEST_CASE("parse_rfc3339 accepts Z, a lowercase z and a space instead of T", "[time]") {
  const auto z = parse_rfc3339("2003-10-11T22:14:15.003Z");  // RFC 5424 §6.5 example 1
  REQUIRE(z);
  CHECK(*z == utc(2003, 10, 11, 22, 14, 15, 3000));
  const auto lower = parse_rfc3339("2003-10-11T22:14:15.003z");
  REQUIRE(lower);
  CHECK(*lower == *z);
  const auto spaced = parse_rfc3339("2003-10-11 22:14:15.003Z");
  REQUIRE(spaced);
  CHECK(*spaced == *z);
}

TEST_CASE("parse_rfc3339 keeps microseconds and truncates finer fractions", "[time]") {
  const auto one = parse_rfc3339("2026-11-28T05:00:36.6Z");
  REQUIRE(one);
  CHECK(*one == utc(2026, 11, 28, 5, 0, 36, 600000));
  const auto nanos = parse_rfc3339("2026-11-28T05:00:36.618019999Z");
  REQUIRE(nanos);
  CHECK(*nanos == utc(2026, 11, 28, 5, 0, 36, 618019));
  const auto comma = parse_rfc3339("2026-11-28T05:00:36,5Z");
  REQUIRE(comma);
  CHECK(*comma == utc(2026, 11, 28, 5, 0, 36, 500000));
}

TEST_CASE("parse_rfc3339 rejects a timestamp without a zone unless told to assume UTC", "[time]") {
  // log-formats.md §10 [D: PureMessage docs]: "2007-01-27T16:48:58" carries no zone
  CHECK_FALSE(parse_rfc3339("2007-01-27T16:48:58"));
  const auto assumed = parse_rfc3339("2007-01-27T16:48:58", true);
  REQUIRE(assumed);
  CHECK(*assumed == utc(2007, 1, 27, 16, 48, 58));
}

TEST_CASE("parse_rfc3339 rejects malformed timestamps", "[time]") {
  CHECK_FALSE(parse_rfc3339(""));
  CHECK_FALSE(parse_rfc3339("2026-11-28"));
  CHECK_FALSE(parse_rfc3339("2026-11-28T05:00Z"));
  CHECK_FALSE(parse_rfc3339("2026-13-28T05:00:36Z"));
  CHECK_FALSE(parse_rfc3339("2026-00-28T05:00:36Z"));
  CHECK_FALSE(parse_rfc3339("2026-11-32T05:00:36Z"));
  CHECK_FALSE(parse_rfc3339("2026-11-28T24:00:36Z"));
  CHECK_FALSE(parse_rfc3339("2026-11-28T05:60:36Z"));
  CHECK_FALSE(parse_rfc3339("2026-11-28T05:00:61Z"));
  CHECK_FALSE(parse_rfc3339("2026-11-28T05:00:36.Z"));     // a dot without digits
  CHECK_FALSE(parse_rfc3339("2026-11-28T05:00:36+2"));     // a truncated offset
  CHECK_FALSE(parse_rfc3339("2026-11-28T05:00:36+02:"));   // a truncated offset
  CHECK_FALSE(parse_rfc3339("2026-11-28T05:00:36Zjunk"));  // trailing garbage
  CHECK_FALSE(parse_rfc3339("2026/11/28T05:00:36Z"));
  CHECK_FALSE(parse_rfc3339("Nov 28 05:00:36"));
}

TEST_CASE("parse_rfc3339 stops at a space so it can read the front of a log line", "[time]") {
  const auto t = parse_rfc3339("2026-11-28T05:00:36.618019+00:00 gw1 clamav-milter[777]: x");
  REQUIRE(t);
  CHECK(*t == utc(2026, 11, 28, 5, 0, 36, 618019));
}

TEST_CASE("Rfc3339Parser reads a stream of times as parse_rfc3339 reads each on its own",
          "[time]") {
  // Same second and zone (the cached base), a new fraction, a new second, a new zone with the
  // same second, no fraction, an invalid one between, and one that differs only after a space.
  const std::vector<std::string> stream = {
      "2026-11-28T05:00:36.618019+00:00",
      "2026-11-28T05:00:36.000001+00:00",
      "2026-11-28T05:00:36+00:00",
      "2026-11-28T05:00:36.5+09:00",
      "2026-11-28T05:00:36.5+0900",
      "2026-11-28T05:00:36.5Z",
      "2026-11-28T05:00:36.Z",
      "2026-11-28T05:00:36.5Zjunk",
      "2026-11-28T05:00:36.5Z gw1 x",
      "2026-11-28T05:00:36.5Z gw2 y",
      "2026-11-28T05:00:37.5Z",
      "2026-11-28T05:00:37.25",
      "2026-11-28T05:00:37.250000000-05:30",
      "2026-11-28T05:00",
      "",
      "2026-11-28T05:00:37.25-05:30",
      // New seconds of the cached minute, the next minute, a leap second, a second that is no
      // second, and a zone that changes with the second.
      "2026-11-28T05:00:38.25-05:30",
      "2026-11-28T05:00:59-05:30",
      "2026-11-28T05:01:00.1-05:30",
      "2026-12-31T23:59:59.5Z",
      "2026-12-31T23:59:60.5Z",
      "2026-12-31T23:59:59.5Z",
      "2026-12-31T23:59:61Z",
      "2026-12-31T23:59:5xZ",
      "2026-12-31T23:59:58+01:00",
  };
  Rfc3339Parser parser;
  for (const auto& text : stream) {
    INFO(text);
    CHECK(parser.parse(text) == parse_rfc3339(text));
  }
}

TEST_CASE("Rfc3339Parser adds the fraction of a line to the base of the second it repeats",
          "[time]") {
  Rfc3339Parser parser;
  CHECK(parser.parse("2026-11-28T14:00:36.1+09:00") == utc(2026, 11, 28, 5, 0, 36, 100000));
  CHECK(parser.parse("2026-11-28T14:00:36.618019+09:00") == utc(2026, 11, 28, 5, 0, 36, 618019));
  CHECK(parser.parse("2026-11-28T14:00:36+09:00") == utc(2026, 11, 28, 5, 0, 36));
  CHECK(parser.parse("2026-11-28T14:00:36.2Z") == utc(2026, 11, 28, 14, 0, 36, 200000));
}

// --- format_rfc3339 ---------------------------------------------------------------------------

TEST_CASE("format_rfc3339 prints UTC with six fraction digits", "[time]") {
  CHECK(format_rfc3339(utc(2026, 11, 28, 5, 0, 36, 618019)) == "2026-11-28T05:00:36.618019Z");
  CHECK(format_rfc3339(0) == "1970-01-01T00:00:00.000000Z");
  CHECK(format_rfc3339(-1) == "1969-12-31T23:59:59.999999Z");
  CHECK(format_rfc3339(utc(2024, 2, 29, 23, 59, 60)) == "2024-03-01T00:00:00.000000Z");
}

TEST_CASE("format_rfc3339 and parse_rfc3339 round-trip", "[time]") {
  for (const TimePoint t :
       {TimePoint{0}, utc(2026, 11, 28, 5, 0, 36, 618019), utc(2026, 5, 16, 14, 13, 25, 137663),
        utc(1999, 12, 31, 23, 59, 59, 999999), utc(2038, 1, 19, 3, 14, 8, 1),
        utc(2028, 2, 29, 0, 0, 0, 5), utc(9999, 12, 31, 23, 59, 59, 999999)}) {
    const std::string text = format_rfc3339(t);
    INFO(text);
    const auto back = parse_rfc3339(text);
    REQUIRE(back);
    CHECK(*back == t);
    const auto exact = parse_rfc3339_exact(text);
    REQUIRE(exact);
    CHECK(*exact == t);
  }
}

TEST_CASE("parse_rfc3339 refuses days the calendar does not have instead of rolling over",
          "[time]") {
  CHECK_FALSE(parse_rfc3339("2026-02-29T00:00:00Z"));  // 2026 is not a leap year
  CHECK_FALSE(parse_rfc3339("2100-02-29T00:00:00Z"));  // nor is 2100
  CHECK_FALSE(parse_rfc3339("2026-04-31T00:00:00Z"));
  CHECK_FALSE(parse_rfc3339("2026-06-31T12:00:00+09:00"));
  CHECK_FALSE(parse_rfc3339_exact("2026-02-29T00:00:00Z"));
  CHECK(parse_rfc3339("2028-02-29T00:00:00Z") == utc(2028, 2, 29, 0, 0, 0));
  CHECK(parse_rfc3339("2000-02-29T00:00:00Z") == utc(2000, 2, 29, 0, 0, 0));
  CHECK(parse_rfc3339("2026-12-31T23:59:59Z") == utc(2026, 12, 31, 23, 59, 59));
  CHECK(valid_civil_date(2024, 2, 29));
  CHECK_FALSE(valid_civil_date(2026, 2, 29));
  CHECK_FALSE(valid_civil_date(2026, 13, 1));
  CHECK_FALSE(valid_civil_date(2026, 1, 0));
  CHECK(days_in_month(2026, 2) == 28);
  CHECK(days_in_month(2024, 2) == 29);
  CHECK(days_in_month(2026, 0) == 0);
}

TEST_CASE("parse_rfc3339 refuses times before 1970 and offsets beyond 23:59", "[time]") {
  CHECK_FALSE(parse_rfc3339("0001-01-01T00:00:00Z"));
  CHECK_FALSE(parse_rfc3339("1969-12-31T23:59:59.999999Z"));
  CHECK_FALSE(parse_rfc3339("1970-01-01T00:59:59+01:00"));  // 1969 in UTC
  CHECK(parse_rfc3339("1970-01-01T00:00:00Z") == kEarliestTime);
  CHECK(parse_rfc3339("1970-01-01T01:00:00+01:00") == kEarliestTime);
  CHECK_FALSE(parse_rfc3339("2026-11-28T05:00:36+24:00"));
  CHECK_FALSE(parse_rfc3339("2026-11-28T05:00:36+09:60"));
  CHECK_FALSE(parse_rfc3339("2026-11-28T05:00:36-99:99"));
  CHECK(parse_rfc3339("2026-11-28T05:00:36-23:59") ==
        utc(2026, 11, 28, 5, 0, 36) + seconds(23 * 3600 + 59 * 60));
}

TEST_CASE("parse_rfc3339_exact takes RFC 3339 section 5.6 only, and the whole text", "[time]") {
  CHECK(parse_rfc3339_exact("2026-11-28T05:00:36.618019Z") == utc(2026, 11, 28, 5, 0, 36, 618019));
  CHECK(parse_rfc3339_exact("2026-11-28t05:00:36z") == utc(2026, 11, 28, 5, 0, 36));
  CHECK(parse_rfc3339_exact("2026-11-28T14:00:36.5+09:00") == utc(2026, 11, 28, 5, 0, 36, 500000));
  CHECK_FALSE(parse_rfc3339_exact("2026-11-28 05:00:36Z"));          // the log form's space
  CHECK_FALSE(parse_rfc3339_exact("2026-11-28T05:00:36,5Z"));        // a comma fraction
  CHECK_FALSE(parse_rfc3339_exact("2026-11-28T05:00:36+0900"));      // an offset without ':'
  CHECK_FALSE(parse_rfc3339_exact("2026-11-28T05:00:36"));           // no zone
  CHECK_FALSE(parse_rfc3339_exact("2026-11-28T05:00:36Z gw1"));      // text after it
  CHECK_FALSE(parse_rfc3339_exact("2026-11-28T05:00:36.1234567Z"));  // finer than microseconds
  CHECK_FALSE(parse_rfc3339_exact("0001-01-01T00:00:00Z"));
}

// --- parse_duration ---------------------------------------------------------------------------

TEST_CASE("parse_duration reads ms, s, m, min, h and d suffixes and bare seconds", "[time]") {
  CHECK(parse_duration("250ms") == Duration{250'000});
  CHECK(parse_duration("5s") == seconds(5));
  CHECK(parse_duration("30m") == seconds(1800));
  CHECK(parse_duration("2min") == seconds(120));
  CHECK(parse_duration("1h") == seconds(3600));
  CHECK(parse_duration("2d") == seconds(2 * 86400));
  CHECK(parse_duration("90") == seconds(90));
  CHECK(parse_duration("0s") == Duration{0});
}

TEST_CASE("parse_duration rejects garbage, signs, fractions and absurd values", "[time]") {
  CHECK_FALSE(parse_duration(""));
  CHECK_FALSE(parse_duration("s"));
  CHECK_FALSE(parse_duration("ms"));
  CHECK_FALSE(parse_duration("5x"));
  CHECK_FALSE(parse_duration("5 s"));
  CHECK_FALSE(parse_duration("-5s"));
  CHECK_FALSE(parse_duration("+5s"));
  CHECK_FALSE(parse_duration("1.5h"));
  CHECK_FALSE(parse_duration("5sec"));
  CHECK_FALSE(parse_duration("5S"));
  CHECK_FALSE(parse_duration("99999999999999999999999d"));
}

TEST_CASE("parse_duration refuses values whose microseconds overflow, and says so", "[time]") {
  // 2^63 - 1 microseconds is 106751991 days and a bit: the largest of each unit fits.
  CHECK(parse_duration("106751991d") == seconds(106751991LL * 86400));
  CHECK(parse_duration("2562047788h") == seconds(2562047788LL * 3600));
  CHECK(parse_duration("153722867280m") == seconds(153722867280LL * 60));
  CHECK(parse_duration("9223372036854s") == seconds(9223372036854LL));
  CHECK(parse_duration("9223372036854775ms") == Duration{9223372036854775000LL});
  for (const char* text :
       {"106751992d", "2562047789h", "153722867281m", "9223372036855s", "9223372036855",
        "9223372036854776ms", "9223372036854775808s", "99999999999999999999999999999999999999h"}) {
    INFO(text);
    DurationProblem problem = DurationProblem::kNone;
    CHECK_FALSE(parse_duration(text, &problem));
    CHECK(problem == DurationProblem::kTooLarge);
  }
  DurationProblem problem = DurationProblem::kNone;
  CHECK_FALSE(parse_duration("5x", &problem));
  CHECK(problem == DurationProblem::kMalformed);
  CHECK(parse_duration("5s", &problem) == seconds(5));
  CHECK(problem == DurationProblem::kNone);
}

// --- LocalTimeResolver ------------------------------------------------------------------------

TEST_CASE("LocalTimeResolver treats UTC names as UTC", "[time]") {
  for (const char* name : {"UTC", "Etc/UTC", "GMT"}) {
    LocalTimeResolver zone(name);
    CHECK(zone.zone() == name);
    CHECK(zone.to_utc(2026, 11, 28, 5, 0, 36, 618019) == utc(2026, 11, 28, 5, 0, 36, 618019));
  }
}

TEST_CASE("LocalTimeResolver converts Asia/Tokyo wall time nine hours back", "[time]") {
  LocalTimeResolver tokyo("Asia/Tokyo");
  CHECK(tokyo.to_utc(2026, 11, 28, 14, 0, 59) == utc(2026, 11, 28, 5, 0, 59));
  // across midnight: 05:00:59 in Tokyo is the previous day in UTC
  CHECK(tokyo.to_utc(2026, 11, 28, 5, 0, 59) == utc(2026, 11, 27, 20, 0, 59));
  // Japan has no DST: the same nine hours in summer
  CHECK(tokyo.to_utc(2026, 7, 1, 12, 0, 0, 250) == utc(2026, 7, 1, 3, 0, 0, 250));
  // a second call for the same hour (cached) gives the same answer
  CHECK(tokyo.to_utc(2026, 11, 28, 14, 59, 59) == utc(2026, 11, 28, 5, 59, 59));
}

TEST_CASE("LocalTimeResolver follows Europe/Berlin across both DST changes of 2026", "[time]") {
  LocalTimeResolver berlin("Europe/Berlin");
  // Spring forward on 2026-03-29 at 02:00 CET -> 03:00 CEST.
  CHECK(berlin.to_utc(2026, 3, 29, 1, 30, 0) == utc(2026, 3, 29, 0, 30, 0));  // CET  +1
  CHECK(berlin.to_utc(2026, 3, 29, 3, 30, 0) == utc(2026, 3, 29, 1, 30, 0));  // CEST +2
  CHECK(berlin.to_utc(2026, 7, 15, 12, 0, 0) == utc(2026, 7, 15, 10, 0, 0));  // CEST +2
  // Fall back on 2026-10-25 at 03:00 CEST -> 02:00 CET.
  CHECK(berlin.to_utc(2026, 10, 25, 1, 30, 0) == utc(2026, 10, 24, 23, 30, 0));  // CEST +2
  CHECK(berlin.to_utc(2026, 10, 25, 4, 30, 0) == utc(2026, 10, 25, 3, 30, 0));   // CET  +1
  CHECK(berlin.to_utc(2026, 12, 31, 23, 59, 59) == utc(2026, 12, 31, 22, 59, 59));
}

TEST_CASE("LocalTimeResolver leaves the process TZ untouched", "[time]") {
  const char* before = std::getenv("TZ");
  const std::string saved = before ? before : "<unset>";
  LocalTimeResolver tokyo("Asia/Tokyo");
  tokyo.to_utc(2025, 1, 2, 3, 4, 5);
  const char* after = std::getenv("TZ");
  CHECK((after ? std::string(after) : std::string("<unset>")) == saved);
}

TEST_CASE("LocalTimeResolver::zone_exists knows tz database names and refuses paths", "[time]") {
  CHECK(LocalTimeResolver::zone_exists("UTC"));
  CHECK(LocalTimeResolver::zone_exists(""));
  CHECK(LocalTimeResolver::zone_exists("Asia/Tokyo"));
  CHECK(LocalTimeResolver::zone_exists("Europe/Berlin"));
  CHECK_FALSE(LocalTimeResolver::zone_exists("Mars/Olympus_Mons"));
  CHECK_FALSE(LocalTimeResolver::zone_exists("../../etc/passwd"));
  CHECK_FALSE(LocalTimeResolver::zone_exists("/etc/passwd"));
}

// --- IpAddress --------------------------------------------------------------------------------

TEST_CASE("IpAddress parses dotted quads and prints them back", "[net]") {
  // client of relay1 in tests/fixtures/scenario; log-formats.md §3.2(a) mail.domain.com hop
  for (const char* text : {"10.1.0.25", "192.168.1.99", "0.0.0.0", "255.255.255.255"}) {
    const auto a = IpAddress::parse(text);
    REQUIRE(a);
    CHECK(a->is_v4());
    CHECK(a->to_string() == text);
  }
}

TEST_CASE("IpAddress prints IPv6 in RFC 5952 canonical form", "[net]") {
  // log-formats.md §3.2(h) [C: postfix-logwatch] and §8 [P: spiller.me blog]
  CHECK(ip("2001:dead:beef::1").to_string() == "2001:dead:beef::1");
  CHECK(ip("2a02:2e0:3fe:1001::beef").to_string() == "2a02:2e0:3fe:1001::beef");
  CHECK(ip("2001:DB8::1").to_string() == "2001:db8::1");
  CHECK(ip("2001:0db8:0000:0000:0000:0000:0000:0001").to_string() == "2001:db8::1");
  CHECK(ip("2001:db8:0:0:1:0:0:1").to_string() == "2001:db8::1:0:0:1");
  CHECK(ip("::1").to_string() == "::1");
  CHECK_FALSE(ip("2001:db8::1").is_v4());
  CHECK(ip("2001:DB8::1") == ip("2001:0db8::0001"));
}

TEST_CASE("IpAddress accepts sendmail's IPv6: prefix", "[net]") {
  // log-formats.md §2.3(f) [R:fail2ban sendmail-reject]: "example.com [IPv6:2001:DB8::1]"
  CHECK(ip("IPv6:2001:DB8::1") == ip("2001:db8::1"));
  CHECK(ip("IPv6:2001:DB8::1").to_string() == "2001:db8::1");
  CHECK(ip("ipv6:::1").to_string() == "::1");
  CHECK(ip("IPv6:3ffe::1").to_string() == "3ffe::1");  // log-formats.md §6 amavis 2.2 line
}

TEST_CASE("IpAddress treats an IPv4-mapped IPv6 address as the IPv4 address", "[net]") {
  const auto mapped = ip("::ffff:10.1.0.25");
  CHECK(mapped.is_v4());
  CHECK(mapped == ip("10.1.0.25"));
  CHECK(mapped.to_string() == "10.1.0.25");
  CHECK(mapped.hash() == ip("10.1.0.25").hash());
  CHECK(IpAddressHash{}(ip("10.1.0.25")) != IpAddressHash{}(ip("10.1.0.26")));
}

TEST_CASE("IpAddress rejects host names, placeholders and garbage", "[net]") {
  for (const char* text :
       {"", "unknown", "localhost", "gw1.example.ac.jp", "10.1.0", "10.1.0.256", "999.1.1.1",
        "10.1.0.25 ", " 10.1.0.25", "[10.1.0.25]", "10.1.0.25:25", "ip4.ip4.ip4.ip4",
        "2001:db8::1::2", "2001:db8:::1", "IPv6:", "IPv6:10", "gggg::1", "private/dovecot-lmtp",
        "1234:5678:9abc:def0:1234:5678:9abc:def0:1234:5678:9abc"}) {
    INFO(text);
    CHECK_FALSE(IpAddress::parse(text));
  }
  CHECK_FALSE(IpAddress::parse(std::string(200, '1')));
}

TEST_CASE("IpAddress rejects an address followed by a NUL byte and more text", "[net]") {
  // A view that goes on after a NUL is not an address; inet_pton would stop at the NUL.
  CHECK_FALSE(IpAddress::parse(std::string_view("10.1.0.25\0junk", 14)));
  CHECK_FALSE(IpAddress::parse(std::string_view("2001:db8::1\0:ffff", 18)));
}

TEST_CASE("IpAddress knows IPv4 and IPv6 loopback addresses", "[net]") {
  CHECK(ip("127.0.0.1").is_loopback());
  CHECK(ip("127.10.20.30").is_loopback());
  CHECK(ip("::1").is_loopback());
  CHECK(ip("IPv6:::1").is_loopback());
  CHECK(ip("::ffff:127.0.0.1").is_loopback());
  CHECK_FALSE(ip("128.0.0.1").is_loopback());
  CHECK_FALSE(ip("10.0.0.1").is_loopback());
  CHECK_FALSE(ip("::").is_loopback());
  CHECK_FALSE(ip("::2").is_loopback());
  CHECK_FALSE(ip("2001:db8::1").is_loopback());
}

// --- Cidr -------------------------------------------------------------------------------------

TEST_CASE("Cidr /8 contains exactly the IPv4 addresses of its first octet", "[net]") {
  const auto net = Cidr::parse("10.0.0.0/8");
  REQUIRE(net);
  CHECK(net->prefix_length() == 96 + 8);
  CHECK(net->contains(ip("10.1.0.25")));
  CHECK(net->contains(ip("10.255.255.255")));
  CHECK(net->contains(ip("10.0.0.0")));
  CHECK(net->contains(ip("::ffff:10.20.1.40")));
  CHECK_FALSE(net->contains(ip("11.0.0.1")));
  CHECK_FALSE(net->contains(ip("9.255.255.255")));
  CHECK_FALSE(net->contains(ip("a00::1")));  // same leading byte in the IPv6 space
}

TEST_CASE("Cidr masks partial bytes of the prefix", "[net]") {
  const auto net = Cidr::parse("192.0.2.16/28");
  REQUIRE(net);
  CHECK(net->contains(ip("192.0.2.16")));
  CHECK(net->contains(ip("192.0.2.31")));
  CHECK_FALSE(net->contains(ip("192.0.2.15")));
  CHECK_FALSE(net->contains(ip("192.0.2.32")));
  const auto host_bits = Cidr::parse("10.1.2.3/8");  // host bits set: still the /8
  REQUIRE(host_bits);
  CHECK(host_bits->contains(ip("10.200.0.1")));
}

TEST_CASE("Cidr /48 contains the IPv6 addresses under that prefix", "[net]") {
  const auto net = Cidr::parse("2001:db8:100::/48");
  REQUIRE(net);
  CHECK(net->prefix_length() == 48);
  CHECK(net->contains(ip("2001:db8:100::1")));
  CHECK(net->contains(ip("2001:db8:100:ffff:ffff:ffff:ffff:ffff")));
  CHECK(net->contains(ip("IPv6:2001:DB8:100:1::25")));
  CHECK_FALSE(net->contains(ip("2001:db8:101::1")));
  CHECK_FALSE(net->contains(ip("2001:db8:ff::1")));
  CHECK_FALSE(net->contains(ip("10.1.0.25")));
}

TEST_CASE("Cidr of a bare address contains only that address", "[net]") {
  const auto v4 = Cidr::parse("192.0.2.25");
  REQUIRE(v4);
  CHECK(v4->prefix_length() == 128);
  CHECK(v4->contains(ip("192.0.2.25")));
  CHECK_FALSE(v4->contains(ip("192.0.2.26")));
  const auto v6 = Cidr::parse("2001:db8::25");
  REQUIRE(v6);
  CHECK(v6->prefix_length() == 128);
  CHECK(v6->contains(ip("2001:db8::25")));
  CHECK_FALSE(v6->contains(ip("2001:db8::26")));
}

TEST_CASE("Cidr /0 networks contain their whole family", "[net]") {
  const auto all_v4 = Cidr::parse("0.0.0.0/0");
  REQUIRE(all_v4);
  CHECK(all_v4->contains(ip("203.0.113.239")));
  CHECK_FALSE(all_v4->contains(ip("2001:db8::1")));
  const auto all = Cidr::parse("::/0");
  REQUIRE(all);
  CHECK(all->contains(ip("2001:db8::1")));
  CHECK(all->contains(ip("203.0.113.239")));
}

TEST_CASE("Cidr rejects bad prefixes and bad addresses", "[net]") {
  for (const char* text :
       {"10.0.0.0/33", "2001:db8::/129", "10.0.0.0/", "10.0.0.0/x", "10.0.0.0/-1", "10.0.0.0/0008",
        "10.0.0/8", "campus/8", "", "/8", "10.0.0.0/8/8"}) {
    INFO(text);
    CHECK_FALSE(Cidr::parse(text));
  }
}

TEST_CASE("IpAddress prints every IPv4 byte value as inet_ntop does", "[net]") {
  for (unsigned v = 0; v < 256; ++v) {
    for (const unsigned at : {0u, 1u, 2u, 3u}) {
      unsigned char bytes[4] = {10, 0, 99, 255};
      bytes[at] = static_cast<unsigned char>(v);
      char expected[INET_ADDRSTRLEN];
      REQUIRE(inet_ntop(AF_INET, bytes, expected, sizeof expected) != nullptr);
      const auto address = vtrace::IpAddress::parse(expected);
      REQUIRE(address);
      CHECK(address->to_string() == expected);
    }
  }
}
