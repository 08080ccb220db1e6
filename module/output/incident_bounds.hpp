// Bounds on what an incident carries. Its text comes from log lines, which attackers write and
// which can be as long as the input allows, and an incident must always fit the responder's
// request body limit: an incident refused for its size would never be delivered. Each field is
// capped (a cut field ends in "…"), and if the serialised incident is still over
// kMaxIncidentJsonBytes (text that JSON escapes six-fold), the evidence and the subject are cut
// further until it fits.
#pragma once

#include <cstddef>
#include <string>

#include "common/incident.hpp"

namespace vtrace {

inline constexpr std::size_t kMaxIncidentJsonBytes = 256 * 1024;  // responder minimum body limit
inline constexpr std::size_t kMaxQueueIdBytes = 128;
inline constexpr std::size_t kMaxMessageIdBytes = 998;  // RFC 5322's line limit
inline constexpr std::size_t kMaxAddressBytes = 512;
inline constexpr std::size_t kMaxNameBytes = 512;  // host names, virus names, file names
inline constexpr std::size_t kMaxSubjectBytes = 16 * 1024;
inline constexpr std::size_t kMaxNoteBytes = 2048;
inline constexpr std::size_t kMaxEvidenceLineBytes = 16 * 1024;
inline constexpr std::size_t kMaxEvidenceLines = 8;
inline constexpr std::size_t kMaxFiles = 16;
inline constexpr std::size_t kMaxIncidentRecipients = 64;
inline constexpr std::size_t kMaxCandidates = 16;

// Cuts `text` to at most `limit` bytes, at a UTF-8 character boundary, ending it in "…" when
// cut. True if it was cut.
bool cap_text(std::string& text, std::size_t limit);

// Applies the caps above, and cuts evidence and subject further while to_json() is over
// kMaxIncidentJsonBytes. Returns the number of fields cut.
int bound_incident(Incident& incident);

}  // namespace vtrace
