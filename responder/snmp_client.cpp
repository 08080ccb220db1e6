// SnmpClient over libnetsnmp: snmp_sess_init / snmp_sess_open / snmp_sess_synch_response.
// Numeric OIDs only (no MIB files are loaded). A session per request keeps the code simple;
// a v3 open costs one engine-ID probe.
#include "responder/snmp_client.hpp"

#include <cstdlib>
#include <filesystem>
#include <mutex>

// clang-format off
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
// clang-format on

namespace vtrace::responder {

namespace {

constexpr std::size_t kMaxWalk = 200'000;

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

  SnmpResult walk(const SnmpTarget& target, const Oid& prefix) override {
    SnmpResult result;
    std::string error;
    void* ss = open(target, &error);
    if (!ss) {
      result.error = error;
      return result;
    }
    Oid current = prefix;
    bool done = false;
    while (!done) {
      netsnmp_pdu* pdu = snmp_pdu_create(SNMP_MSG_GETBULK);
      pdu->non_repeaters = 0;
      pdu->max_repetitions = 30;
      std::vector<oid> name(current.begin(), current.end());
      snmp_add_null_var(pdu, name.data(), name.size());
      netsnmp_pdu* response = nullptr;
      if (!exchange(ss, pdu, &response, &result.error)) break;
      if (response->errstat != SNMP_ERR_NOERROR) {
        result.error = snmp_errstring(static_cast<int>(response->errstat));
        snmp_free_pdu(response);
        break;
      }
      if (!response->variables) done = true;
      for (netsnmp_variable_list* v = response->variables; v && !done; v = v->next_variable) {
        if (v->type == SNMP_ENDOFMIBVIEW || v->type == SNMP_NOSUCHOBJECT ||
            v->type == SNMP_NOSUCHINSTANCE) {
          done = true;
          break;
        }
        Oid got(v->name, v->name + v->name_length);
        if (got.size() <= prefix.size() || !std::equal(prefix.begin(), prefix.end(), got.begin())) {
          done = true;
          break;
        }
        if (!(current < got)) {  // an agent that does not advance would loop forever
          result.error = "the agent returned a non-increasing OID";
          done = true;
          break;
        }
        result.vars.push_back(convert(v));
        current = std::move(got);
        if (result.vars.size() >= kMaxWalk) {
          result.error = "table too large";
          done = true;
        }
      }
      snmp_free_pdu(response);
      if (!result.error.empty()) break;
    }
    snmp_sess_close(ss);
    result.ok = result.error.empty();
    return result;
  }

  SnmpResult get(const SnmpTarget& target, const Oid& object) override {
    return single(target, SNMP_MSG_GET, object, 0);
  }

  SnmpResult set_integer(const SnmpTarget& target, const Oid& object, std::int64_t value) override {
    return single(target, SNMP_MSG_SET, object, value);
  }

 private:
  SnmpResult single(const SnmpTarget& target, int command, const Oid& object, std::int64_t value) {
    SnmpResult result;
    std::string error;
    void* ss = open(target, &error);
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
    snmp_sess_close(ss);
    return result;
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
};

}  // namespace

std::unique_ptr<SnmpClient> make_netsnmp_client(const std::string& persistent_dir) {
  return std::make_unique<NetSnmpClient>(persistent_dir);
}

}  // namespace vtrace::responder
