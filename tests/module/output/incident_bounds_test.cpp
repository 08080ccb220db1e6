// Bounds on incident fields: whatever the log lines held, an incident fits the responder's
// body limit, and an ordinary incident is not touched.
#include "module/output/incident_bounds.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "support/correlator_harness.hpp"

using vtrace::Incident;

namespace {

Incident ordinary_incident() {
  Incident in;
  in.id = "34a74d1ac711fef0";
  in.detected_at = 1'796'000'000'000'000;
  in.detector_host = "gw1";
  in.detector_format = "clamav-milter";
  in.virus = "Win.Worm.Mydoom-1";
  in.action = "rejected";
  in.envelope_from = "billing@mail.example.org";
  in.envelope_to = {"kato@example.ac.jp"};
  in.queue_id = "A39D5E08539";
  in.message_id = "worm1@mail.example.org";
  in.subject = "Re: document";
  in.evidence = {"Nov 28 05:00:06 gw1 clamav-milter[777]: Message A39D5E08539 infected"};
  return in;
}

}  // namespace

TEST_CASE("an ordinary incident is left exactly as it is", "[incident][bounds]") {
  Incident in = ordinary_incident();
  const Incident before = in;
  CHECK(vtrace::bound_incident(in) == 0);
  CHECK(in == before);
}

TEST_CASE("an incident of huge attacker-written fields fits the body limit, cuts marked",
          "[incident][bounds]") {
  Incident in = ordinary_incident();
  in.queue_id = std::string(400'000, 'Q');
  in.subject = std::string(1'000'000, '\x01');  // every byte escaped as \u0001 in JSON
  in.envelope_to.assign(1000, std::string(5000, 'r'));
  in.files.assign(100, std::string(10'000, 'f'));
  in.evidence.assign(50, std::string(300'000, '\x02'));
  in.note = std::string(100'000, 'n');
  CHECK(vtrace::bound_incident(in) > 0);
  const std::string json = vtrace::to_json(in);
  CHECK(json.size() <= vtrace::kMaxIncidentJsonBytes);
  CHECK(in.queue_id.size() <= vtrace::kMaxQueueIdBytes);
  CHECK(in.queue_id.ends_with("\xE2\x80\xA6"));
  CHECK(in.envelope_to.size() == vtrace::kMaxIncidentRecipients);
  CHECK(in.files.size() == vtrace::kMaxFiles);
  CHECK(in.evidence.size() == vtrace::kMaxEvidenceLines);
  CHECK(vtrace::incident_from_json(json, nullptr).has_value());
}

TEST_CASE("a cut never splits a UTF-8 character", "[incident][bounds]") {
  std::string text;
  for (int i = 0; i < 100; ++i) text += "\xE6\x97\xA5";  // 日, three bytes
  CHECK(vtrace::cap_text(text, 20));
  CHECK(text.size() <= 20);
  // 17 bytes of room before the ellipsis: five whole characters.
  CHECK(text == std::string("\xE6\x97\xA5\xE6\x97\xA5\xE6\x97\xA5\xE6\x97\xA5\xE6\x97\xA5") +
                    "\xE2\x80\xA6");
  std::string short_text = "abc";
  CHECK_FALSE(vtrace::cap_text(short_text, 20));
  CHECK(short_text == "abc");
}

TEST_CASE("a detection line with a 400,000-character queue id gives an incident that fits",
          "[incident][bounds][trace]") {
  vtrace::testing::Harness h;
  const std::string qid(400'000, 'A');
  const auto& incidents =
      h.feed({"2026-11-28T05:00:06.100000+00:00 gw1 postfix/smtpd[29377]: " + qid +
                  ": client=relay1.campus.example.ac.jp[10.1.0.25]",
              "2026-11-28T05:00:06.410000+00:00 gw1 postfix/cleanup[29402]: " + qid +
                  ": milter-reject: END-OF-MESSAGE from relay1.campus.example.ac.jp[10.1.0.25]: "
                  "5.7.1 Virus Win.Worm.Mydoom-1 detected by gateway; from=<a@b.example> "
                  "to=<kato@example.ac.jp> proto=ESMTP helo=<relay1>"})
          .finish();
  REQUIRE(incidents.size() == 1);
  for (const auto& in : incidents) {
    CHECK(vtrace::to_json(in).size() <= vtrace::kMaxIncidentJsonBytes);
  }
  CHECK(h.correlator().stats().incidents_cut == incidents.size());
}
