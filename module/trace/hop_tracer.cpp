// The hop-by-hop trace. Exact keys first (queue id, next-hop queue id, Message-ID, content
// filter and bounce links), envelope + time only as a fallback, and never a guess between
// candidates that lead to different origins.
#include "module/trace/hop_tracer.hpp"

#include <algorithm>
#include <cstdlib>

namespace vtrace {

namespace {

constexpr std::size_t kMaxCandidates = 16;
constexpr int kTraceBudget = 512;

// True iff the record names recipients and none of them is among `wanted`.
bool disjoint(const std::vector<TextHash>& wanted, const MessageRecord& r) {
  if (wanted.empty() || r.recipients().empty()) return false;
  for (TextHash x : wanted) {
    if (r.has_recipient(x)) return false;
  }
  return true;
}

// The detecting host's verdicts rule this message out as the one its scanner found `virus` in:
// logged clean (and never infected), or infected by another virus than the detection names.
bool ruled_out(const MessageRecord& r, std::uint32_t virus) {
  const std::uint32_t named = r.verdict_virus();
  if (r.clean && named == 0) return true;
  return virus != 0 && named != 0 && named != kSeveralViruses && named != virus;
}

// The record was matched by envelope for a detection naming `rcpts`, and its own recipients
// are still to come: it names none yet, and it is neither finished nor stopped by a verdict
// (a rejected, discarded or quarantined message gets no delivery line).
bool awaits_recipients(const MessageRecord& r, const std::vector<TextHash>& rcpts) {
  return !rcpts.empty() && r.recipients().empty() && !r.done && r.mta_action == MtaAction::kNone;
}

// A verdict on the message names `virus` (or several viruses, which may include it).
bool names(const MessageRecord& r, std::uint32_t virus) {
  return r.verdict_virus() == virus || r.verdict_virus() == kSeveralViruses;
}

}  // namespace

struct HopTracer::Chain {
  std::vector<Hop> hops;
  std::vector<std::pair<SourceIndex, std::string>> records;
  std::optional<Origin> origin;
  std::vector<Candidate> candidates;
  std::string note;
  bool fuzzy = false;
  bool ambiguous = false;
  bool broken = false;
  bool waiting = false;
  std::optional<SourceIndex> missing_source;
  bool invalid = false;  // an envelope candidate whose recipients contradict the detection
  // A record matched by envelope has no recipients yet (a sendmail from= line, postfix's qmgr
  // line) while the detection names some: its to= line may still rule it out.
  bool recipients_pending = false;
  RecordId first = 0;  // the record of the first hop (0: none, or made of the detection line)
};

struct HopTracer::Step {
  enum class Kind { kOrigin, kNext, kBroken } kind = Kind::kBroken;
  std::optional<IpAddress> origin_ip;  // nullopt with kOrigin: submitted on the host itself
  std::string origin_name;
  std::vector<const MessageRecord*> next;
  HopLink link = HopLink::kQueueId;
  std::string note;
  bool waiting = false;
  std::optional<SourceIndex> missing_source;
};

Hop HopTracer::make_hop(const MessageRecord& r, HopLink link) const {
  Hop hop;
  hop.host = topology_.source(r.source).name;
  hop.queue_id = std::string(r.queue_id());
  hop.received_at = r.received_at();
  if (r.has_client) {
    hop.client_ip = r.client_ip.to_string();
    hop.client_name = index_.client_name(r.client_ip);
  }
  hop.link = link;
  return hop;
}

std::vector<const MessageRecord*> HopTracer::envelope_candidates(
    SourceIndex source, TextHash sender, const Recipients& rcpts, TimePoint t,
    bool use_delivery_time, RecordId exclude, const DetectionFacts* verdicts) const {
  const Duration skew = config_.clock_skew;
  const bool judged = verdicts != nullptr && verdicts->verdicts_apply;
  std::vector<std::pair<Duration, const MessageRecord*>> found;
  for (const auto* r : index_.find_by_sender(source, sender)) {
    if (r->id == exclude) continue;
    if (disjoint(rcpts, *r)) continue;
    if (judged && ruled_out(*r, verdicts->virus)) continue;
    Duration distance = -1;
    if (use_delivery_time && !r->deliveries().empty()) {
      for (const Delivery d : r->deliveries()) {
        const bool wanted =
            rcpts.empty() || std::find(rcpts.begin(), rcpts.end(), d.recipient) != rcpts.end();
        const Duration delta = std::llabs(d.time - t);
        if (wanted && delta <= skew && (distance < 0 || delta < distance)) distance = delta;
      }
    } else if (use_delivery_time) {
      // No delivery line: the message must have been on the host around `t`.
      if (r->received_at() <= t + skew && r->last_seen() >= t - skew) {
        distance = std::llabs(r->last_seen() - t);
      }
    } else {
      const Duration delta = std::llabs(r->received_at() - t);
      if (delta <= skew) distance = delta;
    }
    if (distance >= 0) found.emplace_back(distance, r);
  }
  if (judged && verdicts->virus != 0 && std::any_of(found.begin(), found.end(), [&](const auto& f) {
        return f.second->verdict_virus() == verdicts->virus;
      })) {
    // The host logged a verdict naming the detected virus for some of them: the detection is
    // one of those, not a message it logged no such verdict for.
    std::erase_if(found, [&](const auto& f) { return !names(*f.second, verdicts->virus); });
  }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first < b.first : a.second->id < b.second->id;
  });
  std::vector<const MessageRecord*> out;
  for (const auto& [d, r] : found) {
    if (out.size() == kMaxCandidates) break;
    out.push_back(r);
  }
  return out;
}

HopTracer::Step HopTracer::step(const MessageRecord& r, const Recipients& rcpts) const {
  const Duration skew = config_.clock_skew;
  const SourceIndex host = r.source;
  const std::string& host_name = topology_.source(host).name;
  Step s;
  auto next = [&s](const MessageRecord* p, HopLink link) {
    s.kind = Step::Kind::kNext;
    s.next = {p};
    s.link = link;
    return s;
  };
  const std::string queue_id(r.queue_id());
  if (!r.bounce_of().empty()) {
    if (const auto* p = index_.find_by_queue_id(host, r.bounce_of(), r.first_seen(), skew)) {
      return next(p, HopLink::kBounce);
    }
    s.note = "the message " + r.bounce_of() + " that " + host_name + " bounced is not in its index";
    s.waiting = true;
    return s;
  }
  std::optional<IpAddress> client;
  std::string client_name;
  if (r.has_client) {
    client = r.client_ip;
    client_name = index_.client_name(r.client_ip);
  }
  if (!r.orig_queue_id().empty()) {
    const auto* p = index_.find_by_queue_id(host, r.orig_queue_id(), r.received_at(), skew);
    if (p != nullptr && p->id != r.id) return next(p, HopLink::kOrigQueueId);
    if (r.links()->orig_client_ip) {
      client = r.links()->orig_client_ip;
      client_name = r.links()->orig_client_name;
    }
  }
  if (!r.received && !client) {
    s.note = "no receive line for " + queue_id + " on " + host_name;
    s.waiting = true;
    s.missing_source = host;
    return s;
  }
  const auto client_source = client ? topology_.by_address(*client) : std::nullopt;
  if (!client || client->is_loopback() || client_source == host) {
    // Handed over on the host itself: a content filter re-injecting, or a local submission.
    if (const auto* p = index_.find_by_next_queue_id(host, queue_id, r.received_at(), skew);
        p != nullptr && p->id != r.id) {
      return next(p, HopLink::kNextHopQueueId);
    }
    for (const auto* p : index_.find_by_message_id(host, r.message_id, r.received_at(), skew)) {
      if (p->id != r.id && p->received_at() < r.received_at()) {
        return next(p, HopLink::kMessageId);
      }
    }
    s.kind = Step::Kind::kOrigin;
    s.note = "submitted on " + host_name + " itself (no network client)";
    return s;
  }
  if (client_source) {
    const SourceIndex prev = *client_source;
    const std::string& prev_name = topology_.source(prev).name;
    // Records of another host, linked by id: its clock may be off by more than clock_skew.
    const Duration id_skew = std::max(skew, config_.id_link_skew);
    if (const auto* p = index_.find_by_next_queue_id(prev, queue_id, r.received_at(), id_skew)) {
      return next(p, HopLink::kNextHopQueueId);
    }
    if (const auto ms = index_.find_by_message_id(prev, r.message_id, r.received_at(), id_skew);
        !ms.empty()) {
      return next(ms.front(), HopLink::kMessageId);
    }
    if (const auto& exim_id = r.upstream_exim_id(); !exim_id.empty()) {
      if (const auto* p = index_.find_by_queue_id(prev, exim_id, r.received_at(), id_skew)) {
        return next(p, HopLink::kMessageId);
      }
    }
    if (config_.envelope_matching && r.has_sender) {
      const Recipients wanted =
          r.recipients().empty() ? rcpts : Recipients(r.recipients().begin(), r.recipients().end());
      auto cands = envelope_candidates(prev, r.sender, wanted, r.received_at(), true, 0);
      if (!cands.empty()) {
        s.kind = Step::Kind::kNext;
        s.next = std::move(cands);
        s.link = HopLink::kEnvelope;
        return s;
      }
    }
    // Never "no record" when there is one: a record further off in time than id_link_skew
    // is named, with how far.
    const Duration far = config_.window;
    const MessageRecord* beyond =
        index_.find_by_next_queue_id(prev, queue_id, r.received_at(), far);
    if (beyond == nullptr) {
      const auto ms = index_.find_by_message_id(prev, r.message_id, r.received_at(), far);
      if (!ms.empty()) beyond = ms.front();
    }
    if (beyond != nullptr) {
      s.note = "the record on " + prev_name + " of the message it handed to " + host_name + " (" +
               queue_id + ") is " +
               std::to_string((beyond->last_seen() - r.received_at()) / kMicrosPerSecond) +
               " s later than its arrival there, beyond correlation.id_link_skew: a clock off?";
    } else {
      s.note = "no record on " + prev_name + " of the message it handed to " + host_name + " (" +
               queue_id + ")";
    }
    s.waiting = true;
    s.missing_source = prev;
    return s;
  }
  s.kind = Step::Kind::kOrigin;
  s.origin_ip = client;
  s.origin_name = client_name;
  return s;
}

HopTracer::Chain HopTracer::walk(const MessageRecord* r, HopLink link, const Recipients& rcpts,
                                 std::vector<RecordId> visited, int depth, int& budget) const {
  Chain c;
  Recipients checked_rcpts = rcpts;
  // Invariant: a chain that is not invalid holds at least one hop (branch() lists each
  // candidate by its first hop), so every way out below comes after the first push_back,
  // except the two that make the chain invalid.
  while (true) {
    if (r->id != 0 && std::find(visited.begin(), visited.end(), r->id) != visited.end()) {
      if (c.hops.empty()) {
        // A candidate already on this chain is one of the message's later hops, so it cannot
        // also be an earlier one: not a candidate at all.
        c.invalid = true;
        c.note = "loop: " + topology_.source(r->source).name + " " + std::string(r->queue_id()) +
                 " is already on the chain";
        return c;
      }
      c.broken = true;
      c.note = "loop: " + topology_.source(r->source).name + " " + std::string(r->queue_id()) +
               " seen twice";
      return c;
    }
    visited.push_back(r->id);
    if (link == HopLink::kEnvelope) c.fuzzy = true;
    // A bounce goes to other recipients (the original sender) than the message it returns.
    if (link == HopLink::kBounce) checked_rcpts.clear();
    // Inside a chain found by envelope, every later record must agree on the recipients.
    if (c.fuzzy && disjoint(checked_rcpts, *r)) {
      c.invalid = true;
      return c;
    }
    if (link == HopLink::kEnvelope && awaits_recipients(*r, checked_rcpts)) {
      c.recipients_pending = true;
    }
    if (c.hops.empty()) c.first = r->id;
    c.hops.push_back(make_hop(*r, link));
    c.records.emplace_back(r->source, std::string(r->queue_id()));
    if (--budget < 0) {
      c.broken = true;
      c.note = "trace budget exhausted";
      return c;
    }
    if (static_cast<int>(c.hops.size()) + depth > config_.max_hops) {
      c.broken = true;
      c.note = "more than max_hops (" + std::to_string(config_.max_hops) + ") hops";
      return c;
    }
    Step s = step(*r, rcpts);
    if (s.kind == Step::Kind::kOrigin) {
      if (s.origin_ip) {
        c.origin = topology_.classify(*s.origin_ip, s.origin_name);
      } else {
        const auto& source = topology_.source(r->source);
        if (!source.addresses.empty()) {
          c.origin = topology_.classify(source.addresses.front(), source.name);
        } else {
          c.broken = true;
        }
        c.note = s.note;
      }
      return c;
    }
    if (s.kind == Step::Kind::kBroken) {
      c.broken = true;
      c.waiting = s.waiting;
      c.missing_source = s.missing_source;
      c.note = s.note;
      return c;
    }
    if (s.next.size() == 1 && s.link != HopLink::kEnvelope) {
      r = s.next.front();
      link = s.link;
      continue;
    }
    Chain rest =
        branch(s.next, s.link, rcpts, visited, depth + static_cast<int>(c.hops.size()), budget);
    c.hops.insert(c.hops.end(), rest.hops.begin(), rest.hops.end());
    c.records.insert(c.records.end(), rest.records.begin(), rest.records.end());
    c.origin = rest.origin;
    c.candidates = std::move(rest.candidates);
    c.note = rest.note;
    c.fuzzy = c.fuzzy || rest.fuzzy;
    c.ambiguous = rest.ambiguous;
    c.broken = rest.broken;
    c.waiting = rest.waiting;
    c.recipients_pending = c.recipients_pending || rest.recipients_pending;
    c.missing_source = rest.missing_source;
    c.invalid = rest.invalid;
    return c;
  }
}

HopTracer::Chain HopTracer::branch(const std::vector<const MessageRecord*>& candidates,
                                   HopLink link, const Recipients& rcpts,
                                   const std::vector<RecordId>& visited, int depth,
                                   int& budget) const {
  std::vector<Chain> chains;
  for (const auto* candidate : candidates) {
    Chain chain = walk(candidate, link, rcpts, visited, depth, budget);
    if (!chain.invalid && !chain.hops.empty()) chains.push_back(std::move(chain));
  }
  if (chains.empty()) {
    Chain c;
    c.broken = true;
    c.invalid = true;
    c.note = "no record matches the envelope and recipients";
    return c;
  }
  if (chains.size() == 1) {
    chains.front().fuzzy = true;
    return std::move(chains.front());
  }
  std::vector<Candidate> listed;
  bool one_origin = true;
  for (const auto& chain : chains) {
    Candidate cand;
    cand.host = chain.hops.front().host;
    cand.queue_id = chain.hops.front().queue_id;
    cand.received_at = chain.hops.front().received_at;
    if (chain.origin && !chain.ambiguous) {
      cand.origin_ip = chain.origin->ip;
      cand.origin_name = chain.origin->name;
    }
    one_origin = one_origin && chain.origin && !chain.ambiguous && !chain.broken &&
                 chain.origin->ip == chains.front().origin->ip;
    listed.push_back(std::move(cand));
  }
  if (one_origin) {
    // Several messages match, but every one of them came from the same host: that host
    // stands as the origin, and the incident says it was found by envelope. It stands once one
    // of them is confirmed by its recipients; while all still await theirs, all may drop out.
    const bool confirmed = std::any_of(
        chains.begin(), chains.end(), [](const Chain& chain) { return !chain.recipients_pending; });
    Chain c = std::move(chains.front());
    c.recipients_pending = !confirmed;
    c.fuzzy = true;
    c.candidates = std::move(listed);
    c.note = std::to_string(chains.size()) + " messages match the envelope; all came from " +
             c.origin->ip;
    return c;
  }
  Chain c;
  c.ambiguous = true;
  c.candidates = std::move(listed);
  // A candidate whose own trace still waits for a record may yet lead to the same host as the
  // others: the ambiguity is held (until pending_timeout), not reported at once.
  // So is one whose recipients are still to be logged: they may rule it out.
  c.waiting = std::any_of(chains.begin(), chains.end(), [](const Chain& chain) {
    return (chain.broken && chain.waiting) || chain.recipients_pending;
  });
  c.note = std::to_string(chains.size()) +
           " messages match the envelope and they lead to different hosts";
  return c;
}

TraceOutcome HopTracer::trace(const DetectionFacts& det) const {
  const Duration skew = config_.clock_skew;
  const std::string& host_name = topology_.source(det.source).name;
  int budget = kTraceBudget;
  const MessageRecord* first = nullptr;
  HopLink link = HopLink::kQueueId;
  if (!det.queue_id.empty()) {
    first = index_.find_by_queue_id(det.source, det.queue_id, det.time, skew);
  }
  if (first == nullptr && !det.message_id.empty()) {
    const auto ms =
        index_.find_by_message_id(det.source, hash_text(det.message_id), det.time, skew);
    if (!ms.empty()) {
      first = ms.front();
      link = HopLink::kMessageId;
    }
  }
  // A record made only of antivirus lines is no evidence that the MTA handled the message. A
  // bounce the MTA generated itself has no receive line, but its link to the bounced message is
  // the MTA's own word.
  if (first != nullptr && !first->received && !first->has_client && first->bounce_of().empty()) {
    first = nullptr;
  }
  Recipients rcpts;
  for (const auto& r : det.recipients) rcpts.push_back(hash_address(r));
  Chain chain;
  MessageRecord direct;  // a record made of the detection line itself
  if (first != nullptr) {
    chain = walk(first, link, rcpts, {}, 0, budget);
  } else if (det.client_ip) {
    direct.id = 0;
    direct.source = det.source;
    direct.set_queue_id(det.queue_id);
    direct.received = true;
    direct.start_at(det.time);
    direct.client_ip = *det.client_ip;
    direct.has_client = true;
    direct.message_id = det.message_id.empty() ? 0 : hash_text(det.message_id);
    direct.sender = hash_address(det.sender);
    direct.has_sender = det.has_sender;
    for (TextHash r : rcpts) {
      if (!direct.has_recipient(r)) direct.add_recipient(r);
    }
    chain = walk(&direct, HopLink::kDirect, rcpts, {}, 0, budget);
  } else if (det.queue_id.empty() && det.message_id.empty() && config_.envelope_matching &&
             det.has_sender) {
    auto cands =
        envelope_candidates(det.source, hash_address(det.sender), rcpts, det.time, false, 0, &det);
    if (cands.empty()) {
      chain.broken = true;
      chain.waiting = true;
      chain.missing_source = det.source;
      chain.note = "no message on " + host_name + " from <" + det.sender +
                   "> within the clock-skew tolerance of the detection";
    } else {
      chain = branch(cands, HopLink::kEnvelope, rcpts, {}, 0, budget);
    }
  } else {
    chain.broken = true;
    chain.waiting = true;
    chain.note =
        "no record on " + host_name + " for " +
        (det.queue_id.empty() ? "message-id <" + det.message_id + ">" : "queue id " + det.queue_id);
  }
  TraceOutcome out;
  if (const MessageRecord* r = index_.get(chain.first);
      r != nullptr && r->source == det.source && chain.candidates.empty() && !chain.ambiguous) {
    out.detector_queue_id = std::string(r->queue_id());
    out.detector_message_id = index_.message_id_text(r->id);
    out.detector_action = r->mta_action;
  }
  out.hops = std::move(chain.hops);
  out.records = std::move(chain.records);
  out.candidates = std::move(chain.candidates);
  out.note = std::move(chain.note);
  if (chain.ambiguous) {
    out.confidence = Confidence::kAmbiguous;
    out.waiting = chain.waiting;
  } else if (chain.broken || !chain.origin) {
    out.confidence = Confidence::kUnresolved;
    out.waiting = chain.waiting || chain.recipients_pending;
    out.missing_source = chain.missing_source;
  } else {
    out.origin = chain.origin;
    out.confidence = chain.fuzzy ? Confidence::kFuzzy : Confidence::kExact;
    // Not accepted on the sender alone while the message's recipients may still be logged:
    // held (until pending_timeout) like a chain waiting for a record.
    out.waiting = chain.recipients_pending;
  }
  return out;
}

}  // namespace vtrace
