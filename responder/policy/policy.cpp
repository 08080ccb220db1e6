// Policy matching and the small lookups actions need (abuse contacts, own domains).
#include "responder/policy/policy.hpp"

#include <algorithm>

namespace vtrace::responder {
namespace {

char fold(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

template <typename T>
bool listed(const std::vector<T>& items, std::string_view value) {
  return items.empty() || std::find(items.begin(), items.end(), value) != items.end();
}

}  // namespace

bool glob_match(std::string_view p, std::string_view t) {
  // Iterative matcher with one backtrack point: linear in practice, no recursion on '*'.
  std::size_t pi = 0, ti = 0, star = std::string_view::npos, mark = 0;
  while (ti < t.size()) {
    if (pi < p.size() && (p[pi] == '?' || fold(p[pi]) == fold(t[ti]))) {
      ++pi;
      ++ti;
    } else if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = ti;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      ti = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

bool matches(const PolicyMatch& m, const Incident& in) {
  const std::string confidence(to_string(in.confidence));
  if (m.confidence.empty() ? confidence != "exact" : !listed(m.confidence, confidence)) {
    return false;
  }
  if (m.origin != OriginClass::kAny || !m.zones.empty()) {
    if (!in.origin) return false;
    if (m.origin == OriginClass::kInternal && !in.origin->internal) return false;
    if (m.origin == OriginClass::kExternal && in.origin->internal) return false;
    if (!listed(m.zones, in.origin->zone)) return false;
  }
  if (!listed(m.detectors, in.detector_host)) return false;
  if (!listed(m.kinds, std::string(to_string(in.kind)))) return false;
  if (!m.viruses.empty() &&
      std::none_of(m.viruses.begin(), m.viruses.end(),
                   [&](const std::string& p) { return glob_match(p, in.virus); })) {
    return false;
  }
  return true;
}

std::string abuse_contact_for(const std::vector<AbuseContact>& contacts, const std::string& ip) {
  auto address = IpAddress::parse(ip);
  if (!address) return {};
  std::string best;
  int best_prefix = -1;
  for (const auto& c : contacts) {
    for (const auto& cidr : c.cidrs) {
      if (cidr.contains(*address) && cidr.prefix_length() > best_prefix) {
        best_prefix = cidr.prefix_length();
        best = c.address;
      }
    }
  }
  return best;
}

std::string address_domain(std::string_view address) {
  const auto at = address.rfind('@');
  if (at == std::string_view::npos) return {};
  std::string d(address.substr(at + 1));
  for (char& c : d) c = fold(c);
  return d;
}

bool is_own_address(std::string_view address, const std::vector<std::string>& own_domains) {
  const std::string d = address_domain(address);
  if (d.empty()) return false;
  for (const auto& own : own_domains) {
    if (d == own) return true;
    if (d.size() > own.size() && d.compare(d.size() - own.size(), own.size(), own) == 0 &&
        d[d.size() - own.size() - 1] == '.') {
      return true;
    }
  }
  return false;
}

}  // namespace vtrace::responder
