// The shared base of the strict configuration parsers (correlator settings, responder
// configuration): typed access to the fields of YAML mappings, every problem reported with the
// position of its node and handed to the operator in file order.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/diagnostic.hpp"
#include "common/time.hpp"
#include "common/yaml_reader.hpp"

namespace vtrace {

// One key of a mapping together with its value. The key is kept because yaml-cpp marks an
// implicit empty value (`key:` and nothing after it) at the start of the *next* line; such a
// problem is reported at the key instead.
struct YamlField {
  YAML::Node key;
  YAML::Node value;
};

// The first entry named `name` in `map` (a duplicate is reported by check_keys).
std::optional<YamlField> find_field(const YAML::Node& map, std::string_view name);

class YamlFieldParser {
 protected:
  using Field = YamlField;

  explicit YamlFieldParser(const std::string& path) : reader_(path, found_) {}

  // Loads `text` (registered with `out` for quoting) and returns its root, or nullopt on a
  // syntax error (recorded).
  std::optional<YAML::Node> load(const std::string& path, const std::string& text,
                                 Diagnostics& out);
  // Moves this file's problems into `out`, top to bottom: the checks run section by section,
  // but the operator reads the report against the file. True iff there were none.
  bool report(Diagnostics& out);

  // False (and an error at the key) when the value is empty; `expected` says what belongs there.
  bool has_value(const Field& f, const std::string& what, const std::string& expected,
                 const std::string& code = "type");
  std::optional<std::string> string(const Field& f, const std::string& what);
  // A non-empty string; an empty one is an error rather than a silent "none".
  std::optional<std::string> nonempty_string(const Field& f, const std::string& what);
  std::optional<Duration> duration(const Field& f, const std::string& what, Duration min,
                                   Duration max, const std::string& range_text);
  std::optional<std::int64_t> integer(const Field& f, const std::string& what, std::int64_t min,
                                      std::int64_t max);
  std::optional<bool> boolean(const Field& f, const std::string& what);
  // The scalar items of a list (a single scalar counts as a one-item list), with their nodes
  // so each item can be blamed on its own. Nullopt if the value is not a list of scalars.
  std::optional<std::vector<YAML::Node>> scalar_items(const Field& f, const std::string& what);
  // The items of a list of mappings; an empty value is an empty list.
  std::optional<std::vector<YAML::Node>> sequence(const Field& f, const std::string& what);

  Diagnostics found_;  // this file's problems, in the order they were found
  YamlReader reader_;
};

}  // namespace vtrace
