// libFuzzer target: the responder's YAML configuration loader (listen, SMTP, mail, policies,
// abuse contacts, containment). Whatever the text, it loads or reports diagnostics; a
// rejected file has at least one.
#include <cstddef>
#include <cstdint>
#include <string>

#include "responder/config/config.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace vtrace;
using namespace vtrace::responder;
using vtrace::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Diagnostics diagnostics;
  const auto config =
      parse_responder_config(std::string(fuzz::as_text(data, size)), "fuzz.yaml", diagnostics);
  require(config.has_value() || !diagnostics.empty(), "a rejection is explained");
  return 0;
}
