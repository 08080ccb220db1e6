// Test doubles and fixtures for the responder: a settable clock, a recording mail sender, and
// incidents shaped like the correlator's.
#pragma once

#include <deque>
#include <string>
#include <vector>

#include "common/incident.hpp"
#include "responder/clock.hpp"
#include "responder/config/config.hpp"
#include "responder/containment/port_controller.hpp"
#include "responder/containment/snmp_client.hpp"
#include "responder/mail/mail_sender.hpp"

namespace vtrace::responder::test {

class FakeClock final : public Clock {
 public:
  explicit FakeClock(TimePoint t = make_utc(2026, 11, 28, 5, 0, 0)) : now_(t) {}
  TimePoint now() const override { return now_; }
  void advance(Duration d) { now_ += d; }
  void set(TimePoint t) { now_ = t; }

 private:
  TimePoint now_;
};

struct SentMail {
  std::string from;
  std::vector<std::string> to;
  std::string message;
};

// Records every mail; answers from a script of results (then kSent).
class RecordingSender final : public MailSender {
 public:
  SendResult send(const std::string& from, const std::vector<std::string>& to,
                  const std::string& message) override {
    if (!script.empty()) {
      SendResult r = script.front();
      script.pop_front();
      if (r.status != SendStatus::kSent) {
        ++refused;
        return r;
      }
    }
    sent.push_back({from, to, message});
    return {SendStatus::kSent, "250 OK"};
  }
  std::deque<SendResult> script;
  std::vector<SentMail> sent;
  int refused = 0;
};

// An exact trace from an internal PC through one relay to the gateway that detected it.
inline Incident internal_incident(const std::string& id, TimePoint detected_at,
                                  const std::string& origin_ip = "10.1.23.45",
                                  const std::string& virus = "Worm.Mydoom.M") {
  Incident in;
  in.id = id;
  in.detected_at = detected_at;
  in.detector_host = "gw1";
  in.detector_format = "clamav-milter";
  in.virus = virus;
  in.action = "rejected";
  in.envelope_from = "forged@example.com";
  in.envelope_to = {"a@example.ac.jp"};
  in.queue_id = "4Q" + id;
  in.message_id = id + "@pc-45";
  in.hops = {
      Hop{"gw1", "4Q" + id, detected_at - seconds(1), "10.1.0.25", "relay1", HopLink::kQueueId},
      Hop{"relay1", "R" + id, detected_at - seconds(2), origin_ip, "pc-45",
          HopLink::kNextHopQueueId}};
  in.origin = Origin{origin_ip, "pc-45", true, "tsushima"};
  in.confidence = Confidence::kExact;
  in.evidence = {"Nov 28 05:00:36 gw1 clamav-milter[812]: 4Q" + id + ": Message infected by " +
                 virus};
  return in;
}

inline Incident external_incident(const std::string& id, TimePoint detected_at,
                                  const std::string& origin_ip = "198.51.100.7") {
  Incident in = internal_incident(id, detected_at, origin_ip, "Win.Trojan.Agent");
  in.hops.resize(1);
  in.hops[0].client_ip = origin_ip;
  in.hops[0].client_name = "mx.bad.example.net";
  in.origin = Origin{origin_ip, "mx.bad.example.net", false, ""};
  return in;
}

}  // namespace vtrace::responder::test
