// Small text helpers: names as the configurations allow them, and comparisons for the per-line
// hot path.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace vtrace {

// A configured name (source, format, zone, host, template, credential): 1 to `max_bytes` of
// letters, digits, '_', '.' and '-', so it can appear in an incident, a metric, a file name or a
// diagnostic as it is. The correlator allows incident_limits::kNameBytes, the cap of the
// incident contract; the responder caps its own names at 64.
inline bool valid_name(std::string_view s, std::size_t max_bytes) {
  if (s.empty() || s.size() > max_bytes) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
  });
}

// `s` with A-Z mapped to a-z and every other byte kept: host and domain names compare this way
// whatever the locale.
inline std::string ascii_lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

// The length of the valid UTF-8 sequence that starts at s[i] (1 for ASCII), or 0 when it is
// not valid: cut short, an overlong form, a surrogate, or above U+10FFFF.
inline std::size_t utf8_length(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return 1;
  const std::size_t n = (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return 0;
  }
  const auto c1 = static_cast<unsigned char>(s[i + 1]);
  if (n == 2 && c < 0xc2) return 0;
  if (n == 3 && ((c == 0xe0 && c1 < 0xa0) || (c == 0xed && c1 >= 0xa0))) return 0;
  if (n == 4 && (c > 0xf4 || (c == 0xf0 && c1 < 0x90) || (c == 0xf4 && c1 >= 0x90))) return 0;
  return n;
}

// a == b, for the short texts compared on every line (host names, program names, zones):
// up to 16 bytes as overlapping word loads, without a call into the library's memcmp, whose
// set-up costs more than the comparison itself at these sizes.
inline bool same_text(std::string_view a, std::string_view b) {
  const std::size_t n = a.size();
  if (n != b.size()) return false;
  const char* x = a.data();
  const char* y = b.data();
  auto word = [](const char* p) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    return w;
  };
  auto half = [](const char* p) {
    std::uint32_t w;
    std::memcpy(&w, p, 4);
    return w;
  };
  if (n >= 8) {
    if (n > 16) return std::memcmp(x, y, n) == 0;
    return ((word(x) ^ word(y)) | (word(x + n - 8) ^ word(y + n - 8))) == 0;
  }
  if (n >= 4) return ((half(x) ^ half(y)) | (half(x + n - 4) ^ half(y + n - 4))) == 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (x[i] != y[i]) return false;
  }
  return true;
}

}  // namespace vtrace
