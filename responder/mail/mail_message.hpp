// Building RFC 5322 messages from text that attackers partly wrote, without letting that text
// add or alter a header.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/time.hpp"

namespace vtrace::responder {

// Replaces every byte sequence that is not valid UTF-8 with '?', so later encoders can trust it.
std::string valid_utf8(std::string_view text);

// Text for inside one header: valid UTF-8, CR, LF, TAB and other control characters replaced by
// a space, runs of spaces collapsed, trimmed, cut to at most `max_bytes` on a character boundary.
std::string header_text(std::string_view text, std::size_t max_bytes = 200);

// An unstructured header value (Subject): header_text(), then, if any byte is not ASCII,
// RFC 2047 "B" encoded words of at most 75 characters joined by CRLF SP (folded).
std::string encode_header_value(std::string_view text);

// The body as it goes on the wire: valid UTF-8, every line end CRLF, no bare CR, and lines
// longer than 998 bytes split (RFC 5322 2.1.1).
std::string body_text(std::string_view text);

// "Sat, 28 Nov 2026 05:09:56 +0000".
std::string rfc5322_date(TimePoint t);

struct OutgoingMail {
  std::string from;             // a configured address
  std::vector<std::string> to;  // each passed is_safe_address
  std::string subject;          // raw (may hold attacker text)
  std::string body;             // raw
  std::string message_id;       // without brackets; ASCII
  std::string incident_id;      // for X-Vtrace-Incident; ASCII hex
  TimePoint date = 0;
};

// The complete message (headers, blank line, body) with CRLF line ends.
std::string build_message(const OutgoingMail& mail);

}  // namespace vtrace::responder
