// The direct SMTP tracker through the correlator: firewall lines in, direct_smtp incidents out.
#include <catch2/catch.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "support/correlator_harness.hpp"

using namespace vtrace;
using vtrace::testing::Harness;

namespace {

const std::string kSites = R"(
sources:
  - name: gw1
    hostnames: [gw1]
    addresses: [192.0.2.25]
  - name: relay1
    hostnames: [relay1]
    addresses: [10.1.0.25]
    role: relay
  - name: fw1
    hostnames: [fw1]
    role: firewall
networks:
  internal:
    - name: campus
      cidrs: [10.0.0.0/8]
    - name: lab
      cidrs: [10.99.0.0/16]
)";

const std::string kDirectSmtp = R"(direct_smtp:
  threshold:
    connections: 20
    destinations: 5
    within: 10m
  quiet: 30m
  allowed_senders: [10.1.0.30]
  zones: [campus]
)";

// A UFW block of `from`'s SYN to port 25 of 198.51.100.(dest) at 10:mm:ss on `firewall`.
std::string syn(const std::string& firewall, const std::string& from, int dest, int port,
                int minute, int second, int dport = 25) {
  char text[512];
  std::snprintf(text, sizeof text,
                "Dec  7 10:%02d:%02d %s kernel: [UFW BLOCK] IN=eth1 OUT=eth0 SRC=%s "
                "DST=198.51.100.%d LEN=60 TOS=0x00 PREC=0x00 TTL=63 ID=1 DF PROTO=TCP SPT=%d "
                "DPT=%d WINDOW=64240 RES=0x00 SYN URGP=0",
                minute, second, firewall.c_str(), from.c_str(), dest, port, dport);
  return text;
}

// `count` attempts by `from`, one every 5 seconds from 10:(minute):00, to `destinations`
// addresses in turn, each from a new source port.
std::vector<std::string> burst(const std::string& from, int count, int destinations, int minute = 0,
                               const std::string& firewall = "fw1") {
  std::vector<std::string> lines;
  for (int i = 0; i < count; ++i) {
    const int at = minute * 60 + i * 5;
    lines.push_back(
        syn(firewall, from, 1 + i % destinations, 40000 + minute * 100 + i, at / 60, at % 60));
  }
  return lines;
}

std::vector<Incident> direct(const std::vector<Incident>& incidents) {
  std::vector<Incident> out;
  for (const auto& in : incidents) {
    if (in.kind == IncidentKind::kDirectSmtp) out.push_back(in);
  }
  return out;
}

}  // namespace

TEST_CASE("a PC crossing the threshold is one exact direct_smtp incident naming the firewall",
          "[direct-smtp]") {
  Harness h(kSites + kDirectSmtp);
  h.feed(burst("10.20.1.45", 25, 10));
  const auto incidents = direct(h.finish());
  REQUIRE(incidents.size() == 2);  // the crossing, then the burst's last counts
  const Incident& first = incidents.front();
  CHECK(first.revision == 1);
  CHECK(first.detector_host == "fw1");
  CHECK(first.detector_format == "netfilter");
  CHECK(first.confidence == Confidence::kExact);
  REQUIRE(first.origin);
  CHECK(first.origin->ip == "10.20.1.45");
  CHECK(first.origin->internal);
  CHECK(first.origin->zone == "campus");
  CHECK(first.action == "blocked");
  CHECK(first.detected_at == make_utc(2026, 12, 7, 10, 1, 35));  // the 20th attempt
  REQUIRE(first.direct_smtp);
  CHECK(first.direct_smtp->connections == 20);
  CHECK(first.direct_smtp->destinations == 10);
  CHECK(first.direct_smtp->blocked == 20);
  CHECK(first.direct_smtp->first_seen == make_utc(2026, 12, 7, 10, 0, 0));
  REQUIRE(first.hops.size() == 1);
  CHECK(first.hops[0].client_ip == "10.20.1.45");
  CHECK(first.hops[0].link == HopLink::kDirect);
  CHECK(first.evidence.size() == 1);
  CHECK(first.evidence[0].find("SRC=10.20.1.45") != std::string::npos);
  const Incident& last = incidents.back();
  CHECK(last.id == first.id);
  CHECK(last.revision == 2);
  CHECK(last.direct_smtp->connections == 25);
  CHECK(last.direct_smtp->last_seen == make_utc(2026, 12, 7, 10, 2, 0));
  CHECK(last.evidence.size() == DirectSmtpTracker::kEvidenceLines);
  // It parses back as the responder reads it.
  std::string problem;
  CHECK(incident_from_json(to_json(last), &problem));
  CHECK(problem.empty());
}

TEST_CASE("retransmitted SYNs are counted once", "[direct-smtp]") {
  Harness h(kSites + kDirectSmtp);
  std::vector<std::string> lines;
  for (int i = 0; i < 15; ++i) {
    for (int retry = 0; retry < 3; ++retry) {
      lines.push_back(syn("fw1", "10.20.1.46", 1 + i, 41000 + i, 0, i * 3 + retry));
    }
  }
  h.feed(lines);
  CHECK(direct(h.finish()).empty());
  CHECK(h.correlator().direct_smtp_stats().retransmissions == 30);
}

TEST_CASE("one source port to other ports of a host is other attempts, not retransmissions",
          "[direct-smtp]") {
  // A scanner's layout (one source port, many destination ports), to the SMTP ports watched.
  Harness h(kSites + R"(direct_smtp:
  ports: [25, 465, 587]
  threshold: {connections: 3, destinations: 1, within: 10m}
)");
  h.feed({syn("fw1", "10.20.1.49", 1, 52220, 0, 0, 25),
          syn("fw1", "10.20.1.49", 1, 52220, 0, 1, 465),
          syn("fw1", "10.20.1.49", 1, 52220, 0, 2, 587)});
  const auto incidents = direct(h.finish());
  REQUIRE_FALSE(incidents.empty());
  CHECK(incidents.back().direct_smtp->connections == 3);
  CHECK(h.correlator().direct_smtp_stats().retransmissions == 0);
}

TEST_CASE("no incident for hosts under the threshold, exempt, external or unwatched",
          "[direct-smtp]") {
  Harness h(kSites + kDirectSmtp);
  h.feed(burst("10.20.1.47", 19, 19));   // one short of the connections
  h.feed(burst("10.20.1.48", 40, 4));    // many connections, too few destinations
  h.feed(burst("10.1.0.25", 40, 40));    // relay1, a mail source
  h.feed(burst("10.1.0.30", 40, 40));    // an allowed sender
  h.feed(burst("203.0.113.9", 40, 40));  // an outside host
  h.feed(burst("10.99.0.7", 40, 40));    // a zone not watched
  std::vector<std::string> submission;   // a PC using its provider's port 587
  for (int i = 0; i < 40; ++i)
    submission.push_back(syn("fw1", "10.20.1.49", 1 + i, 42000 + i, 3, i, 587));
  h.feed(submission);
  CHECK(direct(h.finish()).empty());
  const auto& stats = h.correlator().direct_smtp_stats();
  CHECK(stats.exempt == 80);
  CHECK(stats.not_watched == 80);
  CHECK(stats.other_ports == 40);
}

TEST_CASE("firewall lines from an unknown host or a mail source change nothing", "[direct-smtp]") {
  Harness h(kSites + kDirectSmtp);
  h.feed(burst("10.20.1.50", 40, 40, 0, "fw9"));     // not a configured source
  h.feed(burst("10.20.1.51", 40, 40, 0, "relay1"));  // a relay's own packet log
  CHECK(direct(h.finish()).empty());
  CHECK(h.correlator().stats().untrusted == 40);
  CHECK(h.correlator().direct_smtp_stats().not_firewall == 40);
}

TEST_CASE("nothing is tracked without a direct_smtp section", "[direct-smtp]") {
  Harness h(kSites);
  h.feed(burst("10.20.1.45", 40, 40));
  CHECK(direct(h.finish()).empty());
  CHECK(h.correlator().stats().records_by_format.at("netfilter") == 40);
}

TEST_CASE("a burst after the quiet period is a new incident, a continued one a revision",
          "[direct-smtp]") {
  Harness h(kSites + kDirectSmtp);
  h.feed(burst("10.20.1.45", 20, 20, 0));
  h.feed(burst("10.20.1.45", 20, 20, 5));   // 5 minutes on: the same burst
  h.feed(burst("10.20.1.45", 20, 20, 50));  // after 30 minutes of quiet: a new one
  const auto incidents = direct(h.finish());
  REQUIRE(incidents.size() >= 3);
  CHECK(incidents[0].revision == 1);
  CHECK(incidents[1].id == incidents[0].id);
  CHECK(incidents[1].revision > 1);
  const Incident& later = incidents.back();
  CHECK(later.id != incidents[0].id);
  CHECK(later.revision == 1);
  CHECK(later.direct_smtp->connections == 20);
  std::int64_t first_burst = 0;
  for (const auto& in : incidents) {
    if (in.id == incidents[0].id) first_burst = in.direct_smtp->connections;
  }
  CHECK(first_burst == 40);
}

TEST_CASE("a wall clock ahead of the logs gives the incidents that replay gives", "[direct-smtp]") {
  const auto lines = burst("10.20.1.45", 60, 30);
  Harness replay(kSites + kDirectSmtp);
  replay.feed(lines);
  Harness live(kSites + kDirectSmtp);
  for (const auto& line : lines) {
    live.feed({line});
    live.correlator().advance(make_utc(2026, 12, 7, 12, 0, 0));  // two hours ahead
  }
  const auto a = direct(replay.finish());
  const auto b = direct(live.finish());
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(to_json(a[i]) == to_json(b[i]));
}

TEST_CASE("the hosts tracked are bounded and the forgotten ones counted", "[direct-smtp]") {
  Harness h(kSites + kDirectSmtp + "  max_hosts: 2\n");
  for (int host = 1; host <= 5; ++host) {
    h.feed({syn("fw1", "10.20.2." + std::to_string(host), 1, 40000, 0, host)});
  }
  CHECK(h.correlator().direct_smtp_stats().hosts_dropped == 3);
}

TEST_CASE("a quiet burst sends its last counts on firewall lines alone, before the input ends",
          "[direct-smtp]") {
  Harness h(kSites + kDirectSmtp);
  h.feed(burst("10.20.1.45", 25, 25, 0));
  REQUIRE(direct(h.incidents()).size() == 1);
  // Another host's line 40 minutes later: the first burst has been quiet for 30 minutes.
  h.feed({syn("fw1", "10.20.1.60", 1, 40000, 45, 0)});
  const auto incidents = direct(h.incidents());
  REQUIRE(incidents.size() == 2);
  CHECK(incidents[1].revision == 2);
  CHECK(incidents[1].direct_smtp->connections == 25);
}

TEST_CASE("a firewall log running behind does not hold virus-mail detections",
          "[direct-smtp][live]") {
  // fw1's busy log reaches the collector a minute late but steadily. Its lines never join a
  // mail trace, so gw1's id-less detection settles on the mail sources alone.
  Harness h(kSites + kDirectSmtp);
  auto feed_at = [&h](const std::string& line, int logged, int now) {
    h.feed({line}, vtrace::seconds(now - logged));
  };
  // Seconds after 10:00:00.
  feed_at("Dec  7 10:00:00 relay1 postfix/smtpd[9]: 2222222222: client=pc9[10.1.9.9]", 0, 0);
  feed_at("Dec  7 10:00:01 gw1 postfix/smtpd[1]: 1111111111: client=pc45[10.1.23.45]", 1, 1);
  feed_at(
      "Dec  7 10:00:01 gw1 postfix/qmgr[2]: 1111111111: from=<a@example.org>, size=1, "
      "nrcpt=1 (queue active)",
      1, 1);
  feed_at(
      "Dec  7 10:00:02 gw1 postfix/smtp[4]: 1111111111: to=<kato@example.ac.jp>, "
      "relay=mx[198.51.100.1]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 ok)",
      2, 2);
  feed_at(
      "Dec  7 10:00:02 gw1 clamav-milter[3]: Message from <a@example.org> to "
      "<kato@example.ac.jp> infected by Worm.A",
      2, 2);
  for (int now = 3; now <= 20; ++now) {
    // fw1 logged this at 09:59:<now>, a minute before the collector's clock.
    char fw[256];
    std::snprintf(fw, sizeof fw,
                  "Dec  7 09:59:%02d fw1 kernel: [UFW BLOCK] IN=eth1 OUT=eth0 SRC=10.1.7.7 "
                  "DST=198.51.100.1 LEN=60 TOS=0x00 PREC=0x00 TTL=63 ID=1 DF PROTO=TCP SPT=%d "
                  "DPT=443 WINDOW=64240 RES=0x00 SYN URGP=0",
                  now, 41000 + now);
    feed_at(fw, now - 60, now);
    if (now % 4 == 0) {
      char gw[160];
      std::snprintf(
          gw, sizeof gw,
          "Dec  7 10:00:%02d gw1 postfix/smtpd[1]: 33333333%02d: client=ext[198.51.100.9]", now,
          now);
      feed_at(gw, now, now);
    }
  }
  std::size_t virus_mail = 0;
  for (const auto& in : h.incidents()) virus_mail += in.kind == IncidentKind::kVirusMail;
  CHECK(virus_mail == 1);
}
