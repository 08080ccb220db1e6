// Multi-host traces through the whole correlator: exact chains through postfix, sendmail and
// exim relays, fuzzy ISVW matching, queue-id reuse, ambiguity, bounces and forged sources.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "support/correlator_harness.hpp"

using vtrace::Confidence;
using vtrace::HopLink;
using vtrace::Incident;
using vtrace::testing::Harness;

namespace {

// A PC (10.1.23.45) sends through relay1 (postfix) to gw1 (postfix + clamav-milter Full).
const std::vector<std::string> kPostfixRelayChain = {
    "Nov 28 05:00:05 relay1 postfix/smtpd[1180]: 1345D2CCE8: "
    "client=pc45.campus.example.ac.jp[10.1.23.45]",
    "Nov 28 05:00:05 relay1 postfix/cleanup[1181]: 1345D2CCE8: message-id=<worm1@mail.example.org>",
    "Nov 28 05:00:05 relay1 postfix/qmgr[1189]: 1345D2CCE8: from=<billing@mail.example.org>, "
    "size=77984, nrcpt=1 (queue active)",
    "Nov 28 05:00:06 relay1 postfix/smtp[1285]: 1345D2CCE8: to=<kato@example.ac.jp>, "
    "relay=gw1.example.ac.jp[192.0.2.25]:25, delay=0.52, delays=0.06/0.01/0.21/0.24, dsn=2.0.0, "
    "status=sent (250 2.0.0 Ok: queued as A39D5E08539)",
    "2026-11-28T05:00:06.100000+00:00 gw1 postfix/smtpd[29377]: A39D5E08539: "
    "client=relay1.campus.example.ac.jp[10.1.0.25]",
    "2026-11-28T05:00:06.140000+00:00 gw1 postfix/cleanup[29402]: A39D5E08539: "
    "message-id=<worm1@mail.example.org>",
    "2026-11-28T05:00:06.400000+00:00 gw1 clamav-milter[777]: Message A39D5E08539 from "
    "<billing@mail.example.org> to <kato@example.ac.jp> with subject 'Re: document' message-id "
    "'<worm1@mail.example.org>' date 'Sat, 28 Nov 2026 05:00:06 +0000' infected by "
    "Win.Worm.Mydoom-1",
    "2026-11-28T05:00:06.410000+00:00 gw1 postfix/cleanup[29402]: A39D5E08539: milter-reject: "
    "END-OF-MESSAGE from relay1.campus.example.ac.jp[10.1.0.25]: 5.7.1 Virus Win.Worm.Mydoom-1 "
    "detected by gateway; from=<billing@mail.example.org> to=<kato@example.ac.jp> proto=ESMTP "
    "helo=<relay1.campus.example.ac.jp>",
};

}  // namespace

TEST_CASE("a worm mail through a postfix relay is traced exactly to the sending PC", "[trace]") {
  Harness h;
  const auto& incidents = h.feed(kPostfixRelayChain).finish();
  REQUIRE(incidents.size() == 1);
  const Incident& in = incidents.front();
  CHECK(in.confidence == Confidence::kExact);
  CHECK(in.detector_host == "gw1");
  CHECK(in.virus == "Win.Worm.Mydoom-1");
  CHECK(in.action == "rejected");
  CHECK(in.queue_id == "A39D5E08539");
  CHECK(in.message_id == "worm1@mail.example.org");
  CHECK(in.envelope_from == "billing@mail.example.org");
  CHECK(in.envelope_to == std::vector<std::string>{"kato@example.ac.jp"});
  REQUIRE(in.hops.size() == 2);
  CHECK(in.hops[0].host == "gw1");
  CHECK(in.hops[0].client_ip == "10.1.0.25");
  CHECK(in.hops[0].link == HopLink::kQueueId);
  CHECK(in.hops[1].host == "relay1");
  CHECK(in.hops[1].queue_id == "1345D2CCE8");
  CHECK(in.hops[1].link == HopLink::kNextHopQueueId);
  REQUIRE(in.origin);
  CHECK(in.origin->ip == "10.1.23.45");
  CHECK(in.origin->name == "pc45.campus.example.ac.jp");
  CHECK(in.origin->internal);
  CHECK(in.origin->zone == "campus");
  CHECK(in.evidence.size() == 2);  // the clamav-milter line and postfix's milter-reject
}

TEST_CASE("the antivirus line arriving before the MTA lines still traces exactly", "[trace]") {
  auto lines = kPostfixRelayChain;
  // The gateway's detection first, then the relay's log, then the gateway's own MTA lines.
  std::vector<std::string> reordered = {lines[6], lines[7], lines[0], lines[1],
                                        lines[2], lines[3], lines[4], lines[5]};
  Harness h;
  const auto& incidents = h.feed(reordered).finish();
  REQUIRE(incidents.size() == 1);
  CHECK(incidents[0].confidence == Confidence::kExact);
  REQUIRE(incidents[0].origin);
  CHECK(incidents[0].origin->ip == "10.1.23.45");
}

TEST_CASE("a sendmail relay's Message accepted id links to the sendmail gateway", "[trace]") {
  Harness h;
  const auto& incidents =
      h
          .feed({
              "Nov 28 05:00:01 relay2 sendmail[1104]: 6AS503TO001068: from=<admin@example.net>, "
              "size=86439, class=0, nrcpts=1, msgid=<yjchdmio.2@example.net>, proto=ESMTP, "
              "daemon=MTA, relay=pc176.campus.example.ac.jp [10.1.138.188] (may be forged)",
              "Nov 28 05:00:02 relay2 sendmail[1144]: 6AS503TO001068: to=<ito@example.ac.jp>, "
              "delay=00:00:01, xdelay=00:00:01, mailer=esmtp, pri=116439, relay=gw2.example.ac.jp. "
              "[192.0.2.26], dsn=2.0.0, stat=Sent (6AS504Kr001108 Message accepted for delivery)",
              "Nov 28 05:00:04 gw2 sendmail[1123]: 6AS504Kr001108: from=<admin@example.net>, "
              "size=86439, class=0, nrcpts=1, msgid=<yjchdmio.2@example.net>, proto=ESMTP, "
              "daemon=MTA, relay=relay2.campus.example.ac.jp [10.1.0.26]",
              "Nov 28 05:00:04 gw2 sendmail[1123]: 6AS504Kr001108: Milter add: header: "
              "X-Virus-Status: Infected (Worm.Mydoom.M)",
          })
          .finish();
  REQUIRE(incidents.size() == 1);
  CHECK(incidents[0].confidence == Confidence::kExact);
  CHECK(incidents[0].virus == "Worm.Mydoom.M");
  REQUIRE(incidents[0].hops.size() == 2);
  CHECK(incidents[0].hops[1].link == HopLink::kNextHopQueueId);
  REQUIRE(incidents[0].origin);
  // "(may be forged)" concerns the name only: the bracketed address is the client.
  CHECK(incidents[0].origin->ip == "10.1.138.188");
}

TEST_CASE("three hops: exim relay, postfix relay, gateway, linked by id and message-id",
          "[trace]") {
  Harness h;
  const auto& incidents =
      h
          .feed({
              "Nov 28 05:00:47 relay3 exim[28792]: 2026-11-28 05:00:47 eORPzv-6vGwJc-JB <= "
              "admin@mail.example.org H=pc73.dept.example.ac.jp [10.20.1.90] P=esmtp S=65309 "
              "id=dapveove.243@mail.example.org",
              "Nov 28 05:00:48 relay3 exim[28820]: 2026-11-28 05:00:48 eORPzv-6vGwJc-JB => "
              "ito@example.ac.jp R=smarthost T=remote_smtp H=relay1.campus.example.ac.jp "
              "[10.1.0.25] C=\"250 2.0.0 Ok: queued as 0E16931F90D\"",
              "Nov 28 05:00:48 relay3 exim[28841]: 2026-11-28 05:00:48 eORPzv-6vGwJc-JB Completed",
              "Nov 28 05:00:48 relay1 postfix/smtpd[1]: 0E16931F90D: "
              "client=relay3.dept.example.ac.jp[10.20.0.5]",
              "Nov 28 05:00:48 relay1 postfix/cleanup[2]: 0E16931F90D: "
              "message-id=<dapveove.243@mail.example.org>",
              "Nov 28 05:00:48 relay1 postfix/qmgr[3]: 0E16931F90D: from=<admin@mail.example.org>, "
              "size=65309, nrcpt=1 (queue active)",
              "Nov 28 05:00:49 relay1 postfix/smtp[4]: 0E16931F90D: to=<ito@example.ac.jp>, "
              "relay=gw1.example.ac.jp[192.0.2.25]:25, delay=0.52, delays=0.06/0.01/0.21/0.24, "
              "dsn=5.7.1, status=bounced (host gw1.example.ac.jp[192.0.2.25] said: 550 5.7.1 Virus "
              "Win.Worm.Lovgate-3 detected by gateway (in reply to end of DATA command))",
              "2026-11-28T05:00:48.500000+00:00 gw1 postfix/smtpd[5]: 942846D2971: "
              "client=relay1.campus.example.ac.jp[10.1.0.25]",
              "2026-11-28T05:00:48.540000+00:00 gw1 postfix/cleanup[6]: 942846D2971: "
              "message-id=<dapveove.243@mail.example.org>",
              "2026-11-28T05:00:48.577164+00:00 gw1 clamav-milter[777]: Message 942846D2971 from "
              "<admin@mail.example.org> to <ito@example.ac.jp> with subject 'hello' message-id "
              "'<dapveove.243@mail.example.org>' date 'Sat, 28 Nov 2026 05:00:48 +0000' infected "
              "by Win.Worm.Lovgate-3",
          })
          .finish();
  // relay1's "bounced ... Virus" line echoes gw1's detection: one incident, not two.
  REQUIRE(incidents.size() == 1);
  CHECK(h.correlator().stats().echoes_suppressed == 1);
  const Incident& in = incidents[0];
  CHECK(in.confidence == Confidence::kExact);
  REQUIRE(in.hops.size() == 3);
  CHECK(in.hops[0].host == "gw1");
  CHECK(in.hops[1].host == "relay1");
  CHECK(in.hops[1].link == HopLink::kMessageId);  // a rejected delivery names no next id
  CHECK(in.hops[2].host == "relay3");
  CHECK(in.hops[2].queue_id == "eORPzv-6vGwJc-JB");
  CHECK(in.hops[2].link == HopLink::kNextHopQueueId);
  REQUIRE(in.origin);
  CHECK(in.origin->ip == "10.20.1.90");
  CHECK(in.origin->zone == "dept");  // the more specific network wins
}

TEST_CASE("a relay's virus bounce is its own incident when the refusing host logs nothing",
          "[trace]") {
  Harness h;
  const auto& incidents =
      h.feed({
                 "Nov 28 05:00:48 relay1 postfix/smtpd[1]: 0E16931F90D: "
                 "client=pc9.campus.example.ac.jp[10.1.9.9]",
                 "Nov 28 05:00:48 relay1 postfix/qmgr[3]: 0E16931F90D: from=<a@example.org>, "
                 "size=65309, nrcpt=1 (queue active)",
                 "Nov 28 05:00:49 relay1 postfix/smtp[4]: 0E16931F90D: to=<ito@example.ac.jp>, "
                 "relay=gw1.example.ac.jp[192.0.2.25]:25, delay=0.52, delays=0.06/0.01/0.21/0.24, "
                 "dsn=5.7.1, status=bounced (host gw1.example.ac.jp[192.0.2.25] said: 550 5.7.1 "
                 "Virus Win.Worm.Lovgate-3 detected by gateway (in reply to end of DATA command))",
             })
          .finish();
  REQUIRE(incidents.size() == 1);
  CHECK(incidents[0].detector_host == "relay1");
  CHECK(incidents[0].action == "bounced");
  REQUIRE(incidents[0].origin);
  CHECK(incidents[0].origin->ip == "10.1.9.9");
}

TEST_CASE("a reused postfix queue id resolves to the message current at detection time",
          "[trace]") {
  Harness h;
  const auto& incidents =
      h.feed({
                 "2026-11-28T04:49:28.011204+00:00 gw1 postfix/smtpd[1]: CC3EDD409E3: "
                 "client=unknown[203.0.113.172]",
                 "2026-11-28T04:49:28.071204+00:00 gw1 postfix/qmgr[2]: CC3EDD409E3: "
                 "from=<support@example.com>, size=78670, nrcpt=1 (queue active)",
                 "2026-11-28T04:49:29.423957+00:00 gw1 postfix/smtp[3]: CC3EDD409E3: "
                 "to=<sato@example.ac.jp>, relay=mailhost.campus.example.ac.jp[10.1.0.80]:25, "
                 "delay=0.3, delays=0.1/0/0.1/0.1, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as "
                 "1B4EE805B6B)",
                 "2026-11-28T04:49:29.500000+00:00 gw1 postfix/qmgr[2]: CC3EDD409E3: removed",
                 "2026-11-28T05:01:29.051442+00:00 gw1 postfix/smtpd[4]: CC3EDD409E3: "
                 "client=unknown[198.51.100.7]",
                 "2026-11-28T05:01:29.351442+00:00 gw1 clamav-milter[777]: Message CC3EDD409E3 "
                 "from <admin@example.ac.jp> to <ito@example.ac.jp> with subject 'hello' "
                 "message-id '<q@x>' date 'x' infected by Win.Worm.Netsky-71",
             })
          .finish();
  REQUIRE(incidents.size() == 1);
  CHECK(incidents[0].confidence == Confidence::kExact);
  REQUIRE(incidents[0].origin);
  CHECK(incidents[0].origin->ip == "198.51.100.7");
  CHECK_FALSE(incidents[0].origin->internal);
}

namespace {
std::vector<std::string> isvw_record(const std::string& date, const std::string& from,
                                     const std::string& to, const std::string& file,
                                     const std::string& virus) {
  return {"Date: " + date, "Method: SMTP",    "From: " + from,   "To: <" + to + ">",
          "File: " + file, "Action: deleted", "Virus: " + virus, ""};
}
}  // namespace

TEST_CASE("an ISVW detection without ids is matched by envelope within the clock skew",
          "[trace][isvw]") {
  Harness h;
  h.feed({
      "Nov 28 05:00:55 relay2 sendmail[1]: 6AS50vhj028911: from=<info@example.net>, size=70518, "
      "class=0, nrcpts=1, msgid=<j.244@example.net>, proto=ESMTP, daemon=MTA, "
      "relay=pc257.campus.example.ac.jp [10.1.36.108]",
      "Nov 28 05:00:56 relay2 sendmail[2]: 6AS50vhj028911: to=<suzuki@example.ac.jp>, "
      "delay=00:00:01, xdelay=00:00:01, mailer=esmtp, pri=100518, relay=gw2.example.ac.jp. "
      "[192.0.2.26], dsn=2.0.0, stat=Sent (6AS50wTQ028968 Message accepted for delivery)",
      "Nov 28 05:00:58 gw2 sendmail[3]: 6AS50wTQ028968: from=<info@example.net>, size=70518, "
      "class=0, nrcpts=1, msgid=<j.244@example.net>, proto=ESMTP, daemon=MTA, "
      "relay=relay2.campus.example.ac.jp [10.1.0.26]",
      "Nov 28 05:01:30 gw2 sendmail[4]: 6AS51aaa030000: from=<info@example.net>, size=1, class=0, "
      "nrcpts=1, msgid=<other@example.net>, proto=ESMTP, daemon=MTA, relay=[198.51.100.9]",
  });
  h.feed_as("gw2", isvw_record("11/28/26 05:01:01", "info@example.net", "suzuki@example.ac.jp",
                               "photo.exe", "WORM_LOVGATE.F"));
  const auto& incidents = h.finish();
  REQUIRE(incidents.size() == 1);
  const Incident& in = incidents[0];
  CHECK(in.detector_format == "isvw");
  CHECK(in.confidence == Confidence::kFuzzy);
  CHECK(in.files == std::vector<std::string>{"photo.exe"});
  CHECK(in.action == "deleted");
  REQUIRE(in.hops.size() == 2);
  CHECK(in.hops[0].link == HopLink::kEnvelope);
  CHECK(in.hops[1].link == HopLink::kNextHopQueueId);
  REQUIRE(in.origin);
  CHECK(in.origin->ip == "10.1.36.108");
}

TEST_CASE("an identical ISVW record of the same second read late is a mail of its own",
          "[trace][isvw]") {
  // The worm sent the same envelope twice in one second; the second record reaches the
  // correlator after gw2 has logged 24 s further (imfile lagging, or reading the file again
  // after a restart). It keeps its own number, and so its own incident id.
  Harness h;
  h.feed({
      "Nov 28 05:00:58 gw2 sendmail[3]: 6AS50wTQ028968: from=<info@example.net>, size=70518, "
      "class=0, nrcpts=1, msgid=<j.244@example.net>, proto=ESMTP, daemon=MTA, "
      "relay=relay2.campus.example.ac.jp [10.1.0.26]",
      "Nov 28 05:00:59 gw2 sendmail[4]: 6AS50wTQ028969: from=<info@example.net>, size=70518, "
      "class=0, nrcpts=1, msgid=<j.245@example.net>, proto=ESMTP, daemon=MTA, "
      "relay=relay2.campus.example.ac.jp [10.1.0.26]",
  });
  const auto record = isvw_record("11/28/26 05:01:01", "info@example.net", "suzuki@example.ac.jp",
                                  "photo.exe", "WORM_LOVGATE.F");
  h.feed_as("gw2", record);
  h.feed(
      {"Nov 28 05:01:25 gw2 sendmail[5]: 6AS51aaa030000: from=<a@example.org>, size=1, "
       "class=0, nrcpts=1, msgid=<b@example.org>, proto=ESMTP, daemon=MTA, "
       "relay=[198.51.100.9]"});
  h.feed_as("gw2", record);
  const auto& incidents = h.finish();
  REQUIRE(incidents.size() == 2);
  CHECK(incidents[0].id != incidents[1].id);
  CHECK(h.correlator().stats().detections_merged == 0);
}

TEST_CASE("an ISVW detection outside the clock skew of every message yields no incident",
          "[trace][isvw]") {
  Harness h;
  h.feed(
      {"Nov 28 05:00:40 gw2 sendmail[3]: 6AS50wTQ028968: from=<info@example.net>, size=70518, "
       "class=0, nrcpts=1, proto=ESMTP, daemon=MTA, relay=[198.51.100.5]"});
  h.feed_as("gw2", isvw_record("11/28/26 05:01:01", "info@example.net", "suzuki@example.ac.jp",
                               "photo.exe", "WORM_LOVGATE.F"));
  CHECK(h.finish().empty());
  CHECK(h.correlator().stats().uncorroborated == 1);
}

TEST_CASE("same-envelope candidates from different PCs make the incident ambiguous, no origin",
          "[trace][isvw]") {
  Harness h;
  h.feed({
      "Nov 28 05:20:01 gw2 sendmail[1]: 6AS5K1aa000001: from=<support@example.com>, size=1, "
      "class=0, nrcpts=1, proto=ESMTP, daemon=MTA, relay=[198.51.100.1]",
      "Nov 28 05:20:02 gw2 sendmail[2]: 6AS5K2bb000002: from=<support@example.com>, size=1, "
      "class=0, nrcpts=1, proto=ESMTP, daemon=MTA, relay=[198.51.100.2]",
  });
  h.feed_as("gw2", isvw_record("11/28/26 05:20:02", "support@example.com", "office@example.ac.jp",
                               "photo.exe", "WORM_NETSKY.P"));
  const auto& incidents = h.finish();
  REQUIRE(incidents.size() == 1);
  CHECK(incidents[0].confidence == Confidence::kAmbiguous);
  CHECK_FALSE(incidents[0].origin);
  REQUIRE(incidents[0].candidates.size() == 2);
  CHECK(incidents[0].candidates[0].origin_ip != incidents[0].candidates[1].origin_ip);
}

TEST_CASE("same-envelope candidates that all come from one PC name that PC", "[trace][isvw]") {
  Harness h;
  h.feed({
      "Nov 28 05:20:01 gw2 sendmail[1]: 6AS5K1aa000001: from=<support@example.com>, size=1, "
      "class=0, nrcpts=1, proto=ESMTP, daemon=MTA, relay=pc7 [10.1.242.32]",
      "Nov 28 05:20:02 gw2 sendmail[2]: 6AS5K2bb000002: from=<support@example.com>, size=1, "
      "class=0, nrcpts=1, proto=ESMTP, daemon=MTA, relay=pc7 [10.1.242.32]",
  });
  h.feed_as("gw2", isvw_record("11/28/26 05:20:02", "support@example.com", "office@example.ac.jp",
                               "photo.exe", "WORM_NETSKY.P"));
  const auto& incidents = h.finish();
  REQUIRE(incidents.size() == 1);
  CHECK(incidents[0].confidence == Confidence::kFuzzy);
  REQUIRE(incidents[0].origin);
  CHECK(incidents[0].origin->ip == "10.1.242.32");
  CHECK(incidents[0].candidates.size() == 2);
  // Two messages matched: neither is named as the one the detection was about.
  CHECK(incidents[0].queue_id.empty());
}

TEST_CASE("identical ISVW records in one second are distinct detections with distinct ids",
          "[trace][isvw]") {
  Harness h;
  h.feed(
      {"Nov 28 05:20:07 gw2 sendmail[1]: 6AS5K7aa000001: from=<support@example.com>, size=1, "
       "class=0, nrcpts=1, proto=ESMTP, daemon=MTA, relay=pc7 [10.1.242.32]"});
  auto record = isvw_record("11/28/26 05:20:07", "support@example.com", "office@example.ac.jp",
                            "photo.exe", "WORM_NETSKY.P");
  h.feed_as("gw2", record).feed_as("gw2", record);
  const auto& incidents = h.finish();
  REQUIRE(incidents.size() == 2);
  CHECK(incidents[0].id != incidents[1].id);
}

TEST_CASE("a virus in a bounce the relay generated traces through the bounce to the sender",
          "[trace]") {
  Harness h;
  const auto& incidents =
      h.feed({
                 "Jan 13 21:10:20 relay1 postfix/smtpd[1]: A0A669262EC: "
                 "client=pc5.campus.example.ac.jp[10.1.5.5]",
                 "Jan 13 21:10:20 relay1 postfix/qmgr[2]: A0A669262EC: from=<forged@example.com>, "
                 "size=1121, nrcpt=1 (queue active)",
                 "Jan 13 21:10:24 relay1 postfix/smtp[3]: A0A669262EC: to=<nobody@example.ac.jp>, "
                 "relay=mx[192.0.2.99]:25, delay=1, delays=0/0/0/1, dsn=5.1.1, status=bounced "
                 "(host mx said: 550 5.1.1 unknown user)",
                 "Jan 13 21:10:24 relay1 postfix/bounce[4]: A0A669262EC: sender non-delivery "
                 "notification: B8FFB9262F0",
                 "Jan 13 21:10:24 relay1 postfix/qmgr[2]: B8FFB9262F0: from=<>, size=3000, nrcpt=1 "
                 "(queue active)",
                 "Jan 13 21:10:25 relay1 postfix/smtp[5]: B8FFB9262F0: to=<forged@example.com>, "
                 "relay=gw1.example.ac.jp[192.0.2.25]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, "
                 "status=sent (250 2.0.0 Ok: queued as 77AA11BB22)",
                 "2026-01-13T21:10:25.100000+00:00 gw1 postfix/smtpd[6]: 77AA11BB22: "
                 "client=relay1.campus.example.ac.jp[10.1.0.25]",
                 "2026-01-13T21:10:25.300000+00:00 gw1 clamav-milter[7]: Message 77AA11BB22 from "
                 "<> to <forged@example.com> with subject 'Undelivered Mail' message-id "
                 "'<b@relay1>' date 'x' infected by Win.Worm.Mydoom-1",
             })
          .finish();
  REQUIRE(incidents.size() == 1);
  const Incident& in = incidents[0];
  CHECK(in.confidence == Confidence::kExact);
  REQUIRE(in.hops.size() == 3);
  CHECK(in.hops[1].queue_id == "B8FFB9262F0");
  CHECK(in.hops[2].queue_id == "A0A669262EC");
  CHECK(in.hops[2].link == HopLink::kBounce);
  REQUIRE(in.origin);
  CHECK(in.origin->ip == "10.1.5.5");
}

TEST_CASE("a content filter's re-injection is followed through orig_queue_id", "[trace]") {
  Harness h;
  const auto& incidents =
      h.feed({
                 "2018-11-21T15:18:43+0000 gw1 postfix/smtpd[7514]: 430R6q29CSzTgvf: "
                 "client=pc8.campus.example.ac.jp[10.1.8.8]",
                 "2018-11-21T15:18:44+0000 gw1 postfix/smtpd[7519]: 430R6r67h7zTgyH: "
                 "client=localhost[127.0.0.1], orig_queue_id=430R6q29CSzTgvf, "
                 "orig_client=pc8.campus.example.ac.jp[10.1.8.8]",
                 "2018-11-21T15:18:44+0000 gw1 postfix/lmtp[7383]: 430R6q29CSzTgvf: "
                 "to=<user@example.ac.jp>, relay=127.0.0.1[127.0.0.1]:10024, delay=1.7, "
                 "delays=0.46/0/0/1.2, dsn=2.0.0, status=sent (250 2.0.0 from "
                 "MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as 430R6r67h7zTgyH)",
                 "2018-11-21T15:18:44+0000 gw1 clamav-milter[1]: Message 430R6r67h7zTgyH from "
                 "<a@example.org> to <user@example.ac.jp> with subject 's' message-id '<m@x>' date "
                 "'d' infected by Eicar-Test-Signature",
             })
          .finish();
  REQUIRE(incidents.size() == 1);
  REQUIRE(incidents[0].hops.size() == 2);
  CHECK(incidents[0].hops[1].link == HopLink::kOrigQueueId);
  CHECK(incidents[0].confidence == Confidence::kExact);
  REQUIRE(incidents[0].origin);
  CHECK(incidents[0].origin->ip == "10.1.8.8");
}

TEST_CASE("lines from a host that is not a configured source change nothing", "[trace][trust]") {
  Harness h;
  auto lines = kPostfixRelayChain;
  for (auto& l : lines) {
    for (const char* host : {" relay1 ", " gw1 "}) {
      if (auto pos = l.find(host); pos != std::string::npos)
        l.replace(pos, std::strlen(host), " intruder ");
    }
  }
  CHECK(h.feed(lines).finish().empty());
  CHECK(h.correlator().stats().untrusted == lines.size());
  CHECK(h.correlator().index().size() == 0);
}

TEST_CASE("a forged detection claiming a real gateway but naming an unknown queue id is dropped",
          "[trace][trust]") {
  Harness h;
  h.feed(kPostfixRelayChain);
  h.feed(
      {"2026-11-28T05:05:00+00:00 gw1 clamav-milter[777]: Message DEADBEEF00 from <x@example.com> "
       "to <office@example.ac.jp> with subject 'x' message-id '<forged0@x>' date 'x' infected by "
       "Win.Worm.Forged-0"});
  const auto& incidents = h.finish();
  REQUIRE(incidents.size() == 1);  // only the real one
  CHECK(incidents[0].virus == "Win.Worm.Mydoom-1");
  CHECK(h.correlator().stats().uncorroborated == 1);
}

TEST_CASE("a chain whose relay log is missing is reported unresolved with the last hop",
          "[trace]") {
  Harness h;
  const auto& incidents =
      h.feed({kPostfixRelayChain[4], kPostfixRelayChain[5], kPostfixRelayChain[6]}).finish();
  REQUIRE(incidents.size() == 1);
  CHECK(incidents[0].confidence == Confidence::kUnresolved);
  CHECK_FALSE(incidents[0].origin);
  REQUIRE(incidents[0].hops.size() == 1);
  CHECK(incidents[0].hops[0].client_ip == "10.1.0.25");
  CHECK_THAT(incidents[0].note, Catch::Contains("relay1"));
}

TEST_CASE("a relay loop stops instead of running forever", "[trace]") {
  Harness h;
  const auto& incidents =
      h.feed({
                 "Nov 28 05:00:01 relay1 postfix/smtpd[1]: AAAA11111: client=relay2[10.1.0.26]",
                 "Nov 28 05:00:01 relay1 postfix/cleanup[1]: AAAA11111: message-id=<loop@x>",
                 "Nov 28 05:00:02 relay2 sendmail[2]: 6AS5K7aa000009: from=<a@x>, size=1, class=0, "
                 "nrcpts=1, msgid=<loop@x>, proto=ESMTP, daemon=MTA, relay=relay1 [10.1.0.25]",
                 "Nov 28 05:00:03 relay1 postfix/cleanup[1]: AAAA11111: milter-reject: "
                 "END-OF-MESSAGE from relay2[10.1.0.26]: 5.7.1 Virus X.Y detected; from=<a@x> "
                 "to=<b@y> proto=ESMTP helo=<h>",
             })
          .finish();
  REQUIRE(incidents.size() == 1);
  CHECK(incidents[0].confidence == Confidence::kUnresolved);
  CHECK_FALSE(incidents[0].origin);
}

// Four verbatim lines from a real postfix gateway and relay whose other lines are missing (the
// lines tests/integration/test_partial_loop.py sends live): the relay's message came from the
// gateway, and the gateway's detected message came from the relay, so the envelope search on the
// gateway finds the detected message itself. That used to leave a hop-less chain, and
// HopTracer::branch read its first hop.
const char* kGatewayRelayLoopYaml = R"(
sources:
  - name: gw
    hostnames: [gw]
    addresses: [10.201.2.1]
    role: gateway
  - name: relay
    hostnames: [relay]
    addresses: [10.201.1.2]
    role: relay
networks:
  internal:
    - name: campus
      cidrs: [10.201.0.0/21]
)";
const std::vector<std::string> kGatewayRelayLoop = {
    "Nov 28 06:00:53 gw postfix/qmgr[30915]: 0A56EA720DF: from=<support@bank.example>, size=563, "
    "nrcpt=1 (queue active)",
    "Nov 28 06:00:53 relay postfix/smtpd[31056]: 0B615A720F0: "
    "client=gw.campus.example[10.201.2.1]",
    "Nov 28 06:00:53 relay postfix/qmgr[30999]: 0B615A720F0: from=<support@bank.example>, "
    "size=808, nrcpt=1 (queue active)",
    "Nov 28 06:00:55 gw postfix/cleanup[31062]: 0D477A72239: milter-reject: END-OF-MESSAGE from "
    "relay.campus.example[10.201.1.2]: 5.7.1 Virus Lab.Worm.BankFake-A.UNOFFICIAL detected by "
    "gw.campus.example; from=<support@bank.example> to=<accounts@partner.example> proto=ESMTP "
    "helo=<relay.campus.example>",
};

TEST_CASE("a gateway-relay loop with its other lines missing is unresolved, in every order",
          "[trace][regression]") {
  std::vector<std::size_t> order = {0, 1, 2, 3};
  int orders = 0;
  do {
    std::vector<std::string> lines;
    for (std::size_t i : order) lines.push_back(kGatewayRelayLoop[i]);
    Harness h(kGatewayRelayLoopYaml);
    const auto& incidents = h.feed(lines).finish();
    INFO("order " << order[0] << order[1] << order[2] << order[3]);
    REQUIRE(incidents.size() == 1);
    CHECK(incidents[0].confidence == Confidence::kUnresolved);
    CHECK_FALSE(incidents[0].origin);
    REQUIRE_FALSE(incidents[0].hops.empty());
    CHECK(incidents[0].hops[0].host == "gw");
    ++orders;
  } while (std::next_permutation(order.begin(), order.end()));
  CHECK(orders == 24);
}

TEST_CASE("an envelope candidate that is the detected message itself is not a candidate",
          "[trace][regression]") {
  // The same loop, with a second gateway message from the relay's sender: the detected
  // message must not count as a second, different-host candidate.
  Harness h(kGatewayRelayLoopYaml);
  const auto& incidents =
      h.feed({kGatewayRelayLoop[1], kGatewayRelayLoop[2], kGatewayRelayLoop[3]}).finish();
  REQUIRE(incidents.size() == 1);
  CHECK(incidents[0].confidence == Confidence::kUnresolved);
  CHECK(incidents[0].candidates.empty());
}

// The relay's clock runs 3 s fast, and the site set clock_skew: 1s "because we run NTP": the
// id links (queue id in the delivery status, Message-ID) still hold; only envelope matching
// is bounded by clock_skew.
std::vector<std::string> relay_three_seconds_fast() {
  std::vector<std::string> lines = kPostfixRelayChain;
  for (std::size_t i = 0; i < 4; ++i) {
    const auto at = lines[i].find("05:00:0");
    lines[i][at + 7] = static_cast<char>(lines[i][at + 7] + 3);
  }
  return lines;
}

TEST_CASE("records linked by id hold across a relay clock off by more than clock_skew",
          "[trace][clock]") {
  std::string yaml = vtrace::testing::kCampusYaml;
  yaml.replace(yaml.find("clock_skew: 5s"), 14, "clock_skew: 1s");
  Harness h(yaml);
  const auto& incidents = h.feed(relay_three_seconds_fast()).finish();
  REQUIRE(incidents.size() == 1);
  CHECK(incidents[0].confidence == Confidence::kExact);
  REQUIRE(incidents[0].hops.size() == 2);
  CHECK(incidents[0].hops[1].host == "relay1");
  REQUIRE(incidents[0].origin);
  CHECK(incidents[0].origin->ip == "10.1.23.45");
}

TEST_CASE("a record beyond id_link_skew is named with its distance, not called missing",
          "[trace][clock]") {
  std::string yaml = vtrace::testing::kCampusYaml;
  yaml.replace(yaml.find("clock_skew: 5s"), 14, "clock_skew: 1s\n  id_link_skew: 1s");
  Harness h(yaml);
  const auto& incidents = h.feed(relay_three_seconds_fast()).finish();
  REQUIRE(incidents.size() == 1);
  CHECK(incidents[0].confidence == Confidence::kUnresolved);
  CHECK_THAT(incidents[0].note, Catch::Contains("s later than its arrival there"));
  CHECK_THAT(incidents[0].note, !Catch::Contains("no record"));
}

TEST_CASE("two correlators fed the same logs produce the same incident ids", "[trace]") {
  Harness a, b;
  const auto& first = a.feed(kPostfixRelayChain).finish();
  const auto& second = b.feed(kPostfixRelayChain).finish();
  REQUIRE(first.size() == 1);
  REQUIRE(second.size() == 1);
  CHECK(first[0].id == second[0].id);
  CHECK(first[0] == second[0]);
}

TEST_CASE("a site's own antivirus format declared in YAML produces traced incidents",
          "[trace][custom]") {
  Harness h(std::string(vtrace::testing::kCampusYaml) + R"(
custom_formats:
  - name: myav
    program: "myav(d)?"
    pattern: 'virus found: (?P<virus>\S+) in message (?P<queue_id>[0-9A-F]+) from <(?P<sender>[^>]*)> to <(?P<recipient>[^>]*)>'
    kind: detection
)");
  auto lines = kPostfixRelayChain;
  lines.resize(6);  // the relay's log and gw1's MTA lines, not its clamav-milter lines
  lines.push_back(
      "2026-11-28T05:00:06.500000+00:00 gw1 myavd[42]: virus found: Worm.Custom.A in message "
      "A39D5E08539 from <billing@mail.example.org> to <kato@example.ac.jp>");
  const auto& incidents = h.feed(lines).finish();
  REQUIRE(incidents.size() == 1);
  CHECK(incidents[0].detector_format == "myav");
  CHECK(incidents[0].virus == "Worm.Custom.A");
  CHECK(incidents[0].confidence == Confidence::kExact);
  REQUIRE(incidents[0].origin);
  CHECK(incidents[0].origin->ip == "10.1.23.45");
}

TEST_CASE("relay lines arriving after the pending timeout update the incident as a revision",
          "[trace][late]") {
  Harness h;
  h.feed({kPostfixRelayChain[4], kPostfixRelayChain[5], kPostfixRelayChain[6]});
  // The first attempt finds the relay's record missing; past pending_timeout (5m) after it,
  // the chain is still broken and the incident is sent as unresolved.
  h.feed({"2026-11-28T05:00:20.000000+00:00 gw1 postfix/qmgr[1]: FFFF00001: removed"});
  CHECK(h.incidents().empty());
  h.feed({"2026-11-28T05:06:10.000000+00:00 gw1 postfix/qmgr[1]: FFFF00003: removed"});
  REQUIRE(h.incidents().size() == 1);
  CHECK(h.incidents()[0].confidence == Confidence::kUnresolved);
  // The relay's log finally arrives (a forwarding backlog), then time moves on.
  h.feed(
      {kPostfixRelayChain[0], kPostfixRelayChain[1], kPostfixRelayChain[2], kPostfixRelayChain[3]});
  h.feed({"2026-11-28T05:06:20.000000+00:00 gw1 postfix/qmgr[1]: FFFF00002: removed"});
  const auto& incidents = h.finish();
  REQUIRE(incidents.size() == 2);
  CHECK(incidents[1].id == incidents[0].id);
  CHECK(incidents[1].revision == 2);
  CHECK(incidents[1].confidence == Confidence::kExact);
  REQUIRE(incidents[1].origin);
  CHECK(incidents[1].origin->ip == "10.1.23.45");
}

TEST_CASE("a broken chain is completed from the missing relay's archived log", "[trace][archive]") {
  Harness h;
  int searches = 0;
  vtrace::SyslogEnvelopeDecoder decoder(2026, "UTC", 0);
  h.correlator().set_archive_loader([&](vtrace::SourceIndex source, vtrace::TimePoint from,
                                        vtrace::TimePoint to, vtrace::Correlator& target) {
    ++searches;
    CHECK(h.correlator().topology().source(source).name == "relay1");
    CHECK(from < to);
    for (int i = 0; i < 4; ++i) {
      vtrace::LogLine line;
      REQUIRE(decoder.decode(kPostfixRelayChain[i], line));
      target.ingest_archive(source, line);
    }
  });
  h.feed({kPostfixRelayChain[4], kPostfixRelayChain[5], kPostfixRelayChain[6]});
  const auto& incidents = h.finish();
  CHECK(searches == 1);
  REQUIRE(incidents.size() == 1);
  CHECK(incidents[0].confidence == Confidence::kExact);
  CHECK(incidents[0].revision == 1);
  REQUIRE(incidents[0].origin);
  CHECK(incidents[0].origin->ip == "10.1.23.45");
}

TEST_CASE("a content filter discarding an infected message is a detection merged with its own",
          "[trace]") {
  Harness h;
  const auto& incidents =
      h.feed({
                 // Gentoo-wiki-derived virtual mail server guide (log-formats.md §6.2), host
                 // renamed to a configured gateway.
                 "Dec 28 14:05:33 gw1 postfix/smtpd[15000]: 7FC7B22DF6: "
                 "client=pc2.campus.example.ac.jp[10.0.0.2]",
                 "Dec 28 14:05:33 gw1 amavis[7554]: (07554-01) Blocked INFECTED "
                 "(Eicar-Test-Signature) {DiscardedInternal,Quarantined}, MYNETS LOCAL "
                 "[10.0.0.2]:41144 [10.0.0.2] <root@test.example.net> -> <testuser@example.com>, "
                 "quarantine: virus-WYHuLpwdzPVr, Queue-ID: 7FC7B22DF6, mail_id: WYHuLpwdzPVr, "
                 "Hits: -, size: 407, 166 ms",
                 "Dec 28 14:05:33 gw1 postfix/lmtp[15452]: 7FC7B22DF6: to=<testuser@example.com>, "
                 "relay=127.0.0.1[127.0.0.1]:10024, delay=0.41, delays=0.21/0.02/0.01/0.16, "
                 "dsn=2.7.0, status=sent (250 2.7.0 Ok, discarded, id=07554-01 - INFECTED: "
                 "Eicar-Test-Signature)",
             })
          .finish();
  REQUIRE(incidents.size() == 1);
  CHECK(incidents[0].virus == "Eicar-Test-Signature");
  CHECK(incidents[0].detector_format == "amavis");
  CHECK(incidents[0].confidence == Confidence::kExact);
  REQUIRE(incidents[0].origin);
  CHECK(incidents[0].origin->ip == "10.0.0.2");
  CHECK(incidents[0].evidence.size() == 2);
}

TEST_CASE("an exim relay's bounce is traced exactly through its E<id>@host Message-ID",
          "[trace][exim]") {
  // From the end-to-end lab (tests/e2e/repro-exim-bounce): exim logs no id= for the bounce it
  // generates, but the bounce's Message-ID names it, and R= links it to the worm mail.
  Harness h;
  const auto& incidents =
      h.feed({
                 "Nov 28 08:09:42 relay3 exim[100]: 2026-11-28 08:09:42 1xXDV8-0006Ws-2b <= "
                 "it-support@bank.example H=(pcpc3.corp.lab.test) [10.20.1.12] P=esmtp S=941 "
                 "id=worm3-0@bank.example for bob@partner.example",
                 "Nov 28 08:09:42 relay3 exim[100]: 2026-11-28 08:09:42 1xXDV8-0006Ws-2b ** "
                 "bob@partner.example F=<it-support@bank.example> R=smarthost T=remote_smtp "
                 "H=192.0.2.25 [192.0.2.25]: SMTP error from remote mail server after pipelined "
                 "end of data: 550 5.7.1 Virus Lab.Test.EICAR detected",
                 "Nov 28 08:09:42 relay3 exim[100]: 2026-11-28 08:09:42 1xXDV8-0006X2-3A <= <> "
                 "R=1xXDV8-0006Ws-2b U=Debian-exim P=local S=2465 for it-support@bank.example",
                 "Nov 28 08:09:43 gw1 postfix/smtpd[25069]: 07623A7A7C8: client=unknown[10.20.0.5]",
                 "Nov 28 08:09:43 gw1 postfix/cleanup[25072]: 07623A7A7C8: "
                 "message-id=<E1xXDV8-0006X2-3A@relay3.lab.test>",
                 "Nov 28 08:09:43 gw1 postfix/cleanup[25072]: 07623A7A7C8: milter-reject: "
                 "END-OF-MESSAGE from unknown[10.20.0.5]: 5.7.1 Virus Lab.Test.EICAR detected by "
                 "lab gateway; from=<> to=<it-support@bank.example> proto=ESMTP helo=<relay3>",
             })
          .finish();
  const Incident* bounce = nullptr;
  for (const auto& in : incidents) {
    if (in.detector_host == "gw1") bounce = &in;
  }
  REQUIRE(bounce != nullptr);
  CHECK(bounce->confidence == Confidence::kExact);
  REQUIRE(bounce->hops.size() == 3);
  CHECK(bounce->hops[1].queue_id == "1xXDV8-0006X2-3A");
  CHECK(bounce->hops[2].link == HopLink::kBounce);
  REQUIRE(bounce->origin);
  CHECK(bounce->origin->ip == "10.20.1.12");
}

TEST_CASE("postfix's discard reply arriving before amavis's line still yields amavis's sender",
          "[trace]") {
  // From the end-to-end lab (tests/e2e/repro-amavis-envelope), hosts renamed to configured
  // ones: postfix logged amavis's 250 reply before amavis's own line reached the collector.
  Harness h;
  const auto& incidents =
      h.feed({
                 "Nov 28 08:57:49 gw1 postfix/smtpd[32579]: 91175A82860: "
                 "client=relay1.campus.example.ac.jp[10.1.0.25]",
                 "Nov 28 08:57:49 gw1 postfix/cleanup[32612]: 91175A82860: "
                 "message-id=<worm-0@bank.example>",
                 "Nov 28 08:57:49 gw1 postfix/qmgr[32574]: 91175A82860: "
                 "from=<it-support@bank.example>, size=1096, nrcpt=1 (queue active)",
                 "Nov 28 08:57:49 gw1 postfix/smtp[32644]: 91175A82860: to=<bob@partner.example>, "
                 "relay=127.0.0.1[127.0.0.1]:10024, conn_use=2, delay=0.16, "
                 "delays=0/0.06/0/0.09, dsn=2.7.0, status=sent (250 2.7.0 Ok, discarded, "
                 "id=32489-04-2 - INFECTED: Lab.Test.EICAR-NDB.UNOFFICIAL)",
                 "Nov 28 08:57:49 gw1 amavis[32489]: (32489-04-2) Blocked INFECTED "
                 "(Lab.Test.EICAR-NDB.UNOFFICIAL) {DiscardedOpenRelay,Quarantined}, "
                 "[10.1.0.25]:47821 <it-support@bank.example> -> <bob@partner.example>, "
                 "quarantine: virus-hL-hEPCD6VNu, Queue-ID: 91175A82860, Message-ID: "
                 "<worm-0@bank.example>, mail_id: hL-hEPCD6VNu, Hits: -, size: 1096, 91 ms",
             })
          .finish();
  REQUIRE(incidents.size() == 1);
  CHECK(incidents[0].detector_format == "amavis");
  CHECK(incidents[0].envelope_from == "it-support@bank.example");
  CHECK(incidents[0].action != "discarded");
  CHECK(incidents[0].evidence.size() == 2);
}

namespace {

// From the end-to-end lab in reject mode (tests/e2e/repro-reject-backscatter), hosts renamed
// to configured ones: gw1 rejects the worm mail, relay1 returns it to the forged sender, and
// gw1 rejects that bounce too, since it carries the worm.
const std::vector<std::string> kRejectBackscatter = {
    "Nov 28 08:58:39 relay1 postfix/smtpd[3599]: 14187A829DD: "
    "client=pc45.campus.example.ac.jp[10.1.23.45]",
    "Nov 28 08:58:39 relay1 postfix/cleanup[3604]: 14187A829DD: message-id=<worm-0@bank.example>",
    "Nov 28 08:58:39 relay1 postfix/qmgr[3413]: 14187A829DD: from=<it-support@bank.example>, "
    "size=923, nrcpt=1 (queue active)",
    "Nov 28 08:58:39 gw1 postfix/smtpd[3552]: 19B07A828AE: "
    "client=relay1.campus.example.ac.jp[10.1.0.25]",
    "Nov 28 08:58:39 gw1 postfix/cleanup[3612]: 19B07A828AE: message-id=<worm-0@bank.example>",
    "Nov 28 08:58:39 gw1 clamav-milter[200]: Message 19B07A828AE from <it-support@bank.example> "
    "to <bob@partner.example> with subject 'Your invoice worm-0' message-id "
    "'<worm-0@bank.example>' date 'Sat, 28 Nov 2026 08:58:39 -0000' infected by "
    "Lab.Test.EICAR-NDB.UNOFFICIAL",
    "Nov 28 08:58:39 gw1 postfix/cleanup[3612]: 19B07A828AE: milter-reject: END-OF-MESSAGE from "
    "relay1.campus.example.ac.jp[10.1.0.25]: 5.7.1 Virus Lab.Test.EICAR-NDB.UNOFFICIAL detected "
    "by lab gateway; from=<it-support@bank.example> to=<bob@partner.example> proto=ESMTP "
    "helo=<relay1.campus.example.ac.jp>",
    "Nov 28 08:58:39 relay1 postfix/smtp[3605]: 14187A829DD: to=<bob@partner.example>, "
    "relay=gw1.example.ac.jp[192.0.2.25]:25, delay=0.08, delays=0/0.01/0.01/0.06, dsn=5.7.1, "
    "status=bounced (host gw1.example.ac.jp[192.0.2.25] said: 550 5.7.1 Virus "
    "Lab.Test.EICAR-NDB.UNOFFICIAL detected by lab gateway (in reply to end of DATA command))",
    "Nov 28 08:58:39 relay1 postfix/cleanup[3602]: 3089CA82592: "
    "message-id=<20261128085839.3089CA82592@relay.lab.test>",
    "Nov 28 08:58:39 relay1 postfix/qmgr[3413]: 3089CA82592: from=<>, size=2893, nrcpt=1 (queue "
    "active)",
    "Nov 28 08:58:39 relay1 postfix/bounce[3639]: 14187A829DD: sender non-delivery "
    "notification: 3089CA82592",
    "Nov 28 08:58:39 gw1 postfix/smtpd[3611]: 36709A82A20: "
    "client=relay1.campus.example.ac.jp[10.1.0.25]",
    "Nov 28 08:58:39 gw1 postfix/cleanup[3613]: 36709A82A20: "
    "message-id=<20261128085839.3089CA82592@relay.lab.test>",
    "Nov 28 08:58:39 gw1 clamav-milter[200]: Message 36709A82A20 from <> to "
    "<it-support@bank.example> with subject 'Undelivered Mail Returned to Sender' message-id "
    "'<20261128085839.3089CA82592@relay.lab.test>' date 'Sat, 28 Nov 2026 08:58:39 +0000 (UTC)' "
    "infected by Lab.Test.EICAR-NDB.UNOFFICIAL",
    "Nov 28 08:58:39 gw1 postfix/cleanup[3613]: 36709A82A20: milter-reject: END-OF-MESSAGE from "
    "relay1.campus.example.ac.jp[10.1.0.25]: 5.7.1 Virus Lab.Test.EICAR-NDB.UNOFFICIAL detected "
    "by lab gateway; from=<> to=<it-support@bank.example> proto=ESMTP "
    "helo=<relay1.campus.example.ac.jp>",
    "Nov 28 08:58:39 relay1 postfix/smtp[3607]: 3089CA82592: to=<it-support@bank.example>, "
    "relay=gw1.example.ac.jp[192.0.2.25]:25, delay=0.07, delays=0.02/0/0.01/0.04, dsn=5.7.1, "
    "status=bounced (host gw1.example.ac.jp[192.0.2.25] said: 550 5.7.1 Virus "
    "Lab.Test.EICAR-NDB.UNOFFICIAL detected by lab gateway (in reply to end of DATA command))",
};

}  // namespace

TEST_CASE("a gateway rejecting the relay's bounce of a rejected worm mail makes one incident",
          "[trace]") {
  Harness h;
  const auto& incidents = h.feed(kRejectBackscatter).finish();
  REQUIRE(incidents.size() == 1);
  CHECK(incidents[0].queue_id == "19B07A828AE");
  CHECK(incidents[0].confidence == Confidence::kExact);
  REQUIRE(incidents[0].origin);
  CHECK(incidents[0].origin->ip == "10.1.23.45");
  CHECK(h.correlator().stats().backscatter_merged == 1);
  // relay1's "bounced ... Virus" lines about the worm mail and about its bounce are echoes, not
  // unexplained detections.
  CHECK(h.correlator().stats().echoes_suppressed == 2);
  CHECK(h.correlator().stats().uncorroborated == 0);
}

TEST_CASE("a detected bounce whose original mail was never detected is its own incident",
          "[trace]") {
  // Without gw1's detection of the worm mail itself (say, a signature update in between), the
  // bounce is the only evidence and must still name the PC.
  std::vector<std::string> lines;
  for (const auto& line : kRejectBackscatter) {
    if (line.find("19B07A828AE: milter-reject") == std::string::npos &&
        line.find("Message 19B07A828AE") == std::string::npos) {
      lines.push_back(line);
    }
  }
  Harness h;
  const auto& incidents = h.feed(lines).finish();
  REQUIRE(incidents.size() == 1);
  CHECK(incidents[0].queue_id == "36709A82A20");
  REQUIRE(incidents[0].origin);
  CHECK(incidents[0].origin->ip == "10.1.23.45");
  CHECK(h.correlator().stats().backscatter_merged == 0);
}

namespace {

// Two messages with the same forged envelope reach gw1 through relay1 a second apart, from two
// PCs; clamav-milter logs its detection in the Basic format (no queue id, no Message-ID).
std::vector<std::string> same_envelope_burst(const std::string& verdict_line) {
  std::vector<std::string> lines = {
      "Nov 28 05:10:01 relay1 postfix/smtpd[1]: AAA0000001: client=pc1[10.1.5.1]",
      "Nov 28 05:10:01 relay1 postfix/qmgr[2]: AAA0000001: from=<boss@example.ac.jp>, size=1, "
      "nrcpt=1 (queue active)",
      "Nov 28 05:10:01 relay1 postfix/smtp[3]: AAA0000001: to=<kato@example.ac.jp>, "
      "relay=gw1[192.0.2.25]:25, delay=0.1, delays=0/0/0/0, dsn=2.0.0, status=sent (250 2.0.0 "
      "Ok: queued as BBB0000001)",
      "Nov 28 05:10:02 relay1 postfix/smtpd[1]: AAA0000002: client=pc2[10.1.5.2]",
      "Nov 28 05:10:02 relay1 postfix/qmgr[2]: AAA0000002: from=<boss@example.ac.jp>, size=1, "
      "nrcpt=1 (queue active)",
      "Nov 28 05:10:02 relay1 postfix/smtp[3]: AAA0000002: to=<kato@example.ac.jp>, "
      "relay=gw1[192.0.2.25]:25, delay=0.1, delays=0/0/0/0, dsn=2.0.0, status=sent (250 2.0.0 "
      "Ok: queued as BBB0000002)",
      "Nov 28 05:10:01 gw1 postfix/smtpd[9]: BBB0000001: client=relay1[10.1.0.25]",
      "Nov 28 05:10:01 gw1 postfix/qmgr[8]: BBB0000001: from=<boss@example.ac.jp>, size=1, "
      "nrcpt=1 (queue active)",
      "Nov 28 05:10:02 gw1 postfix/smtpd[9]: BBB0000002: client=relay1[10.1.0.25]",
      "Nov 28 05:10:02 gw1 postfix/qmgr[8]: BBB0000002: from=<boss@example.ac.jp>, size=1, "
      "nrcpt=1 (queue active)",
  };
  if (!verdict_line.empty()) lines.push_back(verdict_line);
  lines.push_back(
      "Nov 28 05:10:02 gw1 clamav-milter[7]: Message from <boss@example.ac.jp> to "
      "<kato@example.ac.jp> infected by Win.Worm.Burst");
  return lines;
}

}  // namespace

TEST_CASE("without a verdict, same-envelope messages from two PCs leave the detection ambiguous",
          "[trace][verdict]") {
  Harness h;
  const auto& incidents = h.feed(same_envelope_burst("")).finish();
  REQUIRE(incidents.size() == 1);
  CHECK(incidents[0].confidence == Confidence::kAmbiguous);
  CHECK_FALSE(incidents[0].origin);
}

TEST_CASE("a message the gateway's scanner logged clean is no candidate for its detection",
          "[trace][verdict]") {
  // clamav-milter LogClean Full names the first message's queue id.
  Harness h;
  const auto& incidents =
      h.feed(same_envelope_burst(
                 "Nov 28 05:10:01 gw1 clamav-milter[7]: Clean message BBB0000001 from "
                 "<boss@example.ac.jp> to <kato@example.ac.jp> with subject 'hi' message-id "
                 "'<c1@x>' date 'x'"))
          .finish();
  REQUIRE(incidents.size() == 1);
  CHECK(incidents[0].confidence == Confidence::kFuzzy);
  REQUIRE(incidents[0].origin);
  CHECK(incidents[0].origin->ip == "10.1.5.2");
  // The incident names the message the envelope join found on the gateway.
  CHECK(incidents[0].queue_id == "BBB0000002");
}

TEST_CASE("sendmail's X-Virus-Status: Clean header line rules its message out",
          "[trace][verdict]") {
  Harness h;
  auto lines = same_envelope_burst("");
  // gw1 as a sendmail gateway would log the milter's header for the first message.
  lines.insert(lines.end() - 1,
               "Nov 28 05:10:01 gw1 sendmail[5]: BBB0000001: Milter add: header: "
               "X-Virus-Status: Clean");
  const auto& incidents = h.feed(lines).finish();
  REQUIRE(incidents.size() == 1);
  REQUIRE(incidents[0].origin);
  CHECK(incidents[0].origin->ip == "10.1.5.2");
}

namespace {

// The e2e lab's dense run (tests/e2e/README.md): two worm mails from 10.99.1.10 through the
// Postfix relay, detected by clamav-milter LogInfected Basic in the same second, as the
// collector received them (RFC 5424, the forwarders' read times).
const char* kLabYaml = R"(
sources:
  - name: gw
    hostnames: [gw]
    addresses: [10.99.2.1]
    role: gateway
  - name: relay
    hostnames: [relay]
    addresses: [10.99.1.2]
    role: relay
networks:
  internal:
    - name: lan
      cidrs: [10.99.1.0/24]
correlation:
  clock_skew: 1s
  window: 30m
)";

const std::vector<std::string> kLabTwoBasicDetectionsInOneSecond = {
    "<22>1 2026-12-07T21:28:12.004644+00:00 relay postfix/smtpd 8785 - - 005D5A74B38: "
    "client=unknown[10.99.1.10]",
    "<22>1 2026-12-07T21:28:12.004741+00:00 relay postfix/cleanup 9027 - - 005D5A74B38: "
    "message-id=<dworm-4@bank.example>",
    "<22>1 2026-12-07T21:28:12.012855+00:00 gw clamav-milter - - - Message from "
    "<it-support@bank.example> to <bob@partner.example> infected by "
    "Lab.Test.EICAR-NDB.UNOFFICIAL",
    "<22>1 2026-12-07T21:28:12.012898+00:00 gw postfix/smtpd 8788 - - 018DDA744D1: "
    "client=unknown[10.99.1.2]",
    "<22>1 2026-12-07T21:28:12.012902+00:00 gw postfix/cleanup 9040 - - 018DDA744D1: "
    "message-id=<dworm-4@bank.example>",
    "<22>1 2026-12-07T21:28:12.012906+00:00 gw postfix/cleanup 9040 - - 018DDA744D1: "
    "milter-hold: END-OF-MESSAGE from unknown[10.99.1.2]: milter triggers HOLD action; "
    "from=<it-support@bank.example> to=<bob@partner.example> proto=ESMTP "
    "helo=<relay.lab.test>",
    "<22>1 2026-12-07T21:28:12.015339+00:00 relay postfix/qmgr 8659 - - 005D5A74B38: "
    "from=<it-support@bank.example>, size=925, nrcpt=1 (queue active)",
    "<22>1 2026-12-07T21:28:12.015367+00:00 relay postfix/smtp 9032 - - 005D5A74B38: "
    "to=<bob@partner.example>, relay=10.99.2.1[10.99.2.1]:25, delay=0.01, delays=0/0/0/0, "
    "dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 018DDA744D1)",
    "<22>1 2026-12-07T21:28:12.203818+00:00 gw postfix/smtpd 8788 - - 30D6AA74642: "
    "client=unknown[10.99.1.2]",
    "<22>1 2026-12-07T21:28:12.203825+00:00 gw postfix/cleanup 9040 - - 30D6AA74642: "
    "message-id=<dworm-5@bank.example>",
    "<22>1 2026-12-07T21:28:12.204472+00:00 relay postfix/smtpd 8785 - - 2FF3CA74B39: "
    "client=unknown[10.99.1.10]",
    "<22>1 2026-12-07T21:28:12.204479+00:00 relay postfix/cleanup 9027 - - 2FF3CA74B39: "
    "message-id=<dworm-5@bank.example>",
    "<22>1 2026-12-07T21:28:12.204484+00:00 relay postfix/qmgr 8659 - - 2FF3CA74B39: "
    "from=<it-support@bank.example>, size=925, nrcpt=1 (queue active)",
    "<22>1 2026-12-07T21:28:12.214061+00:00 gw clamav-milter - - - Message from "
    "<it-support@bank.example> to <bob@partner.example> infected by "
    "Lab.Test.EICAR-NDB.UNOFFICIAL",
    "<22>1 2026-12-07T21:28:12.214107+00:00 gw postfix/cleanup 9040 - - 30D6AA74642: "
    "milter-hold: END-OF-MESSAGE from unknown[10.99.1.2]: milter triggers HOLD action; "
    "from=<it-support@bank.example> to=<bob@partner.example> proto=ESMTP "
    "helo=<relay.lab.test>",
    "<22>1 2026-12-07T21:28:12.214717+00:00 relay postfix/smtp 9032 - - 2FF3CA74B39: "
    "to=<bob@partner.example>, relay=10.99.2.1[10.99.2.1]:25, delay=0.01, "
    "delays=0/0/0/0.01, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 30D6AA74642)",
};

}  // namespace

TEST_CASE("id-less detections in one second stay two incidents when the collector is behind",
          "[trace][live]") {
  // Live after a 30 s collector outage the backlog arrives with the wall clock 30 s ahead of
  // the lines. The second detection was once numbered like the first (its same-second count
  // was trimmed by the wall clock) and merged into it: one infected message went unreported
  // and later ids differed from replay's.
  Harness in_time(kLabYaml);
  const auto expected = in_time.feed(kLabTwoBasicDetectionsInOneSecond).finish();
  REQUIRE(expected.size() == 2);
  for (const auto& in : expected) {
    CHECK(in.confidence == Confidence::kFuzzy);
    REQUIRE(in.origin);
    CHECK(in.origin->ip == "10.99.1.10");
  }
  Harness behind(kLabYaml);
  const auto got = behind.feed(kLabTwoBasicDetectionsInOneSecond, vtrace::seconds(30)).finish();
  CHECK(behind.correlator().stats().detections_merged == 0);
  REQUIRE(got.size() == expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    CHECK(got[i].id == expected[i].id);
    CHECK(got[i].detected_at == expected[i].detected_at);
    CHECK(got[i].confidence == expected[i].confidence);
    REQUIRE(got[i].origin);
    CHECK(got[i].origin->ip == expected[i].origin->ip);
  }
}

namespace {

// The e2e lab's dense LogInfected Basic run (tests/e2e/repro-clean-after-removed/): a worm mail
// from 10.99.1.10, held at the gateway, and a clean mail with the same envelope from
// 10.99.1.11 a quarter second later. The gateway's "Clean message 3E33FA76688" line reached
// the collector stamped 13 µs after postfix's "3E33FA76688: removed" (clamav-milter's log
// file was read after postfix's).
const std::vector<std::string> kLabCleanVerdictAfterRemoval = {
    "<22>1 2026-12-07T21:36:44.960736+00:00 relay postfix/smtpd 4668 - - E91EEA76095: "
    "client=unknown[10.99.1.10]",
    "<22>1 2026-12-07T21:36:44.960769+00:00 relay postfix/cleanup 4807 - - E91EEA76095: "
    "message-id=<dworm-0@bank.example>",
    "<22>1 2026-12-07T21:36:44.960775+00:00 relay postfix/qmgr 4537 - - E91EEA76095: "
    "from=<it-support@bank.example>, size=925, nrcpt=1 (queue active)",
    "<22>1 2026-12-07T21:36:44.980796+00:00 gw postfix/smtpd 4670 - - EDA64A760B6: "
    "client=unknown[10.99.1.2]",
    "<22>1 2026-12-07T21:36:44.980822+00:00 gw postfix/cleanup 4811 - - EDA64A760B6: "
    "message-id=<dworm-0@bank.example>",
    "<22>1 2026-12-07T21:36:44.980829+00:00 gw postfix/cleanup 4811 - - EDA64A760B6: milter-hold: "
    "END-OF-MESSAGE from unknown[10.99.1.2]: milter triggers HOLD action; "
    "from=<it-support@bank.example> to=<bob@partner.example> proto=ESMTP helo=<relay.lab.test>",
    "<22>1 2026-12-07T21:36:44.980845+00:00 gw clamav-milter - - - Message from "
    "<it-support@bank.example> to <bob@partner.example> infected by Lab.Test.EICAR-NDB.UNOFFICIAL",
    "<22>1 2026-12-07T21:36:44.982420+00:00 relay postfix/smtp 4808 - - E91EEA76095: "
    "to=<bob@partner.example>, relay=10.99.2.1[10.99.2.1]:25, delay=0.03, delays=0.01/0.01/0/0.01, "
    "dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as EDA64A760B6)",
    "<22>1 2026-12-07T21:36:44.982447+00:00 relay postfix/qmgr 4537 - - E91EEA76095: removed",
    "<22>1 2026-12-07T21:36:45.260325+00:00 gw postfix/smtpd 4670 - - 3E33FA76688: "
    "client=unknown[10.99.1.2]",
    "<22>1 2026-12-07T21:36:45.260330+00:00 gw postfix/cleanup 4811 - - 3E33FA76688: "
    "message-id=<dclean-1@bank.example>",
    "<22>1 2026-12-07T21:36:45.260334+00:00 gw postfix/qmgr 4665 - - 3E33FA76688: "
    "from=<it-support@bank.example>, size=670, nrcpt=1 (queue active)",
    "<22>1 2026-12-07T21:36:45.260338+00:00 gw postfix/smtp 4815 - - 3E33FA76688: "
    "to=<bob@partner.example>, relay=10.99.3.10[10.99.3.10]:25, delay=0, delays=0/0/0/0, "
    "dsn=2.0.0, status=sent (250 2.0.0 Ok)",
    "<22>1 2026-12-07T21:36:45.260343+00:00 gw postfix/qmgr 4665 - - 3E33FA76688: removed",
    "<22>1 2026-12-07T21:36:45.260356+00:00 gw clamav-milter - - - Clean message 3E33FA76688 from "
    "<it-support@bank.example> to <bob@partner.example> with subject 'Minutes dclean-1' message-id "
    "'<dclean-1@bank.example>' date 'Mon, 07 Dec 2026 21:36:45 -0000'",
    "<22>1 2026-12-07T21:36:45.261693+00:00 relay postfix/smtpd 4668 - - 3DA23A76687: "
    "client=unknown[10.99.1.11]",
    "<22>1 2026-12-07T21:36:45.261718+00:00 relay postfix/cleanup 4807 - - 3DA23A76687: "
    "message-id=<dclean-1@bank.example>",
    "<22>1 2026-12-07T21:36:45.261722+00:00 relay postfix/qmgr 4537 - - 3DA23A76687: "
    "from=<it-support@bank.example>, size=463, nrcpt=1 (queue active)",
    "<22>1 2026-12-07T21:36:45.261730+00:00 relay postfix/smtp 4808 - - 3DA23A76687: "
    "to=<bob@partner.example>, relay=10.99.2.1[10.99.2.1]:25, delay=0.01, delays=0/0/0/0, "
    "dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 3E33FA76688)",
    "<22>1 2026-12-07T21:36:45.261735+00:00 relay postfix/qmgr 4537 - - 3DA23A76687: removed",
};

}  // namespace

TEST_CASE("a clean verdict stamped just after its message's removal still rules it out",
          "[trace][verdict]") {
  Harness h(kLabYaml);
  const auto& incidents = h.feed(kLabCleanVerdictAfterRemoval).finish();
  REQUIRE(incidents.size() == 1);
  CHECK(incidents[0].confidence == Confidence::kFuzzy);
  REQUIRE(incidents[0].origin);
  CHECK(incidents[0].origin->ip == "10.99.1.10");
  CHECK(h.correlator().index().stats().records_created == 4);  // no new record for the verdict
}

namespace {

const Incident* incident_of(const std::vector<Incident>& incidents, const std::string& virus) {
  const auto it = std::find_if(incidents.begin(), incidents.end(),
                               [&](const Incident& in) { return in.virus == virus; });
  return it == incidents.end() ? nullptr : &*it;
}

}  // namespace

TEST_CASE("a milter-reject naming another virus rules its message out of a Basic detection",
          "[trace][verdict]") {
  // The gateway's postfix logs clamav-milter's reject ("Virus %v ...", as in mta-lab.md §B) of
  // the first message for another worm.
  Harness h;
  const auto& incidents =
      h.feed(same_envelope_burst(
                 "Nov 28 05:10:01 gw1 postfix/cleanup[9]: BBB0000001: milter-reject: "
                 "END-OF-MESSAGE from relay1[10.1.0.25]: 5.7.1 Virus Win.Worm.Other detected by "
                 "gateway; from=<boss@example.ac.jp> to=<kato@example.ac.jp> proto=ESMTP "
                 "helo=<relay1>"))
          .finish();
  const Incident* burst = incident_of(incidents, "Win.Worm.Burst");
  REQUIRE(burst);
  CHECK(burst->confidence == Confidence::kFuzzy);
  REQUIRE(burst->origin);
  CHECK(burst->origin->ip == "10.1.5.2");
  CHECK(burst->queue_id == "BBB0000002");
}

TEST_CASE("sendmail's X-Virus-Status: Infected line naming the detected virus picks its message",
          "[trace][verdict]") {
  Harness h;
  auto lines = same_envelope_burst("");
  const std::string basic = lines.back();
  lines.pop_back();
  // log-formats.md §2.1 "QID: Milter add: header: X-Virus-Status: Infected (…)" for the second
  // message, reported (exact, by its queue id) before clamav-milter's Basic line arrives.
  lines.push_back(
      "Nov 28 05:10:02 gw1 sendmail[5]: BBB0000002: Milter add: header: X-Virus-Status: "
      "Infected (Win.Worm.Burst)");
  lines.push_back("Nov 28 05:10:03 gw1 postfix/smtpd[9]: BBB0000003: client=relay1[10.1.0.25]");
  h.feed(lines);
  REQUIRE(h.incidents().size() == 1);
  // Without the header's verdict the Basic line would be ambiguous between both messages and
  // reported again; with it, its join finds the reported message: one detection, one incident.
  const auto& incidents = h.feed({basic}).finish();
  REQUIRE(incidents.size() == 1);
  CHECK(incidents[0].confidence == Confidence::kExact);
  CHECK(incidents[0].queue_id == "BBB0000002");
  REQUIRE(incidents[0].origin);
  CHECK(incidents[0].origin->ip == "10.1.5.2");
  CHECK(h.correlator().stats().detections_merged == 1);
}

TEST_CASE("an amavis Blocked INFECTED line of the detected virus makes one exact incident",
          "[trace][verdict]") {
  // log-formats.md §6.2 (amavisd-new 2.7+ default template), Queue-ID of the second message:
  // amavis names the queue id, so its line joins the Basic detection as a companion and the
  // incident is traced by id; its verdict also marks that message infected by this virus.
  Harness h;
  const auto& incidents =
      h.feed(same_envelope_burst(
                 "Nov 28 05:10:02 gw1 amavis[48018]: (48018-02) Blocked INFECTED "
                 "(Win.Worm.Burst) {DiscardedInbound,Quarantined}, [10.1.0.25]:47128 "
                 "<boss@example.ac.jp> -> <kato@example.ac.jp>, quarantine: S/virus-SAW35wmw, "
                 "Queue-ID: BBB0000002, Message-ID: <b2@x>, mail_id: SAW35wmw, Hits: -, "
                 "size: 1226, 165 ms"))
          .finish();
  REQUIRE(incidents.size() == 1);
  CHECK(incidents[0].confidence == Confidence::kExact);
  CHECK(incidents[0].queue_id == "BBB0000002");
  REQUIRE(incidents[0].origin);
  CHECK(incidents[0].origin->ip == "10.1.5.2");
  CHECK(incidents[0].evidence.size() == 2);
}

TEST_CASE("a milter-hold naming no virus leaves same-envelope candidates ambiguous",
          "[trace][verdict]") {
  // mta-lab.md §A: postfix logs only "milter triggers HOLD action"; another milter (spam) may
  // hold a message too, so it does not say which message the scanner found.
  Harness h;
  const auto& incidents =
      h.feed(same_envelope_burst(
                 "Nov 28 05:10:02 gw1 postfix/cleanup[9]: BBB0000002: milter-hold: "
                 "END-OF-MESSAGE from relay1[10.1.0.25]: milter triggers HOLD action; "
                 "from=<boss@example.ac.jp> to=<kato@example.ac.jp> proto=ESMTP helo=<relay1>"))
          .finish();
  REQUIRE(incidents.size() == 1);
  CHECK(incidents[0].confidence == Confidence::kAmbiguous);
  CHECK_FALSE(incidents[0].origin);
}

TEST_CASE("an ISVW detection is not narrowed by the milter verdicts of the MTA behind it",
          "[trace][verdict][isvw]") {
  // A scanner in front of the MTA that deletes the infected part passes on a message the
  // MTA's milter then calls clean: that verdict is not about what ISVW saw.
  Harness h;
  h.feed({
      "Nov 28 05:20:01 gw2 sendmail[1]: 6AS5K1aa000001: from=<support@example.com>, size=1, "
      "class=0, nrcpts=1, proto=ESMTP, daemon=MTA, relay=[198.51.100.1]",
      "Nov 28 05:20:01 gw2 sendmail[1]: 6AS5K1aa000001: Milter add: header: X-Virus-Status: "
      "Clean",
      "Nov 28 05:20:02 gw2 sendmail[2]: 6AS5K2bb000002: from=<support@example.com>, size=1, "
      "class=0, nrcpts=1, proto=ESMTP, daemon=MTA, relay=[198.51.100.2]",
  });
  h.feed_as("gw2", isvw_record("11/28/26 05:20:02", "support@example.com", "office@example.ac.jp",
                               "photo.exe", "WORM_NETSKY.P"));
  const auto& incidents = h.finish();
  REQUIRE(incidents.size() == 1);
  CHECK(incidents[0].confidence == Confidence::kAmbiguous);
  CHECK(incidents[0].candidates.size() == 2);
}

namespace {

// Lines past the detection's settle time (its time plus clock_skew) from both hosts.
const std::vector<std::string> kLaterLines = {
    "Nov 28 05:10:10 relay1 postfix/smtpd[1]: AAA0000009: client=pc9[10.1.5.9]",
    "Nov 28 05:10:10 gw1 postfix/smtpd[9]: BBB0000009: client=relay1[10.1.0.25]",
};

}  // namespace

TEST_CASE("a candidate whose to= line is still to come is waited for, then ruled out by it",
          "[trace][verdict][pending]") {
  Harness h;
  h.feed(same_envelope_burst("")).feed(kLaterLines);
  // Settled, but neither candidate has logged its recipients yet: held, not called ambiguous.
  CHECK(h.incidents().empty());
  h.feed({
      "Nov 28 05:10:20 gw1 postfix/smtp[4]: BBB0000001: to=<sato@example.ac.jp>, "
      "relay=mx[198.51.100.9]:25, delay=19, delays=0/0/0/0, dsn=2.0.0, status=sent (250 2.0.0 "
      "Ok: queued as CCC0000001)",
  });
  const auto& incidents = h.finish();
  REQUIRE(incidents.size() == 1);
  CHECK(incidents[0].confidence == Confidence::kFuzzy);
  REQUIRE(incidents[0].origin);
  CHECK(incidents[0].origin->ip == "10.1.5.2");
}

TEST_CASE("a single candidate is not accepted on the sender alone before its to= line",
          "[trace][verdict][pending]") {
  Harness h;
  auto lines = same_envelope_burst("");
  // Only the second message reached gw1.
  std::erase_if(lines, [](const std::string& l) { return l.find("BBB0000001") != l.npos; });
  h.feed(lines).feed(kLaterLines);
  CHECK(h.incidents().empty());
  h.feed({
      "Nov 28 05:10:20 gw1 postfix/smtp[4]: BBB0000002: to=<kato@example.ac.jp>, "
      "relay=mx[198.51.100.9]:25, delay=18, delays=0/0/0/0, dsn=2.0.0, status=sent (250 2.0.0 "
      "Ok: queued as CCC0000002)",
      "Nov 28 05:10:22 relay1 postfix/smtpd[1]: AAA0000010: client=pc9[10.1.5.9]",
  });
  // Confirmed by its recipient: emitted without waiting for the end.
  REQUIRE(h.incidents().size() == 1);
  CHECK(h.incidents()[0].confidence == Confidence::kFuzzy);
  REQUIRE(h.incidents()[0].origin);
  CHECK(h.incidents()[0].origin->ip == "10.1.5.2");
}

TEST_CASE("an envelope-matched incident names the joined message's Message-ID and its hold",
          "[trace][verdict]") {
  // clamav-milter OnInfected Quarantine: postfix holds the message (mta-lab.md §A's line) and
  // logs its Message-ID; LogClean Full rules the first message out.
  Harness h;
  auto lines = same_envelope_burst(
      "Nov 28 05:10:01 gw1 clamav-milter[7]: Clean message BBB0000001 from <boss@example.ac.jp> "
      "to <kato@example.ac.jp> with subject 'hi' message-id '<c1@x>' date 'x'");
  lines.insert(lines.end() - 1,
               {"Nov 28 05:10:02 gw1 postfix/cleanup[6]: BBB0000002: "
                "message-id=<b2@example.net>",
                "Nov 28 05:10:02 gw1 postfix/cleanup[6]: BBB0000002: milter-hold: END-OF-MESSAGE "
                "from relay1[10.1.0.25]: milter triggers HOLD action; from=<boss@example.ac.jp> "
                "to=<kato@example.ac.jp> proto=ESMTP helo=<relay1>"});
  const auto& incidents = h.feed(lines).finish();
  REQUIRE(incidents.size() == 1);
  CHECK(incidents[0].confidence == Confidence::kFuzzy);
  CHECK(incidents[0].queue_id == "BBB0000002");
  CHECK(incidents[0].message_id == "b2@example.net");
  CHECK(incidents[0].action == "quarantined");
  REQUIRE(incidents[0].origin);
  CHECK(incidents[0].origin->ip == "10.1.5.2");
}

TEST_CASE("a LogInfected Full detection of a held message says it was quarantined",
          "[trace][verdict]") {
  // mta-lab.md §C (postfix 3.7 + clamav-milter through syslog), with the harness's host names
  // and addresses.
  Harness h;
  const auto& incidents =
      h.feed({
                 "Nov 28 05:08:17 relay1 postfix-relay/smtpd[29018]: 2B426A722AB: "
                 "client=unknown[10.200.1.10]",
                 "Nov 28 05:08:17 relay1 postfix-relay/cleanup[29020]: 2B426A722AB: "
                 "message-id=<s1-virus1@bank.example>",
                 "Nov 28 05:08:17 relay1 postfix-relay/smtp[29021]: 2B426A722AB: "
                 "to=<bob@partner.example>, relay=192.0.2.25[192.0.2.25]:25, delay=0.01, "
                 "delays=0/0/0/0.01, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as "
                 "2BFA3A722AF)",
                 "Nov 28 05:08:17 gw1 postfix/smtpd[29024]: 2BFA3A722AF: "
                 "client=unknown[10.1.0.25]",
                 "Nov 28 05:08:17 gw1 postfix/cleanup[29026]: 2BFA3A722AF: "
                 "message-id=<s1-virus1@bank.example>",
                 "Nov 28 05:08:17 gw1 clamav-milter[28811]: Message 2BFA3A722AF from "
                 "<it-support@bank.example> to <bob@partner.example> with subject 'Your invoice "
                 "s1' message-id '<s1-virus1@bank.example>' date 'Sat, 28 Nov 2026 05:08:17 "
                 "+0000' infected by Lab.Test.EICAR-NDB.UNOFFICIAL",
                 "Nov 28 05:08:17 gw1 postfix/cleanup[29026]: 2BFA3A722AF: milter-hold: "
                 "END-OF-MESSAGE from unknown[10.1.0.25]: milter triggers HOLD action; "
                 "from=<it-support@bank.example> to=<bob@partner.example> proto=ESMTP "
                 "helo=<relay.lab.test>",
             })
          .finish();
  REQUIRE(incidents.size() == 1);
  CHECK(incidents[0].confidence == Confidence::kExact);
  CHECK(incidents[0].action == "quarantined");
  REQUIRE(incidents[0].origin);
  CHECK(incidents[0].origin->ip == "10.200.1.10");
}

namespace {

// gw1 as a sendmail gateway with clamav-milter LogInfected Basic and AddHeader: two messages of
// one forged envelope from two PCs through relay1, both infected.
std::vector<std::string> sendmail_gateway_burst() {
  return {
      "Nov 28 05:10:01 relay1 postfix/smtpd[1]: AAA0000001: client=pc1[10.1.5.1]",
      "Nov 28 05:10:01 relay1 postfix/smtp[3]: AAA0000001: to=<kato@example.ac.jp>, "
      "relay=gw1[192.0.2.25]:25, delay=0.1, delays=0/0/0/0, dsn=2.0.0, status=sent (250 2.0.0 "
      "6AS5A1aa000001 Message accepted for delivery)",
      "Nov 28 05:10:02 relay1 postfix/smtpd[1]: AAA0000002: client=pc2[10.1.5.2]",
      "Nov 28 05:10:02 relay1 postfix/smtp[3]: AAA0000002: to=<kato@example.ac.jp>, "
      "relay=gw1[192.0.2.25]:25, delay=0.1, delays=0/0/0/0, dsn=2.0.0, status=sent (250 2.0.0 "
      "6AS5A2bb000002 Message accepted for delivery)",
      "Nov 28 05:10:01 gw1 sendmail[9]: 6AS5A1aa000001: from=<boss@example.ac.jp>, size=1, "
      "class=0, nrcpts=1, msgid=<m1@example.net>, proto=ESMTP, daemon=MTA, relay=relay1 "
      "[10.1.0.25]",
      "Nov 28 05:10:01 gw1 sendmail[9]: 6AS5A1aa000001: Milter add: header: X-Virus-Status: "
      "Infected (Win.Worm.Burst)",
      "Nov 28 05:10:01 gw1 clamav-milter[7]: Message from <boss@example.ac.jp> to "
      "<kato@example.ac.jp> infected by Win.Worm.Burst",
      "Nov 28 05:10:02 gw1 sendmail[8]: 6AS5A2bb000002: from=<boss@example.ac.jp>, size=1, "
      "class=0, nrcpts=1, msgid=<m2@example.net>, proto=ESMTP, daemon=MTA, relay=relay1 "
      "[10.1.0.25]",
      "Nov 28 05:10:02 gw1 clamav-milter[7]: Message from <boss@example.ac.jp> to "
      "<kato@example.ac.jp> infected by Win.Worm.Burst",
      "Nov 28 05:10:02 gw1 sendmail[8]: 6AS5A2bb000002: Milter add: header: X-Virus-Status: "
      "Infected (Win.Worm.Burst)",
  };
}

}  // namespace

TEST_CASE("a Basic detection and sendmail's X-Virus-Status line of its message are one incident",
          "[trace][verdict]") {
  Harness h;
  const auto& incidents = h.feed(sendmail_gateway_burst()).finish();
  // Each clamav-milter line joined the header line of a message with its envelope, in either
  // order: two incidents, not four, each traced by queue id.
  REQUIRE(incidents.size() == 2);
  std::vector<std::string> queue_ids, origins;
  for (const Incident& in : incidents) {
    CHECK(in.detector_format == "clamav-milter");
    CHECK(in.confidence == Confidence::kExact);
    CHECK(in.envelope_from == "boss@example.ac.jp");
    CHECK(in.evidence.size() == 2);
    queue_ids.push_back(in.queue_id);
    REQUIRE(in.origin);
    origins.push_back(in.origin->ip);
  }
  std::sort(queue_ids.begin(), queue_ids.end());
  std::sort(origins.begin(), origins.end());
  CHECK(queue_ids == std::vector<std::string>{"6AS5A1aa000001", "6AS5A2bb000002"});
  CHECK(origins == std::vector<std::string>{"10.1.5.1", "10.1.5.2"});
}

TEST_CASE("a header line of a message with another envelope does not join a Basic detection",
          "[trace][verdict]") {
  Harness h;
  auto lines = sendmail_gateway_burst();
  // The first message was from someone else: its header line is a detection of its own.
  lines[4] =
      "Nov 28 05:10:01 gw1 sendmail[9]: 6AS5A1aa000001: from=<other@example.ac.jp>, size=1, "
      "class=0, nrcpts=1, msgid=<m1@example.net>, proto=ESMTP, daemon=MTA, relay=relay1 "
      "[10.1.0.25]";
  lines.erase(lines.begin() + 8);  // and the second message was not infected
  lines.erase(lines.begin() + 8);
  const auto& incidents = h.feed(lines).finish();
  REQUIRE(incidents.size() == 2);
  const auto header = std::find_if(incidents.begin(), incidents.end(), [](const Incident& in) {
    return in.detector_format == "sendmail";
  });
  REQUIRE(header != incidents.end());
  CHECK(header->queue_id == "6AS5A1aa000001");
  REQUIRE(header->origin);
  CHECK(header->origin->ip == "10.1.5.1");
}

TEST_CASE("a relay echo waits for a gateway still delivering its backlog past settle_timeout",
          "[trace][live]") {
  // Live, gw1's lines reach the collector 16-20 s after they were logged (its backlog is
  // draining), relay1's at once. relay1's "550 5.7.1 Virus" bounce (an echo) must wait for
  // gw1's own detection, which is still in the backlog when settle_timeout (10 s) has passed;
  // gw1 keeps delivering, so the echo waits, and replay's one incident is what live gives.
  Harness h;
  // Seconds after 08:58:00: when the line was logged, and when the collector handles it.
  auto feed_at = [&h](const std::vector<std::string>& lines, int logged, int now) {
    h.feed(lines, vtrace::seconds(now - logged));
  };
  const std::vector<std::string> relay_lines(kRejectBackscatter.begin(),
                                             kRejectBackscatter.begin() + 3);
  const std::vector<std::string> gw_lines(kRejectBackscatter.begin() + 3,
                                          kRejectBackscatter.begin() + 7);
  const std::string& relay_bounce = kRejectBackscatter[7];
  REQUIRE(relay_bounce.find("status=bounced") != std::string::npos);
  feed_at({"Nov 28 08:58:20 gw1 postfix/smtpd[1]: AAAA000001: client=ext[198.51.100.9]"}, 20, 20);
  feed_at(relay_lines, 39, 39);
  feed_at({relay_bounce}, 39, 39);
  feed_at({"Nov 28 08:58:25 gw1 postfix/smtpd[1]: AAAA000002: client=ext[198.51.100.8]"}, 25, 45);
  feed_at({"Nov 28 08:58:30 gw1 postfix/smtpd[1]: AAAA000003: client=ext[198.51.100.7]"}, 30, 49);
  feed_at({"Nov 28 08:58:35 gw1 postfix/smtpd[1]: AAAA000004: client=ext[198.51.100.6]"}, 35, 53);
  CHECK(h.incidents().empty());
  feed_at(gw_lines, 39, 56);
  feed_at({"Nov 28 08:59:00 gw1 postfix/smtpd[1]: AAAA000005: client=ext[198.51.100.5]",
           "Nov 28 08:59:00 relay1 postfix/smtpd[1]: AAAA000006: client=pc5[10.1.5.5]"},
          60, 70);
  const auto& incidents = h.finish();
  REQUIRE(incidents.size() == 1);
  CHECK(incidents[0].detector_host == "gw1");
  CHECK(incidents[0].confidence == Confidence::kExact);
  REQUIRE(incidents[0].origin);
  CHECK(incidents[0].origin->ip == "10.1.23.45");
}

TEST_CASE("a full pending queue traces its oldest detection early, counts it and loses none",
          "[trace]") {
  auto second = kPostfixRelayChain;
  for (auto& line : second) {
    for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
             {"1345D2CCE8", "2345D2CCE9"},
             {"A39D5E08539", "B39D5E08539"},
             {"worm1@", "worm2@"},
             {"pc45.campus.example.ac.jp[10.1.23.45]", "pc46.campus.example.ac.jp[10.1.23.46]"}}) {
      for (auto at = line.find(from); at != std::string::npos; at = line.find(from, at)) {
        line.replace(at, from.size(), to);
        at += to.size();
      }
    }
  }
  // Both detections arrive before any MTA line, so both wait for their traces.
  const auto& first = kPostfixRelayChain;
  std::vector<std::string> lines = {first[6], first[7], second[6], second[7]};
  lines.insert(lines.end(), first.begin(), first.begin() + 6);
  lines.insert(lines.end(), second.begin(), second.begin() + 6);

  std::string yaml = vtrace::testing::kCampusYaml;
  const std::string section = "correlation:\n";
  yaml.insert(yaml.find(section) + section.size(), "  max_pending: 1\n");
  Harness h(yaml);
  const auto& incidents = h.feed(lines).finish();
  CHECK(h.correlator().stats().pending_dropped == 1);
  std::set<std::string> queue_ids;
  for (const auto& in : incidents) queue_ids.insert(in.queue_id);
  CHECK(queue_ids == std::set<std::string>{"A39D5E08539", "B39D5E08539"});
  const auto traced = std::find_if(incidents.begin(), incidents.end(),
                                   [](const Incident& in) { return in.queue_id == "B39D5E08539"; });
  REQUIRE(traced != incidents.end());
  REQUIRE(traced->origin);
  CHECK(traced->origin->ip == "10.1.23.46");

  Harness roomy;
  roomy.feed(lines).finish();
  CHECK(roomy.correlator().stats().pending_dropped == 0);
}
