// Request templates: compiling {{name}} placeholders and rendering them encoded for where they go.
#include "responder/containment/request_template.hpp"

#include <algorithm>
#include <boost/json.hpp>

namespace vtrace::responder {

namespace json = boost::json;

namespace {

std::string percent_encode(std::string_view text) {
  static const char* const kHex = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

}  // namespace

const std::vector<std::string>& template_variables() {
  static const std::vector<std::string> names = {"action",   "switch",       "switch_address",
                                                 "port",     "if_index",     "containment",
                                                 "incident", "origin_ip",    "mac",
                                                 "vlan",     "previous_vlan"};
  return names;
}

std::optional<RequestTemplate> RequestTemplate::compile(std::string_view source, Encoding encoding,
                                                        std::string* problem) {
  RequestTemplate t;
  t.encoding_ = encoding;
  std::size_t pos = 0;
  while (pos < source.size()) {
    const std::size_t open = source.find("{{", pos);
    if (open == std::string_view::npos) {
      t.parts_.push_back({false, std::string(source.substr(pos))});
      break;
    }
    if (open > pos) t.parts_.push_back({false, std::string(source.substr(pos, open - pos))});
    const std::size_t close = source.find("}}", open + 2);
    if (close == std::string_view::npos) {
      *problem = "'{{' at offset " + std::to_string(open) + " is never closed with '}}'";
      return std::nullopt;
    }
    std::string_view name = source.substr(open + 2, close - open - 2);
    while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
    while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
    const auto& known = template_variables();
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      *problem = "unknown placeholder {{" + std::string(name) + "}} (known: " + list + ")";
      return std::nullopt;
    }
    t.parts_.push_back({true, std::string(name)});
    pos = close + 2;
  }
  return t;
}

std::string RequestTemplate::render(const TemplateValues& values) const {
  std::string out;
  for (const auto& part : parts_) {
    if (!part.variable) {
      out += part.text;
      continue;
    }
    auto it = values.find(part.text);
    const TemplateValue value = it == values.end() ? TemplateValue(std::string()) : it->second;
    if (const auto* n = std::get_if<std::int64_t>(&value)) {
      out += std::to_string(*n);
    } else if (encoding_ == Encoding::kJson) {
      out += json::serialize(json::string(std::get<std::string>(value)));
    } else {
      out += percent_encode(std::get<std::string>(value));
    }
  }
  return out;
}

TemplateValues sample_template_values() {
  return {{"action", std::string("down")},
          {"switch", std::string("sw-sample")},
          {"switch_address", std::string("192.0.2.1")},
          {"port", std::string("Gi1/0/1")},
          {"if_index", std::int64_t{1}},
          {"containment", std::int64_t{1}},
          {"incident", std::string("gw1-4Q\"sample\\incident")},
          {"origin_ip", std::string("192.0.2.10")},
          {"mac", std::string("00:00:5e:00:53:01")},
          {"vlan", std::int64_t{999}},
          {"previous_vlan", std::int64_t{10}}};
}

std::string action_of(const PortRequest& r) {
  if (r.vlan > 0) return r.up ? "restore_vlan" : "quarantine_vlan";
  return r.up ? "up" : "down";
}

std::vector<PortValue> port_values(const PortRequest& r) {
  std::vector<PortValue> values = {{"action", action_of(r)},
                                   {"switch", r.device->name},
                                   {"switch_address", r.device->address},
                                   {"port", r.port},
                                   {"if_index", r.if_index},
                                   {"containment", r.containment_id},
                                   {"incident", r.incident_id},
                                   {"origin_ip", r.origin_ip},
                                   {"mac", r.mac}};
  if (r.vlan > 0) {
    values.push_back({"vlan", std::int64_t{r.vlan}});
    values.push_back({"previous_vlan", std::int64_t{r.previous_vlan}});
  }
  return values;
}

TemplateValues template_values(const PortRequest& r) {
  TemplateValues values;
  for (auto& [name, value] : port_values(r)) values.emplace(name, std::move(value));
  values.emplace("vlan", std::int64_t{r.vlan});
  values.emplace("previous_vlan", std::int64_t{r.previous_vlan});
  return values;
}

}  // namespace vtrace::responder
