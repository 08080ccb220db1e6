// SnmpClient: the SNMP operations containment needs (walk, get, set an INTEGER), behind an
// interface so tests use an in-memory agent. The Net-SNMP implementation is netsnmp_client.hpp.
//
// Only numbers ever reach SNMP: OIDs built from constants plus indexes read from the agents or
// the configuration, and INTEGER values 1/2. No text from an incident is ever an SNMP
// parameter; the origin IP (validated as an IP) is only compared with table indexes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/time.hpp"
#include "responder/config/config.hpp"

namespace vtrace::responder {

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
  // Several objects, one result per OID, in order; an agent answers up to a PDU's worth in one
  // GET. This default asks them one by one.
  virtual std::vector<SnmpResult> get_many(const SnmpTarget& target, const std::vector<Oid>& oids) {
    std::vector<SnmpResult> out;
    for (const auto& oid : oids) out.push_back(get(target, oid));
    return out;
  }
  // SET oid = INTEGER value; ok=false on any error-status or exception varbind.
  virtual SnmpResult set_integer(const SnmpTarget& target, const Oid& oid, std::int64_t value) = 0;
};

}  // namespace vtrace::responder
