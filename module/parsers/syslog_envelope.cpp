// Syslog envelope decoding. Every form we meet in mail logs, without regex or allocation.
#include "module/syslog_envelope.hpp"

#include <cstring>
#include <ctime>

namespace vtrace {

namespace {

constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

int two_digits(std::string_view s, std::size_t pos) {
  if (pos + 2 > s.size() || !is_digit(s[pos]) || !is_digit(s[pos + 1])) return -1;
  return (s[pos] - '0') * 10 + (s[pos + 1] - '0');
}

void skip_spaces(std::string_view& s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
}

std::string_view next_token(std::string_view& s) {
  skip_spaces(s);
  const auto end = s.find(' ');
  std::string_view token = s.substr(0, end);
  s.remove_prefix(end == std::string_view::npos ? s.size() : end);
  return token;
}

// Splits "prog[pid]:" / "prog:" / "prog[pid]" from the front of `rest`. Returns false when
// the text does not look like a syslog tag.
bool split_tag(std::string_view& rest, LogLine& line) {
  skip_spaces(rest);
  std::size_t i = 0;
  while (i < rest.size() && rest[i] != '[' && rest[i] != ':' && rest[i] != ' ') ++i;
  if (i == 0 || i == rest.size()) return false;
  line.program = rest.substr(0, i);
  if (rest[i] == '[') {
    const auto close = rest.find(']', i);
    if (close == std::string_view::npos) return false;
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
  int month = 0;
  for (int m = 0; m < 12; ++m) {
    if (rest.substr(0, 3) == kMonths[m]) month = m + 1;
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
  std::size_t pos = clock + 8;
  std::int64_t micros = 0;
  if (pos < rest.size() && rest[pos] == '.') {
    int n = 0;
    ++pos;
    while (pos < rest.size() && is_digit(rest[pos])) {
      if (n < 6) {
        micros = micros * 10 + (rest[pos] - '0');
        ++n;
      }
      ++pos;
    }
    while (n > 0 && n++ < 6) micros *= 10;
  }
  out = zone_.to_utc(year_for(month), month, day, hour, minute, second, micros);
  rest.remove_prefix(pos);
  return true;
}

std::optional<TimePoint> SyslogEnvelopeDecoder::rfc3339(std::string_view text) {
  // "YYYY-MM-DDTHH:MM:SS" + [".ffffff"] + zone
  if (text.size() < 20) return parse_rfc3339(text);
  std::size_t pos = 19;
  std::int64_t micros = 0;
  int digits_seen = 0;
  if (text[pos] == '.' || text[pos] == ',') {
    for (++pos; pos < text.size() && is_digit(text[pos]); ++pos) {
      if (digits_seen < 6) {
        micros = micros * 10 + (text[pos] - '0');
        ++digits_seen;
      }
    }
    if (digits_seen == 0) return parse_rfc3339(text);
    while (digits_seen++ < 6) micros *= 10;
  }
  const std::string_view zone = text.substr(pos);
  if (cache_valid_ && std::memcmp(cached_second_, text.data(), 19) == 0 && zone == cached_zone_) {
    return cached_base_ + micros;
  }
  std::string whole(text.substr(0, 19));
  whole += zone;
  const auto base = parse_rfc3339(whole);
  if (!base) return std::nullopt;
  std::memcpy(cached_second_, text.data(), 19);
  cached_zone_.assign(zone);
  cached_base_ = *base;
  cache_valid_ = true;
  return cached_base_ + micros;
}

bool SyslogEnvelopeDecoder::decode(std::string_view text, LogLine& line) {
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
    const auto end = rest.find(' ');
    if (end == std::string_view::npos) return false;
    auto t = rfc3339(rest.substr(0, end));
    if (!t) return false;
    line.time = *t;
    rest.remove_prefix(end);
  } else if (!decode_bsd_time(rest, line.time)) {
    return false;
  }
  skip_spaces(rest);
  // BSD syslogd -v: "<mail.info> "
  if (!rest.empty() && rest.front() == '<') {
    const auto close = rest.find("> ");
    if (close != std::string_view::npos && close < 24) rest.remove_prefix(close + 2);
  }
  line.hostname = next_token(rest);
  if (line.hostname.empty()) return false;
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
  if (!split_tag(rest, line)) return false;
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
  std::int64_t micros = 0;
  if (pos < text.size() && text[pos] == '.') {
    int n = 0;
    for (++pos; pos < text.size() && is_digit(text[pos]); ++pos) {
      if (n < 6) {
        micros = micros * 10 + (text[pos] - '0');
        ++n;
      }
    }
    while (n > 0 && n++ < 6) micros *= 10;
  }
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
