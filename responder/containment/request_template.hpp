// RequestTemplate: the URL and body templates of the webhook, rendered so that no value (an
// incident id, a MAC) can change the shape of the request; and the values of one port write.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "responder/containment/port_controller.hpp"

namespace vtrace::responder {

using TemplateValue = std::variant<std::string, std::int64_t>;
using TemplateValues = std::map<std::string, TemplateValue>;

// The names a request template may use.
const std::vector<std::string>& template_variables();

// A text with {{name}} placeholders and nothing else (no sections, no partials). Rendering
// encodes every value for where it goes: as a JSON value (strings quoted and escaped, numbers
// bare) in a body, percent-encoded in a URL. So an incident id or a MAC can never change the
// shape of the request, whatever it contains.
class RequestTemplate {
 public:
  enum class Encoding { kJson, kUrl };

  // Nullopt with `problem` set on an unknown name or an unclosed {{.
  static std::optional<RequestTemplate> compile(std::string_view source, Encoding encoding,
                                                std::string* problem);
  std::string render(const TemplateValues& values) const;

 private:
  struct Part {
    bool variable = false;
    std::string text;  // literal text, or the variable name
  };
  Encoding encoding_ = Encoding::kJson;
  std::vector<Part> parts_;
};

// Values used to check templates when the configuration is loaded.
TemplateValues sample_template_values();
// What a port write asks for: "down" or "up", or for a VLAN write "quarantine_vlan" (move the
// port to {{vlan}}) or "restore_vlan" (move it back to {{vlan}}, the VLAN it had).
std::string action_of(const PortRequest& request);

// The values a port write hands to automation, each named once, in the order an AWX job's
// extra_vars lists them; vlan and previous_vlan only for a VLAN write.
struct PortValue {
  std::string_view name;
  TemplateValue value;
};
std::vector<PortValue> port_values(const PortRequest& request);
// The same values, for rendering a template (vlan and previous_vlan 0 for a port write).
TemplateValues template_values(const PortRequest& request);

}  // namespace vtrace::responder
