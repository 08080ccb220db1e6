// Correlator orchestration: trust, parse, index, hold, trace, emit.
#include "module/trace/correlator.hpp"

#include <algorithm>
#include <limits>

#include "common/text.hpp"
#include "module/output/incident_bounds.hpp"

namespace vtrace {

namespace {

// Counts under a format name without building a string for every line.
void count(std::map<std::string, std::uint64_t, std::less<>>& counters, std::string_view key) {
  auto it = counters.find(key);
  if (it == counters.end()) it = counters.emplace(std::string(key), 0).first;
  ++it->second;
}

constexpr std::size_t kMaxRecipients = kMaxIncidentRecipients;
constexpr std::size_t kMergeLookback = 256;
// A source still delivering lines, but behind a detection's settle time, holds it at most this
// many settle_timeouts (60 s by default): a backlog catches up well within that, and a source
// whose clock stays further behind than clock_skew is misconfigured, not late.
constexpr std::int64_t kMaxSettleWaits = 6;

bool is_isvw_program(std::string_view program) {
  return program == "isvw" || program == "ISVW" || program == "iscan" || program == "InterScan" ||
         program == "interscan";
}

// The MTAs' own lines about a verdict (postfix's reply from a content filter, sendmail's and
// exim's rejects) name less than the scanner's line: no sender, or no virus name.
bool overlap(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  if (a.empty() || b.empty()) return true;
  for (const auto& x : a) {
    if (std::find(b.begin(), b.end(), x) != b.end()) return true;
  }
  return false;
}

void add_unique(std::vector<std::string>& to, const std::string& value, std::size_t limit) {
  if (!value.empty() && to.size() < limit && std::find(to.begin(), to.end(), value) == to.end()) {
    to.push_back(value);
  }
}

template <typename Map>
void trim_before(Map& map, std::deque<std::pair<TimePoint, std::string>>& order, TimePoint cutoff) {
  while (!order.empty() && order.front().first < cutoff) {
    auto it = map.find(order.front().second);
    if (it != map.end()) map.erase(it);
    order.pop_front();
  }
}

// Whether the detecting host's logged verdicts (clean, infected by V) are about what this
// scanner saw: its MTA's lines are for a milter, amavis logs its own. See
// DetectionFacts::verdicts_apply.
bool verdicts_speak_for(std::string_view format, bool from_mta) {
  return from_mta || format == "clamav-milter" || format == "amavis";
}

}  // namespace

Correlator::Correlator(const CorrelatorSettings& settings, IncidentSink& sink, std::string timezone)
    : settings_(settings),
      sink_(sink),
      topology_(settings),
      registry_(settings.custom_formats),
      index_(static_cast<std::size_t>(settings.correlation.max_messages),
             settings.correlation.window),
      isvw_(settings.sources.size()),
      // Sixteen facts a held detection on average (a trace reads about ten).
      wake_index_(
          static_cast<std::size_t>(std::max<std::int64_t>(settings.correlation.max_pending, 256)) *
          16),
      pending_times_(settings.sources.size()),
      source_generation_(settings.sources.size(), 0),
      source_watermark_(settings.sources.size(), 0),
      source_heard_(settings.sources.size(), 0),
      direct_smtp_(settings, topology_) {
  for (const auto& s : settings.sources) {
    zones_.emplace_back(!timezone.empty()     ? timezone
                        : !s.timezone.empty() ? s.timezone
                                              : settings.timezone);
  }
}

void Correlator::ingest_untrusted(const LogLine& line) {
  if (!same_text(line.hostname, last_hostname_)) {
    last_hostname_.assign(line.hostname);
    last_hostname_source_ = topology_.by_hostname(line.hostname);
  }
  if (auto source = last_hostname_source_) {
    ingest(*source, line);
    return;
  }
  ++stats_.lines;
  ++stats_.untrusted;
}

void Correlator::ingest(SourceIndex source, const LogLine& line) {
  ++stats_.lines;
  if (line.time > source_watermark_[source]) source_watermark_[source] = line.time;
  source_heard_[source] = clock_;
  if (is_isvw_program(line.program) || IsvwAssembler::looks_like_isvw(line.message)) {
    ++relevant_lines_;
    switch (isvw_[source].feed(line.message, zones_[source])) {
      case IsvwAssembler::Feed::kRecord: {
        const auto& assembler = isvw_[source];
        on_record(source, assembler.time(), "isvw", false, assembler.record(),
                  assembler.evidence());
        return;
      }
      case IsvwAssembler::Feed::kMalformed:
        count(stats_.malformed_by_format, "isvw");
        return;
      case IsvwAssembler::Feed::kConsumed:
        return;
      case IsvwAssembler::Feed::kNotIsvw:
        break;
    }
  }
  for (const LogParser* parser : registry_.parsers_for(line.program)) {
    scratch_.clear();
    switch (parser->parse(line, scratch_)) {
      case ParseStatus::kNotMine:
        continue;
      case ParseStatus::kIgnored:
        ++stats_.ignored;
        return;
      case ParseStatus::kMalformed:
        count(stats_.malformed_by_format, parser->name());
        return;
      case ParseStatus::kRecord:
        if (scratch_.kind == RecordKind::kConnection ||
            topology_.source(source).role == SourceRole::kFirewall) {
          on_connection(source, line, parser->name());
          return;
        }
        if (line.raw_is_message && scratch_.kind == RecordKind::kDetection) {
          evidence_.assign(format_rfc3339(line.time)).append(" ").append(line.hostname);
          evidence_.append(" ").append(line.program);
          if (!line.pid.empty()) evidence_.append("[").append(line.pid).append("]");
          evidence_.append(": ").append(line.message);
          on_record(source, line.time, parser->name(), parser->is_mta(), scratch_, evidence_);
          return;
        }
        on_record(source, line.time, parser->name(), parser->is_mta(), scratch_, line.raw);
        return;
    }
  }
  ++stats_.unrecognised;
}

void Correlator::on_connection(SourceIndex source, const LogLine& line, std::string_view format) {
  // A firewall's lines never start or extend a mail trace, and only a firewall's connection
  // records count: a mail host's own packet log is not the border.
  const bool firewall = topology_.source(source).role == SourceRole::kFirewall;
  if (scratch_.kind != RecordKind::kConnection || archive_mode_) {
    ++stats_.ignored;
    return;
  }
  if (!firewall) {
    direct_smtp_.count_not_firewall();
    ++stats_.ignored;
    return;
  }
  ++stats_.records;
  ++relevant_lines_;
  count(stats_.records_by_format, format);
  // The log clock that ends quiet bursts moves with the firewall's lines too.
  watermark_ = std::max(watermark_, line.time);
  if (!settings_.direct_smtp.enabled) return;
  direct_smtp_.observe(source, line, format, scratch_, direct_smtp_out_);
  deliver_direct_smtp();
}

void Correlator::deliver_direct_smtp() {
  for (Incident& in : direct_smtp_out_) {
    if (bound_incident(in) > 0) ++stats_.incidents_cut;
    sink_.deliver(in);
  }
  direct_smtp_out_.clear();
}

void Correlator::ingest_archive(SourceIndex source, const LogLine& line) {
  archive_mode_ = true;
  ingest(source, line);
  archive_mode_ = false;
}

void Correlator::on_record(SourceIndex source, TimePoint t, std::string_view format, bool from_mta,
                           const ParsedRecord& record, std::string_view evidence) {
  if (archive_mode_) {
    index_.apply(source, t, record);
    ++index_generation_;
    ++source_generation_[source];
    return;
  }
  ++stats_.records;
  ++relevant_lines_;
  // Formats are parsers' names (stable storage) and come in runs: one lookup per run.
  if (format.data() != last_format_.data() || format.size() != last_format_.size()) {
    last_format_ = format;
    auto it = stats_.records_by_format.find(format);
    if (it == stats_.records_by_format.end()) {
      it = stats_.records_by_format.emplace(std::string(format), 0).first;
    }
    last_format_count_ = &it->second;
  }
  ++*last_format_count_;
  watermark_ = std::max(watermark_, t);
  if (t > source_watermark_[source]) source_watermark_[source] = t;
  index_.apply(source, t, record);
  ++index_generation_;
  ++source_generation_[source];
  if (record.kind == RecordKind::kDetection)
    on_detection(source, t, format, from_mta, record, evidence);
}

void Correlator::on_detection(SourceIndex source, TimePoint t, std::string_view format,
                              bool from_mta, const ParsedRecord& record,
                              std::string_view evidence) {
  ++stats_.detections;
  const std::string& source_name = topology_.source(source).name;
  DetectionFacts facts;
  facts.source = source;
  facts.time = t;
  facts.queue_id = record.queue_id;
  facts.message_id = record.message_id;
  facts.sender = normalise_address(record.sender);
  facts.has_sender = record.has_sender;
  for (auto r : record.recipients)
    add_unique(facts.recipients, normalise_address(r), kMaxRecipients);
  if (!record.client_ip.empty()) {
    facts.client_ip = IpAddress::parse(record.client_ip);
    facts.client_name = record.client_name;
  }
  facts.verdicts_apply = verdicts_speak_for(format, from_mta);
  if (!record.virus.empty() && record.virus != "unknown") facts.virus = verdict_name(record.virus);
  const std::string virus(record.virus);
  std::string key;
  const bool has_id_key = !facts.queue_id.empty() || !facts.message_id.empty();
  if (!facts.queue_id.empty()) {
    key = "q|" + source_name + "|" + facts.queue_id;
  } else if (!facts.message_id.empty()) {
    key = "m|" + source_name + "|" + facts.message_id;
  } else {
    // No id at all (ISVW, clamav-milter Basic): identical records in the same second are
    // distinct detections, numbered in arrival order so two correlators agree on the ids.
    std::string base = "e|" + source_name + "|" + facts.sender + "|" +
                       (facts.recipients.empty() ? "" : facts.recipients.front()) + "|" + virus +
                       "|" + std::string(record.file) + "|" + std::to_string(t / kMicrosPerSecond);
    const int n = ++repeat_counts_[base];
    if (n == 1) repeat_order_.emplace_back(t, base);
    key = base + "#" + std::to_string(n);
  }

  // Companion lines of the same detection (clamav-milter + postfix milter-reject, one line
  // per recipient) merge into the pending one.
  const Duration skew = settings_.correlation.clock_skew;
  const std::size_t first =
      arrival_order_.size() > kMergeLookback ? arrival_order_.size() - kMergeLookback : 0;
  for (std::size_t i = arrival_order_.size(); i-- > first;) {
    Pending& p = *arrival_order_[i];
    // A repeat of the key and a companion line alike are within 2 * clock_skew of it.
    if (std::llabs(p.facts.time - t) > 2 * skew) continue;
    const bool same_key = p.key == key && std::llabs(p.facts.time - t) <= 2 * skew;
    const bool companion = !same_key && p.facts.source == source && p.format != format &&
                           (!p.has_id_key || !has_id_key) && p.incident.virus == virus &&
                           std::llabs(p.facts.time - t) <= skew &&
                           (p.facts.queue_id.empty() || facts.queue_id.empty() ||
                            p.facts.queue_id == facts.queue_id) &&
                           overlap(p.facts.recipients, facts.recipients) &&
                           same_envelope(p.facts, facts);
    if (!same_key && !companion) continue;
    p.held.reset();  // its facts change: a held answer is no longer about them
    wake(p.seq);
    for (const auto& r : facts.recipients) {
      add_unique(p.facts.recipients, r, kMaxRecipients);
      add_unique(p.incident.envelope_to, r, kMaxRecipients);
    }
    if (p.facts.queue_id.empty() && !facts.queue_id.empty()) {
      p.facts.queue_id = facts.queue_id;
      p.incident.queue_id = facts.queue_id;
    }
    if (p.facts.message_id.empty() && !facts.message_id.empty()) {
      p.facts.message_id = facts.message_id;
      p.incident.message_id = facts.message_id;
    }
    p.facts.verdicts_apply = p.facts.verdicts_apply || facts.verdicts_apply;
    if (!p.facts.client_ip && facts.client_ip) {
      p.facts.client_ip = facts.client_ip;
      p.facts.client_name = facts.client_name;
    }
    if (!p.facts.has_sender && facts.has_sender) {
      // Postfix's "250 2.7.0 Ok, discarded, id=... - INFECTED: X" from amavis names no sender;
      // amavis's own line does.
      p.facts.sender = facts.sender;
      p.facts.has_sender = true;
      p.incident.envelope_from = facts.sender;
    }
    if (p.from_mta && !from_mta) {
      // The scanner's own line is the detection a reader looks for; which of the two lines
      // the collector received first must not change what the incident says.
      p.format = std::string(format);
      p.from_mta = false;
      p.incident.detector_format = p.format;
      if (!record.action.empty()) p.incident.action = record.action;
    } else if (p.incident.action == "detected" && !record.action.empty()) {
      p.incident.action = record.action;
    }
    if (p.incident.subject.empty()) p.incident.subject = record.subject;
    add_unique(p.incident.files, std::string(record.file), 16);
    add_unique(p.incident.evidence, std::string(evidence), kMaxEvidenceLines);
    ++stats_.detections_merged;
    return;
  }
  if (auto it = emitted_keys_.find(key);
      it != emitted_keys_.end() && std::llabs(it->second - t) <= 2 * skew) {
    ++stats_.detections_merged;
    return;
  }

  Pending p;
  p.key = key;
  p.has_id_key = has_id_key;
  p.format = std::string(format);
  p.from_mta = from_mta;
  if (trace_watch_) p.input_line = std::string(input_line_);
  p.facts = std::move(facts);
  p.settle_at = t + skew;
  // When it arrived: the last advance() (the wall clock live, the log clock in replay), or its
  // own time when that is later, but not by more than clock_skew (a clock far ahead).
  p.arrived = std::max(clock_, std::min(t, clock_ + skew));
  if (record.status == DeliveryStatus::kBounced && !record.relay_ip.empty()) {
    if (auto relay = IpAddress::parse(record.relay_ip); relay && topology_.by_address(*relay)) {
      // One of our own hosts refused it: that host's own detection is the incident; this
      // line only echoes it, unless that host's detection never shows up.
      p.echo = true;
      p.settle_at = t + 3 * skew;
    }
  }
  Incident& in = p.incident;
  in.id = make_incident_id(source_name, key, virus, t);
  in.detected_at = t;
  in.detector_host = source_name;
  in.detector_format = std::string(format);
  in.virus = virus;
  in.action = record.action.empty() ? "detected" : std::string(record.action);
  in.envelope_from = p.facts.sender;
  in.envelope_to = p.facts.recipients;
  in.queue_id = p.facts.queue_id;
  in.message_id = p.facts.message_id;
  if (record.size >= 0) in.size = record.size;
  in.subject = std::string(record.subject);
  add_unique(in.files, std::string(record.file), 16);
  in.evidence.emplace_back(evidence);
  if (pending_.size() >= static_cast<std::size_t>(settings_.correlation.max_pending)) {
    // Full: the oldest detection is traced now with what is known, not dropped.
    ++stats_.pending_dropped;
    try_emit(pending_.begin()->second, watermark_, true);
    erase_pending(pending_.begin());
  }
  add_pending(std::move(p));
}

void Correlator::add_pending(Pending p) {
  p.seq = next_seq_++;
  scanned_[p.echo].insert(p.seq);
  pending_times_[p.facts.source].insert(p.facts.time);
  const std::uint64_t seq = p.seq;
  arrival_order_.push_back(&pending_.emplace_hint(pending_.end(), seq, std::move(p))->second);
}

std::map<std::uint64_t, Correlator::Pending>::iterator Correlator::erase_pending(
    std::map<std::uint64_t, Pending>::iterator it) {
  Pending& p = it->second;
  unpark(p);
  scanned_[p.echo].erase(p.seq);
  woken_[p.echo].erase(p.seq);
  due_[p.echo].erase(p.seq);
  auto& times = pending_times_[p.facts.source];
  times.erase(times.find(p.facts.time));
  const auto at =
      std::lower_bound(arrival_order_.begin(), arrival_order_.end(), p.seq,
                       [](const Pending* q, std::uint64_t seq) { return q->seq < seq; });
  arrival_order_.erase(at);
  return pending_.erase(it);
}

WakeIndex::Fact Correlator::key_fact(std::string_view key) {
  // Apart from the index's facts by a constant: a collision only wakes a detection for nothing.
  return std::hash<std::string_view>{}(key) ^ 0x9e3779b97f4a7c15ULL;
}

void Correlator::park(Pending& p) {
  index_.log_changes(true);
  if (!p.deadline_queued) {
    p.deadline_queued = true;
    deadlines_.emplace(p.first_try + settings_.correlation.pending_timeout, p.seq);
    // Entries of detections emitted before their deadline are skipped when they come up; they
    // are dropped here too when they outnumber the held ones.
    if (deadlines_.size() > 2 * pending_.size() + 1024) {
      decltype(deadlines_) live;
      for (const auto& [seq, held] : pending_) {
        if (held.deadline_queued) {
          live.emplace(held.first_try + settings_.correlation.pending_timeout, seq);
        }
      }
      deadlines_ = std::move(live);
    }
  }
  // Visited at every advance while the old loop's answer could turn without a change it can
  // name: settled only by silence, or a detector key already reported (its verdict decides).
  const bool scan =
      !p.logged_past_settle || (!p.detector_key.empty() && emitted_keys_.count(p.detector_key) > 0);
  if (scan) {
    scanned_[p.echo].insert(p.seq);
  } else {
    scanned_[p.echo].erase(p.seq);
  }
  if (p.parked) return;
  std::vector<WakeIndex::Fact> facts = std::move(p.held_reads);
  p.held_reads.clear();
  if (p.echo && !p.facts.queue_id.empty()) {
    facts.push_back(key_fact(topology_.source(p.facts.source).name + "|" + p.facts.queue_id));
  }
  if (!p.detector_key.empty()) facts.push_back(key_fact(p.detector_key));
  if (!wake_index_.watch(p.seq, std::move(facts))) ++stats_.wake_index_full;
  p.parked = true;
  ++parked_;
}

void Correlator::unpark(Pending& p) {
  if (!p.parked) return;
  wake_index_.forget(p.seq);
  p.parked = false;
  --parked_;
}

void Correlator::wake(std::uint64_t seq) {
  auto it = pending_.find(seq);
  if (it == pending_.end()) return;
  Pending& p = it->second;
  unpark(p);
  p.dirty = true;
  woken_[p.echo].insert(seq);
}

void Correlator::wake_key(std::string_view key) {
  if (parked_ == 0) return;
  changes_.assign(1, key_fact(key));
  woken_scratch_.clear();
  wake_index_.changed(changes_, false, woken_scratch_);
  for (std::uint64_t seq : woken_scratch_) wake(seq);
}

void Correlator::wake_changed() {
  if (!index_.logging_changes() || !index_.has_changes()) return;
  const bool everything = index_.take_changes(changes_);
  woken_scratch_.clear();
  wake_index_.changed(changes_, everything, woken_scratch_);
  for (std::uint64_t seq : woken_scratch_) wake(seq);
}

bool Correlator::reported_already(const Pending& p, const TraceOutcome& outcome) const {
  // A detection without ids whose envelope join found the one message that a line naming its
  // queue id and this virus (sendmail's X-Virus-Status header) already made an incident of,
  // before the two could merge as companions: the same detection, not a second one.
  if (p.has_id_key || p.facts.virus == 0 || outcome.detector_queue_id.empty()) return false;
  // Asked of every held detection at every retry: the key is made once per trace.
  if (p.detector_key.empty()) {
    p.detector_key = "q|" + topology_.source(p.facts.source).name + "|" + outcome.detector_queue_id;
  }
  if (emitted_keys_.count(p.detector_key) == 0) return false;
  const MessageRecord* r = index_.find_by_queue_id(p.facts.source, outcome.detector_queue_id,
                                                   p.facts.time, settings_.correlation.clock_skew);
  return r != nullptr && r->verdict_virus() == p.facts.virus;
}

bool Correlator::same_envelope(const DetectionFacts& a, const DetectionFacts& b) const {
  if (a.sender == b.sender) return true;
  if (a.has_sender == b.has_sender) return false;
  // sendmail's "X-Virus-Status: Infected (V)" and "Milter: data, reject=..." lines name only
  // the queue id; clamav-milter's Basic line only the envelope. They are one detection when
  // the MTA's record of that queue id has the envelope the scanner's line names.
  const DetectionFacts& with_id = a.has_sender ? b : a;
  const DetectionFacts& with_envelope = a.has_sender ? a : b;
  if (with_id.queue_id.empty()) return false;
  const MessageRecord* r = index_.find_by_queue_id(with_id.source, with_id.queue_id, with_id.time,
                                                   settings_.correlation.clock_skew);
  if (r == nullptr || !r->has_sender || r->sender != hash_address(with_envelope.sender)) {
    return false;
  }
  if (r->recipients().empty()) return true;
  return with_envelope.recipients.empty() ||
         std::any_of(with_envelope.recipients.begin(), with_envelope.recipients.end(),
                     [r](const std::string& rcpt) { return r->has_recipient(hash_address(rcpt)); });
}

bool Correlator::try_early(Pending& p, TimePoint now) {
  // A chain linked by ids end to end cannot be changed by records still to come, so it need
  // not wait out clock_skew: containment starts seconds sooner. Only a short grace lets the
  // companion lines of the detection (postfix's milter-reject after clamav-milter) merge first.
  // Envelope matches still wait, since a late record could add a candidate.
  constexpr Duration kGrace = 250'000;
  if (p.echo || !p.has_id_key || now < p.arrived + kGrace ||
      p.early_generation == index_generation_) {
    return false;
  }
  p.early_generation = index_generation_;
  TraceOutcome outcome = trace(p);
  if (outcome.confidence != Confidence::kExact || outcome.waiting) return false;
  if (const std::string original = bounced_original(outcome); !original.empty()) {
    // A detected bounce waits out clock_skew like an envelope match: the detection of the
    // message it returns may still be on its way and is the incident that should stand.
    if (covered_.count(original) == 0) return false;
    merge_backscatter(p, outcome);
    return true;
  }
  emit(p, std::move(outcome));
  return true;
}

std::string Correlator::bounced_original(const TraceOutcome& outcome) {
  for (const auto& hop : outcome.hops) {
    if (hop.link == HopLink::kBounce) return hop.host + "|" + hop.queue_id;
  }
  return {};
}

void Correlator::merge_backscatter(const Pending& p, const TraceOutcome& outcome) {
  ++stats_.backscatter_merged;
  // Its late companion lines must merge into nothing rather than start it over, and the relay's
  // own "bounced ... Virus" line about the bounce is an echo of it.
  emitted_keys_[p.key] = p.facts.time;
  wake_key(p.key);
  emitted_order_.emplace_back(p.facts.time, p.key);
  cover(outcome, p.facts.time);
}

void Correlator::cover(const TraceOutcome& outcome, TimePoint t) {
  for (const auto& [source, queue_id] : outcome.records) {
    std::string k = topology_.source(source).name + "|" + queue_id;
    covered_[k] = t;
    wake_key(k);
    covered_order_.emplace_back(t, std::move(k));
  }
}

bool Correlator::is_backscatter(const TraceOutcome& outcome) const {
  // A relay returned a virus mail to its forged sender and the gateway caught the bounce too:
  // the same infected host, the same mail, already an incident. Counting it again would
  // double every threshold and digest downstream.
  const std::string original = bounced_original(outcome);
  return !original.empty() && covered_.count(original) > 0;
}

bool Correlator::try_emit(Pending& p, TimePoint now, bool final) {
  if (p.echo && !p.facts.queue_id.empty() &&
      covered_.count(topology_.source(p.facts.source).name + "|" + p.facts.queue_id) > 0) {
    ++stats_.echoes_suppressed;
    return true;
  }
  held_or_trace(p);
  if (reported_already(p, *p.held)) {
    ++stats_.detections_merged;
    return true;
  }
  if (p.first_try < 0) p.first_try = now;
  if (!final && p.held->waiting && now < p.first_try + settings_.correlation.pending_timeout) {
    park(p);
    return false;
  }
  TraceOutcome outcome = std::move(*p.held);
  p.held.reset();
  if (outcome.waiting) outcome = trace_with_archive(p, std::move(outcome));
  if (is_backscatter(outcome)) {
    merge_backscatter(p, outcome);
    return true;
  }
  if (outcome.hops.empty() && outcome.candidates.empty()) {
    // The detecting host's own MTA never logged this message and the line names no client:
    // nothing corroborates it. A forged syslog line looks exactly like this, so it must not
    // become an incident; it is counted and sampled instead.
    ++stats_.uncorroborated;
    if (uncorroborated_samples_.size() < 16) {
      uncorroborated_samples_.push_back(p.incident.evidence.front() + "  (" + outcome.note + ")");
    }
    return true;
  }
  emit(p, std::move(outcome));
  return true;
}

TraceOutcome Correlator::trace_with_archive(Pending& p, TraceOutcome outcome) {
  if (!archive_loader_ || !outcome.missing_source) return outcome;
  ++stats_.archive_searches;
  const Duration window = settings_.correlation.window;
  archive_loader_(*outcome.missing_source, p.facts.time - window,
                  p.facts.time + settings_.correlation.clock_skew, *this);
  return trace(p);
}

TraceOutcome Correlator::trace(const Pending& p) {
  if (!trace_watch_) return HopTracer(index_, topology_, settings_.correlation).trace(p.facts);
  trace_watch_(p.input_line);
  TraceOutcome outcome = HopTracer(index_, topology_, settings_.correlation).trace(p.facts);
  trace_watch_({});
  return outcome;
}

void Correlator::held_or_trace(Pending& p) {
  if (p.held && !p.dirty) return;
  unpark(p);
  p.dirty = false;
  p.held_reads.clear();
  p.detector_key.clear();
  index_.record_reads(&p.held_reads);
  p.held = trace(p);
  index_.record_reads(nullptr);
  std::sort(p.held_reads.begin(), p.held_reads.end());
  p.held_reads.erase(std::unique(p.held_reads.begin(), p.held_reads.end()), p.held_reads.end());
}

void Correlator::revisit(TimePoint now) {
  for (std::size_t i = 0; i < revisits_.size();) {
    Pending& p = revisits_[i];
    // Nothing new from the host whose record was missing: the answer cannot have changed.
    if (p.missing_source && source_generation_[*p.missing_source] == p.missing_generation &&
        now - p.facts.time <= settings_.correlation.window) {
      ++i;
      continue;
    }
    TraceOutcome outcome = trace(p);
    if (outcome.missing_source) {
      p.missing_source = outcome.missing_source;
      p.missing_generation = source_generation_[*outcome.missing_source];
    }
    const bool better = outcome.confidence != Confidence::kUnresolved ||
                        outcome.hops.size() > p.incident.hops.size();
    const bool expired = now - p.facts.time > settings_.correlation.window;
    if (better) {
      ++p.incident.revision;
      ++stats_.revisions;
      emit(p, std::move(outcome));
    }
    if (better || expired) {
      revisits_.erase(revisits_.begin() + static_cast<std::ptrdiff_t>(i));
    } else {
      ++i;
    }
  }
}

void Correlator::emit(Pending& p, TraceOutcome outcome) {
  Incident& in = p.incident;
  // A detection without ids was joined by envelope to one message in its host's log: the
  // incident names the message the join found (not one of several candidates).
  if (in.queue_id.empty()) in.queue_id = outcome.detector_queue_id;
  if (in.message_id.empty()) in.message_id = outcome.detector_message_id;
  // The scanner's line said only that it found the virus: what the host's MTA logged doing
  // with the message says what happened to it.
  if ((in.action == "detected" || in.action == "tagged") &&
      outcome.detector_action != MtaAction::kNone) {
    in.action = std::string(to_string(outcome.detector_action));
  }
  in.hops = std::move(outcome.hops);
  in.origin = std::move(outcome.origin);
  in.confidence = outcome.confidence;
  in.candidates = std::move(outcome.candidates);
  in.note = std::move(outcome.note);
  ++stats_.incidents[static_cast<std::size_t>(in.confidence)];
  emitted_keys_[p.key] = p.facts.time;
  wake_key(p.key);
  emitted_order_.emplace_back(p.facts.time, p.key);
  cover(outcome, p.facts.time);
  if (bound_incident(in) > 0) ++stats_.incidents_cut;
  sink_.deliver(in);
  if (in.confidence == Confidence::kUnresolved && p.incident.revision == 1 &&
      revisits_.size() < static_cast<std::size_t>(settings_.correlation.max_pending)) {
    revisits_.push_back(p);
    revisits_.back().missing_source = outcome.missing_source;
    if (outcome.missing_source) {
      revisits_.back().missing_generation = source_generation_[*outcome.missing_source];
    }
  }
}

bool Correlator::settled(const Pending& p, TimePoint now) const {
  if (p.logged_past_settle) return true;
  const Duration timeout = settings_.correlation.settle_timeout;
  const Duration waited = now - p.arrived;
  if (waited >= kMaxSettleWaits * timeout) return true;
  // Every source has logged past the settle time: for good, since log time only moves on.
  bool all_past = true;
  for (SourceIndex s = 0; s < source_watermark_.size(); ++s) {
    const TimePoint logged = source_watermark_[s];
    all_past = all_past && logged >= p.settle_at;
    if (logged == 0 || logged >= p.settle_at) continue;
    // A firewall's lines never join a mail trace: a busy firewall log running behind must not
    // hold virus-mail detections.
    if (settings_.sources[s].role == SourceRole::kFirewall) continue;
    const bool silent = now - source_heard_[s] >= timeout;
    if (!silent || waited < timeout) return false;
  }
  if (all_past) p.logged_past_settle = true;
  return true;
}

void Correlator::advance(TimePoint now) {
  clock_ = std::max(clock_, now);
  const bool retry = index_generation_ != retried_generation_ && now - last_retry_ >= seconds(1);
  wake_changed();
  while (!deadlines_.empty() && deadlines_.top().first <= now) {
    const auto [deadline, seq] = deadlines_.top();
    deadlines_.pop();
    auto it = pending_.find(seq);
    if (it == pending_.end()) continue;
    const Pending& p = it->second;
    if (p.first_try + settings_.correlation.pending_timeout == deadline) due_[p.echo].insert(seq);
  }
  // Detections first, then relay echoes, so an echo sees whether its detection was traced
  // (after a restart the journal replay makes both due at once). A held detection that is not
  // visited would only have been told again what it was told last time.
  for (bool echoes : {false, true}) {
    auto& scanned = scanned_[echoes];
    auto& woken = woken_[echoes];
    auto& due = due_[echoes];
    for (std::uint64_t from = 0;;) {
      // An archive search by the detection before may have changed what this one read.
      wake_changed();
      std::uint64_t seq = std::numeric_limits<std::uint64_t>::max();
      if (auto s = scanned.lower_bound(from); s != scanned.end()) seq = std::min(seq, *s);
      if (auto d = due.lower_bound(from); d != due.end()) seq = std::min(seq, *d);
      if (retry) {
        if (auto w = woken.lower_bound(from); w != woken.end()) seq = std::min(seq, *w);
      }
      if (seq == std::numeric_limits<std::uint64_t>::max()) break;
      from = seq + 1;
      due.erase(seq);
      auto it = pending_.find(seq);
      if (it == pending_.end()) {
        scanned.erase(seq);
        woken.erase(seq);
        continue;
      }
      Pending& p = it->second;
      const bool settled_now = settled(p, now);
      if (!settled_now && try_early(p, now)) {
        erase_pending(it);
        continue;
      }
      // Traced before and nothing new since: only the end of its wait can change the answer.
      const bool unchanged =
          p.first_try >= 0 && !retry && now < p.first_try + settings_.correlation.pending_timeout;
      if (!settled_now || unchanged || !try_emit(p, now, false)) {
        if (retry && !p.dirty) woken.erase(seq);
        continue;
      }
      erase_pending(it);
    }
    due.clear();
  }
  if (parked_ == 0) index_.log_changes(false);
  if (retry) {
    revisit(now);
    retried_generation_ = index_generation_;
    last_retry_ = now;
  }
  // Age is measured in log time: a collector that falls behind, or a host whose clock runs
  // late, must not see its records evicted by the wall clock.
  const TimePoint log_now = std::min(now, watermark_);
  index_.evict(log_now);
  const TimePoint cutoff = log_now - settings_.correlation.window;
  trim_before(emitted_keys_, emitted_order_, cutoff);
  trim_before(covered_, covered_order_, cutoff);
  trim_before(repeat_counts_, repeat_order_, cutoff);
  forget_message_ids();
  direct_smtp_.advance(log_now, direct_smtp_out_);
  deliver_direct_smtp();
}

void Correlator::finish() {
  // Detections first, then relay echoes, so an echo sees whether its detection was traced.
  for (bool echoes : {false, true}) {
    for (auto& [seq, p] : pending_) {
      if (p.echo == echoes) try_emit(p, watermark_, true);
    }
  }
  while (!pending_.empty()) erase_pending(pending_.begin());
  for (SourceIndex s = 0; s < source_watermark_.size(); ++s) {
    index_.forget_message_ids(s, std::numeric_limits<TimePoint>::max());
  }
  direct_smtp_.finish(direct_smtp_out_);
  deliver_direct_smtp();
}

void Correlator::forget_message_ids() {
  // A detection's envelope join picks records its own host first saw within clock_skew of it:
  // a host's texts are kept from twice that before its oldest pending detection (or before
  // what it has logged).
  const Duration keep = 2 * settings_.correlation.clock_skew;
  std::vector<TimePoint> cutoff(source_watermark_.size());
  for (SourceIndex s = 0; s < cutoff.size(); ++s) cutoff[s] = source_watermark_[s] - keep;
  for (SourceIndex s = 0; s < cutoff.size(); ++s) {
    if (!pending_times_[s].empty())
      cutoff[s] = std::min(cutoff[s], *pending_times_[s].begin() - keep);
  }
  for (SourceIndex s = 0; s < cutoff.size(); ++s) index_.forget_message_ids(s, cutoff[s]);
}

}  // namespace vtrace
