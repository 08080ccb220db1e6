// What the Engine's parts share: one SQLite connection, the clock, the configuration snapshot,
// the /metrics counters and the one mutex that serialises them. The parts (policy/incident_store,
// mail/outbox, containment/containment_queue, api/reports) each own their tables; the audit
// table, which all of them write, is created here.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "responder/clock.hpp"
#include "responder/config/config.hpp"
#include "responder/store/sqlite.hpp"

namespace vtrace::responder {

// Counters served at /metrics. Monotonic; read without the engine lock.
struct Counters {
  std::atomic<std::int64_t> incidents_received{0};
  std::atomic<std::int64_t> incidents_created{0};
  std::atomic<std::int64_t> incidents_updated{0};
  std::atomic<std::int64_t> incidents_unchanged{0};
  std::atomic<std::int64_t> incidents_rejected{0};
  std::atomic<std::int64_t> actions_run{0};
  std::atomic<std::int64_t> mails_queued{0};
  std::atomic<std::int64_t> mails_digested{0};
  std::atomic<std::int64_t> mails_sent{0};
  std::atomic<std::int64_t> mails_retried{0};
  std::atomic<std::int64_t> mails_failed{0};
  std::atomic<std::int64_t> digests_flushed{0};
  std::atomic<std::int64_t> config_reloads{0};
  std::atomic<std::int64_t> config_reload_failures{0};
  std::atomic<std::int64_t> ports_disabled{0};
  std::atomic<std::int64_t> ports_enabled{0};
  std::atomic<std::int64_t> containments_refused{0};
  std::atomic<std::int64_t> containments_failed{0};
  std::atomic<std::int64_t> containments_escaped{0};
};

// What one policy action did to an incident: the row in `actions`.
struct ActionRun {
  std::string status;
  std::string detail;
  std::optional<std::int64_t> mail_id;
};

// Members marked "guarded" are read and written only with `mutex` held; each part's public
// methods take it, and methods documented "caller holds the lock" are for the other parts.
struct EngineState {
  // Opens (creating) the state database at `state_file` and creates the audit table.
  EngineState(std::shared_ptr<const ResponderConfig> config, const Clock& clock,
              const std::string& state_file);

  // The configuration now (takes the lock).
  std::shared_ptr<const ResponderConfig> current_config() const;

  // Appends to the audit table; the caller holds the lock.
  void audit_locked(const std::string& actor, const std::string& event, const std::string& detail);

  mutable std::mutex mutex;
  std::shared_ptr<const ResponderConfig> config;  // guarded
  const Clock& clock;
  Database db;  // guarded
  Counters counters;
};

// Lists of addresses and ids are stored as JSON arrays in text columns.
std::string to_json_array(const std::vector<std::string>& items);
// The strings of a stored array; empty when the text is not one.
std::vector<std::string> from_json_array(const std::string& text);

}  // namespace vtrace::responder
