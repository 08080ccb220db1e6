// The Net-SNMP implementation of SnmpClient (single-session API). netsnmp_client.cpp is the only
// file that includes the Net-SNMP headers.
#pragma once

#include <memory>
#include <string>

#include "responder/containment/snmp_client.hpp"

namespace vtrace::responder {

// `persistent_dir` receives Net-SNMP's own state (init_snmp creates cert_indexes there); it
// keeps the library away from /var/lib/snmp and /etc/snmp.
std::unique_ptr<SnmpClient> make_netsnmp_client(const std::string& persistent_dir);

}  // namespace vtrace::responder
