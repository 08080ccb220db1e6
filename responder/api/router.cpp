// Routes of the v1 API, their validation and their JSON answers.
#include "responder/api/router.hpp"

#include <boost/json.hpp>
#include <fstream>
#include <sstream>

namespace vtrace::responder {

namespace json = boost::json;

namespace {

ApiResponse error(int status, const std::string& message) {
  return {status, "application/json", json::serialize(json::object{{"error", message}}), {}};
}

ApiResponse ok_json(std::string body, int status = 200) {
  return {status, "application/json", std::move(body), {}};
}

// Constant-time comparison, so the token cannot be guessed byte by byte from timings.
bool same_secret(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const std::size_t n = std::max(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

std::map<std::string, std::string> parse_query(const std::string& query, std::string* problem) {
  std::map<std::string, std::string> out;
  std::size_t pos = 0;
  while (pos <= query.size() && !query.empty()) {
    std::size_t amp = query.find('&', pos);
    if (amp == std::string::npos) amp = query.size();
    const std::string part = query.substr(pos, amp - pos);
    if (!part.empty()) {
      const std::size_t eq = part.find('=');
      auto key = url_decode(part.substr(0, eq));
      auto value = url_decode(eq == std::string::npos ? "" : part.substr(eq + 1));
      if (!key || !value) {
        *problem = "bad percent-encoding in the query";
        return {};
      }
      out[*key] = *value;
    }
    pos = amp + 1;
  }
  return out;
}

std::string escape_label(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

// The operator page's policy: only our own files, no inline script or style, no framing.
constexpr const char* kContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";

const char* content_type_of(std::string_view name) {
  auto ends = [&](std::string_view ext) {
    return name.size() >= ext.size() &&
           name.compare(name.size() - ext.size(), ext.size(), ext) == 0;
  };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".js") || ends(".mjs")) return "text/javascript; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".png")) return "image/png";
  if (ends(".ico")) return "image/x-icon";
  if (ends(".json")) return "application/json";
  if (ends(".txt")) return "text/plain; charset=utf-8";
  return nullptr;
}

// A relative path of plain names: letters, digits, '-', '_', '.', separated by single '/';
// no empty, '.' or '..' segment and no hidden file. Anything else is refused before the
// file system is asked.
bool safe_relative_path(std::string_view path) {
  if (path.empty() || path.size() > 200) return false;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    const std::string_view seg = path.substr(start, slash - start);
    if (seg.empty() || seg[0] == '.') return false;
    for (char c : seg) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_' || c == '.';
      if (!ok) return false;
    }
    start = slash + 1;
  }
  return true;
}

// A `since` query parameter: an RFC 3339 time, or a duration back from now. A duration too
// long to count or a time before 1970 is refused, naming the parameter, never wrapped.
std::optional<TimePoint> parse_since(const std::string& text, std::string* problem) {
  if (text.empty()) return TimePoint{0};
  if (auto t = parse_rfc3339(text)) return *t;
  DurationProblem why = DurationProblem::kNone;
  if (auto d = parse_duration(text, &why)) return SystemClock().now() - *d;
  *problem = why == DurationProblem::kTooLarge
                 ? "since: the duration is too long (at most 106751991d)"
                 : "since: expected an RFC 3339 time from 1970 on or a duration such as 18d";
  return std::nullopt;
}

std::optional<TimePoint> parse_since(const std::map<std::string, std::string>& params,
                                     std::string* problem) {
  auto it = params.find("since");
  if (it == params.end()) return TimePoint{0};
  return parse_since(it->second, problem);
}

// A query whose only allowed parameter is "since" (the reports).
std::optional<TimePoint> since_only(const std::string& query, std::string* problem) {
  auto params = parse_query(query, problem);
  if (!problem->empty()) return std::nullopt;
  for (const auto& kv : params) {
    if (kv.first != "since") {
      *problem = "unknown query parameter (allowed: since)";
      return std::nullopt;
    }
  }
  return parse_since(params, problem);
}

// The audit note an operator sends with a release: {"reason": ..., "operator": ...}, both
// optional strings without control characters (they end up in the audit log and the CLI).
struct OperatorNote {
  std::string reason;
  std::string operator_name;
  std::string actor(const std::string& peer) const {
    return "api:" + peer + (operator_name.empty() ? "" : " operator=" + operator_name);
  }
};

std::optional<std::string> operator_note(const std::string& body_text, OperatorNote* note) {
  boost::system::error_code ec;
  json::value body = json::parse(body_text, ec);
  if (ec || !body.is_object()) {
    return std::string("the body must be a JSON object with \"reason\" (and \"operator\")");
  }
  auto text = [&](const char* key, std::size_t max,
                  std::string* out) -> std::optional<std::string> {
    const json::value* v = body.get_object().if_contains(key);
    if (!v) return std::nullopt;
    if (!v->is_string()) return std::string(key) + " must be a string";
    *out = std::string(v->get_string());
    if (out->size() > max) return std::string(key) + " is too long";
    for (unsigned char c : *out) {
      if (c < 0x20 || c == 0x7f) return std::string(key) + " must not contain control characters";
    }
    return std::nullopt;
  };
  if (auto p = text("reason", 500, &note->reason)) return p;
  if (auto p = text("operator", 100, &note->operator_name)) return p;
  return std::nullopt;
}

}  // namespace

std::optional<std::string> url_decode(std::string_view text) {
  auto hex = [](char h) -> int {
    if (h >= '0' && h <= '9') return h - '0';
    if (h >= 'a' && h <= 'f') return h - 'a' + 10;
    if (h >= 'A' && h <= 'F') return h - 'A' + 10;
    return -1;
  };
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      const int hi = hex(text[i + 1]);
      const int lo = hex(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

Router::Router(Engine& engine, std::string api_token, bool require_token)
    : engine_(engine), token_(std::move(api_token)), require_token_(require_token) {}

std::int64_t Router::responses(int status_class) const {
  if (status_class < 1 || status_class > 5) return 0;
  return responses_[status_class].load();
}

void Router::count_response(int status) {
  const int cls = status / 100;
  if (cls >= 1 && cls <= 5) responses_[cls]++;
}

ApiResponse Router::handle(const ApiRequest& request) {
  ApiResponse response;
  try {
    response = route(request);
  } catch (const std::exception& e) {
    // Storage trouble (disk full, locked): the caller retries; nothing was acknowledged.
    response = error(500, std::string("internal error: ") + e.what());
  }
  count_response(response.status);
  return response;
}

bool Router::authorized(const ApiRequest& request) const {
  if (!require_token_) return true;
  if (token_.empty()) return false;
  const std::string prefix = "Bearer ";
  if (request.authorization.rfind(prefix, 0) != 0) return false;
  return same_secret(std::string_view(request.authorization).substr(prefix.size()), token_);
}

ApiResponse Router::route(const ApiRequest& request) {
  const std::size_t q = request.target.find('?');
  const std::string path = request.target.substr(0, q);
  const std::string query = q == std::string::npos ? "" : request.target.substr(q + 1);
  const bool get = request.method == "GET" || request.method == "HEAD";
  const bool post = request.method == "POST";
  auto method_not_allowed = [](const char* allow) {
    ApiResponse r = error(405, std::string("method not allowed (allowed: ") + allow + ")");
    r.headers["Allow"] = allow;
    return r;
  };
  auto unauthorized = [] {
    ApiResponse r = error(401, "a bearer token is required for this call");
    r.headers["WWW-Authenticate"] = "Bearer realm=\"vtrace\"";
    return r;
  };

  if (path == "/" || path == "/ui" || path.rfind("/ui/", 0) == 0) {
    if (!get) return method_not_allowed("GET");
    if (path == "/" || path == "/ui" || path == "/ui/") return static_file("index.html");
    return static_file(path.substr(4));
  }
  if (path == "/v1/origins") {
    if (!get) return method_not_allowed("GET");
    return origins(query);
  }
  if (path == "/v1/stats") {
    if (!get) return method_not_allowed("GET");
    return stats(query);
  }
  if (path == "/healthz") {
    if (!get) return method_not_allowed("GET");
    return {200, "text/plain; charset=utf-8", "ok\n", {}};
  }
  if (path == "/metrics") {
    if (!get) return method_not_allowed("GET");
    return metrics();
  }
  if (path == "/v1/incidents") {
    if (post) {
      if (!authorized(request)) return unauthorized();
      return post_incident(request);
    }
    if (get) return list_incidents(query);
    return method_not_allowed("GET, POST");
  }
  const std::string incident_prefix = "/v1/incidents/";
  if (path.rfind(incident_prefix, 0) == 0) {
    if (!get) return method_not_allowed("GET");
    const std::string id = path.substr(incident_prefix.size());
    if (!valid_incident_id(id)) return error(400, "not an incident id");
    auto body = engine_.incident_json(id);
    if (!body) return error(404, "no incident " + id);
    return ok_json(*body);
  }
  if (path == "/v1/outbox") {
    if (!get) return method_not_allowed("GET");
    std::string problem;
    auto params = parse_query(query, &problem);
    if (!problem.empty()) return error(400, problem);
    return ok_json(engine_.outbox_json(params["status"], 500));
  }
  const std::string outbox_prefix = "/v1/outbox/";
  const std::string release_suffix = "/release";
  if (path.rfind(outbox_prefix, 0) == 0 &&
      path.size() > outbox_prefix.size() + release_suffix.size() &&
      path.compare(path.size() - release_suffix.size(), release_suffix.size(), release_suffix) ==
          0) {
    if (!post) return method_not_allowed("POST");
    if (!authorized(request)) return unauthorized();
    const std::string digits = path.substr(
        outbox_prefix.size(), path.size() - outbox_prefix.size() - release_suffix.size());
    if (digits.empty() || digits.size() > 18 ||
        digits.find_first_not_of("0123456789") != std::string::npos) {
      return error(400, "not a mail id");
    }
    return release_mail(request, std::stoll(digits));
  }
  if (path.rfind(outbox_prefix, 0) == 0) {
    if (!get) return method_not_allowed("GET");
    const std::string digits = path.substr(outbox_prefix.size());
    if (digits.empty() || digits.size() > 18 ||
        digits.find_first_not_of("0123456789") != std::string::npos) {
      return error(400, "not a mail id");
    }
    auto body = engine_.mail_json(std::stoll(digits));
    if (!body) return error(404, "no mail " + digits);
    return ok_json(*body);
  }
  if (path == "/v1/containments") {
    if (!get) return method_not_allowed("GET");
    std::string problem;
    auto params = parse_query(query, &problem);
    if (!problem.empty()) return error(400, problem);
    return ok_json(engine_.containments_json(params["status"], 500));
  }
  const std::string containment_prefix = "/v1/containments/";
  if (path.rfind(containment_prefix, 0) == 0 &&
      path.size() > containment_prefix.size() + release_suffix.size() &&
      path.compare(path.size() - release_suffix.size(), release_suffix.size(), release_suffix) ==
          0) {
    if (!post) return method_not_allowed("POST");
    if (!authorized(request)) return unauthorized();
    const std::string digits = path.substr(
        containment_prefix.size(), path.size() - containment_prefix.size() - release_suffix.size());
    if (digits.empty() || digits.size() > 18 ||
        digits.find_first_not_of("0123456789") != std::string::npos) {
      return error(400, "not a containment id");
    }
    return release_containment(request, std::stoll(digits));
  }
  return error(404, "no such resource: " + path.substr(0, 100));
}

ApiResponse Router::static_file(const std::string& relative) {
  ApiResponse r;
  r.headers["Content-Security-Policy"] = kContentSecurityPolicy;
  r.headers["X-Content-Type-Options"] = "nosniff";
  r.headers["Referrer-Policy"] = "no-referrer";
  r.headers["Cache-Control"] = "no-cache";
  auto refuse = [&](int status, const std::string& message) {
    ApiResponse e = error(status, message);
    e.headers = r.headers;
    return e;
  };
  if (!safe_relative_path(relative)) return refuse(404, "no such file");
  const char* type = content_type_of(relative);
  if (!type) return refuse(404, "no such file");
  if (web_root_.empty())
    return refuse(404, "the operator page is not configured (listen.web_root)");
  std::ifstream in(web_root_ + "/" + relative, std::ios::binary);
  if (!in) return refuse(404, "no such file");
  std::ostringstream body;
  body << in.rdbuf();
  if (in.bad()) return refuse(404, "no such file");
  r.status = 200;
  r.content_type = type;
  r.body = body.str();
  return r;
}

ApiResponse Router::origins(const std::string& query) {
  std::string problem;
  const auto since = since_only(query, &problem);
  if (!since) return error(400, problem);
  return ok_json(engine_.origins_json(*since));
}

ApiResponse Router::stats(const std::string& query) {
  std::string problem;
  const auto since = since_only(query, &problem);
  if (!since) return error(400, problem);
  return ok_json(engine_.stats_json(*since));
}

ApiResponse Router::release_containment(const ApiRequest& request, std::int64_t id) {
  OperatorNote note;
  if (auto problem = operator_note(request.body, &note)) return error(400, *problem);
  if (note.reason.empty()) return error(400, "a non-empty \"reason\" is required");
  ContainmentRelease r = engine_.request_release(id, note.actor(request.peer), note.reason);
  json::object out{{"id", id}, {"message", r.message}};
  if (r.status == 200 || r.status == 202) {
    out["status"] = r.status == 200 ? "cancelled" : "release_requested";
    return ok_json(json::serialize(out), r.status);
  }
  return error(r.status, r.message);
}

ApiResponse Router::release_mail(const ApiRequest& request, std::int64_t id) {
  // vtracectl sends no body; the operator page sends the reason and operator for the audit.
  OperatorNote note;
  if (!request.body.empty()) {
    if (auto problem = operator_note(request.body, &note)) return error(400, *problem);
  }
  if (!engine_.release_mail(id, note.actor(request.peer), note.reason)) {
    return error(404, "no held mail " + std::to_string(id));
  }
  return ok_json(json::serialize(json::object{{"id", id}, {"status", "queued"}}));
}

ApiResponse Router::post_incident(const ApiRequest& request) {
  if (!request.content_type.empty() && request.content_type.rfind("application/json", 0) != 0) {
    return error(415, "the body must be application/json");
  }
  IncidentError problem;
  auto incident = parse_incident(request.body, &problem);
  if (!incident) {
    engine_.counters().incidents_rejected++;
    json::object body{{"error", "not an incident: " + problem.message()}};
    if (!problem.field.empty()) body["field"] = problem.field;
    return {400, "application/json", json::serialize(body), {}};
  }
  IngestResult result = engine_.ingest(*incident, request.peer);
  const char* what = result.kind == IngestKind::kCreated   ? "created"
                     : result.kind == IngestKind::kUpdated ? "updated"
                                                           : "unchanged";
  json::object body{{"id", incident->id},
                    {"result", what},
                    {"revision", result.revision},
                    {"actions_run", result.actions_run}};
  return ok_json(json::serialize(body), result.kind == IngestKind::kCreated ? 201 : 200);
}

ApiResponse Router::list_incidents(const std::string& query) {
  std::string problem;
  auto params = parse_query(query, &problem);
  if (!problem.empty()) return error(400, problem);
  for (const auto& [key, value] : params) {
    if (key != "origin" && key != "since" && key != "limit") {
      return error(400, "unknown query parameter '" + key.substr(0, 40) +
                            "' (allowed: origin, since, limit)");
    }
  }
  std::string origin;
  if (params.count("origin")) {
    auto ip = IpAddress::parse(params["origin"]);
    if (!ip) return error(400, "origin: not an IP address");
    origin = ip->to_string();
  }
  const auto since = parse_since(params, &problem);
  if (!since) return error(400, problem);
  int limit = 100;
  if (params.count("limit")) {
    const std::string& l = params["limit"];
    if (l.empty() || l.size() > 5 || l.find_first_not_of("0123456789") != std::string::npos) {
      return error(400, "limit: expected a number from 1 to 10000");
    }
    limit = std::stoi(l);
    if (limit < 1 || limit > 10000) return error(400, "limit: expected a number from 1 to 10000");
  }
  return ok_json(engine_.list_incidents_json(origin, *since, limit));
}

ApiResponse Router::metrics() {
  std::ostringstream out;
  auto counter = [&](const char* name, const char* help, std::int64_t value) {
    out << "# HELP vtrace_responder_" << name << ' ' << help << '\n'
        << "# TYPE vtrace_responder_" << name << " counter\n"
        << "vtrace_responder_" << name << ' ' << value << '\n';
  };
  Counters& c = engine_.counters();
  counter("incidents_received_total", "Incidents POSTed.", c.incidents_received);
  counter("incidents_created_total", "Incidents stored for the first time.", c.incidents_created);
  counter("incidents_updated_total", "Incidents replaced by a higher revision.",
          c.incidents_updated);
  counter("incidents_unchanged_total", "Resent incidents that changed nothing.",
          c.incidents_unchanged);
  counter("incidents_rejected_total", "Bodies that were not a valid incident.",
          c.incidents_rejected);
  counter("actions_run_total", "Policy actions run.", c.actions_run);
  counter("mails_queued_total", "Mails queued for delivery.", c.mails_queued);
  counter("mails_digested_total", "Detections folded into a digest instead of a mail.",
          c.mails_digested);
  counter("digests_flushed_total", "Digest mails produced.", c.digests_flushed);
  counter("mails_sent_total", "Mails accepted by the SMTP server.", c.mails_sent);
  counter("mail_retries_total", "Delivery attempts that will be retried.", c.mails_retried);
  counter("mails_failed_total", "Mails given up on.", c.mails_failed);
  counter("ports_disabled_total", "Switch ports shut and verified.", c.ports_disabled);
  counter("ports_enabled_total", "Switch ports re-enabled and verified.", c.ports_enabled);
  counter("containments_refused_total", "Containments refused by a guard or the breaker.",
          c.containments_refused);
  counter("containments_failed_total", "Port writes that failed or did not verify.",
          c.containments_failed);
  counter("containments_escaped_total",
          "Containments whose host was detected again on another port after its port was shut.",
          c.containments_escaped);
  counter("config_reloads_total", "Successful configuration reloads.", c.config_reloads);
  counter("config_reload_failures_total", "Rejected configuration reloads.",
          c.config_reload_failures);
  out << "# HELP vtrace_responder_http_responses_total HTTP responses by status class.\n"
      << "# TYPE vtrace_responder_http_responses_total counter\n";
  for (int cls = 1; cls <= 5; ++cls) {
    out << "vtrace_responder_http_responses_total{code=\"" << cls << "xx\"} "
        << responses_[cls].load() << '\n';
  }
  out << "# HELP vtrace_responder_state Current state from the database.\n"
      << "# TYPE vtrace_responder_state gauge\n";
  for (const auto& [name, value] : engine_.gauges()) {
    out << "vtrace_responder_state{what=\"" << escape_label(name) << "\"} " << value << '\n';
  }
  return {200, "text/plain; version=0.0.4; charset=utf-8", out.str(), {}};
}

}  // namespace vtrace::responder
