// Sendmail (and sm-mta, Solaris, MSP) from=/to=/DSN/milter lines.
#include "module/parser_registry.hpp"

namespace vtrace {
namespace {

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

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

// The value of "relay=" up to the next ", " (host names never contain ", ").
std::string_view relay_field(std::string_view rest) { return field_value(rest, "relay="); }

class SendmailParser final : public LogParser {
 public:
  std::string_view name() const override { return "sendmail"; }

  bool accepts_program(std::string_view program) const override {
    return starts_with(program, "sendmail") || starts_with(program, "sm-mta") ||
           starts_with(program, "sm-msp") || program == "sm-acceptingconnections";
  }

  ParseStatus parse(const LogLine& line, ParsedRecord& out) const override {
    std::string_view rest = line.message;
    const std::string_view qid = leading_qid(rest);
    if (qid.empty()) return ParseStatus::kIgnored;
    out.queue_id = qid;
    if (starts_with(rest, "from=")) return parse_from(rest, out);
    if (starts_with(rest, "to=")) return parse_to(rest, out);
    // "QID: NEWQID: DSN: User unknown" - a bounce generated for QID.
    {
      std::string_view after = rest;
      const std::string_view new_qid = leading_qid(after);
      if (!new_qid.empty()) {
        if (starts_with(after, "DSN:") || starts_with(after, "return to sender:") ||
            starts_with(after, "sender notify:") || starts_with(after, "postmaster notify:")) {
          out.kind = RecordKind::kBounce;
          out.bounce_queue_id = new_qid;
          return ParseStatus::kRecord;
        }
        return ParseStatus::kIgnored;
      }
    }
    if (starts_with(rest, "Milter add: header: X-Virus-Status: Infected") ||
        starts_with(rest, "Milter change: header X-Virus-Status: from Clean to Infected")) {
      const auto virus = virus_in_reply(rest);
      if (virus.empty()) return ParseStatus::kIgnored;
      out.kind = RecordKind::kDetection;
      out.virus = virus;
      out.action = "tagged";
      return ParseStatus::kRecord;
    }
    if (const auto reject = field_value(rest, "reject=");
        !reject.empty() && (starts_with(rest, "Milter") || starts_with(rest, "ruleset="))) {
      const auto virus = virus_in_reply(reject);
      if (virus.empty()) return ParseStatus::kIgnored;
      out.kind = RecordKind::kDetection;
      out.virus = virus;
      out.action = "rejected";
      if (const auto relay = relay_field(rest); !relay.empty()) {
        relay_of(relay, out.client_name, out.client_ip);
      }
      if (const auto arg = field_value(rest, "arg1="); starts_with(rest, "ruleset=check_rcpt")) {
        out.recipients.push_back(strip_brackets(arg));
      }
      return ParseStatus::kRecord;
    }
    return ParseStatus::kIgnored;
  }

 private:
  static ParseStatus parse_from(std::string_view rest, ParsedRecord& out) {
    out.kind = RecordKind::kReceive;
    const auto sender = field_value(rest, "from=");
    out.sender = strip_brackets(sender);
    out.has_sender = true;
    if (const auto size = field_value(rest, "size="); !size.empty())
      out.size = leading_number(size);
    out.message_id = strip_brackets(field_value(rest, "msgid="));
    const auto relay = relay_field(rest);
    if (relay.empty()) return ParseStatus::kMalformed;  // every from= line ends with relay=
    relay_of(relay, out.client_name, out.client_ip);
    return ParseStatus::kRecord;
  }

  static ParseStatus parse_to(std::string_view rest, ParsedRecord& out) {
    out.kind = RecordKind::kDelivery;
    // "to=" lists every recipient of the transaction: up to ", delay=" or ", ctladdr=".
    std::string_view list = rest.substr(3);
    std::size_t end = std::string_view::npos;
    for (std::string_view key : {"ctladdr=", "delay=", "xdelay=", "mailer="}) {
      end = std::min(end, find_key(list, key));
    }
    if (end == std::string_view::npos || end < 2) return ParseStatus::kMalformed;
    split_addresses(list.substr(0, end - 2), out.recipients);
    if (out.recipients.empty()) return ParseStatus::kMalformed;
    if (const auto relay = relay_field(rest); !relay.empty()) {
      relay_of(relay, out.relay_name, out.relay_ip);
    }
    const auto stat_pos = find_key(rest, "stat=");
    if (stat_pos == std::string_view::npos) return ParseStatus::kMalformed;
    std::string_view stat = rest.substr(stat_pos + 5);
    if (starts_with(stat, "Sent")) {
      out.status = DeliveryStatus::kSent;
      if (const auto open = stat.find('('); open != std::string_view::npos) {
        std::string_view reply = stat.substr(open + 1);
        if (!reply.empty() && reply.back() == ')') reply.remove_suffix(1);
        out.next_queue_id = next_hop_queue_id(reply);
      }
      return ParseStatus::kRecord;
    }
    if (starts_with(stat, "Deferred")) {
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
