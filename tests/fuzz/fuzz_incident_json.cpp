// libFuzzer target: the incident v1 JSON parser (what the responder reads from POST
// /v1/incidents and the correlator from its outbox). An incident it accepts must serialise
// and parse back to the same incident.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/incident.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace vtrace;
using vtrace::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string error;
  const auto incident = incident_from_json(fuzz::as_text(data, size), &error);
  if (!incident) return 0;
  const std::string json = to_json(*incident);
  const auto again = incident_from_json(json, &error);
  require(again.has_value(), "a serialised incident parses back");
  require(*again == *incident, "a serialised incident parses back unchanged");
  return 0;
}
