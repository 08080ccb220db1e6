#include "module/output/incident_bounds.hpp"

#include <algorithm>
#include <string_view>

namespace vtrace {

namespace {

constexpr std::string_view kEllipsis = "\xE2\x80\xA6";  // U+2026

bool is_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// An upper bound of to_json()'s size: every byte escaped as \u00XX, plus the keys.
std::size_t worst_json_size(const Incident& in) {
  std::size_t text = in.id.size() + in.detector_host.size() + in.detector_format.size() +
                     in.virus.size() + in.action.size() + in.envelope_from.size() +
                     in.queue_id.size() + in.message_id.size() + in.subject.size() + in.note.size();
  std::size_t items = 0;
  for (const auto& s : in.envelope_to) text += s.size(), ++items;
  for (const auto& s : in.files) text += s.size(), ++items;
  for (const auto& s : in.evidence) text += s.size(), ++items;
  for (const auto& h : in.hops) {
    text += h.host.size() + h.queue_id.size() + h.client_ip.size() + h.client_name.size();
    items += 8;
  }
  for (const auto& c : in.candidates) {
    text += c.host.size() + c.queue_id.size() + c.origin_ip.size() + c.origin_name.size();
    items += 8;
  }
  if (in.origin) text += in.origin->ip.size() + in.origin->name.size() + in.origin->zone.size();
  return 6 * text + 64 * items + 1024;
}

}  // namespace

bool cap_text(std::string& text, std::size_t limit) {
  if (text.size() <= limit) return false;
  std::size_t keep = limit > kEllipsis.size() ? limit - kEllipsis.size() : 0;
  while (keep > 0 && is_continuation(text[keep])) --keep;
  text.resize(keep);
  text += kEllipsis;
  return true;
}

int bound_incident(Incident& in) {
  int cut = 0;
  auto cap = [&cut](std::string& s, std::size_t limit) { cut += cap_text(s, limit) ? 1 : 0; };
  cap(in.virus, kMaxNameBytes);
  cap(in.action, kMaxNameBytes);
  cap(in.envelope_from, kMaxAddressBytes);
  if (in.envelope_to.size() > kMaxIncidentRecipients) {
    in.envelope_to.resize(kMaxIncidentRecipients);
    ++cut;
  }
  for (auto& r : in.envelope_to) cap(r, kMaxAddressBytes);
  cap(in.queue_id, kMaxQueueIdBytes);
  cap(in.message_id, kMaxMessageIdBytes);
  cap(in.subject, kMaxSubjectBytes);
  if (in.files.size() > kMaxFiles) {
    in.files.resize(kMaxFiles);
    ++cut;
  }
  for (auto& f : in.files) cap(f, kMaxNameBytes);
  for (auto& h : in.hops) {
    cap(h.queue_id, kMaxQueueIdBytes);
    cap(h.client_name, kMaxNameBytes);
  }
  if (in.candidates.size() > kMaxCandidates) {
    in.candidates.resize(kMaxCandidates);
    ++cut;
  }
  for (auto& c : in.candidates) {
    cap(c.queue_id, kMaxQueueIdBytes);
    cap(c.origin_name, kMaxNameBytes);
  }
  if (in.origin) cap(in.origin->name, kMaxNameBytes);
  cap(in.note, kMaxNoteBytes);
  if (in.evidence.size() > kMaxEvidenceLines) {
    in.evidence.resize(kMaxEvidenceLines);
    ++cut;
  }
  for (auto& e : in.evidence) cap(e, kMaxEvidenceLineBytes);
  // Most incidents are a few KiB even if every byte were escaped: no serialisation needed.
  if (worst_json_size(in) <= kMaxIncidentJsonBytes) return cut;
  for (std::size_t line_limit = kMaxEvidenceLineBytes / 2;
       to_json(in).size() > kMaxIncidentJsonBytes && line_limit >= 64; line_limit /= 2) {
    for (auto& e : in.evidence) cap(e, line_limit);
    cap(in.subject, line_limit);
    cap(in.note, line_limit);
    for (auto& r : in.envelope_to) cap(r, line_limit);
    for (auto& f : in.files) cap(f, line_limit);
  }
  return cut;
}

}  // namespace vtrace
