// Trend Micro InterScan VirusWall virus-log records: seven "Key: value" lines per detection,
// without a syslog envelope. The only multi-line format, so it has its own small assembler.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/time.hpp"
#include "module/parsers/record.hpp"

namespace vtrace {

class IsvwAssembler {
 public:
  enum class Feed { kNotIsvw, kConsumed, kRecord, kMalformed };

  // True iff `line` is one of the record's "Date:/Method:/From:/To:/File:/Action:/Virus:"
  // lines (cheap; used to recognise the format from content).
  static bool looks_like_isvw(std::string_view line);

  // Parses the value of a "Date:" line ("MM/DD/YY hh:mm:ss" or "MM/DD/YYYY hh:mm:ss").
  static std::optional<TimePoint> parse_date(std::string_view value, LocalTimeResolver& zone);

  // Feeds one line. kRecord: a record completed; record(), time() and evidence() describe it
  // until the next call. kMalformed: a record was abandoned (bad date, missing fields).
  Feed feed(std::string_view line, LocalTimeResolver& zone);

  const ParsedRecord& record() const { return record_; }
  TimePoint time() const { return time_; }
  const std::string& evidence() const { return evidence_; }

 private:
  void reset();
  bool complete_record(LocalTimeResolver& zone);
  std::string date_, from_, to_, file_, action_, virus_;
  std::string evidence_;
  std::vector<std::string> lines_;
  ParsedRecord record_;
  TimePoint time_ = 0;
  bool open_ = false;
};

}  // namespace vtrace
