// libFuzzer target: the correlator fed a sequence of log lines from several hosts, as the live
// path and replay feed it: records missing, out of order, repeated, or forming relay loops.
// Each input is fed twice to fresh correlators: once moving time forward after every line
// (live), once whole and then finished (an archive read at once). Every incident emitted must
// survive its own JSON: what the correlator sends, the responder must be able to read.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/incident.hpp"
#include "module/input/syslog_envelope.hpp"
#include "module/parsers/isvw_assembler.hpp"
#include "module/trace/correlator.hpp"
#include "tests/fuzz/fuzz_sites.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace vtrace;
using vtrace::fuzz::require;

namespace {

class RoundTripSink final : public IncidentSink {
 public:
  void deliver(const Incident& incident) override {
    std::string error;
    const auto back = incident_from_json(to_json(incident), &error);
    require(back.has_value(), "an emitted incident parses back");
  }
};

void feed(const fuzz::ExactLines& lines, bool live) {
  RoundTripSink sink;
  Correlator correlator(fuzz::sites(), sink, "UTC");
  SyslogEnvelopeDecoder decoder(2026, "UTC", 0);
  const auto isvw_source = correlator.topology().by_name("gw2");
  for (std::size_t i = 0; i < lines.size(); ++i) {
    LogLine line;
    if (decoder.decode(lines[i], line)) {
      correlator.ingest_untrusted(line);
      if (live) correlator.advance(line.time);
    } else if (IsvwAssembler::looks_like_isvw(lines[i])) {
      line.raw = line.message = lines[i];
      line.program = "isvw";
      correlator.ingest(*isvw_source, line);
    } else {
      correlator.count_undecodable();
    }
  }
  correlator.finish();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const fuzz::ExactLines lines(fuzz::as_text(data, size));
  feed(lines, /*live=*/true);
  feed(lines, /*live=*/false);
  return 0;
}
