// The webhook and AWX port controllers and their retry policy.
#include "responder/containment/http_port_controllers.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <boost/json.hpp>
#include <variant>

namespace vtrace::responder {

namespace json = boost::json;

namespace {

constexpr Duration kMaxBackoff = seconds(300);
constexpr const char* kUserAgent = "vtrace-responder/0.1";

bool is_2xx(const HttpResponse& r) { return r.transport_ok && r.status >= 200 && r.status < 300; }

bool retryable(const HttpResponse& r) { return !r.transport_ok || r.status >= 500; }

// A server's answer quoted in a containment detail: one line, printable ASCII, bounded.
std::string excerpt(std::string_view body) {
  std::string out;
  for (char c : body) {
    if (out.size() >= 200) {
      out += "...";
      break;
    }
    const auto u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u >= 0x7f) ? ' ' : c;
  }
  return out;
}

std::string outcome(const HttpResponse& r) {
  if (!r.transport_ok) return r.error;
  std::string text = std::to_string(r.status);
  if (!is_2xx(r) && !r.body.empty()) text += " " + excerpt(r.body);
  return text;
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "; ") + p;
  return out;
}

// A JSON scalar as the text an operator would write in the configuration.
std::string scalar_text(const json::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  if (v.is_bool()) return v.get_bool() ? "true" : "false";
  if (v.is_null()) return "null";
  return json::serialize(v);
}

std::optional<json::value> parse_json(const std::string& text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return std::nullopt;
  return v;
}

}  // namespace

std::string hmac_sha256_hex(std::string_view key, std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest, &length);
  static const char* const kHex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

// ---- retry ---------------------------------------------------------------------------------

HttpResponse send_with_retry(HttpClient& client, Sleeper& sleeper, const HttpRequest& request,
                             const HttpEndpointConfig& http, std::vector<std::string>* log) {
  Duration wait = http.retry_initial;
  HttpResponse r;
  for (int attempt = 1; attempt <= http.attempts; ++attempt) {
    r = client.send(request);
    log->push_back(request.method + " " + request.url + " -> " + outcome(r) + " (attempt " +
                   std::to_string(attempt) + "/" + std::to_string(http.attempts) + ")");
    if (!retryable(r) || attempt == http.attempts) break;
    sleeper.sleep_for(wait);
    wait = std::min(wait * 2, kMaxBackoff);
  }
  return r;
}

bool verify_by_snmp(SnmpPortReader& reader, Sleeper& sleeper, const VerifyConfig& verify,
                    const PortRequest& request, std::int64_t* if_index, std::string* problem,
                    std::string* read_back) {
  const bool vlan = request.vlan > 0;
  const std::int64_t want = vlan ? request.vlan : request.up ? 1 : 2;
  for (int attempt = 1; attempt <= verify.attempts; ++attempt) {
    if (attempt > 1) sleeper.sleep_for(verify.interval);
    std::string why;
    const std::int64_t index =
        reader.resolve(*request.device, request.port, request.if_index, &why);
    if (index == 0) {
      *problem = why;
      continue;
    }
    *if_index = index;
    std::string object = "ifAdminStatus." + std::to_string(index);
    std::optional<std::int64_t> value;
    if (vlan) {
      const auto o = reader.vlan_object(*request.device, index, &why);
      if (o) {
        object = vlan_object_name(*o);
        value = reader.read_vlan(*request.device, *o, &why);
      }
    } else {
      value = reader.admin_status(*request.device, index, &why);
    }
    if (!value) {
      *problem = why;
      continue;
    }
    if (read_back) *read_back = object;
    if (*value == want) return true;
    *problem = object + " on " + request.device->name + " still reads " + std::to_string(*value) +
               ", not " + std::to_string(want) + " after " + std::to_string(attempt) + " reads";
  }
  return false;
}

std::optional<PortRequest> with_previous_vlan(SnmpPortReader* reader, const PortRequest& request,
                                              std::string* problem) {
  PortRequest out = request;
  // A release names the VLAN to go back to and the quarantine VLAN the engine recorded; it
  // does not depend on a read that could keep the port quarantined.
  if (request.vlan == 0 || request.up) return out;
  if (!reader) {
    *problem = "no SNMP reader to learn the VLAN of " + request.device->name + " " + request.port;
    return std::nullopt;
  }
  const std::int64_t index =
      reader->resolve(*request.device, request.port, request.if_index, problem);
  if (index == 0) return std::nullopt;
  const auto object = reader->vlan_object(*request.device, index, problem);
  if (!object) return std::nullopt;
  const auto now = reader->read_vlan(*request.device, *object, problem);
  if (!now) return std::nullopt;
  if (*now == request.vlan) {
    *problem = request.device->name + " " + request.port + " is already in VLAN " +
               std::to_string(request.vlan) + ": the VLAN it had before is unknown";
    return std::nullopt;
  }
  out.if_index = index;
  out.previous_vlan = static_cast<int>(*now);
  return out;
}

std::string requested_state(const PortRequest& request) {
  if (request.vlan == 0) return request.up ? "up" : "down";
  return "in VLAN " + std::to_string(request.vlan) + " (was " +
         std::to_string(request.previous_vlan) + ")";
}

// ---- webhook -------------------------------------------------------------------------------

namespace {
// The credential the back end's `credential` names; empty when the secrets file has none.
HttpCredential credential_named(const std::map<std::string, HttpCredential>& credentials,
                                const std::string& name) {
  const auto it = credentials.find(name);
  return it == credentials.end() ? HttpCredential{} : it->second;
}
}  // namespace

WebhookPortController::WebhookPortController(
    HttpBackendEdges edges, std::shared_ptr<const ContainmentConfig> config,
    const std::map<std::string, HttpCredential>& credentials)
    : edges_(edges),
      config_(std::move(config)),
      credential_(credential_named(credentials, config_->webhook.http.credential)) {
  const WebhookConfig& w = config_->webhook;
  // The configuration loader compiled these already; a failure here leaves them unset and
  // every write then fails with a message instead of sending a half-rendered request.
  std::string problem;
  url_ = RequestTemplate::compile(w.url, RequestTemplate::Encoding::kUrl, &problem);
  body_ = RequestTemplate::compile(w.body, RequestTemplate::Encoding::kJson, &problem);
  status_url_ = RequestTemplate::compile(w.verify.url, RequestTemplate::Encoding::kUrl, &problem);
}

void WebhookPortController::authorise(HttpRequest& request) const {
  const WebhookConfig& w = config_->webhook;
  if (w.auth == HttpAuth::kBearer) {
    request.headers.emplace_back("Authorization", "Bearer " + credential_.token);
  } else if (w.auth == HttpAuth::kHmac) {
    request.headers.emplace_back(w.signature_header,
                                 "sha256=" + hmac_sha256_hex(credential_.hmac_key, request.body));
  }
}

PortWrite WebhookPortController::set_admin_status(const PortRequest& asked) {
  PortWrite out;
  out.if_index = asked.if_index;
  const WebhookConfig& w = config_->webhook;
  if (!w.configured || !url_ || !body_ || !status_url_) {
    out.detail = "containment.webhook is not configured";
    return out;
  }
  std::string problem;
  const auto prepared = with_previous_vlan(edges_.snmp_reader, asked, &problem);
  if (!prepared) {
    out.detail = "nothing sent to the webhook: " + problem;
    return out;
  }
  const PortRequest& request = *prepared;
  out.previous_vlan = request.previous_vlan;
  const TemplateValues values = template_values(request);
  HttpRequest call;
  call.method = w.method;
  call.url = url_->render(values);
  call.body = body_->render(values);
  call.timeout = w.http.timeout;
  call.ca_file = w.http.ca_file;
  call.headers = {
      {"Content-Type", "application/json"},
      {"Accept", "application/json"},
      {"User-Agent", kUserAgent},
      // The same key for the retries of this write, a new one for a write the engine
      // tries again later (the receiver must not answer that from its cache).
      {"Idempotency-Key", "vtrace-c" + std::to_string(request.containment_id) + "-" +
                              action_of(request) + "-" + std::to_string(edges_.clock.now())}};
  authorise(call);
  std::vector<std::string> log;
  HttpResponse r = send_with_retry(edges_.http, edges_.sleeper, call, w.http, &log);
  if (!is_2xx(r)) {
    out.detail = "webhook failed: " + join(log) +
                 (r.transport_ok && r.status < 500 ? " (a 4xx is not retried)" : "");
    return out;
  }
  const bool vlan = request.vlan > 0;
  const std::string want = vlan         ? std::to_string(request.vlan)
                           : request.up ? w.verify.up
                                        : w.verify.down;
  const std::string& field = vlan ? w.verify.vlan_field : w.verify.field;
  if (w.verify.method == VerifyMethod::kSnmp) {
    std::string read_back;
    if (!edges_.snmp_reader || !verify_by_snmp(*edges_.snmp_reader, edges_.sleeper, w.verify,
                                               request, &out.if_index, &problem, &read_back)) {
      out.detail = "webhook accepted the write but it is not verified: " +
                   (edges_.snmp_reader ? problem : "no SNMP reader") + "; " + join(log);
      return out;
    }
    out.ok = true;
    out.detail = request.device->name + " " + request.port + " is " + requested_state(request) +
                 ", verified by SNMP read-back of " + read_back + "; " + join(log);
    return out;
  }
  HttpRequest status;
  status.method = "GET";
  status.url = status_url_->render(values);
  status.timeout = w.http.timeout;
  status.ca_file = w.http.ca_file;
  status.headers = {{"Accept", "application/json"}, {"User-Agent", kUserAgent}};
  authorise(status);
  std::string seen = "no answer";
  for (int attempt = 1; attempt <= w.verify.attempts; ++attempt) {
    if (attempt > 1) edges_.sleeper.sleep_for(w.verify.interval);
    HttpResponse s = edges_.http.send(status);
    if (!is_2xx(s)) {
      seen = "GET " + status.url + " -> " + outcome(s);
      continue;
    }
    auto doc = parse_json(s.body);
    if (!doc) {
      seen = "GET " + status.url + " answered something that is not JSON";
      continue;
    }
    std::error_code ec;
    const json::value* value = doc->find_pointer(field, ec);
    if (!value) {
      seen = "GET " + status.url + " has no field " + field;
      continue;
    }
    const std::string text = scalar_text(*value);
    if (text == want) {
      out.ok = true;
      out.detail = request.device->name + " " + request.port + " is " + requested_state(request) +
                   ", verified: " + status.url + " " + field + " = \"" + excerpt(text) + "\"; " +
                   join(log);
      return out;
    }
    seen = status.url + " " + field + " = \"" + excerpt(text) + "\", not \"" + want + "\" after " +
           std::to_string(attempt) + " reads";
  }
  out.detail = "webhook accepted the write but it is not verified: " + seen + "; " + join(log);
  return out;
}

// ---- AWX -----------------------------------------------------------------------------------

AwxPortController::AwxPortController(HttpBackendEdges edges,
                                     std::shared_ptr<const ContainmentConfig> config,
                                     const std::map<std::string, HttpCredential>& credentials)
    : edges_(edges),
      config_(std::move(config)),
      credential_(credential_named(credentials, config_->awx.http.credential)) {}

HttpRequest AwxPortController::request(const std::string& method, const std::string& path) const {
  const AwxConfig& a = config_->awx;
  std::string base = a.url;
  while (base.ends_with("/")) base.pop_back();
  HttpRequest r;
  r.method = method;
  r.url = base + path;
  r.timeout = a.http.timeout;
  r.ca_file = a.http.ca_file;
  r.headers = {{"Accept", "application/json"},
               {"User-Agent", kUserAgent},
               {"Authorization", "Bearer " + credential_.token}};
  if (method == "POST") r.headers.emplace_back("Content-Type", "application/json");
  return r;
}

void AwxPortController::cancel(std::int64_t job, std::vector<std::string>* log) {
  HttpRequest r = request("POST", "/api/v2/jobs/" + std::to_string(job) + "/cancel/");
  HttpResponse answer = edges_.http.send(r);
  log->push_back("cancel job " + std::to_string(job) + " -> " + outcome(answer));
}

PortWrite AwxPortController::set_admin_status(const PortRequest& asked) {
  PortWrite out;
  out.if_index = asked.if_index;
  const AwxConfig& a = config_->awx;
  if (!a.configured) {
    out.detail = "containment.awx is not configured";
    return out;
  }
  std::string problem;
  const auto prepared = with_previous_vlan(edges_.snmp_reader, asked, &problem);
  if (!prepared) {
    out.detail = "no AWX job launched: " + problem;
    return out;
  }
  const PortRequest& request = *prepared;
  out.previous_vlan = request.previous_vlan;
  const std::int64_t job_template =
      request.up && a.release_job_template != 0 ? a.release_job_template : a.job_template;
  // The same values as a webhook's template, but AWX playbooks read the containment and the
  // incident as containment_id and incident_id.
  json::object vars;
  for (const auto& [name, value] : port_values(request)) {
    std::string key(name);
    if (key == "containment" || key == "incident") key += "_id";
    std::visit([&](const auto& v) { vars[key] = v; }, value);
  }
  HttpRequest launch =
      this->request("POST", "/api/v2/job_templates/" + std::to_string(job_template) + "/launch/");
  launch.body = json::serialize(json::object{{"extra_vars", vars}});
  std::vector<std::string> log;
  HttpResponse r = send_with_retry(edges_.http, edges_.sleeper, launch, a.http, &log);
  if (!is_2xx(r)) {
    out.detail = "AWX launch failed: " + join(log) +
                 (r.transport_ok && r.status < 500 ? " (a 4xx is not retried)" : "");
    return out;
  }
  auto doc = parse_json(r.body);
  std::int64_t job = 0;
  if (doc && doc->is_object()) {
    for (const char* key : {"job", "id"}) {
      const json::value* v = doc->get_object().if_contains(key);
      if (v && v->is_int64()) {
        job = v->get_int64();
        break;
      }
    }
  }
  if (job <= 0) {
    out.detail = "AWX launch answered without a job id: " + excerpt(r.body) + "; " + join(log);
    return out;
  }
  const std::string job_text = "AWX job " + std::to_string(job);
  // AWX drops extra_vars unless the template prompts for them, and still launches the job:
  // that job does not know which port to touch.
  if (const json::value* ignored = doc->get_object().if_contains("ignored_fields");
      ignored && ignored->is_object() && ignored->get_object().contains("extra_vars")) {
    cancel(job, &log);
    out.detail = job_text + ": AWX ignored extra_vars (turn on 'Prompt on launch' for variables " +
                 "on job template " + std::to_string(job_template) + "); " + join(log);
    return out;
  }
  const TimePoint deadline = edges_.clock.now() + a.job_timeout;
  const std::string path = "/api/v2/jobs/" + std::to_string(job) + "/";
  std::string status = "unknown";
  for (;;) {
    HttpResponse poll = edges_.http.send(this->request("GET", path));
    if (poll.transport_ok && poll.status >= 400 && poll.status < 500) {
      out.detail = job_text + ": polling " + path + " answered " + outcome(poll) + "; " + join(log);
      return out;
    }
    if (is_2xx(poll)) {
      auto state = parse_json(poll.body);
      const json::value* s =
          state && state->is_object() ? state->get_object().if_contains("status") : nullptr;
      if (s && s->is_string()) status = std::string(s->get_string());
      if (status == "successful" || status == "failed" || status == "error" ||
          status == "canceled") {
        break;
      }
    }
    if (edges_.clock.now() >= deadline) {
      cancel(job, &log);
      out.detail = job_text + " still " + excerpt(status) + " after job_timeout (" +
                   std::to_string(a.job_timeout / seconds(1)) + " s); " + join(log);
      return out;
    }
    edges_.sleeper.sleep_for(a.poll_interval);
  }
  log.push_back(job_text + " " + status);
  if (status != "successful") {
    out.detail =
        job_text + " ended " + status + ": the port was not changed as asked; " + join(log);
    return out;
  }
  if (a.verify.method == VerifyMethod::kJob) {
    out.ok = true;
    out.detail = request.device->name + " " + request.port + " is " + requested_state(request) +
                 ", verified by the job (verify: job); " + join(log);
    return out;
  }
  std::string read_back;
  if (!edges_.snmp_reader || !verify_by_snmp(*edges_.snmp_reader, edges_.sleeper, a.verify, request,
                                             &out.if_index, &problem, &read_back)) {
    out.detail = job_text + " successful but the write is not verified: " +
                 (edges_.snmp_reader ? problem : "no SNMP reader") + "; " + join(log);
    return out;
  }
  out.ok = true;
  out.detail = request.device->name + " " + request.port + " is " + requested_state(request) +
               ", verified by SNMP read-back of " + read_back + "; " + join(log);
  return out;
}

// ---- dispatch ------------------------------------------------------------------------------

PortWrite BackendPortController::set_admin_status(const PortRequest& request) {
  const PortBackend backend = backend_of(*config_, *request.device);
  PortController* c = backend == PortBackend::kWebhook ? webhook_
                      : backend == PortBackend::kAwx   ? awx_
                                                       : snmp_;
  if (!c) {
    PortWrite out;
    out.if_index = request.if_index;
    out.detail = "the " + std::string(to_string(backend)) + " back end is not available";
    return out;
  }
  return c->set_admin_status(request);
}

}  // namespace vtrace::responder
