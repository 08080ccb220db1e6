// Time values used across vtrace: microseconds since the Unix epoch, UTC.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vtrace {

// Microseconds since 1970-01-01T00:00:00Z. A plain integer keeps records small and
// comparisons cheap; the log formats we read never need more than microseconds.
using TimePoint = std::int64_t;
using Duration = std::int64_t;  // microseconds

constexpr Duration kMicrosPerSecond = 1'000'000;
constexpr Duration seconds(std::int64_t s) { return s * kMicrosPerSecond; }
constexpr Duration kMinute = seconds(60);
constexpr Duration kHour = seconds(3600);
constexpr Duration kDay = seconds(86400);

// Days since the epoch for a proleptic Gregorian civil date (Howard Hinnant's algorithm).
std::int64_t days_from_civil(int year, unsigned month, unsigned day);

// The days of a month of the proleptic Gregorian calendar (0 for a month outside 1..12).
unsigned days_in_month(int year, unsigned month);
// True when year-month-day names a real calendar day (2026-02-29 does not).
bool valid_civil_date(int year, int month, int day);

// Builds a UTC time point from civil fields; does not validate ranges beyond what callers check.
TimePoint make_utc(int year, int month, int day, int hour, int minute, int second,
                   std::int64_t micros = 0);

// The earliest time any parser accepts: 1970-01-01T00:00:00Z. No mail log predates the Unix
// epoch, so an earlier time (a year 0001 in a forged or corrupt line) is refused, not carried.
constexpr TimePoint kEarliestTime = 0;
// The latest: 9999-12-31T23:59:59.999999Z, the last time RFC 3339's four-digit year can write.
// A local time of year 9999 with a negative offset is in year 10000 in UTC, which no formatter
// here could write back; it is refused like any other time out of range.
constexpr TimePoint kLatestTime = 253'402'300'799'999'999;

// Parses "2026-11-28T05:00:36.618019+00:00", "...Z", "...+0000", or with a space instead of
// 'T'; the text may go on after a space (the front of a log line). A missing zone is treated
// as UTC only when `assume_utc_if_no_zone`, else fails. The date must exist (no 2026-02-29),
// the offset be at most 23:59, and the time be within [kEarliestTime, kLatestTime].
std::optional<TimePoint> parse_rfc3339(std::string_view text, bool assume_utc_if_no_zone = false);

// The whole text as one RFC 3339 date-time and nothing else, for contracts (incident JSON):
// 'T' between date and time, a fraction of '.' and at most six digits (microseconds, nothing
// is truncated), and a zone of 'Z' or +hh:mm / -hh:mm; the same calendar and epoch checks.
std::optional<TimePoint> parse_rfc3339_exact(std::string_view text);

// parse_rfc3339() (zone required) for a stream of times: consecutive log lines mostly share
// their second and zone, and then only the fraction is read again, against the last line's; a
// new second of the same minute and zone is computed from the minute's.
class Rfc3339Parser {
 public:
  static constexpr std::size_t kSecondSize = 19;  // "2026-11-28T05:00:36"

  std::optional<TimePoint> parse(std::string_view text);

  // The time the next parse starts from, for callers with a faster check of their own (valid
  // while `cached()`): its first kSecondSize characters, the text after its fraction, and
  // that second in UTC.
  bool cached() const { return cached_; }
  std::string_view second() const { return {second_, kSecondSize}; }
  std::string_view zone() const { return zone_; }
  TimePoint second_base() const { return base_; }

 private:
  char second_[kSecondSize] = {};
  std::string zone_;
  TimePoint base_ = 0;
  TimePoint minute_base_ = 0;  // base_ less its seconds
  bool cached_ = false;
};

// Formats as RFC 3339 UTC with microseconds: "2026-11-28T05:00:36.618019Z".
std::string format_rfc3339(TimePoint t);
// The same, appended to `out`.
void append_rfc3339(std::string& out, TimePoint t);

// Why parse_duration() refused a text.
enum class DurationProblem {
  kNone,
  kMalformed,  // not digits followed by one of the units
  kTooLarge,   // more microseconds than a Duration holds (106751991 days and a bit)
};

// Parses a duration such as "5s", "30m", "1h", "250ms", "2d", or a bare number of seconds.
// Every step is overflow-checked: a value whose microseconds do not fit is refused (kTooLarge),
// never wrapped.
std::optional<Duration> parse_duration(std::string_view text, DurationProblem* problem = nullptr);
// A duration as configurations write it, in the largest unit that divides it ("30m", "5s",
// "250ms", "1d"); parse_duration() reads it back to the same value. Sub-millisecond parts are
// dropped, as no setting takes them.
std::string duration_text(Duration d);

// Converts local wall-clock fields of a named IANA zone (or "UTC") to UTC. Caches the offset
// per local hour so converting millions of BSD timestamps costs a hash lookup, not mktime().
class LocalTimeResolver {
 public:
  // An empty zone name means the process's own TZ.
  explicit LocalTimeResolver(std::string zone = {});
  TimePoint to_utc(int year, int month, int day, int hour, int minute, int second,
                   std::int64_t micros = 0);
  const std::string& zone() const { return zone_; }
  // True iff the zone name resolves to tz data (or is UTC / empty).
  static bool zone_exists(const std::string& zone);

 private:
  std::int64_t offset_for_hour(int year, int month, int day, int hour);
  std::string zone_;
  bool utc_ = false;
  std::int64_t cached_key_ = -1;
  std::int64_t cached_offset_ = 0;
};

}  // namespace vtrace
