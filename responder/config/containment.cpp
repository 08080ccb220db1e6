// responder.yaml, section containment: the switches may be written only within these guards
// (protected hosts, uplinks, the breaker), through the back ends chosen here.
#include <algorithm>

#include "common/net.hpp"
#include "responder/config/config_parser.hpp"

namespace vtrace::responder::detail {

void ConfigParser::parse_containment(const Field& f) {
  ContainmentConfig& c = config_.containment;
  c.configured = true;
  if (f.value.IsNull()) return;
  const YAML::Node& map = f.value;
  if (!reader_.check_keys(
          map,
          {"protected_hosts", "switches", "routers", "static_map", "uplink_max_macs",
           "lldp_uplinks", "location_max_age", "snmp_timeout", "snmp_retries", "breaker", "backend",
           "webhook", "awx", "table_max_age", "table_refresh", "escaped_notify"},
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
  if (auto k = find_field(map, "escaped_notify")) {
    c.escaped_notify = addresses(*k, "containment.escaped_notify");
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
void ConfigParser::check_backends(const std::optional<Field>& global) {
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

}  // namespace vtrace::responder::detail
