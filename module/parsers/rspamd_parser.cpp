// rspamd task-log lines: the one-line summary rspamd writes for every scanned message
// ("rspamd_task_write_log"). Grammar: docs/log-formats.md section 8, and rspamd's
// default log_format (src/libserver/task.c, rspamd_task_write_log):
//
//   [YYYY-MM-DD HH:MM:SS[.frac] ][#PID(PROCESS) ][<TASKID>; ][MODULE; ]rspamd_task_write_log:
//       id: <MID>, [qid: <QID>, ][ip: IP, ][user: USER, ][from: <SENDER>, ]
//       (default: T|F|S (ACTION): [SCORE/REQUIRED] [SYM(SCORE){OPT;OPT;},SYM(SCORE){},...]),
//       len: N, time: T, dns req: N, digest: <HEX>[, rcpts: <R1,R2>][, mime_rcpts: <...>]
//       [, forced: ACTION "MESSAGE"; score=S (set by MODULE)]
//
// The file log puts a timestamp before "#PID(PROCESS)"; syslog output may or may not carry the
// "#PID(PROCESS) <TASKID>; MODULE; " prefix. Missing values are logged as "undef".
//
// Records:
//   a symbol list holding an antivirus symbol with an option   kDetection: virus = the first
//       option (without a "|filename" suffix), action from "(ACTION)", queue_id = qid,
//       message_id = id, client_ip = ip, sender = from, recipients = rcpts
// A task-log line without such a symbol and every other rspamd line (lua module chatter,
// rspamd_message_parse, passthrough results) is kIgnored. A task-log line whose symbol list
// never closes, or that names neither an id nor a qid, is kMalformed.
//
// Hostile text. The Message-ID, the envelope addresses and many symbol options are written by
// the sender and rspamd escapes none of them, so a crafted value can imitate any part of the
// line. The parser therefore
//  (1) accepts only a result block "(default: X (ACTION): [N/N] [...])" whose symbol list
//      parses completely, and of several such blocks takes the last one with an antivirus
//      verdict: an imitated clean block in the Message-ID (which comes first) or in an option
//      cannot hide the real verdict;
//  (2) ends the Message-ID at the last ">, qid: <QID>" whose QID is a plausible queue id, so a
//      Message-ID holding ">, qid: <X>, ip: ..." cannot move the qid or the client;
//  (3) reads the fields after the qid strictly in template order, so an envelope sender
//      holding ", ip: " or ">, rcpts: <" changes nothing but itself;
//  (4) takes the first "rcpts:" after the result block, before the sender-written mime_rcpts.
// No parse of this unescaped format can rule out a complete imitated verdict block (with its
// own qid) in sender text: that adds a detection, as mailing the virus itself would.
// Every scan is bounded or memoised, so a long crafted line costs time linear in its length.
#include <algorithm>

#include "module/parsers/parse_util.hpp"
#include "module/parsers/parser_registry.hpp"

namespace vtrace {
namespace {

constexpr auto npos = std::string_view::npos;

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_alnum(char c) { return is_digit(c) || is_lower(c) || (c >= 'A' && c <= 'Z'); }
bool ends_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}

std::string_view ltrim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  return s;
}

// "undef" is rspamd's word for a value it does not have.
std::string_view defined(std::string_view v) { return v == "undef" ? std::string_view{} : v; }

// Queue ids of any MTA, and rspamd's "undef".
bool is_qid_value(std::string_view v) {
  if (v.empty() || v.size() > 64) return false;
  for (char c : v) {
    if (!is_alnum(c) && c != '-' && c != '.' && c != '_') return false;
  }
  return true;
}

bool is_ip_value(std::string_view v) {
  if (v == "undef") return true;
  if (v.empty() || v.size() > 45) return false;
  for (char c : v) {
    if (!is_digit(c) && !(c >= 'a' && c <= 'f') && !(c >= 'A' && c <= 'F') && c != ':' &&
        c != '.') {
      return false;
    }
  }
  return true;
}

// Skips the log prefix and returns the text after "rspamd_task_write_log: ", or false when
// the line is some other rspamd message. The marker must follow the prefix directly, so text
// quoted by other messages cannot pose as a task log.
bool task_log_body(std::string_view s, std::string_view& body) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
  // File log: "2023-06-07 10:15:30[.123] ".
  if (s.size() > 19 && is_digit(s[0]) && is_digit(s[1]) && is_digit(s[2]) && is_digit(s[3]) &&
      s[4] == '-' && s[7] == '-' && s[10] == ' ' && s[13] == ':' && s[16] == ':') {
    std::size_t i = 19;
    if (s[i] == '.') {
      ++i;
      while (i < s.size() && is_digit(s[i])) ++i;
    }
    s = ltrim(s.substr(i));
  }
  // "#2161(rspamd_proxy) " (pid optional, process name optional).
  if (!s.empty() && s.front() == '#') {
    std::size_t i = 1;
    while (i < s.size() && is_digit(s[i])) ++i;
    if (i < s.size() && s[i] == '(') {
      const auto close = s.find(')', i);
      if (close == npos || close - i > 64) return false;
      i = close + 1;
    }
    if (i < s.size() && s[i] == ':') ++i;
    s = ltrim(s.substr(i));
  }
  // "<adfb84>; "
  if (!s.empty() && s.front() == '<') {
    std::size_t i = 1;
    while (i < s.size() && is_alnum(s[i])) ++i;
    if (i >= s.size() || s[i] != '>' || i > 41) return false;
    ++i;
    if (i < s.size() && s[i] == ';') ++i;
    s = ltrim(s.substr(i));
  }
  // "proxy; " / "task; " / "csession; "
  {
    std::size_t i = 0;
    while (i < s.size() && (is_lower(s[i]) || s[i] == '_')) ++i;
    if (i > 0 && i < s.size() && s[i] == ';') s = ltrim(s.substr(i + 1));
  }
  constexpr std::string_view kMarker = "rspamd_task_write_log: ";
  if (!s.starts_with(kMarker)) return false;
  body = s.substr(kMarker.size());
  return true;
}

// Symbols that report an antivirus verdict: the names of rspamd's antivirus module rules and
// the usual site names for them.
bool is_av_symbol(std::string_view name) {
  static constexpr std::string_view kKnown[] = {
      "CLAM_VIRUS",   "ICAP_VIRUS",   "KAS_VIRUS",  "FPROT_VIRUS", "AVAST_VIRUS",
      "SOPHOS_VIRUS", "SAVAPI_VIRUS", "ESET_VIRUS", "DRWEB_VIRUS", "JUST_EICAR"};
  for (auto k : kKnown) {
    if (name == k) return true;
  }
  // The scanners' companion symbols (CLAM_VIRUS_FAIL, ..._ENCRYPTED, ..._MACRO) carry an error
  // text or "File is encrypted", not a virus name.
  static constexpr std::string_view kNotVerdict[] = {"_FAIL",  "_FAILED", "_ERROR",  "_ENCRYPTED",
                                                     "_MACRO", "_MACROS", "_SKIPPED"};
  for (auto suffix : kNotVerdict) {
    if (ends_with(name, suffix)) return false;
  }
  if (name.find("VIRUS") != npos || name.find("CLAM") != npos) return true;
  // "AV_" as a word of the name (AV_FOUND, MY_AV_HIT), not inside one.
  for (auto pos = name.find("AV_"); pos != npos; pos = name.find("AV_", pos + 1)) {
    if (pos == 0 || name[pos - 1] == '_') return true;
  }
  return false;
}

// Index just past the ')' matching the '(' at s[i] (scores may nest), or npos.
std::size_t skip_score(std::string_view s, std::size_t i) {
  int depth = 0;
  const std::size_t limit = std::min(s.size(), i + 64);
  for (; i < limit; ++i) {
    if (s[i] == '(') {
      ++depth;
    } else if (s[i] == ')' && --depth == 0) {
      return i + 1;
    } else if (s[i] == '{' || s[i] == '[' || s[i] == ']') {
      return npos;
    }
  }
  return npos;
}

bool is_symbol_char(char c) { return is_alnum(c) || c == '_' || c == '-' || c == '.'; }

// True if the '}' at s[q] is followed by the end of the list or by ',' and the next symbol.
bool closes_options(std::string_view s, std::size_t q) {
  if (q + 1 >= s.size()) return false;
  if (s[q + 1] == ']') return true;
  if (s[q + 1] != ',') return false;
  std::size_t n = q + 2;
  while (n < s.size() && is_symbol_char(s[n])) ++n;
  return n > q + 2 && n < s.size() && (s[n] == '(' || s[n] == '{' || s[n] == ',' || s[n] == ']');
}

// The last answer of options_end, so that the overlapping scans of several candidate blocks
// in one line stay linear in its length.
struct CloseMemo {
  std::size_t from = npos;    // scanned from here ...
  std::size_t result = npos;  // ... to the first closing "};" (npos: none up to the end)
};

// The '}' closing the option block opened at s[open]. rspamd ends every option with ';' and
// follows the block with the next symbol or the end of the list, so the block closes at "{}"
// or at the first ";}" before ']' or before ',' and a symbol name with its score, options,
// ',' or ']'. Option text may hold any other brace.
std::size_t options_end(std::string_view s, std::size_t open, CloseMemo& memo) {
  if (open + 1 < s.size() && s[open + 1] == '}' && closes_options(s, open + 1)) return open + 1;
  const std::size_t from = open + 2;
  if (memo.from != npos && from >= memo.from && (memo.result == npos || from <= memo.result)) {
    return memo.result;
  }
  std::size_t result = npos;
  for (std::size_t q = from; q < s.size(); ++q) {
    if (q == memo.from) {  // the rest of this scan is known
      result = memo.result;
      break;
    }
    if (s[q] == '}' && s[q - 1] == ';' && closes_options(s, q)) {
      result = q;
      break;
    }
  }
  memo = {from, result};
  return result;
}

struct ResultBlock {
  std::size_t start = 0;  // the '(' of "(default: "
  std::size_t end = 0;    // just past "])"
  std::string_view action;
  std::string_view virus;  // first option of the first antivirus symbol that has one
};

// Parses "(default: T (reject): [7.31/12.00] [SYM(4.00){opt;},...])" at body[start].
bool parse_block(std::string_view body, std::size_t start, ResultBlock& b, CloseMemo& memo) {
  constexpr std::string_view kOpen = "(default: ";
  std::size_t p = start + kOpen.size();
  if (p + 2 > body.size()) return false;
  if (body[p] != 'T' && body[p] != 'F' && body[p] != 'S') return false;
  ++p;
  if (body.substr(p, 2) != " (") return false;
  p += 2;
  auto action_end = body.substr(p, 44).find("): [");
  if (action_end == npos || action_end == 0) return false;
  action_end += p;
  b.action = body.substr(p, action_end - p);
  for (char c : b.action) {
    if (!is_lower(c) && c != ' ' && c != '_' && c != '-') return false;
  }
  p = action_end + 4;
  // Scores: "7.31/12.00", "nan/15.00", "-1.20/15.00".
  auto scores_end = body.substr(p, 43).find("] [");
  if (scores_end == npos) return false;
  scores_end += p;
  const std::string_view scores = body.substr(p, scores_end - p);
  if (scores.find('/') == npos) return false;
  for (char c : scores) {
    if (!is_alnum(c) && c != '.' && c != '-' && c != '+' && c != '/') return false;
  }
  p = scores_end + 3;
  b.virus = {};
  if (p < body.size() && body[p] != ']') {
    while (true) {
      const std::size_t name_begin = p;
      while (p < body.size() && is_symbol_char(body[p])) ++p;
      if (p == name_begin) return false;
      const std::string_view name = body.substr(name_begin, p - name_begin);
      if (p < body.size() && body[p] == '(') {
        p = skip_score(body, p);
        if (p == npos) return false;
      }
      if (p < body.size() && body[p] == '{') {
        const auto close = options_end(body, p, memo);
        if (close == npos) return false;
        const std::string_view options = body.substr(p + 1, close - p - 1);
        if (b.virus.empty() && is_av_symbol(name)) {
          std::string_view first = options.substr(0, options.find(';'));
          first = trim(first.substr(0, first.find('|')));  // "NAME|attachment.zip"
          if (first != "...") b.virus = first;
        }
        p = close + 1;
      }
      if (p >= body.size()) return false;
      if (body[p] == ']') break;
      if (body[p] != ',') return false;
      ++p;
    }
  }
  if (p + 1 >= body.size() || body[p] != ']' || body[p + 1] != ')') return false;
  b.start = start;
  b.end = p + 2;
  return true;
}

struct Head {
  bool has_mid = false;
  bool has_qid = false;
  std::string_view mid;
  std::string_view qid;
  std::string_view ip;
  std::string_view sender;
  bool has_sender = false;
};

// "id: <MID>, qid: <QID>, ip: IP, user: U, from: <SENDER>" (text before the result block).
void parse_head(std::string_view head, Head& h) {
  while (!head.empty() && (head.back() == ' ' || head.back() == ',')) head.remove_suffix(1);
  h.has_mid = head.starts_with("id: <");
  std::size_t rest_at = npos;  // where ", ip: " / ", user: " / ", from: <" may follow
  std::size_t mid_end = npos;  // index of the '>' closing the Message-ID

  // The last plausible ", qid: <QID>" (see the file comment).
  constexpr std::string_view kQid = ", qid: <";
  for (auto p = head.rfind(kQid); p != npos; p = p == 0 ? npos : head.rfind(kQid, p - 1)) {
    const std::size_t value = p + kQid.size();
    auto close = head.substr(value, 65).find('>');  // queue ids are short
    if (close == npos) continue;
    close += value;
    if (!is_qid_value(head.substr(value, close - value))) continue;
    if (close + 1 != head.size() && head.substr(close + 1, 2) != ", ") continue;
    if (h.has_mid && (p < 6 || head[p - 1] != '>')) continue;
    h.has_qid = true;
    h.qid = defined(head.substr(value, close - value));
    mid_end = h.has_mid ? p - 1 : npos;
    rest_at = close + 1;
    break;
  }
  if (!h.has_qid && head.starts_with("qid: <")) {  // a log_format without the Message-ID
    const auto close = head.find('>');
    if (close != npos && is_qid_value(head.substr(6, close - 6))) {
      h.has_qid = true;
      h.qid = defined(head.substr(6, close - 6));
      rest_at = close + 1;
    }
  }
  if (h.has_mid && mid_end == npos) {
    // No qid: the Message-ID ends at the last ">, ip: IP" or else the first ">, user: " /
    // ">, from: <", or at the end of the head.
    constexpr std::string_view kIp = ">, ip: ";
    for (auto p = head.rfind(kIp); p != npos && p >= 5;
         p = p == 0 ? npos : head.rfind(kIp, p - 1)) {
      const std::size_t value = p + kIp.size();
      const std::string_view window = head.substr(value, 48);  // addresses are short
      const auto end = window.find(", ");
      if (is_ip_value(end == npos ? head.substr(value) : window.substr(0, end))) {
        mid_end = p;
        break;
      }
    }
    if (mid_end == npos) {
      static constexpr std::string_view kKeys[] = {">, user: ", ">, from: <"};
      for (auto key : kKeys) {
        const auto p = head.find(key, 5);
        if (p != npos && (mid_end == npos || p < mid_end)) mid_end = p;
      }
    }
    if (mid_end == npos) mid_end = head.back() == '>' ? head.size() - 1 : head.size();
    rest_at = mid_end < head.size() ? mid_end + 1 : head.size();
  }
  if (h.has_mid) h.mid = defined(head.substr(5, mid_end - 5));
  if (rest_at == npos) return;

  // Template order after the Message-ID and qid.
  std::string_view r = head.substr(rest_at);
  if (r.starts_with(", ip: ")) {
    r.remove_prefix(6);
    const auto end = r.find(", ");
    const std::string_view ip = r.substr(0, end);
    if (is_ip_value(ip)) h.ip = defined(ip);
    r = end == npos ? std::string_view{} : r.substr(end);
  }
  if (r.starts_with(", user: ")) {
    const auto from = r.find(", from: <");
    r = from == npos ? std::string_view{} : r.substr(from);
  }
  if (r.starts_with(", from: <") && r.back() == '>') {
    h.sender = r.substr(9, r.size() - 10);
    h.has_sender = true;
  }
}

// True if `rest` (the text after a '>') starts the next field (", key: ") or ends the line,
// also when the line is cut inside the next field's name.
bool ends_value(std::string_view rest) {
  if (rest.empty() || rest == ",") return true;
  if (!rest.starts_with(", ")) return false;
  std::size_t i = 2;
  while (i < rest.size() && (is_lower(rest[i]) || rest[i] == '_' || rest[i] == ' ')) ++i;
  return i == rest.size() || (i > 2 && rest[i] == ':');
}

// "rcpts: <a@b,c@d>" (rspamd joins the addresses) or "rcpts: <a@b>,<c@d>"; rspamd logs at most
// 8 and then appends "...".
void parse_rcpts(std::string_view tail, std::vector<std::string_view>& out) {
  constexpr std::string_view kKey = ", rcpts: <";
  const auto pos = tail.find(kKey);
  if (pos == npos) return;
  std::string_view v = tail.substr(pos + kKey.size());
  std::size_t close = npos;
  for (auto q = v.find('>'); q != npos; q = v.find('>', q + 1)) {
    if (ends_value(v.substr(q + 1))) {
      close = q;
      break;
    }
  }
  bool cut = false;
  if (close == npos) {  // the line ends inside the list: its last address may be cut off
    cut = true;
    close = v.size();
  }
  const std::string_view inner = v.substr(0, close);
  const bool bracketed = inner.find(">,<") != npos;
  const std::string_view sep = bracketed ? std::string_view(">,<") : std::string_view(",");
  const std::size_t first = out.size();
  for (std::size_t b = 0; b <= inner.size();) {
    auto e = inner.find(sep, b);
    if (e == npos) e = inner.size();
    std::string_view a = trim(inner.substr(b, e - b));
    if (a.size() > 3 && ends_with(a, "...") && e == inner.size()) a.remove_suffix(3);
    if (!a.empty() && a != "...") out.push_back(a);
    b = e + sep.size();
  }
  if (cut && out.size() > first) out.pop_back();
}

std::string_view detection_action(std::string_view action) {
  if (action == "reject") return "rejected";
  if (action == "soft reject" || action == "greylist") return "deferred";
  if (action == "add header" || action == "rewrite subject") return "tagged";
  if (action == "no action") return "passed";
  if (action == "discard") return "discarded";
  if (action == "quarantine") return "quarantined";
  return action;
}

class RspamdParser final : public LogParser {
 public:
  std::string_view name() const override { return "rspamd"; }

  bool accepts_program(std::string_view program) const override {
    return program.starts_with("rspamd");
  }

 private:
  ParseStatus parse_line(const LogLine& line, ParsedRecord& out) const override {
    std::string_view body;
    if (!task_log_body(line.message, body)) return ParseStatus::kIgnored;

    // The last complete result block with a verdict, else the last complete one.
    ResultBlock chosen;
    CloseMemo memo;
    bool any_block = false;
    bool chosen_av = false;
    constexpr std::string_view kOpen = "(default: ";
    for (auto pos = body.find(kOpen); pos != npos; pos = body.find(kOpen, pos + 1)) {
      ResultBlock b;
      if (!parse_block(body, pos, b, memo)) continue;
      any_block = true;
      const bool av = !b.virus.empty();
      if (av || !chosen_av) {
        chosen = b;
        chosen_av = av;
      }
    }
    if (!any_block) return ParseStatus::kMalformed;  // cut short or garbled

    Head head;
    parse_head(body.substr(0, chosen.start), head);
    if (!head.has_mid && !head.has_qid) return ParseStatus::kMalformed;
    if (!chosen_av) return ParseStatus::kIgnored;

    out.kind = RecordKind::kDetection;
    out.virus = chosen.virus;
    out.action = detection_action(chosen.action);
    out.queue_id = head.qid;
    out.message_id = head.mid;
    out.client_ip = head.ip;
    out.sender = head.sender;
    out.has_sender = head.has_sender;
    out.recipients.clear();
    parse_rcpts(body.substr(chosen.end), out.recipients);
    return ParseStatus::kRecord;
  }
};

}  // namespace

std::unique_ptr<LogParser> make_rspamd_parser() { return std::make_unique<RspamdParser>(); }

}  // namespace vtrace
