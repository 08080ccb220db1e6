// The single place where log formats are registered, and the dispatch by program name.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "module/parsers/log_parser.hpp"

namespace vtrace {

struct CustomFormatSettings;

std::unique_ptr<LogParser> make_postfix_parser();
std::unique_ptr<LogParser> make_sendmail_parser();
std::unique_ptr<LogParser> make_exim_parser();
std::unique_ptr<LogParser> make_clamav_milter_parser();
std::unique_ptr<LogParser> make_amavis_parser();
std::unique_ptr<LogParser> make_rspamd_parser();
std::unique_ptr<LogParser> make_clamsmtp_parser();
std::unique_ptr<LogParser> make_mimedefang_parser();
std::unique_ptr<LogParser> make_netfilter_parser();
std::unique_ptr<LogParser> make_cisco_asa_parser();
// REQUIRES: `format` was validated by the settings loader (its pattern compiles).
std::unique_ptr<LogParser> make_custom_parser(const CustomFormatSettings& format);

// Owns every parser and finds the ones that accept a program name (cached per name).
class ParserRegistry {
 public:
  // Built-in formats first, then the site's custom formats in declaration order. (Two
  // constructors, not a default argument: an empty vector of the incomplete settings type here
  // would need its destructor, which clang instantiates where the default is declared.)
  ParserRegistry();
  explicit ParserRegistry(const std::vector<CustomFormatSettings>& custom_formats);
  // The parsers to try for `program`, in order. The reference stays valid until the next call
  // (a flood of distinct names clears the cache).
  const std::vector<const LogParser*>& parsers_for(std::string_view program);
  const std::vector<std::unique_ptr<LogParser>>& all() const { return parsers_; }

 private:
  std::vector<std::unique_ptr<LogParser>> parsers_;
  struct TextHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using ByProgram =
      std::unordered_map<std::string, std::vector<const LogParser*>, TextHash, std::equal_to<>>;
  ByProgram by_program_;
  // A mail host's lines cycle through a handful of program names (postfix/smtpd,
  // postfix/cleanup, ...): the most recent ones are found by a short scan, without hashing.
  static constexpr std::size_t kRecent = 8;
  std::array<const ByProgram::value_type*, kRecent> recent_{};
  std::size_t recent_next_ = 0;
};

}  // namespace vtrace
