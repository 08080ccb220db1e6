// Strict, table-driven reading of YAML mappings with positioned diagnostics.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "common/diagnostic.hpp"
#include "common/time.hpp"

namespace vtrace {

// Reads values out of one YAML document and records every problem in `Diagnostics` with the
// 1-based position of the offending node. No method throws; a bad value yields nullopt.
class YamlReader {
 public:
  YamlReader(std::string file, Diagnostics& diagnostics)
      : file_(std::move(file)), diagnostics_(diagnostics) {}

  // Loads `text` (already read from `file`); records a parse error and returns nullopt on
  // malformed YAML.
  std::optional<YAML::Node> load(const std::string& text);

  // Reports every key of `map` not in `allowed` (error[unknown-key]) and returns false if
  // `map` is not a mapping (error[type]). `what` names the mapping in messages.
  bool check_keys(const YAML::Node& map, std::initializer_list<const char*> allowed,
                  const std::string& what);

  std::optional<std::string> string(const YAML::Node& node, const std::string& what);
  std::optional<bool> boolean(const YAML::Node& node, const std::string& what);
  std::optional<std::int64_t> integer(const YAML::Node& node, const std::string& what,
                                      std::int64_t min, std::int64_t max);
  std::optional<Duration> duration(const YAML::Node& node, const std::string& what);
  // A sequence of scalars; a single scalar is accepted as a one-element list.
  std::optional<std::vector<std::string>> string_list(const YAML::Node& node,
                                                      const std::string& what);
  // A scalar that must be one of `choices`.
  std::optional<std::string> choice(const YAML::Node& node, const std::string& what,
                                    std::initializer_list<const char*> choices);

  void error(const YAML::Node& node, const std::string& code, const std::string& message);
  void error_at(const YAML::Mark& mark, const std::string& code, const std::string& message);
  const std::string& file() const { return file_; }

 private:
  std::string file_;
  Diagnostics& diagnostics_;
};

}  // namespace vtrace
