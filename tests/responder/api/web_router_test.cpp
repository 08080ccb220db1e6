// The operator page's routes: static files with a strict CSP, path traversal refused,
// /v1/origins, /v1/stats (with the outbreak timeline) and releasing held mail from the page.
#include <unistd.h>

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <filesystem>

#include "responder/api/router.hpp"
#include "tests/responder/support.hpp"

namespace vtrace::responder {
namespace {

using test::external_incident;
using test::FakeClock;
using test::internal_incident;

namespace json = boost::json;

struct WebApi {
  WebApi()
      : engine(std::make_shared<ResponderConfig>(), clock, ":memory:"),
        router(engine, "0123456789abcdef0123456789abcdef", false) {
    router.set_web_root(std::string(VTRACE_SOURCE_DIR) + "/responder/web");
  }
  ApiResponse get(const std::string& target) {
    return router.handle({"GET", target, "", "", "", "127.0.0.1"});
  }
  void post(const Incident& in) {
    REQUIRE(
        router.handle({"POST", "/v1/incidents", "", "application/json", to_json(in), "127.0.0.1"})
            .status == 201);
  }
  FakeClock clock;
  Engine engine;
  Router router;
};

}  // namespace

TEST_CASE("the operator page is served at / with a strict content security policy",
          "[responder][router][web]") {
  WebApi api;
  auto r = api.get("/");
  REQUIRE(r.status == 200);
  CHECK(r.content_type == "text/html; charset=utf-8");
  CHECK(r.body.find("<title>") != std::string::npos);
  const std::string csp = r.headers["Content-Security-Policy"];
  CHECK(csp.find("default-src 'self'") != std::string::npos);
  CHECK(csp.find("script-src 'self'") != std::string::npos);
  CHECK(csp.find("unsafe-inline") == std::string::npos);
  CHECK(r.headers["X-Content-Type-Options"] == "nosniff");
  // The page itself carries no inline script for the policy to block.
  CHECK(r.body.find("<script>") == std::string::npos);
  CHECK(r.body.find("onclick=") == std::string::npos);
}

TEST_CASE("static files get their content types", "[responder][router][web]") {
  WebApi api;
  CHECK(api.get("/ui/app.js").content_type == "text/javascript; charset=utf-8");
  CHECK(api.get("/ui/style.css").content_type == "text/css; charset=utf-8");
  CHECK(api.get("/ui/index.html").status == 200);
  CHECK(api.get("/ui/missing.js").status == 404);
  CHECK(api.router.handle({"POST", "/ui/app.js", "", "", "", "127.0.0.1"}).status == 405);
}

TEST_CASE("path traversal and odd file names are refused", "[responder][router][web]") {
  WebApi api;
  for (const char* target :
       {"/ui/../router.cpp", "/ui/..%2frouter.cpp", "/ui//etc/passwd", "/ui/./index.html",
        "/ui/.hidden.js", "/ui/a\\b.js", "/ui/%2e%2e/router.cpp", "/ui/../../CMakeLists.txt",
        "/ui/index.html%00.js", "/ui/nofileextension"}) {
    INFO(target);
    auto r = api.get(target);
    CHECK(r.status == 404);
    CHECK(r.body.find("vtrace") == std::string::npos);
  }
}

TEST_CASE("without a web root the page is not served", "[responder][router][web]") {
  WebApi api;
  api.router.set_web_root("");
  CHECK(api.get("/").status == 404);
  CHECK(api.get("/healthz").status == 200);
}

TEST_CASE("origins list first and last seen, detections, viruses and containment state",
          "[responder][router][web]") {
  WebApi api;
  api.post(internal_incident("o1", make_utc(2026, 11, 28, 5, 0, 0), "10.1.1.1"));
  api.post(internal_incident("o2", make_utc(2026, 11, 28, 6, 0, 0), "10.1.1.1", "Worm.Bagle.A"));
  api.post(external_incident("o3", make_utc(2026, 11, 28, 7, 0, 0)));
  auto r = api.get("/v1/origins");
  REQUIRE(r.status == 200);
  auto doc = json::parse(r.body);
  const auto& origins = doc.at("origins").as_array();
  REQUIRE(origins.size() == 2);
  CHECK(origins[0].at("ip").as_string() == "198.51.100.7");  // most recent first
  const auto& pc = origins[1];
  CHECK(pc.at("ip").as_string() == "10.1.1.1");
  CHECK(pc.at("detections").as_int64() == 2);
  CHECK(pc.at("first_seen").as_string() == "2026-11-28T05:00:00.000000Z");
  CHECK(pc.at("last_seen").as_string() == "2026-11-28T06:00:00.000000Z");
  CHECK(pc.at("viruses").as_array().size() == 2);
  CHECK(pc.at("internal").as_bool());
  CHECK(pc.at("mails_sent").as_int64() == 0);
  CHECK(pc.at("containment").is_null());
  CHECK(api.get("/v1/origins?since=2026-11-28T06%3A30%3A00Z").body.find("10.1.1.1") ==
        std::string::npos);
  CHECK(api.get("/v1/origins?since=soon").status == 400);
  CHECK(api.get("/v1/origins?colour=red").status == 400);
}

TEST_CASE("stats count detections per virus for internal origins and internal vs external",
          "[responder][router][web]") {
  WebApi api;
  api.post(internal_incident("s1", make_utc(2026, 11, 28, 5, 0, 0), "10.1.1.1"));
  api.post(internal_incident("s2", make_utc(2026, 11, 28, 5, 1, 0), "10.1.1.2"));
  api.post(internal_incident("s3", make_utc(2026, 11, 28, 5, 2, 0), "10.1.1.2", "Worm.Bagle.A"));
  api.post(external_incident("s4", make_utc(2026, 11, 28, 5, 3, 0)));
  auto r = api.get("/v1/stats?since=2026-11-01T00%3A00%3A00Z");
  REQUIRE(r.status == 200);
  auto doc = json::parse(r.body);
  CHECK(doc.at("internal").as_int64() == 3);
  CHECK(doc.at("external").as_int64() == 1);
  const auto& viruses = doc.at("viruses").as_array();
  REQUIRE(viruses.size() == 2);
  CHECK(viruses[0].at("virus").as_string() == "Worm.Mydoom.M");
  CHECK(viruses[0].at("detections").as_int64() == 2);
  CHECK(viruses[0].at("origins").as_int64() == 2);
  const auto& ttc = doc.at("time_to_containment").as_array();
  REQUIRE(ttc.size() == 2);
  CHECK(ttc[0].at("seconds").is_null());
  CHECK(api.get("/v1/stats?since=later").status == 400);
}

TEST_CASE("stats count detections per hour by origin class for the outbreak chart",
          "[responder][router][web]") {
  WebApi api;
  api.post(internal_incident("t1", make_utc(2026, 11, 28, 5, 0, 0)));
  api.post(internal_incident("t2", make_utc(2026, 11, 28, 5, 59, 59)));
  api.post(external_incident("t3", make_utc(2026, 11, 28, 5, 30, 0)));
  api.post(external_incident("t4", make_utc(2026, 11, 28, 8, 10, 0)));
  Incident ambiguous = internal_incident("t5", make_utc(2026, 11, 28, 8, 20, 0));
  ambiguous.origin.reset();
  ambiguous.confidence = Confidence::kAmbiguous;
  ambiguous.candidates = {Candidate{"relay1", "RA", 0, "10.1.1.1", "pc-1"},
                          Candidate{"relay1", "RB", 0, "10.1.1.2", "pc-2"}};
  api.post(ambiguous);
  Incident unresolved = internal_incident("t6", make_utc(2026, 11, 28, 8, 30, 0));
  unresolved.origin.reset();
  unresolved.confidence = Confidence::kUnresolved;
  unresolved.note = "no record on relay1";
  api.post(unresolved);
  auto r = api.get("/v1/stats?since=2026-11-01T00%3A00%3A00Z");
  REQUIRE(r.status == 200);
  auto doc = json::parse(r.body);
  const auto& timeline = doc.at("timeline").as_object();
  CHECK(timeline.at("bucket_seconds").as_int64() == 3600);
  CHECK(timeline.at("hours_dropped").as_int64() == 0);
  const auto& hours = timeline.at("hours").as_array();
  REQUIRE(hours.size() == 2);  // empty hours are left out
  CHECK(hours[0].at("hour").as_string() == "2026-11-28T05:00:00.000000Z");
  CHECK(hours[0].at("internal").as_int64() == 2);
  CHECK(hours[0].at("external").as_int64() == 1);
  CHECK(hours[0].at("unresolved").as_int64() == 0);
  CHECK(hours[1].at("hour").as_string() == "2026-11-28T08:00:00.000000Z");
  CHECK(hours[1].at("internal").as_int64() == 0);
  CHECK(hours[1].at("external").as_int64() == 1);
  CHECK(hours[1].at("ambiguous").as_int64() == 1);
  CHECK(hours[1].at("unresolved").as_int64() == 1);
}

TEST_CASE("the timeline keeps the most recent month of hours and counts the older ones",
          "[responder][router][web]") {
  WebApi api;
  const TimePoint start = make_utc(2026, 10, 1, 0, 0, 0);
  const int total = 31 * 24 + 5;
  for (int h = 0; h < total; ++h) {
    api.post(external_incident("h" + std::to_string(h), start + h * seconds(3600)));
  }
  auto doc = json::parse(api.get("/v1/stats").body);
  const auto& timeline = doc.at("timeline").as_object();
  CHECK(timeline.at("hours_dropped").as_int64() == 5);
  const auto& hours = timeline.at("hours").as_array();
  REQUIRE(hours.size() == 31 * 24);
  CHECK(hours.back().at("hour").as_string() == format_rfc3339(start + (total - 1) * seconds(3600)));
}

TEST_CASE("a held mail is listed, readable, and released with the token, audited",
          "[responder][router][web]") {
  const auto dir =
      std::filesystem::temp_directory_path() / ("vtrace-web-router-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string db = (dir / "state.db").string();
  {
    auto c = std::make_shared<ResponderConfig>();
    c->abuse_contacts = {{{*Cidr::parse("198.51.100.0/24")}, "abuse@example.net"}};
    ActionConfig abuse;
    abuse.type = ActionType::kMailAbuse;
    abuse.template_name = "abuse";
    abuse.hold = true;
    Policy p;
    p.name = "abuse";
    p.match.origin = OriginClass::kExternal;
    p.actions = {abuse};
    c->policies = {p};
    FakeClock clock;
    Engine engine(c, clock, db);
    engine.ingest(external_incident("e1", clock.now()), "p");
    Router guarded(engine, "0123456789abcdef0123", true);
    auto held = guarded.handle({"GET", "/v1/outbox?status=held", "", "", "", "127.0.0.1"});
    REQUIRE(held.status == 200);
    const auto mails = json::parse(held.body).at("mails").as_array();
    REQUIRE(mails.size() == 1);
    CHECK(mails[0].at("to").as_array()[0].as_string() == "abuse@example.net");
    CHECK(mails[0].at("last_error").as_string() == "held for manual release");
    // The page shows the rendered mail for review before the release.
    const std::string mail = "/v1/outbox/" + std::to_string(mails[0].at("id").as_int64());
    auto one = guarded.handle({"GET", mail, "", "", "", "127.0.0.1"});
    REQUIRE(one.status == 200);
    const auto body = json::parse(one.body);
    CHECK(body.at("status").as_string() == "held");
    CHECK(std::string(body.at("body").as_string()).find("198.51.100.7") != std::string::npos);
    CHECK(guarded.handle({"GET", "/v1/outbox/99", "", "", "", "127.0.0.1"}).status == 404);
    CHECK(guarded.handle({"GET", "/v1/outbox/x1", "", "", "", "127.0.0.1"}).status == 400);
    CHECK(guarded.handle({"POST", mail, "", "", "", "127.0.0.1"}).status == 405);
    const std::string target = mail + "/release";
    ApiRequest release{"POST",
                       target,
                       "",
                       "application/json",
                       R"({"operator":"alice","reason":"abuse desk confirmed"})",
                       "192.0.2.9"};
    CHECK(guarded.handle(release).status == 401);
    release.authorization = "Bearer 0123456789abcdef0123";
    ApiRequest bad = release;
    bad.body = R"({"reason":"two\nlines"})";
    CHECK(guarded.handle(bad).status == 400);
    bad.body = R"({"reason":7})";
    CHECK(guarded.handle(bad).status == 400);
    CHECK(engine.gauges()["outbox_held"] == 1);
    auto r = guarded.handle(release);
    CHECK(r.status == 200);
    CHECK(r.body.find("\"status\":\"queued\"") != std::string::npos);
    CHECK(engine.gauges()["outbox_held"] == 0);
    CHECK(engine.gauges()["outbox_queued"] == 1);
    CHECK(guarded.handle(release).status == 404);  // no longer held
    ApiRequest cli = release;                      // vtracectl sends no body
    cli.body.clear();
    cli.target = "/v1/outbox/99/release";
    CHECK(guarded.handle(cli).status == 404);
  }
  Database state(db);
  auto audit = state.prepare("SELECT actor, detail FROM audit WHERE event='mail.released'");
  REQUIRE(audit.step());
  CHECK(audit.text(0) == "api:192.0.2.9 operator=alice");
  CHECK(audit.text(1) == "mail 1: abuse desk confirmed");
  CHECK_FALSE(audit.step());
  std::filesystem::remove_all(dir);
}

}  // namespace vtrace::responder
