// Decoding of rsyslog's JSON template (packaging/rsyslog/): one line, one record of fields.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <string_view>

namespace vtrace {

// The fields of one rsyslog JSON record (template with option.jsonf="on"). A field is a view
// into the decoded line when the line holds it as it is (no escape in it), else into the
// record's own copy: valid until the record is decoded again, and while that line lives.
struct RsyslogRecord {
  std::string_view timereported;
  std::string_view hostname;
  std::string_view fromhost_ip;
  std::string_view app_name;
  std::string_view procid;
  std::string_view msg;
  std::string_view inputname;  // rsyslog's input module (imuxsock, imfile, ...); optional
  // Where imfile read the line (addMetadata="on"): $!metadata!filename and !fileoffset.
  // Optional; empty for every other input.
  std::string_view filename;
  std::string_view fileoffset;
  // The unescaped values, one per field in the order above, kept from line to line so that
  // their memory is reused.
  std::array<std::string, 9> unescaped;
};

// Decodes lines of the JSON template into a record, reusing the parser's and the record's
// memory from line to line: the fields are taken from the parse events as they stream by, with
// no document tree built and nothing allocated once the buffers have grown to the longest line.
// Strict JSON syntax, but bytes that are not UTF-8 are taken as they are: rsyslog passes a log
// line's bytes through, and a Latin-1 line is still a line to trace. Only string values of the
// top-level object count.
class RsyslogJsonDecoder {
 public:
  RsyslogJsonDecoder();
  ~RsyslogJsonDecoder();
  RsyslogJsonDecoder(const RsyslogJsonDecoder&) = delete;
  RsyslogJsonDecoder& operator=(const RsyslogJsonDecoder&) = delete;
  // Every field of `out` is overwritten (emptied when absent). False for anything malformed,
  // or a record without a string "timereported" and "msg".
  bool decode(std::string_view line, RsyslogRecord& out);

 private:
  struct Parser;
  std::unique_ptr<Parser> parser_;
};

// One-off decoding (tests, tools); a loop keeps an RsyslogJsonDecoder.
bool parse_rsyslog_json(std::string_view line, RsyslogRecord& out);

}  // namespace vtrace
