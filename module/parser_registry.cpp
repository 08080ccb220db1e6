// The registry: one line per built-in format.
#include "module/parser_registry.hpp"

#include "module/settings.hpp"

namespace vtrace {

ParserRegistry::ParserRegistry(const std::vector<CustomFormatSettings>& custom_formats) {
  parsers_.push_back(make_postfix_parser());
  parsers_.push_back(make_sendmail_parser());
  parsers_.push_back(make_exim_parser());
  parsers_.push_back(make_clamav_milter_parser());
  parsers_.push_back(make_amavis_parser());
  parsers_.push_back(make_rspamd_parser());
  parsers_.push_back(make_clamsmtp_parser());
  for (const auto& format : custom_formats) parsers_.push_back(make_custom_parser(format));
}

const std::vector<const LogParser*>& ParserRegistry::parsers_for(std::string_view program) {
  auto it = by_program_.find(program);
  if (it != by_program_.end()) return it->second;
  // Bounded: a flood of distinct program names must not grow the cache without limit.
  if (by_program_.size() > 4096) by_program_.clear();
  std::vector<const LogParser*> matching;
  for (const auto& p : parsers_) {
    if (p->accepts_program(program)) matching.push_back(p.get());
  }
  return by_program_.emplace(std::string(program), std::move(matching)).first->second;
}

}  // namespace vtrace
