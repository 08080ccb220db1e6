// YamlReader: the one place YAML marks (0-based) become diagnostic positions (1-based).
#include "common/yaml_reader.hpp"

#include <set>

namespace vtrace {

void YamlReader::error_at(const YAML::Mark& mark, const std::string& code,
                          const std::string& message) {
  if (mark.is_null()) {
    diagnostics_.error(file_, 0, 0, code, message);
  } else {
    diagnostics_.error(file_, mark.line + 1, mark.column + 1, code, message);
  }
}

void YamlReader::error(const YAML::Node& node, const std::string& code,
                       const std::string& message) {
  error_at(node.Mark(), code, message);
}

namespace {

struct TabPosition {
  int line = 0;    // 0-based, as YAML marks
  int column = 0;  // 0-based
};

// The tab in a line's indentation (its leading blanks and tabs) nearest before or at
// `error_line`, else the first one after it. yaml-cpp reports such a tab as "illegal tab", "illegal
// map value" or "end of map not found" depending on where it falls: an admin needs to hear "tab".
std::optional<TabPosition> indentation_tab(const std::string& text, int error_line) {
  std::optional<TabPosition> before, after;
  int line = 0;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::size_t i = start;
    while (i < end && text[i] == ' ') ++i;
    if (i < end && text[i] == '\t') {
      const TabPosition tab{line, static_cast<int>(i - start)};
      if (error_line < 0 || line <= error_line) {
        before = tab;
      } else if (!after) {
        after = tab;
      }
    }
    if (end == text.size()) break;
    start = end + 1;
    ++line;
  }
  return before ? before : after;
}

}  // namespace

std::optional<YAML::Node> YamlReader::load(const std::string& text) {
  diagnostics_.add_source(file_, text);
  try {
    YAML::Node root = YAML::Load(text);
    return root;
  } catch (const YAML::Exception& e) {
    const auto tab = indentation_tab(text, e.mark.is_null() ? -1 : e.mark.line);
    if (!tab) {
      error_at(e.mark, "syntax", e.msg);
    } else {
      diagnostics_.error(file_, tab->line + 1, tab->column + 1, "syntax",
                         "a tab in the indentation: YAML indents with spaces only (the parser "
                         "says: " +
                             e.msg + ")");
    }
    return std::nullopt;
  }
}

bool YamlReader::check_keys(const YAML::Node& map, std::initializer_list<const char*> allowed,
                            const std::string& what) {
  if (!map.IsMap()) {
    error(map, "type", what + ": expected a mapping");
    return false;
  }
  std::set<std::string> seen;
  for (const auto& entry : map) {
    const std::string key = entry.first.Scalar();
    bool known = false;
    for (const char* a : allowed) known = known || key == a;
    if (!known) {
      std::string list;
      for (const char* a : allowed) list += std::string(list.empty() ? "" : ", ") + a;
      error(entry.first, "unknown-key",
            what + ": unknown key '" + key + "' (allowed: " + list + ")");
    } else if (!seen.insert(key).second) {
      error(entry.first, "duplicate-key", what + ": key '" + key + "' appears twice");
    }
  }
  return true;
}

std::optional<std::string> YamlReader::string(const YAML::Node& node, const std::string& what) {
  if (!node.IsScalar()) {
    error(node, "type", what + ": expected a string");
    return std::nullopt;
  }
  return node.Scalar();
}

std::optional<bool> YamlReader::boolean(const YAML::Node& node, const std::string& what) {
  if (node.IsScalar()) {
    const std::string& s = node.Scalar();
    if (s == "true" || s == "yes" || s == "on") return true;
    if (s == "false" || s == "no" || s == "off") return false;
  }
  error(node, "type", what + ": expected true or false");
  return std::nullopt;
}

std::optional<std::int64_t> YamlReader::integer(const YAML::Node& node, const std::string& what,
                                                std::int64_t min, std::int64_t max) {
  if (node.IsScalar()) {
    const std::string& s = node.Scalar();
    std::int64_t value = 0;
    // At most 18 digits, so the value fits; accumulation stops at the first non-digit (a
    // long text of letters must not overflow on its way to the type error).
    bool ok = !s.empty() && s.size() < 19;
    for (char c : s) {
      if (!ok) break;
      if (c == '_') continue;
      ok = c >= '0' && c <= '9';
      if (ok) value = value * 10 + (c - '0');
    }
    if (ok) {
      if (value < min || value > max) {
        error(node, "range",
              what + ": " + s + " is out of range [" + std::to_string(min) + ", " +
                  std::to_string(max) + "]");
        return std::nullopt;
      }
      return value;
    }
  }
  error(node, "type", what + ": expected a whole number");
  return std::nullopt;
}

std::optional<Duration> YamlReader::duration(const YAML::Node& node, const std::string& what) {
  DurationProblem problem = DurationProblem::kMalformed;
  if (node.IsScalar()) {
    if (auto d = parse_duration(node.Scalar(), &problem)) return d;
  }
  if (problem == DurationProblem::kTooLarge) {
    error(node, "range",
          what + ": " + node.Scalar() + " is out of range (a duration holds at most 106751991d)");
    return std::nullopt;
  }
  error(node, "duration", what + ": expected a duration such as 500ms, 5s, 30m, 1h or 2d");
  return std::nullopt;
}

std::optional<std::vector<std::string>> YamlReader::string_list(const YAML::Node& node,
                                                                const std::string& what) {
  std::vector<std::string> out;
  if (node.IsScalar()) {
    out.push_back(node.Scalar());
    return out;
  }
  if (!node.IsSequence()) {
    error(node, "type", what + ": expected a list");
    return std::nullopt;
  }
  bool ok = true;
  for (const auto& item : node) {
    if (!item.IsScalar()) {
      error(item, "type", what + ": expected a string in the list");
      ok = false;
      continue;
    }
    out.push_back(item.Scalar());
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<std::string> YamlReader::choice(const YAML::Node& node, const std::string& what,
                                              std::initializer_list<const char*> choices) {
  auto value = string(node, what);
  if (!value) return std::nullopt;
  std::string list;
  for (const char* c : choices) {
    if (*value == c) return value;
    list += std::string(list.empty() ? "" : ", ") + c;
  }
  error(node, "value", what + ": '" + *value + "' is not one of: " + list);
  return std::nullopt;
}

}  // namespace vtrace
