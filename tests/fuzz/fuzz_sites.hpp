// The sites the correlator targets trace through, parsed once per fuzzing process.
#pragma once

#include <cstdio>
#include <cstdlib>

#include "module/settings.hpp"

namespace vtrace::fuzz {

// The acceptance scenario's campus (tests/fixtures/scenario/vtrace.yaml) plus the postfix
// gateway and relay of tests/integration/test_partial_loop.py, whose four lines looped gw <->
// relay, and the direct SMTP scenario's two firewalls with a low threshold and few hosts
// (tests/fixtures/direct_smtp).
inline constexpr const char* kSitesYaml = R"(
sources:
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
  - name: gw
    hostnames: [gw, gw.campus.example]
    addresses: [10.201.2.1]
    role: gateway
  - name: relay
    hostnames: [relay, relay.campus.example]
    addresses: [10.201.1.2]
    role: relay
  - name: fw1
    hostnames: [fw1]
    role: firewall
  - name: fw2
    hostnames: [fw2]
    role: firewall
networks:
  internal:
    - name: campus
      cidrs: [10.0.0.0/8, 2001:db8:100::/48]
    - name: dept
      cidrs: [10.20.0.0/16]
correlation:
  clock_skew: 5s
  window: 30m
  max_hops: 8
  max_messages: 5000
  max_pending: 500
direct_smtp:
  ports: [25, 587]
  threshold: {connections: 5, destinations: 2, within: 10m}
  quiet: 30m
  max_hosts: 50
)";

inline const CorrelatorSettings& sites() {
  static const CorrelatorSettings loaded = [] {
    Diagnostics diagnostics;
    auto parsed = parse_correlator_settings(kSitesYaml, "fuzz.yaml", diagnostics);
    if (!parsed) {
      std::fprintf(stderr, "%s\n", diagnostics.render().c_str());
      std::abort();
    }
    return std::move(*parsed);
  }();
  return loaded;
}

}  // namespace vtrace::fuzz
