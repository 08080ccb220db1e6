// Text rendering for people reading a replay in a terminal.
#include "module/output/incident_text.hpp"

#include <ostream>

namespace vtrace {

namespace {
// Attacker-written text is shown with control characters made visible.
std::string visible(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}
}  // namespace

void write_incident_text(std::ostream& out, const Incident& in) {
  out << "[" << to_string(in.confidence) << "] " << visible(in.virus) << " detected by "
      << in.detector_host << " (" << in.detector_format << ") at " << format_rfc3339(in.detected_at)
      << ", " << visible(in.action) << "  id " << in.id << "\n";
  out << "  envelope: <" << visible(in.envelope_from) << "> ->";
  for (const auto& r : in.envelope_to) out << " <" << visible(r) << ">";
  if (!in.message_id.empty()) out << "  message-id <" << visible(in.message_id) << ">";
  out << "\n";
  for (std::size_t i = 0; i < in.hops.size(); ++i) {
    const Hop& h = in.hops[i];
    out << "  hop " << i + 1 << ": " << h.host << " queue "
        << (h.queue_id.empty() ? "-" : h.queue_id) << " received " << format_rfc3339(h.received_at)
        << " from " << (h.client_name.empty() ? "" : visible(h.client_name) + " ") << "["
        << (h.client_ip.empty() ? "local" : h.client_ip) << "]  (linked by " << to_string(h.link)
        << ")\n";
  }
  if (in.origin) {
    out << "  origin: " << in.origin->ip;
    if (!in.origin->name.empty()) out << " (" << visible(in.origin->name) << ")";
    out << (in.origin->internal ? " INTERNAL, zone " + in.origin->zone : " external");
    out << "\n";
  }
  for (const auto& c : in.candidates) {
    out << "  candidate: " << c.host << " queue " << c.queue_id << " received "
        << format_rfc3339(c.received_at) << " -> "
        << (c.origin_ip.empty() ? "unresolved" : c.origin_ip) << "\n";
  }
  if (!in.note.empty()) out << "  note: " << visible(in.note) << "\n";
  out << "\n";
}

}  // namespace vtrace
