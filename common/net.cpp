// IP address parsing and CIDR matching on top of inet_pton/inet_ntop.
#include "common/net.hpp"

#include <arpa/inet.h>

#include <cstring>

namespace vtrace {

// The common case of a log's client address, "10.1.23.45", without inet_pton's copy and
// call: four decimal octets without leading zeros. Whatever this refuses goes on to
// inet_pton, which accepts exactly the same dotted quads and nothing else in IPv4.
std::optional<IpAddress> IpAddress::parse_dotted_quad(std::string_view text) {
  const char* p = text.data();
  const char* const end = p + text.size();
  std::uint8_t octets[4];
  for (int part = 0; part < 4; ++part) {
    if (part > 0 && (p == end || *p++ != '.')) return std::nullopt;
    if (p == end) return std::nullopt;
    unsigned value = static_cast<unsigned char>(*p) - '0';
    if (value > 9) return std::nullopt;
    const char* const start = p++;
    for (int more = 0; more < 2 && p != end; ++more, ++p) {
      const unsigned digit = static_cast<unsigned char>(*p) - '0';
      if (digit > 9) break;
      value = value * 10 + digit;
    }
    if (value > 255 || (p - start > 1 && *start == '0')) return std::nullopt;
    octets[part] = static_cast<std::uint8_t>(value);
  }
  if (p != end) return std::nullopt;
  IpAddress out;
  out.bytes_[10] = 0xff;
  out.bytes_[11] = 0xff;
  std::memcpy(out.bytes_.data() + 12, octets, 4);
  return out;
}

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  if (text.size() > 5 && (text.substr(0, 5) == "IPv6:" || text.substr(0, 5) == "ipv6:")) {
    text.remove_prefix(5);
  }
  if (text.empty() || text.size() > 45) return std::nullopt;
  if (auto v4 = parse_dotted_quad(text)) return v4;
  // inet_pton reads a C string: an embedded NUL would cut the text short.
  if (text.find('\0') != std::string_view::npos) return std::nullopt;
  char buf[64];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  IpAddress out;
  if (text.find(':') == std::string_view::npos) {
    in_addr v4;
    if (inet_pton(AF_INET, buf, &v4) != 1) return std::nullopt;
    out.bytes_[10] = 0xff;
    out.bytes_[11] = 0xff;
    std::memcpy(out.bytes_.data() + 12, &v4, 4);
    return out;
  }
  in6_addr v6;
  if (inet_pton(AF_INET6, buf, &v6) != 1) return std::nullopt;
  std::memcpy(out.bytes_.data(), &v6, 16);
  return out;
}

bool IpAddress::is_v4() const {
  for (int i = 0; i < 10; ++i) {
    if (bytes_[i] != 0) return false;
  }
  return bytes_[10] == 0xff && bytes_[11] == 0xff;
}

bool IpAddress::is_loopback() const {
  if (is_v4()) return bytes_[12] == 127;
  for (int i = 0; i < 15; ++i) {
    if (bytes_[i] != 0) return false;
  }
  return bytes_[15] == 1;
}

std::string IpAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN];
  if (is_v4()) {
    // A trace names a few addresses per hop: digits by hand, not inet_ntop's sprintf.
    char* p = buf;
    for (std::size_t i = 12; i < 16; ++i) {
      const unsigned v = bytes_[i];
      if (v >= 100) *p++ = static_cast<char>('0' + v / 100);
      if (v >= 10) *p++ = static_cast<char>('0' + v / 10 % 10);
      *p++ = static_cast<char>('0' + v % 10);
      if (i < 15) *p++ = '.';
    }
    return std::string(buf, p);
  }
  inet_ntop(AF_INET6, bytes_.data(), buf, sizeof buf);
  return buf;
}

std::uint64_t IpAddress::hash() const {
  std::uint64_t a, b;
  std::memcpy(&a, bytes_.data(), 8);
  std::memcpy(&b, bytes_.data() + 8, 8);
  return (a * 0x9E3779B97F4A7C15ULL) ^ (b + 0x7F4A7C159E3779B9ULL + (a << 6));
}

std::optional<Cidr> Cidr::parse(std::string_view text) {
  const auto slash = text.find('/');
  const auto address = IpAddress::parse(text.substr(0, slash));
  if (!address) return std::nullopt;
  const int max_prefix = address->is_v4() ? 32 : 128;
  int prefix = max_prefix;
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3) return std::nullopt;
    prefix = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return std::nullopt;
      prefix = prefix * 10 + (c - '0');
    }
    if (prefix > max_prefix) return std::nullopt;
  }
  Cidr out;
  out.network_ = *address;
  out.prefix_ = address->is_v4() ? prefix + 96 : prefix;
  return out;
}

bool Cidr::contains(const IpAddress& address) const {
  const auto& a = address.bytes();
  const auto& n = network_.bytes();
  int bits = prefix_;
  for (int i = 0; i < 16 && bits > 0; ++i, bits -= 8) {
    const std::uint8_t mask = bits >= 8 ? 0xff : static_cast<std::uint8_t>(0xff << (8 - bits));
    if ((a[i] & mask) != (n[i] & mask)) return false;
  }
  return true;
}

}  // namespace vtrace
