// responder.yaml, containment.switches, containment.routers and containment.static_map: the
// devices the locator asks where a host is, and the ports known without asking.
#include <algorithm>

#include "common/net.hpp"
#include "responder/config/config_parser.hpp"

namespace vtrace::responder::detail {

void ConfigParser::parse_devices(const Field& f, const std::string& what, bool is_switch) {
  auto items = sequence(f, what);
  if (!items) return;
  auto& out = is_switch ? config_.containment.switches : config_.containment.routers;
  for (std::size_t i = 0; i < items->size(); ++i) {
    const YAML::Node& node = (*items)[i];
    std::string label = item_label(what, i);
    bool ok = is_switch ? reader_.check_keys(
                              node,
                              {"name", "address", "port", "version", "credential", "context",
                               "dry_run", "protected", "protected_ports", "uplinks", "desk_ports",
                               "lldp_uplinks", "backend", "fdb_vlans", "vlan_context", "vlan_mib"},
                              label)
                        : reader_.check_keys(
                              node, {"name", "address", "port", "version", "credential", "context"},
                              label);
    if (!ok) continue;
    SnmpDeviceConfig d;
    if (auto k = find_field(node, "name")) {
      if (auto v = nonempty_string(*k, label + ".name")) {
        if (!valid_name(*v)) {
          reader_.error(k->value, "value", label + ".name: '" + printable(*v) + "' is not a name");
        } else if (auto [it, inserted] = device_names_.emplace(*v, line_of(k->value)); !inserted) {
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
      if (auto k = find_field(node, "vlan_mib")) {
        if (has_value(*k, label + ".vlan_mib", "q-bridge or cisco")) {
          if (auto c = reader_.choice(k->value, label + ".vlan_mib", {"q-bridge", "cisco"})) {
            d.vlan_mib = *c == "cisco" ? VlanMib::kCisco : VlanMib::kQBridge;
          }
        }
      }
      if (auto k = find_field(node, "protected")) {
        if (auto b = boolean(*k, label + ".protected")) d.is_protected = *b;
      }
      if (auto k = find_field(node, "lldp_uplinks")) {
        if (auto b = boolean(*k, label + ".lldp_uplinks")) d.lldp_uplinks = *b;
      }
      for (auto [key, list] :
           {std::pair{"protected_ports", &d.protected_ports}, std::pair{"uplinks", &d.uplinks},
            std::pair{"desk_ports", &d.desk_ports}}) {
        if (auto k = find_field(node, key)) {
          if (auto values = scalar_items(*k, label + "." + key)) {
            for (const auto& item : *values) {
              if (item.Scalar().empty()) {
                reader_.error(item, "value", label + "." + key + ": a port name must not be empty");
                continue;
              }
              // A port cannot be both: the uplink list would silently win, so say so.
              const bool both =
                  list == &d.desk_ports &&
                  std::find(d.uplinks.begin(), d.uplinks.end(), item.Scalar()) != d.uplinks.end();
              if (both) {
                reader_.error(item, "conflict",
                              label + ".desk_ports: '" + printable(item.Scalar()) +
                                  "' is also in " + label +
                                  ".uplinks; a port is either a desk port or an uplink");
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

void ConfigParser::parse_static_map(const Field& f) {
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

}  // namespace vtrace::responder::detail
