// The edges of the responder core: the clock and the mail transport, behind interfaces so the
// core is deterministic under test (a FakeClock, a recording MailSender).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/time.hpp"
#include "responder/config.hpp"

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
  // One object; ok=false also when the agent answers with an exception (noSuchInstance...).
  virtual SnmpResult get(const SnmpTarget& target, const Oid& oid) = 0;
  // SET oid = INTEGER value; ok=false on any error-status or exception varbind.
  virtual SnmpResult set_integer(const SnmpTarget& target, const Oid& oid, std::int64_t value) = 0;
};

// Turns one switch port administratively up or down and verifies it. Implemented over SNMP
// (SnmpPortController); an HTTP automation back end would implement the same.
struct PortWrite {
  bool ok = false;  // true only when the state was read back as requested
  std::int64_t if_index = 0;
  std::string detail;
};

class PortController {
 public:
  virtual ~PortController() = default;
  // `port` is the ifName; `if_index` a hint that is re-resolved from the name before writing.
  virtual PortWrite set_admin_status(const SnmpDeviceConfig& device, const std::string& port,
                                     std::int64_t if_index, bool up) = 0;
};

}  // namespace vtrace::responder
