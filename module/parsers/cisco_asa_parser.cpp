// Cisco ASA and Firepower Threat Defense connection messages (Cisco's "Syslog Messages"
// guides for ASA and FTD, messages 106023, 106100 and 302013):
//
//   %ASA-4-106023: Deny tcp src inside:10.1.2.3/50312 dst outside:198.51.100.7/25
//                  by access-group "inside_in" [0x0, 0x0]
//   %ASA-6-106100: access-list inside_in denied tcp inside/10.1.2.3(50312) ->
//                  outside/198.51.100.7(25) hit-cnt 1 first hit [0x91e9b1c8, 0x0]
//   %ASA-6-302013: Built outbound TCP connection 1234 for outside:198.51.100.7/25
//                  (198.51.100.7/25) to inside:10.1.2.3/50312 (203.0.113.9/50312)
//
// 302013's "for" side is the foreign host: the destination of an outbound connection and
// the initiator of an inbound one. 106100's "est-allowed" is return traffic of a connection
// already counted, so it is noise, like every other message id. The tag is found in the
// message ("fw1 : %ASA-4-106023: ...") or, when the collector took it for the syslog program
// ("%ASA-4-106023: Deny ..."), in the program.
#include <memory>

#include "common/net.hpp"
#include "module/parsers/firewall_fields.hpp"
#include "module/parsers/parser_registry.hpp"

namespace vtrace {
namespace {

bool same_word(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != b[i]) return false;
  }
  return true;
}

// Splits off the next blank-separated word of `text`.
std::string_view next_word(std::string_view& text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  const auto end = text.find(' ');
  const std::string_view word = text.substr(0, end);
  text.remove_prefix(end == std::string_view::npos ? text.size() : end);
  return word;
}

// "inside:10.1.2.3/50312" or "inside:10.1.2.3/50312(user)": the interface name is everything
// before the first ':' (an IPv6 address has more of them after it).
bool interface_endpoint(std::string_view word, std::string_view& address, std::int32_t& port) {
  const auto colon = word.find(':');
  if (colon == std::string_view::npos) return false;
  word.remove_prefix(colon + 1);
  if (const auto paren = word.find('('); paren != std::string_view::npos) {
    word = word.substr(0, paren);
  }
  return split_address_port(word, address, port) && IpAddress::parse(address).has_value();
}

// 106100's "inside/10.1.2.3(50312)".
bool acl_endpoint(std::string_view word, std::string_view& address, std::int32_t& port) {
  const auto slash = word.find('/');
  const auto open = word.rfind('(');
  if (slash == std::string_view::npos || open == std::string_view::npos || open < slash ||
      word.back() != ')') {
    return false;
  }
  address = word.substr(slash + 1, open - slash - 1);
  port = parse_port(word.substr(open + 1, word.size() - open - 2));
  return port >= 0 && IpAddress::parse(address).has_value();
}

ParseStatus deny_106023(std::string_view body, ParsedRecord& out) {
  if (!same_word(next_word(body), "deny")) return ParseStatus::kMalformed;
  if (!same_word(next_word(body), "tcp")) return ParseStatus::kIgnored;
  if (next_word(body) != "src" || !interface_endpoint(next_word(body), out.src_ip, out.src_port)) {
    return ParseStatus::kMalformed;
  }
  // An identity-firewall user "(LOCAL\alice)" may follow the source.
  std::string_view word = next_word(body);
  while (!word.empty() && word != "dst") word = next_word(body);
  if (word != "dst" || !interface_endpoint(next_word(body), out.dst_ip, out.dst_port)) {
    return ParseStatus::kMalformed;
  }
  out.verdict = ConnectionVerdict::kBlocked;
  return ParseStatus::kRecord;
}

ParseStatus acl_106100(std::string_view body, ParsedRecord& out) {
  if (next_word(body) != "access-list" || next_word(body).empty()) return ParseStatus::kMalformed;
  const std::string_view verdict = next_word(body);
  if (verdict == "denied") {
    out.verdict = ConnectionVerdict::kBlocked;
  } else if (verdict == "permitted") {
    out.verdict = ConnectionVerdict::kAllowed;
  } else if (verdict == "est-allowed") {
    return ParseStatus::kIgnored;
  } else {
    return ParseStatus::kMalformed;
  }
  if (!same_word(next_word(body), "tcp")) return ParseStatus::kIgnored;
  // "inside/10.1.2.3(50312) -> outside/...", with or without blanks around the arrow.
  const auto arrow = body.find("->");
  if (arrow == std::string_view::npos) return ParseStatus::kMalformed;
  std::string_view before = body.substr(0, arrow);
  const std::string_view from = next_word(before);
  std::string_view after = body.substr(arrow + 2);
  const std::string_view to = next_word(after);
  if (!acl_endpoint(from, out.src_ip, out.src_port) ||
      !acl_endpoint(to, out.dst_ip, out.dst_port)) {
    return ParseStatus::kMalformed;
  }
  return ParseStatus::kRecord;
}

ParseStatus built_302013(std::string_view body, ParsedRecord& out) {
  if (next_word(body) != "Built") return ParseStatus::kMalformed;
  const std::string_view direction = next_word(body);
  const bool outbound = direction == "outbound";
  if (!outbound && direction != "inbound") return ParseStatus::kMalformed;
  std::string_view word = next_word(body);
  if (word == "Probe") word = next_word(body);  // FTD: "Built outbound Probe TCP connection"
  if (word != "TCP" || next_word(body) != "connection" || next_word(body).empty() ||
      next_word(body) != "for") {
    return ParseStatus::kMalformed;
  }
  std::string_view foreign_ip, local_ip;
  std::int32_t foreign_port = -1, local_port = -1;
  if (!interface_endpoint(next_word(body), foreign_ip, foreign_port)) {
    return ParseStatus::kMalformed;
  }
  word = next_word(body);
  while (!word.empty() && word != "to") word = next_word(body);
  if (word != "to" || !interface_endpoint(next_word(body), local_ip, local_port)) {
    return ParseStatus::kMalformed;
  }
  out.src_ip = outbound ? local_ip : foreign_ip;
  out.src_port = outbound ? local_port : foreign_port;
  out.dst_ip = outbound ? foreign_ip : local_ip;
  out.dst_port = outbound ? foreign_port : local_port;
  out.verdict = ConnectionVerdict::kAllowed;
  return ParseStatus::kRecord;
}

// "%ASA-4-106023" / "%FTD-6-302013" at the start of `text`: the message id, or empty.
std::string_view message_id(std::string_view text) {
  if (!(text.starts_with("%ASA-") || text.starts_with("%FTD-")) || text.size() < 13 ||
      text[6] != '-') {
    return {};
  }
  return text.substr(7, 6);
}

class CiscoAsaParser final : public LogParser {
 public:
  std::string_view name() const override { return "cisco-asa"; }

  // The tag is the program ("%ASA-4-106023") when the collector took it for one; a message
  // without a program name may carry it inside.
  bool accepts_program(std::string_view program) const override {
    return program.empty() || !message_id(program).empty();
  }

  ParseStatus parse_line(const LogLine& line, ParsedRecord& out) const override {
    std::string_view id = message_id(line.program);
    std::string_view body = line.message;
    if (id.empty()) {
      auto at = body.find("%ASA-");
      if (at == std::string_view::npos) at = body.find("%FTD-");
      if (at == std::string_view::npos) return ParseStatus::kNotMine;
      body.remove_prefix(at);
      id = message_id(body);
      const auto colon = body.find(": ");
      if (id.empty() || colon == std::string_view::npos) return ParseStatus::kNotMine;
      body.remove_prefix(colon + 2);
    }
    ParseStatus status = ParseStatus::kIgnored;
    if (id == "106023") {
      status = deny_106023(body, out);
    } else if (id == "106100") {
      status = acl_106100(body, out);
    } else if (id == "302013") {
      status = built_302013(body, out);
    }
    if (status != ParseStatus::kRecord) {
      out.clear();
      return status;
    }
    out.kind = RecordKind::kConnection;
    return ParseStatus::kRecord;
  }
};

}  // namespace

std::unique_ptr<LogParser> make_cisco_asa_parser() { return std::make_unique<CiscoAsaParser>(); }

}  // namespace vtrace
