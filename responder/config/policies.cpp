// responder.yaml, section policies: which incidents lead to which actions.
#include "responder/config/config_parser.hpp"
#include "responder/mail/templates.hpp"

namespace vtrace::responder::detail {

void ConfigParser::parse_policies(const Field& f) {
  auto items = sequence(f, "policies");
  if (!items) return;
  for (std::size_t i = 0; i < items->size(); ++i) parse_policy((*items)[i], i);
}

void ConfigParser::parse_policy(const YAML::Node& node, std::size_t index) {
  std::string what = item_label("policies", index);
  if (!reader_.check_keys(node, {"name", "match", "threshold", "actions"}, what)) return;
  Policy policy;
  if (auto f = find_field(node, "name")) {
    if (auto name = string(*f, what + ".name")) {
      if (!valid_name(*name)) {
        reader_.error(f->value, "value",
                      what + ".name: '" + *name +
                          "' is not a valid name (use letters, digits, '_', '.' and '-')");
      } else if (auto [it, inserted] = policy_names_.emplace(*name, line_of(f->value)); !inserted) {
        reader_.error(f->value, "duplicate-name",
                      what + ".name: policy '" + *name + "' is already defined at line " +
                          std::to_string(it->second));
      } else {
        policy.name = *name;
        what = "policy '" + *name + "'";
      }
    }
  } else {
    reader_.error(node, "missing-key", what + ": the key 'name' is required");
  }
  if (auto f = find_field(node, "match")) parse_match(*f, what + ".match", policy.match);
  if (auto f = find_field(node, "threshold")) {
    parse_threshold(*f, what + ".threshold", policy.threshold);
  }
  if (auto f = find_field(node, "actions")) {
    parse_actions(*f, what + ".actions", policy.actions);
  } else {
    reader_.error(node, "missing-key", what + ": the key 'actions' is required");
  }
  config_.policies.push_back(std::move(policy));
}

void ConfigParser::parse_match(const Field& f, const std::string& what, PolicyMatch& m) {
  if (f.value.IsNull()) return;
  if (!reader_.check_keys(
          f.value, {"origin", "zones", "viruses", "confidence", "detectors", "kind"}, what)) {
    return;
  }
  if (auto k = find_field(f.value, "origin")) {
    if (has_value(*k, what + ".origin", "internal, external or any")) {
      if (auto c = reader_.choice(k->value, what + ".origin", {"internal", "external", "any"})) {
        m.origin = *c == "internal"   ? OriginClass::kInternal
                   : *c == "external" ? OriginClass::kExternal
                                      : OriginClass::kAny;
      }
    }
  }
  if (auto k = find_field(f.value, "zones")) {
    if (auto items = scalar_items(*k, what + ".zones")) {
      for (const auto& item : *items) {
        if (!valid_name(item.Scalar())) {
          reader_.error(item, "value", what + ".zones: '" + item.Scalar() + "' is not a zone name");
          continue;
        }
        m.zones.push_back(item.Scalar());
      }
    }
  }
  if (auto k = find_field(f.value, "viruses")) {
    if (auto items = scalar_items(*k, what + ".viruses")) {
      for (const auto& item : *items) {
        if (item.Scalar().empty()) {
          reader_.error(item, "value", what + ".viruses: a pattern must not be empty");
          continue;
        }
        m.viruses.push_back(item.Scalar());
      }
    }
  }
  if (auto k = find_field(f.value, "confidence")) {
    if (auto items = scalar_items(*k, what + ".confidence")) {
      for (const auto& item : *items) {
        const std::string& c = item.Scalar();
        if (c != "exact" && c != "fuzzy" && c != "ambiguous" && c != "unresolved") {
          reader_.error(
              item, "value",
              what + ".confidence: '" + c + "' is not one of: exact, fuzzy, ambiguous, unresolved");
          continue;
        }
        m.confidence.push_back(c);
      }
    }
  }
  if (auto k = find_field(f.value, "kind")) {
    // One kind (`kind: direct_smtp`) or a list of them.
    std::vector<YAML::Node> items;
    if (k->value.IsScalar()) {
      items.push_back(k->value);
    } else if (auto listed = scalar_items(*k, what + ".kind")) {
      items = *listed;
    }
    for (const auto& item : items) {
      if (!incident_kind_from_string(item.Scalar())) {
        reader_.error(
            item, "value",
            what + ".kind: '" + item.Scalar() + "' is not one of: virus_mail, direct_smtp");
        continue;
      }
      m.kinds.push_back(item.Scalar());
    }
  }
  if (auto k = find_field(f.value, "detectors")) {
    if (auto items = scalar_items(*k, what + ".detectors")) {
      for (const auto& item : *items) {
        if (!valid_name(item.Scalar())) {
          reader_.error(item, "value",
                        what + ".detectors: '" + item.Scalar() + "' is not a source name");
          continue;
        }
        m.detectors.push_back(item.Scalar());
      }
    }
  }
}

void ConfigParser::parse_threshold(const Field& f, const std::string& what, Threshold& t) {
  if (f.value.IsNull()) return;
  if (!reader_.check_keys(f.value, {"count", "within"}, what)) return;
  if (auto k = find_field(f.value, "count")) {
    if (auto n = integer(*k, what + ".count", 1, 1'000'000)) t.count = static_cast<int>(*n);
  }
  if (auto k = find_field(f.value, "within")) {
    if (auto d = duration(*k, what + ".within", seconds(1), 30 * kDay, "[1s, 30d]")) {
      t.within = *d;
    }
  }
}

void ConfigParser::parse_actions(const Field& f, const std::string& what,
                                 std::vector<ActionConfig>& out) {
  auto items = sequence(f, what);
  if (!items) return;
  if (items->empty()) {
    reader_.error(f.value.IsNull() ? f.key : f.value, "value",
                  what + ": at least one action is required");
    return;
  }
  for (std::size_t i = 0; i < items->size(); ++i) {
    const YAML::Node& node = (*items)[i];
    const std::string label = item_label(what, i);
    if (!reader_.check_keys(node,
                            {"type", "dry_run", "to", "template", "digest_template",
                             "digest_window", "hold", "duration", "allow_fuzzy", "vlan"},
                            label)) {
      continue;
    }
    ActionConfig action;
    auto type_field = find_field(node, "type");
    bool type_ok = false;
    if (!type_field) {
      reader_.error(node, "missing-key", label + ": the key 'type' is required");
    } else if (has_value(*type_field, label + ".type",
                         "mail, mail_abuse, mail_sender, log, disable_port or quarantine_vlan")) {
      if (auto c = reader_.choice(
              type_field->value, label + ".type",
              {"mail", "mail_abuse", "mail_sender", "log", "disable_port", "quarantine_vlan"})) {
        action.type = *c == "mail"              ? ActionType::kMail
                      : *c == "mail_abuse"      ? ActionType::kMailAbuse
                      : *c == "mail_sender"     ? ActionType::kMailSender
                      : *c == "disable_port"    ? ActionType::kDisablePort
                      : *c == "quarantine_vlan" ? ActionType::kQuarantineVlan
                                                : ActionType::kLog;
        type_ok = true;
      }
    }
    const bool is_port =
        action.type == ActionType::kDisablePort || action.type == ActionType::kQuarantineVlan;
    const bool is_mail = action.type != ActionType::kLog && !is_port;
    // Shutting a port is opt-in twice: per action and per switch (both default to dry-run).
    action.dry_run = is_port;
    action.hold = action.type == ActionType::kMailAbuse;
    action.template_name = action.type == ActionType::kMailAbuse    ? "abuse"
                           : action.type == ActionType::kMailSender ? "sender"
                                                                    : "incident";
    if (auto k = find_field(node, "dry_run")) {
      if (auto b = boolean(*k, label + ".dry_run")) action.dry_run = *b;
    }
    auto only_for = [&](const char* key, bool allowed, const char* types) {
      auto k = find_field(node, key);
      if (k && type_ok && !allowed) {
        reader_.error(k->key, "value",
                      label + ": '" + key + "' applies only to " + types + " actions");
        return std::optional<Field>();
      }
      return k;
    };
    if (auto k = only_for("to", action.type == ActionType::kMail, "mail")) {
      if (k->value.IsNull() || (k->value.IsSequence() && k->value.size() == 0)) {
        reader_.error(k->key, "value", label + ".to: at least one recipient is required");
      } else {
        action.to = addresses(*k, label + ".to");
      }
    } else if (type_ok && action.type == ActionType::kMail && !find_field(node, "to")) {
      reader_.error(node, "missing-key", label + ": a mail action needs 'to' (its recipients)");
    }
    if (auto k = only_for("template", is_mail, "mail")) {
      if (auto name = template_name(*k, label + ".template")) action.template_name = *name;
    }
    if (auto k = only_for("digest_template", is_mail, "mail")) {
      if (auto name = template_name(*k, label + ".digest_template")) action.digest_template = *name;
    }
    if (auto k = only_for("digest_window", is_mail, "mail")) {
      if (auto d = duration(*k, label + ".digest_window", seconds(1), 7 * kDay, "[1s, 7d]")) {
        action.digest_window = *d;
      }
    }
    if (auto k = only_for("hold", is_mail, "mail")) {
      if (auto b = boolean(*k, label + ".hold")) action.hold = *b;
    }
    if (auto k = only_for("vlan", action.type == ActionType::kQuarantineVlan, "quarantine_vlan")) {
      if (auto n = integer(*k, label + ".vlan", 1, 4094)) action.vlan = static_cast<int>(*n);
    } else if (type_ok && action.type == ActionType::kQuarantineVlan) {
      reader_.error(node, "missing-key",
                    label + ": a quarantine_vlan action needs 'vlan' (the quarantine VLAN id)");
    }
    if (auto k = only_for("duration", is_port, "disable_port and quarantine_vlan")) {
      if (auto d = duration(*k, label + ".duration", seconds(10), 30 * kDay, "[10s, 30d]")) {
        action.duration = *d;
      }
    }
    if (auto k = only_for("allow_fuzzy", is_port, "disable_port and quarantine_vlan")) {
      if (auto b = boolean(*k, label + ".allow_fuzzy")) action.allow_fuzzy = *b;
    }
    if (type_ok && is_port && !config_.containment.configured) {
      reader_.error(type_field->value, "value",
                    label + ": " + std::string(to_string(action.type)) +
                        " needs the 'containment' section (switches, routers, guards)");
    }
    if (type_ok && action.type == ActionType::kMailSender && config_.own_domains.empty()) {
      reader_.error(type_field->value, "value",
                    label +
                        ": mail_sender needs 'own_domains' (the sender is only notified "
                        "when its domain is ours)");
    }
    if (type_ok && action.type == ActionType::kMailAbuse && config_.abuse_contacts.empty()) {
      reader_.error(type_field->value, "value",
                    label +
                        ": mail_abuse needs 'abuse_contacts' (networks and their abuse "
                        "addresses)");
    }
    out.push_back(std::move(action));
  }
}

// A template name that resolves (templates_dir first, then the built-ins) and compiles.
std::optional<std::string> ConfigParser::template_name(const Field& f, const std::string& what) {
  auto name = nonempty_string(f, what);
  if (!name) return std::nullopt;
  if (!valid_name(*name)) {
    reader_.error(f.value, "value", what + ": '" + *name + "' is not a template name");
    return std::nullopt;
  }
  std::string problem;
  if (!find_template(config_.mail.templates_dir, *name, &problem)) {
    reader_.error(f.value, "template", what + ": " + problem);
    return std::nullopt;
  }
  return name;
}

}  // namespace vtrace::responder::detail
