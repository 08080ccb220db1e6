// The responder's configuration loader: values, defaults, secrets, positioned diagnostics.
#include "responder/config/config.hpp"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

namespace vtrace::responder {
namespace {

const char* const kSmall = R"(listen:
  port: 18025
smtp:
  host: 127.0.0.1
  port: 2525
  from: vtrace@example.ac.jp
own_domains: [Example.AC.jp]
abuse_contacts:
  - cidrs: [198.51.100.0/24]
    address: abuse@example.net
policies:
  - name: internal
    match:
      origin: internal
      zones: [tsushima]
      viruses: ["Worm.*"]
      confidence: [exact, fuzzy]
      detectors: [gw1]
    threshold: {count: 3, within: 10m}
    actions:
      - type: mail
        to: [admins@example.ac.jp, noc@example.ac.jp]
        digest_window: 30m
      - type: log
        dry_run: true
  - name: abuse
    match: {origin: external}
    actions:
      - type: mail_abuse
)";

std::optional<ResponderConfig> parse(const std::string& text, Diagnostics& d) {
  return parse_responder_config(text, "responder.yaml", d);
}

std::string temp_path(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / "vtrace-responder-test";
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}

}  // namespace

TEST_CASE("a small responder configuration loads with its values and defaults",
          "[responder][config]") {
  Diagnostics d;
  auto c = parse(kSmall, d);
  INFO(d.render());
  REQUIRE(c);
  CHECK(c->listen.address == "127.0.0.1");
  CHECK(c->listen.port == 18025);
  CHECK(c->listen.body_limit == 1 << 20);
  CHECK(c->smtp.port == 2525);
  CHECK(c->smtp.tls == SmtpTls::kNone);
  CHECK(c->own_domains == std::vector<std::string>{"example.ac.jp"});
  REQUIRE(c->policies.size() == 2);
  const Policy& p = c->policies[0];
  CHECK(p.match.origin == OriginClass::kInternal);
  CHECK(p.match.zones == std::vector<std::string>{"tsushima"});
  CHECK(p.threshold.count == 3);
  CHECK(p.threshold.within == seconds(600));
  REQUIRE(p.actions.size() == 2);
  CHECK(p.actions[0].type == ActionType::kMail);
  CHECK(p.actions[0].to.size() == 2);
  CHECK(p.actions[0].digest_window == seconds(1800));
  CHECK(p.actions[0].template_name == "incident");
  CHECK_FALSE(p.actions[0].dry_run);
  CHECK(p.actions[1].dry_run);
  // Abuse mail is held for manual release unless the site says otherwise.
  CHECK(c->policies[1].actions[0].hold);
  CHECK(c->policies[1].actions[0].template_name == "abuse");
}

TEST_CASE("the shipped responder.yaml is valid and dry-run everywhere", "[responder][config]") {
  Diagnostics d;
  auto c = load_responder_config(std::string(VTRACE_SOURCE_DIR) + "/rules/responder.yaml", d);
  INFO(d.render());
  REQUIRE(c);
  CHECK(c->listen.address == "127.0.0.1");
  CHECK_FALSE(c->policies.empty());
  for (const auto& p : c->policies) {
    for (const auto& a : p.actions) {
      if (a.type != ActionType::kLog) CHECK(a.dry_run);
    }
  }
}

TEST_CASE("every configuration error is reported at once with line and column",
          "[responder][config]") {
  const char* text = R"(listen:
  port: 99999
smtp:
  tls: starttlz
policies:
  - name: p1
    match:
      origin: inside
      confidence: [certain]
    threshold: {count: 0, within: 10x}
    actions:
      - type: mail
        to: ["evil@example.org\r\nBcc: x@y"]
        dyr_run: true
      - type: mail
        to: [ok@example.org]
        template: no-such-template
  - name: p1
    actions: []
)";
  Diagnostics d;
  REQUIRE_FALSE(parse(text, d));
  const std::string out = d.render();
  INFO(out);
  CHECK(out.find("responder.yaml:2:9: error[range]: listen.port: 99999 is out of range") !=
        std::string::npos);
  CHECK(out.find("responder.yaml:4:8: error[value]: smtp.tls: 'starttlz' is not one of: none, "
                 "starttls, smtps") != std::string::npos);
  CHECK(out.find("responder.yaml:8:15: error[value]: policy 'p1'.match.origin: 'inside'") !=
        std::string::npos);
  CHECK(out.find("responder.yaml:9:20: error[value]: policy 'p1'.match.confidence: 'certain'") !=
        std::string::npos);
  CHECK(out.find("responder.yaml:10:24: error[range]: policy 'p1'.threshold.count") !=
        std::string::npos);
  CHECK(out.find("responder.yaml:10:35: error[duration]") != std::string::npos);
  // Control characters in a quoted value are shown escaped, never as a line break.
  CHECK(out.find("responder.yaml:13:14: error[address]: policy 'p1'.actions[0].to: "
                 "'evil@example.org\\r\\nBcc: x@y' is not a mail address") != std::string::npos);
  CHECK(out.find("responder.yaml:14:9: error[unknown-key]: policy 'p1'.actions[0]: unknown key "
                 "'dyr_run' (allowed: type, dry_run, to, template, digest_template, "
                 "digest_window, hold, duration, allow_fuzzy, vlan)") != std::string::npos);
  CHECK(out.find("responder.yaml:17:19: error[template]: policy 'p1'.actions[1].template: no "
                 "template named 'no-such-template'") != std::string::npos);
  CHECK(out.find("responder.yaml:18:11: error[duplicate-name]: policies[1].name: policy 'p1' is "
                 "already defined at line 6") != std::string::npos);
  CHECK(out.find("error[value]: policies[1].actions: at least one action is required") !=
        std::string::npos);
  // Quoted source line and caret under the offending value.
  CHECK(out.find("      port: 99999\n            ^\n") != std::string::npos);
  CHECK(d.size() == 11);
}

TEST_CASE("action keys that do not fit the action type are errors", "[responder][config]") {
  const char* text = R"(policies:
  - name: p
    actions:
      - type: log
        to: [a@example.org]
      - type: mail_sender
      - type: mail
)";
  Diagnostics d;
  REQUIRE_FALSE(parse(text, d));
  const std::string out = d.render();
  INFO(out);
  CHECK(out.find("5:9: error[value]: policy 'p'.actions[0]: 'to' applies only to mail actions") !=
        std::string::npos);
  CHECK(out.find("6:15: error[value]: policy 'p'.actions[1]: mail_sender needs 'own_domains'") !=
        std::string::npos);
  CHECK(out.find("7:9: error[missing-key]: policy 'p'.actions[2]: a mail action needs 'to'") !=
        std::string::npos);
}

TEST_CASE("an unknown top-level key and a missing policies key are both reported",
          "[responder][config]") {
  Diagnostics d;
  REQUIRE_FALSE(parse("lisen:\n  port: 1\n", d));
  const std::string out = d.render();
  INFO(out);
  CHECK(out.find("1:1: error[unknown-key]: configuration: unknown key 'lisen'") !=
        std::string::npos);
  CHECK(out.find("error[missing-key]: configuration: the key 'policies' is required") !=
        std::string::npos);
}

TEST_CASE("malformed YAML is one syntax error with its position", "[responder][config]") {
  Diagnostics d;
  REQUIRE_FALSE(parse("policies:\n  - name: [unclosed\n", d));
  REQUIRE(d.size() == 1);
  CHECK(d.items()[0].code == "syntax");
  CHECK(d.items()[0].line >= 2);
}

TEST_CASE("a secrets file that others can read is refused", "[responder][config][secrets]") {
  const std::string path = temp_path("secrets-open.yaml");
  {
    std::ofstream out(path);
    out << "api_token: 0123456789abcdef0123\nsmtp_password: s3cret\n";
  }
  ::chmod(path.c_str(), 0644);
  Diagnostics d;
  CHECK_FALSE(load_secrets(path, d));
  CHECK(d.render().find("error[permissions]: secrets file: mode 0644 lets other users read or "
                        "write it; refusing to use it (the package's own: chown root:vtrace, "
                        "chmod 0640, readable by the service and nobody else)") !=
        std::string::npos);
  CHECK(d.render().find("chmod 600") == std::string::npos);

  ::chmod(path.c_str(), 0600);
  Diagnostics ok;
  auto s = load_secrets(path, ok);
  INFO(ok.render());
  REQUIRE(s);
  CHECK(s->api_token == "0123456789abcdef0123");
  CHECK(s->smtp_password == "s3cret");
}

TEST_CASE("secrets diagnostics never quote the secrets file's text",
          "[responder][config][secrets]") {
  const std::string path = temp_path("secrets-bad.yaml");
  {
    std::ofstream out(path);
    out << "api_token: short\nsmtp_pasword: hunter2\n";
  }
  ::chmod(path.c_str(), 0600);
  Diagnostics d;
  CHECK_FALSE(load_secrets(path, d));
  const std::string out = d.render();
  INFO(out);
  CHECK(out.find("unknown key 'smtp_pasword'") != std::string::npos);
  CHECK(out.find("api_token: too short") != std::string::npos);
  CHECK(out.find("hunter2") == std::string::npos);
}

TEST_CASE("listening beyond loopback requires an API token", "[responder][config][secrets]") {
  Diagnostics d;
  auto c = parse("listen: {address: 0.0.0.0}\npolicies: []\n", d);
  REQUIRE(c);
  Diagnostics missing;
  CHECK_FALSE(check_secrets(*c, Secrets{}, missing));
  CHECK(missing.render().find("is not loopback, so the API needs an api_token") !=
        std::string::npos);
  Diagnostics ok;
  CHECK(check_secrets(*c, Secrets{"0123456789abcdef", ""}, ok));
  CHECK(is_loopback_address("127.0.0.1"));
  CHECK(is_loopback_address("::1"));
  CHECK(is_loopback_address("localhost"));
  CHECK_FALSE(is_loopback_address("0.0.0.0"));
  CHECK_FALSE(is_loopback_address("10.0.0.1"));
}

TEST_CASE("only plain mail addresses are accepted as recipients", "[responder][config]") {
  CHECK(is_safe_address("postmaster@example.ac.jp"));
  CHECK(is_safe_address("a.b+c@sub.example.org"));
  CHECK_FALSE(is_safe_address("a@example.org\r\nBcc: evil@x"));
  CHECK_FALSE(is_safe_address("a@example.org, evil@x"));
  CHECK_FALSE(is_safe_address("<a@example.org>"));
  CHECK_FALSE(is_safe_address("Name a@example.org"));
  CHECK_FALSE(is_safe_address("a@@example.org"));
  CHECK_FALSE(is_safe_address("a@exa_mple.org"));
  CHECK_FALSE(is_safe_address("a@.example.org"));
  CHECK_FALSE(is_safe_address("\xe5\xa4\xaa@example.org"));
  CHECK_FALSE(is_safe_address(""));
}

}  // namespace vtrace::responder
