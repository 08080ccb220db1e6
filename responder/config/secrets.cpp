// The secrets file (secrets_file in responder.yaml): the API token, the SMTP password, the SNMP
// and HTTP credentials, and the check that every credential the configuration names is there.
// Values are never quoted in diagnostics.
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "responder/config/config.hpp"
#include "responder/config/config_parser.hpp"

namespace vtrace::responder {

using detail::read_file;

namespace {

// snmp_credentials: NAME: {community: X} or {user, auth_protocol, auth_key, priv_protocol,
// priv_key}. Values are never quoted in diagnostics.
void load_snmp_credentials(YamlReader& reader, const YAML::Node& node, Secrets& secrets) {
  if (node.IsNull()) return;
  if (!node.IsMap()) {
    reader.error(node, "type", "secrets.snmp_credentials: expected a mapping of names");
    return;
  }
  for (const auto& entry : node) {
    const std::string name = entry.first.Scalar();
    const std::string what = "secrets.snmp_credentials." + name;
    if (!reader.check_keys(
            entry.second,
            {"community", "user", "auth_protocol", "auth_key", "priv_protocol", "priv_key"},
            what)) {
      continue;
    }
    SnmpCredential c;
    for (const auto& kv : entry.second) {
      const std::string key = kv.first.Scalar();
      auto value = reader.string(kv.second, what + "." + key);
      if (!value) continue;
      if (key == "community") c.community = *value;
      if (key == "user") c.user = *value;
      if (key == "auth_key") c.auth_key = *value;
      if (key == "priv_key") c.priv_key = *value;
      if (key == "auth_protocol") {
        if (*value != "SHA" && *value != "MD5") {
          reader.error(kv.second, "value", what + ".auth_protocol: use SHA or MD5");
        }
        c.auth_protocol = *value;
      }
      if (key == "priv_protocol") {
        if (*value != "AES" && *value != "DES") {
          reader.error(kv.second, "value", what + ".priv_protocol: use AES or DES");
        }
        c.priv_protocol = *value;
      }
    }
    if (c.community.empty() == c.user.empty()) {
      reader.error(entry.first, "value",
                   what +
                       ": give either 'community' (v2c) or 'user' with 'auth_key' and "
                       "'priv_key' (v3 authPriv)");
    } else if (!c.user.empty() && (c.auth_key.size() < 8 || c.priv_key.size() < 8)) {
      reader.error(entry.first, "value",
                   what + ": SNMPv3 needs auth_key and priv_key of at least 8 characters");
    }
    secrets.snmp_credentials[name] = c;
  }
}

// http_credentials: NAME: {token: X} and/or {hmac_key: X}.
void load_http_credentials(YamlReader& reader, const YAML::Node& node, Secrets& secrets) {
  if (node.IsNull()) return;
  if (!node.IsMap()) {
    reader.error(node, "type", "secrets.http_credentials: expected a mapping of names");
    return;
  }
  for (const auto& entry : node) {
    const std::string name = entry.first.Scalar();
    const std::string what = "secrets.http_credentials." + name;
    if (!reader.check_keys(entry.second, {"token", "hmac_key"}, what)) continue;
    HttpCredential c;
    for (const auto& kv : entry.second) {
      const std::string key = kv.first.Scalar();
      auto value = reader.string(kv.second, what + "." + key);
      if (!value) continue;
      for (char ch : *value) {
        const auto u = static_cast<unsigned char>(ch);
        // A token goes into a header line: CR/LF or other controls would split it.
        if (u < 0x20 || u == 0x7f) {
          reader.error(kv.second, "value", what + "." + key + ": control characters");
          break;
        }
      }
      if (key == "token") c.token = *value;
      if (key == "hmac_key") {
        if (value->size() < 16) {
          reader.error(kv.second, "value",
                       what + ".hmac_key: too short (use at least 16 characters)");
        }
        c.hmac_key = *value;
      }
    }
    if (c.token.empty() && c.hmac_key.empty()) {
      reader.error(entry.first, "value", what + ": give 'token' (bearer) or 'hmac_key'");
    }
    secrets.http_credentials[name] = c;
  }
}

}  // namespace

std::optional<Secrets> load_secrets(const std::string& path, Diagnostics& diagnostics) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    diagnostics.error(path, 0, 0, "io",
                      "cannot read the secrets file: " + std::string(std::strerror(errno)));
    return std::nullopt;
  }
  if ((st.st_mode & (S_IROTH | S_IWOTH)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    diagnostics.error(path, 0, 0, "permissions",
                      "secrets file: mode " + std::string(mode) +
                          " lets other users read or write it; refusing to use it (the "
                          "package's own: chown root:vtrace, chmod 0640, readable by the service "
                          "and nobody else)");
    return std::nullopt;
  }
  auto text = read_file(path, "secrets file", diagnostics);
  if (!text) return std::nullopt;
  Diagnostics found;
  YamlReader reader(path, found);
  Secrets secrets;
  if (auto root = reader.load(*text)) {
    if (root->IsNull()) {
      // An empty secrets file holds no secrets; check_secrets says whether that is enough.
    } else if (reader.check_keys(
                   *root, {"api_token", "smtp_password", "snmp_credentials", "http_credentials"},
                   "secrets")) {
      for (const auto& entry : *root) {
        const std::string key = entry.first.Scalar();
        if (key == "snmp_credentials") {
          load_snmp_credentials(reader, entry.second, secrets);
          continue;
        }
        if (key == "http_credentials") {
          load_http_credentials(reader, entry.second, secrets);
          continue;
        }
        auto value = reader.string(entry.second, "secrets." + key);
        if (!value) continue;
        if (key == "api_token") {
          if (value->size() < 16) {
            reader.error(entry.second, "value",
                         "secrets.api_token: too short (use at least 16 characters)");
          }
          secrets.api_token = *value;
        } else if (key == "smtp_password") {
          secrets.smtp_password = *value;
        }
      }
    }
  }
  // The file's text must not be quoted in diagnostics: it holds secrets.
  for (const auto& d : found.items()) {
    diagnostics.error(d.file, d.line, d.column, d.code, d.message);
  }
  if (!found.empty()) return std::nullopt;
  return secrets;
}

bool check_secrets(const ResponderConfig& config, const Secrets& secrets,
                   Diagnostics& diagnostics) {
  bool ok = true;
  if (!is_loopback_address(config.listen.address) && secrets.api_token.empty()) {
    diagnostics.error(config.secrets_file.empty() ? config.path : config.secrets_file, 0, 0,
                      "secrets",
                      "listen.address " + config.listen.address +
                          " is not loopback, so the API needs an api_token in the secrets file");
    ok = false;
  }
  if (!config.smtp.username.empty() && secrets.smtp_password.empty()) {
    diagnostics.error(config.secrets_file.empty() ? config.path : config.secrets_file, 0, 0,
                      "secrets", "smtp.username is set, so the secrets file needs smtp_password");
    ok = false;
  }
  const std::string file = config.secrets_file.empty() ? config.path : config.secrets_file;
  for (const auto* list : {&config.containment.switches, &config.containment.routers}) {
    for (const auto& d : *list) {
      auto it = secrets.snmp_credentials.find(d.credential);
      if (it == secrets.snmp_credentials.end()) {
        diagnostics.error(file, 0, 0, "secrets",
                          "containment device " + d.name + " uses credential '" + d.credential +
                              "', which is not under snmp_credentials in the secrets file");
        ok = false;
      } else if ((d.version == SnmpVersion::kV3) != !it->second.user.empty()) {
        diagnostics.error(file, 0, 0, "secrets",
                          "containment device " + d.name + ": credential '" + d.credential +
                              "' is " +
                              (it->second.user.empty() ? "a v2c community" : "a v3 user") +
                              " but the device is configured for version " +
                              (d.version == SnmpVersion::kV3 ? "3" : "2c"));
        ok = false;
      }
    }
  }
  const ContainmentConfig& c = config.containment;
  auto need = [&](const std::string& what, const std::string& name, bool token, bool hmac) {
    auto it = secrets.http_credentials.find(name);
    const std::string kind = token ? "token (bearer)" : "hmac_key";
    if (it == secrets.http_credentials.end()) {
      diagnostics.error(file, 0, 0, "secrets",
                        what + " uses credential '" + name +
                            "', which is not under http_credentials in the secrets file");
      ok = false;
    } else if ((token && it->second.token.empty()) || (hmac && it->second.hmac_key.empty())) {
      diagnostics.error(file, 0, 0, "secrets", what + ": credential '" + name + "' has no " + kind);
      ok = false;
    }
  };
  if (c.webhook.configured && c.webhook.auth != HttpAuth::kNone) {
    need("containment.webhook", c.webhook.http.credential, c.webhook.auth == HttpAuth::kBearer,
         c.webhook.auth == HttpAuth::kHmac);
  } else if (c.webhook.configured && !c.webhook.http.credential.empty()) {
    need("containment.webhook", c.webhook.http.credential, false, false);
  }
  if (c.awx.configured) need("containment.awx", c.awx.http.credential, true, false);
  return ok;
}

}  // namespace vtrace::responder
