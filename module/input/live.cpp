// Live mode: the correlator under rsyslog's omprog, with its journal, crash guard, outbox and
// outbox sender wired around the omprog loop.
#include "module/input/live.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <deque>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <thread>
#include <utility>
#include <vector>

#include "module/input/crash_guard.hpp"
#include "module/input/instance_lock.hpp"
#include "module/input/journal.hpp"
#include "module/input/omprog_loop.hpp"
#include "module/input/replay.hpp"
#include "module/input/reread_filter.hpp"
#include "module/input/rsyslog_ingester.hpp"
#include "module/input/rsyslog_json_decoder.hpp"
#include "module/output/outbox_sender.hpp"
#include "module/output/state_store.hpp"
#include "module/trace/correlator.hpp"

namespace vtrace {
namespace {

// Appends each incident to the configured JSON-lines file before rsyslog gets the "OK" for the
// line that completed it. Written, not fsynced: the file is then exactly as durable as the
// outbox and journal it copies (they survive the process, not a power failure; see
// state_store.hpp), and an fsync per incident would stall the confirmation of every message
// behind it during a worm burst.
class JsonLinesFile {
 public:
  explicit JsonLinesFile(const std::string& path) {
    if (path.empty()) return;
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd_ < 0) {
      std::cerr << "vtrace-correlator: cannot open " << path << ": " << std::strerror(errno)
                << "\n";
    }
  }
  ~JsonLinesFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  void append(const std::string& line) {
    if (fd_ < 0) return;
    std::size_t written = 0;
    while (written < line.size()) {
      const ssize_t n = ::write(fd_, line.data() + written, line.size() - written);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      written += static_cast<std::size_t>(n);
    }
  }

 private:
  int fd_ = -1;
};

// Every incident goes into the durable outbox (delivered to the responder by the sender
// thread) and, when configured, into the JSON-lines file. A resend of a known id and revision
// (after a restart rebuilt the state) is recognised by the outbox and not delivered twice.
// Between begin_batch() and end_batch() the incidents go into one transaction, opened by the
// first of them (most batches complete none and cost the database nothing); the sender is
// woken once it is committed, since it cannot see the rows before.
class DurableSink final : public IncidentSink {
 public:
  DurableSink(StateStore& store, JsonLinesFile& file, OutboxSender* sender)
      : store_(store), file_(file), sender_(sender) {}
  void deliver(const Incident& incident) override {
    if (batching_ && !store_.in_transaction() && !store_.begin()) {
      std::cerr << "vtrace-correlator: cannot start a transaction for incident " << incident.id
                << "\n";
      failed_ = true;
      return;
    }
    std::string json = to_json(incident);
    switch (store_.enqueue(incident, json)) {
      case StateStore::Enqueued::kUnchanged:
        return;  // already stored before a restart: the journal replay re-traced it
      case StateStore::Enqueued::kError:
        std::cerr << "vtrace-correlator: cannot store incident " << incident.id << "\n";
        failed_ = true;
        return;
      case StateStore::Enqueued::kNew:
        break;
    }
    json += '\n';
    file_.append(json);
    stored_ = true;
    if (!batching_) wake_sender();
  }
  void begin_batch() { batching_ = true; }
  // Commits the batch's incidents. False if one of them, or an incident stored outside a batch
  // since the last call (by the idle tick), could not be stored: the caller must not confirm
  // the batch, and exits; the restart traces both again from the journal.
  bool end_batch() {
    batching_ = false;
    bool ok = !std::exchange(failed_, false);
    if (store_.in_transaction()) {
      if (ok) {
        ok = store_.commit();
      } else {
        store_.rollback();
      }
    }
    if (ok) wake_sender();
    return ok;
  }

 private:
  void wake_sender() {
    if (sender_ != nullptr && std::exchange(stored_, false)) sender_->notify();
  }
  StateStore& store_;
  JsonLinesFile& file_;
  OutboxSender* sender_;
  bool batching_ = false;
  bool failed_ = false;
  bool stored_ = false;
};

// How often a stream of input moves the correlator's time on: small against the 250 ms a
// detection waits for its companion lines, large against the time one message takes.
constexpr Duration kAdvanceEvery = 20'000;

// How long a live correlator waits for the state directory's lock: long enough for a
// predecessor that rsyslog just killed to finish exiting, well inside rsyslog's confirmTimeout.
constexpr std::chrono::seconds kPredecessorExitWait{5};

volatile std::sig_atomic_t g_stop = 0;
volatile std::sig_atomic_t g_reload = 0;

TimePoint wall_now() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// `last_line_at`: wall time (µs) at which the last input line was handled, 0 before the first;
// tells a stale feed from a quiet one, and gives the benchmark the exact end of a run.
// What live mode itself skipped, beside the correlator's own counters.
struct LiveCounters {
  std::uint64_t oversized = 0;       // lines over the omprog loop's length limit
  std::uint64_t resent_skipped = 0;  // unconfirmed lines rsyslog sent again
  std::uint64_t reread_skipped = 0;  // lines a file input read again (RereadFilter)
};

void write_stats(const std::string& path, const Correlator& c, StateStore& store,
                 const Journal& journal, const CrashGuard& guard, const LiveCounters& live,
                 const RereadFilter& reread, TimePoint last_line_at) {
  const auto& s = c.stats();
  std::ostringstream o;
  o << "{\"lines\":" << s.lines << ",\"last_line_at\":" << last_line_at
    << ",\"records\":" << s.records << ",\"untrusted\":" << s.untrusted
    << ",\"unrecognised\":" << s.unrecognised << ",\"noise\":" << s.ignored
    << ",\"undecodable\":" << c.undecodable() << ",\"oversized\":" << live.oversized
    << ",\"detections\":" << s.detections << ",\"merged\":" << s.detections_merged
    << ",\"echoes_suppressed\":" << s.echoes_suppressed
    << ",\"backscatter_merged\":" << s.backscatter_merged
    << ",\"uncorroborated\":" << s.uncorroborated << ",\"incidents_cut\":" << s.incidents_cut
    << ",\"pending\":" << c.pending() << ",\"pending_dropped\":" << s.pending_dropped
    << ",\"wake_index_full\":" << s.wake_index_full << ",\"index_messages\":" << c.index().size()
    << ",\"evicted_by_age\":" << c.index().stats().evicted_by_age
    << ",\"evicted_by_capacity\":" << c.index().stats().evicted_by_capacity
    << ",\"incidents\":{\"exact\":" << s.incidents[0] << ",\"fuzzy\":" << s.incidents[1]
    << ",\"ambiguous\":" << s.incidents[2] << ",\"unresolved\":" << s.incidents[3]
    << "},\"outbox_depth\":" << store.outbox_depth()
    << ",\"outbox_refused\":" << store.outbox_refused() << ",\"journal\":" << journal.size()
    << ",\"resent_skipped\":" << live.resent_skipped
    << ",\"reread_skipped\":" << live.reread_skipped << ",\"reread_forgotten\":" << reread.evicted()
    << ",\"quarantined_skipped\":" << guard.skipped_count()
    << ",\"quarantine\":" << guard.quarantine_size();
  const auto& d = c.direct_smtp_stats();
  o << ",\"direct_smtp\":{\"connections\":" << d.connections << ",\"incidents\":" << d.incidents
    << ",\"revisions\":" << d.revisions << ",\"other_ports\":" << d.other_ports
    << ",\"not_watched\":" << d.not_watched << ",\"exempt\":" << d.exempt
    << ",\"retransmissions\":" << d.retransmissions << ",\"unreadable\":" << d.unreadable
    << ",\"not_firewall\":" << d.not_firewall << ",\"hosts_dropped\":" << d.hosts_dropped
    << ",\"attempts_dropped\":" << d.attempts_dropped
    << ",\"destinations_dropped\":" << d.destinations_dropped << "}";
  o << ",\"records_by_format\":{";
  bool first = true;
  for (const auto& [format, n] : s.records_by_format) {
    o << (first ? "" : ",") << "\"" << format << "\":" << n;
    first = false;
  }
  o << "}}\n";
  const std::string tmp = path + ".tmp";
  std::ofstream(tmp) << o.str();
  std::rename(tmp.c_str(), path.c_str());
  std::cerr << "vtrace-correlator: stats " << o.str();
}

// Says loudly what the crash guard found; moves the journal aside when start-ups keep failing
// without a line to blame. False if that move failed.
bool report_recovery(const CrashGuard& guard, const std::string& journal_dir) {
  const auto& recovery = guard.recovery();
  if (recovery.quarantined_line) {
    std::cerr << "vtrace-correlator: ERROR: the previous run died while processing a line; "
                 "it is set aside in "
              << guard.quarantine_path()
              << " and will not be processed again: " << recovery.quarantined_line->substr(0, 300)
              << "\n";
  }
  if (!recovery.move_journal_aside) return true;
  const std::string aside =
      journal_dir + ".set-aside-" + std::to_string(wall_now() / kMicrosPerSecond);
  if (std::rename(journal_dir.c_str(), aside.c_str()) != 0 && errno != ENOENT) {
    std::cerr << "vtrace-correlator: cannot move " << journal_dir
              << " aside: " << std::strerror(errno) << "\n";
    return false;
  }
  std::cerr << "vtrace-correlator: ERROR: " << CrashGuard::kMaxUnfinishedStartups
            << " start-ups in a row died replaying the journal; it is moved to " << aside
            << " and the correlator starts without it\n";
  return true;
}

}  // namespace

// Live mode runs under rsyslog, which restarts a correlator that exits at start (every
// action.resumeInterval) while the lines wait in its queue, or under the syslog-ng snippet's
// loop, which does the same (every 5 s) while they wait in syslog-ng's disk buffer: each refused
// start says so in the log (the omprog output= file), with the time, so an administrator
// reading the log sees that it is still refusing, and why.
void refuse_to_start(const std::string& reason) {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &utc);
  std::cerr << stamp << " vtrace-correlator: refusing to start: " << reason
            << "\nvtrace-correlator: the lines wait in the collector's queue (rsyslog's disk "
               "queue, syslog-ng's disk buffer); it starts the correlator again until this is "
               "fixed\n";
}

int run_live(LiveInputs inputs) {
  const std::string& config_path = inputs.config_path;
  CorrelatorSettings settings = std::move(inputs.settings);
  std::signal(SIGTERM, [](int) { g_stop = 1; });
  std::signal(SIGINT, [](int) { g_stop = 1; });
  std::signal(SIGHUP, [](int) { g_reload = 1; });
  std::signal(SIGPIPE, SIG_IGN);
  std::string error;
  // Before anything in the state directory is opened: a second process would append to the
  // same journal and outbox. After a short wait it exits (rsyslog keeps its lines queued and
  // retries) rather than waiting on: the holder may be rsyslog's other correlator, which stays.
  const auto lock = InstanceLock::acquire(settings.output.state_dir, kPredecessorExitWait, error);
  if (!lock) {
    refuse_to_start(error);
    return 1;
  }
  const std::string database = settings.output.state_dir + "/correlator.db";
  auto store = StateStore::open(database, error);
  if (!store) {
    refuse_to_start("cannot open the state database: " + error);
    return 1;
  }
  // Before the journal: a crash the previous process died of may have to set a line aside,
  // or the whole journal.
  auto guard = CrashGuard::open(settings.output.state_dir, error);
  if (!guard) {
    refuse_to_start("cannot open the crash guard: " + error);
    return 1;
  }
  const std::string journal_dir = settings.output.state_dir + "/journal";
  if (!report_recovery(*guard, journal_dir)) return 1;
  auto journal = Journal::open(journal_dir, error);
  if (!journal) {
    refuse_to_start("cannot open the journal: " + error);
    return 1;
  }
  const auto imported = store->take_legacy_journal(
      [&](TimePoint t, std::string_view line) { journal->add(t, line); });
  if (imported > 0) {
    if (!journal->flush()) {
      std::cerr << "vtrace-correlator: cannot write the journal in " << journal->directory()
                << "\n";
      return 1;
    }
    std::cerr << "vtrace-correlator: moved " << imported
              << " journalled lines from the database to " << journal->directory() << "\n";
  }
  JsonLinesFile file(settings.output.jsonl_path);
  std::unique_ptr<HttpIncidentPoster> poster;
  std::unique_ptr<OutboxSender> sender;
  if (!settings.output.responder_url.empty()) {
    poster = std::make_unique<HttpIncidentPoster>(settings.output.responder_url, "");
    sender = std::make_unique<OutboxSender>(database, *poster);
    sender->start();
  }
  DurableSink sink(*store, file, sender.get());
  auto settings_ptr = std::make_unique<CorrelatorSettings>(std::move(settings));
  std::unique_ptr<Correlator> correlator;
  std::unique_ptr<RsyslogIngester> ingester;
  // Journalled lines rsyslog never had the OK for: it sends them again first, and they are
  // skipped then (already journalled and ingested), so a re-send is never a second detection.
  std::deque<std::string> resent;
  LiveCounters counters;
  // Lines imfile reads again after rsyslogd died before saving its position: known by where
  // they are in their file, rebuilt from the journal like the rest of the state.
  RereadFilter reread;
  std::vector<std::string_view> journalled;  // this batch's, for the crash guard's test hook
  RsyslogJsonDecoder decoder;
  RsyslogRecord record;
  auto rebuild = [&] {
    ingester.reset();
    reread.clear();
    correlator = std::make_unique<Correlator>(*settings_ptr, sink);
    correlator->set_trace_watch([&guard](std::string_view line) { guard->watch_trace(line); });
    ingester = std::make_unique<RsyslogIngester>(*correlator);
    ReplayOptions archive_options;
    archive_options.timezone = settings_ptr->timezone;
    archive_options.reference_time = wall_now();
    correlator->set_archive_loader(ArchiveSearcher(archive_options));
    // The journal's detections arrive now, for the settle wait: the relays' records that
    // rsyslog still holds are waited for (settle_timeout), not given up on at once.
    correlator->advance(wall_now());
    std::uint64_t n = 0;
    journal->for_each([&](TimePoint, std::string_view line) {
      if (guard->is_quarantined(line)) {
        guard->skipped();
        return;
      }
      if (decoder.decode(line, record)) {
        reread.remember(record.filename, record.fileoffset, record.msg);
        guard->enter_ingest(line);
        correlator->set_input_line(line);
        ingester->ingest(record);
        guard->leave();
        ++n;
      }
    });
    resent = journal->take_unconfirmed();
    // What the replay completes is stored in one transaction (mostly incidents the outbox
    // already has: recognised and not sent again).
    sink.begin_batch();
    correlator->advance(wall_now());
    if (!sink.end_batch()) std::cerr << "vtrace-correlator: incidents of the replay not stored\n";
    if (n > 0) std::cerr << "vtrace-correlator: rebuilt state from " << n << " journalled lines\n";
  };
  rebuild();
  guard->startup_finished();
  const std::string stats_path = settings_ptr->output.stats_path.empty()
                                     ? settings_ptr->output.state_dir + "/correlator-stats.json"
                                     : settings_ptr->output.stats_path;
  TimePoint last_stats = wall_now();
  TimePoint last_prune = last_stats;
  TimePoint last_line_at = 0;
  TimePoint last_advance = 0;
  std::uint64_t malformed = 0;
  auto housekeeping = [&] {
    journal->mark_confirmed();  // the last batch's OKs are written
    const TimePoint now = wall_now();
    correlator->advance(now);
    last_advance = now;
    if (g_reload) {
      g_reload = 0;
      Diagnostics diagnostics;
      if (auto fresh = load_correlator_settings(config_path, diagnostics)) {
        settings_ptr = std::make_unique<CorrelatorSettings>(std::move(*fresh));
        rebuild();
        std::cerr << "vtrace-correlator: configuration reloaded\n";
      } else {
        std::cerr << "vtrace-correlator: reload refused, keeping the running configuration:\n"
                  << diagnostics.render();
      }
    }
    if (now - last_prune > seconds(30)) {
      last_prune = now;
      journal->prune(
          now - settings_ptr->correlation.window - settings_ptr->correlation.pending_timeout, now);
    }
    if (now - last_stats >= settings_ptr->output.stats_interval) {
      last_stats = now;
      write_stats(stats_path, *correlator, *store, *journal, *guard, counters, reread,
                  last_line_at);
    }
    return g_stop == 0;
  };
  // A batch's lines go into the journal with one write, and the incidents they (or the passing
  // time) complete into the outbox with one commit; only then does the loop confirm them.
  auto on_batch = [&](std::span<const std::string_view> lines) {
    journal->mark_confirmed();  // the previous batch's OKs are written
    const TimePoint arrived = wall_now();
    for (const std::string_view line : lines) {
      if (!resent.empty()) {
        if (line == resent.front()) {
          resent.pop_front();
          ++counters.resent_skipped;
          continue;
        }
        resent.clear();  // rsyslog sends the unconfirmed lines first, or none of them
      }
      if (guard->is_quarantined(line)) {
        // rsyslog sends again the line the last process died on: set aside, confirmed.
        guard->skipped();
        continue;
      }
      if (line.empty()) {
        // The omprog loop dropped a line over its length limit (rsyslog's template never
        // makes an empty one).
        correlator->count_undecodable();
        if (counters.oversized++ < 10) {
          std::cerr << "vtrace-correlator: input line over " << kMaxOmprogLineBytes
                    << " bytes dropped\n";
        }
        continue;
      }
      if (!decoder.decode(line, record)) {
        correlator->count_undecodable();
        if (malformed++ < 10) {
          std::cerr << "vtrace-correlator: malformed input line ignored: " << line.substr(0, 200)
                    << "\n";
        }
        continue;
      }
      if (reread.seen(record.filename, record.fileoffset, record.msg)) {
        ++counters.reread_skipped;  // journalled and traced when it was first read
        continue;
      }
      const auto before = correlator->relevant_lines();
      guard->enter_ingest(line);
      correlator->set_input_line(line);
      const auto t = ingester->ingest(record);
      guard->leave();
      if (correlator->relevant_lines() != before) {
        journal->add(std::min(t.value_or(arrived), arrived), line);
        reread.remember(record.filename, record.fileoffset, record.msg);
        if (guard->has_test_hooks()) journalled.push_back(line);
      }
    }
    bool durable = journal->flush();
    if (durable) {
      last_line_at = arrived;
      sink.begin_batch();
      // Time is moved on at most every kAdvanceEvery, not for every one-message batch (most
      // of them settle nothing); the idle tick does it when input pauses. A detection whose
      // incident is thereby made a batch later is still safe: its line is in the journal,
      // which a restart replays, so no confirmed line goes untraced.
      if (arrived - last_advance >= kAdvanceEvery) {
        correlator->advance(arrived);
        last_advance = arrived;
      }
      durable = sink.end_batch();
    }
    if (durable) {
      for (const std::string_view line : journalled) guard->confirming(line);
      journalled.clear();
    }
    if (!durable) {
      // Not durable, so not confirmed: exit, and let rsyslog restart us and send the batch
      // again. The restart rebuilds the correlator from the journal, so what it knows is what
      // is on disk; lines of the batch that did reach the journal are then ingested twice,
      // which changes nothing (the same records, the same detection keys).
      std::cerr << "vtrace-correlator: cannot make a batch of " << lines.size()
                << " lines durable; exiting without confirming it\n";
    }
    return durable;
  };
  const auto end = run_omprog_loop(inputs.in_fd, inputs.out_fd, on_batch, housekeeping, 250,
                                   kMaxOmprogLineBytes, inputs.feed);
  if (end != OmprogEnd::kFailed) journal->mark_confirmed();
  if (end != OmprogEnd::kFailed) correlator->advance(wall_now());
  write_stats(stats_path, *correlator, *store, *journal, *guard, counters, reread, last_line_at);
  if (sender) {
    // Give the sender a moment to deliver what the last lines produced.
    for (int i = 0; end != OmprogEnd::kFailed && i < 20 && store->outbox_depth() > 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    sender->stop();
  }
  return end == OmprogEnd::kFailed ? 1 : 0;
}

}  // namespace vtrace
