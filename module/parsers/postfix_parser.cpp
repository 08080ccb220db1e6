// Postfix: smtpd/cleanup/qmgr/smtp/lmtp/local/bounce/pickup lines, including multi-instance
// syslog names (postfix-in/smtpd, postfix-smo/submission/smtpd) and content-filter hops.
#include "module/parser_registry.hpp"

namespace vtrace {
namespace {

bool is_qid_char(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

std::string_view daemon_of(std::string_view program) {
  const auto slash = program.rfind('/');
  return slash == std::string_view::npos ? std::string_view{} : program.substr(slash + 1);
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// "NAME[ADDR]:PORT" or "NAME[ADDR]" at the front of `s`.
void client_of(std::string_view s, ParsedRecord& out) {
  const auto end = s.find(", ");
  std::string_view name, address;
  if (split_name_address(s.substr(0, end), name, address)) {
    out.client_name = name;
    out.client_ip = address;
  }
}

// The reply in "status=sent (TEXT)": everything inside the outermost parentheses.
std::string_view reply_text(std::string_view message) {
  const auto status = find_key(message, "status=");
  if (status == std::string_view::npos) return {};
  const auto pos = message.find(" (", status);
  if (pos == std::string_view::npos) return {};
  std::string_view text = message.substr(pos + 2);
  if (!text.empty() && text.back() == ')') text.remove_suffix(1);
  return text;
}

// "... from NAME[ADDR]: CODE TEXT; from=<S> to=<R> proto=..." (milter-reject, reject,
// proxy-reject): fills client, sender, recipient; returns the reply text.
std::string_view reject_details(std::string_view rest, ParsedRecord& out) {
  if (const auto from = rest.find(" from "); from != std::string_view::npos) {
    std::string_view client = rest.substr(from + 6);
    client = client.substr(0, client.find(": "));
    std::string_view name, address;
    if (split_name_address(client, name, address)) {
      out.client_name = name;
      out.client_ip = address;
    }
  }
  // The reply text ends at the first "; from=<": what follows (addresses, HELO) is attacker
  // text and is read field by field.
  const auto semi = rest.find("; from=<");
  std::string_view text = rest.substr(0, semi);
  if (semi != std::string_view::npos) {
    std::string_view tail = rest.substr(semi + 2);
    const auto sender = field_value(tail, "from=");
    out.sender = strip_brackets(sender);
    out.has_sender = !sender.empty();
    if (auto to = field_value(tail, "to="); !to.empty()) {
      out.recipients.push_back(strip_brackets(to.substr(0, address_end(to, 0))));
    }
  }
  return text;
}

class PostfixParser final : public LogParser {
 public:
  std::string_view name() const override { return "postfix"; }

  bool accepts_program(std::string_view program) const override {
    // rsyslog's app-name of an RFC 3164 line stops at '/': "postfix/smtpd" may arrive as
    // "postfix". The lines are recognised by content either way.
    return starts_with(program, "postfix") &&
           (program.find('/') != std::string_view::npos || program == "postfix");
  }

  ParseStatus parse(const LogLine& line, ParsedRecord& out) const override {
    const std::string_view daemon = daemon_of(line.program);
    std::string_view msg = line.message;
    std::size_t i = 0;
    while (i < msg.size() && is_qid_char(msg[i])) ++i;
    if (i == msg.size() || msg[i] != ':' || i < 5) return ParseStatus::kIgnored;
    const std::string_view qid = msg.substr(0, i);
    std::string_view rest = msg.substr(i + 1);
    if (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    if (qid == "NOQUEUE") return parse_reject(rest, {}, out);
    if (rest.empty()) return ParseStatus::kMalformed;
    out.queue_id = qid;

    if (starts_with(rest, "client=")) {
      out.kind = RecordKind::kReceive;
      client_of(rest.substr(7), out);
      if (out.client_ip.empty()) return ParseStatus::kMalformed;
      out.orig_queue_id = field_value(rest, "orig_queue_id=");
      if (const auto orig = field_value(rest, "orig_client="); !orig.empty()) {
        split_name_address(orig, out.orig_client_name, out.orig_client_ip);
      }
      return ParseStatus::kRecord;
    }
    if (starts_with(rest, "message-id=")) {
      out.kind = RecordKind::kAttribute;
      out.message_id = strip_brackets(rest.substr(11));
      return ParseStatus::kRecord;
    }
    if (starts_with(rest, "to=")) return parse_delivery(rest, out);
    if (starts_with(rest, "from=")) {
      out.kind = RecordKind::kAttribute;
      const auto sender = field_value(rest, "from=");
      if (sender.empty() || sender.front() != '<') return ParseStatus::kMalformed;
      out.sender = strip_brackets(sender);
      out.has_sender = true;
      if (const auto size = field_value(rest, "size="); !size.empty())
        out.size = leading_number(size);
      return ParseStatus::kRecord;
    }
    if (rest == "removed") {
      out.kind = RecordKind::kDone;
      return ParseStatus::kRecord;
    }
    if (starts_with(rest, "uid=") && (daemon == "pickup" || daemon.empty())) {
      // Local submission: a receive without an SMTP client.
      out.kind = RecordKind::kReceive;
      const auto sender = field_value(rest, "from=");
      out.sender = strip_brackets(sender.substr(0, sender.find(' ')));
      out.has_sender = !sender.empty();
      return ParseStatus::kRecord;
    }
    if (starts_with(rest, "sender non-delivery notification: ") ||
        starts_with(rest, "sender delivery status notification: ") ||
        starts_with(rest, "postmaster non-delivery notification: ") ||
        starts_with(rest, "sender delay notification: ")) {
      out.kind = RecordKind::kBounce;
      out.bounce_queue_id = rest.substr(rest.find(": ") + 2);
      if (!plausible_queue_id(out.bounce_queue_id)) return ParseStatus::kMalformed;
      return ParseStatus::kRecord;
    }
    if (starts_with(rest, "milter-reject: ") || starts_with(rest, "milter-hold: ") ||
        starts_with(rest, "milter-discard: ") || starts_with(rest, "reject: ") ||
        starts_with(rest, "proxy-reject: ") || starts_with(rest, "hold: ") ||
        starts_with(rest, "discard: ")) {
      return parse_reject(rest, qid, out);
    }
    return ParseStatus::kIgnored;
  }

 private:
  static ParseStatus parse_delivery(std::string_view rest, ParsedRecord& out) {
    out.kind = RecordKind::kDelivery;
    const auto to = field_value(rest, "to=");
    if (to.empty()) return ParseStatus::kMalformed;
    out.recipients.push_back(strip_brackets(to));
    if (const auto relay = field_value(rest, "relay="); !relay.empty()) {
      split_name_address(relay, out.relay_name, out.relay_ip);
      if (out.relay_ip.empty()) out.relay_name = relay;
    }
    const auto status = field_value(rest, "status=");
    if (status.empty()) return ParseStatus::kMalformed;
    const std::string_view word = status.substr(0, status.find(' '));
    const std::string_view reply = reply_text(rest);
    if (word == "sent") {
      out.status = DeliveryStatus::kSent;
      // A content filter that accepted the message only to discard it as infected: amavis
      // ("250 2.7.0 Ok, discarded, id=07554-01 - INFECTED: NAME"), ClamSMTP ("250 Virus
      // Detected; Discarded Email"). Only these exact shapes count: a clean delivery's reply
      // is free text and may mention viruses.
      if (const auto pos = reply.find(" - INFECTED: "); pos != std::string_view::npos) {
        out.kind = RecordKind::kDetection;
        out.virus = reply.substr(pos + 13, reply.find_first_of(" ,;)", pos + 13) - pos - 13);
        if (out.virus.empty()) out.virus = "unknown";
        out.action = "discarded";
      } else if (reply.find("Virus Detected; Discarded") != std::string_view::npos) {
        out.kind = RecordKind::kDetection;
        out.virus = "unknown";
        out.action = "discarded";
      } else {
        out.next_queue_id = next_hop_queue_id(reply);
      }
    } else if (word == "deferred") {
      out.status = DeliveryStatus::kDeferred;
    } else if (word == "bounced" || word == "expired") {
      out.status = DeliveryStatus::kBounced;
      if (const auto virus = virus_in_reply(reply); !virus.empty()) {
        // The next hop refused the message as infected: a detection reported by this host.
        out.kind = RecordKind::kDetection;
        out.virus = virus;
        out.action = "bounced";
      }
    }
    return ParseStatus::kRecord;
  }

  static ParseStatus parse_reject(std::string_view rest, std::string_view qid, ParsedRecord& out) {
    const auto colon = rest.find(": ");
    if (colon == std::string_view::npos) return ParseStatus::kMalformed;
    const std::string_view verb = rest.substr(0, colon);
    const std::string_view text = reject_details(rest.substr(colon + 2), out);
    const std::string_view virus = virus_in_reply(text);
    if (virus.empty()) {
      if (verb == "milter-hold" || verb == "hold") {
        // A quarantine hold names the client: keep it as facts about the message.
        if (qid.empty()) return ParseStatus::kIgnored;
        out.kind = RecordKind::kAttribute;
        return ParseStatus::kRecord;
      }
      out.recipients.clear();
      out.client_ip = out.client_name = out.sender = {};
      out.has_sender = false;
      return ParseStatus::kIgnored;
    }
    out.queue_id = qid;
    out.kind = RecordKind::kDetection;
    out.virus = virus;
    out.action = verb.find("hold") != std::string_view::npos      ? "held"
                 : verb.find("discard") != std::string_view::npos ? "discarded"
                                                                  : "rejected";
    return ParseStatus::kRecord;
  }
};

}  // namespace

std::unique_ptr<LogParser> make_postfix_parser() { return std::make_unique<PostfixParser>(); }

}  // namespace vtrace
