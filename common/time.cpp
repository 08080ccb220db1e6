// Civil-time arithmetic, RFC 3339 parsing/formatting and local-zone resolution.
#include "common/time.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <limits>
#include <unordered_map>

namespace vtrace {

std::int64_t days_from_civil(int year, unsigned month, unsigned day) {
  year -= month <= 2;
  const std::int64_t era = (year >= 0 ? year : year - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(year - era * 400);
  const unsigned doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

unsigned days_in_month(int year, unsigned month) {
  constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12) return 0;
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return kDays[month - 1] + (month == 2 && leap ? 1 : 0);
}

bool valid_civil_date(int year, int month, int day) {
  return month >= 1 && month <= 12 && day >= 1 &&
         static_cast<unsigned>(day) <= days_in_month(year, static_cast<unsigned>(month));
}

TimePoint make_utc(int year, int month, int day, int hour, int minute, int second,
                   std::int64_t micros) {
  const std::int64_t days =
      days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  return ((days * 86400 + hour * 3600 + minute * 60 + second) * kMicrosPerSecond) + micros;
}

namespace {

bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    const char c = s[i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  return true;
}

// The optional fraction of a second at `pos` ('.' or ',' and at least one digit; digits past
// the sixth are read past and dropped), moving `pos` past it. False when malformed.
bool fraction(std::string_view s, std::size_t& pos, std::int64_t& micros) {
  micros = 0;
  if (pos >= s.size() || (s[pos] != '.' && s[pos] != ',')) return true;
  ++pos;
  int n = 0;
  while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
    if (n < 6) {
      micros = micros * 10 + (s[pos] - '0');
      ++n;
    }
    ++pos;
  }
  if (n == 0) return false;
  while (n++ < 6) micros *= 10;
  return true;
}

void civil_from_days(std::int64_t z, int& y, unsigned& m, unsigned& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t yy = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = static_cast<int>(yy + (m <= 2));
}

}  // namespace

namespace {

enum class Rfc3339Form {
  kLogLine,  // the front of a log line: ' ' for 'T', ',' fractions, +hhmm, text after a space
  kExact,    // the whole text, RFC 3339 section 5.6 only
};

std::optional<TimePoint> parse_rfc3339_form(std::string_view s, Rfc3339Form form,
                                            bool assume_utc_if_no_zone) {
  const bool exact = form == Rfc3339Form::kExact;
  int year, month, day, hour, minute, second;
  if (!digits(s, 0, 4, year) || s.size() < 19 || s[4] != '-' || !digits(s, 5, 2, month) ||
      s[7] != '-' || !digits(s, 8, 2, day) ||
      (s[10] != 'T' && s[10] != 't' && (exact || s[10] != ' ')) || !digits(s, 11, 2, hour) ||
      s[13] != ':' || !digits(s, 14, 2, minute) || s[16] != ':' || !digits(s, 17, 2, second)) {
    return std::nullopt;
  }
  if (!valid_civil_date(year, month, day) || hour > 23 || minute > 59 || second > 60) {
    return std::nullopt;
  }
  std::size_t pos = 19;
  std::int64_t micros = 0;
  if (exact && pos < s.size() && s[pos] == ',') return std::nullopt;
  const std::size_t fraction_start = pos;
  if (!fraction(s, pos, micros)) return std::nullopt;
  // ".dddddd" at most: a finer fraction would be cut, and a contract carries what it says.
  if (exact && pos - fraction_start > 7) return std::nullopt;
  std::int64_t offset_seconds = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    const int sign = s[pos] == '-' ? -1 : 1;
    int oh, om;
    if (!digits(s, pos + 1, 2, oh)) return std::nullopt;
    std::size_t mpos = pos + 3;
    if (mpos < s.size() && s[mpos] == ':') {
      ++mpos;
    } else if (exact) {
      return std::nullopt;
    }
    if (!digits(s, mpos, 2, om) || oh > 23 || om > 59) return std::nullopt;
    offset_seconds = sign * (oh * 3600 + om * 60);
    pos = mpos + 2;
  } else if (exact || !assume_utc_if_no_zone) {
    return std::nullopt;
  }
  if (pos < s.size() && (exact || s[pos] != ' ')) return std::nullopt;
  const TimePoint t =
      make_utc(year, month, day, hour, minute, second, micros) - offset_seconds * kMicrosPerSecond;
  if (t < kEarliestTime || t > kLatestTime) return std::nullopt;
  return t;
}

}  // namespace

std::optional<TimePoint> parse_rfc3339(std::string_view s, bool assume_utc_if_no_zone) {
  return parse_rfc3339_form(s, Rfc3339Form::kLogLine, assume_utc_if_no_zone);
}

std::optional<TimePoint> parse_rfc3339_exact(std::string_view s) {
  return parse_rfc3339_form(s, Rfc3339Form::kExact, false);
}

std::optional<TimePoint> Rfc3339Parser::parse(std::string_view text) {
  // "YYYY-MM-DDTHH:MM:" before the seconds.
  constexpr std::size_t kMinuteSize = kSecondSize - 2;
  if (cached_ && text.size() >= kSecondSize &&
      std::memcmp(text.data(), second_, kMinuteSize) == 0) {
    std::size_t pos = kSecondSize;
    std::int64_t micros = 0;
    // The same zone text after the fraction means the same checks pass and the same offset
    // applies: the second's base stands, or a new second of its minute follows from the
    // minute's (the offset cannot change within a minute).
    int second = 0;
    if (fraction(text, pos, micros) && text.substr(pos) == zone_ &&
        digits(text, kMinuteSize, 2, second) && second < 60) {
      if (text[kMinuteSize] != second_[kMinuteSize] ||
          text[kMinuteSize + 1] != second_[kMinuteSize + 1]) {
        std::memcpy(second_ + kMinuteSize, text.data() + kMinuteSize, 2);
        base_ = minute_base_ + second * kMicrosPerSecond;
      }
      return base_ + micros;
    }
  }
  const auto t = parse_rfc3339(text);
  if (!t) return t;
  std::size_t pos = kSecondSize;
  std::int64_t micros = 0;
  fraction(text, pos, micros);
  int second = 0;
  digits(text, kMinuteSize, 2, second);
  std::memcpy(second_, text.data(), kSecondSize);
  zone_.assign(text.substr(pos));
  base_ = *t - micros;
  minute_base_ = base_ - second * kMicrosPerSecond;
  // A leap second's minute has no base to reuse.
  cached_ = second < 60;
  return t;
}

void append_rfc3339(std::string& out, TimePoint t) {
  std::int64_t secs = t / kMicrosPerSecond;
  std::int64_t micros = t % kMicrosPerSecond;
  if (micros < 0) {
    micros += kMicrosPerSecond;
    secs -= 1;
  }
  std::int64_t days = secs / 86400;
  std::int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    days -= 1;
  }
  int y;
  unsigned m, d;
  civil_from_days(days, y, m, d);
  if (y < 0 || y > 9999) {
    char buf[40];
    const int n = std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%06lldZ", y, m, d,
                                static_cast<int>(rem / 3600), static_cast<int>(rem / 60 % 60),
                                static_cast<int>(rem % 60), static_cast<long long>(micros));
    out.append(buf, static_cast<std::size_t>(n));
    return;
  }
  // Incidents carry several times each: digits by hand, not snprintf.
  char buf[28] = "0000-00-00T00:00:00.000000Z";
  auto put = [&buf](std::size_t at, std::size_t width, std::uint64_t v) {
    for (std::size_t i = at + width; i-- > at; v /= 10) buf[i] = static_cast<char>('0' + v % 10);
  };
  put(0, 4, static_cast<std::uint64_t>(y));
  put(5, 2, m);
  put(8, 2, d);
  put(11, 2, static_cast<std::uint64_t>(rem / 3600));
  put(14, 2, static_cast<std::uint64_t>(rem / 60 % 60));
  put(17, 2, static_cast<std::uint64_t>(rem % 60));
  put(20, 6, static_cast<std::uint64_t>(micros));
  out.append(buf, sizeof buf - 1);
}

std::string format_rfc3339(TimePoint t) {
  std::string out;
  append_rfc3339(out, t);
  return out;
}

std::optional<Duration> parse_duration(std::string_view text, DurationProblem* problem) {
  auto refuse = [problem](DurationProblem why) -> std::optional<Duration> {
    if (problem) *problem = why;
    return std::nullopt;
  };
  if (problem) *problem = DurationProblem::kNone;
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  std::size_t pos = 0;
  std::int64_t value = 0;
  bool too_large = false;
  while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
    const int digit = text[pos] - '0';
    if (value > (kMax - digit) / 10) {
      too_large = true;
    } else {
      value = value * 10 + digit;
    }
    ++pos;
  }
  if (pos == 0) return refuse(DurationProblem::kMalformed);
  const std::string_view unit = text.substr(pos);
  std::int64_t micros_per_unit = 0;
  if (unit.empty() || unit == "s") {
    micros_per_unit = kMicrosPerSecond;
  } else if (unit == "ms") {
    micros_per_unit = 1000;
  } else if (unit == "m" || unit == "min") {
    micros_per_unit = 60 * kMicrosPerSecond;
  } else if (unit == "h") {
    micros_per_unit = 3600 * kMicrosPerSecond;
  } else if (unit == "d") {
    micros_per_unit = 86400 * kMicrosPerSecond;
  } else {
    return refuse(DurationProblem::kMalformed);
  }
  Duration out = 0;
  if (too_large || __builtin_mul_overflow(value, micros_per_unit, &out)) {
    return refuse(DurationProblem::kTooLarge);
  }
  return out;
}

std::string duration_text(Duration d) {
  if (d == 0) return "0s";
  if (d % kDay == 0) return std::to_string(d / kDay) + "d";
  if (d % kHour == 0) return std::to_string(d / kHour) + "h";
  if (d % kMinute == 0) return std::to_string(d / kMinute) + "m";
  if (d % seconds(1) == 0) return std::to_string(d / seconds(1)) + "s";
  return std::to_string(d / 1000) + "ms";
}

LocalTimeResolver::LocalTimeResolver(std::string zone) : zone_(std::move(zone)) {
  utc_ = zone_ == "UTC" || zone_ == "Etc/UTC" || zone_ == "Z" || zone_ == "GMT";
}

bool LocalTimeResolver::zone_exists(const std::string& zone) {
  if (zone.empty() || zone == "UTC" || zone == "Etc/UTC" || zone == "GMT" || zone == "Z") {
    return true;
  }
  if (zone.find("..") != std::string::npos || zone.front() == '/') return false;
  std::error_code ec;
  return std::filesystem::is_regular_file("/usr/share/zoneinfo/" + zone, ec);
}

std::int64_t LocalTimeResolver::offset_for_hour(int year, int month, int day, int hour) {
  const std::int64_t key = ((static_cast<std::int64_t>(year) * 13 + month) * 32 + day) * 24 + hour;
  if (key == cached_key_) return cached_offset_;
  static std::unordered_map<std::string, std::unordered_map<std::int64_t, std::int64_t>> cache;
  auto& zone_cache = cache[zone_];
  auto it = zone_cache.find(key);
  if (it == zone_cache.end()) {
    // mktime() consults the TZ environment variable; swap it in for the call only.
    const char* previous = std::getenv("TZ");
    const std::string saved = previous ? previous : "";
    if (!zone_.empty()) setenv("TZ", zone_.c_str(), 1);
    tzset();
    std::tm tm{};
    tm.tm_year = year - 1900;
    tm.tm_mon = month - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = 30;
    tm.tm_isdst = -1;
    const std::time_t local_epoch = mktime(&tm);
    if (!zone_.empty()) {
      if (previous) {
        setenv("TZ", saved.c_str(), 1);
      } else {
        unsetenv("TZ");
      }
      tzset();
    }
    const std::int64_t as_if_utc = make_utc(year, month, day, hour, 30, 0) / kMicrosPerSecond;
    it = zone_cache.emplace(key, as_if_utc - static_cast<std::int64_t>(local_epoch)).first;
  }
  cached_key_ = key;
  cached_offset_ = it->second;
  return cached_offset_;
}

TimePoint LocalTimeResolver::to_utc(int year, int month, int day, int hour, int minute, int second,
                                    std::int64_t micros) {
  const TimePoint wall = make_utc(year, month, day, hour, minute, second, micros);
  if (utc_) return wall;
  return wall - offset_for_hour(year, month, day, hour) * kMicrosPerSecond;
}

}  // namespace vtrace
