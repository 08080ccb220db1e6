// YamlFieldParser: typed field access shared by the configuration parsers.
#include "common/yaml_fields.hpp"

#include <algorithm>

namespace vtrace {

std::optional<YamlField> find_field(const YAML::Node& map, std::string_view name) {
  if (!map.IsMap()) return std::nullopt;
  for (const auto& entry : map) {
    if (entry.first.IsScalar() && entry.first.Scalar() == name) {
      return YamlField{entry.first, entry.second};
    }
  }
  return std::nullopt;
}

std::optional<YAML::Node> YamlFieldParser::load(const std::string& path, const std::string& text,
                                                Diagnostics& out) {
  out.add_source(path, text);
  return reader_.load(text);
}

bool YamlFieldParser::report(Diagnostics& out) {
  std::vector<Diagnostic> items = found_.items();
  std::stable_sort(items.begin(), items.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::pair(a.line, a.column) < std::pair(b.line, b.column);
  });
  for (auto& d : items)
    out.error(d.file, d.line, d.column, std::move(d.code), std::move(d.message));
  return items.empty();
}

bool YamlFieldParser::has_value(const Field& f, const std::string& what,
                                const std::string& expected, const std::string& code) {
  if (!f.value.IsNull()) return true;
  reader_.error(f.key, code, what + ": expected " + expected + ", but the value is empty");
  return false;
}

std::optional<std::string> YamlFieldParser::string(const Field& f, const std::string& what) {
  if (!has_value(f, what, "a string")) return std::nullopt;
  return reader_.string(f.value, what);
}

std::optional<std::string> YamlFieldParser::nonempty_string(const Field& f,
                                                            const std::string& what) {
  auto s = string(f, what);
  if (s && s->empty()) {
    reader_.error(f.value, "value", what + ": must not be empty (leave the key out instead)");
    return std::nullopt;
  }
  return s;
}

std::optional<Duration> YamlFieldParser::duration(const Field& f, const std::string& what,
                                                  Duration min, Duration max,
                                                  const std::string& range_text) {
  if (!has_value(f, what, "a duration such as 5s, 30m or 1h", "duration")) return std::nullopt;
  auto d = reader_.duration(f.value, what);
  if (!d) return std::nullopt;
  if (*d < min || *d > max) {
    reader_.error(f.value, "range",
                  what + ": " + f.value.Scalar() + " is out of range " + range_text);
    return std::nullopt;
  }
  return d;
}

std::optional<std::int64_t> YamlFieldParser::integer(const Field& f, const std::string& what,
                                                     std::int64_t min, std::int64_t max) {
  if (!has_value(f, what, "a whole number")) return std::nullopt;
  return reader_.integer(f.value, what, min, max);
}

std::optional<bool> YamlFieldParser::boolean(const Field& f, const std::string& what) {
  if (!has_value(f, what, "true or false")) return std::nullopt;
  return reader_.boolean(f.value, what);
}

std::optional<std::vector<YAML::Node>> YamlFieldParser::scalar_items(const Field& f,
                                                                     const std::string& what) {
  std::vector<YAML::Node> items;
  if (f.value.IsNull()) return items;
  if (f.value.IsScalar()) {
    items.push_back(f.value);
    return items;
  }
  if (!f.value.IsSequence()) {
    reader_.error(f.value, "type", what + ": expected a list");
    return std::nullopt;
  }
  bool ok = true;
  for (const auto& item : f.value) {
    if (!item.IsScalar()) {
      reader_.error(item, "type", what + ": expected a string in the list");
      ok = false;
      continue;
    }
    items.push_back(item);
  }
  if (!ok) return std::nullopt;
  return items;
}

std::optional<std::vector<YAML::Node>> YamlFieldParser::sequence(const Field& f,
                                                                 const std::string& what) {
  std::vector<YAML::Node> items;
  if (f.value.IsNull()) return items;
  if (!f.value.IsSequence()) {
    reader_.error(f.value, "type", what + ": expected a list");
    return std::nullopt;
  }
  for (const auto& item : f.value) items.push_back(item);
  return items;
}

}  // namespace vtrace
