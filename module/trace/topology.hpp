// Topology: the configured sources and networks, answering "which source is this host/address?"
// and "is this address internal, and in which zone?".
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/incident.hpp"
#include "common/net.hpp"
#include "module/settings.hpp"
#include "module/trace/mail_index.hpp"

namespace vtrace {

class Topology {
 public:
  explicit Topology(const CorrelatorSettings& settings);

  std::optional<SourceIndex> by_hostname(std::string_view hostname) const;
  std::optional<SourceIndex> by_address(const IpAddress& address) const;
  std::optional<SourceIndex> by_name(std::string_view name) const;
  const SourceSettings& source(SourceIndex i) const { return settings_.sources[i]; }
  std::size_t source_count() const { return settings_.sources.size(); }
  Origin classify(const IpAddress& address, std::string_view name) const;

 private:
  const CorrelatorSettings& settings_;
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, SourceIndex, NameHash, std::equal_to<>> hostnames_;
  std::unordered_map<IpAddress, SourceIndex, IpAddressHash> addresses_;
};

}  // namespace vtrace
