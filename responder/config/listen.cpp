// responder.yaml, section listen: where the API and the operator page are served.
#include "common/net.hpp"
#include "responder/config/config_parser.hpp"

namespace vtrace::responder::detail {

void ConfigParser::parse_listen(const Field& f) {
  if (f.value.IsNull()) return;
  const YAML::Node& map = f.value;
  if (!reader_.check_keys(map, {"address", "port", "body_limit", "timeout", "web_root"},
                          "listen")) {
    return;
  }
  ListenConfig& l = config_.listen;
  if (auto k = find_field(map, "address")) {
    if (auto s = nonempty_string(*k, "listen.address")) {
      if (*s == "localhost" || IpAddress::parse(*s)) {
        l.address = *s;
      } else {
        reader_.error(k->value, "address",
                      "listen.address: '" + *s + "' is not an IP address (or localhost)");
      }
    }
  }
  if (auto k = find_field(map, "port")) {
    if (auto n = integer(*k, "listen.port", 0, 65535)) l.port = static_cast<int>(*n);
  }
  if (auto k = find_field(map, "body_limit")) {
    // At least the correlator's largest incident (kMaxIncidentJsonBytes), or an incident
    // could be refused for its size and never delivered.
    if (auto n = integer(*k, "listen.body_limit", 256 << 10, 64 << 20)) l.body_limit = *n;
  }
  if (auto k = find_field(map, "timeout")) {
    if (auto d = duration(*k, "listen.timeout", seconds(1), seconds(600), "[1s, 10m]")) {
      l.timeout = *d;
    }
  }
  if (auto k = find_field(map, "web_root")) {
    if (auto s = nonempty_string(*k, "listen.web_root")) l.web_root = *s;
  }
}

}  // namespace vtrace::responder::detail
