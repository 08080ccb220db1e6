// Reports: the read-only views of the responder's state — the API's JSON documents (incidents,
// outbox, containments), the operator page's origins and statistics, and the /metrics gauges.
// Each call takes the engine lock for one consistent read and writes nothing.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "responder/engine_state.hpp"

namespace vtrace::responder {

class Reports {
 public:
  explicit Reports(EngineState& state);

  std::string list_incidents_json(const std::string& origin, TimePoint since, int limit);
  std::optional<std::string> incident_json(const std::string& id);
  std::string outbox_json(const std::string& status, int limit);
  // One outbox mail with its rendered body (for review before a held mail is released).
  std::optional<std::string> mail_json(std::int64_t mail_id);
  std::string containments_json(const std::string& status, int limit);
  // Gauges for /metrics: outbox rows per status, stored incidents, open windows.
  std::map<std::string, std::int64_t> gauges();
  // Per origin IP seen since `since`: first/last seen, detections, viruses, mails sent about
  // it, and its latest containment.
  std::string origins_json(TimePoint since);
  // The original system's report: detections per virus for internal origins, internal vs
  // external counts, time from first detection to verified containment per origin, and the
  // outbreak timeline: detections per hour by origin class (internal, external, ambiguous,
  // unresolved), at most a month of non-empty hours.
  std::string stats_json(TimePoint since);

 private:
  EngineState& state_;
};

}  // namespace vtrace::responder
