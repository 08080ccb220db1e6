// Containment: guards, the circuit breaker, location preference, verify-after-write,
// persistence of the re-enable timer across a restart, the release API and the configuration.
// The network is an in-memory SNMP agent; time is a FakeClock.
#include "responder/containment/containment.hpp"

#include <unistd.h>

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <set>

#include "responder/api/router.hpp"
#include "responder/engine.hpp"
#include "responder/store/sqlite.hpp"
#include "tests/responder/support.hpp"

namespace vtrace::responder {
namespace {

namespace json = boost::json;
using test::FakeClock;
using test::internal_incident;

// An in-memory SNMP agent per device name: walk/get/set on an ordered map of OIDs.
class FakeSnmp final : public SnmpClient {
 public:
  std::map<std::string, std::map<Oid, SnmpVar>> mib;
  std::set<std::pair<std::string, Oid>> stuck;  // SET answers ok, value never changes
  std::set<std::string> down;                   // devices that time out
  std::vector<std::string> writes;              // "device oid=value"
  std::vector<SnmpTarget> targets;
  int gets = 0;

  // A per-VLAN BRIDGE-MIB instance is its own agent: "sw@10" for community@10 or a context
  // vlan-10.
  static std::string instance(const SnmpTarget& t) {
    const auto at = t.credential.community.find('@');
    if (at != std::string::npos) return t.name + t.credential.community.substr(at);
    if (t.context.rfind("vlan-", 0) == 0) return t.name + "@" + t.context.substr(5);
    return t.name;
  }

  std::vector<Oid> walked;  // every prefix walked, in order
  SnmpResult walk(const SnmpTarget& t, const Oid& prefix) override {
    targets.push_back(t);
    walked.push_back(prefix);
    SnmpResult r;
    if (down.count(t.name)) return {false, "timeout (no response)", {}};
    r.ok = true;
    for (const auto& [oid, v] : mib[instance(t)]) {
      if (oid.size() > prefix.size() && std::equal(prefix.begin(), prefix.end(), oid.begin())) {
        r.vars.push_back(v);
      }
    }
    return r;
  }
  // An agent that answers a GETBULK of several columns with an error-status.
  bool refuse_combined = false;
  int combined = 0;
  std::vector<SnmpResult> walk_columns(const SnmpTarget& t,
                                       const std::vector<Oid>& prefixes) override {
    ++combined;
    if (refuse_combined && prefixes.size() > 1) {
      return std::vector<SnmpResult>(prefixes.size(), SnmpResult{false, "genErr", {}});
    }
    return SnmpClient::walk_columns(t, prefixes);
  }
  SnmpResult get(const SnmpTarget& t, const Oid& oid) override {
    if (down.count(t.name)) return {false, "timeout (no response)", {}};
    ++gets;
    auto& agent = mib[instance(t)];
    auto it = agent.find(oid);
    if (it == agent.end()) return {false, "noSuchInstance", {}};
    return {true, "", {it->second}};
  }
  SnmpResult set_integer(const SnmpTarget& t, const Oid& oid, std::int64_t value) override {
    if (down.count(t.name)) return {false, "timeout (no response)", {}};
    writes.push_back(t.name + " " + oid_text(oid) + "=" + std::to_string(value));
    auto it = mib[t.name].find(oid);
    if (it == mib[t.name].end()) return {false, "noSuchInstance", {}};
    if (!stuck.count({t.name, oid})) it->second.integer = value;
    return {true, "", {it->second}};
  }

  void integer(const std::string& dev, Oid oid, std::int64_t v) {
    SnmpVar var{oid, SnmpVar::Type::kInteger, v, {}};
    mib[dev][oid] = var;
  }
  void bytes(const std::string& dev, Oid oid, std::string v) {
    SnmpVar var{oid, SnmpVar::Type::kBytes, 0, std::move(v)};
    mib[dev][oid] = var;
  }
  static Oid cat(Oid base, std::initializer_list<std::uint32_t> tail) {
    base.insert(base.end(), tail);
    return base;
  }
  static std::vector<std::uint32_t> mac_parts(const std::string& mac) {
    std::vector<std::uint32_t> out;
    for (std::size_t i = 0; i < 17; i += 3)
      out.push_back(std::stoul(mac.substr(i, 2), nullptr, 16));
    return out;
  }
  void port(const std::string& sw, std::uint32_t idx, const std::string& name, int admin = 1) {
    bytes(sw, cat(oids::kIfName, {idx}), name);
    integer(sw, cat(oids::kIfAdminStatus, {idx}), admin);
    integer(sw, cat(oids::kDot1dBasePortIfIndex, {idx}), idx);
  }
  void fdb(const std::string& sw, std::uint32_t fid, const std::string& mac, std::uint32_t bp) {
    Oid o = cat(oids::kDot1qTpFdbPort, {fid});
    for (auto b : mac_parts(mac)) o.push_back(b);
    integer(sw, o, bp);
  }
  void arp(const std::string& rtr, const std::string& ip, const std::string& mac) {
    Oid o = cat(oids::kIpNetToPhysicalPhysAddress, {1, 1, 4});
    auto a = IpAddress::parse(ip)->bytes();
    for (int i = 12; i < 16; ++i) o.push_back(a[static_cast<std::size_t>(i)]);
    std::string raw;
    for (auto b : mac_parts(mac)) raw += static_cast<char>(b);
    bytes(rtr, o, raw);
  }
  // IP-MIB ipNetToPhysicalPhysAddress for an IPv6 neighbour: ifIndex.ipv6(2).16.address.
  void nd(const std::string& rtr, const std::string& ip, const std::string& mac) {
    Oid o = cat(oids::kIpNetToPhysicalPhysAddress, {1, 2, 16});
    const auto address = IpAddress::parse(ip)->bytes();
    for (auto b : address) o.push_back(b);
    std::string raw;
    for (auto b : mac_parts(mac)) raw += static_cast<char>(b);
    bytes(rtr, o, raw);
  }
  void lldp(const std::string& sw, std::uint32_t local_port, const std::string& name) {
    bytes(sw, cat(oids::kLldpRemSysName, {0, local_port, 1}), name);
  }
  void cdp(const std::string& sw, std::uint32_t if_index, const std::string& name) {
    bytes(sw, cat(oids::kCdpCacheDeviceId, {if_index, 1}), name);
  }
  // lldpRemSysCapEnabled as BITS (e.g. "\x24" telephone + bridge) and a MAC chassis id.
  void lldp_caps(const std::string& sw, std::uint32_t local_port, const std::string& bits,
                 const std::string& chassis_mac = "") {
    bytes(sw, cat(oids::kLldpRemSysCapEnabled, {0, local_port, 1}), bits);
    if (chassis_mac.empty()) return;
    integer(sw, cat(oids::kLldpRemChassisIdSubtype, {0, local_port, 1}), 4);
    std::string raw;
    for (auto b : mac_parts(chassis_mac)) raw += static_cast<char>(b);
    bytes(sw, cat(oids::kLldpRemChassisId, {0, local_port, 1}), raw);
  }
  void cdp_caps(const std::string& sw, std::uint32_t if_index, std::uint32_t caps) {
    std::string raw;
    for (int shift = 24; shift >= 0; shift -= 8) raw += static_cast<char>((caps >> shift) & 0xff);
    bytes(sw, cat(oids::kCdpCacheCapabilities, {if_index, 1}), raw);
  }
  std::int64_t admin(const std::string& sw, std::uint32_t idx) {
    return mib[sw][cat(oids::kIfAdminStatus, {idx})].integer;
  }
};

const char* const kConfig = R"(
containment:
  protected_hosts: [10.1.0.25, 10.9.0.0/16]
  uplink_max_macs: 4
  breaker:
    max_per_hour: 10
    max_per_switch_per_hour: 8
    notify: [noc@example.ac.jp]
  routers:
    - {name: rtr, address: 192.0.2.1, credential: ro}
  switches:
    - name: sw-a
      address: 192.0.2.2
      credential: rw
      dry_run: false
      uplinks: [Gi1/0/1]
      protected_ports: [Gi1/0/8]
    - {name: sw-b, address: 192.0.2.3, credential: rw, dry_run: false}
    - {name: sw-c, address: 192.0.2.4, credential: rw, dry_run: false, protected: true}
  static_map:
    - {ip: 10.1.50.1, switch: sw-b, port: Gi2/0/5}
policies:
  - name: contain
    match: {confidence: [exact, fuzzy]}
    actions:
      - {type: disable_port, dry_run: false, duration: 1h}
)";

std::shared_ptr<const ResponderConfig> load(const std::string& text = kConfig) {
  Diagnostics d;
  auto c = parse_responder_config(text, "responder.yaml", d);
  INFO(d.render());
  REQUIRE(c);
  return std::make_shared<const ResponderConfig>(std::move(*c));
}

// sw-a: Gi1/0/1 uplink to the router (6 MACs), Gi1/0/2 PC 10.1.23.45, Gi1/0/3 two MACs,
// Gi1/0/4 an LLDP neighbour, Gi1/0/8 protected. sw-b: Gi2/0/1 uplink (sees the PC too).
void build_network(FakeSnmp& s) {
  for (std::uint32_t i = 1; i <= 8; ++i) s.port("sw-a", i, "Gi1/0/" + std::to_string(i));
  for (std::uint32_t i = 1; i <= 8; ++i) s.port("sw-b", i, "Gi2/0/" + std::to_string(i));
  s.port("sw-c", 1, "Gi3/0/1");
  auto host = [&](const std::string& ip, const std::string& mac, const std::string& sw,
                  std::uint32_t port) {
    s.arp("rtr", ip, mac);
    s.fdb(sw, 10, mac, port);
  };
  host("10.1.23.45", "00:50:56:aa:00:01", "sw-a", 2);
  host("10.1.23.46", "00:50:56:aa:00:02", "sw-a", 3);
  host("10.1.23.47", "00:50:56:aa:00:03", "sw-a", 3);
  host("10.1.23.48", "00:50:56:aa:00:04", "sw-a", 4);
  host("10.1.23.49", "00:50:56:aa:00:05", "sw-a", 8);
  host("10.1.23.50", "00:50:56:aa:00:06", "sw-c", 1);
  s.lldp("sw-a", 4, "ap-3f-east");
  // the uplink of sw-a carries many MACs; sw-b learns the PCs through its own uplink
  for (int i = 0; i < 6; ++i) s.fdb("sw-a", 10, "3c:ec:ef:00:00:0" + std::to_string(i), 1);
  for (const char* m : {"00:50:56:aa:00:01", "00:50:56:aa:00:02", "00:50:56:aa:00:03",
                        "00:50:56:aa:00:04", "00:50:56:aa:00:05"}) {
    s.fdb("sw-b", 10, m, 1);
  }
  s.fdb("sw-b", 20, "52:54:00:12:34:56", 5);  // 10.1.50.1, statically mapped
}

struct Fixture {
  explicit Fixture(std::shared_ptr<const ResponderConfig> c = load(), std::string file = ":memory:")
      : config(std::move(c)),
        engine(config, clock, file),
        locator(snmp, clock),
        controller(snmp, std::shared_ptr<const ContainmentConfig>(config, &config->containment),
                   credentials()) {
    build_network(snmp);
    locator.set_credentials(credentials());
    backend.locator = &locator;
    backend.controller = &controller;
    engine.set_containment_backend(&backend, [this] { ++wakes; });
  }
  static std::map<std::string, SnmpCredential> credentials() {
    SnmpCredential ro, rw;
    ro.community = "public-ro";
    rw.community = "private-rw";
    return {{"ro", ro}, {"rw", rw}};
  }
  json::array containments(const std::string& status = "") {
    return json::parse(engine.containments_json(status, 1000)).at("containments").as_array();
  }
  json::object only() {
    auto all = containments();
    REQUIRE(all.size() == 1);
    return all[0].as_object();
  }
  std::string ingest(const std::string& id, const std::string& ip,
                     Confidence confidence = Confidence::kExact, bool internal = true) {
    Incident in = internal_incident(id, clock.now(), ip, "Worm.Mydoom.M; snmpset -c x");
    in.confidence = confidence;
    in.origin->internal = internal;
    engine.ingest(in, "127.0.0.1");
    engine.process_containments();
    auto doc = json::parse(*engine.incident_json(id));
    for (const auto& a : doc.at("actions").as_array()) {
      if (a.at("type").as_string() == "disable_port") {
        return std::string(a.at("status").as_string()) + ": " +
               std::string(a.at("detail").as_string());
      }
    }
    return "no disable_port action";
  }

  FakeClock clock;
  std::shared_ptr<const ResponderConfig> config;
  Engine engine;
  FakeSnmp snmp;
  PortLocator locator;
  SnmpPortController controller;
  ContainmentBackend backend;
  int wakes = 0;
};

// A state file of its own, removed at the end: for tests that read the audit table.
struct StateFile {
  explicit StateFile(const std::string& name)
      : dir(std::filesystem::temp_directory_path() /
            ("vtrace-" + name + "-" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
  }
  ~StateFile() { std::filesystem::remove_all(dir); }
  std::string path() const { return (dir / "state.db").string(); }
  // "event: detail" of every audit row, oldest first.
  std::vector<std::string> audit() const {
    Database db(path());
    auto q = db.prepare("SELECT event, detail FROM audit ORDER BY id");
    std::vector<std::string> out;
    while (q.step()) out.push_back(q.text(0) + ": " + q.text(1));
    return out;
  }
  std::filesystem::path dir;
};

bool any_contains(const std::vector<std::string>& rows, const std::string& text) {
  return std::any_of(rows.begin(), rows.end(),
                     [&](const std::string& r) { return r.find(text) != std::string::npos; });
}

std::string str(const json::object& o, const char* key) {
  const auto& v = o.at(key);
  if (v.is_string()) return std::string(v.as_string());
  if (v.is_int64()) return std::to_string(v.as_int64());
  if (v.is_bool()) return v.as_bool() ? "true" : "false";
  return "null";
}

}  // namespace

TEST_CASE(
    "an exact internal origin is located through ARP and the FDB and its port is shut and verified",
    "[responder][containment]") {
  Fixture f;
  CHECK(f.ingest("i1", "10.1.23.45").rfind("queued: containment 1", 0) == 0);
  CHECK(f.wakes == 1);
  auto c = f.only();
  CHECK(str(c, "status") == "down");
  CHECK(str(c, "switch") == "sw-a");
  CHECK(str(c, "port") == "Gi1/0/2");
  CHECK(str(c, "if_index") == "2");
  CHECK(str(c, "mac") == "00:50:56:aa:00:01");
  CHECK(str(c, "detail").find("verified") != std::string::npos);
  CHECK(f.snmp.admin("sw-a", 2) == 2);
  REQUIRE(f.snmp.writes.size() == 1);
  CHECK(f.snmp.writes[0] == "sw-a 1.3.6.1.2.1.2.2.1.7.2=2");
  // writes use the write credential; nothing from the incident reaches SNMP
  for (const auto& t : f.snmp.targets) {
    CHECK(t.credential.community.find("snmpset") == std::string::npos);
  }
}

TEST_CASE("the port where the MAC is seen with the fewest MACs wins and uplinks are skipped",
          "[responder][containment]") {
  Fixture f;
  // 10.1.23.45's MAC is on sw-a Gi1/0/2 (1 MAC) and on sw-b's uplink Gi2/0/1 (5 MACs)
  Location where = f.locator.locate(f.config->containment, "10.1.23.45");
  REQUIRE(where.found);
  CHECK(where.device == "sw-a");
  CHECK(where.port == "Gi1/0/2");
  CHECK(where.macs_on_port == 1);
  CHECK(where.source == "discovery");
  // Same MAC count on two edge ports of different switches: ambiguous, never a guess (once
  // the walked tables are older than table_max_age and so are read again).
  f.snmp.fdb("sw-b", 10, "00:50:56:aa:00:01", 6);
  f.locator.forget("10.1.23.45");
  f.clock.advance(f.config->containment.table_max_age + 1);
  where = f.locator.locate(f.config->containment, "10.1.23.45");
  INFO(where.device << " " << where.port << " " << where.macs_on_port << " " << where.problem);
  CHECK_FALSE(where.found);
  CHECK(where.problem.find("ambiguous") != std::string::npos);
}

TEST_CASE("an IPv6 origin is located through the router's neighbour table",
          "[responder][containment]") {
  Fixture f;
  // The PC of Gi1/0/2 with its IPv6 address; an IPv4 entry ending in the same bytes must not
  // be taken for it.
  f.snmp.nd("rtr", "2001:db8:100::1:2d", "00:50:56:aa:00:01");
  Location where = f.locator.locate(f.config->containment, "2001:db8:100::1:2d");
  INFO(where.problem);
  REQUIRE(where.found);
  CHECK(where.device == "sw-a");
  CHECK(where.port == "Gi1/0/2");
  CHECK(where.mac == "00:50:56:aa:00:01");
  where = f.locator.locate(f.config->containment, "2001:db8:100::1:2e");
  CHECK_FALSE(where.found);
  CHECK(where.problem.find("no router has 2001:db8:100::1:2e") != std::string::npos);
}

TEST_CASE("a router's ARP entry is read with GETs per interface, not by walking the table",
          "[responder][containment]") {
  Fixture f;
  for (std::uint32_t i : {1, 2, 3}) f.snmp.integer("rtr", FakeSnmp::cat(oids::kIfIndex, {i}), i);
  Location where = f.locator.locate(f.config->containment, "10.1.23.45");
  REQUIRE(where.found);
  CHECK(where.mac == "00:50:56:aa:00:01");
  auto walked = [&](const Oid& prefix) {
    return std::count(f.snmp.walked.begin(), f.snmp.walked.end(), prefix);
  };
  CHECK(walked(oids::kIpNetToPhysicalPhysAddress) == 0);
  CHECK(walked(oids::kIpNetToMediaPhysAddress) == 0);
  CHECK(walked(oids::kIfIndex) == 1);
  // An address the router does not have falls back to the walk, and is still not found.
  where = f.locator.locate(f.config->containment, "10.1.99.99");
  CHECK_FALSE(where.found);
  CHECK(walked(oids::kIpNetToPhysicalPhysAddress) > 0);
}

TEST_CASE("walked ARP and FDB tables are reused within table_max_age and a miss walks them again",
          "[responder][containment]") {
  Fixture f;
  REQUIRE(f.locator.locate(f.config->containment, "10.1.23.45").found);
  const std::size_t first = f.snmp.targets.size();
  CHECK(first > 0);
  // A second origin on the same switches: no walk at all.
  Location second = f.locator.locate(f.config->containment, "10.1.23.46");
  CHECK(second.port == "Gi1/0/3");
  CHECK(f.snmp.targets.size() == first);
  // A host the cached tables do not know yet: the tables are walked again and it is found.
  f.snmp.arp("rtr", "10.1.23.70", "00:50:56:aa:00:70");
  f.snmp.fdb("sw-a", 10, "00:50:56:aa:00:70", 7);
  Location fresh = f.locator.locate(f.config->containment, "10.1.23.70");
  CHECK(fresh.found);
  CHECK(fresh.port == "Gi1/0/7");
  CHECK(f.snmp.targets.size() > first);
  // Past table_max_age every table is walked again.
  const std::size_t before = f.snmp.targets.size();
  f.clock.advance(f.config->containment.table_max_age + 1);
  f.locator.forget("10.1.23.46");
  CHECK(f.locator.locate(f.config->containment, "10.1.23.46").found);
  CHECK(f.snmp.targets.size() > before);
}

TEST_CASE("a switch's columns are walked together, and one by one when the agent refuses that",
          "[responder][containment]") {
  Fixture f;
  f.snmp.refuse_combined = true;
  Location where = f.locator.locate(f.config->containment, "10.1.23.45");
  CHECK(where.found);
  CHECK(where.port == "Gi1/0/2");
  CHECK(where.neighbours.empty());
  CHECK(f.snmp.combined == 3);  // one combined walk per switch, each refused
  f.clock.advance(f.config->containment.table_max_age + 1);
  f.snmp.refuse_combined = false;
  f.locator.forget("10.1.23.48");
  Location ap = f.locator.locate(f.config->containment, "10.1.23.48");
  REQUIRE(ap.neighbours.size() == 1);
  CHECK(ap.neighbours[0].name == "ap-3f-east");
}

TEST_CASE("table_refresh re-walks the tables in the background only when they are due",
          "[responder][containment]") {
  std::string text = kConfig;
  text.replace(text.find("  uplink_max_macs: 4"), 0, "  table_refresh: 30s\n");
  Fixture f(load(text));
  CHECK(f.locator.refresh(f.config->containment) == 5);  // 2 ARP tables, 3 switches
  CHECK(f.locator.refresh(f.config->containment) == 0);
  const std::size_t warm = f.snmp.targets.size();
  f.ingest("i1", "10.1.23.45");
  CHECK(str(f.only(), "status") == "down");
  CHECK(f.snmp.targets.size() == warm);  // located on warm tables, ifIndex checked by a GET
  f.clock.advance(seconds(31));
  CHECK(f.locator.refresh(f.config->containment) == 5);
}

TEST_CASE(
    "a switch with fdb_vlans is read per VLAN through community@vlan, each with its own bridge "
    "ports",
    "[responder][containment]") {
  std::string text = kConfig;
  text.replace(text.find("  static_map:"), 0,
               "    - {name: sw-v, address: 192.0.2.5, credential: rw, dry_run: false, "
               "fdb_vlans: [10, 20]}\n");
  Fixture f(load(text));
  for (std::uint32_t i = 1; i <= 8; ++i) f.snmp.port("sw-v", i, "Te1/0/" + std::to_string(i));
  // VLAN 10's instance numbers bridge port 2 as ifIndex 5; VLAN 20's as ifIndex 7.
  f.snmp.integer("sw-v@10", FakeSnmp::cat(oids::kDot1dBasePortIfIndex, {2}), 5);
  f.snmp.integer("sw-v@20", FakeSnmp::cat(oids::kDot1dBasePortIfIndex, {2}), 7);
  auto bridge_fdb = [&](const std::string& instance, const std::string& mac, std::uint32_t bp) {
    Oid o = oids::kDot1dTpFdbPort;
    for (auto b : FakeSnmp::mac_parts(mac)) o.push_back(b);
    f.snmp.integer(instance, o, bp);
  };
  bridge_fdb("sw-v@10", "00:50:56:bb:00:10", 2);
  bridge_fdb("sw-v@20", "00:50:56:bb:00:20", 2);
  bridge_fdb("sw-v@20", "00:50:56:bb:00:21", 9);  // a bridge port VLAN 20 does not map
  f.snmp.arp("rtr", "10.1.60.10", "00:50:56:bb:00:10");
  f.snmp.arp("rtr", "10.1.60.20", "00:50:56:bb:00:20");
  f.snmp.arp("rtr", "10.1.60.21", "00:50:56:bb:00:21");
  Location a = f.locator.locate(f.config->containment, "10.1.60.10");
  CHECK(a.found);
  CHECK(a.device == "sw-v");
  CHECK(a.port == "Te1/0/5");
  Location b = f.locator.locate(f.config->containment, "10.1.60.20");
  CHECK(b.port == "Te1/0/7");
  CHECK_FALSE(f.locator.locate(f.config->containment, "10.1.60.21").found);
  std::set<std::string> communities;
  for (const auto& t : f.snmp.targets) {
    if (t.name == "sw-v") communities.insert(t.credential.community);
  }
  CHECK(communities == std::set<std::string>{"private-rw", "private-rw@10", "private-rw@20"});
  SnmpDeviceConfig v3;
  v3.vlan_context = "ctx-{vlan}-bridge";
  SnmpTarget base;
  base.version = SnmpVersion::kV3;
  base.context = "switch";
  CHECK(vlan_target(base, v3, 20).context == "ctx-20-bridge");
  CHECK(vlan_target(base, v3, 20).credential.community.empty());
}

TEST_CASE("fdb_vlans and vlan_context are checked", "[responder][containment][config]") {
  Diagnostics d;
  CHECK_FALSE(parse_responder_config(R"(containment:
  switches:
    - {name: sw-a, address: 192.0.2.2, credential: rw, fdb_vlans: [10, 4095, x], vlan_context: vlan}
policies:
  - {name: p, actions: [{type: log}]}
)",
                                     "r.yaml", d));
  const std::string out = d.render();
  INFO(out);
  CHECK(out.find("r.yaml:3:72: error[value]: containment.switches[0].fdb_vlans: '4095' is not a "
                 "VLAN id (1-4094)") != std::string::npos);
  CHECK(out.find("'x' is not a VLAN id") != std::string::npos);
  CHECK(out.find("containment.switches[0].vlan_context: 'vlan' must contain {vlan}") !=
        std::string::npos);
}

TEST_CASE("a static map entry is used before discovery and its port is checked like any other",
          "[responder][containment]") {
  Fixture f;
  Location where = f.locator.locate(f.config->containment, "10.1.50.1");
  REQUIRE(where.found);
  CHECK(where.source == "static");
  CHECK(where.device == "sw-b");
  CHECK(where.if_index == 5);
  CHECK(where.macs_on_port == 1);
  CHECK(f.ingest("i1", "10.1.50.1").rfind("queued", 0) == 0);
  CHECK(str(f.only(), "status") == "down");
  CHECK(f.snmp.admin("sw-b", 5) == 2);
}

TEST_CASE(
    "locations are cached for location_max_age and the ifIndex is re-resolved from the name before "
    "writing",
    "[responder][containment]") {
  Fixture f;
  REQUIRE(f.locator.locate(f.config->containment, "10.1.23.45").if_index == 2);
  // The switch renumbers its ports: Gi1/0/2 is now ifIndex 102.
  f.snmp.mib["sw-a"].erase(FakeSnmp::cat(oids::kIfName, {2}));
  f.snmp.bytes("sw-a", FakeSnmp::cat(oids::kIfName, {102}), "Gi1/0/2");
  f.snmp.integer("sw-a", FakeSnmp::cat(oids::kIfAdminStatus, {102}), 1);
  f.ingest("i1", "10.1.23.45");  // the cached location still says ifIndex 2
  auto c = f.only();
  CHECK(str(c, "status") == "down");
  CHECK(str(c, "if_index") == "102");
  CHECK(f.snmp.admin("sw-a", 102) == 2);
  CHECK(f.snmp.admin("sw-a", 2) == 1);
}

TEST_CASE("guards refuse fuzzy, external and protected origins before any SNMP traffic",
          "[responder][containment]") {
  Fixture f;
  CHECK(f.ingest("i1", "10.1.23.45", Confidence::kFuzzy) ==
        "refused: the trace is fuzzy and the action does not allow_fuzzy");
  CHECK(f.ingest("i2", "198.51.100.7", Confidence::kExact, false) ==
        "refused: the origin is external: only internal hosts are contained");
  CHECK(f.ingest("i3", "10.1.0.25") ==
        "refused: 10.1.0.25 is a protected host (containment.protected_hosts)");
  CHECK(f.ingest("i4", "10.9.3.3").find("protected host") != std::string::npos);
  CHECK(f.snmp.targets.empty());
  CHECK(f.containments().empty());
}

TEST_CASE("a fuzzy trace is contained when the action allows it", "[responder][containment]") {
  std::string text = kConfig;
  text.replace(text.find("duration: 1h}"), 13, "duration: 1h, allow_fuzzy: true}");
  Fixture f(load(text));
  CHECK(f.ingest("i1", "10.1.23.45", Confidence::kFuzzy).rfind("queued", 0) == 0);
  CHECK(str(f.only(), "status") == "down");
}

TEST_CASE("uplinks, LLDP and CDP neighbours, protected ports and protected switches are refused",
          "[responder][containment]") {
  Fixture f;
  SECTION("a port with more MACs than uplink_max_macs") {
    for (int i = 0; i < 4; ++i) f.snmp.fdb("sw-a", 10, "02:00:00:00:00:0" + std::to_string(i), 3);
    f.ingest("i1", "10.1.23.46");
    CHECK(str(f.only(), "status") == "refused");
    INFO(str(f.only(), "detail"));
    CHECK(
        str(f.only(), "detail").find("MACs (more than uplink_max_macs 4): treated as an uplink") !=
        std::string::npos);
  }
  SECTION("a port with an LLDP neighbour") {
    f.ingest("i1", "10.1.23.48");
    CHECK(str(f.only(), "status") == "refused");
    CHECK(str(f.only(), "detail").find("neighbour announced by LLDP or CDP (ap-3f-east)") !=
          std::string::npos);
  }
  SECTION("a port with a neighbour announced only by CDP") {
    f.snmp.cdp("sw-a", 3, "SEP001122334455");
    f.ingest("i1", "10.1.23.46");
    CHECK(str(f.only(), "status") == "refused");
    CHECK(str(f.only(), "detail")
              .find("(SEP001122334455 via CDP) that does not announce itself as a phone or a "
                    "station: treated as an uplink") != std::string::npos);
    CHECK(f.snmp.admin("sw-a", 3) == 1);
  }
  SECTION("a protected port") {
    f.ingest("i1", "10.1.23.49");
    CHECK(str(f.only(), "detail") == "port Gi1/0/8 on sw-a is protected");
  }
  SECTION("a protected switch") {
    f.ingest("i1", "10.1.23.50");
    CHECK(str(f.only(), "detail") == "switch sw-c is protected");
  }
  SECTION("a MAC seen only on a configured uplink") {
    f.snmp.arp("rtr", "10.1.23.60", "3c:ec:ef:00:00:01");
    f.ingest("i1", "10.1.23.60");
    CHECK(str(f.only(), "status") == "not_located");
    CHECK(str(f.only(), "detail").find("configured uplink") != std::string::npos);
  }
  SECTION("an origin no router knows") {
    f.ingest("i1", "10.1.99.99");
    CHECK(str(f.only(), "status") == "not_located");
    CHECK(str(f.only(), "detail").find("no router has 10.1.99.99") != std::string::npos);
  }
  CHECK(f.snmp.writes.empty());
}

TEST_CASE("LLDP and CDP capabilities name phones, stations and uplink-like neighbours",
          "[responder][containment]") {
  std::string text;
  CHECK(lldp_kind("\x24", &text) == NeighbourKind::kPhone);  // bridge + telephone
  CHECK(text == "bridge, telephone");
  CHECK(lldp_kind(std::string("\x04\x00", 2), &text) == NeighbourKind::kPhone);
  CHECK(lldp_kind("\x20", &text) == NeighbourKind::kUplink);  // bridge
  CHECK(lldp_kind("\x10", &text) == NeighbourKind::kUplink);  // WLAN access point
  CHECK(lldp_kind("\x08", &text) == NeighbourKind::kUplink);  // router
  CHECK(lldp_kind("\x01", &text) == NeighbourKind::kStation);
  CHECK(lldp_kind("\x21", &text) == NeighbourKind::kUplink);  // a station that also bridges
  CHECK(lldp_kind("", &text) == NeighbourKind::kUnknown);
  CHECK(lldp_kind("\x80", &text) == NeighbourKind::kUnknown);  // other
  CHECK(cdp_kind(std::string("\x00\x00\x04\x90", 4), &text) == NeighbourKind::kPhone);
  CHECK(text == "host, phone");
  CHECK(cdp_kind(std::string("\x00\x00\x00\x0a", 4), &text) == NeighbourKind::kUplink);
  CHECK(cdp_kind(std::string("\x00\x00\x00\x02", 4), &text) == NeighbourKind::kUplink);
  CHECK(cdp_kind(std::string("\x00\x00\x00\x10", 4), &text) == NeighbourKind::kStation);
  CHECK(cdp_kind("", &text) == NeighbourKind::kUnknown);
}

// sw-a Gi1/0/5: an IP phone (voice VLAN 20) with a PC behind it (data VLAN 10).
void phone_desk(FakeSnmp& s) {
  s.arp("rtr", "10.1.23.70", "00:50:56:aa:00:70");  // the PC
  s.fdb("sw-a", 10, "00:50:56:aa:00:70", 5);
  s.arp("rtr", "10.1.23.71", "00:1e:13:00:00:71");  // the phone
  s.fdb("sw-a", 20, "00:1e:13:00:00:71", 5);
}

TEST_CASE("a PC behind an LLDP phone that also announces bridge is contained, the phone never",
          "[responder][containment]") {
  Fixture f;
  phone_desk(f.snmp);
  f.snmp.lldp("sw-a", 5, "SEP001E13000071");
  f.snmp.lldp_caps("sw-a", 5, "\x24", "00:1e:13:00:00:71");
  CHECK(f.ingest("i1", "10.1.23.70").rfind("queued", 0) == 0);
  auto c = f.only();
  INFO(str(c, "detail"));
  CHECK(str(c, "status") == "down");
  CHECK(str(c, "port") == "Gi1/0/5");
  CHECK(str(c, "mac") == "00:50:56:aa:00:70");
  f.ingest("i2", "10.1.23.71");
  auto phone = f.containments()[0].as_object();
  CHECK(str(phone, "status") == "refused");
  CHECK(str(phone, "detail")
            .find("is the phone announced there (SEP001E13000071: bridge, "
                  "telephone), not a PC: never shut") != std::string::npos);
  REQUIRE(f.snmp.writes.size() == 1);
  CHECK(f.snmp.writes[0] == "sw-a 1.3.6.1.2.1.2.2.1.7.5=2");
}

TEST_CASE("a PC behind a CDP phone is contained", "[responder][containment]") {
  Fixture f;
  phone_desk(f.snmp);
  f.snmp.cdp("sw-a", 5, "SEP001E13000071");
  f.snmp.cdp_caps("sw-a", 5, 0x490);  // host, phone, two-port MAC relay
  f.ingest("i1", "10.1.23.70");
  INFO(str(f.only(), "detail"));
  CHECK(str(f.only(), "status") == "down");
  CHECK(f.snmp.writes == std::vector<std::string>{"sw-a 1.3.6.1.2.1.2.2.1.7.5=2"});
}

TEST_CASE("a CDP phone that sends mail itself is recognised and its port left up for the PC",
          "[responder][containment]") {
  Fixture f;
  phone_desk(f.snmp);
  f.snmp.cdp_caps("sw-a", 5, 0x490);
  std::string why;
  SECTION("a Cisco phone's device id spells its MAC") {
    f.snmp.cdp("sw-a", 5, "SEP001E13000071");
    why =
        "the MAC 00:1e:13:00:00:71 on sw-a Gi1/0/5 is the phone announced there "
        "(SEP001E13000071 via CDP: host, phone)";
  }
  SECTION("the phone's IP is the address CDP announces") {
    f.snmp.cdp("sw-a", 5, "ip-phone-3f-05");
    f.snmp.integer("sw-a", FakeSnmp::cat(oids::kCdpCacheAddressType, {5, 1}), 1);
    f.snmp.bytes("sw-a", FakeSnmp::cat(oids::kCdpCacheAddress, {5, 1}),
                 std::string("\x0a\x01\x17\x47", 4));  // 10.1.23.71
    why =
        "10.1.23.71 (MAC 00:1e:13:00:00:71) on sw-a Gi1/0/5 is the address the phone "
        "announces there by CDP (ip-phone-3f-05 via CDP";
  }
  SECTION("the MAC was learned in the port's voice VLAN") {
    f.snmp.cdp("sw-a", 5, "ip-phone-3f-05");
    f.snmp.integer("sw-a", FakeSnmp::cat(oids::kVmVoiceVlanId, {5}), 20);
    why =
        "the MAC 00:1e:13:00:00:71 on sw-a Gi1/0/5 was learned in VLAN 20, the port's voice "
        "VLAN: most likely the phone announced there (ip-phone-3f-05 via CDP";
  }
  f.ingest("i1", "10.1.23.71");
  auto phone = f.only();
  INFO(str(phone, "detail"));
  CHECK(str(phone, "status") == "refused");
  CHECK(str(phone, "detail").find(why) == 0);
  CHECK(
      str(phone, "detail").find("not a PC: never shut (the PC behind the phone needs the port)") !=
      std::string::npos);
  CHECK(f.snmp.writes.empty());
  f.ingest("i2", "10.1.23.70");  // the PC behind it
  CHECK(str(f.containments()[0].as_object(), "status") == "down");
  CHECK(f.snmp.writes == std::vector<std::string>{"sw-a 1.3.6.1.2.1.2.2.1.7.5=2"});
}

TEST_CASE("a bridge, router or silent neighbour makes an uplink unless the port is a desk port",
          "[responder][containment]") {
  std::string text = kConfig;
  SECTION("an LLDP bridge neighbour is refused") {
    Fixture f;
    phone_desk(f.snmp);
    f.snmp.lldp("sw-a", 5, "sw-3f-b");
    f.snmp.lldp_caps("sw-a", 5, "\x28");  // bridge, router
    f.ingest("i1", "10.1.23.70");
    CHECK(str(f.only(), "status") == "refused");
    CHECK(str(f.only(), "detail")
              .find("(sw-3f-b: bridge, router) that is a bridge, router or "
                    "access point and not a phone") != std::string::npos);
    CHECK(f.snmp.writes.empty());
  }
  SECTION("a CDP station is a desk") {
    Fixture f;
    phone_desk(f.snmp);
    f.snmp.cdp("sw-a", 5, "thin-client-7");
    f.snmp.cdp_caps("sw-a", 5, 0x10);
    f.ingest("i1", "10.1.23.70");
    CHECK(str(f.only(), "status") == "down");
  }
  SECTION("desk_ports overrides the neighbour, not the MAC count") {
    text.replace(text.find("uplinks: [Gi1/0/1]"), 18,
                 "uplinks: [Gi1/0/1]\n      desk_ports: [Gi1/0/3, Gi1/0/4]");
    Fixture f(load(text));
    f.snmp.cdp("sw-a", 3, "old-phone");  // no capabilities announced
    f.ingest("i1", "10.1.23.48");        // Gi1/0/4, the LLDP neighbour ap-3f-east
    CHECK(str(f.only(), "status") == "down");
    for (int i = 0; i < 4; ++i) f.snmp.fdb("sw-a", 10, "02:00:00:00:00:0" + std::to_string(i), 3);
    f.clock.advance(f.config->containment.table_max_age + 1);
    f.ingest("i2", "10.1.23.46");
    CHECK(str(f.containments()[0].as_object(), "detail").find("treated as an uplink") !=
          std::string::npos);
  }
  SECTION("lldp_uplinks: false on one switch") {
    text.replace(text.find("uplinks: [Gi1/0/1]"), 18,
                 "uplinks: [Gi1/0/1]\n      lldp_uplinks: false");
    Fixture f(load(text));
    f.ingest("i1", "10.1.23.48");
    CHECK(str(f.only(), "status") == "down");
  }
}

TEST_CASE("the MAC count that makes an uplink is counted per VLAN", "[responder][containment]") {
  Fixture f;
  // Gi1/0/6: 3 MACs on VLAN 10 and 3 on VLAN 20 (uplink_max_macs 4): a desk with a phone
  // and a small desk switch, not an uplink; 5 on one VLAN is.
  f.snmp.arp("rtr", "10.1.23.80", "02:00:00:00:06:00");
  for (int i = 0; i < 3; ++i) {
    f.snmp.fdb("sw-a", 10, "02:00:00:00:06:0" + std::to_string(i), 6);
    f.snmp.fdb("sw-a", 20, "02:00:00:00:16:0" + std::to_string(i), 6);
  }
  Location where = f.locator.locate(f.config->containment, "10.1.23.80");
  REQUIRE(where.found);
  CHECK(where.macs_on_port == 3);
  CHECK(where.fdb_id == 10);
  CHECK_FALSE(port_refusal(f.config->containment, where));
  for (int i = 3; i < 5; ++i) f.snmp.fdb("sw-a", 10, "02:00:00:00:06:0" + std::to_string(i), 6);
  f.locator.forget("10.1.23.80");
  f.clock.advance(f.config->containment.table_max_age + 1);
  where = f.locator.locate(f.config->containment, "10.1.23.80");
  CHECK(where.macs_on_port == 5);
  CHECK(port_refusal(f.config->containment, where));
}

TEST_CASE("a MAC that moved after the tables were walked is shut where it is now",
          "[responder][containment]") {
  StateFile state("moved");
  Fixture f(load(), state.path());
  REQUIRE(f.locator.locate(f.config->containment, "10.1.23.45").port == "Gi1/0/2");
  f.snmp.fdb("sw-a", 10, "00:50:56:aa:00:01", 6);  // plugged into Gi1/0/6 since
  f.ingest("i1", "10.1.23.45");
  auto c = f.only();
  INFO(str(c, "detail"));
  CHECK(str(c, "status") == "down");
  CHECK(str(c, "port") == "Gi1/0/6");
  CHECK(f.snmp.writes == std::vector<std::string>{"sw-a 1.3.6.1.2.1.2.2.1.7.6=2"});
  CHECK(f.snmp.admin("sw-a", 2) == 1);
  const auto audit = state.audit();
  INFO(audit.size());
  CHECK(any_contains(audit, "containment.relocated"));
  CHECK(any_contains(audit,
                     "MAC 00:50:56:aa:00:01 is no longer on sw-a Gi1/0/2: the forwarding "
                     "table now has it on bridge port 6 (ifIndex 6)"));
}

TEST_CASE("a released containment drops its cached location and a re-detection finds the new port",
          "[responder][containment]") {
  Fixture f;
  f.ingest("i1", "10.1.23.45");
  REQUIRE(str(f.only(), "status") == "down");
  REQUIRE(f.engine.request_release(1, "operator=alice", "reimaged").status == 202);
  f.engine.process_containments();
  REQUIRE(str(f.only(), "status") == "released");
  // Within location_max_age but past table_max_age: a forgotten location walks again.
  f.clock.advance(f.config->containment.table_max_age + 1);
  const std::size_t walks = f.snmp.targets.size();
  f.snmp.fdb("sw-a", 10, "00:50:56:aa:00:01", 7);
  CHECK(f.locator.locate(f.config->containment, "10.1.23.45").port == "Gi1/0/7");
  CHECK(f.snmp.targets.size() > walks);
  f.locator.forget("10.1.23.45");
  f.snmp.fdb("sw-a", 10, "00:50:56:aa:00:01", 6);  // and moved again, tables still warm
  f.ingest("i2", "10.1.23.45");
  auto c = f.containments()[0].as_object();
  INFO(str(c, "detail"));
  CHECK(str(c, "port") == "Gi1/0/6");
  CHECK(f.snmp.writes == std::vector<std::string>{"sw-a 1.3.6.1.2.1.2.2.1.7.2=2",
                                                  "sw-a 1.3.6.1.2.1.2.2.1.7.2=1",
                                                  "sw-a 1.3.6.1.2.1.2.2.1.7.6=2"});
}

TEST_CASE("a switch that does not answer the confirming GET is never written",
          "[responder][containment]") {
  Fixture f;
  REQUIRE(f.locator.locate(f.config->containment, "10.1.23.45").found);
  f.snmp.down.insert("sw-a");
  f.ingest("i1", "10.1.23.45");
  CHECK(str(f.only(), "status") == "retrying");
  CHECK(f.snmp.writes.empty());
}

TEST_CASE("a write the agent accepts but that does not take is a failure, never success",
          "[responder][containment]") {
  Fixture f;
  f.snmp.stuck.insert({"sw-a", FakeSnmp::cat(oids::kIfAdminStatus, {2})});
  f.ingest("i1", "10.1.23.45");
  auto c = f.only();
  CHECK(str(c, "status") == "failed");
  CHECK(str(c, "detail").find("reads 1, not 2: the write did not take") != std::string::npos);
  CHECK(f.engine.counters().ports_disabled == 0);
  CHECK(f.engine.counters().containments_failed == 1);
}

TEST_CASE("an unreachable switch is retried with backoff and never guessed around",
          "[responder][containment]") {
  Fixture f;
  f.snmp.down.insert("sw-b");
  f.ingest("i1", "10.1.23.45");
  INFO(str(f.only(), "detail"));
  CHECK(str(f.only(), "status") == "retrying");
  CHECK(str(f.only(), "detail").find("switch sw-b did not answer (ifName: timeout") !=
        std::string::npos);
  CHECK(str(f.only(), "detail").find("trying again in 30 s (attempt 1)") != std::string::npos);
  f.engine.process_containments();  // not due yet
  CHECK(str(f.only(), "detail").find("(attempt 1)") != std::string::npos);
  f.clock.advance(seconds(31));
  f.engine.process_containments();
  CHECK(str(f.only(), "detail").find("trying again in 60 s (attempt 2)") != std::string::npos);
  SECTION("the switch answers again: contained") {
    f.snmp.down.erase("sw-b");
    f.clock.advance(seconds(61));
    f.engine.process_containments();
    CHECK(str(f.only(), "status") == "down");
    CHECK(f.snmp.writes == std::vector<std::string>{"sw-a 1.3.6.1.2.1.2.2.1.7.2=2"});
  }
  SECTION("it never answers: given up after an hour") {
    for (int i = 0; i < 20; ++i) {
      f.clock.advance(seconds(601));
      f.engine.process_containments();
    }
    CHECK(str(f.only(), "status") == "not_located");
    CHECK(str(f.only(), "detail").find("switch sw-b did not answer") != std::string::npos);
    CHECK(str(f.only(), "detail").find("(gave up after") != std::string::npos);
    CHECK(f.snmp.writes.empty());
  }
  SECTION("a pending retry is cancelled by a release") {
    CHECK(f.engine.request_release(1, "operator=alice", "known offline").status == 200);
    CHECK(str(f.only(), "status") == "cancelled");
  }
}

TEST_CASE("dry run per action and per switch writes nothing and says what it would do",
          "[responder][containment]") {
  SECTION("the action") {
    std::string text = kConfig;
    text.replace(text.find("dry_run: false, duration"), 15, "dry_run: true,");
    Fixture f(load(text));
    f.ingest("i1", "10.1.23.45");
    CHECK(str(f.only(), "status") == "dry_run");
    CHECK(str(f.only(), "detail") ==
          "would shut sw-a Gi1/0/2 (ifIndex 2, discovery) [action dry_run]");
    CHECK(f.snmp.writes.empty());
  }
  SECTION("the switch (the default)") {
    std::string text = kConfig;
    text.erase(text.find("      dry_run: false\n"), 21);
    Fixture f(load(text));
    f.ingest("i1", "10.1.23.45");
    CHECK(str(f.only(), "detail").find("[switch dry_run]") != std::string::npos);
    CHECK(f.snmp.writes.empty());
  }
  SECTION("the action's default") {
    std::string text = kConfig;
    text.replace(text.find("dry_run: false, duration"), 16, "");
    Fixture f(load(text));
    f.ingest("i1", "10.1.23.45");
    CHECK(str(f.only(), "status") == "dry_run");
  }
}

TEST_CASE("a flood of 50 internal origins trips the circuit breaker and mails a person once",
          "[responder][containment]") {
  Fixture f;
  for (int i = 1; i <= 50; ++i) {
    char mac[18];
    std::snprintf(mac, sizeof mac, "02:00:00:00:01:%02x", i);
    const std::string ip = "10.1.40." + std::to_string(i);
    f.snmp.arp("rtr", ip, mac);
    f.snmp.port("sw-b", static_cast<std::uint32_t>(100 + i), "Gi9/0/" + std::to_string(i));
    f.snmp.fdb(i <= 25 ? "sw-b" : "sw-a", 10, mac, static_cast<std::uint32_t>(100 + i));
    if (i > 25)
      f.snmp.port("sw-a", static_cast<std::uint32_t>(100 + i), "Gi9/0/" + std::to_string(i));
    Incident in = internal_incident("flood" + std::to_string(i), f.clock.now(), ip);
    f.engine.ingest(in, "127.0.0.1");
  }
  f.engine.process_containments();
  // per switch at most 8, overall at most 10
  CHECK(f.containments("down").size() == 10);
  CHECK(f.containments("held").size() == 40);
  CHECK(f.snmp.writes.size() == 10);
  int on_b = 0;
  for (const auto& c : f.containments("down")) on_b += str(c.as_object(), "switch") == "sw-b";
  CHECK(on_b == 8);
  auto held = f.containments("held");
  CHECK(str(held[0].as_object(), "detail").find("circuit breaker") != std::string::npos);
  CHECK(str(held[0].as_object(), "detail").find("held, reconsidered at") != std::string::npos);
  f.engine.process_containments();  // the window has not moved: nothing reconsidered
  CHECK(f.snmp.writes.size() == 10);
  auto mails = json::parse(f.engine.outbox_json("", 100)).at("mails").as_array();
  int breaker_mails = 0;
  for (const auto& m : mails) breaker_mails += m.at("kind").as_string() == "containment_breaker";
  CHECK(breaker_mails == 1);
  // an hour later the breaker lets containment go on again (and the first ones expire)
  f.clock.advance(seconds(3601));
  f.snmp.arp("rtr", "10.1.41.1", "02:00:00:00:02:01");
  f.snmp.port("sw-a", 200, "Gi9/9/1");
  f.snmp.fdb("sw-a", 10, "02:00:00:00:02:01", 200);
  // The held ones are reconsidered in order, within the same limits; the late one waits.
  CHECK(f.ingest("late", "10.1.41.1").rfind("queued", 0) == 0);
  CHECK(f.containments("down").size() == 10);
  CHECK(f.containments("released").size() == 10);
  CHECK(f.containments("held").size() == 31);
  CHECK(str(f.containments()[0].as_object(), "status") == "held");
  CHECK(f.snmp.writes.size() == 30);  // 10 down, 10 up, 10 down
}

TEST_CASE("the timed re-enable survives a restart of the responder", "[responder][containment]") {
  const auto dir =
      std::filesystem::temp_directory_path() / ("vtrace-contain-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string file = (dir / "state.db").string();
  auto config = load();
  FakeSnmp network;
  TimePoint later = 0;
  {
    Fixture f(config, file);
    f.ingest("i1", "10.1.23.45");
    REQUIRE(str(f.only(), "status") == "down");
    network = f.snmp;
    later = f.clock.now() + seconds(3600);
  }
  Fixture g(config, file);  // a new process: a new engine on the same database
  g.snmp = network;
  g.clock.set(later - seconds(1));
  g.engine.process_containments();
  CHECK(str(g.only(), "status") == "down");
  CHECK(g.snmp.admin("sw-a", 2) == 2);
  g.clock.set(later);
  g.engine.process_containments();
  auto c = g.only();
  CHECK(str(c, "status") == "released");
  CHECK(str(c, "released_by") == "timer");
  CHECK(g.snmp.admin("sw-a", 2) == 1);
  std::filesystem::remove_all(dir);
}

TEST_CASE("an operator releases a containment through the API with a reason, audited",
          "[responder][containment][router]") {
  Fixture f;
  f.ingest("i1", "10.1.23.45");
  Router open(f.engine, "", false);
  Router guarded(f.engine, "0123456789abcdef0123", true);
  ApiRequest list{"GET", "/v1/containments", "", "", "", "127.0.0.1"};
  auto r = open.handle(list);
  CHECK(r.status == 200);
  CHECK(r.body.find("\"port\":\"Gi1/0/2\"") != std::string::npos);
  ApiRequest release{"POST",
                     "/v1/containments/1/release",
                     "",
                     "application/json",
                     R"({"operator":"alice","reason":"reimaged"})",
                     "192.0.2.9"};
  CHECK(guarded.handle(release).status == 401);
  ApiRequest no_reason = release;
  no_reason.body = R"({"operator":"alice"})";
  CHECK(open.handle(no_reason).status == 400);
  release.authorization = "Bearer 0123456789abcdef0123";
  // The API only records the request; the containment worker writes the port.
  r = guarded.handle(release);
  CHECK(r.status == 202);
  CHECK(r.body.find("\"status\":\"release_requested\"") != std::string::npos);
  CHECK(f.snmp.admin("sw-a", 2) == 2);
  CHECK(str(f.only(), "status") == "release_requested");
  CHECK(f.wakes == 2);
  CHECK(guarded.handle(release).status == 202);  // asked again while it is in progress
  f.engine.process_containments();
  CHECK(f.snmp.admin("sw-a", 2) == 1);
  auto c = f.only();
  CHECK(str(c, "status") == "released");
  CHECK(str(c, "released_by") == "api:192.0.2.9 operator=alice");
  CHECK(str(c, "release_reason") == "reimaged");
  CHECK(guarded.handle(release).status == 409);  // already released
  release.target = "/v1/containments/99/release";
  CHECK(guarded.handle(release).status == 404);
}

TEST_CASE("a release the switch refuses is retried a minute later and keeps the operator's name",
          "[responder][containment]") {
  Fixture f;
  f.ingest("i1", "10.1.23.45");
  f.snmp.stuck.insert({"sw-a", FakeSnmp::cat(oids::kIfAdminStatus, {2})});
  CHECK(f.engine.request_release(1, "api:127.0.0.1 operator=bob", "cleaned").status == 202);
  f.engine.process_containments();
  CHECK(str(f.only(), "status") == "release_failed");
  f.snmp.stuck.clear();
  f.clock.advance(seconds(59));
  f.engine.process_containments();
  CHECK(str(f.only(), "status") == "release_failed");
  f.clock.advance(seconds(1));
  f.engine.process_containments();
  auto c = f.only();
  CHECK(str(c, "status") == "released");
  CHECK(str(c, "released_by") == "api:127.0.0.1 operator=bob");
  CHECK(str(c, "release_reason") == "cleaned");
  CHECK(f.snmp.admin("sw-a", 2) == 1);
}

TEST_CASE("a pending containment is cancelled at once by a release", "[responder][containment]") {
  Fixture f;
  Incident in = internal_incident("i1", f.clock.now(), "10.1.23.45");
  f.engine.ingest(in, "127.0.0.1");
  CHECK(f.engine.request_release(1, "operator", "false alarm").status == 200);
  f.engine.process_containments();
  CHECK(str(f.only(), "status") == "cancelled");
  CHECK(f.snmp.writes.empty());
}

TEST_CASE("a second incident from a contained origin does not contain it twice",
          "[responder][containment]") {
  Fixture f;
  f.ingest("i1", "10.1.23.45");
  CHECK(f.ingest("i2", "10.1.23.45") == "skipped: already contained: containment 1 (down)");
  CHECK(f.snmp.writes.size() == 1);
}

TEST_CASE(
    "a PC detected again after its port was shut is followed to its new port, "
    "the first containment marked escaped",
    "[responder][containment]") {
  StateFile state("escaped");
  Fixture f(load(), state.path());
  f.ingest("i1", "10.1.23.45");
  REQUIRE(str(f.only(), "status") == "down");
  f.clock.advance(seconds(600));
  f.snmp.fdb("sw-a", 10, "00:50:56:aa:00:01", 6);  // the user plugged it in at Gi1/0/6
  const std::string action = f.ingest("i2", "10.1.23.45");
  CHECK(action.find("queued: containment 2 for 10.1.23.45; detected again after containment 1 "
                    "was verified down") == 0);
  auto all = f.containments();
  REQUIRE(all.size() == 2);
  auto second = all[0].as_object();
  auto first = all[1].as_object();
  INFO(str(second, "detail") << " / " << str(first, "detail"));
  CHECK(str(second, "status") == "down");
  CHECK(str(second, "port") == "Gi1/0/6");
  CHECK(str(second, "follows") == "1");
  CHECK(str(first, "status") == "escaped");
  CHECK(str(first, "detail")
            .find("its MAC 00:50:56:aa:00:01 is now on sw-a Gi1/0/6; followed by "
                  "containment 2") != std::string::npos);
  CHECK(f.snmp.writes ==
        std::vector<std::string>{"sw-a 1.3.6.1.2.1.2.2.1.7.2=2", "sw-a 1.3.6.1.2.1.2.2.1.7.6=2"});
  CHECK(f.engine.counters().containments_escaped == 1);
  CHECK(any_contains(state.audit(), "containment.escaped"));
  auto mails = json::parse(f.engine.outbox_json("", 100)).at("mails").as_array();
  REQUIRE(mails.size() == 1);
  CHECK(mails[0].at("kind").as_string() == "containment_escaped");
  CHECK(std::string(mails[0].at("subject").as_string()) ==
        "[vtrace] contained host 10.1.23.45 escaped: now on sw-a Gi1/0/6");
  // A third detection while the follow-up holds is skipped; both ports come back on expiry.
  CHECK(f.ingest("i3", "10.1.23.45").rfind("skipped: already contained: containment 2", 0) == 0);
  f.clock.advance(seconds(3600));
  f.engine.process_containments();
  CHECK(f.containments("released").size() == 2);
  CHECK(f.snmp.admin("sw-a", 2) == 1);
  CHECK(f.snmp.admin("sw-a", 6) == 1);
}

TEST_CASE("an escape is mailed to escaped_notify when it is set, to breaker.notify otherwise",
          "[responder][containment]") {
  std::string text = kConfig;
  std::string want = "noc@example.ac.jp";
  SECTION("its own list") {
    text.replace(text.find("  breaker:"), 0,
                 "  escaped_notify: [desk@example.ac.jp, helpdesk@example.ac.jp]\n");
    want = "desk@example.ac.jp helpdesk@example.ac.jp";
  }
  SECTION("an empty list mails nobody") {
    text.replace(text.find("  breaker:"), 0, "  escaped_notify: []\n");
    want.clear();
  }
  SECTION("unset: the breaker's list") {}
  Fixture f(load(text));
  f.ingest("i1", "10.1.23.45");
  f.clock.advance(seconds(600));
  f.snmp.fdb("sw-a", 10, "00:50:56:aa:00:01", 6);
  f.ingest("i2", "10.1.23.45");
  REQUIRE(str(f.containments()[1].as_object(), "status") == "escaped");
  auto mails = json::parse(f.engine.outbox_json("", 100)).at("mails").as_array();
  std::string to;
  for (const auto& m : mails) {
    if (m.at("kind").as_string() != "containment_escaped") continue;
    for (const auto& r : m.at("to").as_array())
      to += (to.empty() ? "" : " ") + std::string(r.as_string());
  }
  CHECK(to == want);
}

TEST_CASE("escaped_notify is a list of mail addresses, checked with positions",
          "[responder][containment][config]") {
  Diagnostics d;
  CHECK_FALSE(parse_responder_config(R"(containment:
  escaped_notify: [desk@example.ac.jp, "desk; rm -rf"]
)",
                                     "r.yaml", d));
  INFO(d.render());
  CHECK(d.render().find("r.yaml:2:40: error[address]: containment.escaped_notify: 'desk; rm -rf' "
                        "is not a mail address") != std::string::npos);
}

TEST_CASE("a PC detected again but still behind its shut port, or reported late, is not followed",
          "[responder][containment]") {
  Fixture f;
  f.ingest("i1", "10.1.23.45");
  SECTION("a report dated before the port went down") {
    Incident late = internal_incident("i2", f.clock.now() - seconds(5), "10.1.23.45");
    f.clock.advance(seconds(60));
    f.engine.ingest(late, "127.0.0.1");
    f.engine.process_containments();
    CHECK(f.containments().size() == 1);
  }
  SECTION("a fuzzy trace, even where the action contains fuzzy traces") {
    std::string text = kConfig;
    text.replace(text.find("duration: 1h}"), 13, "duration: 1h, allow_fuzzy: true}");
    Fixture g(load(text));
    g.ingest("i1", "10.1.23.45");
    g.clock.advance(seconds(60));
    g.snmp.fdb("sw-a", 10, "00:50:56:aa:00:01", 6);
    CHECK(g.ingest("i2", "10.1.23.45", Confidence::kFuzzy) ==
          "skipped: already contained: containment 1 (down)");
    CHECK(g.snmp.writes.size() == 1);
  }
  SECTION("the MAC still on the shut port, and a burst of detections checked once a minute") {
    f.clock.advance(seconds(60));
    f.ingest("i2", "10.1.23.45");
    auto second = f.containments()[0].as_object();
    CHECK(str(second, "status") == "confirmed");
    CHECK(str(second, "detail").find("still on sw-a Gi1/0/2, the port containment 1 shut") !=
          std::string::npos);
    CHECK(str(f.containments()[1].as_object(), "status") == "down");
    f.clock.advance(seconds(10));
    CHECK(f.ingest("i3", "10.1.23.45") ==
          "skipped: already contained: containment 1 (down), checked again by containment 2 "
          "less than a minute ago");
    f.clock.advance(seconds(60));
    CHECK(f.ingest("i4", "10.1.23.45").rfind("queued: containment 3", 0) == 0);
  }
  CHECK(f.snmp.writes.size() == 1);
}

TEST_CASE("a state file from before follow-ups gains the follows column and keeps its rows",
          "[responder][containment]") {
  StateFile state("migrate");
  {
    Database old(state.path());
    old.exec(
        "CREATE TABLE containments(id INTEGER PRIMARY KEY AUTOINCREMENT, incident_id TEXT NOT "
        "NULL, policy TEXT NOT NULL, origin_ip TEXT NOT NULL, status TEXT NOT NULL, dry_run "
        "INTEGER NOT NULL, duration INTEGER NOT NULL, device TEXT NOT NULL DEFAULT '', port TEXT "
        "NOT NULL DEFAULT '', if_index INTEGER NOT NULL DEFAULT 0, mac TEXT NOT NULL DEFAULT '', "
        "detail TEXT NOT NULL DEFAULT '', created_at INTEGER NOT NULL, acted_at INTEGER, "
        "downed_at INTEGER, expires_at INTEGER, released_at INTEGER, released_by TEXT NOT NULL "
        "DEFAULT '', release_reason TEXT NOT NULL DEFAULT '');"
        "INSERT INTO containments(incident_id, policy, origin_ip, status, dry_run, duration, "
        "created_at) VALUES('old', 'contain', '10.1.23.99', 'released', 0, 1, 1);");
  }
  Fixture f(load(), state.path());
  auto old = f.only();
  CHECK(str(old, "incident") == "old");
  CHECK(str(old, "follows") == "null");
  f.ingest("i1", "10.1.23.45");
  CHECK(f.containments("down").size() == 1);
}

TEST_CASE("quarantine_vlan moves the desk port's VLAN, verified, and moves it back on expiry",
          "[responder][containment]") {
  std::string text = kConfig;
  const std::string shut = "{type: disable_port, dry_run: false, duration: 1h}";
  text.replace(text.find(shut), shut.size(),
               "{type: quarantine_vlan, vlan: 999, dry_run: false, duration: 1h}");
  Fixture f(load(text));
  for (std::uint32_t i = 1; i <= 8; ++i) {
    f.snmp.integer("sw-a", FakeSnmp::cat(oids::kDot1qPvid, {i}), 10);
  }
  const Oid pvid2 = FakeSnmp::cat(oids::kDot1qPvid, {2});
  f.ingest("i1", "10.1.23.45");
  auto c = f.only();
  INFO(str(c, "detail"));
  CHECK(str(c, "status") == "down");
  CHECK(str(c, "action") == "quarantine_vlan");
  CHECK(str(c, "vlan") == "999");
  CHECK(str(c, "previous_vlan") == "10");
  CHECK(str(c, "detail") == "sw-a Gi1/0/2 (ifIndex 2) is in VLAN 999 (was 10), verified");
  CHECK(f.snmp.mib["sw-a"][pvid2].integer == 999);
  CHECK(f.snmp.admin("sw-a", 2) == 1);  // the port (and a phone on it) stays up
  f.clock.advance(seconds(3601));
  f.engine.process_containments();
  CHECK(str(f.only(), "status") == "released");
  CHECK(f.snmp.mib["sw-a"][pvid2].integer == 10);
  CHECK(f.snmp.writes == std::vector<std::string>{"sw-a " + oid_text(pvid2) + "=999",
                                                  "sw-a " + oid_text(pvid2) + "=10"});
  SECTION("a write that does not take is a failure") {
    f.snmp.stuck.insert({"sw-a", FakeSnmp::cat(oids::kDot1qPvid, {3})});
    f.ingest("i2", "10.1.23.46");
    auto failed = f.containments()[0].as_object();
    CHECK(str(failed, "status") == "failed");
    CHECK(str(failed, "detail").find("reads 10, not 999: the write did not take") !=
          std::string::npos);
  }
  SECTION("a port already in the quarantine VLAN is not claimed") {
    f.snmp.integer("sw-a", FakeSnmp::cat(oids::kDot1qPvid, {3}), 999);
    f.ingest("i2", "10.1.23.46");
    auto failed = f.containments()[0].as_object();
    CHECK(str(failed, "status") == "failed");
    CHECK(str(failed, "detail").find("the VLAN it had before is unknown") != std::string::npos);
  }
}

TEST_CASE(
    "quarantine_vlan on a Cisco switch writes vmVlan of a static access port and moves it "
    "back",
    "[responder][containment]") {
  std::string text = kConfig;
  const std::string shut = "{type: disable_port, dry_run: false, duration: 1h}";
  text.replace(text.find(shut), shut.size(),
               "{type: quarantine_vlan, vlan: 999, dry_run: false, duration: 1h}");
  text.replace(text.find("uplinks: [Gi1/0/1]"), 18, "uplinks: [Gi1/0/1]\n      vlan_mib: cisco");
  Fixture f(load(text));
  for (std::uint32_t i = 1; i <= 8; ++i) {
    f.snmp.integer("sw-a", FakeSnmp::cat(oids::kVmVlanType, {i}), 1);  // static
    f.snmp.integer("sw-a", FakeSnmp::cat(oids::kVmVlan, {i}), 10);
    // A Q-BRIDGE PVID the Cisco option must not touch.
    f.snmp.integer("sw-a", FakeSnmp::cat(oids::kDot1qPvid, {i}), 10);
  }
  const Oid vm2 = FakeSnmp::cat(oids::kVmVlan, {2});
  f.ingest("i1", "10.1.23.45");
  auto c = f.only();
  INFO(str(c, "detail"));
  CHECK(str(c, "status") == "down");
  CHECK(str(c, "previous_vlan") == "10");
  CHECK(str(c, "detail") == "sw-a Gi1/0/2 (ifIndex 2) is in VLAN 999 (was 10), verified");
  CHECK(f.snmp.mib["sw-a"][vm2].integer == 999);
  CHECK(f.snmp.admin("sw-a", 2) == 1);
  f.clock.advance(seconds(3601));
  f.engine.process_containments();
  CHECK(str(f.only(), "status") == "released");
  CHECK(f.snmp.writes == std::vector<std::string>{"sw-a " + oid_text(vm2) + "=999",
                                                  "sw-a " + oid_text(vm2) + "=10"});
  SECTION("a port whose VLAN is assigned dynamically (VMPS) is not written") {
    f.snmp.integer("sw-a", FakeSnmp::cat(oids::kVmVlanType, {3}), 2);
    f.ingest("i2", "10.1.23.46");
    auto failed = f.containments()[0].as_object();
    CHECK(str(failed, "status") == "failed");
    CHECK(str(failed, "detail") ==
          "ifIndex 3 on sw-a is not a static access port (vmVlanType 2): its VLAN is not set "
          "over SNMP");
    CHECK(f.snmp.writes.size() == 2);
  }
  SECTION("a trunk port without a vmMembershipTable row is not written") {
    f.snmp.mib["sw-a"].erase(FakeSnmp::cat(oids::kVmVlanType, {3}));
    f.ingest("i2", "10.1.23.46");
    auto failed = f.containments()[0].as_object();
    CHECK(str(failed, "status") == "failed");
    CHECK(str(failed, "detail").find("the read of vmVlanType.3 on sw-a failed: noSuchInstance") ==
          0);
    CHECK(f.snmp.writes.size() == 2);
  }
}

TEST_CASE("vlan_mib is q-bridge or cisco, checked with its position",
          "[responder][containment][config]") {
  Diagnostics d;
  CHECK_FALSE(parse_responder_config(R"(containment:
  switches:
    - {name: sw-a, address: 192.0.2.2, credential: rw, vlan_mib: juniper}
policies: []
)",
                                     "r.yaml", d));
  INFO(d.render());
  CHECK(d.render().find("r.yaml:3:66: error[value]: containment.switches[0].vlan_mib: 'juniper' is "
                        "not one of: q-bridge, cisco") != std::string::npos);
}

TEST_CASE("the containment configuration is checked with positions",
          "[responder][containment][config]") {
  Diagnostics d;
  const std::string text = R"(containment:
  switches:
    - {name: sw-a, address: 192.0.2.2, credential: rw, version: 4, colour: red}
  static_map:
    - {ip: 10.1.2.3, switch: sw-z, port: Gi1/0/1}
    - {mac: zz:00, switch: sw-a, if_index: 3}
policies:
  - name: p
    actions:
      - {type: disable_port, duration: 5s, to: [a@example.org]}
)";
  CHECK_FALSE(parse_responder_config(text, "r.yaml", d));
  const std::string out = d.render();
  INFO(out);
  CHECK(out.find("r.yaml:3:") != std::string::npos);
  CHECK(out.find("unknown") != std::string::npos);
  CHECK(out.find("sw-z' is not one of containment.switches") != std::string::npos);
  CHECK(out.find("is not a MAC") != std::string::npos);
  CHECK(out.find("5s is out of range") != std::string::npos);

  Diagnostics d3;
  CHECK_FALSE(parse_responder_config(R"(containment:
  switches:
    - name: sw-a
      address: 192.0.2.2
      credential: rw
      uplinks: [Gi1/0/1]
      desk_ports: [Gi1/0/2, Gi1/0/1]
      lldp_uplinks: sometimes
)",
                                     "r.yaml", d3));
  INFO(d3.render());
  CHECK(d3.render().find("r.yaml:7:29: error[conflict]: containment.switches[0].desk_ports: "
                         "'Gi1/0/1' is also in") != std::string::npos);
  CHECK(d3.render().find("r.yaml:8:21: error") != std::string::npos);
  CHECK(out.find("'to' applies only to mail actions") != std::string::npos);

  Diagnostics d4;
  CHECK_FALSE(parse_responder_config(R"(containment: {}
policies:
  - name: p
    actions:
      - {type: quarantine_vlan}
      - {type: disable_port, vlan: 999}
      - {type: quarantine_vlan, vlan: 4095}
)",
                                     "r.yaml", d4));
  INFO(d4.render());
  CHECK(d4.render().find("r.yaml:5:9: error[missing-key]: policy 'p'.actions[0]: a "
                         "quarantine_vlan action needs 'vlan'") != std::string::npos);
  CHECK(d4.render().find("'vlan' applies only to quarantine_vlan actions") != std::string::npos);
  CHECK(d4.render().find("4095 is out of range") != std::string::npos);

  Diagnostics d2;
  CHECK_FALSE(parse_responder_config(
      "policies:\n  - name: p\n    actions:\n      - type: disable_port\n", "r.yaml", d2));
  CHECK(d2.render().find("disable_port needs the 'containment' section") != std::string::npos);
}

TEST_CASE("every SNMP credential a device names must be in the secrets file, of the right version",
          "[responder][containment][config]") {
  auto config = load();
  Secrets s;
  Diagnostics d;
  CHECK_FALSE(check_secrets(*config, s, d));
  CHECK(d.render().find("uses credential 'ro'") != std::string::npos);
  s.snmp_credentials = Fixture::credentials();
  Diagnostics d2;
  CHECK(check_secrets(*config, s, d2));
  s.snmp_credentials["rw"].community.clear();
  s.snmp_credentials["rw"].user = "labuser";
  Diagnostics d3;
  CHECK_FALSE(check_secrets(*config, s, d3));
  CHECK(d3.render().find("is a v3 user but the device is configured for version 2c") !=
        std::string::npos);
}

TEST_CASE("a direct_smtp incident is contained like any exact origin, through the same guards",
          "[responder][containment][direct-smtp]") {
  Fixture f;
  auto worm = [&](const std::string& id, const std::string& ip) {
    Incident in = internal_incident(id, f.clock.now(), ip);
    in.kind = IncidentKind::kDirectSmtp;
    in.virus.clear();
    in.action = "blocked";
    in.envelope_from.clear();
    in.envelope_to.clear();
    in.queue_id.clear();
    in.message_id.clear();
    in.hops = {Hop{"fw1", "", f.clock.now() - seconds(240), ip, "", HopLink::kDirect}};
    in.detector_host = "fw1";
    in.detector_format = "netfilter";
    in.direct_smtp = DirectSmtpCounts{312, 97, 312, 0, f.clock.now() - seconds(240), f.clock.now()};
    f.engine.ingest(in, "127.0.0.1");
    f.engine.process_containments();
    auto doc = json::parse(*f.engine.incident_json(id));
    for (const auto& a : doc.at("actions").as_array()) {
      if (a.at("type").as_string() == "disable_port") {
        return std::string(a.at("status").as_string()) + ": " +
               std::string(a.at("detail").as_string());
      }
    }
    return std::string("no disable_port action");
  };
  CHECK(worm("d1", "10.1.0.25") ==
        "refused: 10.1.0.25 is a protected host (containment.protected_hosts)");
  CHECK(worm("d2", "10.1.23.45").rfind("queued", 0) == 0);
  CHECK(str(f.only(), "status") == "down");
  CHECK(f.snmp.admin("sw-a", 2) == 2);
}

}  // namespace vtrace::responder
