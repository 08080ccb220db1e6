// The HTTP automation port controllers: a generic webhook and AWX / Ansible controller job
// templates. They write a port through someone else's automation and then verify the result
// themselves; a write that cannot be verified is a failure, never a success.
//
// Everything here talks to the network only through HttpClient (and SnmpPortReader for SNMP
// read-back) and waits only through Sleeper, so it is tested deterministically; the Beast
// client lives in common/http_client.cpp.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/http_client.hpp"
#include "responder/clock.hpp"
#include "responder/config/config.hpp"
#include "responder/containment/containment.hpp"
#include "responder/containment/port_controller.hpp"
#include "responder/containment/request_template.hpp"

namespace vtrace::responder {

// Hex HMAC-SHA256 of `data` under `key`.
std::string hmac_sha256_hex(std::string_view key, std::string_view data);

// ---- the controllers -----------------------------------------------------------------------

// Sends `request` until it gets an answer that is not worth retrying: a 2xx or 4xx (or another
// non-5xx status) ends it; a 5xx, a timeout or a connection error is retried up to
// `http.attempts` times, waiting retry_initial, then twice as long each time (at most 5 min).
// `log` receives one line per attempt.
HttpResponse send_with_retry(HttpClient& client, Sleeper& sleeper, const HttpRequest& request,
                             const HttpEndpointConfig& http, std::vector<std::string>* log);

// What both automation back ends use from outside: the network, time, and the SNMP reader that
// verifies a write when the site asks for a read-back (nullptr: none).
struct HttpBackendEdges {
  HttpClient& http;
  Sleeper& sleeper;
  const Clock& clock;
  SnmpPortReader* snmp_reader = nullptr;
};

// The webhook: METHOD url, JSON body from the template, bearer token or HMAC signature, then
// the verification step (status URL field or SNMP read-back).
class WebhookPortController final : public PortController {
 public:
  WebhookPortController(HttpBackendEdges edges, std::shared_ptr<const ContainmentConfig> config,
                        const std::map<std::string, HttpCredential>& credentials);
  PortWrite set_admin_status(const PortRequest& request) override;

 private:
  void authorise(HttpRequest& request) const;

  HttpBackendEdges edges_;
  std::shared_ptr<const ContainmentConfig> config_;
  HttpCredential credential_;
  std::optional<RequestTemplate> url_, body_, status_url_;
};

// AWX: POST {url}/api/v2/job_templates/{id}/launch/ with extra_vars, then poll
// {url}/api/v2/jobs/{job}/ until it ends or job_timeout passes; then verify (SNMP read-back, or
// the job's own status when the site says its playbook verifies).
class AwxPortController final : public PortController {
 public:
  AwxPortController(HttpBackendEdges edges, std::shared_ptr<const ContainmentConfig> config,
                    const std::map<std::string, HttpCredential>& credentials);
  PortWrite set_admin_status(const PortRequest& request) override;

 private:
  HttpRequest request(const std::string& method, const std::string& path) const;
  void cancel(std::int64_t job, std::vector<std::string>* log);

  HttpBackendEdges edges_;
  std::shared_ptr<const ContainmentConfig> config_;
  HttpCredential credential_;
};

// Reads ifAdminStatus (or for a VLAN write the port's VLAN object) until it is what was asked
// for (verify.attempts reads, verify.interval apart). True when it is; else `problem` says what
// was read. `read_back` names the object read ("ifAdminStatus.2", "vmVlan.2").
bool verify_by_snmp(SnmpPortReader& reader, Sleeper& sleeper, const VerifyConfig& verify,
                    const PortRequest& request, std::int64_t* if_index, std::string* problem,
                    std::string* read_back = nullptr);

// A quarantine through automation needs the VLAN the port is in now, read over SNMP: the VLAN
// a release goes back to ({{previous_vlan}}). The request with it (and the ifIndex resolved
// from the ifName); nullopt with `problem` set when it cannot be read, or when the port is
// already in the quarantine VLAN (the VLAN to go back to would be unknown). A port write and a
// release (whose previous_vlan is the quarantine VLAN the engine recorded) are returned as
// they are.
std::optional<PortRequest> with_previous_vlan(SnmpPortReader* reader, const PortRequest& request,
                                              std::string* problem);

// "down", "up", or "in VLAN 999 (was 10)": what a verified write left the port.
std::string requested_state(const PortRequest& request);

// Picks the controller for each switch by its back end (containment.backend or the switch's
// own `backend`). A back end that is not wired answers a failure.
class BackendPortController final : public PortController {
 public:
  BackendPortController(std::shared_ptr<const ContainmentConfig> config, PortController* snmp,
                        PortController* webhook, PortController* awx)
      : config_(std::move(config)), snmp_(snmp), webhook_(webhook), awx_(awx) {}
  PortWrite set_admin_status(const PortRequest& request) override;

 private:
  std::shared_ptr<const ContainmentConfig> config_;
  PortController* snmp_;
  PortController* webhook_;
  PortController* awx_;
};

}  // namespace vtrace::responder
