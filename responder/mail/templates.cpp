// Mail templates: built-in texts, site overrides, and the data each template can use.
#include "responder/mail/templates.hpp"

#include <filesystem>
#include <fstream>
#include <kainjow/mustache.hpp>
#include <sstream>

namespace vtrace::responder {
namespace {

using kainjow::mustache::data;
using kainjow::mustache::list;
using kainjow::mustache::mustache;
using kainjow::mustache::object;

const char* const kIncidentSubject =
    "[vtrace] {{virus}} sent by {{origin_text}} ({{origin_class}})";

const char* const kIncidentBody = R"({{#internal}}
WARNING: THE ORIGIN IS INSIDE OUR NETWORK (zone {{zone}}). The host {{origin_text}} is sending virus mail; please find and disconnect it.

{{/internal}}
vtrace traced a virus mail whose sender address is probably forged back to the host that sent it.

Incident:      {{id}} (revision {{revision}})
Virus:         {{virus}}
Detected:      {{detected_at}} by {{detector_host}} ({{detector_format}}), action: {{action}}
Origin:        {{origin_text}} - {{origin_class}}
Confidence:    {{confidence}}{{#note}}
Note:          {{note}}{{/note}}
Envelope from: {{envelope_from}} (probably forged; do not reply to it)
Envelope to:   {{envelope_to}}
Subject:       {{subject}}
Message-ID:    {{message_id}}{{#has_files}}
Files:         {{files}}{{/has_files}}

Antivirus record:
{{#evidence}}
  {{line}}
{{/evidence}}
{{^evidence}}
  (none recorded)
{{/evidence}}

Hops, from the detecting host back to the origin:
{{#hops}}
  {{index}}. {{host}} queue {{queue_id}} received {{received_at}} from {{client_ip}} ({{client_name}}), linked by {{link}}
{{/hops}}

Further detections from this origin are collected into one digest mail.
Policy: {{policy}}
)";

// A direct_smtp incident: what the firewall saw, in the words of the issue ("pc-45 tried 312
// SMTP connections to 97 hosts in 4 min, all blocked by fw1"). No virus was seen: none is named.
const char* const kDirectSmtpSubject =
    "[vtrace] direct SMTP from {{origin_text}} ({{origin_class}}): {{connections}} connections "
    "to {{destinations}} hosts";

const char* const kDirectSmtpBody = R"({{#internal}}
WARNING: THE ORIGIN IS INSIDE OUR NETWORK (zone {{zone}}). The host {{origin_text}} is sending mail to outside mail servers itself, past our relays; a mass-mailing worm does this. Please find and disconnect it.

{{/internal}}
{{origin_text}} tried {{connections}} SMTP connections to {{destinations}} hosts in {{span}}, {{verdicts}} by {{detector_host}}.

Incident:      {{id}} (revision {{revision}})
Seen:          {{first_seen}} to {{last_seen}} by {{detector_host}} ({{detector_format}})
Origin:        {{origin_text}} - {{origin_class}}
Confidence:    {{confidence}}
Connections:   {{connections}} ({{blocked}} blocked, {{allowed}} allowed)
Destinations:  {{destinations}} distinct hosts

Firewall record:
{{#evidence}}
  {{line}}
{{/evidence}}
{{^evidence}}
  (none recorded)
{{/evidence}}

A later revision of this incident carries the counts as the attempts go on.
Policy: {{policy}}
)";

const char* const kDigestSubject =
    "[vtrace] digest: {{count}} more detections from {{origin_text}} ({{origin_class}})";

const char* const kDigestBody = R"({{#internal}}
WARNING: THE ORIGIN IS INSIDE OUR NETWORK (zone {{zone}}). The host {{origin_text}} is still {{#any_virus}}sending virus mail{{/any_virus}}{{#both}} and {{/both}}{{#direct_smtp}}sending mail to outside mail servers itself{{/direct_smtp}}.

{{/internal}}
{{count}} further detections from {{origin_text}} ({{origin_class}}) between {{first_at}} and {{last_at}}.

{{#any_virus}}
Viruses:
{{#viruses}}
  {{count}} x {{name}}
{{/viruses}}
{{/any_virus}}
{{#direct_smtp}}
Direct SMTP to outside mail servers, as the firewall logged it: {{direct_smtp}} further bursts
{{/direct_smtp}}

Incidents (first {{listed}}):
{{#incidents}}
  {{id}}
{{/incidents}}

Window: {{window_start}} to {{window_end}}
Policy: {{policy}}
)";

const char* const kAbuseSubject = "Abuse report: virus mail from {{origin_ip}}";

const char* const kAbuseBody = R"(Hello,

a host in your network, {{origin_ip}}{{#origin_name}} ({{origin_name}}){{/origin_name}}, sent us mail carrying the virus {{virus}}.
The sender address of that mail was probably forged; the host itself is likely infected.

Detected: {{detected_at}}, action: {{action}}
Antivirus record:
{{#evidence}}
  {{line}}
{{/evidence}}

Our mail servers' records of the message:
{{#hops}}
  {{index}}. {{host}} queue {{queue_id}} received {{received_at}} from {{client_ip}}
{{/hops}}

Please check the host. Times are UTC.
Incident: {{id}}
)";

const char* const kSenderSubject = "Your address was used for a virus mail ({{virus}})";

const char* const kSenderBody = R"(Hello,

a mail with your address {{envelope_from}} as its sender carried the virus {{virus}} and was stopped ({{action}}) at {{detected_at}}.{{#has_files}}
Attachments: {{files}}{{/has_files}}

If you did not send it, your address was forged and you need do nothing. If you did, the sending computer ({{origin_text}}) may be infected.

Incident: {{id}}
)";

struct Builtin {
  const char* name;
  const char* subject;
  const char* body;
};

// const, not constexpr: the texts above are `const char* const`, which clang does not read in
// a constant expression.
const Builtin kBuiltins[] = {
    {"incident", kIncidentSubject, kIncidentBody},
    {"digest", kDigestSubject, kDigestBody},
    {"abuse", kAbuseSubject, kAbuseBody},
    {"sender", kSenderSubject, kSenderBody},
    {"direct_smtp", kDirectSmtpSubject, kDirectSmtpBody},
};

std::optional<std::string> read_text(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string render(const std::string& source, const data& values) {
  mustache m(source);
  m.set_custom_escape([](const std::string& s) { return s; });
  return m.render(values);
}

std::string origin_text(const std::string& ip, const std::string& name) {
  if (ip.empty()) return "an unknown host";
  return name.empty() ? ip : ip + " (" + name + ")";
}

std::string origin_class(bool known, bool internal, const std::string& zone) {
  if (!known) return "origin not determined";
  if (internal) return zone.empty() ? "internal" : "internal, zone " + zone;
  return "external";
}

// "4 min", "45 s", "3 h".
std::string span_text(Duration d) {
  const std::int64_t secs = d / seconds(1);
  if (secs < 120) return std::to_string(secs) + " s";
  if (secs < 2 * 3600) return std::to_string(secs / 60) + " min";
  return std::to_string(secs / 3600) + " h";
}

// What the firewall did: "all blocked", "all allowed", or the numbers.
std::string verdicts_text(const DirectSmtpCounts& c) {
  if (c.blocked == c.connections) return "all blocked";
  if (c.allowed == c.connections) return "all allowed";
  return std::to_string(c.blocked) + " blocked, " + std::to_string(c.allowed) +
         " allowed, the rest logged";
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

}  // namespace

bool is_builtin_template(const std::string& name) {
  for (const auto& b : kBuiltins) {
    if (name == b.name) return true;
  }
  return false;
}

std::optional<MailTemplate> find_template(const std::string& dir, const std::string& name,
                                          std::string* problem) {
  MailTemplate t{name, {}, {}};
  bool found = false;
  if (!dir.empty()) {
    auto subject = read_text(std::filesystem::path(dir) / (name + ".subject.mustache"));
    auto body = read_text(std::filesystem::path(dir) / (name + ".body.mustache"));
    if (subject && body) {
      t.subject = *subject;
      while (!t.subject.empty() && (t.subject.back() == '\n' || t.subject.back() == '\r')) {
        t.subject.pop_back();
      }
      t.body = *body;
      found = true;
    } else if (subject || body) {
      if (problem) {
        *problem = "template '" + name + "' in " + dir + " needs both " + name +
                   ".subject.mustache and " + name + ".body.mustache";
      }
      return std::nullopt;
    }
  }
  if (!found) {
    for (const auto& b : kBuiltins) {
      if (name == b.name) {
        t.subject = b.subject;
        t.body = b.body;
        found = true;
      }
    }
  }
  if (!found) {
    if (problem) {
      *problem = "no template named '" + name +
                 "' (built-in: incident, digest, abuse, sender, direct_smtp" +
                 (dir.empty() ? std::string(")") : "; or NAME.subject.mustache in " + dir + ")");
    }
    return std::nullopt;
  }
  for (const auto* part : {&t.subject, &t.body}) {
    mustache m(*part);
    if (!m.is_valid()) {
      if (problem) *problem = "template '" + name + "' does not compile: " + m.error_message();
      return std::nullopt;
    }
  }
  return t;
}

RenderedMail render_incident(const MailTemplate& t, const Incident& in, const std::string& policy) {
  data d;
  const bool known = in.origin.has_value();
  const std::string ip = known ? in.origin->ip : "";
  const std::string name = known ? in.origin->name : "";
  const std::string zone = known ? in.origin->zone : "";
  const bool internal = known && in.origin->internal;
  d.set("id", in.id);
  d.set("revision", std::to_string(in.revision));
  d.set("virus", in.virus);
  d.set("action", in.action);
  d.set("detected_at", format_rfc3339(in.detected_at));
  d.set("detector_host", in.detector_host);
  d.set("detector_format", in.detector_format);
  d.set("confidence", std::string(to_string(in.confidence)));
  // Unset when empty: kainjow takes an empty string as true, and {{#note}} would print an empty
  // "Note:" line on every exact incident. (The built-in templates keep the tags of optional lines
  // on lines with text: kainjow leaves a blank line where a false section's tags stood alone.)
  if (!in.note.empty()) d.set("note", in.note);
  d.set("envelope_from", in.envelope_from.empty() ? "<>" : in.envelope_from);
  d.set("envelope_to", join(in.envelope_to));
  d.set("subject", in.subject);
  d.set("message_id", in.message_id);
  d.set("queue_id", in.queue_id);
  d.set("files", join(in.files));
  d.set("has_files", !in.files.empty());
  d.set("origin_ip", ip);
  d.set("origin_name", name);
  d.set("zone", zone);
  d.set("internal", internal);
  d.set("external", known && !internal);
  d.set("origin_text", origin_text(ip, name));
  d.set("origin_class", origin_class(known, internal, zone));
  d.set("policy", policy);
  list evidence;
  for (const auto& line : in.evidence) evidence.push_back(object{{"line", line}});
  d.set("evidence", evidence);
  list hops;
  for (std::size_t i = 0; i < in.hops.size(); ++i) {
    const Hop& h = in.hops[i];
    hops.push_back(object{{"index", std::to_string(i + 1)},
                          {"host", h.host},
                          {"queue_id", h.queue_id.empty() ? "-" : h.queue_id},
                          {"received_at", format_rfc3339(h.received_at)},
                          {"client_ip", h.client_ip.empty() ? "-" : h.client_ip},
                          {"client_name", h.client_name.empty() ? "-" : h.client_name},
                          {"link", std::string(to_string(h.link))}});
  }
  d.set("hops", hops);
  if (in.direct_smtp) {
    const DirectSmtpCounts& c = *in.direct_smtp;
    d.set("connections", std::to_string(c.connections));
    d.set("destinations", std::to_string(c.destinations));
    d.set("blocked", std::to_string(c.blocked));
    d.set("allowed", std::to_string(c.allowed));
    d.set("first_seen", format_rfc3339(c.first_seen));
    d.set("last_seen", format_rfc3339(c.last_seen));
    d.set("span", span_text(c.last_seen - c.first_seen));
    d.set("verdicts", verdicts_text(c));
  }
  return {render(t.subject, d), render(t.body, d)};
}

RenderedMail render_digest(const MailTemplate& t, const DigestInfo& g, const std::string& policy) {
  data d;
  const bool known = !g.origin_ip.empty();
  d.set("count", std::to_string(g.count));
  d.set("origin_ip", g.origin_ip);
  d.set("origin_name", g.origin_name);
  d.set("zone", g.zone);
  d.set("internal", known && g.internal);
  d.set("external", known && !g.internal);
  d.set("origin_text", origin_text(g.origin_ip, g.origin_name));
  d.set("origin_class", origin_class(known, g.internal, g.zone));
  d.set("first_at", format_rfc3339(g.first_at));
  d.set("last_at", format_rfc3339(g.last_at));
  d.set("window_start", format_rfc3339(g.window_start));
  d.set("window_end", format_rfc3339(g.window_end));
  d.set("policy", policy);
  list viruses;
  std::int64_t direct_smtp = 0;
  for (const auto& [name, count] : g.viruses) {
    if (name == kDirectSmtpDigestKey) {
      direct_smtp = count;  // what a firewall saw, not a virus: said in its own words
    } else {
      viruses.push_back(object{{"name", name}, {"count", std::to_string(count)}});
    }
  }
  d.set("any_virus", !viruses.empty());
  d.set("both", !viruses.empty() && direct_smtp > 0);
  d.set("viruses", viruses);
  if (direct_smtp > 0) {
    d.set("direct_smtp", std::to_string(direct_smtp));
  } else {
    d.set("direct_smtp", false);
  }
  list ids;
  for (const auto& id : g.incident_ids) ids.push_back(object{{"id", id}});
  d.set("incidents", ids);
  d.set("listed", std::to_string(g.incident_ids.size()));
  return {render(t.subject, d), render(t.body, d)};
}

}  // namespace vtrace::responder
