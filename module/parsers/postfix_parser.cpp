// Postfix: smtpd/cleanup/qmgr/smtp/lmtp/local/bounce/pickup lines, including multi-instance
// syslog names (postfix-in/smtpd, postfix-smo/submission/smtpd) and content-filter hops.
#include <array>

#include "module/parsers/parse_util.hpp"
#include "module/parsers/parser_registry.hpp"

namespace vtrace {
namespace {

// Queue id characters (letters and digits), as a table: every postfix line starts with a scan.
constexpr auto kQidChar = [] {
  std::array<bool, 256> table{};
  for (int c = '0'; c <= '9'; ++c) table[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) table[c] = table[c + ('a' - 'A')] = true;
  return table;
}();

bool is_qid_char(char c) { return kQidChar[static_cast<unsigned char>(c)]; }

std::string_view daemon_of(std::string_view program) {
  const auto slash = program.rfind('/');
  return slash == std::string_view::npos ? std::string_view{} : program.substr(slash + 1);
}

// "NAME[ADDR]:PORT" or "NAME[ADDR]" at the front of `s`.
void client_of(std::string_view s, ParsedRecord& out) {
  const auto end = s.find(", ");
  std::string_view name, address;
  if (split_name_address(s.substr(0, end), name, address)) {
    out.client_name = name;
    out.client_ip = address;
  }
}

// The reply in "status=sent (TEXT)": everything inside the outermost parentheses. `status`
// runs from the status word to the end of the line.
std::string_view reply_text(std::string_view status) {
  const auto pos = status.find(" (");
  if (pos == std::string_view::npos) return {};
  std::string_view text = status.substr(pos + 2);
  if (!text.empty() && text.back() == ')') text.remove_suffix(1);
  return text;
}

// The reply text of "... from NAME[ADDR]: CODE TEXT; from=<S> to=<R> proto=...": it ends at
// the first "; from=<", and what follows (addresses, HELO) is attacker text, read field by
// field.
std::string_view reject_text(std::string_view rest) {
  return rest.substr(0, rest.find("; from=<"));
}

// The facts of a reject line (milter-reject, reject, proxy-reject): client, sender, recipient.
void reject_details(std::string_view rest, ParsedRecord& out) {
  if (const auto from = rest.find(" from "); from != std::string_view::npos) {
    std::string_view client = rest.substr(from + 6);
    client = client.substr(0, client.find(": "));
    std::string_view name, address;
    if (split_name_address(client, name, address)) {
      out.client_name = name;
      out.client_ip = address;
    }
  }
  if (const auto semi = rest.find("; from=<"); semi != std::string_view::npos) {
    std::string_view tail = rest.substr(semi + 2);
    const auto sender = field_value(tail, "from=");
    out.sender = strip_brackets(sender);
    out.has_sender = !sender.empty();
    if (auto to = field_value(tail, "to="); !to.empty()) {
      out.recipients.push_back(strip_brackets(to.substr(0, address_end(to, 0))));
    }
  }
}

class PostfixParser final : public LogParser {
 public:
  std::string_view name() const override { return "postfix"; }
  bool is_mta() const override { return true; }

  bool accepts_program(std::string_view program) const override {
    // rsyslog's app-name of an RFC 3164 line stops at '/': "postfix/smtpd" may arrive as
    // "postfix". The lines are recognised by content either way.
    return program.starts_with("postfix") &&
           (program.find('/') != std::string_view::npos || program == "postfix");
  }

  ParseStatus parse_line(const LogLine& line, ParsedRecord& out) const override {
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

    if (rest.starts_with("client=")) {
      out.kind = RecordKind::kReceive;
      client_of(rest.substr(7), out);
      if (out.client_ip.empty()) return ParseStatus::kMalformed;
      // After a content filter: "orig_queue_id=ID, orig_client=NAME[ADDR]:PORT".
      std::string_view orig_client;
      FieldScanner fields(rest);
      for (Field f; fields.next(f);) {
        if (f.key == "orig_queue_id" && out.orig_queue_id.empty()) out.orig_queue_id = f.value;
        if (f.key == "orig_client" && orig_client.empty()) orig_client = f.value;
      }
      if (!orig_client.empty()) {
        split_name_address(orig_client, out.orig_client_name, out.orig_client_ip);
      }
      return ParseStatus::kRecord;
    }
    if (rest.starts_with("message-id=")) {
      out.kind = RecordKind::kAttribute;
      out.message_id = strip_brackets(rest.substr(11));
      return ParseStatus::kRecord;
    }
    if (rest.starts_with("to=")) return parse_delivery(rest, out);
    if (rest.starts_with("from=")) {
      out.kind = RecordKind::kAttribute;
      std::string_view sender, size;
      FieldScanner fields(rest);
      for (Field f; fields.next(f);) {
        if (f.key == "from" && sender.empty()) sender = f.value;
        if (f.key == "size" && size.empty()) size = f.value;
      }
      if (sender.empty() || sender.front() != '<') return ParseStatus::kMalformed;
      out.sender = strip_brackets(sender);
      out.has_sender = true;
      if (!size.empty()) out.size = leading_number(size);
      return ParseStatus::kRecord;
    }
    if (rest == "removed") {
      out.kind = RecordKind::kDone;
      return ParseStatus::kRecord;
    }
    if (rest.starts_with("uid=") &&
        (daemon_of(line.program) == "pickup" || daemon_of(line.program).empty())) {
      // Local submission: a receive without an SMTP client.
      out.kind = RecordKind::kReceive;
      const auto sender = field_value(rest, "from=");
      out.sender = strip_brackets(sender.substr(0, sender.find(' ')));
      out.has_sender = !sender.empty();
      return ParseStatus::kRecord;
    }
    if (rest.starts_with("sender non-delivery notification: ") ||
        rest.starts_with("sender delivery status notification: ") ||
        rest.starts_with("postmaster non-delivery notification: ") ||
        rest.starts_with("sender delay notification: ")) {
      out.kind = RecordKind::kBounce;
      out.bounce_queue_id = rest.substr(rest.find(": ") + 2);
      if (!plausible_queue_id(out.bounce_queue_id)) return ParseStatus::kMalformed;
      return ParseStatus::kRecord;
    }
    if (rest.starts_with("milter-reject: ") || rest.starts_with("milter-hold: ") ||
        rest.starts_with("milter-discard: ") || rest.starts_with("reject: ") ||
        rest.starts_with("proxy-reject: ") || rest.starts_with("hold: ") ||
        rest.starts_with("discard: ")) {
      return parse_reject(rest, qid, out);
    }
    return ParseStatus::kIgnored;
  }

 private:
  static ParseStatus parse_delivery(std::string_view rest, ParsedRecord& out) {
    out.kind = RecordKind::kDelivery;
    // "to=<R>, [orig_to=<R>, ]relay=..., delay=..., delays=..., dsn=..., status=WORD (REPLY)":
    // the status is the last field, and its reply is free text to the end of the line.
    std::string_view to, relay, status;
    FieldScanner fields(rest);
    for (Field f; fields.next(f);) {
      if (f.key == "to" && to.empty()) {
        to = f.value;
      } else if (f.key == "relay" && relay.empty()) {
        relay = f.value;
        // Between relay= and status= postfix writes only its own numbers (conn_use, delay,
        // delays, dsn), no attacker text that could hide a field: go straight to the status.
        if (const auto at = rest.find(", status=", f.value_at); at != std::string_view::npos) {
          fields.skip_to(at);
        }
      } else if (f.key == "status") {
        if (!f.value.empty()) status = rest.substr(f.value_at);
        break;
      }
    }
    if (to.empty()) return ParseStatus::kMalformed;
    out.recipients.push_back(strip_brackets(to));
    if (!relay.empty()) {
      split_name_address(relay, out.relay_name, out.relay_ip);
      if (out.relay_ip.empty()) out.relay_name = relay;
    }
    if (status.empty()) return ParseStatus::kMalformed;
    std::size_t word_end = 0;
    while (
        word_end < status.size() && status[word_end] != ' ' &&
        !(status[word_end] == ',' && word_end + 1 < status.size() && status[word_end + 1] == ' ')) {
      ++word_end;
    }
    const std::string_view word = status.substr(0, word_end);
    const std::string_view reply = reply_text(status);
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
    const std::string_view details = rest.substr(colon + 2);
    const std::string_view virus = virus_in_reply(reject_text(details));
    const MtaAction action = qid.empty() ? MtaAction::kNone : message_action(verb, details);
    // Most rejects are spam and policy rejects: without a virus their details are only read
    // when the whole message was held, discarded or rejected, which is a verdict about it.
    if (virus.empty() && action == MtaAction::kNone) return ParseStatus::kIgnored;
    reject_details(details, out);
    out.mta_action = action;
    if (virus.empty()) {
      out.kind = RecordKind::kAttribute;
      return ParseStatus::kRecord;
    }
    out.queue_id = qid;
    out.kind = RecordKind::kDetection;
    out.virus = virus;
    out.action = verb.find("hold") != std::string_view::npos      ? "held"
                 : verb.find("discard") != std::string_view::npos ? "discarded"
                                                                  : "rejected";
    return ParseStatus::kRecord;
  }

  // What a reject line of a queued message says the MTA did with the whole message. A hold or
  // discard (a milter's, or header/body checks') is always about the message; a reject is only
  // at the end of its data ("END-OF-MESSAGE", "DATA", "BDAT") and with a permanent reply: a
  // RCPT reject refuses one recipient, a 4xx reply asks the client to try again.
  static MtaAction message_action(std::string_view verb, std::string_view details) {
    if (verb == "milter-hold" || verb == "hold") return MtaAction::kQuarantined;
    if (verb == "milter-discard" || verb == "discard") return MtaAction::kDiscarded;
    const bool end_of_data = details.starts_with("END-OF-MESSAGE ") ||
                             details.starts_with("DATA ") || details.starts_with("BDAT ");
    if (!end_of_data) return MtaAction::kNone;
    // "END-OF-MESSAGE from NAME[ADDR]: 5.7.1 text": the reply follows the client.
    const auto from = details.find(" from ");
    const auto reply = from == std::string_view::npos ? from : details.find(": ", from);
    if (reply == std::string_view::npos || reply + 2 >= details.size()) return MtaAction::kNone;
    return details[reply + 2] == '5' ? MtaAction::kRejected : MtaAction::kNone;
  }
};

}  // namespace

std::unique_ptr<LogParser> make_postfix_parser() { return std::make_unique<PostfixParser>(); }

}  // namespace vtrace
