// Linux netfilter LOG / nftables `log` lines as the kernel writes them (nf_log_syslog):
//
//   [UFW BLOCK] IN=eth1 OUT=eth0 MAC=... SRC=10.1.2.3 DST=198.51.100.7 LEN=60 TOS=0x00
//   PREC=0x00 TTL=63 ID=4711 DF PROTO=TCP SPT=50312 DPT=25 WINDOW=64240 RES=0x00 SYN URGP=0
//
// Anything before "IN=" is the rule's log prefix (and the kernel's "[12345.678901]" uptime
// when the collector keeps it); its words give the verdict ("[UFW BLOCK]", "DROP smtp: ").
// Only a connection's opening packet is a record: TCP with the SYN flag and without ACK. The
// kernel writes the flags as bare words (SYN, ACK) and the sequence numbers, when logged, as
// SEQ=/ACK= pairs, so a bare "ACK" is the flag. Other packets are this format's noise.
#include <memory>

#include "common/net.hpp"
#include "module/parsers/firewall_fields.hpp"
#include "module/parsers/parser_registry.hpp"

namespace vtrace {
namespace {

// The position of `key` ("SRC=") at the start of `text` or after a blank, or after a ':' that
// ends a log prefix written without a blank (Shorewall's "Shorewall:net2fw:DROP:IN=eth1");
// npos when absent.
std::size_t find_token(std::string_view text, std::string_view key, std::size_t from = 0) {
  for (auto pos = text.find(key, from); pos != std::string_view::npos;
       pos = text.find(key, pos + 1)) {
    if (pos == 0 || text[pos - 1] == ' ' || text[pos - 1] == ':') return pos;
  }
  return std::string_view::npos;
}

class NetfilterParser final : public LogParser {
 public:
  std::string_view name() const override { return "netfilter"; }

  // The kernel's own lines, ulogd's, and a message without a program name.
  bool accepts_program(std::string_view program) const override {
    return program == "kernel" || program.empty() || program.starts_with("ulogd");
  }

  ParseStatus parse_line(const LogLine& line, ParsedRecord& out) const override {
    const std::string_view text = line.message;
    const auto in_at = find_token(text, "IN=");
    if (in_at == std::string_view::npos) return ParseStatus::kNotMine;
    const auto src_at = find_token(text, "SRC=", in_at);
    if (src_at == std::string_view::npos ||
        find_token(text, "OUT=", in_at) == std::string_view::npos) {
      return ParseStatus::kNotMine;
    }
    std::string_view src, dst, proto, spt, dpt;
    bool syn = false;
    bool ack = false;
    std::size_t pos = in_at;
    while (pos < text.size()) {
      auto end = text.find(' ', pos);
      if (end == std::string_view::npos) end = text.size();
      const std::string_view token = text.substr(pos, end - pos);
      pos = end + 1;
      if (token == "SYN") {
        syn = true;
      } else if (token == "ACK") {
        ack = true;
      } else if (token.starts_with("SRC=")) {
        src = token.substr(4);
      } else if (token.starts_with("DST=")) {
        dst = token.substr(4);
      } else if (token.starts_with("PROTO=")) {
        proto = token.substr(6);
      } else if (token.starts_with("SPT=")) {
        spt = token.substr(4);
      } else if (token.starts_with("DPT=")) {
        dpt = token.substr(4);
      }
    }
    if (!IpAddress::parse(src) || !IpAddress::parse(dst) || proto.empty()) {
      return ParseStatus::kMalformed;
    }
    if (proto != "TCP") return ParseStatus::kIgnored;
    const std::int32_t src_port = parse_port(spt);
    const std::int32_t dst_port = parse_port(dpt);
    if (src_port < 0 || dst_port < 0) return ParseStatus::kMalformed;
    if (!syn || ack) return ParseStatus::kIgnored;
    out.kind = RecordKind::kConnection;
    out.src_ip = src;
    out.dst_ip = dst;
    out.src_port = src_port;
    out.dst_port = dst_port;
    out.verdict = verdict_from_words(text.substr(0, in_at));
    return ParseStatus::kRecord;
  }
};

}  // namespace

std::unique_ptr<LogParser> make_netfilter_parser() { return std::make_unique<NetfilterParser>(); }

}  // namespace vtrace
