// InterScan VirusWall record assembly.
#include "module/parsers/isvw_assembler.hpp"

#include "module/parsers/parse_util.hpp"

namespace vtrace {

namespace {

constexpr std::string_view kKeys[] = {
    "Date: ", "Method: ", "From: ", "To: ", "File: ", "Action: ", "Virus: "};

int number(std::string_view s) {
  if (s.empty() || s.size() > 4) return -1;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return -1;
    v = v * 10 + (c - '0');
  }
  return v;
}

}  // namespace

bool IsvwAssembler::looks_like_isvw(std::string_view line) {
  // Called for every log line: the first byte picks the one or two keys worth comparing
  // (kKeys: Date, Method, From, To, File, Action, Virus).
  if (line.size() < 5) return false;
  switch (line[0]) {
    case 'D':
      return line.starts_with(kKeys[0]);
    case 'M':
      return line.starts_with(kKeys[1]);
    case 'F':
      return line.starts_with(kKeys[2]) || line.starts_with(kKeys[4]);
    case 'T':
      return line.starts_with(kKeys[3]);
    case 'A':
      return line.starts_with(kKeys[5]);
    case 'V':
      return line.starts_with(kKeys[6]);
    default:
      return false;
  }
}

void IsvwAssembler::reset() {
  date_.clear();
  from_.clear();
  to_.clear();
  file_.clear();
  action_.clear();
  virus_.clear();
  lines_.clear();
  open_ = false;
}

std::optional<TimePoint> IsvwAssembler::parse_date(std::string_view date, LocalTimeResolver& zone) {
  date = trim(date);
  const auto s1 = date.find('/');
  const auto s2 = date.find('/', s1 + 1);
  const auto space = date.find(' ', s2 + 1);
  if (s1 == std::string_view::npos || s2 == std::string_view::npos ||
      space == std::string_view::npos || date.size() != space + 9) {
    return std::nullopt;
  }
  const int month = number(date.substr(0, s1));
  const int day = number(date.substr(s1 + 1, s2 - s1 - 1));
  int year = number(date.substr(s2 + 1, space - s2 - 1));
  const int hour = number(date.substr(space + 1, 2));
  const int minute = number(date.substr(space + 4, 2));
  const int second = number(date.substr(space + 7, 2));
  if (year >= 0 && year < 100) year += 2000;
  if (month < 1 || month > 12 || day < 1 || day > 31 || year < 1990 || hour < 0 || hour > 23 ||
      minute < 0 || minute > 59 || second < 0 || second > 60 || date[space + 3] != ':' ||
      date[space + 6] != ':' || !valid_civil_date(year, month, day)) {
    return std::nullopt;
  }
  return zone.to_utc(year, month, day, hour, minute, second);
}

bool IsvwAssembler::complete_record(LocalTimeResolver& zone) {
  const auto time = parse_date(date_, zone);
  if (!time) return false;
  if (virus_.empty() || (from_.empty() && to_.empty())) return false;
  time_ = *time;
  record_.clear();
  record_.kind = RecordKind::kDetection;
  record_.virus = virus_;
  record_.action = action_;
  record_.file = file_;
  record_.sender = strip_brackets(from_);
  record_.has_sender = !from_.empty();
  split_addresses(to_, record_.recipients);
  evidence_.clear();
  for (const auto& l : lines_) {
    if (!evidence_.empty()) evidence_ += " | ";
    evidence_ += l;
  }
  return true;
}

IsvwAssembler::Feed IsvwAssembler::feed(std::string_view raw, LocalTimeResolver& zone) {
  const std::string_view line = trim(raw);
  if (line.empty()) {
    if (!open_) return Feed::kConsumed;
    reset();
    return Feed::kMalformed;  // a record cut short by a blank line
  }
  std::size_t key_index = std::size(kKeys);
  for (std::size_t i = 0; i < std::size(kKeys); ++i) {
    if (line.starts_with(kKeys[i]) || line == trim(kKeys[i])) key_index = i;
  }
  if (key_index == std::size(kKeys)) return open_ ? (reset(), Feed::kMalformed) : Feed::kNotIsvw;
  Feed result = Feed::kConsumed;
  if (key_index == 0) {
    if (open_) result = Feed::kMalformed;  // the previous record never reached "Virus:"
    reset();
    open_ = true;
  } else if (!open_) {
    return Feed::kMalformed;  // a record's tail without its "Date:"
  }
  if (lines_.size() < 16) lines_.emplace_back(line);
  const std::string_view value =
      line.size() > kKeys[key_index].size() ? trim(line.substr(kKeys[key_index].size())) : "";
  switch (key_index) {
    case 0:
      date_ = value;
      break;
    case 2:
      from_ = value;
      break;
    case 3:
      to_ = value;
      break;
    case 4:
      file_ = value;
      break;
    case 5:
      action_ = value;
      break;
    case 6: {
      virus_ = value;
      const bool ok = complete_record(zone);
      open_ = false;
      return ok ? Feed::kRecord : Feed::kMalformed;
    }
    default:
      break;
  }
  return result;
}

}  // namespace vtrace
