// The http:// and https:// URLs vtrace sends requests to: the responder's automation back ends
// (and their configuration checks) and the correlator's responder URL.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace vtrace {

struct Url {
  bool https = false;
  std::string host;  // without brackets for IPv6
  int port = 0;
  std::string target;  // path and query, at least "/"
};

// http:// or https://, a host, an optional port, a path. No user info, no fragment, no spaces
// or control characters. Nullopt with `problem` set otherwise.
std::optional<Url> parse_url(std::string_view text, std::string* problem);

}  // namespace vtrace
