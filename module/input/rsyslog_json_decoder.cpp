// Decoding of rsyslog's JSON template, streamed through Boost.JSON's parser events.
#include "module/input/rsyslog_json_decoder.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <cstdint>
#include <utility>
#include <vector>

namespace vtrace {

namespace {

// The record's fields in the order of RsyslogRecord::unescaped.
constexpr std::string_view RsyslogRecord::*kFields[] = {
    &RsyslogRecord::timereported, &RsyslogRecord::hostname, &RsyslogRecord::fromhost_ip,
    &RsyslogRecord::app_name,     &RsyslogRecord::procid,   &RsyslogRecord::msg,
    &RsyslogRecord::inputname,    &RsyslogRecord::filename, &RsyslogRecord::fileoffset};
constexpr int kTime = 0;
constexpr int kMsg = 5;
constexpr int kNone = -1;

// Parse events of one line, kept only where they are string values of the top-level object's
// known keys. Nested values are walked past; a known key with a non-string value counts as
// absent, as in a document-tree lookup.
struct FieldHandler {
  static constexpr std::size_t max_object_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_array_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_key_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_string_size = static_cast<std::size_t>(-1);
  using error_code = boost::json::error_code;
  using string_view = boost::json::string_view;

  RsyslogRecord* out = nullptr;
  const char* line_begin = nullptr;
  const char* line_end = nullptr;
  int target = kNone;     // the field the current top-level key names
  bool in_parts = false;  // the target's value came in parts, gathered in its unescaped copy
  std::string key;        // a key delivered in parts
  int depth = 0;
  bool object = false;
  bool has_time = false;
  bool has_msg = false;

  void start(std::string_view line, RsyslogRecord& record) {
    out = &record;
    line_begin = line.data();
    line_end = line.data() + line.size();
    for (const auto f : kFields) record.*f = {};
    target = kNone;
    in_parts = false;
    key.clear();
    depth = 0;
    object = has_time = has_msg = false;
  }
  static int field(std::string_view k) {
    // By length first: one comparison per key instead of up to nine.
    switch (k.size()) {
      case 3:
        return k == "msg" ? kMsg : kNone;
      case 6:
        return k == "procid" ? 4 : kNone;
      case 8:
        return k == "hostname" ? 1 : k == "app-name" ? 3 : k == "filename" ? 7 : kNone;
      case 9:
        return k == "inputname" ? 6 : kNone;
      case 10:
        return k == "fileoffset" ? 8 : kNone;
      case 11:
        return k == "fromhost-ip" ? 2 : kNone;
      case 12:
        return k == "timereported" ? kTime : kNone;
      default:
        return kNone;
    }
  }
  void presence(bool present) {
    if (target == kTime) has_time = present;
    if (target == kMsg) has_msg = present;
  }
  // A value that is not a string, at the top level.
  void other_value() {
    if (depth != 1 || target == kNone) return;
    out->*kFields[target] = {};
    presence(false);
    target = kNone;
  }
  void name_target(std::string_view k) {
    target = field(k);
    in_parts = false;
    if (target != kNone) out->*kFields[target] = {};
  }

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }
  bool on_object_begin(error_code&) {
    if (depth == 0) object = true;
    other_value();
    ++depth;
    return true;
  }
  bool on_object_end(std::size_t, error_code&) {
    --depth;
    return true;
  }
  bool on_array_begin(error_code&) {
    other_value();
    ++depth;
    return true;
  }
  bool on_array_end(std::size_t, error_code&) {
    --depth;
    return true;
  }
  bool on_key_part(string_view s, std::size_t, error_code&) {
    if (depth == 1) key.append(s.data(), s.size());
    return true;
  }
  bool on_key(string_view s, std::size_t, error_code&) {
    if (depth != 1) return true;
    if (key.empty()) {
      name_target(std::string_view(s.data(), s.size()));
    } else {
      key.append(s.data(), s.size());
      name_target(key);
      key.clear();
    }
    return true;
  }
  bool on_string_part(string_view s, std::size_t, error_code&) {
    if (depth != 1 || target == kNone) return true;
    std::string& copy = out->unescaped[target];
    if (!in_parts) copy.clear();
    in_parts = true;
    copy.append(s.data(), s.size());
    return true;
  }
  bool on_string(string_view s, std::size_t, error_code&) {
    if (depth != 1 || target == kNone) return true;
    // A whole value straight from the line is viewed there; an unescaped one (the parser's
    // scratch buffer, even when it is delivered whole) is copied.
    const auto at = reinterpret_cast<std::uintptr_t>(s.data());
    if (!in_parts && at >= reinterpret_cast<std::uintptr_t>(line_begin) &&
        at + s.size() <= reinterpret_cast<std::uintptr_t>(line_end)) {
      out->*kFields[target] = std::string_view(s.data(), s.size());
    } else {
      std::string& copy = out->unescaped[target];
      if (!in_parts) copy.clear();
      copy.append(s.data(), s.size());
      out->*kFields[target] = copy;
    }
    in_parts = false;
    presence(true);
    target = kNone;
    return true;
  }
  bool on_number_part(string_view, error_code&) { return true; }
  bool on_int64(std::int64_t, string_view, error_code&) {
    other_value();
    return true;
  }
  bool on_uint64(std::uint64_t, string_view, error_code&) {
    other_value();
    return true;
  }
  bool on_double(double, string_view, error_code&) {
    other_value();
    return true;
  }
  bool on_bool(bool, error_code&) {
    other_value();
    return true;
  }
  bool on_null(error_code&) {
    other_value();
    return true;
  }
  bool on_comment_part(string_view, error_code&) { return true; }
  bool on_comment(string_view, error_code&) { return true; }
};

}  // namespace

struct RsyslogJsonDecoder::Parser {
  static boost::json::parse_options options() {
    boost::json::parse_options o;
    o.allow_invalid_utf8 = true;
    return o;
  }
  boost::json::basic_parser<FieldHandler> parser{options()};
};

RsyslogJsonDecoder::RsyslogJsonDecoder() : parser_(std::make_unique<Parser>()) {}
RsyslogJsonDecoder::~RsyslogJsonDecoder() = default;

bool RsyslogJsonDecoder::decode(std::string_view line, RsyslogRecord& out) {
  auto& p = parser_->parser;
  p.reset();
  FieldHandler& h = p.handler();
  h.start(line, out);
  boost::json::error_code ec;
  const std::size_t used = p.write_some(false, line.data(), line.size(), ec);
  if (ec || !p.done()) return false;
  for (std::size_t i = used; i < line.size(); ++i) {
    const char c = line[i];
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return false;
  }
  return h.object && h.has_time && h.has_msg;
}

bool parse_rsyslog_json(std::string_view line, RsyslogRecord& out) {
  RsyslogJsonDecoder decoder;
  return decoder.decode(line, out);
}

}  // namespace vtrace
