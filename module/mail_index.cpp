// The recent-mail index: records per host and queue id, with hash keys for the trace's
// lookups (queue id, next-hop queue id, Message-ID, envelope sender).
#include "module/mail_index.hpp"

#include <algorithm>

namespace vtrace {

std::string normalise_address(std::string_view address) {
  std::string out(address);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return out;
}

std::uint64_t MailIndex::hash(Key key, SourceIndex source, std::string_view value) {
  std::uint64_t h = 0xcbf29ce484222325ULL ^ (static_cast<std::uint64_t>(key) << 56) ^
                    (static_cast<std::uint64_t>(source) << 40);
  for (unsigned char c : value) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

void MailIndex::link(Key key, SourceIndex source, std::string_view value, RecordId id) {
  if (value.empty()) return;
  const auto h = hash(key, source, value);
  auto [begin, end] = keys_.equal_range(h);
  for (auto it = begin; it != end; ++it) {
    if (it->second == id) return;
  }
  keys_.emplace(h, id);
}

void MailIndex::unlink(Key key, SourceIndex source, std::string_view value, RecordId id) {
  if (value.empty()) return;
  auto [begin, end] = keys_.equal_range(hash(key, source, value));
  for (auto it = begin; it != end; ++it) {
    if (it->second == id) {
      keys_.erase(it);
      return;
    }
  }
}

const MessageRecord* MailIndex::get(RecordId id) const {
  if (records_.empty() || id < records_.front().id || id > records_.back().id) return nullptr;
  return &records_[id - records_.front().id];
}

std::vector<const MessageRecord*> MailIndex::lookup(Key key, SourceIndex source,
                                                    std::string_view value) const {
  std::vector<const MessageRecord*> out;
  if (value.empty()) return out;
  auto [begin, end] = keys_.equal_range(hash(key, source, value));
  for (auto it = begin; it != end; ++it) {
    const MessageRecord* r = get(it->second);
    if (r == nullptr || r->source != source) continue;
    out.push_back(r);
  }
  return out;
}

MessageRecord& MailIndex::create(SourceIndex source, std::string_view queue_id, TimePoint t) {
  MessageRecord& r = records_.emplace_back();
  r.id = next_id_++;
  r.source = source;
  r.first_seen = r.last_seen = r.received_at = t;
  r.queue_id = queue_id;
  link(Key::kQueueId, source, queue_id, r.id);
  ++stats_.records_created;
  return r;
}

MessageRecord* MailIndex::apply(SourceIndex source, TimePoint t, const ParsedRecord& in) {
  if (in.queue_id.empty()) return nullptr;
  // Find the current incarnation of this queue id. Postfix reuses short ids (they derive from
  // inode numbers): a new receive line, or a line after the old one was removed, or a long
  // silence, starts a new message.
  MessageRecord* record = nullptr;
  {
    auto candidates = lookup(Key::kQueueId, source, in.queue_id);
    const MessageRecord* latest = nullptr;
    for (const auto* c : candidates) {
      if (c->queue_id == in.queue_id && (latest == nullptr || c->id > latest->id)) latest = c;
    }
    if (latest != nullptr) {
      const bool stale = t - latest->last_seen > window_;
      const bool restarted = in.kind == RecordKind::kReceive && latest->received;
      const bool reborn = latest->done && in.kind != RecordKind::kDone;
      if (!stale && !restarted && !reborn) record = const_cast<MessageRecord*>(latest);
    }
  }
  if (record == nullptr) record = &create(source, in.queue_id, t);
  MessageRecord& r = *record;
  r.last_seen = std::max(r.last_seen, t);
  if (t < r.first_seen) r.first_seen = t;

  if (in.kind == RecordKind::kReceive) {
    r.received = true;
    r.received_at = t;
    if (!in.client_ip.empty()) {
      r.client_ip = IpAddress::parse(in.client_ip);
      r.client_name = in.client_name;
    }
  } else if (!in.client_ip.empty() && !r.client_ip) {
    // A reject/hold line names the client too; it only fills a gap.
    r.client_ip = IpAddress::parse(in.client_ip);
    r.client_name = in.client_name;
  }
  if (!in.message_id.empty() && r.message_id.empty()) {
    r.message_id = in.message_id;
    link(Key::kMessageId, source, r.message_id, r.id);
  }
  if (in.has_sender && !r.has_sender) {
    r.sender = normalise_address(in.sender);
    r.has_sender = true;
    link(Key::kSender, source, r.sender, r.id);
  }
  for (auto rcpt : in.recipients) {
    std::string normal = normalise_address(rcpt);
    if (r.recipients.size() < 64 &&
        std::find(r.recipients.begin(), r.recipients.end(), normal) == r.recipients.end()) {
      r.recipients.push_back(std::move(normal));
    }
  }
  if (!in.orig_queue_id.empty() && in.kind == RecordKind::kReceive && in.action == "bounce-of") {
    // exim: "<= <> R=ID" is a bounce generated on this host for message ID.
    r.bounce_of = in.orig_queue_id;
  } else if (!in.orig_queue_id.empty() && in.kind == RecordKind::kReceive) {
    r.orig_queue_id = in.orig_queue_id;
    if (!in.orig_client_ip.empty()) {
      r.orig_client_ip = IpAddress::parse(in.orig_client_ip);
      r.orig_client_name = in.orig_client_name;
    }
  }
  if (in.kind == RecordKind::kDelivery ||
      (in.kind == RecordKind::kDetection && in.status != DeliveryStatus::kUnknown)) {
    for (auto rcpt : in.recipients) {
      if (r.deliveries.size() >= 64) break;
      Delivery d;
      d.recipient = normalise_address(rcpt);
      d.next_queue_id = in.next_queue_id;
      if (!in.relay_ip.empty()) d.relay_ip = IpAddress::parse(in.relay_ip);
      d.status = in.status;
      d.time = t;
      r.deliveries.push_back(std::move(d));
    }
    link(Key::kNextQueueId, source, in.next_queue_id, r.id);
  }
  if (in.kind == RecordKind::kBounce && !in.bounce_queue_id.empty()) {
    // The bounce is a message of its own on this host; remember where it came from.
    ParsedRecord bounce;
    bounce.queue_id = in.bounce_queue_id;
    // Appending to the deque keeps references to `r` valid.
    MessageRecord* b = apply(source, t, bounce);
    if (b != nullptr && b->bounce_of.empty()) b->bounce_of = r.queue_id;
    return &r;
  }
  if (in.kind == RecordKind::kDone) r.done = true;
  return &r;
}

void MailIndex::drop_front() {
  const MessageRecord& r = records_.front();
  unlink(Key::kQueueId, r.source, r.queue_id, r.id);
  unlink(Key::kMessageId, r.source, r.message_id, r.id);
  unlink(Key::kSender, r.source, r.sender, r.id);
  for (const auto& d : r.deliveries) unlink(Key::kNextQueueId, r.source, d.next_queue_id, r.id);
  records_.pop_front();
}

void MailIndex::evict(TimePoint now) {
  while (!records_.empty() && records_.size() > max_messages_) {
    drop_front();
    ++stats_.evicted_by_capacity;
  }
  // Creation order is close to time order; stop at the first record still inside the window.
  while (!records_.empty() && records_.front().last_seen < now - window_) {
    drop_front();
    ++stats_.evicted_by_age;
  }
}

const MessageRecord* MailIndex::find_by_queue_id(SourceIndex source, std::string_view queue_id,
                                                 TimePoint t, Duration slack) const {
  const MessageRecord* best = nullptr;
  for (const auto* r : lookup(Key::kQueueId, source, queue_id)) {
    if (r->queue_id == queue_id && r->first_seen <= t + slack &&
        (best == nullptr || r->first_seen > best->first_seen)) {
      best = r;
    }
  }
  if (best != nullptr && t - best->last_seen > window_) best = nullptr;
  return best;
}

const MessageRecord* MailIndex::find_by_next_queue_id(SourceIndex source,
                                                      std::string_view next_queue_id, TimePoint t,
                                                      Duration slack) const {
  const MessageRecord* best = nullptr;
  TimePoint best_time = 0;
  for (const auto* r : lookup(Key::kNextQueueId, source, next_queue_id)) {
    for (const auto& d : r->deliveries) {
      if (d.next_queue_id != next_queue_id || d.time > t + slack || t - d.time > window_) {
        continue;
      }
      if (best == nullptr || d.time > best_time) {
        best = r;
        best_time = d.time;
      }
    }
  }
  return best;
}

std::vector<const MessageRecord*> MailIndex::find_by_message_id(SourceIndex source,
                                                                std::string_view message_id,
                                                                TimePoint t, Duration slack) const {
  std::vector<const MessageRecord*> out;
  for (const auto* r : lookup(Key::kMessageId, source, message_id)) {
    if (r->message_id == message_id && r->first_seen <= t + slack && t - r->last_seen <= window_) {
      out.push_back(r);
    }
  }
  std::sort(out.begin(), out.end(),
            [](const auto* a, const auto* b) { return a->first_seen > b->first_seen; });
  return out;
}

std::vector<const MessageRecord*> MailIndex::find_by_sender(SourceIndex source,
                                                            std::string_view sender) const {
  std::vector<const MessageRecord*> out;
  for (const auto* r : lookup(Key::kSender, source, sender)) {
    if (r->sender == sender) out.push_back(r);
  }
  return out;
}

}  // namespace vtrace
