// The responder configuration's parser, shared by the files of responder/config/: one file per
// section of responder.yaml (listen.cpp, mail.cpp, containment*.cpp, policies.cpp), the root and
// the helpers in config.cpp, the secrets file in secrets.cpp. Private to responder/config/.
//
// Same rules as the correlator's settings (module/settings.cpp): every problem is recorded with
// the position of the node that causes it, parsing goes on after an error so the operator sees
// all of them at once, unknown keys are errors, and nothing is clamped over a bad value.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/diagnostic.hpp"
#include "common/time.hpp"
#include "common/yaml_fields.hpp"
#include "responder/config/config.hpp"

namespace vtrace::responder::detail {

// The responder's own names (hosts, templates, credentials, policies, devices): at most 64
// bytes, a tighter cap than the correlator's.
inline constexpr std::size_t kMaxNameBytes = 64;

// vtrace::valid_name with the responder's cap.
bool valid_name(std::string_view s);
// A value quoted in a message: control characters escaped so a diagnostic stays one line.
std::string printable(std::string_view s);
int line_of(const YAML::Node& node);
// The whole file, or nullopt with an `io` error naming `what` ("configuration", "secrets file").
std::optional<std::string> read_file(const std::string& path, const std::string& what,
                                     Diagnostics& diagnostics);

class ConfigParser : YamlFieldParser {
 public:
  explicit ConfigParser(const std::string& path) : YamlFieldParser(path) { config_.path = path; }

  std::optional<ResponderConfig> parse(const std::string& text, Diagnostics& out);

 private:
  // config.cpp: the root mapping and helpers shared by the sections
  void parse_root(const YAML::Node& root);
  std::vector<std::string> addresses(const Field& f, const std::string& what);
  static std::string item_label(const std::string& list, std::size_t index);

  // listen.cpp: listen
  void parse_listen(const Field& f);

  // mail.cpp: smtp, mail, own_domains, abuse_contacts
  void parse_smtp(const Field& f);
  void parse_mail(const Field& f);
  void parse_own_domains(const Field& f);
  void parse_abuse_contacts(const Field& f);

  // containment.cpp: containment (protected hosts, guards, breaker)
  void parse_containment(const Field& f);
  void check_backends(const std::optional<Field>& global);

  // containment_backends.cpp: containment.backend, webhook, awx
  std::optional<PortBackend> port_backend(const Field& f, const std::string& what);
  std::optional<std::string> url_template(const Field& f, const std::string& what);
  void parse_http_endpoint(const YAML::Node& map, const std::string& what, HttpEndpointConfig& h);
  void parse_verify(const Field& f, const std::string& what, VerifyConfig& v, bool awx);
  void parse_webhook(const Field& f);
  void parse_awx(const Field& f);

  // containment_devices.cpp: containment.switches, routers, static_map
  void parse_devices(const Field& f, const std::string& what, bool is_switch);
  void parse_static_map(const Field& f);

  // policies.cpp: policies and their actions
  void parse_policies(const Field& f);
  void parse_policy(const YAML::Node& node, std::size_t index);
  void parse_match(const Field& f, const std::string& what, PolicyMatch& m);
  void parse_threshold(const Field& f, const std::string& what, Threshold& t);
  void parse_actions(const Field& f, const std::string& what, std::vector<ActionConfig>& out);
  std::optional<std::string> template_name(const Field& f, const std::string& what);

  ResponderConfig config_;
  std::map<std::string, int> policy_names_;
  std::map<std::string, int> device_names_;
  std::vector<YAML::Node> static_nodes_;
  std::vector<YAML::Node> backend_nodes_;  // per switch: its `backend` value, else the item
};

}  // namespace vtrace::responder::detail
