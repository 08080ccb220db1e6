// libFuzzer target: the syslog envelope decoder (RFC 3164, RFC 3339, RFC 5424, Solaris, PRI)
// and the exim main-log decoder. The input is one or more lines fed to the same decoders, so
// the caches kept from line to line (second, zone, BSD minute, program) are exercised too.
// Every view a decoded line holds must lie inside the line it came from.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "module/input/syslog_envelope.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace vtrace;
using vtrace::fuzz::inside;
using vtrace::fuzz::require;

namespace {

void check_views(const LogLine& line, std::string_view text, std::string_view host) {
  require(inside(line.raw, text), "raw inside the line");
  require(inside(line.hostname, text) || line.hostname.data() == host.data(),
          "hostname inside the line");
  require(inside(line.program, text) || line.program == "exim", "program inside the line");
  require(inside(line.pid, text), "pid inside the line");
  require(inside(line.message, text), "message inside the line");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static constexpr std::string_view kHost = "fuzz-host";
  // A fixed year in UTC, and an inferred year in a zone with a non-zero offset.
  SyslogEnvelopeDecoder fixed_year(2026, "UTC", 0);
  SyslogEnvelopeDecoder inferred_year(0, "Asia/Tokyo", make_utc(2027, 1, 5, 0, 0, 0));
  const fuzz::ExactLines lines(fuzz::as_text(data, size));
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string_view text = lines[i];
    for (SyslogEnvelopeDecoder* decoder : {&fixed_year, &inferred_year}) {
      LogLine line;
      if (decoder->decode(text, line)) check_views(line, text, kHost);
      LogLine exim;
      if (decoder->decode_exim_mainlog(text, kHost, exim)) check_views(exim, text, kHost);
    }
  }
  return 0;
}
