#include "module/parsers/firewall_fields.hpp"

#include <array>

#include "module/parsers/parse_util.hpp"

namespace vtrace {
namespace {

// Lower case, as find_nocase takes them.
constexpr std::array<std::string_view, 4> kBlockedWords = {"block", "drop", "deny", "reject"};
constexpr std::array<std::string_view, 4> kAllowedWords = {"allow", "accept", "permit", "pass"};

}  // namespace

std::int32_t parse_port(std::string_view digits) {
  if (digits.empty() || digits.size() > 5) return -1;
  std::int32_t port = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return -1;
    port = port * 10 + (c - '0');
  }
  return port <= 65535 ? port : -1;
}

ConnectionVerdict verdict_from_words(std::string_view text) {
  bool blocked = false;
  bool allowed = false;
  for (auto word : kBlockedWords) {
    blocked = blocked || find_nocase(text, word) != std::string_view::npos;
  }
  for (auto word : kAllowedWords) {
    allowed = allowed || find_nocase(text, word) != std::string_view::npos;
  }
  if (blocked == allowed) return ConnectionVerdict::kUnknown;
  return blocked ? ConnectionVerdict::kBlocked : ConnectionVerdict::kAllowed;
}

bool split_address_port(std::string_view text, std::string_view& address, std::int32_t& port) {
  const auto slash = text.rfind('/');
  if (slash == std::string_view::npos || slash == 0) return false;
  port = parse_port(text.substr(slash + 1));
  if (port < 0) return false;
  address = text.substr(0, slash);
  return true;
}

}  // namespace vtrace
