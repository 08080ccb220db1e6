// Source and network lookups built once from the settings.
#include "module/trace/topology.hpp"

namespace vtrace {

Topology::Topology(const CorrelatorSettings& settings) : settings_(settings) {
  for (SourceIndex i = 0; i < settings.sources.size(); ++i) {
    const auto& s = settings.sources[i];
    for (const auto& h : s.hostnames) hostnames_.emplace(normalise_address(h), i);
    for (const auto& a : s.addresses) addresses_.emplace(a, i);
  }
}

std::optional<SourceIndex> Topology::by_hostname(std::string_view hostname) const {
  if (hostname.empty() || hostname.size() > 255) return std::nullopt;
  char buf[256];
  bool lowered = false;
  for (std::size_t i = 0; i < hostname.size(); ++i) {
    const char c = hostname[i];
    lowered = lowered || (c >= 'A' && c <= 'Z');
    buf[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
  }
  const auto it = hostnames_.find(lowered ? std::string_view(buf, hostname.size()) : hostname);
  if (it == hostnames_.end()) return std::nullopt;
  return it->second;
}

std::optional<SourceIndex> Topology::by_address(const IpAddress& address) const {
  auto it = addresses_.find(address);
  if (it == addresses_.end()) return std::nullopt;
  return it->second;
}

std::optional<SourceIndex> Topology::by_name(std::string_view name) const {
  for (SourceIndex i = 0; i < settings_.sources.size(); ++i) {
    if (settings_.sources[i].name == name) return i;
  }
  return std::nullopt;
}

Origin Topology::classify(const IpAddress& address, std::string_view name) const {
  Origin origin;
  origin.ip = address.to_string();
  origin.name = std::string(name);
  // The most specific matching network wins, so a site can carve a zone out of a larger one.
  int best = -1;
  for (const auto& zone : settings_.internal_networks) {
    for (const auto& cidr : zone.cidrs) {
      if (cidr.contains(address) && cidr.prefix_length() > best) {
        best = cidr.prefix_length();
        origin.internal = true;
        origin.zone = zone.name;
      }
    }
  }
  if (!origin.internal) {
    for (const auto& zone : settings_.external_networks) {
      for (const auto& cidr : zone.cidrs) {
        if (cidr.contains(address) && cidr.prefix_length() > best) {
          best = cidr.prefix_length();
          origin.zone = zone.name;
        }
      }
    }
  }
  return origin;
}

}  // namespace vtrace
