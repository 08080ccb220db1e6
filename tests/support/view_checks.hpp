// Checks shared by the parser tests: every view a parser returns must lie inside its input.
#pragma once

#include <catch2/catch.hpp>
#include <string_view>

#include "module/parsers/record.hpp"

namespace vtrace::testing {

// True iff `part` is empty or lies entirely inside `whole`.
inline bool points_into(std::string_view part, std::string_view whole) {
  return part.empty() ||
         (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

// Every view in `r` lies inside `text`. The virus may be the parsers' fixed word "unknown"
// (a verdict without a name) only where `unknown_virus_allowed`.
inline void check_record_views_inside(const ParsedRecord& r, std::string_view text,
                                      bool unknown_virus_allowed) {
  for (const std::string_view v :
       {r.queue_id, r.client_ip, r.client_name, r.message_id, r.sender, r.next_queue_id, r.relay_ip,
        r.relay_name, r.orig_queue_id, r.orig_client_ip, r.orig_client_name, r.bounce_queue_id,
        r.subject, r.file, r.src_ip, r.dst_ip}) {
    CHECK(points_into(v, text));
  }
  for (const auto v : r.recipients) CHECK(points_into(v, text));
  if (!(unknown_virus_allowed && r.virus == "unknown")) CHECK(points_into(r.virus, text));
}

}  // namespace vtrace::testing
