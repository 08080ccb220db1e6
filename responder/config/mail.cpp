// responder.yaml, sections smtp and mail (how mail leaves), own_domains and abuse_contacts
// (who is mailed about an origin).
#include <filesystem>
#include <system_error>

#include "common/net.hpp"
#include "common/text.hpp"
#include "responder/config/config_parser.hpp"

namespace vtrace::responder::detail {

void ConfigParser::parse_smtp(const Field& f) {
  if (f.value.IsNull()) return;
  const YAML::Node& map = f.value;
  if (!reader_.check_keys(map,
                          {"host", "port", "tls", "username", "from", "helo", "ca_file", "timeout",
                           "retry_initial", "retry_max", "max_attempts"},
                          "smtp")) {
    return;
  }
  SmtpConfig& s = config_.smtp;
  if (auto k = find_field(map, "host")) {
    if (auto v = nonempty_string(*k, "smtp.host")) {
      if (valid_name(*v) || IpAddress::parse(*v)) {
        s.host = *v;
      } else {
        reader_.error(k->value, "value", "smtp.host: '" + *v + "' is not a host name");
      }
    }
  }
  if (auto k = find_field(map, "port")) {
    if (auto n = integer(*k, "smtp.port", 1, 65535)) s.port = static_cast<int>(*n);
  }
  if (auto k = find_field(map, "tls")) {
    if (has_value(*k, "smtp.tls", "none, starttls or smtps")) {
      if (auto c = reader_.choice(k->value, "smtp.tls", {"none", "starttls", "smtps"})) {
        s.tls = *c == "starttls" ? SmtpTls::kStartTls
                : *c == "smtps"  ? SmtpTls::kSmtps
                                 : SmtpTls::kNone;
      }
    }
  }
  if (auto k = find_field(map, "username")) {
    if (auto v = nonempty_string(*k, "smtp.username")) s.username = *v;
  }
  if (auto k = find_field(map, "from")) {
    if (auto v = nonempty_string(*k, "smtp.from")) {
      if (is_safe_address(*v)) {
        s.from = *v;
      } else {
        reader_.error(k->value, "address",
                      "smtp.from: '" + *v +
                          "' is not a mail address such as "
                          "vtrace@example.org");
      }
    }
  }
  if (auto k = find_field(map, "helo")) {
    if (auto v = nonempty_string(*k, "smtp.helo")) {
      if (valid_name(*v)) {
        s.helo = *v;
      } else {
        reader_.error(k->value, "value", "smtp.helo: '" + *v + "' is not a host name");
      }
    }
  }
  if (auto k = find_field(map, "ca_file")) {
    if (auto v = nonempty_string(*k, "smtp.ca_file")) s.ca_file = *v;
  }
  if (auto k = find_field(map, "timeout")) {
    if (auto d = duration(*k, "smtp.timeout", seconds(1), seconds(600), "[1s, 10m]")) {
      s.timeout = *d;
    }
  }
  if (auto k = find_field(map, "retry_initial")) {
    if (auto d = duration(*k, "smtp.retry_initial", seconds(1), kHour, "[1s, 1h]")) {
      s.retry_initial = *d;
    }
  }
  if (auto k = find_field(map, "retry_max")) {
    if (auto d = duration(*k, "smtp.retry_max", seconds(1), kDay, "[1s, 1d]")) s.retry_max = *d;
  }
  if (auto k = find_field(map, "max_attempts")) {
    if (auto n = integer(*k, "smtp.max_attempts", 1, 1000)) s.max_attempts = static_cast<int>(*n);
  }
}

void ConfigParser::parse_mail(const Field& f) {
  if (f.value.IsNull()) return;
  const YAML::Node& map = f.value;
  if (!reader_.check_keys(map, {"per_recipient_per_hour", "templates_dir", "max_outbox"}, "mail")) {
    return;
  }
  MailConfig& m = config_.mail;
  if (auto k = find_field(map, "per_recipient_per_hour")) {
    if (auto n = integer(*k, "mail.per_recipient_per_hour", 1, 10'000)) {
      m.per_recipient_per_hour = static_cast<int>(*n);
    }
  }
  if (auto k = find_field(map, "templates_dir")) {
    if (auto v = nonempty_string(*k, "mail.templates_dir")) {
      std::error_code ec;
      if (std::filesystem::is_directory(*v, ec)) {
        m.templates_dir = *v;
      } else {
        reader_.error(k->value, "io", "mail.templates_dir: '" + *v + "' is not a directory");
      }
    }
  }
  if (auto k = find_field(map, "max_outbox")) {
    if (auto n = integer(*k, "mail.max_outbox", 10, 100'000'000)) m.max_outbox = *n;
  }
}

void ConfigParser::parse_own_domains(const Field& f) {
  auto items = scalar_items(f, "own_domains");
  if (!items) return;
  for (const auto& item : *items) {
    const std::string d = ascii_lower(item.Scalar());
    if (!is_safe_address("x@" + d)) {
      reader_.error(item, "value", "own_domains: '" + item.Scalar() + "' is not a domain name");
      continue;
    }
    config_.own_domains.push_back(d);
  }
}

void ConfigParser::parse_abuse_contacts(const Field& f) {
  auto items = sequence(f, "abuse_contacts");
  if (!items) return;
  for (std::size_t i = 0; i < items->size(); ++i) {
    const YAML::Node& node = (*items)[i];
    const std::string what = item_label("abuse_contacts", i);
    if (!reader_.check_keys(node, {"cidrs", "address"}, what)) continue;
    AbuseContact contact;
    if (auto k = find_field(node, "cidrs")) {
      if (auto values = scalar_items(*k, what + ".cidrs")) {
        if (values->empty()) {
          reader_.error(k->key, "value", what + ".cidrs: at least one network is required");
        }
        for (const auto& item : *values) {
          if (auto cidr = Cidr::parse(item.Scalar())) {
            contact.cidrs.push_back(*cidr);
          } else {
            reader_.error(item, "cidr",
                          what + ".cidrs: '" + item.Scalar() +
                              "' is not a network such as 198.51.100.0/24 or 2001:db8::/32");
          }
        }
      }
    } else {
      reader_.error(node, "missing-key", what + ": the key 'cidrs' is required");
    }
    if (auto k = find_field(node, "address")) {
      auto list = addresses(*k, what + ".address");
      if (list.size() == 1) {
        contact.address = list.front();
      } else if (list.size() > 1) {
        reader_.error(k->value, "value", what + ".address: give exactly one address");
      }
    } else {
      reader_.error(node, "missing-key", what + ": the key 'address' is required");
    }
    config_.abuse_contacts.push_back(std::move(contact));
  }
}

}  // namespace vtrace::responder::detail
