// The registry: one line per built-in format.
#include "module/parsers/parser_registry.hpp"

#include <algorithm>

#include "common/text.hpp"
#include "module/settings.hpp"

namespace vtrace {

ParserRegistry::ParserRegistry() : ParserRegistry(std::vector<CustomFormatSettings>{}) {}

ParserRegistry::ParserRegistry(const std::vector<CustomFormatSettings>& custom_formats) {
  parsers_.push_back(make_postfix_parser());
  parsers_.push_back(make_sendmail_parser());
  parsers_.push_back(make_exim_parser());
  parsers_.push_back(make_clamav_milter_parser());
  parsers_.push_back(make_amavis_parser());
  parsers_.push_back(make_rspamd_parser());
  parsers_.push_back(make_clamsmtp_parser());
  parsers_.push_back(make_mimedefang_parser());
  // Firewalls' connection logs: last, since they accept every program name.
  parsers_.push_back(make_netfilter_parser());
  parsers_.push_back(make_cisco_asa_parser());
  for (const auto& format : custom_formats) parsers_.push_back(make_custom_parser(format));
}

const std::vector<const LogParser*>& ParserRegistry::parsers_for(std::string_view program) {
  for (const auto* entry : recent_) {
    if (entry != nullptr && same_text(entry->first, program)) {
      return entry->second;
    }
  }
  auto it = by_program_.find(program);
  if (it == by_program_.end()) {
    // Bounded: a flood of distinct program names must not grow the cache without limit.
    if (by_program_.size() > 4096) {
      by_program_.clear();
      recent_.fill(nullptr);
    }
    std::vector<const LogParser*> matching;
    for (const auto& p : parsers_) {
      if (p->accepts_program(program)) matching.push_back(p.get());
    }
    it = by_program_.emplace(std::string(program), std::move(matching)).first;
  }
  // Map nodes stay put until the map is cleared, so the pointers stay valid.
  recent_[recent_next_] = &*it;
  recent_next_ = (recent_next_ + 1) % kRecent;
  return it->second;
}

}  // namespace vtrace
