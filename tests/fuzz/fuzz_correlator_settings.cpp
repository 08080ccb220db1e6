// libFuzzer target: the correlator's YAML configuration loader (schema checks, networks,
// durations, custom formats compiled with RE2). Whatever the text, it loads or reports
// diagnostics; a rejected file has at least one.
#include <cstddef>
#include <cstdint>
#include <string>

#include "module/settings.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace vtrace;
using vtrace::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Diagnostics diagnostics;
  const auto settings =
      parse_correlator_settings(std::string(fuzz::as_text(data, size)), "fuzz.yaml", diagnostics);
  require(settings.has_value() || !diagnostics.empty(), "a rejection is explained");
  return 0;
}
