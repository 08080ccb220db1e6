// HTTP automation back ends against a real HTTP server on 127.0.0.1 (automation_server.py, run
// by /usr/bin/python3), through the real Beast client: the server checks the bearer token and
// the HMAC signature itself, keeps the port state the status URL reports, and plays AWX.
// Retries and polls are real but short (tens of milliseconds).
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "common/http_client.hpp"
#include "responder/containment/http_port_controllers.hpp"
#include "tests/responder/support.hpp"

extern char** environ;

namespace vtrace::responder {
namespace {

namespace json = boost::json;

const char* const kToken = "integration-token-0123456789";
const char* const kHmacKey = "integration-hmac-key-0123456789";

// The server process: started with its arguments, stopped (by pid) when the test ends.
class Server {
 public:
  explicit Server(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {
        "/usr/bin/python3", VTRACE_AUTOMATION_SERVER, "--token", kToken, "--hmac-key", kHmacKey};
    argv.insert(argv.end(), extra.begin(), extra.end());
    std::vector<char*> raw;
    for (auto& a : argv) raw.push_back(a.data());
    raw.push_back(nullptr);
    int out[2];
    REQUIRE(::pipe(out) == 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    REQUIRE(posix_spawn(&pid_, raw[0], &actions, nullptr, raw.data(), environ) == 0);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    // The server prints "READY <port>" once it listens; a read blocks until then.
    FILE* in = ::fdopen(out[0], "r");
    char line[64] = {};
    REQUIRE(std::fgets(line, sizeof line, in) != nullptr);
    REQUIRE(std::sscanf(line, "READY %d", &port_) == 1);
    stdout_ = in;
  }
  ~Server() {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    std::fclose(stdout_);
  }
  int port() const { return port_; }
  std::string base(const char* scheme = "http") const {
    return std::string(scheme) + "://127.0.0.1:" + std::to_string(port_);
  }

 private:
  pid_t pid_ = 0;
  int port_ = 0;
  FILE* stdout_ = nullptr;
};

// The requests the server saw, as it recorded them.
json::array seen(HttpClient& client, const Server& server, const char* scheme = "http",
                 const std::string& ca_file = "") {
  HttpRequest r;
  r.url = server.base(scheme) + "/requests";
  r.ca_file = ca_file;
  HttpResponse answer = client.send(r);
  REQUIRE(answer.status == 200);
  return json::parse(answer.body).as_array();
}

std::string webhook_config(const std::string& base, const std::string& mode,
                           const std::string& auth = "bearer", const std::string& extra = "") {
  const std::string credential = auth == "hmac" ? "signer" : "automation";
  return R"(containment:
  backend: webhook
  webhook:
    url: )" +
         base + "/hook/" + mode + R"(/{{switch}}/{{port}}/{{action}}
    body: '{"switch": {{switch}}, "port": {{port}}, "action": {{action}}, "incident": {{incident}}, "if_index": {{if_index}}}'
    auth: )" +
         auth + R"(
    credential: )" +
         credential + R"(
    timeout: 1s
    attempts: 3
    retry_initial: 20ms
)" + extra +
         R"(    verify:
      method: status_url
      url: )" +
         base + R"(/status/{{switch}}/{{port}}
      field: /port/admin
      attempts: 2
      interval: 20ms
  switches:
    - {name: sw-a, address: 192.0.2.2, credential: rw, dry_run: false}
policies:
  - {name: p, actions: [{type: log}]}
)";
}

std::string awx_config(const std::string& base, int job_template) {
  return R"(containment:
  backend: awx
  awx:
    url: )" +
         base + R"(
    job_template: )" +
         std::to_string(job_template) + R"(
    credential: automation
    timeout: 1s
    poll_interval: 20ms
    job_timeout: 1s
    verify: {method: job}
  switches:
    - {name: sw-a, address: 192.0.2.2, credential: rw, dry_run: false}
policies:
  - {name: p, actions: [{type: log}]}
)";
}

std::shared_ptr<const ContainmentConfig> load(const std::string& text) {
  Diagnostics d;
  auto c = parse_responder_config(text, "it.yaml", d);
  INFO(d.render());
  REQUIRE(c);
  auto whole = std::make_shared<const ResponderConfig>(std::move(*c));
  return std::shared_ptr<const ContainmentConfig>(whole, &whole->containment);
}

std::map<std::string, HttpCredential> credentials() {
  HttpCredential automation, signer;
  automation.token = kToken;
  signer.hmac_key = kHmacKey;
  return {{"automation", automation}, {"signer", signer}};
}

PortRequest request_for(const ContainmentConfig& c, bool up = false) {
  PortRequest r;
  r.device = &c.switches.at(0);
  r.port = "Gi1/0/2";
  r.if_index = 2;
  r.up = up;
  r.containment_id = 3;
  r.incident_id = "gw1-4Q\"}, {\"port\": \"Gi1/0/1";
  r.origin_ip = "10.1.23.45";
  r.mac = "00:50:56:aa:00:01";
  return r;
}

PortWrite webhook_write(const std::string& text, bool up = false) {
  auto config = load(text);
  auto client = make_beast_http_client();
  ThreadSleeper sleeper;
  SystemClock clock;
  WebhookPortController controller({*client, sleeper, clock}, config, credentials());
  return controller.set_admin_status(request_for(*config, up));
}

PortWrite awx_write(const std::string& text) {
  auto config = load(text);
  auto client = make_beast_http_client();
  ThreadSleeper sleeper;
  SystemClock clock;
  AwxPortController controller({*client, sleeper, clock}, config, credentials());
  return controller.set_admin_status(request_for(*config));
}

}  // namespace

TEST_CASE("a bearer webhook over a socket is accepted by the server and verified by its status URL",
          "[responder][http-backend][socket]") {
  Server server;
  PortWrite w = webhook_write(webhook_config(server.base(), "ok"));
  INFO(w.detail);
  CHECK(w.ok);
  auto client = make_beast_http_client();
  auto requests = seen(*client, server);
  REQUIRE(requests.size() == 2);
  const auto& post = requests[0].as_object();
  CHECK(post.at("path").as_string() == "/hook/ok/sw-a/Gi1%2F0%2F2/down");
  CHECK(post.at("auth").as_string() == "bearer-ok");
  json::value body = json::parse(post.at("body").as_string());
  CHECK(body.at("incident").as_string() == "gw1-4Q\"}, {\"port\": \"Gi1/0/1");
  CHECK(body.at("port").as_string() == "Gi1/0/2");
  CHECK(requests[1].at("path").as_string() == "/status/sw-a/Gi1%2F0%2F2");
  // and back up
  PortWrite up = webhook_write(webhook_config(server.base(), "ok"), true);
  CHECK(up.ok);
}

TEST_CASE("an HMAC-signed webhook is verified by the server against the exact body",
          "[responder][http-backend][socket]") {
  Server server;
  PortWrite w = webhook_write(webhook_config(server.base(), "ok", "hmac"));
  INFO(w.detail);
  CHECK(w.ok);
  auto client = make_beast_http_client();
  auto requests = seen(*client, server);
  REQUIRE_FALSE(requests.empty());
  CHECK(requests[0].at("auth").as_string() == "hmac-ok");
  CHECK(requests[0].at("headers").as_object().contains("X-Vtrace-Signature"));
}

TEST_CASE("a webhook answered 503 twice is retried and then succeeds",
          "[responder][http-backend][socket]") {
  Server server;
  PortWrite w = webhook_write(webhook_config(server.base(), "flaky"));
  INFO(w.detail);
  CHECK(w.ok);
  CHECK(w.detail.find("-> 503") != std::string::npos);
  CHECK(w.detail.find("(attempt 3/3)") != std::string::npos);
  auto client = make_beast_http_client();
  CHECK(seen(*client, server).size() == 4);  // three POSTs, one status read
}

TEST_CASE("a webhook answered 400 is not retried and fails", "[responder][http-backend][socket]") {
  Server server;
  PortWrite w = webhook_write(webhook_config(server.base(), "reject"));
  CHECK_FALSE(w.ok);
  CHECK(w.detail.find("-> 400 {\"error\": \"unknown switch\"} (attempt 1/3)") != std::string::npos);
  auto client = make_beast_http_client();
  CHECK(seen(*client, server).size() == 1);
}

TEST_CASE("a webhook whose server does not answer in time fails with a timeout",
          "[responder][http-backend][socket]") {
  Server server;
  std::string text = webhook_config(server.base(), "slow");
  text.replace(text.find("timeout: 1s"), 11, "timeout: 200ms");
  text.replace(text.find("attempts: 3"), 11, "attempts: 2");
  const auto start = std::chrono::steady_clock::now();
  PortWrite w = webhook_write(text);
  const auto took = std::chrono::steady_clock::now() - start;
  INFO(w.detail);
  CHECK_FALSE(w.ok);
  CHECK(w.detail.find("timeout after 200 ms (attempt 2/2)") != std::string::npos);
  CHECK(took < std::chrono::milliseconds(1500));
}

TEST_CASE("a webhook answered 2xx that does not change the port is reported as a failure",
          "[responder][http-backend][socket]") {
  Server server;
  PortWrite w = webhook_write(webhook_config(server.base(), "noop"));
  CHECK_FALSE(w.ok);
  CHECK(w.detail.find("not verified") != std::string::npos);
  CHECK(w.detail.find("/port/admin = \"up\", not \"down\" after 2 reads") != std::string::npos);
}

TEST_CASE("a webhook without valid credentials is refused by the server",
          "[responder][http-backend][socket]") {
  Server server;
  auto config = load(webhook_config(server.base(), "ok"));
  auto client = make_beast_http_client();
  ThreadSleeper sleeper;
  auto wrong = credentials();
  wrong["automation"].token = "not-the-token";
  SystemClock clock;
  WebhookPortController controller({*client, sleeper, clock}, config, wrong);
  PortWrite w = controller.set_admin_status(request_for(*config));
  CHECK_FALSE(w.ok);
  CHECK(w.detail.find("-> 401") != std::string::npos);
}

TEST_CASE("an AWX job template is launched over a socket and polled to success",
          "[responder][http-backend][socket][awx]") {
  Server server;
  PortWrite w = awx_write(awx_config(server.base(), 7));
  INFO(w.detail);
  CHECK(w.ok);
  CHECK(w.detail.find("AWX job 301 successful") != std::string::npos);
  auto client = make_beast_http_client();
  auto requests = seen(*client, server);
  REQUIRE(requests.size() == 4);  // launch, then three polls
  CHECK(requests[0].at("path").as_string() == "/api/v2/job_templates/7/launch/");
  CHECK(requests[0].at("auth").as_string() == "bearer-ok");
  json::value vars = json::parse(requests[0].at("body").as_string()).at("extra_vars");
  CHECK(vars.at("switch").as_string() == "sw-a");
  CHECK(vars.at("port").as_string() == "Gi1/0/2");
  CHECK(vars.at("action").as_string() == "down");
  CHECK(vars.at("incident_id").as_string() == "gw1-4Q\"}, {\"port\": \"Gi1/0/1");
  CHECK(requests[3].at("path").as_string() == "/api/v2/jobs/301/");
}

TEST_CASE("an AWX job that fails over a socket is reported as a failure",
          "[responder][http-backend][socket][awx]") {
  Server server;
  PortWrite w = awx_write(awx_config(server.base(), 8));
  CHECK_FALSE(w.ok);
  CHECK(w.detail.find("AWX job 301 ended failed") != std::string::npos);
}

TEST_CASE("an AWX job that never finishes is cancelled at job_timeout",
          "[responder][http-backend][socket][awx]") {
  Server server;
  PortWrite w = awx_write(awx_config(server.base(), 9));
  CHECK_FALSE(w.ok);
  CHECK(w.detail.find("still running after job_timeout") != std::string::npos);
  auto client = make_beast_http_client();
  auto requests = seen(*client, server);
  CHECK(requests.back().at("path").as_string() == "/api/v2/jobs/301/cancel/");
}

TEST_CASE("a webhook over HTTPS trusts only the configured CA",
          "[responder][http-backend][socket][tls]") {
  const auto dir =
      std::filesystem::temp_directory_path() / ("vtrace-https-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string cert = (dir / "cert.pem").string();
  const std::string key = (dir / "key.pem").string();
  const std::string command =
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost -addext "
      "subjectAltName=IP:127.0.0.1 -keyout " +
      key + " -out " + cert + " 2>/dev/null";
  REQUIRE(std::system(command.c_str()) == 0);
  Server server({"--tls", cert, key});
  SECTION("with the server's certificate as ca_file") {
    PortWrite w = webhook_write(
        webhook_config(server.base("https"), "ok", "bearer", "    ca_file: " + cert + "\n"));
    INFO(w.detail);
    CHECK(w.ok);
  }
  SECTION("with the system store only") {
    PortWrite w = webhook_write(webhook_config(server.base("https"), "ok"));
    CHECK_FALSE(w.ok);
    CHECK(w.detail.find("certificate verify failed") != std::string::npos);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace vtrace::responder
