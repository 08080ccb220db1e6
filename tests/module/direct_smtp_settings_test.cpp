// The `direct_smtp:` section of vtrace.yaml: off unless present, its defaults, its checks.
#include <catch2/catch.hpp>
#include <string>

#include "module/settings.hpp"

namespace vtrace {
namespace {

const std::string kHead = R"(sources:
  - name: gw1
    addresses: [192.0.2.25]
  - name: fw1
    hostnames: [fw1]
    role: firewall
networks:
  internal:
    - name: campus
      cidrs: [10.0.0.0/8]
  external:
    - name: partner
      cidrs: [198.51.100.0/24]
)";

std::optional<CorrelatorSettings> load(const std::string& text, Diagnostics& diagnostics) {
  return parse_correlator_settings(kHead + text, "vtrace.yaml", diagnostics);
}

}  // namespace

TEST_CASE("direct SMTP detection is off unless its section is present", "[direct-smtp]") {
  Diagnostics diagnostics;
  const auto s = load("", diagnostics);
  REQUIRE(s.has_value());
  CHECK_FALSE(s->direct_smtp.enabled);
}

TEST_CASE("an empty direct_smtp section turns detection on with the defaults", "[direct-smtp]") {
  Diagnostics diagnostics;
  const auto s = load("direct_smtp:\n", diagnostics);
  INFO(diagnostics.render());
  REQUIRE(s.has_value());
  CHECK(s->direct_smtp.enabled);
  CHECK(s->direct_smtp.ports == std::vector<int>{25});
  CHECK(s->direct_smtp.connections == 20);
  CHECK(s->direct_smtp.destinations == 5);
  CHECK(s->direct_smtp.within == seconds(600));
  CHECK(s->direct_smtp.zones.empty());
}

TEST_CASE("a direct_smtp section sets ports, threshold, exemptions and zones", "[direct-smtp]") {
  Diagnostics diagnostics;
  const auto s = load(R"(direct_smtp:
  ports: [25, 465, 587]
  threshold:
    connections: 30
    destinations: 10
    within: 5m
  quiet: 2h
  allowed_senders: [10.1.0.30, 10.9.0.0/24, 2001:db8::25]
  zones: [campus]
  max_hosts: 5000
)",
                      diagnostics);
  INFO(diagnostics.render());
  REQUIRE(s.has_value());
  const DirectSmtpSettings& d = s->direct_smtp;
  CHECK(d.ports == std::vector<int>{25, 465, 587});
  CHECK(d.connections == 30);
  CHECK(d.destinations == 10);
  CHECK(d.within == seconds(300));
  CHECK(d.quiet == seconds(7200));
  REQUIRE(d.allowed_senders.size() == 3);
  CHECK(d.allowed_senders[0].contains(*IpAddress::parse("10.1.0.30")));
  CHECK_FALSE(d.allowed_senders[0].contains(*IpAddress::parse("10.1.0.31")));
  CHECK(d.allowed_senders[1].contains(*IpAddress::parse("10.9.0.200")));
  CHECK(d.allowed_senders[2].contains(*IpAddress::parse("2001:db8::25")));
  CHECK(d.zones == std::vector<std::string>{"campus"});
  CHECK(d.max_hosts == 5000);
}

TEST_CASE("direct_smtp mistakes are reported at their line and column", "[direct-smtp]") {
  auto one_error = [](const std::string& text, const std::string& code, int line, int column,
                      const std::string& part) {
    Diagnostics diagnostics;
    const auto s = load(text, diagnostics);
    INFO(diagnostics.render());
    CHECK_FALSE(s.has_value());
    REQUIRE(diagnostics.size() == 1);
    const Diagnostic& d = diagnostics.items().front();
    CHECK(d.code == code);
    CHECK(d.line == line);
    CHECK(d.column == column);
    CHECK_THAT(d.message, Catch::Contains(part));
  };
  one_error("direct_smtp:\n  ports: [25, 70000]\n", "range", 15, 15, "direct_smtp.ports");
  one_error("direct_smtp:\n  zones: [partner]\n", "value", 15, 11,
            "'partner' is not a zone of networks.internal");
  one_error("direct_smtp:\n  allowed_senders: [mx.example.org]\n", "cidr", 15, 21,
            "'mx.example.org' is not an address or a network");
  one_error("direct_smtp:\n  threshold:\n    connections: 3\n    destinations: 10\n", "range", 17,
            19, "need at least as many connections (3)");
  one_error("direct_smtp:\n  threshold:\n    connections: 5000\n", "range", 16, 18,
            "direct_smtp.threshold.connections");
  one_error("direct_smtp:\n  thresold: {}\n", "unknown-key", 15, 3, "thresold");
}

}  // namespace vtrace
