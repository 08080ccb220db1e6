// Decoding of syslog envelopes (RFC 3164, RFC 3339/rsyslog, RFC 5424, Solaris, PRI) and of
// exim's own main-log lines into LogLine.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/time.hpp"
#include "module/parsers/log_line.hpp"

namespace vtrace {

// Stateful only for BSD-timestamp year inference: one decoder per input file or stream.
class SyslogEnvelopeDecoder {
 public:
  // `year`: the year for BSD timestamps, or 0 to infer it from `reference_time` (a BSD
  // timestamp more than a month in the future of the reference belongs to the year before).
  // `zone`: the IANA zone of BSD and exim timestamps ("" = process TZ).
  SyslogEnvelopeDecoder(int year, std::string zone, TimePoint reference_time);

  // Decodes `text`; returns false when it has no recognisable envelope. Views in `line`
  // point into `text`.
  bool decode(std::string_view text, LogLine& line);

  // Decodes an exim main-log line ("2026-11-28 05:00:38 [+zzzz] ID ...") as program "exim"
  // of host `host`; the message keeps the timestamp so the exim parser sees both forms alike.
  bool decode_exim_mainlog(std::string_view text, std::string_view host, LogLine& line);

 private:
  // The common shapes, in the cached second; false (nothing decided) for everything else.
  bool decode_common(std::string_view text, LogLine& line);
  // Keeps `program` (when it fits) as the one the next line is first compared with.
  void remember_program(std::string_view program);
  bool decode_bsd_time(std::string_view& rest, TimePoint& out);
  // The whole seconds of a BSD timestamp; `end` is where they end in `rest`.
  bool decode_bsd_second(std::string_view rest, TimePoint& out, std::size_t& end);
  int year_for(int month);
  // Cisco's own timestamp ("logging timestamp" on an ASA or FTD): "Dec 07 2026 10:00:03",
  // with the year, optionally ".123"; `rest` is left after it.
  bool decode_cisco_time(std::string_view& rest, TimePoint& out);
  // The RFC 3339 timestamp at the front of `rest`; `end` is the space after it (or the end).
  std::optional<TimePoint> rfc3339(std::string_view rest, std::size_t& end);
  // The same for a line in the second and zone of the last parsed one; false otherwise.
  bool cached_rfc3339(std::string_view rest, std::size_t& end, TimePoint& out) const;
  int fixed_year_;
  int reference_year_;
  int reference_month_;
  int last_month_ = 0;
  int rollover_years_ = 0;
  LocalTimeResolver zone_;
  // Consecutive lines mostly share the second (and the zone): their parse is reused.
  Rfc3339Parser times_;
  std::uint64_t cached_zone_word_ = 0;  // times_'s zone and a space, little-endian
  std::uint64_t cached_zone_mask_ = 0;  // the bytes of cached_zone_word_ that count; 0: none
  // The same for BSD timestamps: "Nov 28 05:40:01" and the byte after it.
  char cached_bsd_[16] = {};
  TimePoint cached_bsd_base_ = 0;
  TimePoint cached_bsd_minute_base_ = 0;
  bool bsd_cache_valid_ = false;
  // The program of the last line ("postfix/smtpd"), which the next line often repeats.
  char recent_program_[32] = {};
  std::size_t recent_program_size_ = 0;
};

}  // namespace vtrace
