// Mail templates (kainjow mustache): the built-in ones, the site's own, and their data.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/incident.hpp"

namespace vtrace::responder {

struct MailTemplate {
  std::string name;
  std::string subject;  // mustache source
  std::string body;     // mustache source
};

// Names of the built-in templates: incident, digest, abuse, sender, direct_smtp. A direct_smtp
// incident is mailed with `direct_smtp` where a policy names `incident` (the default).
bool is_builtin_template(const std::string& name);
inline const std::string kDirectSmtpTemplate = "direct_smtp";

// The template `name`: `dir`/NAME.subject.mustache and `dir`/NAME.body.mustache when `dir` is
// set and they exist, else the built-in one. Returns nullopt with `problem` set when neither
// exists or the source does not compile.
std::optional<MailTemplate> find_template(const std::string& dir, const std::string& name,
                                          std::string* problem);

// What a digest mail reports: the detections collected in one window for one origin.
// The entry of DigestInfo::viruses that counts direct_smtp incidents (no virus was seen).
inline constexpr std::string_view kDirectSmtpDigestKey = "(direct SMTP)";

struct DigestInfo {
  std::string origin_ip;
  std::string origin_name;
  std::string zone;
  bool internal = false;
  std::int64_t count = 0;
  TimePoint first_at = 0;
  TimePoint last_at = 0;
  std::map<std::string, std::int64_t> viruses;  // name -> count
  std::vector<std::string> incident_ids;        // at most a few dozen
  TimePoint window_start = 0;
  TimePoint window_end = 0;
};

struct RenderedMail {
  std::string subject;  // raw text; header encoding happens in build_message
  std::string body;
};

// Renders without HTML escaping (these are text mails); values are never re-read as template
// source, so attacker text in a value stays text.
RenderedMail render_incident(const MailTemplate& t, const Incident& incident,
                             const std::string& policy);
RenderedMail render_digest(const MailTemplate& t, const DigestInfo& digest,
                           const std::string& policy);

}  // namespace vtrace::responder
