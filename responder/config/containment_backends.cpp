// responder.yaml, containment.backend, containment.webhook and containment.awx: the HTTP back
// ends that write a port through automation instead of SNMP.
#include <boost/json.hpp>
#include <filesystem>
#include <system_error>

#include "common/url.hpp"
#include "responder/config/config_parser.hpp"
#include "responder/containment/request_template.hpp"

namespace vtrace::responder::detail {

std::optional<PortBackend> ConfigParser::port_backend(const Field& f, const std::string& what) {
  if (!has_value(f, what, "snmp, webhook or awx")) return std::nullopt;
  auto c = reader_.choice(f.value, what, {"snmp", "webhook", "awx"});
  if (!c) return std::nullopt;
  return *c == "webhook" ? PortBackend::kWebhook
         : *c == "awx"   ? PortBackend::kAwx
                         : PortBackend::kSnmp;
}

// A URL template: known placeholders, and a valid http(s) URL once rendered.
std::optional<std::string> ConfigParser::url_template(const Field& f, const std::string& what) {
  auto v = nonempty_string(f, what);
  if (!v) return std::nullopt;
  std::string problem;
  auto t = RequestTemplate::compile(*v, RequestTemplate::Encoding::kUrl, &problem);
  if (t && parse_url(t->render(sample_template_values()), &problem)) return v;
  reader_.error(f.value, "value", what + ": " + problem);
  return std::nullopt;
}

// timeout, attempts, retry_initial, credential, ca_file: shared by webhook and awx.
void ConfigParser::parse_http_endpoint(const YAML::Node& map, const std::string& what,
                                       HttpEndpointConfig& h) {
  if (auto k = find_field(map, "credential")) {
    if (auto v = nonempty_string(*k, what + ".credential")) {
      if (valid_name(*v)) {
        h.credential = *v;
      } else {
        reader_.error(k->value, "value",
                      what + ".credential: '" + printable(*v) + "' is not a credential name");
      }
    }
  }
  if (auto k = find_field(map, "timeout")) {
    if (auto d = duration(*k, what + ".timeout", seconds(1) / 10, seconds(300), "[100ms, 5m]")) {
      h.timeout = *d;
    }
  }
  if (auto k = find_field(map, "attempts")) {
    if (auto n = integer(*k, what + ".attempts", 1, 20)) h.attempts = static_cast<int>(*n);
  }
  if (auto k = find_field(map, "retry_initial")) {
    if (auto d =
            duration(*k, what + ".retry_initial", seconds(1) / 100, seconds(300), "[10ms, 5m]")) {
      h.retry_initial = *d;
    }
  }
  if (auto k = find_field(map, "ca_file")) {
    if (auto v = nonempty_string(*k, what + ".ca_file")) {
      std::error_code ec;
      if (std::filesystem::is_regular_file(*v, ec)) {
        h.ca_file = *v;
      } else {
        reader_.error(k->value, "io", what + ".ca_file: '" + printable(*v) + "' is not a file");
      }
    }
  }
}

void ConfigParser::parse_verify(const Field& f, const std::string& what, VerifyConfig& v,
                                bool awx) {
  const char* methods = awx ? "snmp or job" : "status_url or snmp";
  if (!has_value(f, what, std::string("a mapping with 'method' (") + methods + ")")) return;
  if (!reader_.check_keys(
          f.value, {"method", "url", "field", "down", "up", "vlan_field", "attempts", "interval"},
          what)) {
    return;
  }
  auto method = find_field(f.value, "method");
  if (!method) {
    reader_.error(f.key, "missing-key", what + ": the key 'method' is required (" + methods + ")");
  } else if (has_value(*method, what + ".method", methods)) {
    auto c = awx ? reader_.choice(method->value, what + ".method", {"snmp", "job"})
                 : reader_.choice(method->value, what + ".method", {"status_url", "snmp"});
    if (c) {
      v.method = *c == "status_url" ? VerifyMethod::kStatusUrl
                 : *c == "job"      ? VerifyMethod::kJob
                                    : VerifyMethod::kSnmp;
    }
  }
  const bool status_url = v.method == VerifyMethod::kStatusUrl;
  for (const char* key : {"url", "field", "down", "up", "vlan_field"}) {
    auto k = find_field(f.value, key);
    if (k && !status_url) {
      reader_.error(k->key, "value", what + ": '" + key + "' applies only to method status_url");
    }
  }
  if (status_url) {
    if (auto k = find_field(f.value, "url")) {
      if (auto u = url_template(*k, what + ".url")) v.url = *u;
    } else {
      reader_.error(f.key, "missing-key",
                    what + ": method status_url needs 'url' (where the port state is read)");
    }
    for (auto [key, out] : {std::pair{"field", &v.field}, std::pair{"vlan_field", &v.vlan_field}}) {
      if (auto k = find_field(f.value, key)) {
        if (auto p = nonempty_string(*k, what + "." + key)) {
          if (p->front() != '/') {
            reader_.error(k->value, "value",
                          what + "." + key + ": '" + printable(*p) +
                              "' is not a JSON pointer such as /admin_status or /port/state");
          } else {
            *out = *p;
          }
        }
      }
    }
    for (auto [key, out] : {std::pair{"down", &v.down}, std::pair{"up", &v.up}}) {
      if (auto k = find_field(f.value, key)) {
        if (auto s = nonempty_string(*k, what + "." + key)) *out = *s;
      }
    }
  }
  if (auto k = find_field(f.value, "attempts")) {
    if (auto n = integer(*k, what + ".attempts", 1, 100)) v.attempts = static_cast<int>(*n);
  }
  if (auto k = find_field(f.value, "interval")) {
    if (auto d = duration(*k, what + ".interval", seconds(1) / 100, seconds(300), "[10ms, 5m]")) {
      v.interval = *d;
    }
  }
}

void ConfigParser::parse_webhook(const Field& f) {
  const std::string what = "containment.webhook";
  if (!has_value(f, what, "a mapping with url, body and verify")) return;
  if (!reader_.check_keys(f.value,
                          {"url", "method", "body", "auth", "signature_header", "credential",
                           "timeout", "attempts", "retry_initial", "ca_file", "verify"},
                          what)) {
    return;
  }
  WebhookConfig& w = config_.containment.webhook;
  w.configured = true;
  w.verify.method = VerifyMethod::kStatusUrl;
  if (auto k = find_field(f.value, "url")) {
    if (auto u = url_template(*k, what + ".url")) w.url = *u;
  } else {
    reader_.error(f.key, "missing-key", what + ": the key 'url' is required");
  }
  if (auto k = find_field(f.value, "method")) {
    if (has_value(*k, what + ".method", "POST, PUT or PATCH")) {
      if (auto c = reader_.choice(k->value, what + ".method", {"POST", "PUT", "PATCH"})) {
        w.method = *c;
      }
    }
  }
  if (auto k = find_field(f.value, "body")) {
    if (auto b = nonempty_string(*k, what + ".body")) {
      std::string problem;
      auto t = RequestTemplate::compile(*b, RequestTemplate::Encoding::kJson, &problem);
      if (t) {
        boost::system::error_code ec;
        boost::json::parse(t->render(sample_template_values()), ec);
        if (ec) {
          problem = "not JSON once rendered (" + ec.message() +
                    "); write placeholders bare, e.g. {\"port\": {{port}}}: they are "
                    "rendered as JSON values, quotes included";
          t.reset();
        }
      }
      if (t) {
        w.body = *b;
      } else {
        reader_.error(k->value, "value", what + ".body: " + problem);
      }
    }
  } else {
    reader_.error(f.key, "missing-key", what + ": the key 'body' is required (a JSON template)");
  }
  auto auth = find_field(f.value, "auth");
  if (auth && has_value(*auth, what + ".auth", "none, bearer or hmac")) {
    if (auto c = reader_.choice(auth->value, what + ".auth", {"none", "bearer", "hmac"})) {
      w.auth = *c == "bearer" ? HttpAuth::kBearer
               : *c == "hmac" ? HttpAuth::kHmac
                              : HttpAuth::kNone;
    }
  }
  if (auto k = find_field(f.value, "signature_header")) {
    if (auto v = nonempty_string(*k, what + ".signature_header")) {
      if (valid_name(*v) && v->find('.') == std::string::npos) {
        w.signature_header = *v;
      } else {
        reader_.error(k->value, "value",
                      what + ".signature_header: '" + printable(*v) + "' is not a header name");
      }
    }
  }
  parse_http_endpoint(f.value, what, w.http);
  if (w.auth != HttpAuth::kNone && w.http.credential.empty() &&
      !find_field(f.value, "credential")) {
    reader_.error(auth->value, "missing-key",
                  what + ": auth " + (w.auth == HttpAuth::kBearer ? "bearer" : "hmac") +
                      " needs 'credential' (a name under http_credentials in the secrets "
                      "file)");
  }
  if (auto k = find_field(f.value, "verify")) {
    parse_verify(*k, what + ".verify", w.verify, false);
  } else {
    reader_.error(f.key, "missing-key",
                  what +
                      ": the key 'verify' is required (status_url or snmp): a write that is "
                      "not verified is never reported as done");
  }
}

void ConfigParser::parse_awx(const Field& f) {
  const std::string what = "containment.awx";
  if (!has_value(f, what, "a mapping with url, job_template and credential")) return;
  if (!reader_.check_keys(
          f.value,
          {"url", "job_template", "release_job_template", "credential", "timeout", "attempts",
           "retry_initial", "ca_file", "poll_interval", "job_timeout", "verify"},
          what)) {
    return;
  }
  AwxConfig& a = config_.containment.awx;
  a.configured = true;
  a.verify.method = VerifyMethod::kSnmp;
  if (auto k = find_field(f.value, "url")) {
    if (auto v = nonempty_string(*k, what + ".url")) {
      std::string problem;
      if (v->find("{{") != std::string::npos) {
        reader_.error(k->value, "value",
                      what +
                          ".url: the controller's base URL takes no "
                          "placeholders");
      } else if (auto u = parse_url(*v, &problem); !u) {
        reader_.error(k->value, "value", what + ".url: " + problem);
      } else if (u->target.find('?') != std::string::npos) {
        reader_.error(k->value, "value", what + ".url: the base URL takes no query");
      } else {
        a.url = *v;
      }
    }
  } else {
    reader_.error(f.key, "missing-key", what + ": the key 'url' is required");
  }
  if (auto k = find_field(f.value, "job_template")) {
    if (auto n = integer(*k, what + ".job_template", 1, 2147483647)) a.job_template = *n;
  } else {
    reader_.error(f.key, "missing-key",
                  what + ": the key 'job_template' is required (its numeric id)");
  }
  if (auto k = find_field(f.value, "release_job_template")) {
    if (auto n = integer(*k, what + ".release_job_template", 1, 2147483647)) {
      a.release_job_template = *n;
    }
  }
  parse_http_endpoint(f.value, what, a.http);
  if (!find_field(f.value, "credential")) {
    reader_.error(f.key, "missing-key",
                  what +
                      ": the key 'credential' is required (a name under "
                      "http_credentials with a token)");
  }
  if (auto k = find_field(f.value, "poll_interval")) {
    if (auto d =
            duration(*k, what + ".poll_interval", seconds(1) / 100, seconds(60), "[10ms, 1m]")) {
      a.poll_interval = *d;
    }
  }
  if (auto k = find_field(f.value, "job_timeout")) {
    if (auto d = duration(*k, what + ".job_timeout", seconds(1), kHour, "[1s, 1h]")) {
      a.job_timeout = *d;
    }
  }
  if (auto k = find_field(f.value, "verify")) parse_verify(*k, what + ".verify", a.verify, true);
}

}  // namespace vtrace::responder::detail
