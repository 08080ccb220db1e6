// The recent-mail index: compact records in creation order and one flat hash table of
// (key hash, record id) entries for the trace's lookups.
#include "module/mail_index.hpp"

#include <algorithm>
#include <cstring>

namespace vtrace {

namespace {

constexpr std::uint64_t kFnvOffset = 0xcbf29ce484222325ULL;
constexpr std::uint64_t kFnvPrime = 0x100000001b3ULL;
constexpr std::size_t kMaxRecipients = 64;
constexpr std::size_t kMaxDeliveries = 64;
constexpr std::size_t kMaxNames = 1'000'000;

std::uint64_t mix(std::uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

const std::string kEmpty;

// "E1xXDV8-0006X2-3A@relay2" -> "1xXDV8-0006X2-3A": an exim message id (6-6..11-2..4).
std::string_view exim_id_in_message_id(std::string_view mid) {
  if (mid.size() < 16 || mid[0] != 'E') return {};
  const auto at = mid.find('@');
  if (at == std::string_view::npos) return {};
  const std::string_view id = mid.substr(1, at - 1);
  const auto d1 = id.find('-');
  const auto d2 = id.find('-', d1 + 1);
  if (d1 != 6 || d2 == std::string_view::npos || d2 - d1 - 1 < 6 || d2 - d1 - 1 > 11 ||
      id.size() - d2 - 1 < 2 || id.size() - d2 - 1 > 4) {
    return {};
  }
  for (char c : id) {
    if (!(c == '-' || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) {
      return {};
    }
  }
  return id;
}

}  // namespace

TextHash hash_text(std::string_view text) {
  std::uint64_t h = kFnvOffset;
  for (unsigned char c : text) h = (h ^ c) * kFnvPrime;
  return h == 0 ? 1 : h;
}

TextHash hash_address(std::string_view address) {
  std::uint64_t h = kFnvOffset;
  for (unsigned char c : address) {
    if (c >= 'A' && c <= 'Z') c = static_cast<unsigned char>(c + 32);
    h = (h ^ c) * kFnvPrime;
  }
  return h == 0 ? 1 : h;
}

std::string normalise_address(std::string_view address) {
  std::string out(address);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return out;
}

bool MessageRecord::has_recipient(TextHash r) const {
  for (TextHash x : recipients) {
    if (x == r) return true;
  }
  return false;
}

const std::string& MessageRecord::bounce_of() const { return links ? links->bounce_of : kEmpty; }

const std::string& MessageRecord::upstream_exim_id() const {
  return links ? links->upstream_exim_id : kEmpty;
}

const std::string& MessageRecord::orig_queue_id() const {
  return links ? links->orig_queue_id : kEmpty;
}

MailIndex::MailIndex(std::size_t max_messages, Duration window)
    : max_messages_(max_messages), window_(window), table_(1024) {}

std::uint64_t MailIndex::key_hash(Key key, SourceIndex source, TextHash value) {
  return mix(value ^ (static_cast<std::uint64_t>(key) << 56) ^
             (static_cast<std::uint64_t>(source) << 40));
}

void MailIndex::link(Key key, SourceIndex source, TextHash value, RecordId id) {
  if (value == 0) return;
  if ((table_used_ + 1) * 2 > table_.size()) {
    // Count what the live records need; dead entries (evicted records) are dropped.
    std::size_t live = 1;
    for (const auto& r : records_) live += 3 + r.deliveries.size();
    std::size_t capacity = 1024;
    while (capacity * 2 < live * 5) capacity *= 2;  // load at most 0.4 after a rebuild
    rebuild_table(capacity);
  }
  const std::uint64_t h = key_hash(key, source, value);
  const std::size_t mask = table_.size() - 1;
  std::size_t pos = h & mask;
  while (table_[pos].tag != 0) pos = (pos + 1) & mask;
  table_[pos].tag = static_cast<std::uint32_t>(h >> 32) | 1;
  table_[pos].id = static_cast<std::uint32_t>(id);
  ++table_used_;
}

void MailIndex::link_record(const MessageRecord& r) {
  link(Key::kQueueId, r.source, hash_text(r.queue_id()), r.id);
  link(Key::kMessageId, r.source, r.message_id, r.id);
  if (r.has_sender) link(Key::kSender, r.source, r.sender, r.id);
  TextHash previous = 0;
  for (const auto& d : r.deliveries) {
    if (d.next_queue_id != previous) link(Key::kNextQueueId, r.source, d.next_queue_id, r.id);
    previous = d.next_queue_id;
  }
}

void MailIndex::rebuild_table(std::size_t capacity) {
  table_.assign(capacity, Slot{});
  table_used_ = 0;
  ++stats_.table_rebuilds;
  for (const auto& r : records_) link_record(r);
}

template <typename Fn>
void MailIndex::lookup(Key key, SourceIndex source, TextHash value, Fn&& fn) const {
  if (value == 0 || records_.empty()) return;
  const std::uint64_t h = key_hash(key, source, value);
  const std::uint32_t tag = static_cast<std::uint32_t>(h >> 32) | 1;
  const std::size_t mask = table_.size() - 1;
  const RecordId newest = records_.back().id;
  for (std::size_t pos = h & mask; table_[pos].tag != 0; pos = (pos + 1) & mask) {
    if (table_[pos].tag != tag) continue;
    RecordId id = (newest & ~0xffffffffULL) | table_[pos].id;
    if (id > newest) id -= 0x100000000ULL;
    const MessageRecord* r = get(id);
    if (r != nullptr && r->source == source) fn(r);
  }
}

const MessageRecord* MailIndex::get(RecordId id) const {
  if (records_.empty() || id < records_.front().id || id > records_.back().id) return nullptr;
  return &records_[id - records_.front().id];
}

const std::string& MailIndex::client_name(const IpAddress& address) const {
  auto it = names_.find(address);
  return it == names_.end() ? kEmpty : it->second;
}

void MailIndex::remember_name(const IpAddress& address, std::string_view name) {
  if (name.empty()) return;
  if (names_.size() >= kMaxNames) {
    names_.clear();
    ++stats_.names_dropped;
  }
  auto& stored = names_[address];
  if (stored != name) stored.assign(name);
}

MessageRecord& MailIndex::create(SourceIndex source, std::string_view queue_id, TimePoint t) {
  MessageRecord& r = records_.emplace_back();
  r.id = next_id_++;
  r.source = source;
  r.first_seen = r.last_seen = r.received_at = t;
  r.queue_id_size = static_cast<std::uint8_t>(std::min(queue_id.size(), sizeof r.queue_id_text));
  std::memcpy(r.queue_id_text, queue_id.data(), r.queue_id_size);
  link(Key::kQueueId, source, hash_text(r.queue_id()), r.id);
  ++stats_.records_created;
  return r;
}

MessageRecord* MailIndex::apply(SourceIndex source, TimePoint t, const ParsedRecord& in) {
  if (in.queue_id.empty()) return nullptr;
  const std::string_view queue_id =
      in.queue_id.substr(0, std::min(in.queue_id.size(), sizeof MessageRecord::queue_id_text));
  // Find the current incarnation of this queue id. Postfix reuses short ids (they derive from
  // inode numbers): a new receive line, or a line after the old one was removed, or a long
  // silence, starts a new message.
  MessageRecord* record = nullptr;
  {
    const MessageRecord* latest = nullptr;
    lookup(Key::kQueueId, source, hash_text(queue_id), [&](const MessageRecord* c) {
      if (c->queue_id() == queue_id && (latest == nullptr || c->id > latest->id)) latest = c;
    });
    if (latest != nullptr) {
      const bool stale = t - latest->last_seen > window_;
      const bool restarted = in.kind == RecordKind::kReceive && latest->received;
      const bool reborn = latest->done && in.kind != RecordKind::kDone;
      if (!stale && !restarted && !reborn) record = const_cast<MessageRecord*>(latest);
    }
  }
  if (record == nullptr) record = &create(source, queue_id, t);
  MessageRecord& r = *record;
  r.last_seen = std::max(r.last_seen, t);
  if (t < r.first_seen) r.first_seen = t;

  if (!in.client_ip.empty() && (in.kind == RecordKind::kReceive || !r.has_client)) {
    // A reject/hold line names the client too; it only fills a gap.
    if (auto ip = IpAddress::parse(in.client_ip)) {
      r.client_ip = *ip;
      r.has_client = true;
      remember_name(*ip, in.client_name);
    }
  }
  if (in.kind == RecordKind::kReceive) {
    r.received = true;
    r.received_at = t;
  }
  if (!in.message_id.empty() && r.message_id == 0) {
    r.message_id = hash_text(in.message_id);
    link(Key::kMessageId, source, r.message_id, r.id);
    if (const auto exim_id = exim_id_in_message_id(in.message_id); !exim_id.empty()) {
      if (!r.links) r.links = std::make_unique<RecordLinks>();
      r.links->upstream_exim_id = exim_id;
    }
  }
  if (in.has_sender && !r.has_sender) {
    r.sender = hash_address(in.sender);
    r.has_sender = true;
    link(Key::kSender, source, r.sender, r.id);
  }
  for (auto rcpt : in.recipients) {
    const TextHash h = hash_address(rcpt);
    if (r.recipients.size() < kMaxRecipients && !r.has_recipient(h)) r.recipients.push_back(h);
  }
  if (in.kind == RecordKind::kReceive && !in.orig_queue_id.empty()) {
    if (!r.links) r.links = std::make_unique<RecordLinks>();
    if (in.action == "bounce-of") {
      // exim: "<= <> R=ID" is a bounce generated on this host for message ID.
      r.links->bounce_of = in.orig_queue_id;
    } else {
      r.links->orig_queue_id = in.orig_queue_id;
      if (!in.orig_client_ip.empty()) {
        r.links->orig_client_ip = IpAddress::parse(in.orig_client_ip);
        r.links->orig_client_name = in.orig_client_name;
      }
    }
  }
  if (in.kind == RecordKind::kDelivery ||
      (in.kind == RecordKind::kDetection && in.status != DeliveryStatus::kUnknown)) {
    const TextHash next = in.next_queue_id.empty() ? 0 : hash_text(in.next_queue_id);
    bool linked = next == 0;
    for (const auto& d : r.deliveries) linked = linked || d.next_queue_id == next;
    for (auto rcpt : in.recipients) {
      if (r.deliveries.size() >= kMaxDeliveries) break;
      r.deliveries.push_back({hash_address(rcpt), next, t, in.status});
    }
    if (!linked) link(Key::kNextQueueId, source, next, r.id);
  }
  if (in.kind == RecordKind::kBounce && !in.bounce_queue_id.empty()) {
    // The bounce is a message of its own on this host; remember where it came from.
    // Appending to the deque keeps references to `r` valid.
    ParsedRecord bounce;
    bounce.queue_id = in.bounce_queue_id;
    MessageRecord* b = apply(source, t, bounce);
    if (b != nullptr && b->bounce_of().empty()) {
      if (!b->links) b->links = std::make_unique<RecordLinks>();
      b->links->bounce_of = r.queue_id();
    }
    return &r;
  }
  if (in.kind == RecordKind::kDone) r.done = true;
  return &r;
}

void MailIndex::evict(TimePoint now) {
  while (!records_.empty() && records_.size() > max_messages_) {
    records_.pop_front();
    ++stats_.evicted_by_capacity;
  }
  // Creation order is close to time order; stop at the first record still inside the window.
  while (!records_.empty() && records_.front().last_seen < now - window_) {
    records_.pop_front();
    ++stats_.evicted_by_age;
  }
}

const MessageRecord* MailIndex::find_by_queue_id(SourceIndex source, std::string_view queue_id,
                                                 TimePoint t, Duration slack) const {
  const MessageRecord* best = nullptr;
  lookup(Key::kQueueId, source, hash_text(queue_id), [&](const MessageRecord* r) {
    if (r->queue_id() == queue_id && r->first_seen <= t + slack &&
        (best == nullptr || r->first_seen > best->first_seen)) {
      best = r;
    }
  });
  if (best != nullptr && t - best->last_seen > window_) best = nullptr;
  return best;
}

const MessageRecord* MailIndex::find_by_next_queue_id(SourceIndex source,
                                                      std::string_view next_queue_id, TimePoint t,
                                                      Duration slack) const {
  const TextHash wanted = hash_text(next_queue_id);
  const MessageRecord* best = nullptr;
  TimePoint best_time = 0;
  lookup(Key::kNextQueueId, source, wanted, [&](const MessageRecord* r) {
    for (const auto& d : r->deliveries) {
      if (d.next_queue_id != wanted || d.time > t + slack || t - d.time > window_) continue;
      if (best == nullptr || d.time > best_time) {
        best = r;
        best_time = d.time;
      }
    }
  });
  return best;
}

std::vector<const MessageRecord*> MailIndex::find_by_message_id(SourceIndex source,
                                                                TextHash message_id, TimePoint t,
                                                                Duration slack) const {
  std::vector<const MessageRecord*> out;
  lookup(Key::kMessageId, source, message_id, [&](const MessageRecord* r) {
    if (r->message_id == message_id && r->first_seen <= t + slack && t - r->last_seen <= window_) {
      out.push_back(r);
    }
  });
  std::sort(out.begin(), out.end(), [](const auto* a, const auto* b) {
    return a->first_seen != b->first_seen ? a->first_seen > b->first_seen : a->id > b->id;
  });
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<const MessageRecord*> MailIndex::find_by_sender(SourceIndex source,
                                                            TextHash sender) const {
  std::vector<const MessageRecord*> out;
  lookup(Key::kSender, source, sender, [&](const MessageRecord* r) {
    if (r->has_sender && r->sender == sender) out.push_back(r);
  });
  std::sort(out.begin(), out.end(), [](const auto* a, const auto* b) { return a->id < b->id; });
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace vtrace
