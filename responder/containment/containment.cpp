// Port location, the port guards and the verified SNMP port write.
#include "responder/containment/containment.hpp"

#include <algorithm>
#include <cctype>
#include <functional>
#include <set>
#include <span>
#include <tuple>

#include "common/net.hpp"

namespace vtrace::responder {

namespace {

Oid suffix(const Oid& oid, const Oid& prefix) {
  return Oid(oid.begin() + prefix.size(), oid.end());
}

Oid with(Oid base, std::int64_t index) {
  base.push_back(static_cast<std::uint32_t>(index));
  return base;
}

std::string mac_text(const std::uint32_t* b) {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", b[0] & 0xff, b[1] & 0xff,
                b[2] & 0xff, b[3] & 0xff, b[4] & 0xff, b[5] & 0xff);
  return buf;
}

std::optional<std::string> mac_from_bytes(const std::string& bytes) {
  if (bytes.size() != 6) return std::nullopt;
  std::uint32_t b[6];
  for (int i = 0; i < 6; ++i) b[i] = static_cast<unsigned char>(bytes[static_cast<std::size_t>(i)]);
  return mac_text(b);
}

// The address bytes an ARP/ND index must end with for `ip`.
std::vector<std::uint32_t> address_index(const IpAddress& ip) {
  const auto& b = ip.bytes();
  std::vector<std::uint32_t> out;
  for (std::size_t i = ip.is_v4() ? 12 : 0; i < 16; ++i) out.push_back(b[i]);
  return out;
}

bool listed(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

const SnmpDeviceConfig* find_switch(const ContainmentConfig& config, const std::string& name) {
  for (const auto& s : config.switches) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

// A Cisco IP phone's CDP device id is "SEP" and its MAC in 12 hex digits (SEP001E13000031).
std::string mac_of_phone_name(const std::string& name) {
  if (name.size() != 15 || (name.compare(0, 3, "SEP") != 0 && name.compare(0, 3, "sep") != 0)) {
    return "";
  }
  std::string out;
  for (std::size_t i = 3; i < 15; ++i) {
    const char c = static_cast<char>(std::tolower(static_cast<unsigned char>(name[i])));
    if (!std::isxdigit(static_cast<unsigned char>(c))) return "";
    if (i > 3 && i % 2 == 1) out += ':';
    out += c;
  }
  return out;
}

// The LLDP and CDP neighbours per ifIndex, from the eight columns walk_switch reads: LLDP name,
// capabilities, chassis id subtype and chassis id, then CDP device id, capabilities, address
// type and address. A column an agent does not have comes back empty and changes nothing.
void read_neighbours(SwitchView& view, std::span<const SnmpResult> columns,
                     const std::function<std::int64_t(std::int64_t)>& if_of_local_port) {
  auto bytes = [](const SnmpVar& v) { return v.type == SnmpVar::Type::kBytes ? v.bytes : ""; };
  auto rows = [&](std::size_t column, const Oid& prefix, std::size_t index_size) {
    std::map<Oid, const SnmpVar*> out;
    if (!columns[column].ok) return out;
    for (const auto& v : columns[column].vars) {
      Oid idx = suffix(v.oid, prefix);
      if (idx.size() == index_size) out[idx] = &v;
    }
    return out;
  };
  // LLDP: timeMark.localPortNum.index
  const auto caps = rows(1, oids::kLldpRemSysCapEnabled, 3);
  const auto subtype = rows(2, oids::kLldpRemChassisIdSubtype, 3);
  const auto chassis = rows(3, oids::kLldpRemChassisId, 3);
  for (const auto& [idx, var] : rows(0, oids::kLldpRemSysName, 3)) {
    Neighbour n;
    n.name = bytes(*var).empty() ? "?" : bytes(*var);
    n.protocol = "LLDP";
    if (auto it = caps.find(idx); it != caps.end()) {
      n.kind = lldp_kind(bytes(*it->second), &n.capabilities);
    }
    auto st = subtype.find(idx);
    auto id = chassis.find(idx);
    constexpr std::int64_t kMacAddress = 4;  // LldpChassisIdSubtype macAddress(4)
    if (st != subtype.end() && id != chassis.end() && st->second->integer == kMacAddress) {
      n.mac = mac_from_bytes(bytes(*id->second)).value_or("");
    }
    view.neighbours[if_of_local_port(idx[1])].push_back(std::move(n));
  }
  // CDP: ifIndex.deviceIndex
  const auto cdp_caps = rows(5, oids::kCdpCacheCapabilities, 2);
  const auto address_type = rows(6, oids::kCdpCacheAddressType, 2);
  const auto address = rows(7, oids::kCdpCacheAddress, 2);
  for (const auto& [idx, var] : rows(4, oids::kCdpCacheDeviceId, 2)) {
    Neighbour n;
    n.name = bytes(*var).empty() ? "?" : bytes(*var);
    n.protocol = "CDP";
    if (auto it = cdp_caps.find(idx); it != cdp_caps.end()) {
      n.kind = cdp_kind(bytes(*it->second), &n.capabilities);
    }
    n.mac = mac_of_phone_name(n.name);
    auto type = address_type.find(idx);
    auto ip = address.find(idx);
    constexpr std::int64_t kIp = 1;  // CiscoNetworkProtocol ip(1)
    if (type != address_type.end() && ip != address.end() && type->second->integer == kIp &&
        bytes(*ip->second).size() == 4) {
      const std::string& raw = bytes(*ip->second);
      for (std::size_t i = 0; i < 4; ++i) {
        n.address += (i ? "." : "") + std::to_string(static_cast<unsigned char>(raw[i]));
      }
    }
    view.neighbours[static_cast<std::int64_t>(idx[0])].push_back(std::move(n));
  }
}

}  // namespace

SnmpTarget vlan_target(const SnmpTarget& base, const SnmpDeviceConfig& device, int vlan) {
  SnmpTarget t = base;
  const std::string number = std::to_string(vlan);
  if (t.version == SnmpVersion::kV2c) {
    t.credential.community += "@" + number;
  } else {
    std::string context = device.vlan_context;
    const auto at = context.find("{vlan}");
    if (at != std::string::npos) context.replace(at, 6, number);
    t.context = context;
  }
  return t;
}

std::string oid_text(const Oid& oid) {
  std::string out;
  for (auto n : oid) out += (out.empty() ? "" : ".") + std::to_string(n);
  return out;
}

NeighbourKind lldp_kind(const std::string& bits, std::string* text) {
  // LLDP-MIB LldpSystemCapabilitiesMap: BITS, bit 0 is the high bit of the first octet.
  static const char* const kNames[] = {"other",  "repeater",  "bridge", "wlan-access-point",
                                       "router", "telephone", "docsis", "station"};
  auto has = [&](int bit) {
    const auto byte = static_cast<std::size_t>(bit / 8);
    return byte < bits.size() && (static_cast<unsigned char>(bits[byte]) & (0x80 >> (bit % 8)));
  };
  text->clear();
  for (int bit = 0; bit < 8; ++bit) {
    if (has(bit)) *text += (text->empty() ? "" : ", ") + std::string(kNames[bit]);
  }
  if (has(5)) return NeighbourKind::kPhone;
  if (has(1) || has(2) || has(3) || has(4) || has(6)) return NeighbourKind::kUplink;
  if (has(7)) return NeighbourKind::kStation;
  return NeighbourKind::kUnknown;
}

NeighbourKind cdp_kind(const std::string& bitmap, std::string* text) {
  // The CDP capabilities field: 0x01 router, 0x02 transparent bridge, 0x04 source-route
  // bridge, 0x08 switch, 0x10 host, 0x20 IGMP, 0x40 repeater, 0x80 phone.
  static const std::pair<std::uint32_t, const char*> kNames[] = {
      {0x01, "router"},   {0x02, "trans-bridge"}, {0x04, "source-route-bridge"},
      {0x08, "switch"},   {0x10, "host"},         {0x20, "igmp"},
      {0x40, "repeater"}, {0x80, "phone"}};
  text->clear();
  if (bitmap.empty() || bitmap.size() > 4) return NeighbourKind::kUnknown;
  std::uint32_t caps = 0;
  for (unsigned char c : bitmap) caps = (caps << 8) | c;
  for (const auto& [bit, name] : kNames) {
    if (caps & bit) *text += (text->empty() ? "" : ", ") + std::string(name);
  }
  if (caps & 0x80) return NeighbourKind::kPhone;
  if (caps & (0x01 | 0x02 | 0x04 | 0x08 | 0x40)) return NeighbourKind::kUplink;
  if (caps & 0x10) return NeighbourKind::kStation;
  return NeighbourKind::kUnknown;
}

namespace {

bool is_timeout(const std::string& error) { return error.rfind("timeout", 0) == 0; }

// What an operator should read when a device could not be read: "switch sw-3f-a did not
// answer" for a timeout, the agent's own error otherwise.
std::string unreadable(const std::string& kind, const std::string& device, const std::string& what,
                       const std::string& error) {
  if (is_timeout(error))
    return kind + " " + device + " did not answer (" + what + ": " + error + ")";
  return kind + " " + device + ": " + what + ": " + error;
}

std::string describe(const Neighbour& n) {
  std::string out = n.name + (n.protocol == "CDP" ? " via CDP" : "");
  return n.capabilities.empty() ? out : out + ": " + n.capabilities;
}

// The origin is the phone on the port, not a PC behind it: its MAC is the one the phone
// announces (LLDP chassis id, a Cisco phone's CDP name), its IP the one CDP announces, or its
// MAC was learned in the port's voice VLAN. Shutting (or re-VLANing) the port would cut off
// the PC behind the phone and not stop the phone. Checked even on desk_ports.
std::optional<std::string> phone_itself(const SnmpDeviceConfig& sw, const Location& where) {
  const std::string there = sw.name + " " + where.port;
  const std::string stays = ", not a PC: never shut (the PC behind the phone needs the port)";
  const Neighbour* phone = nullptr;
  for (const Neighbour& n : where.neighbours) {
    if (n.kind != NeighbourKind::kPhone) continue;
    phone = &n;
    if (!n.mac.empty() && n.mac == where.mac) {
      return "the MAC " + where.mac + " on " + there + " is the phone announced there (" +
             describe(n) + ")" + stays;
    }
    if (!n.address.empty() && n.address == where.ip) {
      return where.ip + " (MAC " + where.mac + ") on " + there +
             " is the address the phone announces there by CDP (" + describe(n) + ")" + stays;
    }
  }
  if (where.voice_vlan > 0 && where.fdb_id == where.voice_vlan) {
    return "the MAC " + where.mac + " on " + there + " was learned in VLAN " +
           std::to_string(where.voice_vlan) + ", the port's voice VLAN: most likely " +
           (phone ? "the phone announced there (" + describe(*phone) + ")" : "a phone") + stays;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> port_refusal(const ContainmentConfig& config, const Location& where) {
  if (!where.found) return "not located: " + where.problem;
  const SnmpDeviceConfig* sw = find_switch(config, where.device);
  if (!sw) return "switch " + where.device + " is not one of the configured access switches";
  if (sw->is_protected) return "switch " + sw->name + " is protected";
  if (listed(sw->protected_ports, where.port)) {
    return "port " + where.port + " on " + sw->name + " is protected";
  }
  if (listed(sw->uplinks, where.port)) {
    return "port " + where.port + " on " + sw->name + " is a configured uplink";
  }
  if (where.macs_on_port > config.uplink_max_macs) {
    return "port " + where.port + " on " + sw->name + " carries " +
           std::to_string(where.macs_on_port) + " MACs (more than uplink_max_macs " +
           std::to_string(config.uplink_max_macs) + "): treated as an uplink";
  }
  if (auto phone = phone_itself(*sw, where)) return phone;
  const bool neighbours_count =
      sw->lldp_uplinks.value_or(config.lldp_uplinks) && !listed(sw->desk_ports, where.port);
  for (const Neighbour& n : where.neighbours) {
    if (!neighbours_count) break;
    if (n.kind == NeighbourKind::kUplink) {
      return "port " + where.port + " on " + sw->name +
             " has a neighbour announced by LLDP or CDP (" + describe(n) +
             ") that is a bridge, router or access point and not a phone: treated as an uplink";
    }
    if (n.kind == NeighbourKind::kUnknown) {
      return "port " + where.port + " on " + sw->name +
             " has a neighbour announced by LLDP or CDP (" + describe(n) +
             ") that does not announce itself as a phone or a station: treated as an uplink "
             "(list the port in desk_ports if it is a desk)";
    }
  }
  if (!where.inspected) {
    return "the forwarding table of " + sw->name +
           " could not be read, so the port cannot be checked for uplinks";
  }
  return std::nullopt;
}

// ---- targets -------------------------------------------------------------------------------

void SnmpTargets::set(const ContainmentConfig&, std::map<std::string, SnmpCredential> credentials) {
  credentials_ = std::move(credentials);
}

SnmpTarget SnmpTargets::target(const ContainmentConfig& config,
                               const SnmpDeviceConfig& device) const {
  SnmpTarget t;
  t.name = device.name;
  t.address = device.address;
  t.port = device.port;
  t.version = device.version;
  t.context = device.context;
  t.timeout = config.snmp_timeout;
  t.retries = config.snmp_retries;
  if (auto it = credentials_.find(device.credential); it != credentials_.end()) {
    t.credential = it->second;
  }
  return t;
}

// ---- locator -------------------------------------------------------------------------------

void PortLocator::set_credentials(std::map<std::string, SnmpCredential> credentials) {
  std::lock_guard lock(mutex_);
  targets_.set({}, std::move(credentials));
  cache_.clear();
  views_.clear();
  tables_.clear();
}

void PortLocator::forget(const std::string& ip) {
  std::lock_guard lock(mutex_);
  cache_.erase(ip);
}

Location PortLocator::locate(const ContainmentConfig& config, const std::string& ip, bool fresh) {
  if (!fresh) {
    std::lock_guard lock(mutex_);
    auto it = cache_.find(ip);
    if (it != cache_.end() && clock_.now() - it->second.first <= config.location_max_age) {
      return it->second.second;
    }
  }
  bool used_cache = false;
  Location where = locate_uncached(config, ip, fresh, &used_cache);
  if (!where.found && used_cache) where = locate_uncached(config, ip, true, &used_cache);
  std::lock_guard lock(mutex_);
  if (where.found) cache_[ip] = {clock_.now(), where};
  return where;
}

bool PortLocator::confirm(const ContainmentConfig& config, const Location& where,
                          std::string* problem) {
  if (!where.found || where.source != "discovery" || where.mac.empty()) return true;
  const SnmpDeviceConfig* sw = find_switch(config, where.device);
  if (!sw) {
    *problem = "switch " + where.device + " is no longer configured";
    return false;
  }
  SnmpTarget target;
  {
    std::lock_guard lock(mutex_);
    target = targets_.target(config, *sw);
  }
  const std::vector<std::uint32_t> mac_index = [&] {
    std::vector<std::uint32_t> out;
    for (std::size_t i = 0; i < 17; i += 3) {
      out.push_back(static_cast<std::uint32_t>(std::stoul(where.mac.substr(i, 2), nullptr, 16)));
    }
    return out;
  }();
  Oid entry;
  const bool per_vlan_instance = !sw->fdb_vlans.empty();
  if (per_vlan_instance) {
    target = vlan_target(target, *sw, static_cast<int>(where.fdb_id));
    entry = oids::kDot1dTpFdbPort;
  } else if (where.fdb_id > 0) {
    entry = with(oids::kDot1qTpFdbPort, where.fdb_id);
  } else {
    entry = oids::kDot1dTpFdbPort;
  }
  entry.insert(entry.end(), mac_index.begin(), mac_index.end());
  const std::string not_there =
      "MAC " + where.mac + " is no longer on " + where.device + " " + where.port + ": ";
  SnmpResult fdb = snmp_.get(target, entry);
  if (!fdb.ok) {
    *problem = not_there + (fdb.error.rfind("timeout", 0) == 0
                                ? "switch " + where.device + " did not answer"
                                : "it is not in the forwarding table (" + fdb.error + ")");
    return false;
  }
  if (fdb.vars.empty() || fdb.vars[0].type != SnmpVar::Type::kInteger || fdb.vars[0].integer <= 0) {
    *problem = not_there + "it is not in the forwarding table";
    return false;
  }
  const std::int64_t bridge_port = fdb.vars[0].integer;
  std::int64_t if_index = per_vlan_instance ? 0 : bridge_port;
  SnmpResult base = snmp_.get(target, with(oids::kDot1dBasePortIfIndex, bridge_port));
  if (base.ok && !base.vars.empty() && base.vars[0].type == SnmpVar::Type::kInteger) {
    if_index = base.vars[0].integer;
  }
  if (if_index != where.if_index) {
    *problem = not_there + "the forwarding table now has it on bridge port " +
               std::to_string(bridge_port) +
               (if_index > 0 ? " (ifIndex " + std::to_string(if_index) + ")" : "");
    return false;
  }
  return true;
}

SwitchView PortLocator::read_switch(const ContainmentConfig& config, const SnmpDeviceConfig& device,
                                    bool fresh, bool* from_cache) {
  {
    std::lock_guard lock(mutex_);
    auto it = views_.find(device.name);
    if (!fresh && it != views_.end() && clock_.now() - it->second.at <= config.table_max_age) {
      if (from_cache) *from_cache = true;
      return it->second.view;
    }
  }
  SwitchView view = walk_switch(config, device);
  std::lock_guard lock(mutex_);
  if (view.ok) {
    views_[device.name] = {clock_.now(), view};
  } else {
    views_.erase(device.name);
  }
  return view;
}

SnmpResult PortLocator::table(const ContainmentConfig& config, const SnmpDeviceConfig& device,
                              const Oid& prefix, bool fresh, bool* used_cache) {
  const auto key = std::make_pair(device.name, prefix);
  SnmpTarget target;
  {
    std::lock_guard lock(mutex_);
    auto it = tables_.find(key);
    if (!fresh && it != tables_.end() && clock_.now() - it->second.at <= config.table_max_age) {
      *used_cache = true;
      return it->second.result;
    }
    target = targets_.target(config, device);
  }
  SnmpResult r = snmp_.walk(target, prefix);
  std::lock_guard lock(mutex_);
  if (r.ok) {
    tables_[key] = {clock_.now(), r};
  } else {
    tables_.erase(key);
  }
  return r;
}

int PortLocator::refresh(const ContainmentConfig& config) {
  if (config.table_refresh <= 0) return 0;
  int walked = 0;
  auto due = [&](TimePoint at) { return clock_.now() - at >= config.table_refresh; };
  for (const auto& router : config.routers) {
    for (const Oid* t : {&oids::kIpNetToPhysicalPhysAddress, &oids::kIpNetToMediaPhysAddress}) {
      bool stale = true;
      {
        std::lock_guard lock(mutex_);
        auto it = tables_.find({router.name, *t});
        stale = it == tables_.end() || due(it->second.at);
      }
      if (!stale) continue;
      bool ignored = false;
      table(config, router, *t, true, &ignored);
      ++walked;
    }
  }
  for (const auto& sw : config.switches) {
    bool stale = true;
    {
      std::lock_guard lock(mutex_);
      auto it = views_.find(sw.name);
      stale = it == views_.end() || due(it->second.at);
    }
    if (!stale) continue;
    read_switch(config, sw, true);
    ++walked;
  }
  return walked;
}

SwitchView PortLocator::walk_switch(const ContainmentConfig& config,
                                    const SnmpDeviceConfig& device) {
  SwitchView view;
  SnmpTarget target;
  {
    std::lock_guard lock(mutex_);
    target = targets_.target(config, device);
  }
  // The switch's columns in one walk: on a cold start they are the bulk of the time from
  // incident to shut port. An agent that fails the combined request (one column it does not
  // like) is asked column by column, as before.
  std::vector<Oid> columns = {oids::kIfName, oids::kDot1dBasePortIfIndex};
  const bool qbridge = device.fdb_vlans.empty();
  if (qbridge) columns.push_back(oids::kDot1qTpFdbPort);
  // Neighbours are read even where they do not make uplinks: a phone's own MAC is never shut.
  const std::size_t lldp_column = columns.size();
  for (const Oid& column :
       {oids::kLldpRemSysName, oids::kLldpRemSysCapEnabled, oids::kLldpRemChassisIdSubtype,
        oids::kLldpRemChassisId, oids::kCdpCacheDeviceId, oids::kCdpCacheCapabilities,
        oids::kCdpCacheAddressType, oids::kCdpCacheAddress}) {
    columns.push_back(column);
  }
  const std::size_t voice_column = columns.size();
  columns.push_back(oids::kVmVoiceVlanId);
  std::vector<SnmpResult> walked = snmp_.walk_columns(target, columns);
  const bool refused = std::any_of(walked.begin(), walked.end(), [](const SnmpResult& r) {
    return !r.ok && r.error.rfind("timeout", 0) != 0;
  });
  if (refused) {
    for (std::size_t i = 0; i < columns.size(); ++i) walked[i] = snmp_.walk(target, columns[i]);
  }
  const SnmpResult& names = walked[0];
  if (!names.ok) {
    view.error = unreadable("switch", device.name, "ifName", names.error);
    view.unanswered = is_timeout(names.error);
    return view;
  }
  for (const auto& v : names.vars) {
    Oid idx = suffix(v.oid, oids::kIfName);
    if (idx.size() == 1 && v.type == SnmpVar::Type::kBytes) view.if_names[idx[0]] = v.bytes;
  }
  std::map<std::int64_t, std::int64_t> base_to_if;
  const SnmpResult& base = walked[1];
  if (base.ok) {
    for (const auto& v : base.vars) {
      Oid idx = suffix(v.oid, oids::kDot1dBasePortIfIndex);
      if (idx.size() == 1 && v.type == SnmpVar::Type::kInteger) base_to_if[idx[0]] = v.integer;
    }
  }
  auto if_of_bridge_port = [&](std::int64_t bp) -> std::int64_t {
    auto it = base_to_if.find(bp);
    return it == base_to_if.end() ? bp : it->second;
  };
  // Q-BRIDGE (per VLAN: fdbId.mac) first; the plain BRIDGE table when it is empty. A switch
  // with fdb_vlans keeps one BRIDGE-MIB instance per VLAN (Cisco's community@vlan, or an
  // SNMPv3 context per VLAN): each is walked with its own bridge-port numbering.
  // (ifIndex, fdbId or VLAN, MAC): a MAC counts once per VLAN on a port.
  std::set<std::tuple<std::int64_t, std::int64_t, std::string>> seen;
  if (!device.fdb_vlans.empty()) {
    for (const int vlan : device.fdb_vlans) {
      const SnmpTarget instance = vlan_target(target, device, vlan);
      const std::string where = device.name + " VLAN " + std::to_string(vlan);
      std::vector<SnmpResult> tables =
          snmp_.walk_columns(instance, {oids::kDot1dBasePortIfIndex, oids::kDot1dTpFdbPort});
      const SnmpResult& ports = tables[0];
      const SnmpResult& fdb = tables[1];
      if (!ports.ok || !fdb.ok) {
        const SnmpResult& failed = ports.ok ? fdb : ports;
        view.error = unreadable("switch", where,
                                ports.ok ? "dot1dTpFdbPort" : "dot1dBasePortIfIndex", failed.error);
        view.unanswered = is_timeout(failed.error);
        return view;
      }
      std::map<std::int64_t, std::int64_t> vlan_ports;
      for (const auto& v : ports.vars) {
        Oid idx = suffix(v.oid, oids::kDot1dBasePortIfIndex);
        if (idx.size() == 1 && v.type == SnmpVar::Type::kInteger) vlan_ports[idx[0]] = v.integer;
      }
      for (const auto& v : fdb.vars) {
        Oid idx = suffix(v.oid, oids::kDot1dTpFdbPort);
        if (idx.size() != 6 || v.type != SnmpVar::Type::kInteger || v.integer <= 0) continue;
        auto it = vlan_ports.find(v.integer);
        // A bridge port this VLAN's instance cannot map is not guessed from another's numbering.
        if (it == vlan_ports.end()) continue;
        seen.insert({it->second, vlan, mac_text(&idx[0])});
      }
    }
  }
  SnmpResult q;
  if (qbridge) q = walked[2];
  bool any = !qbridge;
  if (q.ok) {
    for (const auto& v : q.vars) {
      Oid idx = suffix(v.oid, oids::kDot1qTpFdbPort);
      if (idx.size() != 7 || v.type != SnmpVar::Type::kInteger || v.integer <= 0) continue;
      seen.insert({if_of_bridge_port(v.integer), idx[0], mac_text(&idx[1])});
      any = true;
    }
  }
  if (!any) {
    SnmpResult d = snmp_.walk(target, oids::kDot1dTpFdbPort);
    if (!d.ok) {
      view.error = unreadable("switch", device.name, "dot1dTpFdbPort", d.error);
      view.unanswered = is_timeout(d.error);
      return view;
    }
    for (const auto& v : d.vars) {
      Oid idx = suffix(v.oid, oids::kDot1dTpFdbPort);
      if (idx.size() != 6 || v.type != SnmpVar::Type::kInteger || v.integer <= 0) continue;
      seen.insert({if_of_bridge_port(v.integer), 0, mac_text(&idx[0])});
    }
  }
  std::map<std::pair<std::int64_t, std::int64_t>, std::int64_t> per_vlan;
  for (const auto& [ifindex, fdb_id, mac] : seen) {
    auto& count = per_vlan[{ifindex, fdb_id}];
    ++count;
    view.macs_per_port[ifindex] = std::max(view.macs_per_port[ifindex], count);
    auto& sightings = view.mac_ports[mac];
    // A copy: clang before 16 cannot capture a structured binding (the fuzz build uses clang).
    const std::int64_t port_if = ifindex;
    const bool known =
        std::any_of(sightings.begin(), sightings.end(),
                    [&](const SwitchView::Sighting& s) { return s.if_index == port_if; });
    if (!known) sightings.push_back({ifindex, fdb_id});
  }
  read_neighbours(view, std::span(walked).subspan(lldp_column, voice_column - lldp_column),
                  if_of_bridge_port);
  if (walked[voice_column].ok) {
    for (const auto& v : walked[voice_column].vars) {
      Oid idx = suffix(v.oid, oids::kVmVoiceVlanId);
      if (idx.size() == 1 && v.type == SnmpVar::Type::kInteger && v.integer >= 1 &&
          v.integer <= 4094) {
        view.voice_vlans[idx[0]] = static_cast<int>(v.integer);
      }
    }
  }
  view.ok = true;
  return view;
}

std::optional<std::string> PortLocator::arp_entry(const ContainmentConfig& config,
                                                  const SnmpDeviceConfig& router,
                                                  const IpAddress& address, bool fresh,
                                                  bool* used_cache) {
  constexpr std::size_t kMaxInterfaces = 256;  // beyond that a walk is cheaper
  SnmpResult interfaces = table(config, router, oids::kIfIndex, fresh, used_cache);
  if (!interfaces.ok || interfaces.vars.empty() || interfaces.vars.size() > kMaxInterfaces) {
    return std::nullopt;
  }
  const std::vector<std::uint32_t> tail = address_index(address);
  std::vector<Oid> entries;
  for (const auto& v : interfaces.vars) {
    if (v.type != SnmpVar::Type::kInteger || v.integer <= 0) continue;
    Oid physical = with(oids::kIpNetToPhysicalPhysAddress, v.integer);
    physical.push_back(address.is_v4() ? 1 : 2);  // InetAddressType ipv4(1) / ipv6(2)
    physical.push_back(static_cast<std::uint32_t>(tail.size()));
    physical.insert(physical.end(), tail.begin(), tail.end());
    entries.push_back(std::move(physical));
    if (address.is_v4()) {
      Oid media = with(oids::kIpNetToMediaPhysAddress, v.integer);
      media.insert(media.end(), tail.begin(), tail.end());
      entries.push_back(std::move(media));
    }
  }
  SnmpTarget target;
  {
    std::lock_guard lock(mutex_);
    target = targets_.target(config, router);
  }
  for (const SnmpResult& r : snmp_.get_many(target, entries)) {
    if (!r.ok || r.vars.empty() || r.vars[0].type != SnmpVar::Type::kBytes) continue;
    if (auto mac = mac_from_bytes(r.vars[0].bytes)) return mac;
  }
  return std::nullopt;
}

std::optional<std::string> PortLocator::mac_of(const ContainmentConfig& config,
                                               const std::string& ip, bool fresh, bool* used_cache,
                                               std::string* problem, bool* unanswered) {
  auto address = IpAddress::parse(ip);
  if (!address) {
    *problem = "not an IP address";
    return std::nullopt;
  }
  const std::vector<std::uint32_t> tail = address_index(*address);
  std::vector<std::string> errors;
  for (const auto& router : config.routers) {
    // Asked directly unless the walked table is at hand: a 4,000-entry ARP table costs a cold
    // start most of its time, and the entry for one address is a GET per router interface.
    bool cached = false;
    if (!fresh) {
      std::lock_guard lock(mutex_);
      auto it = tables_.find({router.name, oids::kIpNetToPhysicalPhysAddress});
      cached = it != tables_.end() && clock_.now() - it->second.at <= config.table_max_age;
    }
    if (!cached) {
      if (auto mac = arp_entry(config, router, *address, fresh, used_cache)) return mac;
    }
    // IP-MIB ipNetToPhysicalTable: ifIndex.type.len.address; then RFC 1213 ifIndex.a.b.c.d.
    for (const Oid* table : {&oids::kIpNetToPhysicalPhysAddress, &oids::kIpNetToMediaPhysAddress}) {
      SnmpResult r = this->table(config, router, *table, fresh, used_cache);
      if (!r.ok) {
        errors.push_back(unreadable("router", router.name, "ARP/ND table", r.error));
        *unanswered = *unanswered || is_timeout(r.error);
        break;
      }
      for (const auto& v : r.vars) {
        Oid idx = suffix(v.oid, *table);
        if (idx.size() < tail.size() + 1) continue;
        if (table == &oids::kIpNetToPhysicalPhysAddress &&
            (idx.size() != tail.size() + 3 || idx[2] != tail.size())) {
          continue;
        }
        if (table == &oids::kIpNetToMediaPhysAddress && idx.size() != tail.size() + 1) continue;
        if (!std::equal(tail.begin(), tail.end(), idx.end() - static_cast<long>(tail.size()))) {
          continue;
        }
        if (auto mac = mac_from_bytes(v.bytes)) return mac;
      }
    }
  }
  *problem = (*unanswered ? "no router that answered has " : "no router has ") + ip +
             " in its ARP/ND table";
  for (const auto& e : errors) *problem += "; " + e;
  return std::nullopt;
}

Location PortLocator::locate_uncached(const ContainmentConfig& config, const std::string& ip,
                                      bool fresh, bool* used_cache) {
  Location where;
  where.ip = ip;
  // 1. The static map by IP.
  const StaticPort* entry = nullptr;
  for (const auto& e : config.static_map) {
    if (!e.ip.empty() && e.ip == ip) entry = &e;
  }
  std::string mac;
  if (!entry) {
    std::string problem;
    auto found = mac_of(config, ip, fresh, used_cache, &problem, &where.unanswered);
    if (!found) {
      where.problem = config.routers.empty() ? ip + " is not in the static map and no routers "
                                                    "are configured for discovery"
                                             : problem;
      return where;
    }
    mac = *found;
    for (const auto& e : config.static_map) {
      if (!e.mac.empty() && e.mac == mac) entry = &e;
    }
  }
  where.mac = mac;
  if (entry) {
    // 2a. A static entry: read its switch to name the port and check it for uplinks.
    where.source = "static";
    where.device = entry->device;
    const SnmpDeviceConfig* sw = find_switch(config, entry->device);
    if (!sw) {
      where.problem = "static map names an unknown switch " + entry->device;
      return where;
    }
    SwitchView view = read_switch(config, *sw, fresh, used_cache);
    where.found = true;
    where.port = entry->port;
    where.if_index = entry->if_index;
    if (view.ok) {
      where.inspected = true;
      if (where.port.empty()) {
        where.port = view.if_names.count(where.if_index) ? view.if_names[where.if_index] : "";
      } else {
        where.if_index = 0;
        for (const auto& [idx, name] : view.if_names) {
          if (name == where.port) where.if_index = idx;
        }
      }
      if (where.port.empty() || where.if_index == 0) {
        where.found = false;
        where.problem =
            "switch " + sw->name + " has no port " +
            (entry->port.empty() ? "with ifIndex " + std::to_string(entry->if_index) : entry->port);
        return where;
      }
      where.macs_on_port = static_cast<int>(view.macs_per_port[where.if_index]);
      if (view.neighbours.count(where.if_index)) where.neighbours = view.neighbours[where.if_index];
      where.voice_vlan =
          view.voice_vlans.count(where.if_index) ? view.voice_vlans[where.if_index] : 0;
      if (auto it = view.mac_ports.find(mac); it != view.mac_ports.end()) {
        for (const auto& seen : it->second) {
          if (seen.if_index == where.if_index) where.fdb_id = seen.fdb_id;
        }
      }
    } else {
      where.problem = view.error;
      where.unanswered = view.unanswered;
    }
    return where;
  }
  // 2b. Discovery: every access switch's FDB; prefer the port with the fewest MACs.
  where.source = "discovery";
  struct Candidate {
    const SnmpDeviceConfig* sw;
    std::int64_t if_index;
    std::int64_t macs;
    std::string name;
    std::vector<Neighbour> neighbours;
    std::int64_t fdb_id;
    int voice_vlan;
  };
  std::vector<Candidate> candidates;
  std::vector<std::string> skipped;
  std::vector<std::string> errors;
  for (const auto& sw : config.switches) {
    SwitchView view = read_switch(config, sw, fresh, used_cache);
    if (!view.ok) {
      errors.push_back(view.error);
      where.unanswered = where.unanswered || view.unanswered;
      continue;
    }
    auto it = view.mac_ports.find(mac);
    if (it == view.mac_ports.end()) continue;
    for (const auto& [idx, fdb_id] : it->second) {
      const std::string name = view.if_names.count(idx) ? view.if_names[idx] : "";
      if (listed(sw.uplinks, name)) {
        skipped.push_back(sw.name + " " + name + " (configured uplink)");
        continue;
      }
      const int voice = view.voice_vlans.count(idx) ? view.voice_vlans[idx] : 0;
      candidates.push_back(
          {&sw, idx, view.macs_per_port[idx], name, view.neighbours[idx], fdb_id, voice});
    }
  }
  if (candidates.empty()) {
    where.problem = "MAC " + mac + " of " + ip + " is in no " +
                    (errors.empty() ? "" : "readable ") + "access switch's forwarding table";
    for (const auto& s : skipped) where.problem += "; seen on " + s;
    for (const auto& e : errors) where.problem += "; " + e;
    return where;
  }
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const Candidate& a, const Candidate& b) { return a.macs < b.macs; });
  if (candidates.size() > 1 && candidates[0].macs == candidates[1].macs) {
    where.problem = "ambiguous: MAC " + mac + " is seen on " + candidates[0].sw->name + " " +
                    candidates[0].name + " and " + candidates[1].sw->name + " " +
                    candidates[1].name + " with " + std::to_string(candidates[0].macs) +
                    " MACs each";
    return where;
  }
  if (!errors.empty()) {
    // A switch we could not read might hold the real access port: do not guess.
    where.problem = "not every access switch could be read: " + errors.front();
    return where;
  }
  const Candidate& best = candidates.front();
  where.found = true;
  where.inspected = true;
  where.device = best.sw->name;
  where.if_index = best.if_index;
  where.port = best.name;
  where.macs_on_port = static_cast<int>(best.macs);
  where.neighbours = best.neighbours;
  where.fdb_id = best.fdb_id;
  where.voice_vlan = best.voice_vlan;
  if (where.port.empty()) {
    where.found = false;
    where.problem =
        "switch " + best.sw->name + " has no ifName for ifIndex " + std::to_string(best.if_index);
  }
  return where;
}

// ---- port reader and SNMP controller ---------------------------------------------------------

SnmpPortReader::SnmpPortReader(SnmpClient& snmp, std::shared_ptr<const ContainmentConfig> config,
                               std::map<std::string, SnmpCredential> credentials)
    : snmp_(snmp), config_(std::move(config)) {
  targets_.set(*config_, std::move(credentials));
}

SnmpTarget SnmpPortReader::target(const SnmpDeviceConfig& device) const {
  return targets_.target(*config_, device);
}

std::int64_t SnmpPortReader::resolve(const SnmpDeviceConfig& device, const std::string& port,
                                     std::int64_t hint, std::string* problem) {
  const SnmpTarget t = target(device);
  // ifIndex can renumber (a reload, a module swap): the name is what identifies the port.
  if (hint > 0) {
    SnmpResult name = snmp_.get(t, with(oids::kIfName, hint));
    if (name.ok && !name.vars.empty() && name.vars[0].type == SnmpVar::Type::kBytes &&
        name.vars[0].bytes == port) {
      return hint;
    }
  }
  SnmpResult names = snmp_.walk(t, oids::kIfName);
  if (!names.ok) {
    *problem = "cannot read ifName on " + device.name + ": " + names.error;
    return 0;
  }
  std::int64_t resolved = 0;
  for (const auto& v : names.vars) {
    Oid idx = suffix(v.oid, oids::kIfName);
    if (idx.size() == 1 && v.type == SnmpVar::Type::kBytes && v.bytes == port) resolved = idx[0];
  }
  if (resolved == 0) *problem = device.name + " has no port named " + port;
  return resolved;
}

std::optional<std::int64_t> SnmpPortReader::admin_status(const SnmpDeviceConfig& device,
                                                         std::int64_t if_index,
                                                         std::string* problem) {
  SnmpResult back = snmp_.get(target(device), with(oids::kIfAdminStatus, if_index));
  if (!back.ok || back.vars.empty() || back.vars[0].type != SnmpVar::Type::kInteger) {
    *problem = "the read-back of ifAdminStatus." + std::to_string(if_index) + " on " + device.name +
               " failed: " + (back.ok ? "not an INTEGER" : back.error);
    return std::nullopt;
  }
  return back.vars[0].integer;
}

std::string vlan_object_name(const Oid& object) {
  const bool cisco = object.size() == oids::kVmVlan.size() + 1 &&
                     std::equal(oids::kVmVlan.begin(), oids::kVmVlan.end(), object.begin());
  return (cisco ? "vmVlan." : "dot1qPvid.") + std::to_string(object.back());
}

std::optional<Oid> SnmpPortReader::vlan_object(const SnmpDeviceConfig& device,
                                               std::int64_t if_index, std::string* problem) {
  const SnmpTarget t = target(device);
  if (device.vlan_mib == VlanMib::kCisco) {
    SnmpResult type = snmp_.get(t, with(oids::kVmVlanType, if_index));
    if (!type.ok || type.vars.empty() || type.vars[0].type != SnmpVar::Type::kInteger) {
      *problem = "the read of vmVlanType." + std::to_string(if_index) + " on " + device.name +
                 " failed: " + (type.ok ? "not an INTEGER" : type.error) +
                 " (not an access port, or no CISCO-VLAN-MEMBERSHIP-MIB)";
      return std::nullopt;
    }
    constexpr std::int64_t kStatic = 1;
    if (type.vars[0].integer != kStatic) {
      *problem = "ifIndex " + std::to_string(if_index) + " on " + device.name +
                 " is not a static access port (vmVlanType " +
                 std::to_string(type.vars[0].integer) + "): its VLAN is not set over SNMP";
      return std::nullopt;
    }
    return with(oids::kVmVlan, if_index);
  }
  // dot1qPvid is indexed by bridge port: the one dot1dBasePortIfIndex maps to this ifIndex
  // (the ifIndex itself only on an agent without that column, as the locator assumes too).
  SnmpResult ports = snmp_.walk(t, oids::kDot1dBasePortIfIndex);
  if (!ports.ok) {
    *problem = "cannot read dot1dBasePortIfIndex on " + device.name + ": " + ports.error;
    return std::nullopt;
  }
  std::int64_t bridge_port = ports.vars.empty() ? if_index : 0;
  for (const auto& v : ports.vars) {
    if (v.type == SnmpVar::Type::kInteger && v.integer == if_index) {
      bridge_port = v.oid.back();
    }
  }
  if (bridge_port == 0) {
    *problem = "ifIndex " + std::to_string(if_index) + " on " + device.name +
               " is no bridge port: its VLAN cannot be set";
    return std::nullopt;
  }
  return with(oids::kDot1qPvid, bridge_port);
}

std::optional<std::int64_t> SnmpPortReader::read_vlan(const SnmpDeviceConfig& device,
                                                      const Oid& object, std::string* problem) {
  SnmpResult r = snmp_.get(target(device), object);
  if (!r.ok || r.vars.empty() || r.vars[0].type != SnmpVar::Type::kInteger) {
    *problem = "the read of " + vlan_object_name(object) + " on " + device.name +
               " failed: " + (r.ok ? "not an INTEGER" : r.error);
    return std::nullopt;
  }
  return r.vars[0].integer;
}

SnmpPortController::SnmpPortController(SnmpClient& snmp,
                                       std::shared_ptr<const ContainmentConfig> config,
                                       std::map<std::string, SnmpCredential> credentials)
    : snmp_(snmp), reader_(snmp, std::move(config), std::move(credentials)) {}

PortWrite SnmpPortController::set_admin_status(const PortRequest& request) {
  PortWrite out;
  const SnmpDeviceConfig& device = *request.device;
  std::string problem;
  const std::int64_t resolved = reader_.resolve(device, request.port, request.if_index, &problem);
  if (resolved == 0) {
    out.detail = problem;
    return out;
  }
  out.if_index = resolved;
  std::string note;
  if (request.if_index != 0 && request.if_index != resolved) {
    note = " (ifIndex was " + std::to_string(request.if_index) + ", now " +
           std::to_string(resolved) + ")";
  }
  if (request.vlan > 0) return set_vlan(request, resolved, note);
  const std::int64_t want = request.up ? 1 : 2;
  const Oid admin = with(oids::kIfAdminStatus, resolved);
  SnmpResult set = snmp_.set_integer(reader_.target(device), admin, want);
  if (!set.ok) {
    out.detail = "SET ifAdminStatus." + std::to_string(resolved) + "=" + std::to_string(want) +
                 " on " + device.name + " failed: " + set.error + note;
    return out;
  }
  auto back = reader_.admin_status(device, resolved, &problem);
  if (!back) {
    out.detail = "SET accepted but " + problem + note;
    return out;
  }
  if (*back != want) {
    out.detail = "SET accepted but ifAdminStatus." + std::to_string(resolved) + " on " +
                 device.name + " reads " + std::to_string(*back) + ", not " + std::to_string(want) +
                 ": the write did not take" + note;
    return out;
  }
  out.ok = true;
  out.detail = device.name + " " + request.port + " (ifIndex " + std::to_string(resolved) +
               ") is " + (request.up ? "up" : "down") + ", verified" + note;
  return out;
}

PortWrite SnmpPortController::set_vlan(const PortRequest& request, std::int64_t if_index,
                                       const std::string& note) {
  PortWrite out;
  out.if_index = if_index;
  const SnmpDeviceConfig& device = *request.device;
  std::string problem;
  const auto object = reader_.vlan_object(device, if_index, &problem);
  if (!object) {
    out.detail = problem + note;
    return out;
  }
  const std::string name = vlan_object_name(*object);
  const auto before = reader_.read_vlan(device, *object, &problem);
  if (!before) {
    out.detail = problem + note;
    return out;
  }
  if (*before == request.vlan && !request.up) {
    // Already in the quarantine VLAN: the VLAN to go back to is unknown, so nothing is claimed.
    out.detail = device.name + " " + request.port + " is already in VLAN " +
                 std::to_string(request.vlan) + ": the VLAN it had before is unknown" + note;
    return out;
  }
  out.previous_vlan = static_cast<int>(*before);
  SnmpResult set = snmp_.set_integer(reader_.target(device), *object, request.vlan);
  if (!set.ok) {
    out.detail = "SET " + name + "=" + std::to_string(request.vlan) + " on " + device.name +
                 " failed: " + set.error + note;
    return out;
  }
  const auto after = reader_.read_vlan(device, *object, &problem);
  if (!after || *after != request.vlan) {
    out.detail = "SET accepted but " +
                 (after ? name + " on " + device.name + " reads " + std::to_string(*after) +
                              ", not " + std::to_string(request.vlan) + ": the write did not take"
                        : problem) +
                 note;
    return out;
  }
  out.ok = true;
  out.detail = device.name + " " + request.port + " (ifIndex " + std::to_string(if_index) +
               ") is in VLAN " + std::to_string(request.vlan) + " (was " + std::to_string(*before) +
               "), verified" + note;
  return out;
}

}  // namespace vtrace::responder
