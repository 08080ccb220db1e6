// IncidentStore: the incidents and the policies' decisions about them. ingest() stores the best
// revision of an incident and runs the matching policies' actions (mail through the Outbox,
// containment through the ContainmentQueue) in one transaction. Owns the incidents,
// policy_hits and actions tables.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "common/incident.hpp"
#include "responder/containment/containment_queue.hpp"
#include "responder/engine_state.hpp"
#include "responder/mail/outbox.hpp"

namespace vtrace::responder {

enum class IngestKind { kCreated, kUpdated, kUnchanged };

struct IngestResult {
  IngestKind kind = IngestKind::kUnchanged;
  int revision = 0;     // the stored revision after the call
  int actions_run = 0;  // action rows written by this call
  int containments_queued = 0;
};

// Two collectors (or a correlator that saw more after a restart) may post the same id and
// revision with different traces: the responder keeps the best. True if `offered` replaces
// `held`: an exact trace replaces any other; a fuzzy or ambiguous one replaces an unresolved
// one; nothing else (a fuzzy trace never replaces an ambiguity: it may have missed candidates).
bool is_better_trace(const Incident& offered, const std::optional<Incident>& held);

class IncidentStore {
 public:
  IncidentStore(EngineState& state, Outbox& outbox, ContainmentQueue& containment);

  // Stores the incident and runs the policies, all in one transaction under the lock; the
  // containment worker is woken when a containment was queued. See Engine::ingest.
  IngestResult ingest(const Incident& incident, const std::string& peer);

 private:
  void run_policies(const Incident& incident, IngestResult& result);
  ActionRun run_action(const Policy& policy, std::size_t index, const ActionConfig& action,
                       const Incident& incident);

  EngineState& state_;
  Outbox& outbox_;
  ContainmentQueue& containment_;
};

}  // namespace vtrace::responder
