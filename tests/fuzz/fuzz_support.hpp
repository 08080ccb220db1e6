// Shared helpers of the libFuzzer targets: input splitting and checks that abort (libFuzzer
// reports an abort as a crash and keeps the input).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

namespace vtrace::fuzz {

// The input as text. libFuzzer's buffer is exactly `size` bytes, so a read past its end is
// caught by AddressSanitizer.
inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// The '\n'-separated lines of `text` (a trailing '\r' is kept: the decoders must cope).
inline std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const auto end = text.find('\n');
    lines.push_back(text.substr(0, end));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return lines;
}

// Every line of an input in a heap block of exactly its size, so that a read past the end of
// a line (not only past the end of the whole input) is caught by AddressSanitizer. The blocks
// live as long as this object.
class ExactLines {
 public:
  explicit ExactLines(std::string_view text) {
    for (const std::string_view line : split_lines(text))
      blocks_.emplace_back(line.begin(), line.end());
  }
  std::size_t size() const { return blocks_.size(); }
  std::string_view operator[](std::size_t i) const {
    return {blocks_[i].data(), blocks_[i].size()};
  }

 private:
  std::vector<std::vector<char>> blocks_;
};

// A property every input must keep; a violation is a bug as real as a crash.
inline void require(bool holds, const char* what) {
  if (!holds) {
    std::fprintf(stderr, "fuzz property violated: %s\n", what);
    std::abort();
  }
}

// True when `view` is empty or lies inside `buffer`: a view outside the text it was parsed
// from is an out-of-range read waiting to happen.
inline bool inside(std::string_view view, std::string_view buffer) {
  return view.empty() || (view.data() >= buffer.data() &&
                          view.data() + view.size() <= buffer.data() + buffer.size());
}

}  // namespace vtrace::fuzz
