// libFuzzer target: the duration and time parsers (configuration values, API query
// parameters, log timestamps). Each input line is tried as a duration, as an RFC 3339 time
// with and without an assumed zone, through the streaming parser that reuses the previous
// line's second, and as an ISVW "Date:" value. A streamed parse must agree with a fresh one,
// and a time that parses must format and parse back to itself.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/time.hpp"
#include "module/parsers/isvw_assembler.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace vtrace;
using vtrace::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Rfc3339Parser stream;
  LocalTimeResolver zone("Asia/Tokyo");
  const fuzz::ExactLines lines(fuzz::as_text(data, size));
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string_view text = lines[i];
    (void)parse_duration(text);
    (void)parse_rfc3339(text, /*assume_utc_if_no_zone=*/true);
    const auto fresh = parse_rfc3339(text);
    require(stream.parse(text) == fresh, "a streamed parse agrees with a fresh one");
    if (fresh) {
      require(parse_rfc3339(format_rfc3339(*fresh)) == fresh, "a formatted time parses back");
    }
    (void)IsvwAssembler::parse_date(text, zone);
  }
  return 0;
}
