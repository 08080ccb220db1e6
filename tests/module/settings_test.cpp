// The correlator's configuration loader: values, defaults, and positioned diagnostics.
#include "module/settings.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

namespace vtrace {
namespace {

// The minimal configuration from the issue, exactly as an operator would write it.
const char* const kMinimal = R"(sources:
  - name: gw1
    hostnames: [gw1, gw1.example.ac.jp]
    addresses: [192.0.2.25]
    role: gateway
  - name: relay1
    hostnames: [relay1, relay1.campus.example.ac.jp]
    addresses: [10.1.0.25]
    role: relay
networks:
  internal:
    - name: campus
      cidrs: [10.0.0.0/8, 2001:db8:100::/48]
correlation:
  clock_skew: 5s
  window: 30m
)";

// The acceptance practice scenario's configuration (copied, so the tests stand alone).
const char* const kPractice = R"(sources:
  - name: gw1
    hostnames: [gw1, gw1.example.ac.jp]
    addresses: [192.0.2.25]
    role: gateway
  - name: gw2
    hostnames: [gw2, gw2.example.ac.jp]
    addresses: [192.0.2.26]
    role: gateway
  - name: relay1
    hostnames: [relay1, relay1.campus.example.ac.jp]
    addresses: [10.1.0.25]
    role: relay
  - name: relay2
    hostnames: [relay2, relay2.campus.example.ac.jp]
    addresses: [10.1.0.26]
    role: relay
  - name: relay3
    hostnames: [relay3, mail.dept.example.ac.jp]
    addresses: [10.20.0.5]
    role: relay
networks:
  internal:
    - name: campus
      cidrs: [10.0.0.0/8, 2001:db8:100::/48]
correlation:
  clock_skew: 5s
  window: 30m
)";

struct Result {
  std::optional<CorrelatorSettings> settings;
  Diagnostics diagnostics;
};

Result parse(const std::string& text, const std::string& path = "vtrace.yaml") {
  Result r;
  r.settings = parse_correlator_settings(text, path, r.diagnostics);
  return r;
}

IpAddress ip(const char* text) { return *IpAddress::parse(text); }

// Parses `text`, which must produce exactly one diagnostic, and checks all of it.
void expect_one_error(const std::string& text, const std::string& code, int line, int column,
                      const std::string& message_part) {
  const Result r = parse(text);
  INFO(r.diagnostics.render());
  CHECK_FALSE(r.settings.has_value());
  REQUIRE(r.diagnostics.size() == 1);
  const Diagnostic& d = r.diagnostics.items().front();
  CHECK(d.code == code);
  CHECK(d.line == line);
  CHECK(d.column == column);
  CHECK_THAT(d.message, Catch::Contains(message_part));
  CHECK(d.file == "vtrace.yaml");
}

TEST_CASE("the minimal configuration loads with its values and every default", "[settings]") {
  const Result r = parse(kMinimal, "minimal.yaml");
  INFO(r.diagnostics.render());
  REQUIRE(r.settings.has_value());
  REQUIRE(r.diagnostics.empty());
  const CorrelatorSettings& s = *r.settings;

  CHECK(s.path == "minimal.yaml");
  REQUIRE(s.sources.size() == 2);
  CHECK(s.sources[0].name == "gw1");
  CHECK(s.sources[0].hostnames == std::vector<std::string>{"gw1", "gw1.example.ac.jp"});
  REQUIRE(s.sources[0].addresses.size() == 1);
  CHECK(s.sources[0].addresses[0] == ip("192.0.2.25"));
  CHECK(s.sources[0].role == SourceRole::kGateway);
  CHECK(s.sources[0].archive.empty());
  CHECK(s.sources[0].timezone.empty());
  CHECK(s.sources[1].name == "relay1");
  CHECK(s.sources[1].role == SourceRole::kRelay);
  CHECK(s.sources[1].addresses[0] == ip("10.1.0.25"));

  REQUIRE(s.internal_networks.size() == 1);
  CHECK(s.internal_networks[0].name == "campus");
  REQUIRE(s.internal_networks[0].cidrs.size() == 2);
  CHECK(s.internal_networks[0].cidrs[0].contains(ip("10.1.23.45")));
  CHECK(s.internal_networks[0].cidrs[1].contains(ip("2001:db8:100::45")));
  CHECK_FALSE(s.internal_networks[0].cidrs[0].contains(ip("192.0.2.25")));
  CHECK(s.external_networks.empty());

  CHECK(s.correlation.clock_skew == seconds(5));
  CHECK(s.correlation.window == seconds(30 * 60));
  CHECK(s.correlation.max_hops == 8);
  CHECK(s.correlation.pending_timeout == seconds(5 * 60));
  CHECK(s.correlation.max_messages == 2'000'000);
  CHECK(s.correlation.max_pending == 100'000);
  CHECK(s.correlation.envelope_matching);

  CHECK(s.custom_formats.empty());
  CHECK(s.output.responder_url.empty());
  CHECK(s.output.jsonl_path.empty());
  CHECK(s.output.state_dir == "/var/lib/vtrace");
  CHECK(s.output.stats_path.empty());
  CHECK(s.output.stats_interval == seconds(60));
  CHECK(s.timezone.empty());
}

TEST_CASE("the acceptance practice configuration loads", "[settings]") {
  const Result r = parse(kPractice);
  INFO(r.diagnostics.render());
  REQUIRE(r.settings.has_value());
  REQUIRE(r.settings->sources.size() == 5);
  CHECK(r.settings->sources[4].name == "relay3");
  CHECK(r.settings->sources[4].hostnames[1] == "mail.dept.example.ac.jp");
  CHECK(r.settings->sources[4].addresses[0] == ip("10.20.0.5"));
  CHECK(r.settings->sources[1].role == SourceRole::kGateway);
  CHECK(r.settings->sources[3].role == SourceRole::kRelay);
}

TEST_CASE("every key of the schema is read into the settings", "[settings]") {
  const Result r = parse(R"(sources:
  - name: mx.1
    hostnames: [MX1.Example.AC.JP]
    role: mail_server
    archive: ["/var/log/mail/mx1/*.log*", "/srv/old/mx1-*.gz"]
    timezone: Asia/Tokyo
  - name: relay_2
    addresses: 2001:db8:100::25
networks:
  internal:
    - name: campus
      cidrs: 10.0.0.0/8
  external:
    - name: partner
      cidrs: [198.51.100.0/24]
correlation:
  clock_skew: 0
  window: 7d
  max_hops: 64
  pending_timeout: 1d
  max_messages: 1000
  max_pending: 10000000
  envelope_matching: false
custom_formats:
  - name: myav
    program: "myav(d)?"
    pattern: 'virus (?P<virus>\S+) in (?P<queue_id>\w+)'
  - name: myrelay
    kind: delivery
    pattern: '(?P<queue_id>\w+): relayed as (?P<next_queue_id>\w+)'
output:
  responder_url: https://127.0.0.1:8025/v1/incidents
  jsonl: /var/lib/vtrace/incidents.jsonl
  state_dir: /srv/vtrace
  stats_file: /srv/vtrace/stats.json
  stats_interval: 5m
timezone: UTC
)");
  INFO(r.diagnostics.render());
  REQUIRE(r.settings.has_value());
  const CorrelatorSettings& s = *r.settings;
  REQUIRE(s.sources.size() == 2);
  CHECK(s.sources[0].hostnames == std::vector<std::string>{"mx1.example.ac.jp"});
  CHECK(s.sources[0].role == SourceRole::kMailServer);
  CHECK(s.sources[0].archive ==
        std::vector<std::string>{"/var/log/mail/mx1/*.log*", "/srv/old/mx1-*.gz"});
  CHECK(s.sources[0].timezone == "Asia/Tokyo");
  CHECK(s.sources[1].hostnames.empty());
  CHECK(s.sources[1].addresses == std::vector<IpAddress>{ip("2001:db8:100::25")});
  CHECK(s.sources[1].role == SourceRole::kGateway);
  REQUIRE(s.external_networks.size() == 1);
  CHECK(s.external_networks[0].name == "partner");
  CHECK(s.external_networks[0].cidrs[0].contains(ip("198.51.100.7")));
  CHECK(s.internal_networks[0].cidrs.size() == 1);

  CHECK(s.correlation.clock_skew == 0);
  CHECK(s.correlation.window == seconds(7 * 86400));
  CHECK(s.correlation.max_hops == 64);
  CHECK(s.correlation.pending_timeout == seconds(86400));
  CHECK(s.correlation.max_messages == 1000);
  CHECK(s.correlation.max_pending == 10'000'000);
  CHECK_FALSE(s.correlation.envelope_matching);

  REQUIRE(s.custom_formats.size() == 2);
  const CustomFormatSettings& av = s.custom_formats[0];
  CHECK(av.name == "myav");
  CHECK(av.program == "myav(d)?");
  CHECK(av.pattern == R"(virus (?P<virus>\S+) in (?P<queue_id>\w+))");
  CHECK(av.kind == "detection");
  CHECK(av.file == "vtrace.yaml");
  CHECK(av.line == 25);
  CHECK(av.column == 5);
  CHECK(s.custom_formats[1].kind == "delivery");
  CHECK(s.custom_formats[1].program.empty());
  CHECK(s.custom_formats[1].line == 28);

  CHECK(s.output.responder_url == "https://127.0.0.1:8025/v1/incidents");
  CHECK(s.output.jsonl_path == "/var/lib/vtrace/incidents.jsonl");
  CHECK(s.output.state_dir == "/srv/vtrace");
  CHECK(s.output.stats_path == "/srv/vtrace/stats.json");
  CHECK(s.output.stats_interval == seconds(300));
  CHECK(s.timezone == "UTC");
}

TEST_CASE("host names are stored lower-cased and compared without case", "[settings]") {
  const Result r = parse(R"(sources:
  - name: gw1
    hostnames: [GW1, Gw1.Example.AC.JP]
)");
  REQUIRE(r.settings.has_value());
  CHECK(r.settings->sources[0].hostnames == std::vector<std::string>{"gw1", "gw1.example.ac.jp"});

  expect_one_error(R"(sources:
  - name: gw1
    hostnames: [gw1]
  - name: gw2
    hostnames: [GW1]
)",
                   "duplicate-hostname", 5, 17, "'gw1' already belongs to source 'gw1' (line 3)");
}

TEST_CASE("a host name listed twice in one source is also an error", "[settings]") {
  expect_one_error(R"(sources:
  - name: gw1
    hostnames: [gw1, gw1.example.org, Gw1]
)",
                   "duplicate-hostname", 3, 39, "'gw1' already belongs to this source (line 3)");
}

TEST_CASE("an optional list or section written empty means none", "[settings]") {
  const Result r = parse(R"(sources:
  - name: gw1
    addresses: [192.0.2.25]
    archive:
networks:
correlation:
custom_formats: []
output:
)");
  INFO(r.diagnostics.render());
  REQUIRE(r.settings.has_value());
  CHECK(r.settings->internal_networks.empty());
  CHECK(r.settings->sources[0].archive.empty());
  CHECK(r.settings->correlation.window == seconds(30 * 60));
}

TEST_CASE("malformed YAML is a syntax error at the parser's position", "[settings]") {
  expect_one_error(R"(sources:
  - name: gw1
    hostnames: [gw1, gw2
correlation:
  window: 30m
)",
                   "syntax", 4, 12, "end of sequence flow not found");
}

TEST_CASE("a tab in the indentation is named as a tab at the tab, whatever yaml-cpp calls it",
          "[settings]") {
  // yaml-cpp's own messages for these three: "illegal map value", "illegal tab when looking for
  // indentation" and "end of map not found".
  expect_one_error("correlation:\n\twindow: 30m\n", "syntax", 2, 1, "a tab in the indentation");
  expect_one_error("correlation:\n  window: 30m\n\tclock_skew: 5s\n", "syntax", 3, 1,
                   "a tab in the indentation");
  expect_one_error("# sites\ncorrelation: {}\n  \tclock_skew: 5s\n", "syntax", 3, 3,
                   "a tab in the indentation");
}

TEST_CASE("a tab inside a value is not mistaken for indentation", "[settings]") {
  expect_one_error("correlation:\n  window: [30m\t\n", "syntax", 3, 1, "end of sequence flow");
}

TEST_CASE("a value of the wrong shape is a type error at the value", "[settings]") {
  expect_one_error("sources: gw1\n", "type", 1, 10, "sources: expected a list");
  expect_one_error("sources: [gw1]\n", "type", 1, 11, "sources[0]: expected a mapping");
  expect_one_error("- sources\n", "type", 1, 1, "configuration: expected a mapping");
  expect_one_error(R"(sources:
  - name: gw1
    hostnames: {gw1: yes}
)",
                   "type", 3, 16, "sources[0].hostnames: expected a list");
  expect_one_error(R"(sources:
  - name: gw1
    addresses: [192.0.2.25]
correlation:
  envelope_matching: maybe
)",
                   "type", 5, 22, "correlation.envelope_matching: expected true or false");
  expect_one_error(R"(sources:
  - name: gw1
    addresses: [192.0.2.25]
correlation:
  max_hops: eight
)",
                   "type", 5, 13, "correlation.max_hops: expected a whole number");
}

// Found by tests/fuzz/fuzz_correlator_settings: the digits were accumulated past the first
// letter, and 25 characters overflowed int64 (UBSan) before the type error was reported.
TEST_CASE("a long number or a number with letters is a type error and read without overflow",
          "[settings]") {
  const std::string head = "sources:\n  - name: gw1\n    addresses: [192.0.2.25]\ncorrelation:\n";
  expect_one_error(head + "  max_pending: 100N4YAML15ParserExc00000\n", "type", 5, 16,
                   "correlation.max_pending: expected a whole number");
  expect_one_error(head + "  max_pending: 99999999999999999999999\n", "type", 5, 16,
                   "correlation.max_pending: expected a whole number");
  expect_one_error(head + "  max_pending: zzzzzzzzzzzzzzzzzz\n", "type", 5, 16,
                   "correlation.max_pending: expected a whole number");
}

TEST_CASE("an empty value is reported at its key, not on the next line", "[settings]") {
  expect_one_error(R"(sources:
  - name: gw1
    addresses: [192.0.2.25]
correlation:
  window:
  max_hops: 8
)",
                   "duration", 5, 3, "correlation.window: expected a duration");
}

TEST_CASE("a misspelt key is an unknown-key error naming the allowed keys", "[settings]") {
  expect_one_error(R"(sources:
  - name: gw1
    addresses: [192.0.2.25]
correlation:
  clock_skw: 5s
  window: 30m
)",
                   "unknown-key", 5, 3,
                   "correlation: unknown key 'clock_skw' (allowed: clock_skew, window, max_hops, "
                   "pending_timeout, max_messages, max_pending, envelope_matching, id_link_skew, "
                   "settle_timeout)");
  expect_one_error(R"(source:
  - name: gw1
sources:
  - name: gw1
    addresses: [192.0.2.25]
)",
                   "unknown-key", 1, 1, "unknown key 'source'");
}

TEST_CASE("a key written twice is a duplicate-key error at the second one", "[settings]") {
  expect_one_error(R"(sources:
  - name: gw1
    addresses: [192.0.2.25]
    role: gateway
    role: relay
)",
                   "duplicate-key", 5, 5, "sources[0]: key 'role' appears twice");
}

TEST_CASE("a required key that is absent is a missing-key error at its mapping", "[settings]") {
  expect_one_error(R"(networks:
  internal: []
)",
                   "missing-key", 1, 1, "'sources' is required");
  expect_one_error(R"(sources:
  - hostnames: [gw1]
    role: gateway
)",
                   "missing-key", 2, 5, "sources[0]: the key 'name' is required");
  expect_one_error(R"(sources:
  - name: gw1
    role: gateway
)",
                   "missing-key", 2, 5, "'hostnames' or 'addresses' is required");
  expect_one_error(R"(sources:
  - name: gw1
    addresses: [192.0.2.25]
networks:
  internal:
    - name: campus
)",
                   "missing-key", 6, 7, "networks.internal[0]: the key 'cidrs' is required");
  expect_one_error("", "missing-key", 1, 1, "the configuration is empty");
}

TEST_CASE("a number or duration outside its bounds is a range error, never clamped", "[settings]") {
  const std::string head = "sources:\n  - name: gw1\n    addresses: [192.0.2.25]\ncorrelation:\n";
  expect_one_error(head + "  max_hops: 65\n", "range", 5, 13,
                   "correlation.max_hops: 65 is out of range [1, 64]");
  expect_one_error(head + "  max_messages: 999\n", "range", 5, 17,
                   "correlation.max_messages: 999 is out of range [1000, 100000000]");
  expect_one_error(head + "  max_pending: 0\n", "range", 5, 16, "max_pending: 0 is out of range");
  expect_one_error(head + "  clock_skew: 2h\n", "range", 5, 15,
                   "correlation.clock_skew: 2h is out of range [0s, 1h]");
  expect_one_error(head + "  window: 59s\n", "range", 5, 11,
                   "correlation.window: 59s is out of range [1m, 7d]");
  expect_one_error(head + "  window: 8d\n", "range", 5, 11, "is out of range [1m, 7d]");
  expect_one_error(head + "  pending_timeout: 500ms\n", "range", 5, 20,
                   "correlation.pending_timeout: 500ms is out of range [1s, 1d]");
  expect_one_error(head + "  clock_skew: 1h\n  window: 1h\n", "range", 6, 11,
                   "correlation.window: 1h must be longer than correlation.clock_skew (1h)");
  expect_one_error(
      "sources:\n  - name: gw1\n    addresses: [192.0.2.25]\noutput:\n"
      "  stats_interval: 0s\n",
      "range", 5, 19, "output.stats_interval: 0s is out of range [1s, 1d]");
}

TEST_CASE("a duration too long to count in microseconds is a range error, not a wrapped value",
          "[settings]") {
  const std::string head = "sources:\n  - name: gw1\n    addresses: [192.0.2.25]\ncorrelation:\n";
  expect_one_error(head + "  window: 106751992d\n", "range", 5, 11,
                   "correlation.window: 106751992d is out of range (a duration holds at most "
                   "106751991d)");
  expect_one_error(head + "  clock_skew: 99999999999999999999999s\n", "range", 5, 15,
                   "correlation.clock_skew: 99999999999999999999999s is out of range");
}

TEST_CASE("a window no longer than the skew is blamed on clock_skew when window is defaulted",
          "[settings]") {
  expect_one_error(R"(sources:
  - name: gw1
    addresses: [192.0.2.25]
correlation:
  clock_skew: 45m
)",
                   "range", 5, 15, "30m must be longer than correlation.clock_skew (45m)");
}

TEST_CASE("an unreadable duration is a duration error", "[settings]") {
  expect_one_error(R"(sources:
  - name: gw1
    addresses: [192.0.2.25]
correlation:
  window: 30 minutes
)",
                   "duration", 5, 11, "expected a duration such as");
}

TEST_CASE("a value outside its choices or its alphabet is a value error", "[settings]") {
  expect_one_error(R"(sources:
  - name: gw1
    addresses: [192.0.2.25]
    role: gatway
)",
                   "value", 4, 11,
                   "sources[0].role: 'gatway' is not one of: gateway, relay, mail_server");
  expect_one_error(R"(sources:
  - name: gw 1
    addresses: [192.0.2.25]
)",
                   "value", 2, 11, "'gw 1' is not a valid name");
  expect_one_error("sources: []\n", "value", 1, 10, "at least one source is required");
  expect_one_error(R"(sources:
  - name: gw1
    hostnames: []
)",
                   "value", 2, 5, "at least one hostname or address is required");
  expect_one_error(R"(sources:
  - name: gw1
    addresses: [192.0.2.25]
networks:
  internal:
    - name: campus
      cidrs: []
)",
                   "value", 7, 14, "networks.internal[0].cidrs: at least one network");
  expect_one_error(R"(sources:
  - name: gw1
    addresses: [192.0.2.25]
output:
  jsonl: ""
)",
                   "value", 5, 10, "output.jsonl: must not be empty");
}

TEST_CASE("an address that does not parse is an address error at the item", "[settings]") {
  expect_one_error(R"(sources:
  - name: gw1
    addresses: [192.0.2.25, 192.0.2.300]
)",
                   "address", 3, 29, "'192.0.2.300' is not an IPv4 or IPv6 address");
}

TEST_CASE("a network that does not parse is a cidr error at the item", "[settings]") {
  expect_one_error(R"(sources:
  - name: gw1
    addresses: [192.0.2.25]
networks:
  internal:
    - name: campus
      cidrs:
        - 10.0.0.0/8
        - 172.16.0.0/33
)",
                   "cidr", 9, 11, "'172.16.0.0/33' is not a network");
}

TEST_CASE("a name used twice is a duplicate-name error at the second", "[settings]") {
  expect_one_error(R"(sources:
  - name: gw1
    addresses: [192.0.2.25]
  - name: gw1
    addresses: [192.0.2.26]
)",
                   "duplicate-name", 4, 11, "source 'gw1' is already defined at line 2");
  // Internal and external zones share one namespace: an incident names its origin's zone.
  expect_one_error(R"(sources:
  - name: gw1
    addresses: [192.0.2.25]
networks:
  internal:
    - name: campus
      cidrs: [10.0.0.0/8]
  external:
    - name: campus
      cidrs: [198.51.100.0/24]
)",
                   "duplicate-name", 9, 13, "zone 'campus' is already defined at line 6");
}

TEST_CASE("an address given to two sources is a duplicate-address error", "[settings]") {
  expect_one_error(R"(sources:
  - name: gw1
    addresses: [192.0.2.25]
  - name: gw2
    addresses: ["::ffff:192.0.2.25"]
)",
                   "duplicate-address", 5, 17,
                   "192.0.2.25 already belongs to source 'gw1' (line 3)");
}

TEST_CASE("an unknown time zone is a timezone error", "[settings]") {
  expect_one_error(R"(sources:
  - name: gw1
    addresses: [192.0.2.25]
    timezone: Asia/Tokio
timezone: UTC
)",
                   "timezone", 4, 15, "sources[0].timezone: unknown time zone 'Asia/Tokio'");
  expect_one_error(R"(sources:
  - name: gw1
    addresses: [192.0.2.25]
timezone: Mars/Olympus_Mons
)",
                   "timezone", 4, 11, "timezone: unknown time zone 'Mars/Olympus_Mons'");
}

TEST_CASE("a responder URL that is not http or https is a url error", "[settings]") {
  expect_one_error(R"(sources:
  - name: gw1
    addresses: [192.0.2.25]
output:
  responder_url: ftp://127.0.0.1/v1/incidents
)",
                   "url", 5, 18, "must be an http:// or https:// URL");
  expect_one_error(R"(sources:
  - name: gw1
    addresses: [192.0.2.25]
output:
  responder_url: 127.0.0.1:8025
)",
                   "url", 5, 18, "'127.0.0.1:8025'");
}

TEST_CASE("a source with role firewall is read as a firewall", "[settings]") {
  const Result r = parse(R"(sources:
  - name: fw1
    hostnames: [fw1]
    role: firewall
)");
  INFO(r.diagnostics.render());
  REQUIRE(r.settings.has_value());
  CHECK(r.settings->sources[0].role == SourceRole::kFirewall);
}

TEST_CASE("custom formats are compile-checked with RE2 and their groups checked", "[settings]") {
  const std::string head =
      "sources:\n  - name: gw1\n    addresses: [192.0.2.25]\ncustom_formats:\n";

  SECTION("a pattern that does not compile reports RE2's error text") {
    expect_one_error(head + "  - name: myav\n    pattern: 'virus (?P<virus>\\S+'\n", "regex", 6, 14,
                     "custom_formats[0].pattern: does not compile: missing )");
  }
  SECTION("a program expression that does not compile is a regex error too") {
    expect_one_error(head +
                         "  - name: myav\n    program: 'myav[d'\n"
                         "    pattern: 'virus (?P<virus>\\S+)'\n",
                     "regex", 6, 14, "custom_formats[0].program: does not compile: missing ]");
  }
  SECTION("a group name outside the record fields is a custom-group error") {
    expect_one_error(head + "  - name: myav\n    pattern: '(?P<virus>\\S+) from (?P<host>\\S+)'\n",
                     "custom-group", 6, 14,
                     "unknown group name 'host' (allowed: queue_id, message_id, sender");
  }
  SECTION("a detection format without a virus group is a custom-group error") {
    expect_one_error(head + "  - name: myav\n    pattern: 'found in (?P<queue_id>\\w+)'\n",
                     "custom-group", 6, 14, "a detection format needs a (?P<virus>...) group");
  }
  SECTION("other kinds do not need a virus group") {
    const Result r = parse(head +
                           "  - name: myrcv\n    kind: receive\n"
                           "    pattern: '(?P<queue_id>\\w+): client=(?P<client_ip>\\S+)'\n");
    INFO(r.diagnostics.render());
    REQUIRE(r.settings.has_value());
    CHECK(r.settings->custom_formats[0].kind == "receive");
  }
  SECTION("a connection format reads the firewall groups and needs the addresses and port") {
    const Result r = parse(head +
                           "  - name: myfw\n    kind: connection\n"
                           "    pattern: 'src=(?P<src_ip>\\S+) dst=(?P<dst_ip>\\S+) "
                           "dport=(?P<dst_port>\\d+) (?P<action>\\w+)'\n");
    INFO(r.diagnostics.render());
    REQUIRE(r.settings.has_value());
    CHECK(r.settings->custom_formats[0].kind == "connection");
    expect_one_error(head +
                         "  - name: myfw\n    kind: connection\n"
                         "    pattern: 'src=(?P<src_ip>\\S+) dst=(?P<dst_ip>\\S+)'\n",
                     "custom-group", 7, 14, "needs the groups src_ip, dst_ip and dst_port");
  }
  SECTION("the pattern is required") {
    expect_one_error(head + "  - name: myav\n    kind: detection\n", "missing-key", 5, 5,
                     "custom_formats[0]: the key 'pattern' is required");
  }
  SECTION("a built-in format's name cannot be reused") {
    expect_one_error(head + "  - name: postfix\n    pattern: '(?P<virus>\\S+)'\n", "duplicate-name",
                     5, 11, "'postfix' is the name of a built-in format");
  }
  SECTION("two custom formats cannot share a name") {
    expect_one_error(head +
                         "  - name: myav\n    pattern: '(?P<virus>\\S+)'\n"
                         "  - name: myav\n    pattern: '(?P<virus>\\w+)'\n",
                     "duplicate-name", 7, 11, "custom format 'myav' is already defined at line 5");
  }
  SECTION("an unknown kind is a value error") {
    expect_one_error(head + "  - name: myav\n    kind: alert\n    pattern: '(?P<virus>\\S+)'\n",
                     "value", 6, 11, "'alert' is not one of: detection, receive, delivery");
  }
}

TEST_CASE("every error in a file is reported at once, top to bottom", "[settings]") {
  // The top-level timezone is checked last but written first: the report follows the file.
  const Result r = parse(R"(timezone: Asia/Tokio
sources:
  - name: gw1
    hostnames: [gw1]
    addresses: [192.0.2.25]
    role: gatway
  - name: gw1
    hostnames: [GW1]
    addresses: [192.0.2.999]
networks:
  internal:
    - name: campus
      cidrs: [10.0.0.0/8, 10.300.0.0/16]
correlation:
  clock_skw: 5s
  window: 30 minutes
  max_hops: 0
custom_formats:
  - name: myav
    pattern: '(?P<virus>\S+) (?P<hostname>\S+)'
output:
  responder_url: localhost:8025
)");
  INFO(r.diagnostics.render());
  CHECK_FALSE(r.settings.has_value());
  REQUIRE(r.diagnostics.size() == 11);
  const auto& d = r.diagnostics.items();
  const std::vector<std::pair<std::string, int>> expected = {
      {"timezone", 1},           {"value", 6},     {"duplicate-name", 7},
      {"duplicate-hostname", 8}, {"address", 9},   {"cidr", 13},
      {"unknown-key", 15},       {"duration", 16}, {"range", 17},
      {"custom-group", 20},      {"url", 22}};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    INFO("diagnostic " << i);
    CHECK(d[i].code == expected[i].first);
    CHECK(d[i].line == expected[i].second);
  }
}

TEST_CASE("the rendered report shows file:line:col, the source line and a caret", "[settings]") {
  const Result r = parse(R"(sources:
  - name: gw1
    addresses: [192.0.2.25, 192.0.2.300]
    role: relay
)",
                         "/etc/vtrace/vtrace.yaml");
  REQUIRE(r.diagnostics.size() == 1);
  const std::string text = r.diagnostics.render();
  CHECK_THAT(text, Catch::Contains("/etc/vtrace/vtrace.yaml:3:29: error[address]: "
                                   "sources[0].addresses: '192.0.2.300' is not an IPv4 or IPv6 "
                                   "address\n"));
  CHECK_THAT(text, Catch::Contains("\n    "
                                   "    addresses: [192.0.2.25, 192.0.2.300]\n"));
  // Four spaces of indent, then 28 columns before the caret under the '1' of 192.0.2.300.
  CHECK_THAT(text, Catch::Contains("\n    " + std::string(28, ' ') + "^\n"));
  CHECK_THAT(text, Catch::EndsWith("1 error found\n"));
}

TEST_CASE("errors already recorded for other files do not fail a good file", "[settings]") {
  Diagnostics diagnostics;
  diagnostics.error("responder.yaml", 3, 1, "value", "an earlier problem");
  auto settings = parse_correlator_settings(kMinimal, "vtrace.yaml", diagnostics);
  CHECK(settings.has_value());
  CHECK(diagnostics.size() == 1);
}

TEST_CASE("loading reads the file and remembers its path", "[settings]") {
  const std::string path = std::string(VTRACE_FIXTURES) + "/config/minimal.yaml";
  Diagnostics diagnostics;
  auto settings = load_correlator_settings(path, diagnostics);
  INFO(diagnostics.render());
  REQUIRE(settings.has_value());
  CHECK(settings->path == path);
  CHECK(settings->sources.size() == 2);
  CHECK(settings->correlation.window == seconds(30 * 60));
}

TEST_CASE("loading a file with several mistakes reports them all with its path", "[settings]") {
  const std::string path = std::string(VTRACE_FIXTURES) + "/config/several-errors.yaml";
  Diagnostics diagnostics;
  CHECK_FALSE(load_correlator_settings(path, diagnostics).has_value());
  INFO(diagnostics.render());
  REQUIRE(diagnostics.size() == 3);
  CHECK(diagnostics.items()[0].file == path);
  CHECK(diagnostics.items()[0].code == "address");
  CHECK(diagnostics.items()[1].code == "unknown-key");
  CHECK(diagnostics.items()[2].code == "range");
  CHECK_THAT(diagnostics.render(), Catch::Contains(path + ":6:28: error[address]:"));
}

TEST_CASE("an unreadable file is an io error without a position", "[settings]") {
  const std::string path = std::string(VTRACE_FIXTURES) + "/config/does-not-exist.yaml";
  Diagnostics diagnostics;
  CHECK_FALSE(load_correlator_settings(path, diagnostics).has_value());
  REQUIRE(diagnostics.size() == 1);
  const Diagnostic& d = diagnostics.items()[0];
  CHECK(d.code == "io");
  CHECK(d.file == path);
  CHECK(d.line == 0);
  CHECK(d.column == 0);
  CHECK_THAT(d.message, Catch::Contains("No such file or directory"));
  CHECK_THAT(diagnostics.render(), Catch::StartsWith(path + ": error[io]: "));

  Diagnostics directory;
  CHECK_FALSE(load_correlator_settings(VTRACE_FIXTURES, directory).has_value());
  REQUIRE(directory.size() == 1);
  CHECK(directory.items()[0].code == "io");
}

TEST_CASE("the shipped rules/vtrace.yaml loads cleanly", "[settings]") {
  const std::string path = std::string(VTRACE_SOURCE_DIR) + "/rules/vtrace.yaml";
  Diagnostics diagnostics;
  auto settings = load_correlator_settings(path, diagnostics);
  INFO(diagnostics.render());
  REQUIRE(settings.has_value());
  CHECK(diagnostics.empty());
  CHECK(settings->sources.size() >= 2);
  CHECK_FALSE(settings->internal_networks.empty());
  CHECK(settings->output.responder_url == "http://127.0.0.1:8025/v1/incidents");
  CHECK(settings->output.jsonl_path.rfind("/var/lib/vtrace/", 0) == 0);
}

TEST_CASE("every error code is documented in rules/README.md", "[settings]") {
  std::ifstream in(std::string(VTRACE_SOURCE_DIR) + "/rules/README.md");
  REQUIRE(in);
  std::stringstream text;
  text << in.rdbuf();
  for (const char* code :
       {"syntax", "type", "unknown-key", "duplicate-key", "missing-key", "range", "duration",
        "value", "address", "cidr", "duplicate-name", "duplicate-hostname", "duplicate-address",
        "regex", "custom-group", "timezone", "url", "io"}) {
    INFO(code);
    CHECK_THAT(text.str(), Catch::Contains("| `" + std::string(code) + "` |"));
  }
}

}  // namespace
}  // namespace vtrace
