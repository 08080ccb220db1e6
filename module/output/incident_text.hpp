// Human-readable rendering of incidents (replay --format text).
#pragma once

#include <iosfwd>

#include "common/incident.hpp"

namespace vtrace {

// One block per incident: the verdict, the envelope, every hop and the origin.
void write_incident_text(std::ostream& out, const Incident& incident);

}  // namespace vtrace
