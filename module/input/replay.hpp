// Replay: reads archived log files (plain or .gz, syslog, exim main log, ISVW virus log) from
// any number of hosts, merges them in time order and feeds the correlator.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "module/trace/correlator.hpp"

namespace vtrace {

struct ReplayInput {
  std::string source;  // configured source name from "SOURCE=FILE"; empty = from the envelope
  std::string path;
};

// Parses "SOURCE=FILE" or "FILE". A '=' inside a path with a '/' before it is part of the path.
ReplayInput parse_replay_argument(const std::string& argument);

struct ReplayOptions {
  int year = 0;          // for BSD timestamps; 0 = infer from `reference_time`
  std::string timezone;  // "" = the settings' zone, else the process's TZ
  TimePoint reference_time = 0;
  bool progress = false;  // print a progress line on stderr
};

// Lines longer than this are skipped and counted (ReplaySummary::oversized), not cut: a cut
// line could end in a shorter queue id that links to another message. rsyslog's own limit is
// 8 KiB by default, and vtrace's collector snippet raises it to 64 KiB.
inline constexpr std::size_t kMaxReplayLineBytes = 64 * 1024;

struct ReplaySummary {
  std::uint64_t files = 0;
  std::uint64_t bytes = 0;
  std::uint64_t lines = 0;
  std::uint64_t undecodable = 0;
  std::uint64_t oversized = 0;      // lines over kMaxReplayLineBytes, skipped
  std::vector<std::string> errors;  // files that could not be read
};

// Feeds every input to `correlator` in merged time order and calls finish(). Errors opening a
// file are collected in the summary (the other files are still replayed).
ReplaySummary run_replay(Correlator& correlator, const std::vector<ReplayInput>& inputs,
                         const ReplayOptions& options, std::ostream& progress_out);

// Searches a source's archived log files (its configured `archive` glob patterns, plain or
// .gz) for the lines between two times and indexes them. Remembers what it already read so a
// burst of broken chains reads each stretch of archive once.
class ArchiveSearcher {
 public:
  explicit ArchiveSearcher(ReplayOptions options) : options_(std::move(options)) {}
  void operator()(SourceIndex source, TimePoint from, TimePoint to, Correlator& correlator);
  std::uint64_t lines_read() const { return lines_read_; }

 private:
  ReplayOptions options_;
  std::vector<std::tuple<SourceIndex, TimePoint, TimePoint>> done_;
  std::uint64_t lines_read_ = 0;
};

// Human-readable summary of a replay and the correlator's counters.
void print_summary(std::ostream& out, const ReplaySummary& summary, const Correlator& correlator,
                   double seconds);

}  // namespace vtrace
