// Configuration diagnostics: collected, positioned, printed compiler-style with a caret.
#pragma once

#include <string>
#include <vector>

namespace vtrace {

struct Diagnostic {
  std::string file;
  int line = 0;    // 1-based; 0 when the problem has no position (a missing file)
  int column = 0;  // 1-based
  std::string code;
  std::string message;
};

// Collects every problem found in one or more configuration files, so the operator sees them
// all at once, and renders them as
//   file:line:col: error[code]: message
//     <source line>
//     ^
class Diagnostics {
 public:
  // Registers the text of `file` so its lines can be quoted.
  void add_source(const std::string& file, const std::string& text);
  void error(const std::string& file, int line, int column, std::string code, std::string message);
  bool empty() const { return items_.empty(); }
  std::size_t size() const { return items_.size(); }
  const std::vector<Diagnostic>& items() const { return items_; }
  std::string render() const;

 private:
  std::string source_line(const std::string& file, int line) const;
  std::vector<Diagnostic> items_;
  std::vector<std::pair<std::string, std::string>> sources_;
};

}  // namespace vtrace
