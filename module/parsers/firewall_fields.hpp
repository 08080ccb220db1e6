// Scanning helpers shared by the firewall parsers (netfilter, Cisco ASA, custom connection
// formats): ports, "address/port" endpoints and verdict words. No allocation, no regex.
#pragma once

#include <cstdint>
#include <string_view>

#include "module/parsers/record.hpp"

namespace vtrace {

// A TCP/UDP port written in decimal (1 to 5 digits, at most 65535); -1 for anything else.
std::int32_t parse_port(std::string_view digits);

// The verdict a firewall's own words state: "BLOCK", "DROP", "DENY", "REJECT" (any case) mean
// blocked, "ALLOW", "ACCEPT", "PERMIT", "PASS" mean allowed; kUnknown when neither or both
// appear (a log prefix such as "smtp-out: " states nothing).
ConnectionVerdict verdict_from_words(std::string_view text);

// Splits "198.51.100.7/25" or "2001:db8::7/25" at the last '/' into an address and its port.
// False when there is no '/' or the port is not a port.
bool split_address_port(std::string_view text, std::string_view& address, std::int32_t& port);

}  // namespace vtrace
