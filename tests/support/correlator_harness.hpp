// Test harness: a correlator over inline YAML, fed inline log lines, collecting incidents.
#pragma once

#include <catch2/catch.hpp>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "common/incident.hpp"
#include "module/input/syslog_envelope.hpp"
#include "module/settings.hpp"
#include "module/trace/correlator.hpp"

namespace vtrace::testing {

class RecordingSink final : public IncidentSink {
 public:
  void deliver(const Incident& incident) override { incidents.push_back(incident); }
  std::vector<Incident> incidents;
};

// The sources of a small campus: relays 10.1.0.25 (postfix), 10.1.0.26 (sendmail),
// 10.20.0.5 (exim) and gateways 192.0.2.25 / 192.0.2.26.
inline const char* kCampusYaml = R"(
sources:
  - name: gw1
    hostnames: [gw1, gw1.example.ac.jp]
    addresses: [192.0.2.25]
    role: gateway
  - name: gw2
    hostnames: [gw2]
    addresses: [192.0.2.26]
  - name: relay1
    hostnames: [relay1, relay1.campus.example.ac.jp]
    addresses: [10.1.0.25]
    role: relay
  - name: relay2
    hostnames: [relay2]
    addresses: [10.1.0.26]
    role: relay
  - name: relay3
    hostnames: [relay3]
    addresses: [10.20.0.5]
    role: relay
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
)";

class Harness {
 public:
  explicit Harness(const std::string& yaml = kCampusYaml) {
    Diagnostics diagnostics;
    auto loaded = parse_correlator_settings(yaml, "test.yaml", diagnostics);
    INFO(diagnostics.render());
    REQUIRE(loaded);
    settings_ = std::move(*loaded);
    correlator_ = std::make_unique<Correlator>(settings_, sink_, "UTC");
  }

  // Feeds syslog lines (any envelope) in the given order, trusting them by hostname. `behind`:
  // how far the clock advance() is given runs ahead of the lines, as live after a backlog.
  Harness& feed(const std::vector<std::string>& lines, Duration behind = 0) {
    for (const auto& l : lines) {
      storage_.push_back(l);
      LogLine line;
      REQUIRE(decoder_.decode(storage_.back(), line));
      correlator_->ingest_untrusted(line);
      correlator_->advance(line.time + behind);
    }
    return *this;
  }

  // Feeds raw lines (ISVW) attributed to a named source.
  Harness& feed_as(const std::string& source, const std::vector<std::string>& lines) {
    const auto index = correlator_->topology().by_name(source);
    REQUIRE(index);
    for (const auto& l : lines) {
      storage_.push_back(l);
      LogLine line;
      line.raw = line.message = storage_.back();
      line.program = "isvw";
      correlator_->ingest(*index, line);
    }
    return *this;
  }

  const std::vector<Incident>& finish() {
    correlator_->finish();
    return sink_.incidents;
  }
  Correlator& correlator() { return *correlator_; }
  const std::vector<Incident>& incidents() const { return sink_.incidents; }

 private:
  CorrelatorSettings settings_;
  RecordingSink sink_;
  std::unique_ptr<Correlator> correlator_;
  SyslogEnvelopeDecoder decoder_{2026, "UTC", 0};
  std::deque<std::string> storage_;
};

}  // namespace vtrace::testing
