// Loading and validation of the responder's YAML configuration and its secrets file.
//
// Same rules as the correlator's settings (module/settings.cpp): every problem is recorded with
// the position of the node that causes it, parsing goes on after an error so the operator sees
// all of them at once, unknown keys are errors, and nothing is clamped over a bad value.
#include "responder/config.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "common/url.hpp"
#include "common/yaml_fields.hpp"
#include "common/yaml_schema.hpp"
#include "responder/containment/http_backend.hpp"
#include "responder/mail/templates.hpp"

namespace vtrace::responder {

std::string_view to_string(ActionType t) {
  switch (t) {
    case ActionType::kMail:
      return "mail";
    case ActionType::kMailAbuse:
      return "mail_abuse";
    case ActionType::kMailSender:
      return "mail_sender";
    case ActionType::kLog:
      return "log";
    case ActionType::kDisablePort:
      return "disable_port";
  }
  return "log";
}

std::string_view to_string(PortBackend b) {
  switch (b) {
    case PortBackend::kSnmp:
      return "snmp";
    case PortBackend::kWebhook:
      return "webhook";
    case PortBackend::kAwx:
      return "awx";
  }
  return "snmp";
}

PortBackend backend_of(const ContainmentConfig& config, const SnmpDeviceConfig& device) {
  return device.backend.value_or(config.backend);
}

bool is_loopback_address(const std::string& address) {
  if (address == "localhost") return true;
  auto ip = IpAddress::parse(address);
  return ip && ip->is_loopback();
}

bool is_safe_address(std::string_view a) {
  if (a.empty() || a.size() > 254) return false;
  const auto at = a.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == a.size()) return false;
  if (a.find('@') != at) return false;
  for (char c : a) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return false;
    if (std::string_view("\"<>(),;:[]\\").find(c) != std::string_view::npos) return false;
  }
  const std::string_view domain = a.substr(at + 1);
  if (domain.front() == '.' || domain.back() == '.' ||
      domain.find("..") != std::string_view::npos) {
    return false;
  }
  return std::all_of(domain.begin(), domain.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.';
  });
}

namespace {

constexpr Duration kMinute = seconds(60);
constexpr Duration kHour = seconds(3600);
constexpr Duration kDay = seconds(86400);

using Field = YamlField;

bool valid_name(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
  });
}

std::string lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

// A value quoted in a message: control characters escaped so a diagnostic stays one line.
std::string printable(std::string_view s) {
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\r') {
      out += "\\r";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

int line_of(const YAML::Node& node) { return node.Mark().is_null() ? 0 : node.Mark().line + 1; }

std::optional<std::string> read_file(const std::string& path, const std::string& what,
                                     Diagnostics& diagnostics) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    diagnostics.error(path, 0, 0, "io", "cannot read the " + what + ": it is a directory");
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    diagnostics.error(path, 0, 0, "io",
                      "cannot read the " + what + ": " + std::string(std::strerror(errno)));
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    diagnostics.error(path, 0, 0, "io", "cannot read the " + what + ": read error");
    return std::nullopt;
  }
  return text.str();
}

class ConfigParser;

}  // namespace

std::optional<std::string> normalise_mac(std::string_view text) {
  std::string hex;
  for (char c : text) {
    if (c == ':' || c == '-' || c == '.') continue;
    const char l = (c >= 'A' && c <= 'F') ? static_cast<char>(c - 'A' + 'a') : c;
    if (!((l >= '0' && l <= '9') || (l >= 'a' && l <= 'f'))) return std::nullopt;
    hex += l;
  }
  if (hex.size() != 12) return std::nullopt;
  std::string out;
  for (std::size_t i = 0; i < 12; i += 2) {
    if (i) out += ':';
    out += hex.substr(i, 2);
  }
  return out;
}

namespace {

class ConfigParser : YamlFieldParser {
 public:
  explicit ConfigParser(const std::string& path) : YamlFieldParser(path) { config_.path = path; }

  std::optional<ResponderConfig> parse(const std::string& text, Diagnostics& out) {
    if (auto root = load(config_.path, text, out)) parse_root(*root);
    if (!report(out)) return std::nullopt;
    return std::move(config_);
  }

 private:
  void parse_root(const YAML::Node& root) {
    if (root.IsNull() || !root.IsDefined()) {
      reader_.error_at(YAML::Mark(), "missing-key",
                       "the configuration is empty; 'policies' is required");
      return;
    }
    if (!reader_.check_keys(root,
                            {"listen", "state_file", "secrets_file", "smtp", "mail", "policies",
                             "abuse_contacts", "own_domains", "containment"},
                            "configuration")) {
      return;
    }
    if (auto f = find_field(root, "listen")) parse_listen(*f);
    if (auto f = find_field(root, "state_file")) {
      if (auto s = nonempty_string(*f, "state_file")) config_.state_file = *s;
    }
    if (auto f = find_field(root, "secrets_file")) {
      if (auto s = nonempty_string(*f, "secrets_file")) config_.secrets_file = *s;
    }
    if (auto f = find_field(root, "smtp")) parse_smtp(*f);
    // Templates are looked up in mail.templates_dir, so mail goes before the policies.
    if (auto f = find_field(root, "mail")) parse_mail(*f);
    if (auto f = find_field(root, "own_domains")) parse_own_domains(*f);
    if (auto f = find_field(root, "abuse_contacts")) parse_abuse_contacts(*f);
    // disable_port actions need the containment section, so it goes before the policies.
    if (auto f = find_field(root, "containment")) parse_containment(*f);
    if (auto f = find_field(root, "policies")) {
      parse_policies(*f);
    } else {
      reader_.error(root, "missing-key", "configuration: the key 'policies' is required");
    }
  }

  // ---- generic helpers: see YamlFieldParser ----------------------------------------------

  // A list of mail addresses, each checked by is_safe_address.
  std::vector<std::string> addresses(const Field& f, const std::string& what) {
    std::vector<std::string> out;
    auto items = scalar_items(f, what);
    if (!items) return out;
    for (const auto& item : *items) {
      if (!is_safe_address(item.Scalar())) {
        reader_.error(item, "address",
                      what + ": '" + printable(item.Scalar()) +
                          "' is not a mail address such as "
                          "postmaster@example.org");
        continue;
      }
      out.push_back(item.Scalar());
    }
    return out;
  }

  static std::string item_label(const std::string& list, std::size_t index) {
    return list + "[" + std::to_string(index) + "]";
  }

  // ---- listen, smtp, mail ----------------------------------------------------------------

  void parse_listen(const Field& f) {
    if (f.value.IsNull()) return;
    const YAML::Node& map = f.value;
    if (!reader_.check_keys(map, {"address", "port", "body_limit", "timeout", "web_root"},
                            "listen")) {
      return;
    }
    ListenConfig& l = config_.listen;
    if (auto k = find_field(map, "address")) {
      if (auto s = nonempty_string(*k, "listen.address")) {
        if (*s == "localhost" || IpAddress::parse(*s)) {
          l.address = *s;
        } else {
          reader_.error(k->value, "address",
                        "listen.address: '" + *s + "' is not an IP address (or localhost)");
        }
      }
    }
    if (auto k = find_field(map, "port")) {
      if (auto n = integer(*k, "listen.port", 0, 65535)) l.port = static_cast<int>(*n);
    }
    if (auto k = find_field(map, "body_limit")) {
      // At least the correlator's largest incident (kMaxIncidentJsonBytes), or an incident
      // could be refused for its size and never delivered.
      if (auto n = integer(*k, "listen.body_limit", 256 << 10, 64 << 20)) l.body_limit = *n;
    }
    if (auto k = find_field(map, "timeout")) {
      if (auto d = duration(*k, "listen.timeout", seconds(1), seconds(600), "[1s, 10m]")) {
        l.timeout = *d;
      }
    }
    if (auto k = find_field(map, "web_root")) {
      if (auto s = nonempty_string(*k, "listen.web_root")) l.web_root = *s;
    }
  }

  void parse_smtp(const Field& f) {
    if (f.value.IsNull()) return;
    const YAML::Node& map = f.value;
    if (!reader_.check_keys(map,
                            {"host", "port", "tls", "username", "from", "helo", "ca_file",
                             "timeout", "retry_initial", "retry_max", "max_attempts"},
                            "smtp")) {
      return;
    }
    SmtpConfig& s = config_.smtp;
    if (auto k = find_field(map, "host")) {
      if (auto v = nonempty_string(*k, "smtp.host")) {
        if (valid_name(*v) || IpAddress::parse(*v)) {
          s.host = *v;
        } else {
          reader_.error(k->value, "value", "smtp.host: '" + *v + "' is not a host name");
        }
      }
    }
    if (auto k = find_field(map, "port")) {
      if (auto n = integer(*k, "smtp.port", 1, 65535)) s.port = static_cast<int>(*n);
    }
    if (auto k = find_field(map, "tls")) {
      if (has_value(*k, "smtp.tls", "none, starttls or smtps")) {
        if (auto c = reader_.choice(k->value, "smtp.tls", {"none", "starttls", "smtps"})) {
          s.tls = *c == "starttls" ? SmtpTls::kStartTls
                  : *c == "smtps"  ? SmtpTls::kSmtps
                                   : SmtpTls::kNone;
        }
      }
    }
    if (auto k = find_field(map, "username")) {
      if (auto v = nonempty_string(*k, "smtp.username")) s.username = *v;
    }
    if (auto k = find_field(map, "from")) {
      if (auto v = nonempty_string(*k, "smtp.from")) {
        if (is_safe_address(*v)) {
          s.from = *v;
        } else {
          reader_.error(k->value, "address",
                        "smtp.from: '" + *v +
                            "' is not a mail address such as "
                            "vtrace@example.org");
        }
      }
    }
    if (auto k = find_field(map, "helo")) {
      if (auto v = nonempty_string(*k, "smtp.helo")) {
        if (valid_name(*v)) {
          s.helo = *v;
        } else {
          reader_.error(k->value, "value", "smtp.helo: '" + *v + "' is not a host name");
        }
      }
    }
    if (auto k = find_field(map, "ca_file")) {
      if (auto v = nonempty_string(*k, "smtp.ca_file")) s.ca_file = *v;
    }
    if (auto k = find_field(map, "timeout")) {
      if (auto d = duration(*k, "smtp.timeout", seconds(1), seconds(600), "[1s, 10m]")) {
        s.timeout = *d;
      }
    }
    if (auto k = find_field(map, "retry_initial")) {
      if (auto d = duration(*k, "smtp.retry_initial", seconds(1), kHour, "[1s, 1h]")) {
        s.retry_initial = *d;
      }
    }
    if (auto k = find_field(map, "retry_max")) {
      if (auto d = duration(*k, "smtp.retry_max", seconds(1), kDay, "[1s, 1d]")) s.retry_max = *d;
    }
    if (auto k = find_field(map, "max_attempts")) {
      if (auto n = integer(*k, "smtp.max_attempts", 1, 1000)) s.max_attempts = static_cast<int>(*n);
    }
  }

  void parse_mail(const Field& f) {
    if (f.value.IsNull()) return;
    const YAML::Node& map = f.value;
    if (!reader_.check_keys(map, {"per_recipient_per_hour", "templates_dir", "max_outbox"},
                            "mail")) {
      return;
    }
    MailConfig& m = config_.mail;
    if (auto k = find_field(map, "per_recipient_per_hour")) {
      if (auto n = integer(*k, "mail.per_recipient_per_hour", 1, 10'000)) {
        m.per_recipient_per_hour = static_cast<int>(*n);
      }
    }
    if (auto k = find_field(map, "templates_dir")) {
      if (auto v = nonempty_string(*k, "mail.templates_dir")) {
        std::error_code ec;
        if (std::filesystem::is_directory(*v, ec)) {
          m.templates_dir = *v;
        } else {
          reader_.error(k->value, "io", "mail.templates_dir: '" + *v + "' is not a directory");
        }
      }
    }
    if (auto k = find_field(map, "max_outbox")) {
      if (auto n = integer(*k, "mail.max_outbox", 10, 100'000'000)) m.max_outbox = *n;
    }
  }

  void parse_own_domains(const Field& f) {
    auto items = scalar_items(f, "own_domains");
    if (!items) return;
    for (const auto& item : *items) {
      const std::string d = lower(item.Scalar());
      if (!is_safe_address("x@" + d)) {
        reader_.error(item, "value", "own_domains: '" + item.Scalar() + "' is not a domain name");
        continue;
      }
      config_.own_domains.push_back(d);
    }
  }

  void parse_abuse_contacts(const Field& f) {
    auto items = sequence(f, "abuse_contacts");
    if (!items) return;
    for (std::size_t i = 0; i < items->size(); ++i) {
      const YAML::Node& node = (*items)[i];
      const std::string what = item_label("abuse_contacts", i);
      if (!reader_.check_keys(node, {"cidrs", "address"}, what)) continue;
      AbuseContact contact;
      if (auto k = find_field(node, "cidrs")) {
        if (auto values = scalar_items(*k, what + ".cidrs")) {
          if (values->empty()) {
            reader_.error(k->key, "value", what + ".cidrs: at least one network is required");
          }
          for (const auto& item : *values) {
            if (auto cidr = Cidr::parse(item.Scalar())) {
              contact.cidrs.push_back(*cidr);
            } else {
              reader_.error(item, "cidr",
                            what + ".cidrs: '" + item.Scalar() +
                                "' is not a network such as 198.51.100.0/24 or 2001:db8::/32");
            }
          }
        }
      } else {
        reader_.error(node, "missing-key", what + ": the key 'cidrs' is required");
      }
      if (auto k = find_field(node, "address")) {
        auto list = addresses(*k, what + ".address");
        if (list.size() == 1) {
          contact.address = list.front();
        } else if (list.size() > 1) {
          reader_.error(k->value, "value", what + ".address: give exactly one address");
        }
      } else {
        reader_.error(node, "missing-key", what + ": the key 'address' is required");
      }
      config_.abuse_contacts.push_back(std::move(contact));
    }
  }

  // ---- containment -----------------------------------------------------------------------

  void parse_containment(const Field& f) {
    ContainmentConfig& c = config_.containment;
    c.configured = true;
    if (f.value.IsNull()) return;
    const YAML::Node& map = f.value;
    if (!reader_.check_keys(
            map,
            {"protected_hosts", "switches", "routers", "static_map", "uplink_max_macs",
             "lldp_uplinks", "location_max_age", "snmp_timeout", "snmp_retries", "breaker",
             "backend", "webhook", "awx", "table_max_age", "table_refresh"},
            "containment")) {
      return;
    }
    std::optional<Field> backend_field = find_field(map, "backend");
    if (backend_field) {
      if (auto b = port_backend(*backend_field, "containment.backend")) c.backend = *b;
    }
    if (auto k = find_field(map, "webhook")) parse_webhook(*k);
    if (auto k = find_field(map, "awx")) parse_awx(*k);
    if (auto k = find_field(map, "protected_hosts")) {
      if (auto values = scalar_items(*k, "containment.protected_hosts")) {
        for (const auto& item : *values) {
          std::string text = item.Scalar();
          if (text.find('/') == std::string::npos) {
            if (auto ip = IpAddress::parse(text)) text += ip->is_v4() ? "/32" : "/128";
          }
          if (auto cidr = Cidr::parse(text)) {
            c.protected_hosts.push_back(*cidr);
          } else {
            reader_.error(item, "cidr",
                          "containment.protected_hosts: '" + printable(item.Scalar()) +
                              "' is not an address or network such as 10.1.0.25 or 10.1.0.0/24");
          }
        }
      }
    }
    if (auto k = find_field(map, "switches")) parse_devices(*k, "containment.switches", true);
    if (auto k = find_field(map, "routers")) parse_devices(*k, "containment.routers", false);
    if (auto k = find_field(map, "static_map")) parse_static_map(*k);
    if (auto k = find_field(map, "uplink_max_macs")) {
      if (auto n = integer(*k, "containment.uplink_max_macs", 1, 100'000)) {
        c.uplink_max_macs = static_cast<int>(*n);
      }
    }
    if (auto k = find_field(map, "lldp_uplinks")) {
      if (auto b = boolean(*k, "containment.lldp_uplinks")) c.lldp_uplinks = *b;
    }
    if (auto k = find_field(map, "location_max_age")) {
      if (auto d = duration(*k, "containment.location_max_age", seconds(0), kDay, "[0s, 1d]")) {
        c.location_max_age = *d;
      }
    }
    if (auto k = find_field(map, "table_max_age")) {
      if (auto d = duration(*k, "containment.table_max_age", seconds(0), kHour, "[0s, 1h]")) {
        c.table_max_age = *d;
      }
    }
    if (auto k = find_field(map, "table_refresh")) {
      if (auto d = duration(*k, "containment.table_refresh", seconds(0), kHour, "[0s, 1h]")) {
        c.table_refresh = *d;
      }
    }
    if (auto k = find_field(map, "snmp_timeout")) {
      if (auto d = duration(*k, "containment.snmp_timeout", seconds(1) / 10, seconds(60),
                            "[100ms, 60s]")) {
        c.snmp_timeout = *d;
      }
    }
    if (auto k = find_field(map, "snmp_retries")) {
      if (auto n = integer(*k, "containment.snmp_retries", 0, 10))
        c.snmp_retries = static_cast<int>(*n);
    }
    if (auto k = find_field(map, "breaker")) {
      if (!k->value.IsNull() &&
          reader_.check_keys(k->value, {"max_per_hour", "max_per_switch_per_hour", "notify"},
                             "containment.breaker")) {
        BreakerConfig& b = c.breaker;
        if (auto n = find_field(k->value, "max_per_hour")) {
          if (auto v = integer(*n, "containment.breaker.max_per_hour", 0, 10'000)) {
            b.max_per_hour = static_cast<int>(*v);
          }
        }
        if (auto n = find_field(k->value, "max_per_switch_per_hour")) {
          if (auto v = integer(*n, "containment.breaker.max_per_switch_per_hour", 0, 10'000)) {
            b.max_per_switch_per_hour = static_cast<int>(*v);
          }
        }
        if (auto n = find_field(k->value, "notify")) {
          b.notify = addresses(*n, "containment.breaker.notify");
        }
      }
    }
    // Static entries may only name configured access switches.
    for (std::size_t i = 0; i < static_nodes_.size(); ++i) {
      const std::string& dev = c.static_map[i].device;
      const bool known = std::any_of(c.switches.begin(), c.switches.end(),
                                     [&](const SnmpDeviceConfig& s) { return s.name == dev; });
      if (!dev.empty() && !known) {
        reader_.error(static_nodes_[i], "value",
                      item_label("containment.static_map", i) + ".switch: '" + dev +
                          "' is not one of containment.switches (only configured access "
                          "switches are ever written)");
      }
    }
    check_backends(backend_field);
  }

  // Every back end in use must be configured; the error points at where it is chosen.
  void check_backends(const std::optional<Field>& global) {
    const ContainmentConfig& c = config_.containment;
    auto require = [&](PortBackend b, const YAML::Node& where, const std::string& what) {
      if (b == PortBackend::kWebhook && !c.webhook.configured) {
        reader_.error(where, "missing-key",
                      what + ": backend webhook needs the 'containment.webhook' section");
      } else if (b == PortBackend::kAwx && !c.awx.configured) {
        reader_.error(where, "missing-key",
                      what + ": backend awx needs the 'containment.awx' section");
      }
    };
    if (global) require(c.backend, global->value, "containment.backend");
    for (std::size_t i = 0; i < c.switches.size(); ++i) {
      if (c.switches[i].backend) {
        require(*c.switches[i].backend, backend_nodes_[i],
                item_label("containment.switches", i) + ".backend");
      }
    }
  }

  std::optional<PortBackend> port_backend(const Field& f, const std::string& what) {
    if (!has_value(f, what, "snmp, webhook or awx")) return std::nullopt;
    auto c = reader_.choice(f.value, what, {"snmp", "webhook", "awx"});
    if (!c) return std::nullopt;
    return *c == "webhook" ? PortBackend::kWebhook
           : *c == "awx"   ? PortBackend::kAwx
                           : PortBackend::kSnmp;
  }

  // A URL template: known placeholders, and a valid http(s) URL once rendered.
  std::optional<std::string> url_template(const Field& f, const std::string& what) {
    auto v = nonempty_string(f, what);
    if (!v) return std::nullopt;
    std::string problem;
    auto t = RequestTemplate::compile(*v, RequestTemplate::Encoding::kUrl, &problem);
    if (t && parse_url(t->render(sample_template_values()), &problem)) return v;
    reader_.error(f.value, "value", what + ": " + problem);
    return std::nullopt;
  }

  // timeout, attempts, retry_initial, credential, ca_file: shared by webhook and awx.
  void parse_http_endpoint(const YAML::Node& map, const std::string& what, HttpEndpointConfig& h) {
    if (auto k = find_field(map, "credential")) {
      if (auto v = nonempty_string(*k, what + ".credential")) {
        if (valid_name(*v)) {
          h.credential = *v;
        } else {
          reader_.error(k->value, "value",
                        what + ".credential: '" + printable(*v) + "' is not a credential name");
        }
      }
    }
    if (auto k = find_field(map, "timeout")) {
      if (auto d = duration(*k, what + ".timeout", seconds(1) / 10, seconds(300), "[100ms, 5m]")) {
        h.timeout = *d;
      }
    }
    if (auto k = find_field(map, "attempts")) {
      if (auto n = integer(*k, what + ".attempts", 1, 20)) h.attempts = static_cast<int>(*n);
    }
    if (auto k = find_field(map, "retry_initial")) {
      if (auto d =
              duration(*k, what + ".retry_initial", seconds(1) / 100, seconds(300), "[10ms, 5m]")) {
        h.retry_initial = *d;
      }
    }
    if (auto k = find_field(map, "ca_file")) {
      if (auto v = nonempty_string(*k, what + ".ca_file")) {
        std::error_code ec;
        if (std::filesystem::is_regular_file(*v, ec)) {
          h.ca_file = *v;
        } else {
          reader_.error(k->value, "io", what + ".ca_file: '" + printable(*v) + "' is not a file");
        }
      }
    }
  }

  void parse_verify(const Field& f, const std::string& what, VerifyConfig& v, bool awx) {
    const char* methods = awx ? "snmp or job" : "status_url or snmp";
    if (!has_value(f, what, std::string("a mapping with 'method' (") + methods + ")")) return;
    if (!reader_.check_keys(
            f.value, {"method", "url", "field", "down", "up", "attempts", "interval"}, what)) {
      return;
    }
    auto method = find_field(f.value, "method");
    if (!method) {
      reader_.error(f.key, "missing-key",
                    what + ": the key 'method' is required (" + methods + ")");
    } else if (has_value(*method, what + ".method", methods)) {
      auto c = awx ? reader_.choice(method->value, what + ".method", {"snmp", "job"})
                   : reader_.choice(method->value, what + ".method", {"status_url", "snmp"});
      if (c) {
        v.method = *c == "status_url" ? VerifyMethod::kStatusUrl
                   : *c == "job"      ? VerifyMethod::kJob
                                      : VerifyMethod::kSnmp;
      }
    }
    const bool status_url = v.method == VerifyMethod::kStatusUrl;
    for (const char* key : {"url", "field", "down", "up"}) {
      auto k = find_field(f.value, key);
      if (k && !status_url) {
        reader_.error(k->key, "value", what + ": '" + key + "' applies only to method status_url");
      }
    }
    if (status_url) {
      if (auto k = find_field(f.value, "url")) {
        if (auto u = url_template(*k, what + ".url")) v.url = *u;
      } else {
        reader_.error(f.key, "missing-key",
                      what + ": method status_url needs 'url' (where the port state is read)");
      }
      if (auto k = find_field(f.value, "field")) {
        if (auto p = nonempty_string(*k, what + ".field")) {
          if (p->front() != '/') {
            reader_.error(k->value, "value",
                          what + ".field: '" + printable(*p) +
                              "' is not a JSON pointer such as /admin_status or /port/state");
          } else {
            v.field = *p;
          }
        }
      }
      for (auto [key, out] : {std::pair{"down", &v.down}, std::pair{"up", &v.up}}) {
        if (auto k = find_field(f.value, key)) {
          if (auto s = nonempty_string(*k, what + "." + key)) *out = *s;
        }
      }
    }
    if (auto k = find_field(f.value, "attempts")) {
      if (auto n = integer(*k, what + ".attempts", 1, 100)) v.attempts = static_cast<int>(*n);
    }
    if (auto k = find_field(f.value, "interval")) {
      if (auto d = duration(*k, what + ".interval", seconds(1) / 100, seconds(300), "[10ms, 5m]")) {
        v.interval = *d;
      }
    }
  }

  void parse_webhook(const Field& f) {
    const std::string what = "containment.webhook";
    if (!has_value(f, what, "a mapping with url, body and verify")) return;
    if (!reader_.check_keys(f.value,
                            {"url", "method", "body", "auth", "signature_header", "credential",
                             "timeout", "attempts", "retry_initial", "ca_file", "verify"},
                            what)) {
      return;
    }
    WebhookConfig& w = config_.containment.webhook;
    w.configured = true;
    w.verify.method = VerifyMethod::kStatusUrl;
    if (auto k = find_field(f.value, "url")) {
      if (auto u = url_template(*k, what + ".url")) w.url = *u;
    } else {
      reader_.error(f.key, "missing-key", what + ": the key 'url' is required");
    }
    if (auto k = find_field(f.value, "method")) {
      if (has_value(*k, what + ".method", "POST, PUT or PATCH")) {
        if (auto c = reader_.choice(k->value, what + ".method", {"POST", "PUT", "PATCH"})) {
          w.method = *c;
        }
      }
    }
    if (auto k = find_field(f.value, "body")) {
      if (auto b = nonempty_string(*k, what + ".body")) {
        std::string problem;
        auto t = RequestTemplate::compile(*b, RequestTemplate::Encoding::kJson, &problem);
        if (t) {
          boost::system::error_code ec;
          boost::json::parse(t->render(sample_template_values()), ec);
          if (ec) {
            problem = "not JSON once rendered (" + ec.message() +
                      "); write placeholders bare, e.g. {\"port\": {{port}}}: they are "
                      "rendered as JSON values, quotes included";
            t.reset();
          }
        }
        if (t) {
          w.body = *b;
        } else {
          reader_.error(k->value, "value", what + ".body: " + problem);
        }
      }
    } else {
      reader_.error(f.key, "missing-key", what + ": the key 'body' is required (a JSON template)");
    }
    auto auth = find_field(f.value, "auth");
    if (auth && has_value(*auth, what + ".auth", "none, bearer or hmac")) {
      if (auto c = reader_.choice(auth->value, what + ".auth", {"none", "bearer", "hmac"})) {
        w.auth = *c == "bearer" ? HttpAuth::kBearer
                 : *c == "hmac" ? HttpAuth::kHmac
                                : HttpAuth::kNone;
      }
    }
    if (auto k = find_field(f.value, "signature_header")) {
      if (auto v = nonempty_string(*k, what + ".signature_header")) {
        if (valid_name(*v) && v->find('.') == std::string::npos) {
          w.signature_header = *v;
        } else {
          reader_.error(k->value, "value",
                        what + ".signature_header: '" + printable(*v) + "' is not a header name");
        }
      }
    }
    parse_http_endpoint(f.value, what, w.http);
    if (w.auth != HttpAuth::kNone && w.http.credential.empty() &&
        !find_field(f.value, "credential")) {
      reader_.error(auth->value, "missing-key",
                    what + ": auth " + (w.auth == HttpAuth::kBearer ? "bearer" : "hmac") +
                        " needs 'credential' (a name under http_credentials in the secrets "
                        "file)");
    }
    if (auto k = find_field(f.value, "verify")) {
      parse_verify(*k, what + ".verify", w.verify, false);
    } else {
      reader_.error(f.key, "missing-key",
                    what +
                        ": the key 'verify' is required (status_url or snmp): a write that is "
                        "not verified is never reported as done");
    }
  }

  void parse_awx(const Field& f) {
    const std::string what = "containment.awx";
    if (!has_value(f, what, "a mapping with url, job_template and credential")) return;
    if (!reader_.check_keys(
            f.value,
            {"url", "job_template", "release_job_template", "credential", "timeout", "attempts",
             "retry_initial", "ca_file", "poll_interval", "job_timeout", "verify"},
            what)) {
      return;
    }
    AwxConfig& a = config_.containment.awx;
    a.configured = true;
    a.verify.method = VerifyMethod::kSnmp;
    if (auto k = find_field(f.value, "url")) {
      if (auto v = nonempty_string(*k, what + ".url")) {
        std::string problem;
        if (v->find("{{") != std::string::npos) {
          reader_.error(k->value, "value",
                        what +
                            ".url: the controller's base URL takes no "
                            "placeholders");
        } else if (auto u = parse_url(*v, &problem); !u) {
          reader_.error(k->value, "value", what + ".url: " + problem);
        } else if (u->target.find('?') != std::string::npos) {
          reader_.error(k->value, "value", what + ".url: the base URL takes no query");
        } else {
          a.url = *v;
        }
      }
    } else {
      reader_.error(f.key, "missing-key", what + ": the key 'url' is required");
    }
    if (auto k = find_field(f.value, "job_template")) {
      if (auto n = integer(*k, what + ".job_template", 1, 2147483647)) a.job_template = *n;
    } else {
      reader_.error(f.key, "missing-key",
                    what + ": the key 'job_template' is required (its numeric id)");
    }
    if (auto k = find_field(f.value, "release_job_template")) {
      if (auto n = integer(*k, what + ".release_job_template", 1, 2147483647)) {
        a.release_job_template = *n;
      }
    }
    parse_http_endpoint(f.value, what, a.http);
    if (!find_field(f.value, "credential")) {
      reader_.error(f.key, "missing-key",
                    what +
                        ": the key 'credential' is required (a name under "
                        "http_credentials with a token)");
    }
    if (auto k = find_field(f.value, "poll_interval")) {
      if (auto d =
              duration(*k, what + ".poll_interval", seconds(1) / 100, seconds(60), "[10ms, 1m]")) {
        a.poll_interval = *d;
      }
    }
    if (auto k = find_field(f.value, "job_timeout")) {
      if (auto d = duration(*k, what + ".job_timeout", seconds(1), kHour, "[1s, 1h]")) {
        a.job_timeout = *d;
      }
    }
    if (auto k = find_field(f.value, "verify")) parse_verify(*k, what + ".verify", a.verify, true);
  }

  void parse_devices(const Field& f, const std::string& what, bool is_switch) {
    auto items = sequence(f, what);
    if (!items) return;
    auto& out = is_switch ? config_.containment.switches : config_.containment.routers;
    for (std::size_t i = 0; i < items->size(); ++i) {
      const YAML::Node& node = (*items)[i];
      std::string label = item_label(what, i);
      bool ok =
          is_switch
              ? reader_.check_keys(node,
                                   {"name", "address", "port", "version", "credential", "context",
                                    "dry_run", "protected", "protected_ports", "uplinks", "backend",
                                    "fdb_vlans", "vlan_context"},
                                   label)
              : reader_.check_keys(
                    node, {"name", "address", "port", "version", "credential", "context"}, label);
      if (!ok) continue;
      SnmpDeviceConfig d;
      if (auto k = find_field(node, "name")) {
        if (auto v = nonempty_string(*k, label + ".name")) {
          if (!valid_name(*v)) {
            reader_.error(k->value, "value",
                          label + ".name: '" + printable(*v) + "' is not a name");
          } else if (auto [it, inserted] = device_names_.emplace(*v, line_of(k->value));
                     !inserted) {
            reader_.error(k->value, "duplicate-name",
                          label + ".name: device '" + *v + "' is already defined at line " +
                              std::to_string(it->second));
          } else {
            d.name = *v;
          }
        }
      } else {
        reader_.error(node, "missing-key", label + ": the key 'name' is required");
      }
      if (auto k = find_field(node, "address")) {
        if (auto v = nonempty_string(*k, label + ".address")) {
          if (IpAddress::parse(*v) || valid_name(*v)) {
            d.address = *v;
          } else {
            reader_.error(k->value, "address",
                          label + ".address: '" + printable(*v) + "' is not an address");
          }
        }
      } else {
        reader_.error(node, "missing-key", label + ": the key 'address' is required");
      }
      if (auto k = find_field(node, "port")) {
        if (auto n = integer(*k, label + ".port", 1, 65535)) d.port = static_cast<int>(*n);
      }
      if (auto k = find_field(node, "version")) {
        if (has_value(*k, label + ".version", "2c or 3")) {
          if (auto c = reader_.choice(k->value, label + ".version", {"2c", "3"})) {
            d.version = *c == "3" ? SnmpVersion::kV3 : SnmpVersion::kV2c;
          }
        }
      }
      if (auto k = find_field(node, "credential")) {
        if (auto v = nonempty_string(*k, label + ".credential")) {
          if (valid_name(*v)) {
            d.credential = *v;
          } else {
            reader_.error(k->value, "value",
                          label + ".credential: '" + printable(*v) + "' is not a credential name");
          }
        }
      } else {
        reader_.error(node, "missing-key",
                      label +
                          ": the key 'credential' is required (a name under "
                          "snmp_credentials in the secrets file)");
      }
      if (auto k = find_field(node, "context")) {
        if (auto v = nonempty_string(*k, label + ".context")) d.context = *v;
      }
      if (is_switch) {
        if (auto k = find_field(node, "backend")) {
          d.backend = port_backend(*k, label + ".backend");
          backend_nodes_.push_back(k->value);
        } else {
          backend_nodes_.push_back(node);
        }
        if (auto k = find_field(node, "dry_run")) {
          if (auto b = boolean(*k, label + ".dry_run")) d.dry_run = *b;
        }
        if (auto k = find_field(node, "fdb_vlans")) {
          if (auto values = scalar_items(*k, label + ".fdb_vlans")) {
            for (const auto& item : *values) {
              int vlan = 0;
              const std::string& text = item.Scalar();
              const bool digits = !text.empty() && text.size() <= 4 &&
                                  text.find_first_not_of("0123456789") == std::string::npos;
              if (digits) vlan = std::stoi(text);
              if (vlan < 1 || vlan > 4094) {
                reader_.error(
                    item, "value",
                    label + ".fdb_vlans: '" + printable(text) + "' is not a VLAN id (1-4094)");
                continue;
              }
              d.fdb_vlans.push_back(vlan);
            }
          }
        }
        if (auto k = find_field(node, "vlan_context")) {
          if (auto v = nonempty_string(*k, label + ".vlan_context")) {
            if (v->find("{vlan}") == std::string::npos) {
              reader_.error(k->value, "value",
                            label + ".vlan_context: '" + printable(*v) +
                                "' must contain {vlan} (e.g. vlan-{vlan})");
            } else {
              d.vlan_context = *v;
            }
          }
        }
        if (auto k = find_field(node, "protected")) {
          if (auto b = boolean(*k, label + ".protected")) d.is_protected = *b;
        }
        for (auto [key, list] :
             {std::pair{"protected_ports", &d.protected_ports}, std::pair{"uplinks", &d.uplinks}}) {
          if (auto k = find_field(node, key)) {
            if (auto values = scalar_items(*k, label + "." + key)) {
              for (const auto& item : *values) {
                if (item.Scalar().empty()) {
                  reader_.error(item, "value",
                                label + "." + key + ": a port name must not be empty");
                  continue;
                }
                list->push_back(item.Scalar());
              }
            }
          }
        }
      }
      out.push_back(std::move(d));
    }
  }

  void parse_static_map(const Field& f) {
    auto items = sequence(f, "containment.static_map");
    if (!items) return;
    for (std::size_t i = 0; i < items->size(); ++i) {
      const YAML::Node& node = (*items)[i];
      const std::string label = item_label("containment.static_map", i);
      if (!reader_.check_keys(node, {"ip", "mac", "switch", "port", "if_index"}, label)) continue;
      StaticPort e;
      auto ip = find_field(node, "ip");
      auto mac = find_field(node, "mac");
      if (!ip == !mac) {
        reader_.error(node, "value", label + ": give exactly one of 'ip' or 'mac'");
      }
      if (ip) {
        if (auto v = nonempty_string(*ip, label + ".ip")) {
          if (auto a = IpAddress::parse(*v)) {
            e.ip = a->to_string();
          } else {
            reader_.error(ip->value, "address",
                          label + ".ip: '" + printable(*v) + "' is not an IP address");
          }
        }
      }
      if (mac) {
        if (auto v = nonempty_string(*mac, label + ".mac")) {
          if (auto m = normalise_mac(*v)) {
            e.mac = *m;
          } else {
            reader_.error(
                mac->value, "value",
                label + ".mac: '" + printable(*v) + "' is not a MAC such as 00:50:56:aa:00:01");
          }
        }
      }
      auto switch_field = find_field(node, "switch");
      if (auto k = switch_field) {
        if (auto v = nonempty_string(*k, label + ".switch")) e.device = *v;
      } else {
        reader_.error(node, "missing-key", label + ": the key 'switch' is required");
      }
      auto port = find_field(node, "port");
      auto index = find_field(node, "if_index");
      if (!port == !index) {
        reader_.error(node, "value", label + ": give exactly one of 'port' (ifName) or 'if_index'");
      }
      if (port) {
        if (auto v = nonempty_string(*port, label + ".port")) e.port = *v;
      }
      if (index) {
        if (auto n = integer(*index, label + ".if_index", 1, 2147483647)) e.if_index = *n;
      }
      config_.containment.static_map.push_back(std::move(e));
      // (yaml-cpp's Node::operator= writes through, so no Node variable is reassigned here)
      static_nodes_.push_back(switch_field ? switch_field->value : node);
    }
  }

  // ---- policies --------------------------------------------------------------------------

  void parse_policies(const Field& f) {
    auto items = sequence(f, "policies");
    if (!items) return;
    for (std::size_t i = 0; i < items->size(); ++i) parse_policy((*items)[i], i);
  }

  void parse_policy(const YAML::Node& node, std::size_t index) {
    std::string what = item_label("policies", index);
    if (!reader_.check_keys(node, {"name", "match", "threshold", "actions"}, what)) return;
    Policy policy;
    if (auto f = find_field(node, "name")) {
      if (auto name = string(*f, what + ".name")) {
        if (!valid_name(*name)) {
          reader_.error(f->value, "value",
                        what + ".name: '" + *name +
                            "' is not a valid name (use letters, digits, '_', '.' and '-')");
        } else if (auto [it, inserted] = policy_names_.emplace(*name, line_of(f->value));
                   !inserted) {
          reader_.error(f->value, "duplicate-name",
                        what + ".name: policy '" + *name + "' is already defined at line " +
                            std::to_string(it->second));
        } else {
          policy.name = *name;
          what = "policy '" + *name + "'";
        }
      }
    } else {
      reader_.error(node, "missing-key", what + ": the key 'name' is required");
    }
    if (auto f = find_field(node, "match")) parse_match(*f, what + ".match", policy.match);
    if (auto f = find_field(node, "threshold")) {
      parse_threshold(*f, what + ".threshold", policy.threshold);
    }
    if (auto f = find_field(node, "actions")) {
      parse_actions(*f, what + ".actions", policy.actions);
    } else {
      reader_.error(node, "missing-key", what + ": the key 'actions' is required");
    }
    config_.policies.push_back(std::move(policy));
  }

  void parse_match(const Field& f, const std::string& what, PolicyMatch& m) {
    if (f.value.IsNull()) return;
    if (!reader_.check_keys(f.value, {"origin", "zones", "viruses", "confidence", "detectors"},
                            what)) {
      return;
    }
    if (auto k = find_field(f.value, "origin")) {
      if (has_value(*k, what + ".origin", "internal, external or any")) {
        if (auto c = reader_.choice(k->value, what + ".origin", {"internal", "external", "any"})) {
          m.origin = *c == "internal"   ? OriginClass::kInternal
                     : *c == "external" ? OriginClass::kExternal
                                        : OriginClass::kAny;
        }
      }
    }
    if (auto k = find_field(f.value, "zones")) {
      if (auto items = scalar_items(*k, what + ".zones")) {
        for (const auto& item : *items) {
          if (!valid_name(item.Scalar())) {
            reader_.error(item, "value",
                          what + ".zones: '" + item.Scalar() + "' is not a zone name");
            continue;
          }
          m.zones.push_back(item.Scalar());
        }
      }
    }
    if (auto k = find_field(f.value, "viruses")) {
      if (auto items = scalar_items(*k, what + ".viruses")) {
        for (const auto& item : *items) {
          if (item.Scalar().empty()) {
            reader_.error(item, "value", what + ".viruses: a pattern must not be empty");
            continue;
          }
          m.viruses.push_back(item.Scalar());
        }
      }
    }
    if (auto k = find_field(f.value, "confidence")) {
      if (auto items = scalar_items(*k, what + ".confidence")) {
        for (const auto& item : *items) {
          const std::string& c = item.Scalar();
          if (c != "exact" && c != "fuzzy" && c != "ambiguous" && c != "unresolved") {
            reader_.error(item, "value",
                          what + ".confidence: '" + c +
                              "' is not one of: exact, fuzzy, ambiguous, unresolved");
            continue;
          }
          m.confidence.push_back(c);
        }
      }
    }
    if (auto k = find_field(f.value, "detectors")) {
      if (auto items = scalar_items(*k, what + ".detectors")) {
        for (const auto& item : *items) {
          if (!valid_name(item.Scalar())) {
            reader_.error(item, "value",
                          what + ".detectors: '" + item.Scalar() + "' is not a source name");
            continue;
          }
          m.detectors.push_back(item.Scalar());
        }
      }
    }
  }

  void parse_threshold(const Field& f, const std::string& what, Threshold& t) {
    if (f.value.IsNull()) return;
    if (!reader_.check_keys(f.value, {"count", "within"}, what)) return;
    if (auto k = find_field(f.value, "count")) {
      if (auto n = integer(*k, what + ".count", 1, 1'000'000)) t.count = static_cast<int>(*n);
    }
    if (auto k = find_field(f.value, "within")) {
      if (auto d = duration(*k, what + ".within", seconds(1), 30 * kDay, "[1s, 30d]")) {
        t.within = *d;
      }
    }
  }

  void parse_actions(const Field& f, const std::string& what, std::vector<ActionConfig>& out) {
    auto items = sequence(f, what);
    if (!items) return;
    if (items->empty()) {
      reader_.error(f.value.IsNull() ? f.key : f.value, "value",
                    what + ": at least one action is required");
      return;
    }
    for (std::size_t i = 0; i < items->size(); ++i) {
      const YAML::Node& node = (*items)[i];
      const std::string label = item_label(what, i);
      if (!reader_.check_keys(node,
                              {"type", "dry_run", "to", "template", "digest_template",
                               "digest_window", "hold", "duration", "allow_fuzzy"},
                              label)) {
        continue;
      }
      ActionConfig action;
      auto type_field = find_field(node, "type");
      bool type_ok = false;
      if (!type_field) {
        reader_.error(node, "missing-key", label + ": the key 'type' is required");
      } else if (has_value(*type_field, label + ".type",
                           "mail, mail_abuse, mail_sender, log or disable_port")) {
        if (auto c = reader_.choice(type_field->value, label + ".type",
                                    {"mail", "mail_abuse", "mail_sender", "log", "disable_port"})) {
          action.type = *c == "mail"           ? ActionType::kMail
                        : *c == "mail_abuse"   ? ActionType::kMailAbuse
                        : *c == "mail_sender"  ? ActionType::kMailSender
                        : *c == "disable_port" ? ActionType::kDisablePort
                                               : ActionType::kLog;
          type_ok = true;
        }
      }
      const bool is_mail =
          action.type != ActionType::kLog && action.type != ActionType::kDisablePort;
      const bool is_port = action.type == ActionType::kDisablePort;
      // Shutting a port is opt-in twice: per action and per switch (both default to dry-run).
      action.dry_run = is_port;
      action.hold = action.type == ActionType::kMailAbuse;
      action.template_name = action.type == ActionType::kMailAbuse    ? "abuse"
                             : action.type == ActionType::kMailSender ? "sender"
                                                                      : "incident";
      if (auto k = find_field(node, "dry_run")) {
        if (auto b = boolean(*k, label + ".dry_run")) action.dry_run = *b;
      }
      auto only_for = [&](const char* key, bool allowed, const char* types) {
        auto k = find_field(node, key);
        if (k && type_ok && !allowed) {
          reader_.error(k->key, "value",
                        label + ": '" + key + "' applies only to " + types + " actions");
          return std::optional<Field>();
        }
        return k;
      };
      if (auto k = only_for("to", action.type == ActionType::kMail, "mail")) {
        if (k->value.IsNull() || (k->value.IsSequence() && k->value.size() == 0)) {
          reader_.error(k->key, "value", label + ".to: at least one recipient is required");
        } else {
          action.to = addresses(*k, label + ".to");
        }
      } else if (type_ok && action.type == ActionType::kMail && !find_field(node, "to")) {
        reader_.error(node, "missing-key", label + ": a mail action needs 'to' (its recipients)");
      }
      if (auto k = only_for("template", is_mail, "mail")) {
        if (auto name = template_name(*k, label + ".template")) action.template_name = *name;
      }
      if (auto k = only_for("digest_template", is_mail, "mail")) {
        if (auto name = template_name(*k, label + ".digest_template"))
          action.digest_template = *name;
      }
      if (auto k = only_for("digest_window", is_mail, "mail")) {
        if (auto d = duration(*k, label + ".digest_window", seconds(1), 7 * kDay, "[1s, 7d]")) {
          action.digest_window = *d;
        }
      }
      if (auto k = only_for("hold", is_mail, "mail")) {
        if (auto b = boolean(*k, label + ".hold")) action.hold = *b;
      }
      if (auto k = only_for("duration", is_port, "disable_port")) {
        if (auto d = duration(*k, label + ".duration", seconds(10), 30 * kDay, "[10s, 30d]")) {
          action.duration = *d;
        }
      }
      if (auto k = only_for("allow_fuzzy", is_port, "disable_port")) {
        if (auto b = boolean(*k, label + ".allow_fuzzy")) action.allow_fuzzy = *b;
      }
      if (type_ok && is_port && !config_.containment.configured) {
        reader_.error(type_field->value, "value",
                      label +
                          ": disable_port needs the 'containment' section (switches, "
                          "routers, guards)");
      }
      if (type_ok && action.type == ActionType::kMailSender && config_.own_domains.empty()) {
        reader_.error(type_field->value, "value",
                      label +
                          ": mail_sender needs 'own_domains' (the sender is only notified "
                          "when its domain is ours)");
      }
      if (type_ok && action.type == ActionType::kMailAbuse && config_.abuse_contacts.empty()) {
        reader_.error(type_field->value, "value",
                      label +
                          ": mail_abuse needs 'abuse_contacts' (networks and their abuse "
                          "addresses)");
      }
      out.push_back(std::move(action));
    }
  }

  // A template name that resolves (templates_dir first, then the built-ins) and compiles.
  std::optional<std::string> template_name(const Field& f, const std::string& what) {
    auto name = nonempty_string(f, what);
    if (!name) return std::nullopt;
    if (!valid_name(*name)) {
      reader_.error(f.value, "value", what + ": '" + *name + "' is not a template name");
      return std::nullopt;
    }
    std::string problem;
    if (!find_template(config_.mail.templates_dir, *name, &problem)) {
      reader_.error(f.value, "template", what + ": " + problem);
      return std::nullopt;
    }
    return name;
  }

  ResponderConfig config_;
  std::map<std::string, int> policy_names_;
  std::map<std::string, int> device_names_;
  std::vector<YAML::Node> static_nodes_;
  std::vector<YAML::Node> backend_nodes_;  // per switch: its `backend` value, else the item
};

}  // namespace

std::optional<ResponderConfig> parse_responder_config(const std::string& text,
                                                      const std::string& path,
                                                      Diagnostics& diagnostics) {
  return ConfigParser(path).parse(text, diagnostics);
}

std::optional<ResponderConfig> load_responder_config(const std::string& path,
                                                     Diagnostics& diagnostics) {
  auto text = read_file(path, "configuration", diagnostics);
  if (!text) return std::nullopt;
  return parse_responder_config(*text, path, diagnostics);
}

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
