// The API router, without sockets: routes, validation, idempotency, auth, metrics.
#include "responder/api/router.hpp"

#include <catch2/catch.hpp>

#include "tests/responder/support.hpp"

namespace vtrace::responder {
namespace {

using test::FakeClock;
using test::internal_incident;

const std::string kToken = "0123456789abcdef0123456789abcdef";

std::shared_ptr<ResponderConfig> config() {
  auto c = std::make_shared<ResponderConfig>();
  Policy p;
  p.name = "internal-origin";
  p.match.origin = OriginClass::kInternal;
  ActionConfig a;
  a.type = ActionType::kMail;
  a.to = {"admins@example.ac.jp"};
  a.template_name = "incident";
  p.actions = {a};
  c->policies = {p};
  return c;
}

struct Api {
  explicit Api(bool require_token = false)
      : engine(config(), clock, ":memory:"), router(engine, kToken, require_token) {}
  ApiResponse call(const std::string& method, const std::string& target, std::string body = {},
                   std::string auth = {}) {
    return router.handle(
        {method, target, std::move(auth), "application/json", std::move(body), "127.0.0.1"});
  }
  FakeClock clock;
  Engine engine;
  Router router;
};

}  // namespace

TEST_CASE("healthz answers ok", "[responder][router]") {
  Api api;
  auto r = api.call("GET", "/healthz");
  CHECK(r.status == 200);
  CHECK(r.body == "ok\n");
  CHECK(api.call("POST", "/healthz").status == 405);
}

TEST_CASE("posting an incident stores it once and a resend is answered 200 unchanged",
          "[responder][router][idempotent]") {
  Api api;
  const std::string body = to_json(internal_incident("0123456789abcdef", api.clock.now()));
  auto first = api.call("POST", "/v1/incidents", body);
  CHECK(first.status == 201);
  CHECK(first.body ==
        R"({"id":"0123456789abcdef","result":"created","revision":1,"actions_run":1})");
  auto again = api.call("POST", "/v1/incidents", body);
  CHECK(again.status == 200);
  CHECK(again.body ==
        R"({"id":"0123456789abcdef","result":"unchanged","revision":1,"actions_run":0})");
  auto show = api.call("GET", "/v1/incidents/0123456789abcdef");
  REQUIRE(show.status == 200);
  CHECK(show.body.find("\"policy\":\"internal-origin\"") != std::string::npos);
  CHECK(show.body.find("\"mails\":[{\"id\":1") != std::string::npos);
  CHECK(api.engine.gauges()["outbox_queued"] == 1);
}

TEST_CASE("malformed or invalid incidents are rejected with a message",
          "[responder][router][validation]") {
  Api api;
  auto r = api.call("POST", "/v1/incidents", "{not json");
  CHECK(r.status == 400);
  CHECK(r.body.rfind("{\"error\":\"not an incident: not JSON", 0) == 0);
  r = api.call("POST", "/v1/incidents", R"({"schema":"other"})");
  CHECK(r.status == 400);
  CHECK(r.body == R"({"error":"not an incident: schema: not vtrace.incident/1","field":"schema"})");
  Incident bad = internal_incident("../../etc/passwd", api.clock.now());
  r = api.call("POST", "/v1/incidents", to_json(bad));
  CHECK(r.status == 400);
  CHECK(r.body ==
        R"~({"error":"not an incident: id: not an incident id (letters, digits, '-', '_', '.')",)~"
        R"("field":"id"})");
  r = api.router.handle({"POST", "/v1/incidents", "", "text/plain", "{}", "x"});
  CHECK(r.status == 415);
  CHECK(api.engine.counters().incidents_rejected == 3);
}

TEST_CASE(
    "a posted incident with one field of the wrong type or shape is a 400 naming the field "
    "and nothing is stored",
    "[responder][router][validation]") {
  struct Row {
    std::string from, to;  // a member of the correlator's JSON and what replaces it
    std::string error;     // the whole answer
  };
  const std::vector<Row> rows = {
      {R"("internal":true)", R"("internal":"true")",
       R"({"error":"not an incident: origin.internal: expected true or false, got a string",)"
       R"("field":"origin.internal"})"},
      {R"("revision":1)", R"("revision":"2")",
       R"({"error":"not an incident: revision: expected a whole number, got a string",)"
       R"("field":"revision"})"},
      {R"("virus":"Worm.Mydoom.M")", R"("virus":12345)",
       R"({"error":"not an incident: virus: expected a string, got a number","field":"virus"})"},
      {"<hops>", R"("hops":"relay1")",
       R"({"error":"not an incident: hops: expected an array, got a string","field":"hops"})"},
      {R"("ip":"10.1.23.45")", R"("ip":"not-an-ip<>")",
       R"({"error":"not an incident: origin.ip: not an IP address","field":"origin.ip"})"},
      {R"("client_ip":"10.1.23.45")", R"("client_ip":"relay1")",
       R"({"error":"not an incident: hops[1].client_ip: not an IP address",)"
       R"("field":"hops[1].client_ip"})"},
      {R"("detected_at":"2026-11-28T05:00:00.000000Z")", R"("detected_at":"2026-02-29T00:00:00Z")",
       R"({"error":"not an incident: detected_at: not an RFC 3339 time from 1970 on )"
       R"~((such as 2026-11-28T05:00:36.618019Z)","field":"detected_at"})~"},
  };
  Api api;
  const std::string good = to_json(internal_incident("0123456789abcdef", api.clock.now()));
  std::int64_t rejected = 0;
  const std::size_t hops_at = good.find(R"("hops":[)");
  const std::string hops = good.substr(hops_at, good.find(R"(,"origin":)") - hops_at);
  for (const auto& row : rows) {
    const std::string from = row.from == "<hops>" ? hops : row.from;
    const std::size_t at = good.find(from);
    REQUIRE(at != std::string::npos);
    std::string bad = good;
    bad.replace(at, from.size(), row.to);
    INFO(bad);
    const auto r = api.call("POST", "/v1/incidents", bad);
    CHECK(r.status == 400);
    CHECK(r.body == row.error);
    CHECK(api.engine.counters().incidents_rejected == ++rejected);
    CHECK(api.call("GET", "/v1/incidents/0123456789abcdef").status == 404);
  }
  CHECK(api.call("POST", "/v1/incidents", good).status == 201);
}

TEST_CASE("a since that is not a time from 1970 on or an overflowing duration is a 400 naming it",
          "[responder][router][validation]") {
  Api api;
  for (const char* path : {"/v1/stats", "/v1/incidents", "/v1/origins"}) {
    INFO(path);
    const std::string p = path;
    auto r = api.call("GET", p + "?since=106751992d");
    CHECK(r.status == 400);
    CHECK(r.body == R"~({"error":"since: the duration is too long (at most 106751991d)"})~");
    r = api.call("GET", p + "?since=99999999999999999999999h");
    CHECK(r.status == 400);
    for (const char* bad : {"2026-02-29T00:00:00Z", "0001-01-01T00:00:00Z", "yesterday", "-5d"}) {
      INFO(bad);
      r = api.call("GET", p + "?since=" + bad);
      CHECK(r.status == 400);
      CHECK(r.body.rfind(R"({"error":"since: expected an RFC 3339 time from 1970 on)", 0) == 0);
    }
    CHECK(api.call("GET", p + "?since=106751991d").status == 200);
    CHECK(api.call("GET", p + "?since=2028-02-29T00:00:00Z").status == 200);
    CHECK(api.call("GET", p + "?since=18d").status == 200);
  }
}

TEST_CASE("mutating calls need the bearer token when the API is exposed",
          "[responder][router][auth]") {
  Api api(true);
  const std::string body = to_json(internal_incident("a1", api.clock.now()));
  auto r = api.call("POST", "/v1/incidents", body);
  CHECK(r.status == 401);
  CHECK(r.headers["WWW-Authenticate"] == "Bearer realm=\"vtrace\"");
  CHECK(api.call("POST", "/v1/incidents", body, "Bearer wrong").status == 401);
  CHECK(api.call("POST", "/v1/incidents", body, "Bearer " + kToken + "x").status == 401);
  CHECK(api.call("POST", "/v1/incidents", body, kToken).status == 401);
  CHECK(api.call("POST", "/v1/incidents", body, "Bearer " + kToken).status == 201);
  CHECK(api.call("POST", "/v1/outbox/1/release").status == 401);
  // Reading stays open (it is bound to what the operator chose to expose).
  CHECK(api.call("GET", "/v1/incidents").status == 200);
}

TEST_CASE("on loopback no token is needed", "[responder][router][auth]") {
  Api api(false);
  CHECK(
      api.call("POST", "/v1/incidents", to_json(internal_incident("a1", api.clock.now()))).status ==
      201);
}

TEST_CASE("incidents are listed with origin and since filters", "[responder][router]") {
  Api api;
  api.call("POST", "/v1/incidents",
           to_json(internal_incident("a1", make_utc(2026, 11, 28, 5, 0, 0), "10.1.1.1")));
  api.call("POST", "/v1/incidents",
           to_json(internal_incident("b1", make_utc(2026, 11, 28, 6, 0, 0), "10.2.2.2")));
  auto r = api.call("GET", "/v1/incidents?origin=10.1.1.1");
  REQUIRE(r.status == 200);
  CHECK(r.body.find("\"id\":\"a1\"") != std::string::npos);
  CHECK(r.body.find("\"id\":\"b1\"") == std::string::npos);
  r = api.call("GET", "/v1/incidents?since=2026-11-28T05%3A30%3A00Z");
  REQUIRE(r.status == 200);
  CHECK(r.body.find("\"id\":\"a1\"") == std::string::npos);
  CHECK(r.body.find("\"id\":\"b1\"") != std::string::npos);
  CHECK(api.call("GET", "/v1/incidents?origin=pc-45").status == 400);
  CHECK(api.call("GET", "/v1/incidents?since=yesterday").status == 400);
  CHECK(api.call("GET", "/v1/incidents?limit=0").status == 400);
  CHECK(api.call("GET", "/v1/incidents?colour=red").status == 400);
  CHECK(api.call("GET", "/v1/incidents?origin=%zz").status == 400);
}

TEST_CASE("unknown paths and methods get 404 and 405", "[responder][router]") {
  Api api;
  CHECK(api.call("GET", "/v1/nothing").status == 404);
  CHECK(api.call("GET", "/v1/incidents/doesnotexist").status == 404);
  CHECK(api.call("GET", "/v1/incidents/bad%20id").status == 400);
  auto r = api.call("DELETE", "/v1/incidents");
  CHECK(r.status == 405);
  CHECK(r.headers["Allow"] == "GET, POST");
  CHECK(api.call("POST", "/v1/outbox/abc/release").status == 400);
  CHECK(api.call("POST", "/v1/outbox/42/release").status == 404);
}

TEST_CASE("metrics are served in the Prometheus text format", "[responder][router][metrics]") {
  Api api;
  api.call("POST", "/v1/incidents", to_json(internal_incident("a1", api.clock.now())));
  api.call("POST", "/v1/incidents", "junk");
  auto r = api.call("GET", "/metrics");
  REQUIRE(r.status == 200);
  CHECK(r.content_type.rfind("text/plain; version=0.0.4", 0) == 0);
  CHECK(r.body.find("# TYPE vtrace_responder_incidents_received_total counter\n"
                    "vtrace_responder_incidents_received_total 1\n") != std::string::npos);
  CHECK(r.body.find("vtrace_responder_incidents_rejected_total 1\n") != std::string::npos);
  CHECK(r.body.find("vtrace_responder_http_responses_total{code=\"2xx\"} 1\n") !=
        std::string::npos);
  CHECK(r.body.find("vtrace_responder_http_responses_total{code=\"4xx\"} 1\n") !=
        std::string::npos);
  CHECK(r.body.find("vtrace_responder_state{what=\"outbox_queued\"} 1\n") != std::string::npos);
}

TEST_CASE("query components are percent-decoded strictly", "[responder][router]") {
  CHECK(url_decode("a%20b+c") == "a b c");
  CHECK(url_decode("%3A%3a") == "::");
  CHECK_FALSE(url_decode("%"));
  CHECK_FALSE(url_decode("%4"));
  CHECK_FALSE(url_decode("%zz"));
}

}  // namespace vtrace::responder
