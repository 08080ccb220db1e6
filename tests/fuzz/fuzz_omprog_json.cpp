// libFuzzer target: the omprog loop's decoder of rsyslog's JSON template, one decoder reused
// from line to line as the loop reuses it, and the ingester that trusts a record by its
// fromhost-ip and feeds the correlator. A decoded field must lie inside the line or inside the
// record's own unescaped copy.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "module/input/rsyslog_ingester.hpp"
#include "module/input/rsyslog_json_decoder.hpp"
#include "module/trace/correlator.hpp"
#include "tests/fuzz/fuzz_sites.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace vtrace;
using vtrace::fuzz::inside;
using vtrace::fuzz::require;

namespace {

class DiscardingSink final : public IncidentSink {
 public:
  void deliver(const Incident&) override {}
};

void check_fields(const RsyslogRecord& record, std::string_view line) {
  const std::string_view fields[] = {record.timereported, record.hostname, record.fromhost_ip,
                                     record.app_name,     record.procid,   record.msg,
                                     record.inputname};
  for (std::size_t i = 0; i < std::size(fields); ++i) {
    require(inside(fields[i], line) || inside(fields[i], record.unescaped[i]),
            "field inside the line or its unescaped copy");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  DiscardingSink sink;
  Correlator correlator(fuzz::sites(), sink, "UTC");
  RsyslogIngester ingester(correlator);
  RsyslogJsonDecoder decoder;
  RsyslogRecord record;
  const fuzz::ExactLines lines(fuzz::as_text(data, size));
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (!decoder.decode(lines[i], record)) {
      correlator.count_undecodable();
      continue;
    }
    check_fields(record, lines[i]);
    if (const auto time = ingester.ingest(record)) correlator.advance(*time);
  }
  correlator.finish();
  return 0;
}
