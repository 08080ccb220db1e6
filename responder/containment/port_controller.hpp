// PortController: turns one switch port administratively up or down and verifies it. The
// implementations are SnmpPortController (containment.hpp) and the HTTP automation controllers.
#pragma once

#include <cstdint>
#include <string>

#include "responder/config/config.hpp"

namespace vtrace::responder {

// What a port write is about: the port, and the containment it serves (so an automation back
// end can name the incident in its job). The incident id and the MAC are the only values that
// came from outside; back ends hand them on only JSON-encoded or percent-encoded.
struct PortRequest {
  const SnmpDeviceConfig* device = nullptr;  // never null when a controller is called
  std::string port;                          // ifName
  std::int64_t if_index = 0;                 // a hint, re-resolved from the name before writing
  bool up = false;
  std::int64_t containment_id = 0;
  std::string incident_id;
  std::string origin_ip;
  std::string mac;
  // quarantine_vlan: instead of ifAdminStatus, set the port's untagged (data) VLAN (dot1qPvid
  // or Cisco vmVlan) to this VLAN and read it back: the quarantine VLAN when `up` is false, the
  // VLAN to go back to when it is true.
  int vlan = 0;
  // A VLAN write through automation: the VLAN the port is in right before it (automation gets
  // it as {{previous_vlan}}): read over SNMP by the controller for a quarantine, the quarantine
  // VLAN the engine recorded for a release.
  int previous_vlan = 0;
};

// Turns one switch port administratively up or down (or moves its VLAN) and verifies it: over SNMP
// (SnmpPortController) or through HTTP automation (WebhookPortController, AwxPortController).
struct PortWrite {
  bool ok = false;  // true only when the state was read back as requested
  std::int64_t if_index = 0;
  std::string detail;
  int previous_vlan = 0;  // a VLAN write: the port's VLAN before it
};

class PortController {
 public:
  virtual ~PortController() = default;
  virtual PortWrite set_admin_status(const PortRequest& request) = 0;
};

}  // namespace vtrace::responder
