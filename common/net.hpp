// IP addresses and CIDR networks, parsed from log text and configuration.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vtrace {

// An IPv4 or IPv6 address stored as 16 bytes (IPv4 as ::ffff:a.b.c.d), so the two families
// share one comparison and one hash.
class IpAddress {
 public:
  IpAddress() = default;
  // Accepts "10.1.0.25", "2001:db8::1", "IPv6:2001:db8::1" (sendmail), and IPv4-mapped
  // IPv6. Returns nullopt for anything else (host names, "unknown", garbage).
  static std::optional<IpAddress> parse(std::string_view text);

  bool is_v4() const;
  bool is_loopback() const;
  // Canonical text: dotted quad for IPv4, RFC 5952 for IPv6.
  std::string to_string() const;
  const std::array<std::uint8_t, 16>& bytes() const { return bytes_; }
  std::uint64_t hash() const;
  friend bool operator==(const IpAddress&, const IpAddress&) = default;

 private:
  static std::optional<IpAddress> parse_dotted_quad(std::string_view text);
  std::array<std::uint8_t, 16> bytes_{};
};

struct IpAddressHash {
  std::size_t operator()(const IpAddress& a) const { return a.hash(); }
};

class Cidr {
 public:
  // Parses "10.0.0.0/8", "2001:db8:100::/48", or a bare address (a /32 or /128).
  static std::optional<Cidr> parse(std::string_view text);
  bool contains(const IpAddress& address) const;
  int prefix_length() const { return prefix_; }  // in the 128-bit space

 private:
  IpAddress network_;
  int prefix_ = 0;
};

}  // namespace vtrace
