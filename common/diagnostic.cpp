// Rendering of configuration diagnostics.
#include "common/diagnostic.hpp"

#include <sstream>

namespace vtrace {

void Diagnostics::add_source(const std::string& file, const std::string& text) {
  sources_.emplace_back(file, text);
}

void Diagnostics::error(const std::string& file, int line, int column, std::string code,
                        std::string message) {
  items_.push_back({file, line, column, std::move(code), std::move(message)});
}

std::string Diagnostics::source_line(const std::string& file, int line) const {
  for (const auto& [name, text] : sources_) {
    if (name != file) continue;
    std::istringstream in(text);
    std::string current;
    for (int n = 1; std::getline(in, current); ++n) {
      if (n == line) return current;
    }
  }
  return {};
}

std::string Diagnostics::render() const {
  std::ostringstream out;
  for (const auto& d : items_) {
    out << d.file;
    if (d.line > 0) out << ':' << d.line << ':' << d.column;
    out << ": error[" << d.code << "]: " << d.message << '\n';
    if (d.line > 0) {
      const std::string text = source_line(d.file, d.line);
      if (!text.empty()) {
        out << "    " << text << '\n' << "    ";
        for (int i = 1; i < d.column; ++i) out << (text[i - 1] == '\t' ? '\t' : ' ');
        out << "^\n";
      }
    }
  }
  out << items_.size() << (items_.size() == 1 ? " error" : " errors") << " found\n";
  return out.str();
}

}  // namespace vtrace
