// Site-declared formats: an RE2 pattern whose named groups become record fields.
//
// Group names: queue_id, message_id, sender, recipient (one address), recipients (a comma list),
// client_ip, client_name, virus, action, next_queue_id, subject, file, size. Other names are
// allowed and ignored. message_id, sender and recipient(s) lose their angle brackets; a sender
// group that matched (even "<>") sets has_sender. A "delivery" record is kSent when it names
// a next_queue_id, else its status is unknown. A "detection" without a virus is kMalformed.
// A "connection" (a firewall's line) reads src_ip, dst_ip, dst_port, optionally src_port and
// action, whose words give the verdict (block, drop, deny, reject / allow, accept, permit,
// pass); one whose addresses or ports are not addresses and ports is kMalformed.
#include <re2/re2.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/net.hpp"
#include "module/parsers/firewall_fields.hpp"
#include "module/parsers/parse_util.hpp"
#include "module/parsers/parser_registry.hpp"
#include "module/settings.hpp"

namespace vtrace {
namespace {

enum Field : int {
  kQueueId,
  kMessageId,
  kSender,
  kRecipient,
  kRecipients,
  kClientIp,
  kClientName,
  kVirus,
  kAction,
  kNextQueueId,
  kSubject,
  kFile,
  kSize,
  kSrcIp,
  kDstIp,
  kSrcPort,
  kDstPort,
  kFieldCount
};

constexpr std::array<std::string_view, kFieldCount> kFieldNames = {
    "queue_id",    "message_id", "sender", "recipient",     "recipients", "client_ip",
    "client_name", "virus",      "action", "next_queue_id", "subject",    "file",
    "size",        "src_ip",     "dst_ip", "src_port",      "dst_port"};

std::string_view view(const re2::StringPiece& p) { return {p.data(), p.size()}; }

std::unique_ptr<RE2> compile(const std::string& pattern) {
  RE2::Options options;
  options.set_log_errors(false);
  auto re = std::make_unique<RE2>(pattern, options);
  if (!re->ok()) return nullptr;
  return re;
}

RecordKind kind_from(const std::string& kind) {
  if (kind == "detection") return RecordKind::kDetection;
  if (kind == "receive") return RecordKind::kReceive;
  if (kind == "delivery") return RecordKind::kDelivery;
  if (kind == "connection") return RecordKind::kConnection;
  return RecordKind::kAttribute;
}

class CustomParser final : public LogParser {
 public:
  explicit CustomParser(const CustomFormatSettings& format)
      : name_(format.name), kind_(kind_from(format.kind)) {
    group_.fill(-1);
    if (!format.program.empty()) {
      program_ = compile(format.program);
      program_ok_ = program_ != nullptr;
    }
    pattern_ = compile(format.pattern);
    if (!pattern_) return;  // never matches
    for (const auto& [group_name, index] : pattern_->NamedCapturingGroups()) {
      for (int f = 0; f < kFieldCount; ++f) {
        if (group_name == kFieldNames[f]) group_[f] = index;
      }
    }
    // Only the groups we read need to be captured.
    for (int f = 0; f < kFieldCount; ++f) {
      if (group_[f] >= submatches_) submatches_ = group_[f] + 1;
    }
  }

  std::string_view name() const override { return name_; }

  bool accepts_program(std::string_view program) const override {
    if (!program_ok_) return false;
    if (!program_) return true;
    return RE2::FullMatch(re2::StringPiece(program.data(), program.size()), *program_);
  }

  ParseStatus parse_line(const LogLine& line, ParsedRecord& out) const override {
    if (!pattern_) return ParseStatus::kNotMine;
    const re2::StringPiece text(line.message.data(), line.message.size());
    constexpr int kInline = 32;
    std::array<re2::StringPiece, kInline> inline_groups;
    std::vector<re2::StringPiece> heap_groups;  // only for patterns with > 31 groups
    re2::StringPiece* groups = inline_groups.data();
    if (submatches_ > kInline) {
      heap_groups.resize(static_cast<std::size_t>(submatches_));
      groups = heap_groups.data();
    }
    if (!pattern_->Match(text, 0, text.size(), RE2::UNANCHORED, groups, submatches_)) {
      return ParseStatus::kNotMine;
    }
    auto get = [&](Field f) -> std::string_view {
      return group_[f] < 0 ? std::string_view{} : view(groups[group_[f]]);
    };
    auto matched = [&](Field f) { return group_[f] >= 0 && groups[group_[f]].data() != nullptr; };

    if (kind_ == RecordKind::kConnection)
      return connection(get(kSrcIp), get(kDstIp), get(kSrcPort), get(kDstPort), get(kAction), out);
    out.kind = kind_;
    out.queue_id = get(kQueueId);
    out.message_id = strip_brackets(get(kMessageId));
    if (matched(kSender)) {
      out.sender = strip_brackets(get(kSender));
      out.has_sender = true;
    }
    if (const auto rcpt = strip_brackets(get(kRecipient)); !rcpt.empty()) {
      out.recipients.push_back(rcpt);
    }
    split_addresses(get(kRecipients), out.recipients);
    out.client_ip = get(kClientIp);
    out.client_name = get(kClientName);
    out.virus = get(kVirus);
    out.action = get(kAction);
    out.next_queue_id = get(kNextQueueId);
    out.subject = get(kSubject);
    out.file = get(kFile);
    if (const auto size = get(kSize); !size.empty() && size.size() <= 18) {
      std::int64_t v = 0;
      bool digits = true;
      for (char c : size) {
        digits = digits && c >= '0' && c <= '9';
        v = v * 10 + (c - '0');
      }
      if (digits) out.size = v;
    }
    if (kind_ == RecordKind::kDelivery && !out.next_queue_id.empty()) {
      out.status = DeliveryStatus::kSent;
    }
    if (kind_ == RecordKind::kDetection && out.virus.empty()) {
      out.clear();
      return ParseStatus::kMalformed;
    }
    return ParseStatus::kRecord;
  }

 private:
  static ParseStatus connection(std::string_view src, std::string_view dst,
                                std::string_view src_port, std::string_view dst_port,
                                std::string_view action, ParsedRecord& out) {
    out.dst_port = parse_port(dst_port);
    out.src_port = src_port.empty() ? -1 : parse_port(src_port);
    if (!IpAddress::parse(src) || !IpAddress::parse(dst) || out.dst_port < 0 ||
        (!src_port.empty() && out.src_port < 0)) {
      out.clear();
      return ParseStatus::kMalformed;
    }
    out.kind = RecordKind::kConnection;
    out.src_ip = src;
    out.dst_ip = dst;
    out.action = action;
    out.verdict = verdict_from_words(action);
    return ParseStatus::kRecord;
  }

  std::string name_;
  RecordKind kind_;
  std::unique_ptr<RE2> program_;  // null: any program
  bool program_ok_ = true;
  std::unique_ptr<RE2> pattern_;  // null: the pattern did not compile; never matches
  std::array<int, kFieldCount> group_{};
  int submatches_ = 1;
};

}  // namespace

std::unique_ptr<LogParser> make_custom_parser(const CustomFormatSettings& format) {
  return std::make_unique<CustomParser>(format);
}

}  // namespace vtrace
