// Containment: where an internal origin is plugged in (static map, or router ARP -> switch FDB
// -> bridge port -> ifIndex -> ifName, as NetDisco does), whether that port may be shut (the
// guards), and the SNMP port controller that writes ifAdminStatus and reads it back.
//
// Everything here talks to the network only through SnmpClient, so it is tested with an
// in-memory agent; the Net-SNMP implementation lives in netsnmp_client.cpp.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/net.hpp"
#include "responder/clock.hpp"
#include "responder/config/config.hpp"
#include "responder/containment/port_controller.hpp"
#include "responder/containment/snmp_client.hpp"

namespace vtrace::responder {

namespace oids {
inline const Oid kIfAdminStatus = {1, 3, 6, 1, 2, 1, 2, 2, 1, 7};
inline const Oid kIfName = {1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 1};
inline const Oid kIfIndex = {1, 3, 6, 1, 2, 1, 2, 2, 1, 1};
inline const Oid kIpNetToPhysicalPhysAddress = {1, 3, 6, 1, 2, 1, 4, 35, 1, 4};
inline const Oid kIpNetToMediaPhysAddress = {1, 3, 6, 1, 2, 1, 4, 22, 1, 2};
inline const Oid kDot1qTpFdbPort = {1, 3, 6, 1, 2, 1, 17, 7, 1, 2, 2, 1, 2};
inline const Oid kDot1dTpFdbPort = {1, 3, 6, 1, 2, 1, 17, 4, 3, 1, 2};
inline const Oid kDot1dBasePortIfIndex = {1, 3, 6, 1, 2, 1, 17, 1, 4, 1, 2};
// Q-BRIDGE dot1qPvid, indexed by dot1dBasePort: a port's untagged (data) VLAN.
inline const Oid kDot1qPvid = {1, 3, 6, 1, 2, 1, 17, 7, 1, 4, 5, 1, 1};
// CISCO-VLAN-MEMBERSHIP-MIB vmMembershipTable, indexed by ifIndex: vmVlanType static(1),
// dynamic(2), multiVlan(3), and vmVlan, the access port's VLAN (writable when static).
inline const Oid kVmVlanType = {1, 3, 6, 1, 4, 1, 9, 9, 68, 1, 2, 2, 1, 1};
inline const Oid kVmVlan = {1, 3, 6, 1, 4, 1, 9, 9, 68, 1, 2, 2, 1, 2};
// vmVoiceVlanTable vmVoiceVlanId, indexed by ifIndex: the port's voice VLAN (1-4094; 4095
// dot1p, 4096 untagged and 0 are none).
inline const Oid kVmVoiceVlanId = {1, 3, 6, 1, 4, 1, 9, 9, 68, 1, 5, 1, 1, 1};
// LLDP-MIB lldpRemTable, indexed by timeMark.localPortNum.index.
inline const Oid kLldpRemChassisIdSubtype = {1, 0, 8802, 1, 1, 2, 1, 4, 1, 1, 4};
inline const Oid kLldpRemChassisId = {1, 0, 8802, 1, 1, 2, 1, 4, 1, 1, 5};
inline const Oid kLldpRemSysName = {1, 0, 8802, 1, 1, 2, 1, 4, 1, 1, 9};
inline const Oid kLldpRemSysCapEnabled = {1, 0, 8802, 1, 1, 2, 1, 4, 1, 1, 12};
// CISCO-CDP-MIB cdpCacheTable, indexed by ifIndex.deviceIndex (Cisco and many others).
inline const Oid kCdpCacheAddressType = {1, 3, 6, 1, 4, 1, 9, 9, 23, 1, 2, 1, 1, 3};
inline const Oid kCdpCacheAddress = {1, 3, 6, 1, 4, 1, 9, 9, 23, 1, 2, 1, 1, 4};
inline const Oid kCdpCacheDeviceId = {1, 3, 6, 1, 4, 1, 9, 9, 23, 1, 2, 1, 1, 6};
inline const Oid kCdpCacheCapabilities = {1, 3, 6, 1, 4, 1, 9, 9, 23, 1, 2, 1, 1, 9};
}  // namespace oids

// What a neighbour announces itself as. A telephone is a phone even when it also announces
// bridge (many IP phones enable both bits: they switch the PC port behind them).
enum class NeighbourKind {
  kPhone,    // LLDP telephone / CDP Phone: a desk port, the PC may be behind it
  kStation,  // LLDP station only / CDP Host only: a desk port
  kUplink,   // bridge, router, WLAN access point, repeater (without telephone)
  kUnknown,  // no capabilities announced or none we understand: treated as an uplink
};

struct Neighbour {
  std::string name;      // lldpRemSysName or cdpCacheDeviceId ("?" when empty)
  std::string protocol;  // "LLDP" or "CDP"
  NeighbourKind kind = NeighbourKind::kUnknown;
  std::string capabilities;  // as announced, e.g. "bridge, telephone"
  // The neighbour's own MAC: the LLDP chassis id when it is a MAC address (subtype 4), or the
  // one a Cisco phone's CDP device id spells ("SEP" and its 12 hex digits). CDP carries no MAC.
  std::string mac;
  std::string address;  // CDP cdpCacheAddress when it is an IPv4 address (cdpCacheAddressType 1)
};

// The kind a neighbour announces: LLDP lldpRemSysCapEnabled (BITS, bit 0 the high bit of the
// first octet) or CDP cdpCacheCapabilities (a 32-bit big-endian bitmap). `text` is set to the
// capabilities by name.
NeighbourKind lldp_kind(const std::string& bits, std::string* text);
NeighbourKind cdp_kind(const std::string& bitmap, std::string* text);

std::string oid_text(const Oid& oid);

// The agent instance holding one VLAN's BRIDGE-MIB: community "<community>@<vlan>" for v2c,
// the context device.vlan_context with {vlan} replaced for v3.
SnmpTarget vlan_target(const SnmpTarget& base, const SnmpDeviceConfig& device, int vlan);

// Where an origin is plugged in, and what was seen on that port.
struct Location {
  std::string ip;  // the origin located
  bool found = false;
  std::string problem;  // why not found (or ambiguous)
  std::string source;   // "static" or "discovery"
  std::string device;   // a configured access switch
  std::string port;     // ifName
  std::int64_t if_index = 0;
  std::string mac;  // when known
  // The most distinct MACs the FDB holds for that port in any one VLAN (-1: not read): a
  // phone on the voice VLAN with a PC on the data VLAN is one per VLAN, not an uplink.
  int macs_on_port = -1;
  std::vector<Neighbour> neighbours;  // announced by LLDP or CDP on that port
  bool inspected = false;             // the FDB/LLDP of the switch was read
  // A router or switch did not answer: not found for now, worth trying again later.
  bool unanswered = false;
  // Where the MAC was learned, to confirm it is still there right before a write: the
  // Q-BRIDGE fdbId, or the VLAN of a per-VLAN BRIDGE-MIB instance (0: plain BRIDGE-MIB).
  std::int64_t fdb_id = 0;
  int voice_vlan = 0;  // Cisco vmVoiceVlanId of the port (0: none or not read)
};

// The port-level guards; returns the reason to refuse, or nullopt when the port may be shut.
std::optional<std::string> port_refusal(const ContainmentConfig& config, const Location& where);

// One switch's forwarding view, read over SNMP.
struct SwitchView {
  bool ok = false;
  std::string error;
  bool unanswered = false;  // the error is a timeout: the switch did not answer
  struct Sighting {
    std::int64_t if_index = 0;
    std::int64_t fdb_id = 0;  // see Location::fdb_id
  };
  std::map<std::string, std::vector<Sighting>> mac_ports;  // mac -> ports it is seen on, once each
  std::map<std::int64_t, std::int64_t> macs_per_port;      // ifIndex -> most MACs in one VLAN
  std::map<std::int64_t, std::string> if_names;            // ifIndex -> ifName
  std::map<std::int64_t, std::vector<Neighbour>> neighbours;  // ifIndex -> LLDP/CDP neighbours
  std::map<std::int64_t, int> voice_vlans;                    // ifIndex -> vmVoiceVlanId
};

// Builds SnmpTargets from the configuration and the credentials.
class SnmpTargets {
 public:
  void set(const ContainmentConfig& config, std::map<std::string, SnmpCredential> credentials);
  SnmpTarget target(const ContainmentConfig& config, const SnmpDeviceConfig& device) const;

 private:
  std::map<std::string, SnmpCredential> credentials_;
};

// Locates origins and caches the answers for location_max_age. Thread-safe.
//
// The walked tables (each router's ARP/ND table, each switch's view) are kept for
// table_max_age and reused by later locations: a worm outbreak locates many hosts on the same
// switches within minutes. A location that fails or is ambiguous on reused tables is done again
// on freshly walked ones, so a new host or a moved one is never missed for a stale table.
class PortLocator {
 public:
  PortLocator(SnmpClient& snmp, const Clock& clock) : snmp_(snmp), clock_(clock) {}

  // New credentials (a reload) also drop every cached location and table.
  void set_credentials(std::map<std::string, SnmpCredential> credentials);
  // The cached location when younger than location_max_age; `fresh` walks every table again.
  Location locate(const ContainmentConfig& config, const std::string& ip, bool fresh = false);
  // Whether a discovered location's MAC is on that port now: one GET of its forwarding-table
  // entry (dot1qTpFdbPort.fdbId.mac, or dot1dTpFdbPort.mac in its VLAN's instance) and one of
  // dot1dBasePortIfIndex for the bridge port it names. A static-map location is the operator's
  // word and is not checked. False with `problem` saying what was found instead.
  bool confirm(const ContainmentConfig& config, const Location& where, std::string* problem);
  // A switch's view: the cached one when younger than table_max_age and `fresh` is false.
  SwitchView read_switch(const ContainmentConfig& config, const SnmpDeviceConfig& device,
                         bool fresh = true, bool* from_cache = nullptr);
  void forget(const std::string& ip);
  // Re-walks every router's ARP table and every switch whose cached copy is older than
  // table_refresh (when it is set), so the first location after a quiet spell finds warm
  // tables. Returns the number of devices walked.
  int refresh(const ContainmentConfig& config);

 private:
  Location locate_uncached(const ContainmentConfig& config, const std::string& ip, bool fresh,
                           bool* used_cache);
  std::optional<std::string> mac_of(const ContainmentConfig& config, const std::string& ip,
                                    bool fresh, bool* used_cache, std::string* problem,
                                    bool* unanswered);
  // The router's ARP/ND entry for `address`, asked with GETs (one per interface, in as few
  // PDUs as the agent takes); nullopt when it has none or cannot say, and the table is walked.
  std::optional<std::string> arp_entry(const ContainmentConfig& config,
                                       const SnmpDeviceConfig& router, const IpAddress& address,
                                       bool fresh, bool* used_cache);
  SwitchView walk_switch(const ContainmentConfig& config, const SnmpDeviceConfig& device);
  // One table of one device, reused for table_max_age unless `fresh`.
  SnmpResult table(const ContainmentConfig& config, const SnmpDeviceConfig& device,
                   const Oid& prefix, bool fresh, bool* used_cache);

  struct CachedView {
    TimePoint at = 0;
    SwitchView view;
  };
  struct CachedTable {
    TimePoint at = 0;
    SnmpResult result;
  };

  SnmpClient& snmp_;
  const Clock& clock_;
  std::mutex mutex_;
  SnmpTargets targets_;
  std::map<std::string, std::pair<TimePoint, Location>> cache_;
  std::map<std::string, CachedView> views_;                    // by switch name
  std::map<std::pair<std::string, Oid>, CachedTable> tables_;  // by router name and table
};

// "dot1qPvid.<bridge port>" or "vmVlan.<ifIndex>": a VLAN object as messages name it.
std::string vlan_object_name(const Oid& object);

// Reads a switch port by name: the ifIndex (re-resolved from the ifName) and ifAdminStatus.
// Used before every SNMP write and to verify what an HTTP back end did.
class SnmpPortReader {
 public:
  SnmpPortReader(SnmpClient& snmp, std::shared_ptr<const ContainmentConfig> config,
                 std::map<std::string, SnmpCredential> credentials);
  SnmpTarget target(const SnmpDeviceConfig& device) const;
  // The ifIndex whose ifName is `port`: the hint is checked with one GET of ifName.<hint>; only
  // when it no longer names the port is the whole ifName column walked. 0 with `problem` set
  // when the switch has no such port or cannot be read.
  std::int64_t resolve(const SnmpDeviceConfig& device, const std::string& port, std::int64_t hint,
                       std::string* problem);
  // ifAdminStatus.<if_index>; nullopt with `problem` set when it cannot be read.
  std::optional<std::int64_t> admin_status(const SnmpDeviceConfig& device, std::int64_t if_index,
                                           std::string* problem);
  // The object holding the port's untagged (data) VLAN, by the switch's vlan_mib:
  // dot1qPvid.<the bridge port dot1dBasePortIfIndex maps to if_index>, or Cisco
  // vmVlan.<if_index> of a static access port (vmVlanType static(1)). nullopt with `problem`
  // set when the port has none that may be written.
  std::optional<Oid> vlan_object(const SnmpDeviceConfig& device, std::int64_t if_index,
                                 std::string* problem);
  // The VLAN `object` (from vlan_object) reads; nullopt with `problem` set.
  std::optional<std::int64_t> read_vlan(const SnmpDeviceConfig& device, const Oid& object,
                                        std::string* problem);

 private:
  SnmpClient& snmp_;
  std::shared_ptr<const ContainmentConfig> config_;
  SnmpTargets targets_;
};

// SET ifAdminStatus.<ifIndex> (re-resolved from the ifName right before), then GET it back.
class SnmpPortController final : public PortController {
 public:
  SnmpPortController(SnmpClient& snmp, std::shared_ptr<const ContainmentConfig> config,
                     std::map<std::string, SnmpCredential> credentials);
  PortWrite set_admin_status(const PortRequest& request) override;

 private:
  // SET the port's VLAN object (dot1qPvid or vmVlan) = request.vlan, then GET it back; the VLAN
  // before is returned.
  PortWrite set_vlan(const PortRequest& request, std::int64_t if_index, const std::string& note);

  SnmpClient& snmp_;
  SnmpPortReader reader_;
};

// What the engine's containment worker uses: a locator and a controller, swapped together on
// a reload. All containment I/O is serialised by its mutex.
struct ContainmentBackend {
  PortLocator* locator = nullptr;
  PortController* controller = nullptr;
  std::mutex io;
};

}  // namespace vtrace::responder
