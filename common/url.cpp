#include "common/url.hpp"

#include <algorithm>

namespace vtrace {

std::optional<Url> parse_url(std::string_view text, std::string* problem) {
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '#') {
      *problem = "a URL must not contain spaces, control characters, non-ASCII or '#'";
      return std::nullopt;
    }
  }
  Url url;
  std::string_view rest;
  if (text.starts_with("https://")) {
    url.https = true;
    rest = text.substr(8);
  } else if (text.starts_with("http://")) {
    rest = text.substr(7);
  } else {
    *problem = "the URL must start with http:// or https://";
    return std::nullopt;
  }
  const std::size_t end = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, end);
  std::string_view target = end == std::string_view::npos ? "" : rest.substr(end);
  if (authority.find('@') != std::string_view::npos) {
    *problem = "user information in a URL is not supported (put credentials in the secrets file)";
    return std::nullopt;
  }
  std::string_view port_text;
  if (authority.starts_with("[")) {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      *problem = "an IPv6 host must be closed with ']'";
      return std::nullopt;
    }
    url.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') {
        *problem = "unexpected text after the IPv6 host";
        return std::nullopt;
      }
      port_text = after.substr(1);
    }
  } else {
    const std::size_t colon = authority.find(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  const bool host_ok =
      !url.host.empty() && std::all_of(url.host.begin(), url.host.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '.' || c == ':';
      });
  if (!host_ok) {
    *problem = "the URL has no valid host";
    return std::nullopt;
  }
  url.port = url.https ? 443 : 80;
  if (!port_text.empty() || authority.ends_with(":")) {
    int port = 0;
    for (char c : port_text) {
      if (c < '0' || c > '9' || port > 65535) {
        port = -1;
        break;
      }
      port = port * 10 + (c - '0');
    }
    if (port < 1 || port > 65535) {
      *problem = "the URL's port must be a number from 1 to 65535";
      return std::nullopt;
    }
    url.port = port;
  }
  url.target = target.empty()            ? "/"
               : target.starts_with("?") ? "/" + std::string(target)
                                         : std::string(target);
  return url;
}

}  // namespace vtrace
