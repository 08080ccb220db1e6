// Policy matching: which incidents a policy is about. Pure functions, no state.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/incident.hpp"
#include "responder/config/config.hpp"

namespace vtrace::responder {

// Shell-style glob: '*' any run, '?' one character; ASCII case-insensitive.
bool glob_match(std::string_view pattern, std::string_view text);

// True when `incident` satisfies every condition of `match`. An empty list means "any", except
// confidence, where an empty list means "exact" only: acting on a guess must be chosen.
// Incidents without an origin (ambiguous, unresolved) match only origin: any.
bool matches(const PolicyMatch& match, const Incident& incident);

// The abuse contact for `ip` (longest matching prefix), or empty.
std::string abuse_contact_for(const std::vector<AbuseContact>& contacts, const std::string& ip);

// The domain of an address, lower-case ("" when there is none).
std::string address_domain(std::string_view address);

// True when the address's domain is one of `own_domains` or a subdomain of one.
bool is_own_address(std::string_view address, const std::vector<std::string>& own_domains);

}  // namespace vtrace::responder
