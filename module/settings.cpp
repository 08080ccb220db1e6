// Loading and validation of the correlator's YAML configuration.
//
// Every problem is recorded with the position of the node that causes it, and parsing goes on
// after an error so the operator sees all of them in one run. Nothing is clamped or defaulted
// over a bad value: a bad value is an error, and any error makes the whole load fail.
#include "module/settings.hpp"

#include <re2/re2.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string_view>
#include <unordered_map>

#include "common/incident.hpp"
#include "common/text.hpp"
#include "common/url.hpp"
#include "common/yaml_fields.hpp"
#include "common/yaml_reader.hpp"

namespace vtrace {
namespace {

constexpr std::string_view kBuiltinFormats[] = {"postfix", "sendmail", "exim",      "clamav-milter",
                                                "amavis",  "isvw",     "netfilter", "cisco-asa"};
constexpr std::string_view kCustomGroups[] = {
    "queue_id",    "message_id", "sender", "recipient",     "recipients", "client_ip",
    "client_name", "virus",      "action", "next_queue_id", "subject",    "file",
    "size",        "src_ip",     "dst_ip", "src_port",      "dst_port"};

// Names of sources, zones and formats end up in incidents (at most
// incident_limits::kNameBytes there), metrics and file names.
bool valid_name(std::string_view s) { return vtrace::valid_name(s, incident_limits::kNameBytes); }

// Host names as syslog reports them; the same alphabet as names, so no spaces or ports.
bool valid_hostname(std::string_view s) { return valid_name(s); }

int line_of(const YAML::Node& node) { return node.Mark().is_null() ? 0 : node.Mark().line + 1; }

std::string join(const auto& items) {
  std::string out;
  for (const auto& item : items) out += std::string(out.empty() ? "" : ", ") + std::string(item);
  return out;
}

class SettingsParser : YamlFieldParser {
 public:
  explicit SettingsParser(const std::string& path) : YamlFieldParser(path) {
    settings_.path = path;
  }

  // Parses `text`; every problem is added to `out`, ordered by position in the file.
  std::optional<CorrelatorSettings> parse(const std::string& text, Diagnostics& out) {
    if (auto root = load(settings_.path, text, out)) parse_root(*root);
    if (!report(out)) return std::nullopt;
    return std::move(settings_);
  }

 private:
  void parse_root(const YAML::Node& root) {
    if (root.IsNull() || !root.IsDefined()) {
      reader_.error_at(YAML::Mark(), "missing-key",
                       "the configuration is empty; 'sources' is required");
      return;
    }
    if (!reader_.check_keys(root,
                            {"sources", "networks", "correlation", "custom_formats", "direct_smtp",
                             "output", "timezone"},
                            "configuration")) {
      return;
    }
    if (auto f = find_field(root, "sources")) {
      parse_sources(*f);
    } else {
      reader_.error(root, "missing-key", "configuration: the key 'sources' is required");
    }
    if (auto f = find_field(root, "networks")) parse_networks(*f);
    if (auto f = find_field(root, "correlation")) parse_correlation(*f);
    if (auto f = find_field(root, "custom_formats")) parse_custom_formats(*f);
    if (auto f = find_field(root, "output")) parse_output(*f);
    if (auto f = find_field(root, "direct_smtp")) parse_direct_smtp(*f);
    if (auto f = find_field(root, "timezone")) {
      if (auto zone = timezone(*f, "timezone")) settings_.timezone = *zone;
    }
  }

  // ---- generic helpers -------------------------------------------------------------------

  std::optional<std::string> timezone(const Field& f, const std::string& what) {
    auto zone = string(f, what);
    if (!zone) return std::nullopt;
    if (!LocalTimeResolver::zone_exists(*zone)) {
      reader_.error(f.value, "timezone",
                    what + ": unknown time zone '" + *zone +
                        "' (expected an IANA name such as Asia/Tokyo, or UTC)");
      return std::nullopt;
    }
    return zone;
  }

  // A name that must match [A-Za-z0-9_.-]+ and be unique within `seen` (name -> line).
  std::optional<std::string> unique_name(const YAML::Node& map, const std::string& what,
                                         std::map<std::string, int>& seen,
                                         const std::string& kind) {
    auto f = find_field(map, "name");
    if (!f) {
      reader_.error(map, "missing-key", what + ": the key 'name' is required");
      return std::nullopt;
    }
    auto name = string(*f, what + ".name");
    if (!name) return std::nullopt;
    if (!valid_name(*name)) {
      reader_.error(f->value, "value",
                    what + ".name: '" + *name +
                        "' is not a valid name (1 to 255 letters, digits, '_', '.' and '-')");
      return std::nullopt;
    }
    auto [it, inserted] = seen.emplace(*name, line_of(f->value));
    if (!inserted) {
      reader_.error(f->value, "duplicate-name",
                    what + ".name: " + kind + " '" + *name + "' is already defined at line " +
                        std::to_string(it->second));
      return std::nullopt;
    }
    return name;
  }

  std::string item_label(const std::string& list, std::size_t index) {
    return list + "[" + std::to_string(index) + "]";
  }

  // ---- sources ---------------------------------------------------------------------------

  void parse_sources(const Field& f) {
    auto items = sequence(f, "sources");
    if (!items) return;
    if (items->empty()) {
      const YAML::Node& at = f.value.IsNull() ? f.key : f.value;
      reader_.error(at, "value", "sources: at least one source is required");
      return;
    }
    for (std::size_t i = 0; i < items->size(); ++i) parse_source((*items)[i], i);
  }

  void parse_source(const YAML::Node& node, std::size_t index) {
    const std::string what = item_label("sources", index);
    if (!reader_.check_keys(node, {"name", "hostnames", "addresses", "role", "archive", "timezone"},
                            what)) {
      return;
    }
    SourceSettings source;
    if (auto name = unique_name(node, what, source_names_, "source")) source.name = *name;

    auto hostnames = find_field(node, "hostnames");
    auto addresses = find_field(node, "addresses");
    if (hostnames) parse_hostnames(*hostnames, what + ".hostnames", source);
    if (addresses) parse_addresses(*addresses, what + ".addresses", source);
    if (!hostnames && !addresses) {
      reader_.error(node, "missing-key",
                    what +
                        ": 'hostnames' or 'addresses' is required (how else would its "
                        "records be recognised?)");
    } else if (source.hostnames.empty() && source.addresses.empty() &&
               all_listed_items_empty(hostnames, addresses)) {
      reader_.error(node, "value", what + ": at least one hostname or address is required");
    }

    if (auto f = find_field(node, "role")) {
      if (has_value(*f, what + ".role", "gateway, relay, mail_server or firewall")) {
        if (auto role = reader_.choice(f->value, what + ".role",
                                       {"gateway", "relay", "mail_server", "firewall"})) {
          source.role = *role == "relay"         ? SourceRole::kRelay
                        : *role == "mail_server" ? SourceRole::kMailServer
                        : *role == "firewall"    ? SourceRole::kFirewall
                                                 : SourceRole::kGateway;
        }
      }
    }
    if (auto f = find_field(node, "archive")) {
      if (auto items = scalar_items(*f, what + ".archive")) {
        for (const auto& item : *items) {
          if (item.Scalar().empty()) {
            reader_.error(item, "value", what + ".archive: a pattern must not be empty");
            continue;
          }
          source.archive.push_back(item.Scalar());
        }
      }
    }
    if (auto f = find_field(node, "timezone")) {
      if (auto zone = timezone(*f, what + ".timezone")) source.timezone = *zone;
    }
    settings_.sources.push_back(std::move(source));
  }

  // True when every hostnames/addresses key present was written as an empty list (and so no
  // item-level error already explains why the source has nothing to match on).
  static bool all_listed_items_empty(const std::optional<Field>& hostnames,
                                     const std::optional<Field>& addresses) {
    auto empty = [](const std::optional<Field>& f) {
      return !f || f->value.IsNull() || (f->value.IsSequence() && f->value.size() == 0);
    };
    return empty(hostnames) && empty(addresses);
  }

  void parse_hostnames(const Field& f, const std::string& what, SourceSettings& source) {
    auto items = scalar_items(f, what);
    if (!items) return;
    for (const auto& item : *items) {
      const std::string host = ascii_lower(item.Scalar());
      if (!valid_hostname(host)) {
        reader_.error(item, "value",
                      what + ": '" + item.Scalar() +
                          "' is not a host name (use letters, digits, '_', '.' and '-')");
        continue;
      }
      auto [it, inserted] = hostname_owner_.emplace(host, Owner{source.name, line_of(item)});
      if (!inserted) {
        reader_.error(
            item, "duplicate-hostname",
            what + ": '" + host + "' already belongs to " + owner_text(it->second, source.name));
        continue;
      }
      source.hostnames.push_back(host);
    }
  }

  void parse_addresses(const Field& f, const std::string& what, SourceSettings& source) {
    auto items = scalar_items(f, what);
    if (!items) return;
    for (const auto& item : *items) {
      auto address = IpAddress::parse(item.Scalar());
      if (!address) {
        reader_.error(item, "address",
                      what + ": '" + item.Scalar() + "' is not an IPv4 or IPv6 address");
        continue;
      }
      auto [it, inserted] = address_owner_.emplace(*address, Owner{source.name, line_of(item)});
      if (!inserted) {
        reader_.error(item, "duplicate-address",
                      what + ": " + address->to_string() + " already belongs to " +
                          owner_text(it->second, source.name));
        continue;
      }
      source.addresses.push_back(*address);
    }
  }

  struct Owner {
    std::string source;
    int line = 0;
  };

  static std::string owner_text(const Owner& owner, const std::string& current) {
    const std::string who = owner.source.empty()      ? std::string("another source")
                            : owner.source == current ? "this source"
                                                      : "source '" + owner.source + "'";
    return who + " (line " + std::to_string(owner.line) + ")";
  }

  // ---- networks --------------------------------------------------------------------------

  void parse_networks(const Field& f) {
    if (f.value.IsNull()) return;
    if (!reader_.check_keys(f.value, {"internal", "external"}, "networks")) return;
    if (auto zones = find_field(f.value, "internal")) {
      parse_zones(*zones, "networks.internal", settings_.internal_networks);
    }
    if (auto zones = find_field(f.value, "external")) {
      parse_zones(*zones, "networks.external", settings_.external_networks);
    }
  }

  void parse_zones(const Field& f, const std::string& list, std::vector<NetworkZone>& out) {
    auto items = sequence(f, list);
    if (!items) return;
    for (std::size_t i = 0; i < items->size(); ++i) {
      const YAML::Node& node = (*items)[i];
      const std::string what = item_label(list, i);
      if (!reader_.check_keys(node, {"name", "cidrs"}, what)) continue;
      NetworkZone zone;
      // One namespace for internal and external zones: an incident names its origin's zone.
      if (auto name = unique_name(node, what, zone_names_, "zone")) zone.name = *name;
      auto cidrs = find_field(node, "cidrs");
      if (!cidrs) {
        reader_.error(node, "missing-key", what + ": the key 'cidrs' is required");
      } else if (auto values = scalar_items(*cidrs, what + ".cidrs")) {
        if (values->empty()) {
          const YAML::Node& at = cidrs->value.IsNull() ? cidrs->key : cidrs->value;
          reader_.error(at, "value", what + ".cidrs: at least one network is required");
        }
        for (const auto& item : *values) {
          if (auto cidr = Cidr::parse(item.Scalar())) {
            zone.cidrs.push_back(*cidr);
          } else {
            reader_.error(item, "cidr",
                          what + ".cidrs: '" + item.Scalar() +
                              "' is not a network such as 10.0.0.0/8 or 2001:db8::/32");
          }
        }
      }
      out.push_back(std::move(zone));
    }
  }

  // ---- correlation -----------------------------------------------------------------------

  void parse_correlation(const Field& f) {
    if (f.value.IsNull()) return;
    const YAML::Node& map = f.value;
    if (!reader_.check_keys(map,
                            {"clock_skew", "window", "max_hops", "pending_timeout", "max_messages",
                             "max_pending", "envelope_matching", "id_link_skew", "settle_timeout"},
                            "correlation")) {
      return;
    }
    CorrelationSettings& c = settings_.correlation;
    bool skew_ok = true;
    if (auto k = find_field(map, "clock_skew")) {
      auto d = duration(*k, "correlation.clock_skew", 0, kHour, "[0s, 1h]");
      if (d) c.clock_skew = *d;
      skew_ok = d.has_value();
    }
    bool window_ok = true;
    if (auto k = find_field(map, "window")) {
      auto d = duration(*k, "correlation.window", kMinute, 7 * kDay, "[1m, 7d]");
      if (d) c.window = *d;
      window_ok = d.has_value();
    }
    // The window must leave room for the skew tolerance, whether either was written or not.
    if (skew_ok && window_ok && c.window <= c.clock_skew) {
      auto k = find_field(map, "window");
      if (!k) k = find_field(map, "clock_skew");
      reader_.error(k->value, "range",
                    "correlation.window: " + duration_text(c.window) +
                        " must be longer than correlation.clock_skew (" +
                        duration_text(c.clock_skew) + ")");
    }
    if (auto k = find_field(map, "id_link_skew")) {
      if (auto d = duration(*k, "correlation.id_link_skew", 0, kDay, "[0s, 1d]")) {
        c.id_link_skew = *d;
      }
    }
    if (auto k = find_field(map, "settle_timeout")) {
      if (auto d = duration(*k, "correlation.settle_timeout", 0, kHour, "[0s, 1h]")) {
        c.settle_timeout = *d;
      }
    }
    if (auto k = find_field(map, "max_hops")) {
      if (auto n = integer(*k, "correlation.max_hops", 1, 64)) c.max_hops = static_cast<int>(*n);
    }
    if (auto k = find_field(map, "pending_timeout")) {
      if (auto d = duration(*k, "correlation.pending_timeout", seconds(1), kDay, "[1s, 1d]")) {
        c.pending_timeout = *d;
      }
    }
    if (auto k = find_field(map, "max_messages")) {
      if (auto n = integer(*k, "correlation.max_messages", 1'000, 100'000'000)) {
        c.max_messages = *n;
      }
    }
    if (auto k = find_field(map, "max_pending")) {
      if (auto n = integer(*k, "correlation.max_pending", 1, 10'000'000)) c.max_pending = *n;
    }
    if (auto k = find_field(map, "envelope_matching")) {
      if (has_value(*k, "correlation.envelope_matching", "true or false")) {
        if (auto b = reader_.boolean(k->value, "correlation.envelope_matching")) {
          c.envelope_matching = *b;
        }
      }
    }
  }

  // ---- custom formats --------------------------------------------------------------------

  void parse_custom_formats(const Field& f) {
    auto items = sequence(f, "custom_formats");
    if (!items) return;
    for (std::size_t i = 0; i < items->size(); ++i) parse_custom_format((*items)[i], i);
  }

  void parse_custom_format(const YAML::Node& node, std::size_t index) {
    const std::string what = item_label("custom_formats", index);
    if (!reader_.check_keys(node, {"name", "program", "pattern", "kind"}, what)) return;
    CustomFormatSettings format;
    format.file = reader_.file();
    format.line = node.Mark().line + 1;
    format.column = node.Mark().column + 1;

    if (auto name = unique_name(node, what, format_names_, "custom format")) {
      if (std::find(std::begin(kBuiltinFormats), std::end(kBuiltinFormats), *name) !=
          std::end(kBuiltinFormats)) {
        auto f = find_field(node, "name");
        reader_.error(f->value, "duplicate-name",
                      what + ".name: '" + *name + "' is the name of a built-in format (" +
                          join(kBuiltinFormats) + ")");
      } else {
        format.name = *name;
      }
    }

    if (auto f = find_field(node, "program")) {
      if (auto program = string(*f, what + ".program")) {
        if (compile(f->value, *program, what + ".program")) format.program = *program;
      }
    }

    std::string kind = "detection";
    bool kind_ok = true;
    if (auto f = find_field(node, "kind")) {
      kind_ok = false;
      if (has_value(*f, what + ".kind", "detection, receive, delivery, attribute or connection")) {
        if (auto k =
                reader_.choice(f->value, what + ".kind",
                               {"detection", "receive", "delivery", "attribute", "connection"})) {
          kind = *k;
          kind_ok = true;
        }
      }
    }
    format.kind = kind;

    auto pattern_field = find_field(node, "pattern");
    if (!pattern_field) {
      reader_.error(node, "missing-key", what + ": the key 'pattern' is required");
    } else if (auto pattern = string(*pattern_field, what + ".pattern")) {
      if (auto re = compile(pattern_field->value, *pattern, what + ".pattern")) {
        format.pattern = *pattern;
        check_groups(pattern_field->value, *re, what + ".pattern", kind_ok ? kind : "");
      }
    }
    settings_.custom_formats.push_back(std::move(format));
  }

  // Compiles `pattern` as the custom parser will; reports RE2's own error text.
  std::unique_ptr<RE2> compile(const YAML::Node& node, const std::string& pattern,
                               const std::string& what) {
    RE2::Options options;
    options.set_log_errors(false);
    auto re = std::make_unique<RE2>(pattern, options);
    if (!re->ok()) {
      reader_.error(node, "regex", what + ": does not compile: " + re->error());
      return nullptr;
    }
    return re;
  }

  void check_groups(const YAML::Node& node, const RE2& re, const std::string& what,
                    const std::string& kind) {
    bool has_virus = false;
    std::vector<std::string> connection_groups = {"src_ip", "dst_ip", "dst_port"};
    for (const auto& [group, index] : re.NamedCapturingGroups()) {
      (void)index;
      has_virus = has_virus || group == "virus";
      std::erase(connection_groups, group);
      if (std::find(std::begin(kCustomGroups), std::end(kCustomGroups), group) ==
          std::end(kCustomGroups)) {
        reader_.error(
            node, "custom-group",
            what + ": unknown group name '" + group + "' (allowed: " + join(kCustomGroups) + ")");
      }
    }
    if (kind == "detection" && !has_virus) {
      reader_.error(node, "custom-group",
                    what + ": a detection format needs a (?P<virus>...) group");
    }
    if (kind == "connection" && !connection_groups.empty()) {
      reader_.error(node, "custom-group",
                    what + ": a connection format needs the groups src_ip, dst_ip and dst_port (" +
                        join(connection_groups) + " missing)");
    }
  }

  // ---- direct_smtp -----------------------------------------------------------------------

  void parse_direct_smtp(const Field& f) {
    DirectSmtpSettings& d = settings_.direct_smtp;
    d.enabled = true;
    if (f.value.IsNull()) return;
    const YAML::Node& map = f.value;
    if (!reader_.check_keys(
            map, {"ports", "threshold", "quiet", "allowed_senders", "zones", "max_hosts"},
            "direct_smtp")) {
      return;
    }
    if (auto k = find_field(map, "ports")) {
      if (auto items = scalar_items(*k, "direct_smtp.ports")) {
        d.ports.clear();
        for (const auto& item : *items) {
          const Field port{k->key, item};
          if (auto n = integer(port, "direct_smtp.ports", 1, 65535)) {
            if (std::find(d.ports.begin(), d.ports.end(), *n) == d.ports.end()) {
              d.ports.push_back(static_cast<int>(*n));
            }
          }
        }
        if (items->empty()) {
          reader_.error(k->value.IsNull() ? k->key : k->value, "value",
                        "direct_smtp.ports: at least one port is required");
        }
      }
    }
    if (auto k = find_field(map, "threshold")) parse_direct_smtp_threshold(*k);
    if (auto k = find_field(map, "quiet")) {
      if (auto q = duration(*k, "direct_smtp.quiet", seconds(1), 7 * kDay, "[1s, 7d]")) {
        d.quiet = *q;
        // A burst ends only when nothing of it still counts towards the threshold.
        if (d.quiet < d.within) {
          reader_.error(k->value, "range",
                        "direct_smtp.quiet: " + duration_text(d.quiet) +
                            " must be at least direct_smtp.threshold.within (" +
                            duration_text(d.within) + ")");
        }
      }
    }
    if (auto k = find_field(map, "allowed_senders")) {
      if (auto items = scalar_items(*k, "direct_smtp.allowed_senders")) {
        for (const auto& item : *items) {
          if (auto cidr = Cidr::parse(item.Scalar())) {
            d.allowed_senders.push_back(*cidr);
          } else if (auto address = IpAddress::parse(item.Scalar())) {
            d.allowed_senders.push_back(
                *Cidr::parse(address->to_string() + (address->is_v4() ? "/32" : "/128")));
          } else {
            reader_.error(item, "cidr",
                          "direct_smtp.allowed_senders: '" + item.Scalar() +
                              "' is not an address or a network such as 10.1.0.30 or "
                              "10.9.0.0/24");
          }
        }
      }
    }
    if (auto k = find_field(map, "zones")) {
      if (auto items = scalar_items(*k, "direct_smtp.zones")) {
        for (const auto& item : *items) {
          const bool internal =
              std::any_of(settings_.internal_networks.begin(), settings_.internal_networks.end(),
                          [&](const NetworkZone& z) { return z.name == item.Scalar(); });
          if (!internal) {
            reader_.error(item, "value",
                          "direct_smtp.zones: '" + item.Scalar() +
                              "' is not a zone of networks.internal (external hosts are never "
                              "watched)");
            continue;
          }
          d.zones.push_back(item.Scalar());
        }
      }
    }
    if (auto k = find_field(map, "max_hosts")) {
      if (auto n = integer(*k, "direct_smtp.max_hosts", 1, 10'000'000)) d.max_hosts = *n;
    }
  }

  void parse_direct_smtp_threshold(const Field& f) {
    if (f.value.IsNull()) return;
    DirectSmtpSettings& d = settings_.direct_smtp;
    if (!reader_.check_keys(f.value, {"connections", "destinations", "within"},
                            "direct_smtp.threshold")) {
      return;
    }
    if (auto k = find_field(f.value, "connections")) {
      if (auto n = integer(*k, "direct_smtp.threshold.connections", 1, kMaxDirectSmtpConnections)) {
        d.connections = static_cast<int>(*n);
      }
    }
    if (auto k = find_field(f.value, "destinations")) {
      if (auto n =
              integer(*k, "direct_smtp.threshold.destinations", 1, kMaxDirectSmtpConnections)) {
        d.destinations = static_cast<int>(*n);
      }
    }
    if (auto k = find_field(f.value, "within")) {
      if (auto w = duration(*k, "direct_smtp.threshold.within", seconds(1), kDay, "[1s, 1d]")) {
        d.within = *w;
      }
    }
    if (d.destinations > d.connections) {
      auto k = find_field(f.value, "destinations");
      reader_.error(k ? k->value : f.value, "range",
                    "direct_smtp.threshold.destinations: " + std::to_string(d.destinations) +
                        " distinct destinations need at least as many connections (" +
                        std::to_string(d.connections) + ")");
    }
  }

  // ---- output ----------------------------------------------------------------------------

  void parse_output(const Field& f) {
    if (f.value.IsNull()) return;
    const YAML::Node& map = f.value;
    if (!reader_.check_keys(map,
                            {"responder_url", "jsonl", "state_dir", "stats_file", "stats_interval"},
                            "output")) {
      return;
    }
    OutputSettings& out = settings_.output;
    if (auto k = find_field(map, "responder_url")) {
      if (auto url = string(*k, "output.responder_url")) {
        // The same parser as the HTTP client's: what passes here, the client can send to.
        std::string problem;
        if (parse_url(*url, &problem)) {
          out.responder_url = *url;
        } else {
          reader_.error(k->value, "url",
                        "output.responder_url: '" + *url +
                            "' must be an http:// or https:// URL (" + problem + ")");
        }
      }
    }
    if (auto k = find_field(map, "jsonl")) {
      if (auto s = nonempty_string(*k, "output.jsonl")) out.jsonl_path = *s;
    }
    if (auto k = find_field(map, "state_dir")) {
      if (auto s = nonempty_string(*k, "output.state_dir")) out.state_dir = *s;
    }
    if (auto k = find_field(map, "stats_file")) {
      if (auto s = nonempty_string(*k, "output.stats_file")) out.stats_path = *s;
    }
    if (auto k = find_field(map, "stats_interval")) {
      if (auto d = duration(*k, "output.stats_interval", seconds(1), kDay, "[1s, 1d]")) {
        out.stats_interval = *d;
      }
    }
  }

  CorrelatorSettings settings_;
  std::map<std::string, int> source_names_;  // name -> line of first definition
  std::map<std::string, int> zone_names_;
  std::map<std::string, int> format_names_;
  std::map<std::string, Owner> hostname_owner_;
  std::unordered_map<IpAddress, Owner, IpAddressHash> address_owner_;
};

}  // namespace

std::optional<CorrelatorSettings> parse_correlator_settings(const std::string& text,
                                                            const std::string& path,
                                                            Diagnostics& diagnostics) {
  return SettingsParser(path).parse(text, diagnostics);
}

std::optional<CorrelatorSettings> load_correlator_settings(const std::string& path,
                                                           Diagnostics& diagnostics) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    diagnostics.error(path, 0, 0, "io", "cannot read the configuration: it is a directory");
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    diagnostics.error(path, 0, 0, "io",
                      std::string("cannot read the configuration: ") + std::strerror(errno));
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    diagnostics.error(path, 0, 0, "io", "cannot read the configuration: read error");
    return std::nullopt;
  }
  return parse_correlator_settings(text.str(), path, diagnostics);
}

}  // namespace vtrace
