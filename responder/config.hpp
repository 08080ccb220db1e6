// ResponderConfig: the responder's configuration and secrets, loaded from YAML with diagnostics.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/diagnostic.hpp"
#include "common/net.hpp"
#include "common/time.hpp"

namespace vtrace::responder {

struct ListenConfig {
  std::string address = "127.0.0.1";
  int port = 8025;
  std::int64_t body_limit = 1 << 20;  // bytes
  Duration timeout = seconds(30);     // per request (read + write)
};

enum class SmtpTls { kNone, kStartTls, kSmtps };

struct SmtpConfig {
  std::string host = "localhost";
  int port = 25;
  SmtpTls tls = SmtpTls::kNone;
  std::string username;  // AUTH only when set; the password is in the secrets file
  std::string from = "vtrace@localhost";
  std::string helo = "localhost";  // the EHLO name
  std::string ca_file;             // for a private CA; empty = the system store
  Duration timeout = seconds(30);
  Duration retry_initial = seconds(30);  // first retry delay; doubles per attempt
  Duration retry_max = seconds(3600);
  int max_attempts = 20;  // then the mail is recorded as failed
};

struct MailConfig {
  int per_recipient_per_hour = 20;  // further mails to that recipient are held
  std::string templates_dir;        // NAME.subject.mustache / NAME.body.mustache; empty = built-ins
  std::int64_t max_outbox = 100'000;
};

enum class OriginClass { kAny, kInternal, kExternal };

struct PolicyMatch {
  OriginClass origin = OriginClass::kAny;
  std::vector<std::string> zones;        // empty = any
  std::vector<std::string> viruses;      // glob patterns (*, ?), case-insensitive; empty = any
  std::vector<std::string> confidence;   // exact, fuzzy, ambiguous, unresolved; empty = exact
  std::vector<std::string> detectors;    // detector host names; empty = any
};

struct Threshold {
  int count = 1;
  Duration within = seconds(3600);
};

enum class ActionType { kMail, kMailAbuse, kMailSender, kLog };
std::string_view to_string(ActionType t);

struct ActionConfig {
  ActionType type = ActionType::kLog;
  bool dry_run = false;
  std::vector<std::string> to;  // mail only
  std::string template_name;    // first mail; defaults per type
  std::string digest_template = "digest";
  Duration digest_window = seconds(3600);
  bool hold = false;  // queue held for manual release (mail_abuse defaults to true)
};

struct Policy {
  std::string name;
  PolicyMatch match;
  Threshold threshold;
  std::vector<ActionConfig> actions;
};

struct AbuseContact {
  std::vector<Cidr> cidrs;
  std::string address;
};

struct ResponderConfig {
  ListenConfig listen;
  std::string state_file = "/var/lib/vtrace/responder.db";
  std::string secrets_file;
  SmtpConfig smtp;
  MailConfig mail;
  std::vector<Policy> policies;
  std::vector<AbuseContact> abuse_contacts;
  std::vector<std::string> own_domains;  // lower-case
  std::string path;                      // the file it was loaded from
};

struct Secrets {
  std::string api_token;
  std::string smtp_password;
};

// Loads and validates the file; on any problem returns nullopt with every problem recorded in
// `diagnostics` (file:line:col, code, message), ordered by position.
std::optional<ResponderConfig> load_responder_config(const std::string& path,
                                                     Diagnostics& diagnostics);
// Same from text already in memory; `path` names it in messages.
std::optional<ResponderConfig> parse_responder_config(const std::string& text,
                                                      const std::string& path,
                                                      Diagnostics& diagnostics);

// Loads the secrets file: a YAML mapping with api_token and smtp_password. Refuses a file
// that others (not owner, not group) may read or write (error[permissions]).
std::optional<Secrets> load_secrets(const std::string& path, Diagnostics& diagnostics);

// Cross-checks that need both files: a token is required when the API listens beyond loopback,
// a password when smtp.username is set.
bool check_secrets(const ResponderConfig& config, const Secrets& secrets,
                   Diagnostics& diagnostics);

// True when `address` is a loopback address (127.0.0.0/8, ::1) or "localhost".
bool is_loopback_address(const std::string& address);

// A syntactically safe mail address: local@domain, printable ASCII without spaces, quotes,
// angle brackets, commas, semicolons or CR/LF. Attacker-supplied addresses must pass this
// before they are used as a recipient.
bool is_safe_address(std::string_view address);

}  // namespace vtrace::responder
