// STUB
#include "module/settings.hpp"
namespace vtrace {
std::optional<CorrelatorSettings> parse_correlator_settings(const std::string&, const std::string&, Diagnostics&) { return std::nullopt; }
std::optional<CorrelatorSettings> load_correlator_settings(const std::string&, Diagnostics&) { return std::nullopt; }
}
