// Sendmail (and sm-mta, Solaris, MSP) from=/to=/DSN/milter lines.
#include "module/parsers/parse_util.hpp"
#include "module/parsers/parser_registry.hpp"

namespace vtrace {
namespace {

bool is_alnum(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

// Leading "QID: " with an 8..20 character alphanumeric id; empty if absent.
std::string_view leading_qid(std::string_view& msg) {
  std::size_t i = 0;
  while (i < msg.size() && is_alnum(msg[i])) ++i;
  if (i < 8 || i > 20 || i + 1 >= msg.size() || msg[i] != ':' || msg[i + 1] != ' ') return {};
  const std::string_view qid = msg.substr(0, i);
  msg.remove_prefix(i + 2);
  return qid;
}

// relay= on a from= line: "name [1.2.3.4]", "[1.2.3.4]", "name [1.2.3.4] (may be forged)",
// "name [IPv6:2001:db8::1]", "root@localhost" (local submission: no address).
void relay_of(std::string_view relay, std::string_view& name, std::string_view& address) {
  std::string_view n, a;
  if (split_name_address(relay, n, a)) {
    if (a.size() > 5 && (a.substr(0, 5) == "IPv6:" || a.substr(0, 5) == "ipv6:")) {
      a.remove_prefix(5);
    }
    // "[127.0.0.1] [127.0.0.1]": a literal name is no name.
    if (!n.empty() && n.front() == '[') n = {};
    while (!n.empty() && n.back() == '.') n.remove_suffix(1);
    name = n;
    address = a;
  }
}

class SendmailParser final : public LogParser {
 public:
  std::string_view name() const override { return "sendmail"; }
  bool is_mta() const override { return true; }

  bool accepts_program(std::string_view program) const override {
    return program.starts_with("sendmail") || program.starts_with("sm-mta") ||
           program.starts_with("sm-msp") || program == "sm-acceptingconnections";
  }

  ParseStatus parse_line(const LogLine& line, ParsedRecord& out) const override {
    std::string_view rest = line.message;
    const std::string_view qid = leading_qid(rest);
    if (qid.empty()) return ParseStatus::kIgnored;
    out.queue_id = qid;
    if (rest.starts_with("from=")) return parse_from(rest, out);
    if (rest.starts_with("to=")) return parse_to(rest, out);
    // "QID: NEWQID: DSN: User unknown" - a bounce generated for QID.
    {
      std::string_view after = rest;
      const std::string_view new_qid = leading_qid(after);
      if (!new_qid.empty()) {
        if (after.starts_with("DSN:") || after.starts_with("return to sender:") ||
            after.starts_with("sender notify:") || after.starts_with("postmaster notify:")) {
          out.kind = RecordKind::kBounce;
          out.bounce_queue_id = new_qid;
          return ParseStatus::kRecord;
        }
        return ParseStatus::kIgnored;
      }
    }
    if (rest.starts_with("Milter add: header: X-Virus-Status: Clean")) {
      out.kind = RecordKind::kAttribute;
      out.clean = true;
      return ParseStatus::kRecord;
    }
    if (rest.starts_with("Milter add: header: X-Virus-Status: Infected") ||
        rest.starts_with("Milter change: header X-Virus-Status: from Clean to Infected")) {
      const auto virus = virus_in_reply(rest);
      if (virus.empty()) return ParseStatus::kIgnored;
      out.kind = RecordKind::kDetection;
      out.virus = virus;
      out.action = "tagged";
      return ParseStatus::kRecord;
    }
    if (rest.starts_with("milter=")) return parse_quarantine(rest, out);
    if (rest == "Milter: data, discard") {
      // A milter's SMFIS_DISCARD (clamav-milter OnInfected Blackhole): accepted, then dropped.
      out.kind = RecordKind::kAttribute;
      out.mta_action = MtaAction::kDiscarded;
      return ParseStatus::kRecord;
    }
    if (!rest.starts_with("Milter") && !rest.starts_with("ruleset=")) {
      return ParseStatus::kIgnored;
    }
    // "ruleset=check_rcpt, arg1=<R>, relay=NAME [ADDR], reject=550 ..." and milter rejects.
    std::string_view reject, relay, arg;
    FieldScanner fields(rest);
    for (Field f; fields.next(f);) {
      if (f.key == "reject" && reject.empty()) reject = f.value;
      if (f.key == "relay" && relay.empty()) relay = f.value;
      if (f.key == "arg1" && arg.empty()) arg = f.value;
    }
    // "Milter: data, reject=REPLY" refuses the whole message at its end (a 4xx reply only asks
    // the client to try again); "Milter: to=..., reject=" one recipient.
    if (rest.starts_with("Milter: data, reject=5")) out.mta_action = MtaAction::kRejected;
    const auto virus = virus_in_reply(reject);
    if (virus.empty()) {
      if (out.mta_action == MtaAction::kNone) return ParseStatus::kIgnored;
      out.kind = RecordKind::kAttribute;
      return ParseStatus::kRecord;
    }
    out.kind = RecordKind::kDetection;
    out.virus = virus;
    out.action = "rejected";
    if (!relay.empty()) relay_of(relay, out.client_name, out.client_ip);
    if (rest.starts_with("ruleset=check_rcpt")) out.recipients.push_back(strip_brackets(arg));
    return ParseStatus::kRecord;
  }

 private:
  static ParseStatus parse_from(std::string_view rest, ParsedRecord& out) {
    out.kind = RecordKind::kReceive;
    // "from=<S>, size=N, class=0, nrcpts=1, msgid=<M>, proto=ESMTP, daemon=MTA, relay=..."
    std::string_view sender, size, msgid, relay;
    FieldScanner fields(rest);
    for (Field f; fields.next(f);) {
      if (f.key.empty()) continue;
      switch (f.key.front()) {
        case 'f':
          if (f.key == "from" && sender.empty()) sender = f.value;
          break;
        case 's':
          if (f.key == "size" && size.empty()) size = f.value;
          break;
        case 'm':
          if (f.key == "msgid" && msgid.empty()) msgid = f.value;
          break;
        case 'r':
          if (f.key == "relay" && relay.empty()) relay = f.value;
          break;
      }
    }
    out.sender = strip_brackets(sender);
    out.has_sender = true;
    if (!size.empty()) out.size = leading_number(size);
    out.message_id = strip_brackets(msgid);
    if (relay.empty()) return ParseStatus::kMalformed;  // every from= line ends with relay=
    relay_of(relay, out.client_name, out.client_ip);
    return ParseStatus::kRecord;
  }

  // "milter=clamav-milter, quarantine=quarantined by clamav-milter": the milter put the message
  // in sendmail's quarantine (clamav-milter OnInfected Quarantine). The reason is the milter's
  // free text.
  static ParseStatus parse_quarantine(std::string_view rest, ParsedRecord& out) {
    const auto at = rest.find(", quarantine=");
    if (at == std::string_view::npos) return ParseStatus::kIgnored;
    out.kind = RecordKind::kAttribute;
    out.mta_action = MtaAction::kQuarantined;
    return ParseStatus::kRecord;
  }

  static ParseStatus parse_to(std::string_view rest, ParsedRecord& out) {
    out.kind = RecordKind::kDelivery;
    // "to=" lists every recipient of the transaction: up to ", delay=" or ", ctladdr=". The
    // status is the last field: "stat=Sent (REPLY)", free text to the end of the line.
    std::size_t list_end = std::string_view::npos;
    std::string_view relay;
    std::size_t stat_at = std::string_view::npos;
    FieldScanner fields(rest);
    for (Field f; fields.next(f);) {
      if (list_end == std::string_view::npos &&
          (f.key == "ctladdr" || f.key == "delay" || f.key == "xdelay" || f.key == "mailer")) {
        list_end = f.at;
      } else if (f.key == "relay" && relay.empty()) {
        relay = f.value;
      } else if (f.key == "stat") {
        stat_at = f.value_at;
        break;
      }
    }
    if (list_end == std::string_view::npos || list_end < 5) return ParseStatus::kMalformed;
    split_addresses(rest.substr(3, list_end - 5), out.recipients);
    if (out.recipients.empty()) return ParseStatus::kMalformed;
    if (!relay.empty()) relay_of(relay, out.relay_name, out.relay_ip);
    if (stat_at == std::string_view::npos) return ParseStatus::kMalformed;
    std::string_view stat = rest.substr(stat_at);
    if (stat.starts_with("Sent")) {
      out.status = DeliveryStatus::kSent;
      if (const auto open = stat.find('('); open != std::string_view::npos) {
        std::string_view reply = stat.substr(open + 1);
        if (!reply.empty() && reply.back() == ')') reply.remove_suffix(1);
        out.next_queue_id = next_hop_queue_id(reply);
      }
      return ParseStatus::kRecord;
    }
    if (stat.starts_with("Deferred")) {
      out.status = DeliveryStatus::kDeferred;
      return ParseStatus::kRecord;
    }
    out.status = DeliveryStatus::kBounced;
    if (const auto virus = virus_in_reply(stat); !virus.empty()) {
      out.kind = RecordKind::kDetection;
      out.virus = virus;
      out.action = "bounced";
    }
    return ParseStatus::kRecord;
  }
};

}  // namespace

std::unique_ptr<LogParser> make_sendmail_parser() { return std::make_unique<SendmailParser>(); }

}  // namespace vtrace
