// Syslog envelope decoding. Every form we meet in mail logs, without regex or allocation.
#include "module/input/syslog_envelope.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <ctime>

#include "common/text.hpp"

namespace vtrace {

namespace {

constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// The ".123456" after a timestamp's seconds, when text[pos] is '.': consumes the point and
// every digit, and returns the microseconds the first six name (0 for "." alone).
std::int64_t fraction_micros(std::string_view text, std::size_t& pos) {
  if (pos >= text.size() || text[pos] != '.') return 0;
  std::int64_t micros = 0;
  int n = 0;
  for (++pos; pos < text.size() && is_digit(text[pos]); ++pos) {
    if (n < 6) {
      micros = micros * 10 + (text[pos] - '0');
      ++n;
    }
  }
  while (n > 0 && n++ < 6) micros *= 10;
  return micros;
}

int two_digits(std::string_view s, std::size_t pos) {
  if (pos + 2 > s.size() || !is_digit(s[pos]) || !is_digit(s[pos + 1])) return -1;
  return (s[pos] - '0') * 10 + (s[pos + 1] - '0');
}

void skip_spaces(std::string_view& s) {
  std::size_t n = 0;
  while (n < s.size() && s[n] == ' ') ++n;
  s.remove_prefix(n);
}

// RFC 5424's header fields are short: a plain loop beats a memchr call.
std::string_view next_token(std::string_view& s) {
  skip_spaces(s);
  std::size_t end = 0;
  while (end < s.size() && s[end] != ' ') ++end;
  std::string_view token = s.substr(0, end);
  s.remove_prefix(end);
  return token;
}

std::uint64_t load_word(const char* p) {
  std::uint64_t w;
  std::memcpy(&w, p, 8);
  return w;
}

constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
constexpr std::uint64_t kHighs = 0x8080808080808080ULL;
// The high bit of each byte of `v` that is zero (exact up to the first such byte).
std::uint64_t zero_bytes(std::uint64_t v) { return (v - kOnes) & ~v & kHighs; }

// The position of the first `c` in [p, end), or end: a word at a time while eight bytes remain.
const char* find_byte(const char* p, const char* end, char c) {
  const std::uint64_t pattern = kOnes * static_cast<unsigned char>(c);
  for (; end - p >= 8; p += 8) {
    if (const std::uint64_t hit = zero_bytes(load_word(p) ^ pattern)) {
      return p + __builtin_ctzll(hit) / 8;
    }
  }
  while (p < end && *p != c) ++p;
  return p;
}

// The end of a syslog tag's program name: the first '[', ':' or ' ' in [p, end), or end.
const char* find_tag_end(const char* p, const char* end) {
  for (; end - p >= 8; p += 8) {
    const std::uint64_t w = load_word(p);
    if (const std::uint64_t hit = zero_bytes(w ^ (kOnes * '[')) | zero_bytes(w ^ (kOnes * ':')) |
                                  zero_bytes(w ^ (kOnes * ' '))) {
      return p + __builtin_ctzll(hit) / 8;
    }
  }
  while (p < end && *p != '[' && *p != ':' && *p != ' ') ++p;
  return p;
}

// The six digits at p (p[0..7] readable) as a number, or -1 when they are not all digits:
// one word, checked and converted without a loop (little-endian byte order).
std::int64_t six_digits(const char* p) {
  // "dddddd??" -> "00dddddd": the usual eight-digit conversion then yields the six.
  const std::uint64_t w = (load_word(p) << 16) | 0x3030;
  const bool digits =
      ((w & 0xF0F0F0F0F0F0F0F0ULL) |
       (((w + 0x0606060606060606ULL) & 0xF0F0F0F0F0F0F0F0ULL) >> 4)) == 0x3333333333333333ULL;
  if (!digits) return -1;
  std::uint64_t v = w - 0x3030303030303030ULL;
  v = (v * 10 + (v >> 8)) & 0x00FF00FF00FF00FFULL;
  v = (v * 100 + (v >> 16)) & 0x0000FFFF0000FFFFULL;
  v = (v * 10000 + (v >> 32)) & 0xFFFFFFFFULL;
  return static_cast<std::int64_t>(v);
}

// Equality of two 16..24-byte prefixes, as three overlapping 8-byte words.
bool same_bytes(const char* a, const char* b, std::size_t n) {
  std::uint64_t x[3], y[3];
  std::memcpy(&x[0], a, 8);
  std::memcpy(&y[0], b, 8);
  std::memcpy(&x[1], a + 8, 8);
  std::memcpy(&y[1], b + 8, 8);
  std::memcpy(&x[2], a + n - 8, 8);
  std::memcpy(&y[2], b + n - 8, 8);
  return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2])) == 0;
}

// The bytes that end a syslog tag's program name, as a table: one load per byte.
constexpr auto kTagEnd = [] {
  std::array<bool, 256> table{};
  table['['] = table[':'] = table[' '] = true;
  return table;
}();

// Splits "prog[pid]:" / "prog:" / "prog[pid]" from the front of `rest`. Returns false when
// the text does not look like a syslog tag.
// `recent`: the program of an earlier line, which many lines repeat; compared whole, it saves
// the scan. `repeated` tells whether it was the program of this line too.
bool split_tag(std::string_view& rest, LogLine& line, std::string_view recent, bool& repeated) {
  skip_spaces(rest);
  std::size_t i = 0;
  repeated = !recent.empty() && rest.size() > recent.size() &&
             same_text(rest.substr(0, recent.size()), recent) &&
             kTagEnd[static_cast<unsigned char>(rest[recent.size()])];
  if (repeated) {
    i = recent.size();
  } else {
    // A word at a time: program names run to 15 bytes and more ("postfix/cleanup").
    i = static_cast<std::size_t>(find_tag_end(rest.data(), rest.data() + rest.size()) -
                                 rest.data());
  }
  if (i == 0 || i == rest.size()) return false;
  line.program = rest.substr(0, i);
  if (rest[i] == '[') {
    const std::size_t close = static_cast<std::size_t>(
        find_byte(rest.data() + i + 1, rest.data() + rest.size(), ']') - rest.data());
    if (close == rest.size()) return false;
    line.pid = rest.substr(i + 1, close - i - 1);
    i = close + 1;
  }
  if (i < rest.size() && rest[i] == ':')
    ++i;
  else if (line.pid.empty())
    return false;  // "word word" is not a tag
  rest.remove_prefix(i);
  if (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  // Solaris: "[ID 801593 mail.info] "
  if (rest.size() > 4 && rest.substr(0, 4) == "[ID ") {
    const auto close = rest.find("] ");
    if (close != std::string_view::npos) rest.remove_prefix(close + 2);
  }
  return true;
}

}  // namespace

SyslogEnvelopeDecoder::SyslogEnvelopeDecoder(int year, std::string zone, TimePoint reference)
    : fixed_year_(year), zone_(std::move(zone)) {
  const std::time_t secs = static_cast<std::time_t>(reference / kMicrosPerSecond);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  reference_year_ = tm.tm_year + 1900;
  reference_month_ = tm.tm_mon + 1;
}

int SyslogEnvelopeDecoder::year_for(int month) {
  // A file that crosses New Year goes Dec -> Jan: from then on its lines belong to the next
  // year.
  if (fixed_year_ <= 0) {
    // Inferred from the reference time, which already places December before a January.
    return month > reference_month_ + 1 ? reference_year_ - 1 : reference_year_;
  }
  if (last_month_ == 12 && month == 1) ++rollover_years_;
  last_month_ = month;
  return fixed_year_ + rollover_years_;
}

bool SyslogEnvelopeDecoder::decode_bsd_time(std::string_view& rest, TimePoint& out) {
  // "Nov 28 05:40:01" / "Nov  3 11:35:30" / "Jan 1 01:23:45" (unpadded, seen from some
  // forwarders), optionally with a ".123456" fraction.
  if (rest.size() < 14) return false;
  std::size_t pos;
  if (bsd_cache_valid_ && rest.size() >= 16 && same_bytes(rest.data(), cached_bsd_, 16)) {
    // Same bytes as the last parsed timestamp (and the byte after it): same time, and the
    // same month, so the year inference has nothing to update either.
    out = cached_bsd_base_;
    pos = 15;
  } else if (const int second = rest.size() >= 16 ? two_digits(rest, 13) : -1;
             bsd_cache_valid_ && second >= 0 && second < 60 &&
             std::memcmp(rest.data(), cached_bsd_, 13) == 0) {
    // A new second of the cached minute ("Nov 28 05:40:"): the zone's offset cannot change
    // within a minute.
    out = cached_bsd_minute_base_ + second * kMicrosPerSecond;
    pos = 15;
    std::memcpy(cached_bsd_, rest.data(), 16);
    cached_bsd_base_ = out;
  } else {
    if (!decode_bsd_second(rest, out, pos)) return false;
    if (pos == 15 && rest.size() >= 16) {
      const int second = two_digits(rest, 13);
      std::memcpy(cached_bsd_, rest.data(), 16);
      cached_bsd_base_ = out;
      cached_bsd_minute_base_ = out - second * kMicrosPerSecond;
      bsd_cache_valid_ = second < 60;
    }
  }
  out += fraction_micros(rest, pos);
  rest.remove_prefix(pos);
  return true;
}

bool SyslogEnvelopeDecoder::decode_bsd_second(std::string_view rest, TimePoint& out,
                                              std::size_t& end) {
  int month = 0;
  for (int m = 0; m < 12 && month == 0; ++m) {
    const std::string_view name = kMonths[m];
    if (rest[0] == name[0] && rest[1] == name[1] && rest[2] == name[2]) month = m + 1;
  }
  if (month == 0 || rest[3] != ' ') return false;
  int day;
  std::size_t clock = 7;  // where hh:mm:ss starts
  if (rest[4] == ' ') {
    if (!is_digit(rest[5])) return false;
    day = rest[5] - '0';
  } else if (is_digit(rest[4]) && rest[5] == ' ') {
    day = rest[4] - '0';
    clock = 6;
  } else {
    day = two_digits(rest, 4);
  }
  if (rest.size() < clock + 8) return false;
  const int hour = two_digits(rest, clock);
  const int minute = two_digits(rest, clock + 3);
  const int second = two_digits(rest, clock + 6);
  if (day < 1 || day > 31 || rest[clock - 1] != ' ' || rest[clock + 2] != ':' ||
      rest[clock + 5] != ':' || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 ||
      second > 60) {
    return false;
  }
  end = clock + 8;
  // "Feb 29" in a year that has none (the year is inferred): refused, not moved to March 1st.
  const int year = year_for(month);
  if (!valid_civil_date(year, month, day)) return false;
  out = zone_.to_utc(year, month, day, hour, minute, second);
  return true;
}

bool SyslogEnvelopeDecoder::decode_cisco_time(std::string_view& rest, TimePoint& out) {
  if (rest.size() < 20) return false;
  int month = 0;
  for (int m = 0; m < 12 && month == 0; ++m) {
    if (rest.substr(0, 3) == kMonths[m]) month = m + 1;
  }
  const int day = rest[4] == ' ' && is_digit(rest[5]) ? rest[5] - '0' : two_digits(rest, 4);
  const int century = two_digits(rest, 7);
  const int decade = two_digits(rest, 9);
  const int hour = two_digits(rest, 12);
  const int minute = two_digits(rest, 15);
  const int second = two_digits(rest, 18);
  if (month == 0 || rest[3] != ' ' || rest[6] != ' ' || rest[11] != ' ' || rest[14] != ':' ||
      rest[17] != ':' || century < 19 || decade < 0 || hour < 0 || hour > 23 || minute < 0 ||
      minute > 59 || second < 0 || second > 60) {
    return false;
  }
  const int year = century * 100 + decade;
  if (!valid_civil_date(year, month, day)) return false;
  std::size_t pos = 20;
  const std::int64_t micros = fraction_micros(rest, pos);
  out = zone_.to_utc(year, month, day, hour, minute, second) + micros;
  rest.remove_prefix(pos);
  return true;
}

std::optional<TimePoint> SyslogEnvelopeDecoder::rfc3339(std::string_view rest, std::size_t& end) {
  // "YYYY-MM-DDTHH:MM:SS" + [".ffffff"] + zone, up to the next space.
  // REQUIRES: rest.size() >= 19.
  end = Rfc3339Parser::kSecondSize;
  while (end < rest.size() && rest[end] != ' ') ++end;
  const auto t = times_.parse(rest.substr(0, end));
  // The zone and the space after it, for cached_rfc3339's one-word comparison.
  cached_zone_mask_ = 0;
  const std::string_view zone = times_.zone();
  if (times_.cached() && zone.size() < 8) {
    char word[8] = {};
    std::memcpy(word, zone.data(), zone.size());
    word[zone.size()] = ' ';
    std::memcpy(&cached_zone_word_, word, 8);
    cached_zone_mask_ = ~0ULL >> (8 * (7 - zone.size()));
  }
  return t;
}

bool SyslogEnvelopeDecoder::cached_rfc3339(std::string_view rest, std::size_t& end,
                                           TimePoint& out) const {
  // rsyslog's form with microseconds, in the second and the zone of the line before: the zone
  // and the space after it compared as one word, the second as three. The byte after the six
  // digits is the zone's first, which is never a digit.
  constexpr std::size_t kMicros = Rfc3339Parser::kSecondSize + 1;
  constexpr std::size_t kZone = kMicros + 6;
  if (cached_zone_mask_ == 0 || rest.size() < kZone + 8 ||
      ((load_word(rest.data() + kZone) ^ cached_zone_word_) & cached_zone_mask_) != 0 ||
      !same_bytes(times_.second().data(), rest.data(), Rfc3339Parser::kSecondSize) ||
      (rest[kMicros - 1] != '.' && rest[kMicros - 1] != ',')) {
    return false;
  }
  const std::int64_t micros = six_digits(rest.data() + kMicros);
  if (micros < 0) return false;
  end = kZone + times_.zone().size();
  out = times_.second_base() + micros;
  return true;
}

void SyslogEnvelopeDecoder::remember_program(std::string_view program) {
  if (program.size() > sizeof recent_program_) return;
  recent_program_size_ = program.size();
  std::memcpy(recent_program_, program.data(), recent_program_size_);
}

bool SyslogEnvelopeDecoder::decode_common(std::string_view text, LogLine& line) {
  // The shapes of nearly every line: "Nov 28 05:40:01 host prog[pid]: msg" or
  // "2026-11-28T05:40:01.123456+09:00 host prog[pid]: msg" in the cached second, one space
  // between the parts. Anything else goes to the general decoder, which yields the same
  // LogLine for these lines.
  if (text.size() < 20 || text.back() == '\n' || text.back() == '\r') return false;
  const char* const end = text.data() + text.size();
  std::size_t time_end;
  TimePoint t;
  if (bsd_cache_valid_ && text[15] == ' ' && same_bytes(text.data(), cached_bsd_, 16)) {
    t = cached_bsd_base_;
    time_end = 15;
  } else if (text.size() >= 19 && is_digit(text[0]) && text[4] == '-' && text[10] == 'T') {
    if (!cached_rfc3339(text, time_end, t)) return false;
  } else {
    return false;
  }
  const char* p = text.data() + time_end + 1;
  if (p >= end || *p == ' ' || *p == '<') return false;
  const char* const host_end = find_byte(p, end, ' ');
  if (end - host_end < 2 || host_end == p || host_end[1] == ' ') return false;
  const std::string_view hostname(p, static_cast<std::size_t>(host_end - p));
  p = host_end + 1;
  const std::string_view recent(recent_program_, recent_program_size_);
  const char* program_end;
  const bool repeated = !recent.empty() && end - p > static_cast<std::ptrdiff_t>(recent.size()) &&
                        same_text({p, recent.size()}, recent) &&
                        (p[recent.size()] == '[' || p[recent.size()] == ':');
  if (repeated) {
    program_end = p + recent.size();
  } else {
    program_end = find_tag_end(p, end);
    if (program_end == end || *program_end == ' ' || program_end == p ||
        program_end - p > static_cast<std::ptrdiff_t>(sizeof recent_program_)) {
      return false;
    }
  }
  std::string_view pid;
  const char* q = program_end;
  if (*q == '[') {
    const char* const close = find_byte(q + 1, end, ']');
    if (close == end) return false;
    pid = std::string_view(q + 1, static_cast<std::size_t>(close - q - 1));
    q = close + 1;
  }
  if (q == end || *q != ':') return false;
  ++q;
  if (q < end && *q == ' ') ++q;
  if (end - q > 4 && std::memcmp(q, "[ID ", 4) == 0) return false;
  line.time = t;
  line.hostname = hostname;
  line.program = std::string_view(p, static_cast<std::size_t>(program_end - p));
  line.pid = pid;
  line.message = std::string_view(q, static_cast<std::size_t>(end - q));
  line.raw = text;
  if (!repeated) remember_program(line.program);
  return true;
}

bool SyslogEnvelopeDecoder::decode(std::string_view text, LogLine& line) {
  if (decode_common(text, line)) return true;
  line = LogLine{};
  line.raw = text;
  std::string_view rest = text;
  while (!rest.empty() && (rest.back() == '\r' || rest.back() == '\n')) rest.remove_suffix(1);
  // <PRI>
  if (!rest.empty() && rest.front() == '<') {
    std::size_t i = 1;
    while (i < rest.size() && i < 5 && is_digit(rest[i])) ++i;
    if (i > 1 && i < rest.size() && rest[i] == '>') rest.remove_prefix(i + 1);
  }
  bool rfc5424 = false;
  // RFC 5424: "1 2003-10-11T22:14:15.003Z host app procid msgid SD msg"
  if (rest.size() > 2 && rest[0] == '1' && rest[1] == ' ' && is_digit(rest[2])) {
    rest.remove_prefix(2);
    rfc5424 = true;
  }
  if (rest.size() >= 19 && is_digit(rest[0]) && rest[4] == '-' && rest[10] == 'T') {
    std::size_t end;
    if (!cached_rfc3339(rest, end, line.time)) {
      auto t = rfc3339(rest, end);
      if (end == rest.size()) return false;
      if (!t) return false;
      line.time = *t;
    }
    rest.remove_prefix(end);
  } else if (!decode_bsd_time(rest, line.time)) {
    if (!decode_cisco_time(rest, line.time)) return false;
    // An ASA without "logging device-id" names no host: "Dec 07 2026 10:00:03: %ASA-...".
    // The line is its file's (replay NAME=FILE), as the collector's sender address makes it.
    if (rest.size() > 2 && rest[0] == ':' && rest[1] == ' ' && rest[2] == '%') {
      rest.remove_prefix(2);
      bool repeated = false;
      if (!split_tag(rest, line, {recent_program_, recent_program_size_}, repeated)) return false;
      line.message = rest;
      return true;
    }
  }
  skip_spaces(rest);
  // BSD syslogd -v: "<mail.info> "
  if (!rest.empty() && rest.front() == '<') {
    const auto close = rest.find("> ");
    if (close != std::string_view::npos && close < 24) rest.remove_prefix(close + 2);
  }
  {
    std::size_t host_end = 0;
    while (host_end < rest.size() && rest[host_end] != ' ') ++host_end;
    line.hostname = rest.substr(0, host_end);
    rest.remove_prefix(host_end);
  }
  if (line.hostname.empty()) return false;
  // Cisco's "logging device-id": the host, then " : " before the tag ("fw2 : %ASA-4-106023:").
  if (rest.size() > 3 && rest[0] == ' ' && rest[1] == ':' && rest[2] == ' ' && rest[3] == '%') {
    rest.remove_prefix(3);
  }
  if (rfc5424) {
    line.program = next_token(rest);
    line.pid = next_token(rest);
    if (line.pid == "-") line.pid = {};
    next_token(rest);  // msgid
    skip_spaces(rest);
    if (!rest.empty() && rest.front() == '[') {
      // Structured data: skip "[...]" groups, honouring escaped "\]".
      while (!rest.empty() && rest.front() == '[') {
        std::size_t i = 1;
        while (i < rest.size() && rest[i] != ']') i += rest[i] == '\\' ? 2 : 1;
        rest.remove_prefix(i < rest.size() ? i + 1 : rest.size());
      }
    } else {
      next_token(rest);  // "-"
    }
    if (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    if (rest.substr(0, 3) == "\xEF\xBB\xBF") rest.remove_prefix(3);  // RFC 5424 UTF-8 BOM
    line.message = rest;
    return !line.program.empty();
  }
  bool repeated = false;
  if (!split_tag(rest, line, {recent_program_, recent_program_size_}, repeated)) return false;
  if (!repeated) remember_program(line.program);
  line.message = rest;
  return true;
}

bool SyslogEnvelopeDecoder::decode_exim_mainlog(std::string_view text, std::string_view host,
                                                LogLine& line) {
  line = LogLine{};
  line.raw = text;
  while (!text.empty() && (text.back() == '\r' || text.back() == '\n')) text.remove_suffix(1);
  if (text.size() < 20 || !is_digit(text[0]) || text[4] != '-' || text[7] != '-' ||
      text[10] != ' ' || text[13] != ':' || text[16] != ':') {
    return false;
  }
  int year = 0;
  for (int i = 0; i < 4; ++i) year = year * 10 + (text[i] - '0');
  const int month = two_digits(text, 5), day = two_digits(text, 8);
  const int hour = two_digits(text, 11), minute = two_digits(text, 14);
  const int second = two_digits(text, 17);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 || hour > 23 || minute < 0 ||
      minute > 59 || second < 0 || second > 60) {
    return false;
  }
  std::size_t pos = 19;
  const std::int64_t micros = fraction_micros(text, pos);
  if (!valid_civil_date(year, month, day)) return false;
  // exim's log_timezone option appends " +zzzz".
  if (pos + 6 <= text.size() && text[pos] == ' ' &&
      (text[pos + 1] == '+' || text[pos + 1] == '-') && two_digits(text, pos + 2) >= 0 &&
      two_digits(text, pos + 4) >= 0) {
    const int sign = text[pos + 1] == '-' ? -1 : 1;
    const std::int64_t offset =
        sign * (two_digits(text, pos + 2) * 3600 + two_digits(text, pos + 4) * 60);
    line.time =
        make_utc(year, month, day, hour, minute, second, micros) - offset * kMicrosPerSecond;
  } else {
    line.time = zone_.to_utc(year, month, day, hour, minute, second, micros);
  }
  line.hostname = host;
  line.program = "exim";
  line.message = text;
  return true;
}

}  // namespace vtrace
