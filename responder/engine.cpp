// Engine: the façade over the responder's parts; see engine.hpp.
#include "responder/engine.hpp"

namespace vtrace::responder {

Engine::Engine(std::shared_ptr<const ResponderConfig> config, const Clock& clock,
               const std::string& state_file)
    : state_(std::move(config), clock, state_file) {}

void Engine::set_config(std::shared_ptr<const ResponderConfig> config) {
  std::lock_guard lock(state_.mutex);
  state_.config = std::move(config);
}

std::shared_ptr<const ResponderConfig> Engine::config() const { return state_.current_config(); }

void Engine::audit(const std::string& actor, const std::string& event, const std::string& detail) {
  std::lock_guard lock(state_.mutex);
  state_.audit_locked(actor, event, detail);
}

IngestResult Engine::ingest(const Incident& incident, const std::string& peer) {
  return incidents_.ingest(incident, peer);
}

int Engine::flush_digests() { return outbox_.flush_digests(); }

int Engine::deliver_due(MailSender& sender, int max) { return outbox_.deliver_due(sender, max); }

bool Engine::release_mail(std::int64_t mail_id, const std::string& actor,
                          const std::string& reason) {
  return outbox_.release_mail(mail_id, actor, reason);
}

std::optional<TimePoint> Engine::next_wakeup() { return outbox_.next_wakeup(); }

void Engine::set_containment_backend(ContainmentBackend* backend, std::function<void()> wake) {
  containment_.set_backend(backend, std::move(wake));
}

int Engine::process_containments() { return containment_.process(); }

ContainmentRelease Engine::request_release(std::int64_t id, const std::string& actor,
                                           const std::string& reason) {
  return containment_.request_release(id, actor, reason);
}

std::string Engine::list_incidents_json(const std::string& origin, TimePoint since, int limit) {
  return reports_.list_incidents_json(origin, since, limit);
}

std::optional<std::string> Engine::incident_json(const std::string& id) {
  return reports_.incident_json(id);
}

std::string Engine::outbox_json(const std::string& status, int limit) {
  return reports_.outbox_json(status, limit);
}

std::optional<std::string> Engine::mail_json(std::int64_t mail_id) {
  return reports_.mail_json(mail_id);
}

std::string Engine::containments_json(const std::string& status, int limit) {
  return reports_.containments_json(status, limit);
}

std::map<std::string, std::int64_t> Engine::gauges() { return reports_.gauges(); }

std::string Engine::origins_json(TimePoint since) { return reports_.origins_json(since); }

std::string Engine::stats_json(TimePoint since) { return reports_.stats_json(since); }

}  // namespace vtrace::responder
