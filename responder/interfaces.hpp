// The edges of the responder core: the clock, the mail transport, SNMP and waiting, behind
// interfaces so the core is deterministic under test (a FakeClock, a recording MailSender, an
// in-memory SNMP agent, a sleeper that advances the fake clock). HTTP is common/http_client.hpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "common/time.hpp"
#include "responder/config/config.hpp"

namespace vtrace::responder {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint now() const override {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

// How one delivery attempt ended (the style guide's ActionOutcome tiers): kRetry for a
// connection problem, a timeout or a 4xx reply; kFail for a 5xx reply or a local error that
// will not heal by itself.
enum class SendStatus { kSent, kRetry, kFail };

struct SendResult {
  SendStatus status = SendStatus::kFail;
  std::string detail;  // the server's reply or the transport error
};

class MailSender {
 public:
  virtual ~MailSender() = default;
  // Sends `message` (complete RFC 5322 text, CRLF) from `from` to `to`. Blocking; bounded by
  // the transport's timeouts. Called from one worker thread only.
  virtual SendResult send(const std::string& from, const std::vector<std::string>& to,
                          const std::string& message) = 0;
};

// ---- SNMP, for containment -----------------------------------------------------------------
// Only numbers ever reach SNMP: OIDs built from constants plus indexes read from the agents or
// the configuration, and INTEGER values 1/2. No text from an incident is ever an SNMP
// parameter; the origin IP (validated as an IP) is only compared with table indexes.

using Oid = std::vector<std::uint32_t>;

struct SnmpVar {
  enum class Type { kInteger, kBytes, kOther };
  Oid oid;
  Type type = Type::kOther;
  std::int64_t integer = 0;
  std::string bytes;
};

struct SnmpResult {
  bool ok = false;
  std::string error;  // transport error, error-status or varbind exception
  std::vector<SnmpVar> vars;
};

// One agent and how to talk to it (credentials resolved from the secrets file).
struct SnmpTarget {
  std::string name;
  std::string address;
  int port = 161;
  SnmpVersion version = SnmpVersion::kV2c;
  std::string context;
  SnmpCredential credential;
  Duration timeout = seconds(1);
  int retries = 1;
};

class SnmpClient {
 public:
  virtual ~SnmpClient() = default;
  // Every varbind under `prefix`, in agent order. ok=false on a transport or protocol error.
  virtual SnmpResult walk(const SnmpTarget& target, const Oid& prefix) = 0;
  // Several columns walked together, one result per prefix, in order. An agent answers them
  // in one GETBULK per page; this default walks them one by one.
  virtual std::vector<SnmpResult> walk_columns(const SnmpTarget& target,
                                               const std::vector<Oid>& prefixes) {
    std::vector<SnmpResult> out;
    for (const auto& prefix : prefixes) out.push_back(walk(target, prefix));
    return out;
  }
  // One object; ok=false also when the agent answers with an exception (noSuchInstance...).
  virtual SnmpResult get(const SnmpTarget& target, const Oid& oid) = 0;
  // SET oid = INTEGER value; ok=false on any error-status or exception varbind.
  virtual SnmpResult set_integer(const SnmpTarget& target, const Oid& oid, std::int64_t value) = 0;
};

// What a port write is about: the port, and the containment it serves (so an automation back
// end can name the incident in its job). The incident id and the MAC are the only values that
// came from outside; back ends hand them on only JSON-encoded or percent-encoded.
struct PortRequest {
  const SnmpDeviceConfig* device = nullptr;  // never null when a controller is called
  std::string port;                          // ifName
  std::int64_t if_index = 0;                 // a hint, re-resolved from the name before writing
  bool up = false;
  std::int64_t containment_id = 0;
  std::string incident_id;
  std::string origin_ip;
  std::string mac;
};

// Turns one switch port administratively up or down and verifies it: over SNMP
// (SnmpPortController) or through HTTP automation (WebhookPortController, AwxPortController).
struct PortWrite {
  bool ok = false;  // true only when the state was read back as requested
  std::int64_t if_index = 0;
  std::string detail;
};

class PortController {
 public:
  virtual ~PortController() = default;
  virtual PortWrite set_admin_status(const PortRequest& request) = 0;
};

// Waiting between retries and polls, behind an interface so unit tests advance a fake clock
// instead of sleeping.
class Sleeper {
 public:
  virtual ~Sleeper() = default;
  virtual void sleep_for(Duration d) = 0;
};

class ThreadSleeper final : public Sleeper {
 public:
  void sleep_for(Duration d) override { std::this_thread::sleep_for(std::chrono::microseconds(d)); }
};

}  // namespace vtrace::responder
