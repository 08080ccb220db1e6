// ResponderConfig: the responder's configuration and secrets, loaded from YAML with diagnostics.
#pragma once

#include <cstdint>
#include <map>
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
  std::int64_t body_limit = 1 << 20;               // bytes
  Duration timeout = seconds(30);                  // per request (read + write)
  std::string web_root = "/usr/share/vtrace/web";  // the operator page's static files
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
  std::vector<std::string> zones;       // empty = any
  std::vector<std::string> viruses;     // glob patterns (*, ?), case-insensitive; empty = any
  std::vector<std::string> confidence;  // exact, fuzzy, ambiguous, unresolved; empty = exact
  std::vector<std::string> detectors;   // detector host names; empty = any
  std::vector<std::string> kinds;       // virus_mail, direct_smtp; empty = any
};

struct Threshold {
  int count = 1;
  Duration within = seconds(3600);
};

enum class ActionType { kMail, kMailAbuse, kMailSender, kLog, kDisablePort, kQuarantineVlan };
std::string_view to_string(ActionType t);

struct ActionConfig {
  ActionType type = ActionType::kLog;
  bool dry_run = false;
  std::vector<std::string> to;  // mail only
  std::string template_name;    // first mail; defaults per type
  std::string digest_template = "digest";
  Duration digest_window = seconds(3600);
  bool hold = false;  // queue held for manual release (mail_abuse defaults to true)
  // disable_port only: dry_run defaults to true for it; how long the port stays down; whether
  // an unambiguous fuzzy trace may shut a port.
  Duration duration = seconds(4 * 3600);
  bool allow_fuzzy = false;
  // quarantine_vlan only: the VLAN the port's untagged (data) VLAN is moved to, and back from.
  int vlan = 0;
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

// ---- containment (disable_port) -------------------------------------------------------------

enum class SnmpVersion { kV2c, kV3 };

// How a switch's port is written: SNMP SET (the default), a generic webhook, or an AWX job.
// Location always reads the switch over SNMP (the uplink guards need its forwarding table).
enum class PortBackend { kSnmp, kWebhook, kAwx };
std::string_view to_string(PortBackend b);

// Where a switch keeps a port's untagged (data) VLAN, which quarantine_vlan writes: Q-BRIDGE
// dot1qPvid (by bridge port) or Cisco CISCO-VLAN-MEMBERSHIP-MIB vmVlan (by ifIndex; static
// access ports only).
enum class VlanMib { kQBridge, kCisco };

// An SNMP agent: an access switch or a router whose ARP table is read.
struct SnmpDeviceConfig {
  std::string name;
  std::string address;  // an IP address or host name
  int port = 161;
  SnmpVersion version = SnmpVersion::kV2c;
  std::string credential;  // the key under snmp_credentials in the secrets file
  std::string context;     // SNMPv3 context name (empty = default)
  // switches only
  bool dry_run = true;                       // log what would be done, write nothing
  bool is_protected = false;                 // never touch any port of this switch
  std::vector<std::string> protected_ports;  // ifName
  std::vector<std::string> uplinks;          // ifName
  // Desk ports whatever their LLDP/CDP neighbour announces (an old phone that says nothing,
  // a desk device announcing bridge); the MAC count and protection still apply.
  std::vector<std::string> desk_ports;  // ifName
  std::optional<bool> lldp_uplinks;     // unset: containment.lldp_uplinks
  std::optional<PortBackend> backend;   // unset: containment.backend
  // BRIDGE-MIB indexed per VLAN (Cisco): walk these VLANs' instances instead of Q-BRIDGE.
  std::vector<int> fdb_vlans;
  std::string vlan_context = "vlan-{vlan}";  // v3: the context of one VLAN's instance
  VlanMib vlan_mib = VlanMib::kQBridge;      // quarantine_vlan writes dot1qPvid or vmVlan
};

struct StaticPort {
  std::string ip;      // normalised; empty when matched by MAC
  std::string mac;     // aa:bb:cc:dd:ee:ff; empty when matched by IP
  std::string device;  // a configured switch
  std::string port;    // ifName (empty when if_index is given)
  std::int64_t if_index = 0;
};

struct BreakerConfig {
  int max_per_hour = 10;            // ports shut in any rolling hour, all switches together
  int max_per_switch_per_hour = 5;  // ... on one switch
  std::vector<std::string> notify;  // mailed when the breaker stops containment
};

// How an HTTP back end proves that a write took: a status URL whose JSON field reads the
// requested state, SNMP ifAdminStatus read back from the switch, or (AWX only, when the site's
// playbook reads the port back itself and fails otherwise) the job's own status.
enum class VerifyMethod { kStatusUrl, kSnmp, kJob };

struct VerifyConfig {
  VerifyMethod method = VerifyMethod::kSnmp;
  std::string url;                      // status_url: a URL template (values percent-encoded)
  std::string field = "/admin_status";  // status_url: a JSON pointer into the answer
  std::string down = "down";            // the field's text when the port is down ...
  std::string up = "up";                // ... and when it is up
  std::string vlan_field = "/vlan";     // status_url, quarantine_vlan: the port's VLAN (a number)
  int attempts = 5;                     // reads before the write is declared not verified
  Duration interval = seconds(1);       // between reads
};

// What every HTTP back end shares.
struct HttpEndpointConfig {
  std::string credential;  // the key under http_credentials in the secrets file
  Duration timeout = seconds(10);
  int attempts = 3;  // tries on a 5xx, a timeout or a connection error; a 4xx is never retried
  Duration retry_initial = seconds(1);  // doubles per attempt
  std::string ca_file;                  // https with a private CA; empty = the system store
};

enum class HttpAuth { kNone, kBearer, kHmac };

// A generic webhook: METHOD url with a JSON body rendered from `body`, then verification.
struct WebhookConfig {
  bool configured = false;
  std::string url;  // template: {{switch}}, {{port}}, ... percent-encoded
  std::string method = "POST";
  std::string body;  // template: every {{name}} becomes a JSON value (strings quoted, escaped)
  HttpAuth auth = HttpAuth::kNone;
  std::string signature_header = "X-Vtrace-Signature";  // hmac: "sha256=<hex>" of the body
  HttpEndpointConfig http;
  VerifyConfig verify;  // status_url or snmp
};

// AWX / Ansible controller: launch a job template with extra_vars, poll the job.
struct AwxConfig {
  bool configured = false;
  std::string url;  // the controller's base URL, https://awx.example.org
  std::int64_t job_template = 0;
  std::int64_t release_job_template = 0;  // 0: job_template, with action "up"
  Duration poll_interval = seconds(2);
  Duration job_timeout = seconds(600);
  HttpEndpointConfig http;
  VerifyConfig verify;  // snmp or job
};

struct ContainmentConfig {
  bool configured = false;                 // the section is present
  std::vector<Cidr> protected_hosts;       // mail sources, servers: never contained
  std::vector<SnmpDeviceConfig> switches;  // the access switches: the only ones ever written
  std::vector<SnmpDeviceConfig> routers;   // ARP tables for IP -> MAC
  std::vector<StaticPort> static_map;
  int uplink_max_macs = 4;  // a port with more MACs than this is treated as an uplink
  // A port whose LLDP/CDP neighbour is not a phone or a station (bridge, router, access point,
  // or capabilities not announced) is an uplink.
  bool lldp_uplinks = true;
  Duration location_max_age = seconds(300);  // freshness of a cached location
  Duration table_max_age = seconds(60);      // ARP/FDB walks reused this long (0: never)
  Duration table_refresh = 0;                // re-walk in the background this often (0: off)
  Duration snmp_timeout = seconds(1);        // per try
  int snmp_retries = 1;
  BreakerConfig breaker;
  // Mailed when a contained host escapes (a follow-up found its MAC on another port); unset:
  // breaker.notify, an empty list: no mail.
  std::optional<std::vector<std::string>> escaped_notify;
  PortBackend backend = PortBackend::kSnmp;  // for switches without their own `backend`
  WebhookConfig webhook;
  AwxConfig awx;
};

// The back end that writes `device`'s ports.
PortBackend backend_of(const ContainmentConfig& config, const SnmpDeviceConfig& device);

struct ResponderConfig {
  ListenConfig listen;
  std::string state_file = "/var/lib/vtrace/responder.db";
  std::string secrets_file;
  SmtpConfig smtp;
  MailConfig mail;
  std::vector<Policy> policies;
  std::vector<AbuseContact> abuse_contacts;
  std::vector<std::string> own_domains;  // lower-case
  ContainmentConfig containment;
  std::string path;  // the file it was loaded from
};

// SNMP credentials by name: a v2c community, or a v3 user with auth and priv keys (authPriv).
struct SnmpCredential {
  std::string community;
  std::string user;
  std::string auth_protocol = "SHA";  // SHA | MD5
  std::string auth_key;
  std::string priv_protocol = "AES";  // AES | DES
  std::string priv_key;
};

// HTTP automation credentials by name: a bearer token, an HMAC-SHA256 key, or both.
struct HttpCredential {
  std::string token;
  std::string hmac_key;
};

struct Secrets {
  std::string api_token;
  std::string smtp_password;
  std::map<std::string, SnmpCredential> snmp_credentials;
  std::map<std::string, HttpCredential> http_credentials;
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
bool check_secrets(const ResponderConfig& config, const Secrets& secrets, Diagnostics& diagnostics);

// True when `address` is a loopback address (127.0.0.0/8, ::1) or "localhost".
bool is_loopback_address(const std::string& address);

// A syntactically safe mail address: local@domain, printable ASCII without spaces, quotes,
// angle brackets, commas, semicolons or CR/LF. Attacker-supplied addresses must pass this
// before they are used as a recipient.
bool is_safe_address(std::string_view address);

// "00:50:56:AA:00:01", "0050.56aa.0001", "00-50-56-aa-00-01" -> "00:50:56:aa:00:01".
std::optional<std::string> normalise_mac(std::string_view text);

}  // namespace vtrace::responder
