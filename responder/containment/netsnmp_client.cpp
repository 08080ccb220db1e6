// SnmpClient over libnetsnmp: snmp_sess_init / snmp_sess_open / snmp_sess_synch_response.
// Numeric OIDs only (no MIB files are loaded). Sessions are kept open per target and reused:
// opening one costs a socket and, for v3, an engine-ID probe, on the path from incident to
// shut port. A session that timed out is closed, so the next request probes afresh (an agent
// that restarted has a new engine boot count).
#include "responder/containment/netsnmp_client.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>

// clang-format off
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
// clang-format on

namespace vtrace::responder {

namespace {

constexpr std::size_t kMaxWalk = 200'000;
constexpr std::size_t kMaxSessions = 256;
constexpr long kFirstRepetitions = 10;
constexpr long kMaxRepetitions = 50;
constexpr long kMaxVarbinds = 60;  // per GETBULK answer, all columns together

std::once_flag init_once;

void init_library(const std::string& persistent_dir) {
  std::call_once(init_once, [&] {
    setenv("MIBS", "", 1);
    std::error_code ec;
    std::filesystem::create_directories(persistent_dir, ec);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_READ_CONFIGS, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_SAVE, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_PERSIST_STATE, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_QUICK_PRINT, 1);
    netsnmp_ds_set_string(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_PERSISTENT_DIR,
                          persistent_dir.c_str());
    init_snmp("vtrace-responder");  // needed for SNMPv3 (USM)
  });
}

std::string session_error(void* ss) {
  char* err = nullptr;
  snmp_sess_error(ss, nullptr, nullptr, &err);
  std::string out = err ? err : "unknown error";
  free(err);
  return out;
}

class NetSnmpClient final : public SnmpClient {
 public:
  explicit NetSnmpClient(std::string dir) : dir_(std::move(dir)) { init_library(dir_); }

  ~NetSnmpClient() override {
    for (auto& [key, ss] : sessions_) snmp_sess_close(ss);
  }

  SnmpResult walk(const SnmpTarget& target, const Oid& prefix) override {
    return walk_columns(target, {prefix}).front();
  }

  // Every column advances in the same GETBULK: k columns of a small table cost one round trip
  // instead of k. A column leaves the request once it has walked past its prefix.
  std::vector<SnmpResult> walk_columns(const SnmpTarget& target,
                                       const std::vector<Oid>& prefixes) override {
    std::lock_guard lock(mutex_);
    std::vector<SnmpResult> results(prefixes.size());
    std::string error;
    void* ss = session(target, &error);
    if (!ss) {
      for (auto& r : results) r.error = error;
      return results;
    }
    std::vector<Oid> current = prefixes;
    std::vector<bool> done(prefixes.size(), false);
    // Start small and grow: most tables walked here (one switch's ports, its FDB, one
    // router's ARP entries) fit in a page or two, and an agent computes every repetition asked
    // for, including those past the end of the table.
    long repetitions = kFirstRepetitions;
    std::string failure;
    for (;;) {
      std::vector<std::size_t> active;
      for (std::size_t i = 0; i < prefixes.size(); ++i) {
        if (!done[i]) active.push_back(i);
      }
      if (active.empty()) break;
      const long width = static_cast<long>(active.size());
      netsnmp_pdu* pdu = snmp_pdu_create(SNMP_MSG_GETBULK);
      pdu->non_repeaters = 0;
      pdu->max_repetitions = std::max(1L, std::min(repetitions, kMaxVarbinds / width));
      repetitions = std::min(repetitions * 2, kMaxRepetitions);
      for (std::size_t i : active) {
        std::vector<oid> name(current[i].begin(), current[i].end());
        snmp_add_null_var(pdu, name.data(), name.size());
      }
      netsnmp_pdu* response = nullptr;
      if (!exchange(ss, pdu, &response, &failure)) break;
      if (response->errstat != SNMP_ERR_NOERROR) {
        failure = snmp_errstring(static_cast<int>(response->errstat));
        snmp_free_pdu(response);
        break;
      }
      if (!response->variables) {
        for (std::size_t i : active) done[i] = true;
      }
      // The answer holds the rows in order: repetition r of active column j at r*width + j.
      std::size_t position = 0;
      for (netsnmp_variable_list* v = response->variables; v; v = v->next_variable) {
        const std::size_t i = active[position++ % active.size()];
        if (done[i]) continue;
        const Oid& prefix = prefixes[i];
        if (v->type == SNMP_ENDOFMIBVIEW || v->type == SNMP_NOSUCHOBJECT ||
            v->type == SNMP_NOSUCHINSTANCE) {
          done[i] = true;
          continue;
        }
        Oid got(v->name, v->name + v->name_length);
        if (got.size() <= prefix.size() || !std::equal(prefix.begin(), prefix.end(), got.begin())) {
          done[i] = true;
          continue;
        }
        if (!(current[i] < got)) {  // an agent that does not advance would loop forever
          results[i].error = "the agent returned a non-increasing OID";
          done[i] = true;
          continue;
        }
        results[i].vars.push_back(convert(v));
        current[i] = std::move(got);
        if (results[i].vars.size() >= kMaxWalk) {
          results[i].error = "table too large";
          done[i] = true;
        }
      }
      snmp_free_pdu(response);
    }
    for (std::size_t i = 0; i < results.size(); ++i) {
      if (!failure.empty() && results[i].error.empty()) results[i].error = failure;
      results[i].ok = results[i].error.empty();
    }
    if (!failure.empty()) drop_after_timeout(target, failure);
    return results;
  }

  SnmpResult get(const SnmpTarget& target, const Oid& object) override {
    return single(target, SNMP_MSG_GET, object, 0);
  }

  SnmpResult set_integer(const SnmpTarget& target, const Oid& object, std::int64_t value) override {
    return single(target, SNMP_MSG_SET, object, value);
  }

  std::vector<SnmpResult> get_many(const SnmpTarget& target,
                                   const std::vector<Oid>& objects) override {
    // Small PDUs: well under any agent's message size, and one lost datagram costs little.
    constexpr std::size_t kPerPdu = 24;
    std::vector<SnmpResult> results(objects.size());
    for (std::size_t first = 0; first < objects.size(); first += kPerPdu) {
      const std::size_t last = std::min(objects.size(), first + kPerPdu);
      std::lock_guard lock(mutex_);
      std::string error;
      void* ss = session(target, &error);
      netsnmp_pdu* response = nullptr;
      if (ss) {
        netsnmp_pdu* pdu = snmp_pdu_create(SNMP_MSG_GET);
        for (std::size_t i = first; i < last; ++i) {
          std::vector<oid> name(objects[i].begin(), objects[i].end());
          snmp_add_null_var(pdu, name.data(), name.size());
        }
        if (exchange(ss, pdu, &response, &error) && response->errstat != SNMP_ERR_NOERROR) {
          error =
              std::string("error-status ") + snmp_errstring(static_cast<int>(response->errstat));
        }
      }
      netsnmp_variable_list* v = error.empty() && response ? response->variables : nullptr;
      for (std::size_t i = first; i < last; ++i, v = v ? v->next_variable : nullptr) {
        SnmpResult& r = results[i];
        if (!error.empty()) {
          r.error = error;
        } else if (!v) {
          r.error = "empty response";
        } else if (v->type == SNMP_NOSUCHOBJECT) {
          r.error = "noSuchObject";
        } else if (v->type == SNMP_NOSUCHINSTANCE) {
          r.error = "noSuchInstance";
        } else if (v->type == SNMP_ENDOFMIBVIEW) {
          r.error = "endOfMibView";
        } else {
          r.vars.push_back(convert(v));
          r.ok = true;
        }
      }
      if (response) snmp_free_pdu(response);
      if (!error.empty()) {
        drop_after_timeout(target, error);
        if (error.rfind("timeout", 0) == 0) {
          for (std::size_t i = last; i < objects.size(); ++i) results[i].error = error;
          break;
        }
      }
    }
    return results;
  }

 private:
  SnmpResult single(const SnmpTarget& target, int command, const Oid& object, std::int64_t value) {
    std::lock_guard lock(mutex_);
    SnmpResult result;
    std::string error;
    void* ss = session(target, &error);
    if (!ss) {
      result.error = error;
      return result;
    }
    netsnmp_pdu* pdu = snmp_pdu_create(command);
    std::vector<oid> name(object.begin(), object.end());
    if (command == SNMP_MSG_SET) {
      long v = static_cast<long>(value);
      snmp_pdu_add_variable(pdu, name.data(), name.size(), ASN_INTEGER, &v, sizeof v);
    } else {
      snmp_add_null_var(pdu, name.data(), name.size());
    }
    netsnmp_pdu* response = nullptr;
    if (exchange(ss, pdu, &response, &result.error)) {
      if (response->errstat != SNMP_ERR_NOERROR) {
        result.error =
            std::string("error-status ") + snmp_errstring(static_cast<int>(response->errstat));
      } else if (!response->variables) {
        result.error = "empty response";
      } else {
        netsnmp_variable_list* v = response->variables;
        // snmpsim and some agents answer errstat 0 with an exception varbind.
        if (v->type == SNMP_NOSUCHOBJECT) {
          result.error = "noSuchObject";
        } else if (v->type == SNMP_NOSUCHINSTANCE) {
          result.error = "noSuchInstance";
        } else if (v->type == SNMP_ENDOFMIBVIEW) {
          result.error = "endOfMibView";
        } else {
          result.vars.push_back(convert(v));
          result.ok = true;
        }
      }
      snmp_free_pdu(response);
    }
    if (!result.ok) drop_after_timeout(target, result.error);
    return result;
  }

  // Everything that makes two targets different sessions.
  static std::string key_of(const SnmpTarget& t) {
    const auto& c = t.credential;
    std::string key;
    for (const std::string* part : {&t.address, &c.community, &c.user, &c.auth_protocol,
                                    &c.auth_key, &c.priv_protocol, &c.priv_key, &t.context}) {
      key += std::to_string(part->size()) + ":" + *part;
    }
    return key + "|" + std::to_string(t.port) + "|" +
           std::to_string(t.version == SnmpVersion::kV3) + "|" + std::to_string(t.timeout) + "|" +
           std::to_string(t.retries);
  }

  void* session(const SnmpTarget& target, std::string* error) {
    const std::string key = key_of(target);
    if (auto it = sessions_.find(key); it != sessions_.end()) return it->second;
    if (sessions_.size() >= kMaxSessions) {
      for (auto& [k, ss] : sessions_) snmp_sess_close(ss);
      sessions_.clear();
    }
    void* ss = open(target, error);
    if (ss) sessions_[key] = ss;
    return ss;
  }

  void drop_after_timeout(const SnmpTarget& target, const std::string& error) {
    if (error.rfind("timeout", 0) != 0) return;
    if (auto it = sessions_.find(key_of(target)); it != sessions_.end()) {
      snmp_sess_close(it->second);
      sessions_.erase(it);
    }
  }

  static SnmpVar convert(const netsnmp_variable_list* v) {
    SnmpVar out;
    out.oid.assign(v->name, v->name + v->name_length);
    switch (v->type) {
      case ASN_INTEGER:
        out.type = SnmpVar::Type::kInteger;
        out.integer = *v->val.integer;
        break;
      case ASN_GAUGE:
      case ASN_COUNTER:
      case ASN_TIMETICKS:
        out.type = SnmpVar::Type::kInteger;
        out.integer =
            static_cast<std::int64_t>(static_cast<unsigned long>(*v->val.integer) & 0xffffffffUL);
        break;
      case ASN_OCTET_STR:
        out.type = SnmpVar::Type::kBytes;
        out.bytes.assign(reinterpret_cast<const char*>(v->val.string), v->val_len);
        break;
      default:
        out.type = SnmpVar::Type::kOther;
    }
    return out;
  }

  static bool exchange(void* ss, netsnmp_pdu* pdu, netsnmp_pdu** response, std::string* error) {
    const int status = snmp_sess_synch_response(ss, pdu, response);  // frees pdu
    if (status == STAT_SUCCESS && *response) return true;
    *error = status == STAT_TIMEOUT ? "timeout (no response)" : session_error(ss);
    if (*response) snmp_free_pdu(*response);
    *response = nullptr;
    return false;
  }

  void* open(const SnmpTarget& t, std::string* error) {
    netsnmp_session s;
    snmp_sess_init(&s);
    const bool v6 = t.address.find(':') != std::string::npos;
    std::string peer =
        (v6 ? "udp6:[" + t.address + "]" : "udp:" + t.address) + ":" + std::to_string(t.port);
    s.peername = peer.data();
    s.timeout = static_cast<long>(t.timeout);  // microseconds per try
    s.retries = t.retries;
    std::string community = t.credential.community;
    std::string user = t.credential.user;
    std::string context = t.context;
    if (t.version == SnmpVersion::kV2c) {
      s.version = SNMP_VERSION_2c;
      s.community = reinterpret_cast<u_char*>(community.data());
      s.community_len = community.size();
    } else {
      s.version = SNMP_VERSION_3;
      s.securityName = user.data();
      s.securityNameLen = user.size();
      s.securityLevel = SNMP_SEC_LEVEL_AUTHPRIV;
      s.securityModel = SNMP_SEC_MODEL_USM;
      if (!context.empty()) {
        s.contextName = context.data();
        s.contextNameLen = context.size();
      }
      const bool md5 = t.credential.auth_protocol == "MD5";
      s.securityAuthProto =
          const_cast<oid*>(md5 ? usmHMACMD5AuthProtocol : usmHMACSHA1AuthProtocol);
      s.securityAuthProtoLen = md5 ? USM_AUTH_PROTO_MD5_LEN : USM_AUTH_PROTO_SHA_LEN;
      s.securityAuthKeyLen = USM_AUTH_KU_LEN;
      std::string auth = t.credential.auth_key;
      std::string priv = t.credential.priv_key;
      if (generate_Ku(s.securityAuthProto, static_cast<u_int>(s.securityAuthProtoLen),
                      reinterpret_cast<u_char*>(auth.data()), auth.size(), s.securityAuthKey,
                      &s.securityAuthKeyLen) != SNMPERR_SUCCESS) {
        *error = "cannot derive the SNMPv3 auth key";
        return nullptr;
      }
      const bool des = t.credential.priv_protocol == "DES";
      s.securityPrivProto = const_cast<oid*>(des ? usmDESPrivProtocol : usmAESPrivProtocol);
      s.securityPrivProtoLen = des ? USM_PRIV_PROTO_DES_LEN : USM_PRIV_PROTO_AES_LEN;
      s.securityPrivKeyLen = USM_PRIV_KU_LEN;
      if (generate_Ku(s.securityAuthProto, static_cast<u_int>(s.securityAuthProtoLen),
                      reinterpret_cast<u_char*>(priv.data()), priv.size(), s.securityPrivKey,
                      &s.securityPrivKeyLen) != SNMPERR_SUCCESS) {
        *error = "cannot derive the SNMPv3 priv key";
        return nullptr;
      }
    }
    void* ss = snmp_sess_open(&s);  // copies what it needs out of s
    if (!ss) {
      char* err = nullptr;
      snmp_error(&s, nullptr, nullptr, &err);
      *error = std::string("cannot open an SNMP session to ") + peer + ": " + (err ? err : "?");
      free(err);
    }
    return ss;
  }

  std::string dir_;
  std::mutex mutex_;
  std::map<std::string, void*> sessions_;  // by key_of(target)
};

}  // namespace

std::unique_ptr<SnmpClient> make_netsnmp_client(const std::string& persistent_dir) {
  return std::make_unique<NetSnmpClient>(persistent_dir);
}

}  // namespace vtrace::responder
