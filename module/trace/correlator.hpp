// Correlator: decoded log lines in, incidents out. Trusts only configured sources, indexes
// their mail, holds detections until their records have had time to arrive, traces them and
// hands finished incidents to a sink. Pure: time comes from the lines and from advance().
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <queue>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/incident.hpp"
#include "module/parsers/isvw_assembler.hpp"
#include "module/parsers/log_line.hpp"
#include "module/parsers/parser_registry.hpp"
#include "module/settings.hpp"
#include "module/trace/direct_smtp_tracker.hpp"
#include "module/trace/hop_tracer.hpp"
#include "module/trace/mail_index.hpp"
#include "module/trace/topology.hpp"
#include "module/trace/wake_index.hpp"

namespace vtrace {

class IncidentSink {
 public:
  virtual ~IncidentSink() = default;
  virtual void deliver(const Incident& incident) = 0;
};

struct CorrelatorStats {
  std::uint64_t lines = 0;
  std::uint64_t untrusted = 0;     // from hosts that are not configured sources
  std::uint64_t unrecognised = 0;  // trusted, but no parser claims the program
  std::uint64_t ignored = 0;       // a format's noise lines
  std::uint64_t records = 0;
  std::map<std::string, std::uint64_t, std::less<>> records_by_format;
  std::map<std::string, std::uint64_t, std::less<>> malformed_by_format;
  std::uint64_t detections = 0;
  std::uint64_t detections_merged = 0;       // companion lines of one detection
  std::uint64_t echoes_suppressed = 0;       // a relay's bounce of a detection another host made
  std::uint64_t backscatter_merged = 0;      // a detected bounce of a message already traced
  std::uint64_t pending_dropped = 0;         // traced early because the pending queue was full
  std::uint64_t wake_index_full = 0;         // held detections re-checked at every change instead
  std::uint64_t uncorroborated = 0;          // detections the detecting host's MTA never logged
  std::uint64_t revisions = 0;               // unresolved incidents traced later and re-sent
  std::uint64_t archive_searches = 0;        // archived logs read for a broken chain
  std::uint64_t incidents_cut = 0;           // incidents with a field cut to its bound
  std::array<std::uint64_t, 4> incidents{};  // by Confidence
};

class Correlator;

// Loads a source's archived log lines between two times into the correlator (through
// Correlator::ingest_archive). Set in live mode; replay has no archive beyond its input.
using ArchiveLoader =
    std::function<void(SourceIndex source, TimePoint from, TimePoint to, Correlator& target)>;

class Correlator {
 public:
  // `settings` must outlive the correlator. `timezone` overrides the configured zone of BSD and
  // ISVW timestamps (the replay's --timezone); empty keeps the configuration's.
  Correlator(const CorrelatorSettings& settings, IncidentSink& sink, std::string timezone = {});

  const Topology& topology() const { return topology_; }

  // A line already attributed to a trusted `source` (the caller resolved it from the
  // hostname, fromhost-ip or a SOURCE= argument).
  void ingest(SourceIndex source, const LogLine& line);
  // A line whose source is only its envelope hostname: dropped and counted unless the
  // hostname belongs to a configured source.
  void ingest_untrusted(const LogLine& line);
  // Counts a line from an address that is not a configured source.
  void ingest_untrusted_counted() {
    ++stats_.lines;
    ++stats_.untrusted;
  }
  // Counts a line that could not be decoded at all.
  void count_undecodable() {
    ++stats_.lines;
    ++undecodable_;
  }

  // Indexes a line from an archived log file without taking its detections: archived
  // detections were already handled when they were live.
  void ingest_archive(SourceIndex source, const LogLine& line);
  // Enables the search of archived logs for chains that broke for want of a record.
  void set_archive_loader(ArchiveLoader loader) { archive_loader_ = std::move(loader); }

  // Live mode's crash guard: `watch` is called with a detection's input line (as given to
  // set_input_line() when the detection arrived) before each trace of it, and with an empty
  // view after, so a crash inside a trace can be blamed on the line that caused it.
  using TraceWatch = std::function<void(std::string_view input_line)>;
  void set_trace_watch(TraceWatch watch) { trace_watch_ = std::move(watch); }
  // The raw input line the next ingest() call comes from (a journal line); must stay valid
  // during that call. Kept with a detection only when a trace watch is set.
  void set_input_line(std::string_view line) { input_line_ = line; }

  // Moves time forward: traces detections whose settle time has passed, retries waiting
  // ones, emits what is final, and evicts old index entries.
  void advance(TimePoint now);
  // End of input: every pending detection is traced once more and emitted as it stands.
  void finish();

  const CorrelatorStats& stats() const { return stats_; }
  const DirectSmtpStats& direct_smtp_stats() const { return direct_smtp_.stats(); }
  // Lines that changed state (a record, or part of an ISVW record): the ones worth journaling.
  std::uint64_t relevant_lines() const { return relevant_lines_; }
  std::uint64_t undecodable() const { return undecodable_; }
  const MailIndex& index() const { return index_; }
  std::size_t pending() const { return pending_.size(); }
  // The first few uncorroborated detection lines, with the reason, for the operator.
  const std::vector<std::string>& uncorroborated_samples() const { return uncorroborated_samples_; }

 private:
  struct Pending {
    DetectionFacts facts;
    std::optional<SourceIndex> missing_source;  // unresolved: where the chain broke
    std::uint64_t missing_generation = 0;       // that source's records when last traced
    Incident incident;  // detection fields filled; trace fields filled at emission
    std::string key;
    // Log time every source must have logged past before the detection is traced (its time
    // plus clock_skew, or three times that for a relay echo), unless the sources behind it have
    // been silent for settle_timeout, or kMaxSettleWaits settle_timeouts have passed since it
    // arrived (`arrived`: the time of the advance() before it, wall time when live).
    TimePoint settle_at = 0;
    TimePoint arrived = 0;
    TimePoint first_try = -1;
    bool has_id_key = false;             // keyed by queue id or Message-ID
    bool echo = false;                   // a bounce whose refusing next hop is one of our sources
    std::uint64_t early_generation = 0;  // index generation of the last early attempt
    std::string format;
    bool from_mta = false;   // format is an MTA's (LogParser::is_mta)
    std::string input_line;  // the detection's raw input line, for the trace watch
    // The answer of the last settled trace while it waits, with what that trace read from the
    // index and the index's change epoch then: a retry traces again only when a change since
    // names something it read (outbreaks hold thousands of detections for pending_timeout).
    std::optional<TraceOutcome> held;
    std::vector<MailIndex::Fact> held_reads;  // what the held answer's trace read, until parked
    std::uint64_t seq = 0;                    // arrival order: the key in pending_
    // Something it read (or a key its answer depends on) changed since its held answer.
    bool dirty = false;
    // Held and waiting in wake_index_: visited again only when woken or at its deadline.
    bool parked = false;
    bool deadline_queued = false;  // its first_try + pending_timeout is in deadlines_
    // reported_already()'s key for the held answer's detector record ("" until asked).
    mutable std::string detector_key;
    // Every source has logged past settle_at: settled, whatever the clock says later.
    mutable bool logged_past_settle = false;
  };

  // `format`: the parser's name (or "isvw"); `from_mta`: that parser's is_mta().
  void on_record(SourceIndex source, TimePoint t, std::string_view format, bool from_mta,
                 const ParsedRecord& record, std::string_view evidence);
  void on_detection(SourceIndex source, TimePoint t, std::string_view format, bool from_mta,
                    const ParsedRecord& record, std::string_view evidence);
  bool try_emit(Pending& p, TimePoint now, bool final);
  // The record (source name|queue id) of the original message a bounce in this chain returns;
  // empty when the chain has no bounce link.
  static std::string bounced_original(const TraceOutcome& outcome);
  bool is_backscatter(const TraceOutcome& outcome) const;
  void merge_backscatter(const Pending& p, const TraceOutcome& outcome);
  // Records the (source, queue id) of every record the trace went through, for relay echoes.
  void cover(const TraceOutcome& outcome, TimePoint t);
  bool try_early(Pending& p, TimePoint now);
  // Two detection lines of one host name the same message's envelope: the same sender, or,
  // when one names only a queue id, the MTA's record of it has the other's envelope.
  bool same_envelope(const DetectionFacts& a, const DetectionFacts& b) const;
  bool reported_already(const Pending& p, const TraceOutcome& outcome) const;
  void emit(Pending& p, TraceOutcome outcome);
  TraceOutcome trace_with_archive(Pending& p, TraceOutcome outcome);
  // Every trace goes through here, under the trace watch.
  TraceOutcome trace(const Pending& p);
  // Leaves in p.held the answer of p's last trace while nothing it read has changed, else of
  // a new trace (recording what it reads).
  void held_or_trace(Pending& p);
  // Parks a held detection in wake_index_ under what its answer read, or keeps it visited
  // at every advance (scanned_) while its settledness or reported_already() may still turn.
  void park(Pending& p);
  void unpark(Pending& p);
  // The index's changes since the last call wake the detections that read them.
  void wake_changed();
  void wake(std::uint64_t seq);
  void wake_key(std::string_view key);
  static WakeIndex::Fact key_fact(std::string_view key);
  std::map<std::uint64_t, Pending>::iterator erase_pending(
      std::map<std::uint64_t, Pending>::iterator it);
  void add_pending(Pending p);
  void revisit(TimePoint now);
  // Drops the Message-ID texts no pending detection can be joined to any more.
  void forget_message_ids();

  const CorrelatorSettings& settings_;
  IncidentSink& sink_;
  Topology topology_;
  ParserRegistry registry_;
  MailIndex index_;
  std::vector<IsvwAssembler> isvw_;  // one per source
  std::vector<LocalTimeResolver> zones_;
  // Held detections by arrival order (the order they are traced and emitted in).
  std::map<std::uint64_t, Pending> pending_;
  std::uint64_t next_seq_ = 1;
  // The same detections in the same order, for on_detection()'s look back at the last few
  // (a map's steps back cost several times a vector's).
  std::vector<Pending*> arrival_order_;
  // Per echo kind (detections, then relay echoes): the detections advance() visits. scanned_:
  // at every advance (not yet traced, or settled only for now); woken_: at the next retry,
  // something they read changed; due_: this advance, their pending_timeout has passed.
  std::array<std::set<std::uint64_t>, 2> scanned_;
  std::array<std::set<std::uint64_t>, 2> woken_;
  std::array<std::set<std::uint64_t>, 2> due_;
  WakeIndex wake_index_;
  std::vector<WakeIndex::Fact> changes_;
  std::vector<std::uint64_t> woken_scratch_;
  std::size_t parked_ = 0;
  // (first_try + pending_timeout, seq) of the detections traced once; stale entries skipped.
  std::priority_queue<std::pair<TimePoint, std::uint64_t>,
                      std::vector<std::pair<TimePoint, std::uint64_t>>, std::greater<>>
      deadlines_;
  // Per source: the detection times held, for forget_message_ids().
  std::vector<std::multiset<TimePoint>> pending_times_;
  // Unresolved incidents, traced again while their window lasts; a better answer is sent as a
  // new revision of the same incident.
  std::deque<Pending> revisits_;
  ArchiveLoader archive_loader_;
  TraceWatch trace_watch_;
  std::string_view input_line_;
  bool archive_mode_ = false;
  // Keys of detections already emitted, with their time: late companion lines merge into
  // nothing. Bounded by the correlation window.
  std::unordered_map<std::string, TimePoint> emitted_keys_;
  std::deque<std::pair<TimePoint, std::string>> emitted_order_;
  // (source, queue id) of every record an emitted trace went through, for relay echoes.
  std::unordered_map<std::string, TimePoint> covered_;
  std::deque<std::pair<TimePoint, std::string>> covered_order_;
  // Id-less detections per envelope and log second, to number them. Kept, in log time, as long
  // as the keys they name (the window): a record that arrives late -- a backlog, an imfile
  // read lagging its file, a restart -- is numbered as replay numbers it, and never takes the
  // number, and so the key, of an earlier record of the same second.
  std::unordered_map<std::string, int> repeat_counts_;
  std::deque<std::pair<TimePoint, std::string>> repeat_order_;
  std::vector<std::string> uncorroborated_samples_;
  ParsedRecord scratch_;
  std::string evidence_;  // a live detection line with its envelope written back
  // The last hostname seen: consecutive lines mostly repeat it.
  std::string last_hostname_;
  std::optional<SourceIndex> last_hostname_source_;
  std::string_view last_format_;  // a parser's name, or "isvw"
  std::uint64_t* last_format_count_ = nullptr;
  CorrelatorStats stats_;
  std::uint64_t undecodable_ = 0;
  std::uint64_t relevant_lines_ = 0;
  std::uint64_t index_generation_ = 0;
  std::vector<std::uint64_t> source_generation_;  // records applied per source
  std::uint64_t retried_generation_ = 0;
  TimePoint watermark_ = 0;
  // Per source: the latest log time it has logged (0: nothing yet). A detection settles when
  // every source that has logged anything is past its settle time: what the collector has seen
  // decides, never the wall clock alone, so a backlog gives what replay gives.
  std::vector<TimePoint> source_watermark_;
  // Per source: the clock (the `now` of the last advance(), wall time live) when it last
  // delivered a line. A source behind a detection's settle time that is still delivering (a
  // backlog draining, a collector catching up under load) is waited for; one that has been
  // silent for settle_timeout is not.
  std::vector<TimePoint> source_heard_;
  TimePoint clock_ = 0;  // the `now` of the last advance()
  bool settled(const Pending& p, TimePoint now) const;
  TimePoint last_retry_ = 0;
  // Firewall sources' connection records (direct_smtp in the settings).
  void on_connection(SourceIndex source, const LogLine& line, std::string_view format);
  void deliver_direct_smtp();
  DirectSmtpTracker direct_smtp_;
  std::vector<Incident> direct_smtp_out_;
};

}  // namespace vtrace
