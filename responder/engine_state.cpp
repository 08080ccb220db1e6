#include "responder/engine_state.hpp"

#include <boost/json.hpp>

namespace vtrace::responder {

namespace json = boost::json;

namespace {

const char* const kAuditSchema = R"(
CREATE TABLE IF NOT EXISTS audit(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  event TEXT NOT NULL,
  detail TEXT NOT NULL);
)";

}  // namespace

EngineState::EngineState(std::shared_ptr<const ResponderConfig> config_in, const Clock& clock_in,
                         const std::string& state_file)
    : config(std::move(config_in)), clock(clock_in), db(state_file) {
  db.exec("PRAGMA journal_mode=WAL");
  // FULL: a commit is on disk before POST /v1/incidents answers 2xx.
  db.exec("PRAGMA synchronous=FULL");
  db.exec("PRAGMA foreign_keys=ON");
  db.exec(kAuditSchema);
}

std::shared_ptr<const ResponderConfig> EngineState::current_config() const {
  std::lock_guard lock(mutex);
  return config;
}

void EngineState::audit_locked(const std::string& actor, const std::string& event,
                               const std::string& detail) {
  db.prepare("INSERT INTO audit(at, actor, event, detail) VALUES(?,?,?,?)")
      .bind(1, clock.now())
      .bind(2, actor)
      .bind(3, event)
      .bind(4, detail)
      .run();
}

std::string to_json_array(const std::vector<std::string>& items) {
  json::array a;
  for (const auto& i : items) a.emplace_back(i);
  return json::serialize(a);
}

std::vector<std::string> from_json_array(const std::string& text) {
  std::vector<std::string> out;
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_array()) return out;
  for (const auto& item : v.get_array()) {
    if (item.is_string()) out.emplace_back(item.get_string());
  }
  return out;
}

}  // namespace vtrace::responder
