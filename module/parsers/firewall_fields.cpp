#include "module/parsers/firewall_fields.hpp"

#include <array>

namespace vtrace {
namespace {

bool contains_word(std::string_view text, std::string_view upper_word) {
  if (upper_word.size() > text.size()) return false;
  for (std::size_t i = 0; i + upper_word.size() <= text.size(); ++i) {
    std::size_t k = 0;
    for (; k < upper_word.size(); ++k) {
      char c = text[i + k];
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
      if (c != upper_word[k]) break;
    }
    if (k == upper_word.size()) return true;
  }
  return false;
}

constexpr std::array<std::string_view, 4> kBlockedWords = {"BLOCK", "DROP", "DENY", "REJECT"};
constexpr std::array<std::string_view, 4> kAllowedWords = {"ALLOW", "ACCEPT", "PERMIT", "PASS"};

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
  for (auto word : kBlockedWords) blocked = blocked || contains_word(text, word);
  for (auto word : kAllowedWords) allowed = allowed || contains_word(text, word);
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
