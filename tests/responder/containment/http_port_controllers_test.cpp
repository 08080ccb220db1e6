// HTTP automation back ends: the webhook and AWX controllers against a scripted HTTP
// server, a fake clock and a sleeper that advances it; their configuration and its diagnostics;
// the containment engine writing through them. No sockets, no sleeping.
#include "responder/containment/http_port_controllers.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <functional>
#include <map>

#include "common/url.hpp"
#include "responder/engine.hpp"
#include "tests/responder/support.hpp"

namespace vtrace::responder {
namespace {

namespace json = boost::json;
using test::FakeClock;

class FakeSleeper final : public Sleeper {
 public:
  explicit FakeSleeper(FakeClock& clock) : clock_(clock) {}
  void sleep_for(Duration d) override {
    slept.push_back(d);
    clock_.advance(d);
  }
  std::vector<Duration> slept;

 private:
  FakeClock& clock_;
};

// Answers every request with `handler` and records it.
class FakeHttp final : public HttpClient {
 public:
  HttpResponse send(const HttpRequest& request) override {
    requests.push_back(request);
    return handler(request);
  }
  std::function<HttpResponse(const HttpRequest&)> handler;
  std::vector<HttpRequest> requests;
};

HttpResponse answer(int status, std::string body = "{}") {
  return {true, status, std::move(body), ""};
}

std::string header(const HttpRequest& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

// A switch whose ifName/ifAdminStatus can be read; writes are not expected here.
class ReadOnlySnmp final : public SnmpClient {
 public:
  std::map<Oid, SnmpVar> mib;
  int gets = 0;
  SnmpResult walk(const SnmpTarget&, const Oid& prefix) override {
    SnmpResult r{true, "", {}};
    for (const auto& [oid, v] : mib) {
      if (oid.size() > prefix.size() && std::equal(prefix.begin(), prefix.end(), oid.begin())) {
        r.vars.push_back(v);
      }
    }
    return r;
  }
  SnmpResult get(const SnmpTarget&, const Oid& oid) override {
    ++gets;
    auto it = mib.find(oid);
    if (it == mib.end()) return {false, "noSuchInstance", {}};
    return {true, "", {it->second}};
  }
  SnmpResult set_integer(const SnmpTarget&, const Oid&, std::int64_t) override {
    return {false, "this test expects no SNMP write", {}};
  }
  void port(std::uint32_t idx, const std::string& name, std::int64_t admin) {
    Oid n = oids::kIfName;
    n.push_back(idx);
    Oid a = oids::kIfAdminStatus;
    a.push_back(idx);
    mib[n] = SnmpVar{n, SnmpVar::Type::kBytes, 0, name};
    mib[a] = SnmpVar{a, SnmpVar::Type::kInteger, admin, ""};
  }
};

const char* const kWebhookConfig = R"(containment:
  backend: webhook
  webhook:
    url: https://netauto.example.org/api/ports/{{switch}}/{{port}}/{{action}}
    method: POST
    body: '{"action": {{action}}, "switch": {{switch}}, "port": {{port}}, "if_index": {{if_index}}, "incident": {{incident}}, "containment": {{containment}}, "mac": {{mac}}}'
    auth: bearer
    credential: netauto
    timeout: 5s
    attempts: 3
    retry_initial: 1s
    verify:
      method: status_url
      url: https://netauto.example.org/api/ports/{{switch}}/{{port}}
      field: /state/admin
      down: disabled
      up: enabled
      attempts: 3
      interval: 2s
  switches:
    - {name: sw-a, address: 192.0.2.2, credential: rw, dry_run: false}
policies:
  - name: contain
    actions:
      - {type: disable_port, dry_run: false, duration: 1h}
)";

const char* const kAwxConfig = R"(containment:
  backend: awx
  awx:
    url: https://awx.example.org/
    job_template: 42
    release_job_template: 43
    credential: awx
    poll_interval: 2s
    job_timeout: 1m
    verify: {method: job}
  switches:
    - {name: sw-a, address: 192.0.2.2, credential: rw, dry_run: false}
policies:
  - name: contain
    actions:
      - {type: disable_port, dry_run: false, duration: 1h}
)";

std::shared_ptr<const ContainmentConfig> containment(const std::string& text) {
  Diagnostics d;
  auto c = parse_responder_config(text, "responder.yaml", d);
  INFO(d.render());
  REQUIRE(c);
  auto whole = std::make_shared<const ResponderConfig>(std::move(*c));
  return std::shared_ptr<const ContainmentConfig>(whole, &whole->containment);
}

std::string with_verify_snmp(std::string text) {
  const auto from = text.find("    verify:\n");
  const auto to = text.find("  switches:");
  text.replace(from, to - from, "    verify: {method: snmp, attempts: 3, interval: 500ms}\n");
  return text;
}

std::map<std::string, HttpCredential> credentials() {
  HttpCredential netauto, awx, signer;
  netauto.token = "netauto-token-0123456789";
  awx.token = "awx-token-abcdef";
  signer.hmac_key = "0123456789abcdef-hmac-key";
  return {{"netauto", netauto}, {"awx", awx}, {"signer", signer}};
}

PortRequest port_request(const ContainmentConfig& c, bool up = false) {
  PortRequest r;
  r.device = &c.switches.at(0);
  r.port = "Gi1/0/2";
  r.if_index = 2;
  r.up = up;
  r.containment_id = 7;
  // attacker-influenced text: the incident id comes from a mail's message-id
  r.incident_id = "gw1-4Q\", \"port\": \"Gi1/0/1\"}\r\n{\"x\": \"\\";
  r.origin_ip = "10.1.23.45";
  r.mac = "00:50:56:aa:00:01";
  return r;
}

struct WebhookFixture {
  explicit WebhookFixture(const std::string& text = kWebhookConfig)
      : config(containment(text)),
        sleeper(clock),
        reader(snmp, config, {{"rw", SnmpCredential{"private", "", "SHA", "", "AES", ""}}}),
        controller({http, sleeper, clock, &reader}, config, credentials()) {
    snmp.port(2, "Gi1/0/2", 1);
  }
  FakeClock clock;
  std::shared_ptr<const ContainmentConfig> config;
  FakeSleeper sleeper;
  FakeHttp http;
  ReadOnlySnmp snmp;
  SnmpPortReader reader;
  WebhookPortController controller;
};

// A status endpoint that reads whatever the last POST asked for.
std::function<HttpResponse(const HttpRequest&)> automation(std::string* state) {
  return [state](const HttpRequest& r) {
    if (r.method == "POST") {
      *state = r.url.ends_with("/down") ? "disabled" : "enabled";
      return answer(202, R"({"queued":true})");
    }
    return answer(200, json::serialize(json::object{{"state", json::object{{"admin", *state}}}}));
  };
}

}  // namespace

TEST_CASE("a webhook body renders every value as JSON so attacker text cannot change its shape",
          "[responder][http-backend]") {
  WebhookFixture f;
  std::string state = "enabled";
  f.http.handler = automation(&state);
  PortWrite w = f.controller.set_admin_status(port_request(*f.config));
  INFO(w.detail);
  CHECK(w.ok);
  REQUIRE(f.http.requests.size() == 2);
  const HttpRequest& post = f.http.requests[0];
  CHECK(post.method == "POST");
  CHECK(post.url == "https://netauto.example.org/api/ports/sw-a/Gi1%2F0%2F2/down");
  json::value body = json::parse(post.body);
  CHECK(body.at("action").as_string() == "down");
  CHECK(body.at("port").as_string() == "Gi1/0/2");
  CHECK(body.at("if_index").as_int64() == 2);
  CHECK(body.at("containment").as_int64() == 7);
  CHECK(body.at("incident").as_string() == port_request(*f.config).incident_id);
  CHECK(body.as_object().size() == 7);
  CHECK(header(post, "Content-Type") == "application/json");
  CHECK(header(post, "Idempotency-Key") == "vtrace-c7-down-" + std::to_string(f.clock.now()));
}

TEST_CASE("a bearer webhook sends its token and is done only when the status URL reads down",
          "[responder][http-backend]") {
  WebhookFixture f;
  std::string state = "enabled";
  f.http.handler = automation(&state);
  PortWrite w = f.controller.set_admin_status(port_request(*f.config));
  CHECK(w.ok);
  CHECK(w.detail.find("verified: https://netauto.example.org/api/ports/sw-a/Gi1%2F0%2F2 "
                      "/state/admin = \"disabled\"") != std::string::npos);
  for (const auto& r : f.http.requests) {
    CHECK(header(r, "Authorization") == "Bearer netauto-token-0123456789");
  }
  CHECK(f.http.requests[1].method == "GET");
  CHECK(f.sleeper.slept.empty());
  PortWrite up = f.controller.set_admin_status(port_request(*f.config, true));
  CHECK(up.ok);
  CHECK(state == "enabled");
  CHECK(f.http.requests[2].url.ends_with("/up"));
}

TEST_CASE("an hmac webhook signs the exact body with HMAC-SHA256", "[responder][http-backend]") {
  // RFC 4231 test case 2
  CHECK(hmac_sha256_hex("Jefe", "what do ya want for nothing?") ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  std::string text = kWebhookConfig;
  const std::string bearer = "auth: bearer\n    credential: netauto";
  text.replace(text.find(bearer), bearer.size(),
               "auth: hmac\n    credential: signer\n    signature_header: X-Hub-Signature-256");
  WebhookFixture f(text);
  std::string state = "enabled";
  f.http.handler = automation(&state);
  CHECK(f.controller.set_admin_status(port_request(*f.config)).ok);
  const HttpRequest& post = f.http.requests.at(0);
  CHECK(header(post, "X-Hub-Signature-256") ==
        "sha256=" + hmac_sha256_hex("0123456789abcdef-hmac-key", post.body));
  CHECK(header(post, "Authorization").empty());
}

TEST_CASE("a webhook retries a 5xx and a connection error with backoff, then succeeds",
          "[responder][http-backend]") {
  WebhookFixture f;
  std::string state = "enabled";
  auto ok = automation(&state);
  int posts = 0;
  f.http.handler = [&](const HttpRequest& r) {
    if (r.method == "POST" && ++posts == 1) return answer(503, "busy");
    if (r.method == "POST" && posts == 2) return HttpResponse{false, 0, "", "connection refused"};
    return ok(r);
  };
  PortWrite w = f.controller.set_admin_status(port_request(*f.config));
  INFO(w.detail);
  CHECK(w.ok);
  CHECK(posts == 3);
  CHECK(f.sleeper.slept == std::vector<Duration>{seconds(1), seconds(2)});
  CHECK(w.detail.find("-> 503 busy (attempt 1/3)") != std::string::npos);
  CHECK(w.detail.find("-> connection refused (attempt 2/3)") != std::string::npos);
  // one write, one idempotency key, however often it is retried
  CHECK(header(f.http.requests[0], "Idempotency-Key") ==
        header(f.http.requests[2], "Idempotency-Key"));
}

TEST_CASE("a webhook 4xx is not retried and is a failure", "[responder][http-backend]") {
  WebhookFixture f;
  f.http.handler = [](const HttpRequest&) { return answer(403, R"({"error":"forbidden"})"); };
  PortWrite w = f.controller.set_admin_status(port_request(*f.config));
  CHECK_FALSE(w.ok);
  CHECK(f.http.requests.size() == 1);
  CHECK(f.sleeper.slept.empty());
  CHECK(w.detail.find("403 {\"error\":\"forbidden\"} (attempt 1/3)") != std::string::npos);
  CHECK(w.detail.find("a 4xx is not retried") != std::string::npos);
}

TEST_CASE("a webhook that keeps failing with 5xx gives up after its attempts",
          "[responder][http-backend]") {
  WebhookFixture f;
  f.http.handler = [](const HttpRequest&) { return answer(500, "oops"); };
  PortWrite w = f.controller.set_admin_status(port_request(*f.config));
  CHECK_FALSE(w.ok);
  CHECK(f.http.requests.size() == 3);
  CHECK(f.sleeper.slept == std::vector<Duration>{seconds(1), seconds(2)});
}

TEST_CASE("a webhook write answered 2xx that the status URL never confirms is a failure",
          "[responder][http-backend]") {
  WebhookFixture f;
  f.http.handler = [](const HttpRequest& r) {
    if (r.method == "POST") return answer(200);
    return answer(200, R"({"state":{"admin":"enabled"}})");
  };
  PortWrite w = f.controller.set_admin_status(port_request(*f.config));
  CHECK_FALSE(w.ok);
  CHECK(w.detail.find("not verified") != std::string::npos);
  CHECK(w.detail.find("= \"enabled\", not \"disabled\" after 3 reads") != std::string::npos);
  CHECK(f.http.requests.size() == 4);  // the write and three reads, 2s apart
  CHECK(f.sleeper.slept == std::vector<Duration>{seconds(2), seconds(2)});
}

TEST_CASE("a webhook verified by SNMP read-back is done only when ifAdminStatus reads down",
          "[responder][http-backend]") {
  WebhookFixture f(with_verify_snmp(kWebhookConfig));
  f.http.handler = [&](const HttpRequest&) { return answer(200); };
  SECTION("the switch applied it") {
    Oid admin = oids::kIfAdminStatus;
    admin.push_back(2);
    f.snmp.mib[admin].integer = 2;
    PortWrite w = f.controller.set_admin_status(port_request(*f.config));
    CHECK(w.ok);
    CHECK(w.detail.find("verified by SNMP read-back of ifAdminStatus.2") != std::string::npos);
    CHECK(f.http.requests.size() == 1);
  }
  SECTION("the switch did not") {
    PortWrite w = f.controller.set_admin_status(port_request(*f.config));
    CHECK_FALSE(w.ok);
    CHECK(w.detail.find("still reads 1, not 2 after 3 reads") != std::string::npos);
    CHECK(f.sleeper.slept == std::vector<Duration>{seconds(1) / 2, seconds(1) / 2});
  }
}

namespace {

// kWebhookConfig whose body also carries the VLANs and whose status URL reports the VLAN.
std::string vlan_webhook_config() {
  std::string text = kWebhookConfig;
  const std::string body = R"("mac": {{mac}}})";
  text.replace(text.find(body), body.size(),
               R"("mac": {{mac}}, "vlan": {{vlan}}, "previous_vlan": {{previous_vlan}}})");
  text.replace(text.find("      down: disabled"), 0, "      vlan_field: /state/vlan\n");
  return text;
}

// Gi1/0/2 is bridge port 2 in VLAN 10 (Q-BRIDGE dot1qPvid).
void vlan_port(ReadOnlySnmp& snmp, std::int64_t vlan = 10) {
  Oid base = oids::kDot1dBasePortIfIndex;
  base.push_back(2);
  snmp.mib[base] = SnmpVar{base, SnmpVar::Type::kInteger, 2, ""};
  Oid pvid = oids::kDot1qPvid;
  pvid.push_back(2);
  snmp.mib[pvid] = SnmpVar{pvid, SnmpVar::Type::kInteger, vlan, ""};
}

// A quarantine to `vlan`, or (up) a release back to `vlan` from the quarantine VLAN 999.
PortRequest vlan_request(const ContainmentConfig& c, int vlan, bool up = false) {
  PortRequest r = port_request(c, up);
  r.vlan = vlan;
  if (up) r.previous_vlan = 999;
  return r;
}

}  // namespace

TEST_CASE(
    "a webhook quarantine_vlan names the quarantine VLAN and the one read over SNMP, verified by "
    "the status URL's vlan_field, and the release restores it",
    "[responder][http-backend]") {
  WebhookFixture f(vlan_webhook_config());
  vlan_port(f.snmp);
  std::int64_t vlan = 10;
  f.http.handler = [&](const HttpRequest& r) {
    if (r.method == "POST") {
      vlan = json::parse(r.body).at("vlan").as_int64();
      return answer(202);
    }
    return answer(200, json::serialize(json::object{{"state", json::object{{"vlan", vlan}}}}));
  };
  PortWrite w = f.controller.set_admin_status(vlan_request(*f.config, 999));
  INFO(w.detail);
  CHECK(w.ok);
  CHECK(w.previous_vlan == 10);
  CHECK(w.detail.rfind("sw-a Gi1/0/2 is in VLAN 999 (was 10), verified: "
                       "https://netauto.example.org/api/ports/sw-a/Gi1%2F0%2F2 /state/vlan = "
                       "\"999\"",
                       0) == 0);
  REQUIRE(f.http.requests.size() == 2);
  CHECK(f.http.requests[0].url ==
        "https://netauto.example.org/api/ports/sw-a/Gi1%2F0%2F2/quarantine_vlan");
  json::value body = json::parse(f.http.requests[0].body);
  CHECK(body.at("action").as_string() == "quarantine_vlan");
  CHECK(body.at("vlan").as_int64() == 999);
  CHECK(body.at("previous_vlan").as_int64() == 10);
  // The release: back to the VLAN it had from the quarantine VLAN the engine recorded; not
  // read over SNMP, so an unreadable switch cannot keep the port quarantined.
  const int gets = f.snmp.gets;
  PortWrite back = f.controller.set_admin_status(vlan_request(*f.config, 10, true));
  INFO(back.detail);
  CHECK(back.ok);
  CHECK(f.http.requests[2].url ==
        "https://netauto.example.org/api/ports/sw-a/Gi1%2F0%2F2/restore_vlan");
  json::value restore = json::parse(f.http.requests[2].body);
  CHECK(restore.at("action").as_string() == "restore_vlan");
  CHECK(restore.at("vlan").as_int64() == 10);
  CHECK(restore.at("previous_vlan").as_int64() == 999);
  CHECK(vlan == 10);
  CHECK(f.snmp.gets == gets);
}

TEST_CASE("a webhook quarantine_vlan is not sent when the VLAN to go back to cannot be known",
          "[responder][http-backend]") {
  WebhookFixture f(vlan_webhook_config());
  f.http.handler = [&](const HttpRequest&) { return answer(202); };
  SECTION("the port is already in the quarantine VLAN") {
    vlan_port(f.snmp, 999);
    PortWrite w = f.controller.set_admin_status(vlan_request(*f.config, 999));
    CHECK_FALSE(w.ok);
    CHECK(w.detail ==
          "nothing sent to the webhook: sw-a Gi1/0/2 is already in VLAN 999: the VLAN it had "
          "before is unknown");
  }
  SECTION("the switch has no VLAN object for the port") {
    PortWrite w = f.controller.set_admin_status(vlan_request(*f.config, 999));
    CHECK_FALSE(w.ok);
    CHECK(w.detail.rfind("nothing sent to the webhook: the read of dot1qPvid.2 on sw-a failed",
                         0) == 0);
  }
  CHECK(f.http.requests.empty());
}

TEST_CASE("a webhook quarantine_vlan verified by SNMP reads the switch's VLAN object back",
          "[responder][http-backend]") {
  std::string text = with_verify_snmp(vlan_webhook_config());
  text.replace(text.find("dry_run: false}"), 15, "dry_run: false, vlan_mib: cisco}");
  WebhookFixture f(text);
  Oid type = oids::kVmVlanType, vm = oids::kVmVlan;
  type.push_back(2);
  vm.push_back(2);
  f.snmp.mib[type] = SnmpVar{type, SnmpVar::Type::kInteger, 1, ""};
  f.snmp.mib[vm] = SnmpVar{vm, SnmpVar::Type::kInteger, 10, ""};
  bool applies = true;
  f.http.handler = [&](const HttpRequest& r) {
    if (applies) f.snmp.mib[vm].integer = json::parse(r.body).at("vlan").as_int64();
    return answer(202);
  };
  SECTION("the automation moved it") {
    PortWrite w = f.controller.set_admin_status(vlan_request(*f.config, 999));
    INFO(w.detail);
    CHECK(w.ok);
    CHECK(w.detail.rfind("sw-a Gi1/0/2 is in VLAN 999 (was 10), verified by SNMP read-back of "
                         "vmVlan.2",
                         0) == 0);
  }
  SECTION("it did not") {
    applies = false;
    PortWrite w = f.controller.set_admin_status(vlan_request(*f.config, 999));
    CHECK_FALSE(w.ok);
    CHECK(w.detail.find("vmVlan.2 on sw-a still reads 10, not 999 after 3 reads") !=
          std::string::npos);
  }
}

// ---- AWX -----------------------------------------------------------------------------------

namespace {

struct AwxFixture {
  explicit AwxFixture(const std::string& text = kAwxConfig)
      : config(containment(text)),
        sleeper(clock),
        controller({http, sleeper, clock}, config, credentials()) {}
  FakeClock clock;
  std::shared_ptr<const ContainmentConfig> config;
  FakeSleeper sleeper;
  FakeHttp http;
  AwxPortController controller;
};

// An AWX that launches job 301 and walks it through `states` on successive polls.
std::function<HttpResponse(const HttpRequest&)> awx(std::vector<std::string> states,
                                                    std::string launch_extra = "") {
  auto index = std::make_shared<std::size_t>(0);
  return [states, launch_extra, index](const HttpRequest& r) {
    if (r.method == "POST" && r.url.ends_with("/launch/")) {
      return answer(201, R"({"job":301,"id":301,"status":"pending")" + launch_extra + "}");
    }
    if (r.method == "POST") return answer(202);
    const std::string s = states[std::min(*index, states.size() - 1)];
    ++*index;
    return answer(200, R"({"id":301,"status":")" + s + R"("})");
  };
}

}  // namespace

TEST_CASE("an AWX job template is launched with extra_vars and polled until successful",
          "[responder][http-backend][awx]") {
  AwxFixture f;
  f.http.handler = awx({"pending", "running", "successful"});
  PortWrite w = f.controller.set_admin_status(port_request(*f.config));
  INFO(w.detail);
  CHECK(w.ok);
  REQUIRE(f.http.requests.size() == 4);
  const HttpRequest& launch = f.http.requests[0];
  CHECK(launch.url == "https://awx.example.org/api/v2/job_templates/42/launch/");
  CHECK(header(launch, "Authorization") == "Bearer awx-token-abcdef");
  json::value vars = json::parse(launch.body).at("extra_vars");
  CHECK(vars.at("switch").as_string() == "sw-a");
  CHECK(vars.at("port").as_string() == "Gi1/0/2");
  CHECK(vars.at("action").as_string() == "down");
  CHECK(vars.at("incident_id").as_string() == port_request(*f.config).incident_id);
  CHECK(vars.at("containment_id").as_int64() == 7);
  // The names and the order the playbooks see: a webhook template's values, with _id on the
  // containment and the incident.
  std::vector<std::string> names;
  for (const auto& field : vars.as_object()) names.emplace_back(field.key());
  CHECK(names == std::vector<std::string>{"action", "switch", "switch_address", "port", "if_index",
                                          "containment_id", "incident_id", "origin_ip", "mac"});
  CHECK(f.http.requests[1].url == "https://awx.example.org/api/v2/jobs/301/");
  CHECK(f.sleeper.slept == std::vector<Duration>{seconds(2), seconds(2)});
  CHECK(w.detail.find("AWX job 301 successful") != std::string::npos);
}

TEST_CASE("an AWX release launches the release job template with action up",
          "[responder][http-backend][awx]") {
  AwxFixture f;
  f.http.handler = awx({"successful"});
  CHECK(f.controller.set_admin_status(port_request(*f.config, true)).ok);
  CHECK(f.http.requests[0].url == "https://awx.example.org/api/v2/job_templates/43/launch/");
  CHECK(json::parse(f.http.requests[0].body).at("extra_vars").at("action").as_string() == "up");
}

TEST_CASE("an AWX quarantine_vlan hands the playbook action, vlan and previous_vlan",
          "[responder][http-backend][awx]") {
  auto config = containment(kAwxConfig);
  FakeClock clock;
  FakeSleeper sleeper(clock);
  FakeHttp http;
  ReadOnlySnmp snmp;
  snmp.port(2, "Gi1/0/2", 1);
  vlan_port(snmp);
  SnmpPortReader reader(snmp, config, {});
  AwxPortController controller({http, sleeper, clock, &reader}, config, credentials());
  http.handler = awx({"successful"});
  PortWrite w = controller.set_admin_status(vlan_request(*config, 999));
  INFO(w.detail);
  CHECK(w.ok);
  CHECK(w.previous_vlan == 10);
  CHECK(w.detail.rfind("sw-a Gi1/0/2 is in VLAN 999 (was 10), verified by the job", 0) == 0);
  json::value vars = json::parse(http.requests[0].body).at("extra_vars");
  CHECK(http.requests[0].url == "https://awx.example.org/api/v2/job_templates/42/launch/");
  CHECK(vars.at("action").as_string() == "quarantine_vlan");
  CHECK(vars.at("vlan").as_int64() == 999);
  CHECK(vars.at("previous_vlan").as_int64() == 10);
  PortWrite back = controller.set_admin_status(vlan_request(*config, 10, true));
  CHECK(back.ok);
  const HttpRequest& release = http.requests[2];
  CHECK(release.url == "https://awx.example.org/api/v2/job_templates/43/launch/");
  CHECK(json::parse(release.body).at("extra_vars").at("action").as_string() == "restore_vlan");
  CHECK(json::parse(release.body).at("extra_vars").at("vlan").as_int64() == 10);
}

TEST_CASE("an AWX job that ends failed is a failure", "[responder][http-backend][awx]") {
  AwxFixture f;
  f.http.handler = awx({"running", "failed"});
  PortWrite w = f.controller.set_admin_status(port_request(*f.config));
  CHECK_FALSE(w.ok);
  CHECK(w.detail.find("AWX job 301 ended failed") != std::string::npos);
}

TEST_CASE("an AWX job still running at job_timeout is cancelled and is a failure",
          "[responder][http-backend][awx]") {
  AwxFixture f;
  f.http.handler = awx({"running"});
  PortWrite w = f.controller.set_admin_status(port_request(*f.config));
  CHECK_FALSE(w.ok);
  CHECK(w.detail.find("AWX job 301 still running after job_timeout (60 s)") != std::string::npos);
  CHECK(f.http.requests.back().url == "https://awx.example.org/api/v2/jobs/301/cancel/");
  CHECK(f.sleeper.slept.size() == 30);
}

TEST_CASE("an AWX launch whose extra_vars were ignored is cancelled, never trusted",
          "[responder][http-backend][awx]") {
  AwxFixture f;
  f.http.handler = awx({"successful"}, R"(,"ignored_fields":{"extra_vars":{"port":"Gi1/0/2"}})");
  PortWrite w = f.controller.set_admin_status(port_request(*f.config));
  CHECK_FALSE(w.ok);
  CHECK(w.detail.find("AWX ignored extra_vars") != std::string::npos);
  REQUIRE(f.http.requests.size() == 2);
  CHECK(f.http.requests[1].url == "https://awx.example.org/api/v2/jobs/301/cancel/");
}

TEST_CASE("an AWX launch answered 4xx is not retried", "[responder][http-backend][awx]") {
  AwxFixture f;
  f.http.handler = [](const HttpRequest&) {
    return answer(400, R"({"variables_needed_to_start":["x"]})");
  };
  PortWrite w = f.controller.set_admin_status(port_request(*f.config));
  CHECK_FALSE(w.ok);
  CHECK(f.http.requests.size() == 1);
  CHECK(w.detail.find("AWX launch failed") != std::string::npos);
}

// ---- templates and URLs --------------------------------------------------------------------

TEST_CASE("request templates know their placeholders and encode for JSON or URLs",
          "[responder][http-backend]") {
  std::string problem;
  CHECK_FALSE(
      RequestTemplate::compile("{\"a\": {{prot}}}", RequestTemplate::Encoding::kJson, &problem));
  CHECK(problem.find("unknown placeholder {{prot}}") != std::string::npos);
  CHECK_FALSE(RequestTemplate::compile("{{port", RequestTemplate::Encoding::kJson, &problem));
  CHECK(problem.find("never closed") != std::string::npos);
  auto url = RequestTemplate::compile("https://h/p/{{ incident }}?m={{mac}}",
                                      RequestTemplate::Encoding::kUrl, &problem);
  REQUIRE(url);
  CHECK(url->render({{"incident", std::string("a/b c&d")}, {"mac", std::string("00:01")}}) ==
        "https://h/p/a%2Fb%20c%26d?m=00%3A01");
  auto body = RequestTemplate::compile("[{{incident}}, {{if_index}}]",
                                       RequestTemplate::Encoding::kJson, &problem);
  REQUIRE(body);
  CHECK(body->render({{"incident", std::string("x\"\n")}, {"if_index", std::int64_t{5}}}) ==
        "[\"x\\\"\\n\", 5]");
}

TEST_CASE("automation URLs are http or https with a host and nothing surprising",
          "[responder][http-backend]") {
  std::string problem;
  auto u = parse_url("https://awx.example.org:8443/api/v2/?x=1", &problem);
  REQUIRE(u);
  CHECK(u->https);
  CHECK(u->host == "awx.example.org");
  CHECK(u->port == 8443);
  CHECK(u->target == "/api/v2/?x=1");
  u = parse_url("http://[::1]/", &problem);
  REQUIRE(u);
  CHECK(u->host == "::1");
  CHECK(u->port == 80);
  CHECK(parse_url("http://127.0.0.1", &problem)->target == "/");
  for (const char* bad : {"ftp://h/", "http://user:pw@h/", "http:///x", "http://h:0/",
                          "http://h:99999/", "http://h/a b", "http://h/#frag", "http://h/\r\n"}) {
    INFO(bad);
    CHECK_FALSE(parse_url(bad, &problem));
  }
}

// ---- configuration -------------------------------------------------------------------------

TEST_CASE("the webhook and AWX configuration is checked with positions",
          "[responder][http-backend][config]") {
  Diagnostics d;
  const std::string text = R"(containment:
  backend: webhook
  webhook:
    url: ftp://netauto.example.org/{{switch}}
    body: '{"port": "{{port}}", "x": {{colour}}}'
    auth: bearer
    retries: 3
  awx:
    url: https://awx.example.org
    verify: {method: status_url}
  switches:
    - {name: sw-a, address: 192.0.2.2, credential: rw, backend: carrier-pigeon}
policies:
  - name: p
    actions:
      - {type: log}
)";
  CHECK_FALSE(parse_responder_config(text, "r.yaml", d));
  const std::string out = d.render();
  INFO(out);
  CHECK(out.find("r.yaml:7:5: error[unknown-key]") != std::string::npos);
  CHECK(out.find("r.yaml:4:10: error[value]: containment.webhook.url: the URL must start with "
                 "http:// or https://") != std::string::npos);
  CHECK(out.find("r.yaml:5:11: error[value]: containment.webhook.body: unknown placeholder "
                 "{{colour}}") != std::string::npos);
  CHECK(out.find("r.yaml:6:11: error[missing-key]: containment.webhook: auth bearer needs "
                 "'credential'") != std::string::npos);
  CHECK(out.find("the key 'verify' is required") != std::string::npos);
  CHECK(out.find("containment.awx: the key 'job_template' is required") != std::string::npos);
  CHECK(out.find("containment.awx: the key 'credential' is required") != std::string::npos);
  CHECK(out.find("r.yaml:10:22: error[value]: containment.awx.verify.method") != std::string::npos);
  CHECK(out.find("r.yaml:12:65: error[value]: containment.switches[0].backend") !=
        std::string::npos);
}

TEST_CASE("verify.vlan_field is a JSON pointer, for status_url only",
          "[responder][http-backend][config]") {
  std::string text = vlan_webhook_config();
  text.replace(text.find("vlan_field: /state/vlan"), 23, "vlan_field: state.vlan");
  Diagnostics d;
  CHECK_FALSE(parse_responder_config(text, "r.yaml", d));
  INFO(d.render());
  CHECK(d.render().find("error[value]: containment.webhook.verify.vlan_field: 'state.vlan' is "
                        "not a JSON pointer") != std::string::npos);
  std::string snmp = with_verify_snmp(kWebhookConfig);
  snmp.replace(snmp.find("attempts: 3, interval"), 0, "vlan_field: /vlan, ");
  Diagnostics d2;
  CHECK_FALSE(parse_responder_config(snmp, "r.yaml", d2));
  CHECK(d2.render().find("'vlan_field' applies only to method status_url") != std::string::npos);
}

TEST_CASE("a webhook body that is not JSON once rendered is refused at load",
          "[responder][http-backend][config]") {
  std::string text = kWebhookConfig;
  const std::string quoted = R"("port": {{port}})";
  text.replace(text.find(quoted), quoted.size(), R"("port": "{{port}}")");
  Diagnostics d;
  CHECK_FALSE(parse_responder_config(text, "r.yaml", d));
  CHECK(d.render().find("r.yaml:6:11: error[value]: containment.webhook.body: not JSON once "
                        "rendered") != std::string::npos);
}

TEST_CASE("a back end chosen without its section is an error at the choice",
          "[responder][http-backend][config]") {
  Diagnostics d;
  CHECK_FALSE(parse_responder_config(R"(containment:
  switches:
    - {name: sw-a, address: 192.0.2.2, credential: rw, backend: awx}
policies:
  - {name: p, actions: [{type: log}]}
)",
                                     "r.yaml", d));
  INFO(d.render());
  CHECK(d.render().find("r.yaml:3:65: error[missing-key]: containment.switches[0].backend: "
                        "backend awx needs the 'containment.awx' section") != std::string::npos);
}

TEST_CASE("automation credentials must be in the secrets file with the right kind",
          "[responder][http-backend][config]") {
  Diagnostics d;
  auto config = parse_responder_config(kWebhookConfig, "r.yaml", d);
  REQUIRE(config);
  Secrets s;
  s.snmp_credentials["rw"].community = "private";
  Diagnostics missing;
  CHECK_FALSE(check_secrets(*config, s, missing));
  CHECK(missing.render().find("containment.webhook uses credential 'netauto', which is not "
                              "under http_credentials") != std::string::npos);
  s.http_credentials["netauto"].hmac_key = "0123456789abcdef0123";
  Diagnostics wrong_kind;
  CHECK_FALSE(check_secrets(*config, s, wrong_kind));
  CHECK(wrong_kind.render().find("credential 'netauto' has no token") != std::string::npos);
  s.http_credentials["netauto"].token = "t0k3n";
  Diagnostics fine;
  CHECK(check_secrets(*config, s, fine));
}

// ---- the engine through the webhook --------------------------------------------------------

TEST_CASE("the engine records a webhook containment as down only after verification",
          "[responder][http-backend][containment]") {
  Diagnostics d;
  std::string text = kWebhookConfig;
  text.replace(text.find("    - {name: sw-a"), 0,
               "    - {name: sw-snmp, address: 192.0.2.3, credential: rw, dry_run: false, "
               "backend: snmp}\n");
  text.replace(text.find("policies:"), 0,
               "  static_map:\n    - {ip: 10.1.23.45, switch: sw-a, port: Gi1/0/2}\n");
  auto parsed = parse_responder_config(text, "r.yaml", d);
  INFO(d.render());
  REQUIRE(parsed);
  auto config = std::make_shared<const ResponderConfig>(std::move(*parsed));
  auto c = std::shared_ptr<const ContainmentConfig>(config, &config->containment);
  FakeClock clock;
  FakeSleeper sleeper(clock);
  Engine engine(config, clock, ":memory:");
  ReadOnlySnmp snmp;
  snmp.port(2, "Gi1/0/2", 1);
  Oid fdb = oids::kDot1qTpFdbPort;
  for (std::uint32_t b : {10u, 0u, 0x50u, 0x56u, 0xaau, 0u, 1u}) fdb.push_back(b);
  snmp.mib[fdb] = SnmpVar{fdb, SnmpVar::Type::kInteger, 2, ""};
  PortLocator locator(snmp, clock);
  SnmpPortController snmp_controller(snmp, c, {});
  FakeHttp http;
  WebhookPortController webhook({http, sleeper, clock}, c, credentials());
  BackendPortController controller(c, &snmp_controller, &webhook, nullptr);
  ContainmentBackend backend;
  backend.locator = &locator;
  backend.controller = &controller;
  engine.set_containment_backend(&backend);
  std::string state = "enabled";
  bool confirm = true;
  http.handler = [&](const HttpRequest& r) {
    if (r.method == "POST") state = r.url.ends_with("/down") && confirm ? "disabled" : "enabled";
    return r.method == "POST" ? answer(200)
                              : answer(200, R"({"state":{"admin":")" + state + "\"}}");
  };
  auto status = [&] {
    auto doc = json::parse(engine.containments_json("", 10)).at("containments").as_array();
    return std::string(doc.at(0).at("status").as_string()) + ": " +
           std::string(doc.at(0).at("detail").as_string());
  };
  SECTION("verified") {
    engine.ingest(test::internal_incident("i1", clock.now()), "127.0.0.1");
    engine.process_containments();
    CHECK(status().rfind("down: sw-a Gi1/0/2 is down, verified: ", 0) == 0);
    CHECK(engine.counters().ports_disabled == 1);
    CHECK(engine.request_release(1, "operator", "cleaned").status == 202);
    engine.process_containments();
    CHECK(state == "enabled");
    CHECK(status().rfind("released: sw-a Gi1/0/2 is up, verified", 0) == 0);
  }
  SECTION("not verified") {
    confirm = false;
    engine.ingest(test::internal_incident("i1", clock.now()), "127.0.0.1");
    engine.process_containments();
    CHECK(status().rfind("failed: webhook accepted the write but it is not verified", 0) == 0);
    CHECK(engine.counters().ports_disabled == 0);
    CHECK(engine.counters().containments_failed == 1);
  }
}

}  // namespace vtrace::responder

namespace vtrace::responder {

TEST_CASE("the engine quarantines through a webhook, records the VLAN read before, and restores it",
          "[responder][http-backend][containment]") {
  std::string text = vlan_webhook_config();
  const std::string shut = "{type: disable_port, dry_run: false, duration: 1h}";
  text.replace(text.find(shut), shut.size(),
               "{type: quarantine_vlan, vlan: 999, dry_run: false, duration: 1h}");
  text.replace(text.find("policies:"), 0,
               "  static_map:\n    - {ip: 10.1.23.45, switch: sw-a, port: Gi1/0/2}\n");
  Diagnostics d;
  auto parsed = parse_responder_config(text, "r.yaml", d);
  INFO(d.render());
  REQUIRE(parsed);
  auto config = std::make_shared<const ResponderConfig>(std::move(*parsed));
  auto c = std::shared_ptr<const ContainmentConfig>(config, &config->containment);
  FakeClock clock;
  FakeSleeper sleeper(clock);
  Engine engine(config, clock, ":memory:");
  ReadOnlySnmp snmp;
  snmp.port(2, "Gi1/0/2", 1);
  vlan_port(snmp);
  PortLocator locator(snmp, clock);
  SnmpPortReader reader(snmp, c, {});
  FakeHttp http;
  WebhookPortController webhook({http, sleeper, clock, &reader}, c, credentials());
  BackendPortController controller(c, nullptr, &webhook, nullptr);
  ContainmentBackend backend;
  backend.locator = &locator;
  backend.controller = &controller;
  engine.set_containment_backend(&backend);
  Oid pvid = oids::kDot1qPvid;
  pvid.push_back(2);
  std::vector<std::string> actions;
  http.handler = [&](const HttpRequest& r) {
    if (r.method == "POST") {
      const json::value body = json::parse(r.body);
      actions.emplace_back(body.at("action").as_string());
      snmp.mib[pvid].integer = body.at("vlan").as_int64();  // the automation moved it
      return answer(202);
    }
    return answer(
        200,
        json::serialize(json::object{{"state", json::object{{"vlan", snmp.mib[pvid].integer}}}}));
  };
  auto row = [&] {
    return json::parse(engine.containments_json("", 10)).at("containments").as_array().at(0);
  };
  engine.ingest(test::internal_incident("i1", clock.now()), "127.0.0.1");
  engine.process_containments();
  INFO(row().at("detail").as_string());
  CHECK(row().at("status").as_string() == "down");
  CHECK(row().at("previous_vlan").as_int64() == 10);
  CHECK(snmp.mib[pvid].integer == 999);
  CHECK(engine.request_release(1, "operator", "cleaned").status == 202);
  engine.process_containments();
  CHECK(row().at("status").as_string() == "released");
  CHECK(snmp.mib[pvid].integer == 10);
  CHECK(actions == std::vector<std::string>{"quarantine_vlan", "restore_vlan"});
}

}  // namespace vtrace::responder
