// The responder's configuration (responder.yaml): the root mapping, the entry points and the
// helpers the section parsers share. Each section has its own file beside this one; see
// config_parser.hpp.
#include "responder/config/config.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/text.hpp"
#include "responder/config/config_parser.hpp"

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
    case ActionType::kQuarantineVlan:
      return "quarantine_vlan";
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

namespace detail {

bool valid_name(std::string_view s) { return vtrace::valid_name(s, kMaxNameBytes); }

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

std::optional<ResponderConfig> ConfigParser::parse(const std::string& text, Diagnostics& out) {
  if (auto root = load(config_.path, text, out)) parse_root(*root);
  if (!report(out)) return std::nullopt;
  return std::move(config_);
}

void ConfigParser::parse_root(const YAML::Node& root) {
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

// A list of mail addresses, each checked by is_safe_address.
std::vector<std::string> ConfigParser::addresses(const Field& f, const std::string& what) {
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

std::string ConfigParser::item_label(const std::string& list, std::size_t index) {
  return list + "[" + std::to_string(index) + "]";
}

}  // namespace detail

std::optional<ResponderConfig> parse_responder_config(const std::string& text,
                                                      const std::string& path,
                                                      Diagnostics& diagnostics) {
  return detail::ConfigParser(path).parse(text, diagnostics);
}

std::optional<ResponderConfig> load_responder_config(const std::string& path,
                                                     Diagnostics& diagnostics) {
  auto text = detail::read_file(path, "configuration", diagnostics);
  if (!text) return std::nullopt;
  return parse_responder_config(*text, path, diagnostics);
}

}  // namespace vtrace::responder
