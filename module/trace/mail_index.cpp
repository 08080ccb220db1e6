// The recent-mail index: compact records in creation order and one flat hash table of
// (key hash, record id) entries for the trace's lookups.
#include "module/trace/mail_index.hpp"

#include <algorithm>
#include <cstring>

namespace vtrace {

namespace {

constexpr std::uint64_t kFnvOffset = 0xcbf29ce484222325ULL;
constexpr std::uint64_t kFnvPrime = 0x100000001b3ULL;
constexpr std::size_t kMaxRecipients = 64;
constexpr std::size_t kMaxDeliveries = 64;
constexpr std::size_t kMaxNames = 1'000'000;
// Texts are kept for a few seconds' worth of records, or minutes' while a detection is held:
// the bound is far above that at any real mail rate.
constexpr std::size_t kMaxMessageIdTexts = 262'144;
// Longer "queue ids" are not ids of any MTA; cut, they still match themselves.
constexpr std::size_t kMaxQueueId = 64;
// How long after a message's removal a verdict naming its queue id is still about it. A
// scanner logs its verdict before the MTA queues the message, so only a late read of its log
// puts it after the removal: seconds, not minutes. A reused queue id starts with a receive.
constexpr Duration kLateVerdict = 60 * kMicrosPerSecond;
// What an incident carries of a Message-ID (docs/incident.md: message.message_id).
constexpr std::size_t kMaxMessageIdText = 1024;

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

static_assert(static_cast<int>(DeliveryStatus::kRejected) < 8, "PackedDelivery keeps 3 bits");
static_assert(sizeof(MessageRecord) <= 120, "the sender link lives in the record's padding");

// Eight bytes at a time, then murmur's finalizer: one multiply per word instead of one per
// byte. `fold` maps each word first (identity, or ASCII lower-casing).
template <typename Fold>
TextHash hash_words(std::string_view text, Fold fold) {
  std::uint64_t h = kFnvOffset ^ (text.size() * kFnvPrime);
  const char* p = text.data();
  std::size_t n = text.size();
  for (; n >= 8; p += 8, n -= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    h = (h ^ fold(w)) * 0x9e3779b97f4a7c15ULL;
    h ^= h >> 29;
  }
  if (n > 0) {
    // The tail as one word, read with overlapping loads rather than byte by byte (the length
    // is already in the hash, so overlap cannot make two texts alike).
    std::uint64_t w;
    if (text.size() >= 8) {
      std::memcpy(&w, text.data() + text.size() - 8, 8);
    } else if (n >= 4) {
      std::uint32_t a, b;
      std::memcpy(&a, p, 4);
      std::memcpy(&b, p + n - 4, 4);
      w = (static_cast<std::uint64_t>(a) << 32) | b;
    } else {
      w = static_cast<unsigned char>(p[0]) | static_cast<unsigned char>(p[n / 2]) << 8 |
          static_cast<std::uint64_t>(static_cast<unsigned char>(p[n - 1])) << 16;
    }
    h = (h ^ fold(w)) * 0x9e3779b97f4a7c15ULL;
  }
  h = mix(h);
  return h == 0 ? 1 : h;
}

// 'A'..'Z' to 'a'..'z' in all eight bytes of a word at once; other bytes stay as they are.
std::uint64_t lower_ascii(std::uint64_t w) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
  const std::uint64_t low7 = w & (0x7f * kOnes);
  const std::uint64_t at_least_a = low7 + (0x80 - 'A') * kOnes;
  const std::uint64_t above_z = low7 + (0x80 - 'Z' - 1) * kOnes;
  const std::uint64_t upper = at_least_a & ~above_z & ~w & (0x80 * kOnes);
  return w | (upper >> 2);
}

}  // namespace

TextHash hash_text(std::string_view text) {
  return hash_words(text, [](std::uint64_t w) { return w; });
}

TextHash hash_address(std::string_view address) { return hash_words(address, lower_ascii); }

std::string normalise_address(std::string_view address) {
  std::string out(address);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return out;
}

std::size_t RecordExtra::heap_bytes() const {
  std::size_t n =
      recipients.capacity() * sizeof(TextHash) + deliveries.capacity() * sizeof(PackedDelivery);
  if (links) {
    n += sizeof(RecordLinks);
    for (const std::string* text :
         {&links->orig_queue_id, &links->orig_client_name, &links->bounce_of,
          &links->upstream_exim_id, &links->long_queue_id}) {
      if (text->capacity() > 15) n += text->capacity() + 1;  // beyond the small-string buffer
    }
  }
  return n;
}

RecordExtra& MessageRecord::extra_facts() {
  if (!extra) extra = std::make_unique<RecordExtra>();
  return *extra;
}

RecordLinks& MessageRecord::links_facts() {
  RecordExtra& e = extra_facts();
  if (!e.links) e.links = std::make_unique<RecordLinks>();
  return *e.links;
}

std::string_view MessageRecord::queue_id() const {
  if (queue_id_size_ > sizeof queue_id_text_) return links()->long_queue_id;
  return {queue_id_text_, queue_id_size_};
}

void MessageRecord::set_queue_id(std::string_view queue_id) {
  queue_id = queue_id.substr(0, kMaxQueueId);
  queue_id_size_ = static_cast<std::uint8_t>(queue_id.size());
  if (queue_id.size() > sizeof queue_id_text_) {
    links_facts().long_queue_id.assign(queue_id);
  } else {
    std::copy(queue_id.begin(), queue_id.end(), queue_id_text_);
  }
}

void MessageRecord::set_offset_time(std::uint32_t& offset, TimePoint RecordLinks::*spilled,
                                    TimePoint t) {
  const TimePoint delta = t - first_seen_;
  if (delta >= 0 && delta < kSpilled) {
    offset = static_cast<std::uint32_t>(delta);
  } else {
    links_facts().*spilled = t;
    offset = kSpilled;
  }
}

void MessageRecord::start_at(TimePoint t) {
  first_seen_ = t;
  last_offset_ = received_offset_ = 0;
}

void MessageRecord::saw(TimePoint t) {
  const TimePoint last = std::max(last_seen(), t);
  if (t < first_seen_) {
    // An earlier line after a later one (files merged out of order): the offsets move.
    const TimePoint received = received_at();
    const bool inline_delivery = delivery_count_ == 1 && !(extra && !extra->deliveries.empty());
    const Delivery d = inline_delivery ? this->inline_delivery() : Delivery{};
    first_seen_ = t;
    set_offset_time(received_offset_, &RecordLinks::received_at, received);
    if (inline_delivery && !set_inline_delivery(d)) extra_facts().deliveries.emplace_back(d);
  }
  set_offset_time(last_offset_, &RecordLinks::last_seen, last);
}

void MessageRecord::set_received_at(TimePoint t) {
  set_offset_time(received_offset_, &RecordLinks::received_at, t);
}

std::span<const TextHash> MessageRecord::recipients() const {
  if (recipient_count_ > 1) return extra->recipients;
  return {&recipient_, recipient_count_};
}

bool MessageRecord::has_recipient(TextHash r) const {
  for (TextHash x : recipients()) {
    if (x == r) return true;
  }
  return false;
}

void MessageRecord::add_recipient(TextHash r) {
  if (recipient_count_ == 0) {
    recipient_ = r;
  } else {
    auto& all = extra_facts().recipients;
    if (all.empty()) all.push_back(recipient_);
    all.push_back(r);
  }
  ++recipient_count_;
}

Delivery MessageRecord::inline_delivery() const {
  return {recipient_count_ > 1 ? extra->recipients[delivery_recipient_] : recipient_,
          delivery_next_queue_id_, first_seen_ + delivery_offset_, delivery_status_};
}

bool MessageRecord::set_inline_delivery(const Delivery& d) {
  const TimePoint delta = d.time - first_seen_;
  if (delta < 0 || delta >= kSpilled) return false;
  const auto rcpts = recipients();
  const auto at = std::find(rcpts.begin(), rcpts.end(), d.recipient);
  if (at == rcpts.end()) return false;
  delivery_recipient_ = static_cast<std::uint8_t>(at - rcpts.begin());
  delivery_next_queue_id_ = d.next_queue_id;
  delivery_offset_ = static_cast<std::uint32_t>(delta);
  delivery_status_ = d.status;
  return true;
}

void MessageRecord::add_delivery(const Delivery& d) {
  const bool spilled = extra && !extra->deliveries.empty();
  if (delivery_count_ == 0 && !spilled && set_inline_delivery(d)) {
    delivery_count_ = 1;
    return;
  }
  auto& all = extra_facts().deliveries;
  if (all.empty() && delivery_count_ == 1) all.emplace_back(inline_delivery());
  all.emplace_back(d);
  ++delivery_count_;
}

std::uint32_t verdict_name(std::string_view virus) {
  const auto h = static_cast<std::uint32_t>(hash_address(virus) >> 32);
  return h <= kSeveralViruses ? h + 2 : h;
}

void MessageRecord::add_verdict_virus(std::uint32_t name) {
  if (verdict_virus_ == 0) {
    verdict_virus_ = name;
  } else if (verdict_virus_ != name) {
    verdict_virus_ = kSeveralViruses;
  }
}

const std::string& MessageRecord::bounce_of() const {
  return links() ? links()->bounce_of : kEmpty;
}

const std::string& MessageRecord::upstream_exim_id() const {
  return links() ? links()->upstream_exim_id : kEmpty;
}

const std::string& MessageRecord::orig_queue_id() const {
  return links() ? links()->orig_queue_id : kEmpty;
}

MailIndex::MailIndex(std::size_t max_messages, Duration window)
    : max_messages_(max_messages), window_(window), table_(1024) {}

std::uint64_t MailIndex::key_hash(Key key, SourceIndex source, TextHash value) {
  return mix(value ^ (static_cast<std::uint64_t>(key) << 56) ^
             (static_cast<std::uint64_t>(source) << 40));
}

bool MailIndex::grow_table_if_full() {
  if ((table_used_ + 1) * 5 <= table_.size() * 4) return false;
  // Count what the live records need (entries an eviction could not find are dropped). The
  // table is a large part of the index's memory and linear probing stays short up to a load
  // of 0.8: rebuild there, to a load of 0.5 (any size, not a power of two). Evictions remove
  // their entries, so this happens only while the live set grows.
  std::size_t live = 1;
  const RecordId front = records_.empty() ? 0 : records_.front().id;
  for (const auto& r : records_) {
    live += entries_of(r);
    // A sender chain has one entry, not one per record: a record linked to an older live one
    // adds none.
    const std::uint32_t back = r.has_sender ? sender_link(r) : 0;
    if (back != 0 && r.id - back >= front) --live;
  }
  rebuild_table(std::max<std::size_t>(1024, live * 2));
  return true;
}

void MailIndex::link(Key key, SourceIndex source, TextHash value, RecordId id) {
  if (value == 0) return;
  grow_table_if_full();
  const std::uint64_t h = key_hash(key, source, value);
  note(h);
  const std::uint32_t tag = tag_of(h);
  std::size_t pos = home_slot(tag);
  while (table_[pos].tag != 0) pos = next_slot(pos);
  table_[pos].tag = tag;
  table_[pos].id = static_cast<std::uint32_t>(id);
  ++table_used_;
}

void MailIndex::unlink(Key key, SourceIndex source, TextHash value, RecordId id) {
  if (value == 0) return;
  const std::uint32_t tag = tag_of(key_hash(key, source, value));
  const auto id32 = static_cast<std::uint32_t>(id);
  std::size_t hole = home_slot(tag);
  while (table_[hole].tag != tag || table_[hole].id != id32) {
    if (table_[hole].tag == 0) return;
    hole = next_slot(hole);
  }
  // Backward-shift deletion: move up every later entry of the run that may sit in the hole
  // (its home is not cyclically inside (hole, pos]), so that no lookup stops early.
  for (std::size_t pos = next_slot(hole); table_[pos].tag != 0; pos = next_slot(pos)) {
    const std::size_t home = home_slot(table_[pos].tag);
    const bool stays = hole <= pos ? (hole < home && home <= pos) : (hole < home || home <= pos);
    if (stays) continue;
    table_[hole] = table_[pos];
    hole = pos;
  }
  table_[hole] = Slot{};
  --table_used_;
}

MailIndex::Slot* MailIndex::sender_head(SourceIndex source, TextHash sender) {
  const std::uint32_t tag = tag_of(key_hash(Key::kSender, source, sender));
  const RecordId newest = records_.back().id;
  for (std::size_t pos = home_slot(tag); table_[pos].tag != 0; pos = next_slot(pos)) {
    if (table_[pos].tag != tag) continue;
    RecordId id = (newest & ~0xffffffffULL) | table_[pos].id;
    if (id > newest) id -= 0x100000000ULL;
    const MessageRecord* head = get(id);
    if (head != nullptr && head->source == source && head->has_sender && head->sender == sender) {
      return &table_[pos];
    }
  }
  return nullptr;
}

void MailIndex::set_sender_link(MessageRecord& r, std::uint32_t distance) {
  if (r.sender_link_ == kFarSenderLink) far_sender_links_.erase(r.id);
  if (distance < kFarSenderLink) {
    r.sender_link_ = static_cast<std::uint16_t>(distance);
  } else {
    r.sender_link_ = kFarSenderLink;
    far_sender_links_[r.id] = distance;
  }
}

void MailIndex::link_sender(const MessageRecord& record) {
  const RecordId front = records_.front().id;
  auto at_id = [&](RecordId id) -> MessageRecord& { return records_[id - front]; };
  MessageRecord& r = at_id(record.id);
  set_sender_link(r, 0);
  note(key_hash(Key::kSender, r.source, r.sender));
  Slot* head = sender_head(r.source, r.sender);
  if (head == nullptr) {
    // A rebuild links every record, r with its sender included: a second entry would be a
    // stale head once the chain grows.
    if (!grow_table_if_full()) link(Key::kSender, r.source, r.sender, r.id);
    return;
  }
  const RecordId newest = records_.back().id;
  RecordId at = (newest & ~0xffffffffULL) | head->id;
  if (at > newest) at -= 0x100000000ULL;
  if (at < r.id) {
    // The common case: the newest message of the sender becomes the chain's head.
    set_sender_link(r, static_cast<std::uint32_t>(r.id - at));
    head->id = static_cast<std::uint32_t>(r.id);
    return;
  }
  // A sender learnt late for an older record: into the chain where its id belongs.
  for (;;) {
    const std::uint32_t back = sender_link(at_id(at));
    const RecordId older = at - back;
    if (back == 0 || older < front || older < r.id) {
      set_sender_link(at_id(at), static_cast<std::uint32_t>(at - r.id));
      if (back != 0 && older >= front) set_sender_link(r, static_cast<std::uint32_t>(r.id - older));
      return;
    }
    at = older;
  }
}

// Calls fn with each distinct next-hop id of r's deliveries, once: apply() links each once.
template <typename Fn>
void MailIndex::for_each_next_queue_id(const MessageRecord& r, Fn&& fn) {
  std::size_t i = 0;
  for (const Delivery d : r.deliveries()) {
    bool seen = d.next_queue_id == 0;
    std::size_t j = 0;
    for (auto it = r.deliveries().begin(); !seen && j < i; ++it, ++j) {
      seen = (*it).next_queue_id == d.next_queue_id;
    }
    if (!seen) fn(d.next_queue_id);
    ++i;
  }
}

std::size_t MailIndex::entries_of(const MessageRecord& r) {
  std::size_t n = 1 + (r.message_id != 0) + r.has_sender;
  for_each_next_queue_id(r, [&n](TextHash) { ++n; });
  return n;
}

void MailIndex::unlink_record(const MessageRecord& r) {
  unlink(Key::kQueueId, r.source, hash_text(r.queue_id()), r.id);
  unlink(Key::kMessageId, r.source, r.message_id, r.id);
  if (r.has_sender) unlink(Key::kSender, r.source, r.sender, r.id);
  for_each_next_queue_id(r,
                         [&](TextHash next) { unlink(Key::kNextQueueId, r.source, next, r.id); });
}

void MailIndex::drop_oldest() {
  // The head entry of a sender chain goes with its last record (the chain's newest: when it
  // is the oldest record, the rest of its chain is gone already).
  if (logging_) note_record(records_.front());
  unlink_record(records_.front());
  if (records_.front().sender_link_ == kFarSenderLink) {
    far_sender_links_.erase(records_.front().id);
  }
  records_.pop_front();
}

void MailIndex::link_record(const MessageRecord& r) {
  link(Key::kQueueId, r.source, hash_text(r.queue_id()), r.id);
  link(Key::kMessageId, r.source, r.message_id, r.id);
  if (r.has_sender) link_sender(r);
  for_each_next_queue_id(r, [&](TextHash next) { link(Key::kNextQueueId, r.source, next, r.id); });
}

void MailIndex::rebuild_table(std::size_t capacity) {
  table_ = std::vector<Slot>(capacity);  // not assign(): a smaller table frees memory
  table_used_ = 0;
  ++stats_.table_rebuilds;
  for (const auto& r : records_) link_record(r);
}

template <typename Fn>
void MailIndex::lookup(Key key, SourceIndex source, TextHash value, Fn&& fn) const {
  if (value == 0) return;
  read(key_hash(key, source, value));
  if (records_.empty()) return;
  const std::uint32_t tag = tag_of(key_hash(key, source, value));
  const RecordId newest = records_.back().id;
  for (std::size_t pos = home_slot(tag); table_[pos].tag != 0; pos = next_slot(pos)) {
    if (table_[pos].tag != tag) continue;
    RecordId id = (newest & ~0xffffffffULL) | table_[pos].id;
    if (id > newest) id -= 0x100000000ULL;
    const MessageRecord* r = get(id);
    if (r != nullptr && r->source == source) fn(r);
  }
}

MailIndexMemory MailIndex::memory() const {
  MailIndexMemory m;
  // std::deque allocates whole blocks of 512 bytes' worth of records, plus a block map.
  const std::size_t per_block = std::max<std::size_t>(1, 512 / sizeof(MessageRecord));
  const std::size_t blocks = records_.size() / per_block + 1;
  m.records = blocks * (per_block * sizeof(MessageRecord) + sizeof(void*));
  for (const auto& r : records_) {
    if (r.extra) m.extras += sizeof(RecordExtra) + r.extra->heap_bytes();
  }
  m.table =
      table_.capacity() * sizeof(Slot) + far_sender_links_.bucket_count() * sizeof(void*) +
      far_sender_links_.size() * (sizeof(RecordId) + sizeof(std::uint32_t) + 2 * sizeof(void*));
  // An unordered_map node holds the key, the value, a next pointer and the cached hash.
  m.names = names_.bucket_count() * sizeof(void*) +
            names_.size() * (sizeof(IpAddress) + sizeof(std::string) + 2 * sizeof(void*));
  for (const auto& [address, name] : names_) {
    if (name.capacity() > 15) m.names += name.capacity() + 1;
  }
  m.message_ids =
      message_id_texts_.bucket_count() * sizeof(void*) +
      message_id_texts_.size() * (sizeof(RecordId) + sizeof(std::string) + 2 * sizeof(void*) +
                                  sizeof(std::pair<TimePoint, RecordId>));
  for (const auto& [id, text] : message_id_texts_) {
    if (text.capacity() > 15) m.message_ids += text.capacity() + 1;
  }
  return m;
}

void MailIndex::keep_message_id(const MessageRecord& r, std::string_view text) {
  if (message_id_order_.size() <= r.source) message_id_order_.resize(r.source + 1);
  auto& order = message_id_order_[r.source];
  if (message_id_texts_.size() >= kMaxMessageIdTexts && !order.empty()) {
    note(message_id_text_fact(order.front().second));
    message_id_texts_.erase(order.front().second);
    order.pop_front();
    ++stats_.message_ids_dropped;
  }
  if (message_id_texts_.size() >= kMaxMessageIdTexts) {
    ++stats_.message_ids_dropped;
    return;
  }
  note(message_id_text_fact(r.id));
  message_id_texts_[r.id].assign(text.substr(0, kMaxMessageIdText));
  order.emplace_back(r.first_seen(), r.id);
}

const std::string& MailIndex::message_id_text(RecordId id) const {
  read(message_id_text_fact(id));
  const auto it = message_id_texts_.find(id);
  return it == message_id_texts_.end() ? kEmpty : it->second;
}

void MailIndex::forget_message_ids(SourceIndex source, TimePoint t) {
  if (message_id_order_.size() <= source) return;
  auto& order = message_id_order_[source];
  while (!order.empty() && order.front().first < t) {
    note(message_id_text_fact(order.front().second));
    message_id_texts_.erase(order.front().second);
    order.pop_front();
  }
  // After a burst, or at the end of a replay, the table gives its buckets back.
  if (message_id_texts_.empty()) decltype(message_id_texts_)().swap(message_id_texts_);
}

const MessageRecord* MailIndex::get(RecordId id) const {
  if (records_.empty() || id < records_.front().id || id > records_.back().id) return nullptr;
  return &records_[id - records_.front().id];
}

const std::string& MailIndex::client_name(const IpAddress& address) const {
  read(name_fact(address));
  auto it = names_.find(address);
  return it == names_.end() ? kEmpty : it->second;
}

void MailIndex::remember_name(const IpAddress& address, std::string_view name) {
  if (name.empty()) return;
  if (names_.size() >= kMaxNames) {
    names_.clear();
    ++stats_.names_dropped;
    if (logging_) changes_everything_ = true;
  }
  auto& stored = names_[address];
  if (stored != name) {
    note(name_fact(address));
    stored.assign(name);
  }
}

MessageRecord& MailIndex::create(SourceIndex source, std::string_view queue_id, TimePoint t) {
  MessageRecord& r = records_.emplace_back();
  r.id = next_id_++;
  r.source = source;
  r.start_at(t);
  r.set_queue_id(queue_id);
  link(Key::kQueueId, source, hash_text(r.queue_id()), r.id);
  ++stats_.records_created;
  return r;
}

MessageRecord* MailIndex::apply(SourceIndex source, TimePoint t, const ParsedRecord& in) {
  MessageRecord* r = apply_record(source, t, in);
  if (logging_ && r != nullptr) note_record(*r);
  return r;
}

MessageRecord* MailIndex::apply_record(SourceIndex source, TimePoint t, const ParsedRecord& in) {
  if (in.queue_id.empty()) return nullptr;
  const std::string_view queue_id = in.queue_id.substr(0, kMaxQueueId);
  // Find the current incarnation of this queue id. Postfix reuses short ids (they derive from
  // inode numbers): a new receive line, or a line logged after the old one was removed, or a
  // long silence, starts a new message. A line logged no later than the removal belongs to the
  // removed message, however late it arrives (a collector's queue can reorder a host's lines).
  MessageRecord* record = nullptr;
  {
    const MessageRecord* latest = nullptr;
    lookup(Key::kQueueId, source, hash_text(queue_id), [&](const MessageRecord* c) {
      if (c->queue_id() == queue_id && (latest == nullptr || c->id > latest->id)) latest = c;
    });
    if (latest != nullptr) {
      const bool stale = t - latest->last_seen() > window_;
      const bool restarted = in.kind == RecordKind::kReceive && latest->received;
      // A scanner's verdict naming the id ("Clean message QID", a detection) never starts a
      // message: it is about the one the id named last, even when it is stamped after the
      // MTA's removal (the scanner's own log file, read a moment after the MTA's).
      const bool late_verdict = (in.clean || in.kind == RecordKind::kDetection) &&
                                t - latest->last_seen() <= kLateVerdict;
      const bool reborn =
          latest->done && in.kind != RecordKind::kDone && t > latest->last_seen() && !late_verdict;
      if (!stale && !restarted && !reborn) record = const_cast<MessageRecord*>(latest);
    }
  }
  if (record == nullptr) record = &create(source, queue_id, t);
  MessageRecord& r = *record;
  r.saw(t);

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
    r.set_received_at(t);
  }
  if (in.clean) r.clean = true;
  if (in.mta_action != MtaAction::kNone && r.mta_action == MtaAction::kNone) {
    r.mta_action = in.mta_action;
  }
  if (in.kind == RecordKind::kDetection && !in.virus.empty() && in.virus != "unknown") {
    r.add_verdict_virus(verdict_name(in.virus));
  }
  if (!in.message_id.empty() && r.message_id == 0) {
    r.message_id = hash_text(in.message_id);
    link(Key::kMessageId, source, r.message_id, r.id);
    keep_message_id(r, in.message_id);
    if (const auto exim_id = exim_id_in_message_id(in.message_id); !exim_id.empty()) {
      r.links_facts().upstream_exim_id = exim_id;
    }
  }
  if (in.has_sender && !r.has_sender) {
    r.sender = hash_address(in.sender);
    r.has_sender = true;
    link_sender(r);
  }
  // A delivery line names one recipient: its hash serves both loops below.
  const TextHash first_recipient = in.recipients.empty() ? 0 : hash_address(in.recipients[0]);
  for (std::size_t i = 0; i < in.recipients.size(); ++i) {
    const TextHash h = i == 0 ? first_recipient : hash_address(in.recipients[i]);
    if (r.recipients().size() < kMaxRecipients && !r.has_recipient(h)) r.add_recipient(h);
  }
  if (in.kind == RecordKind::kReceive && !in.orig_queue_id.empty()) {
    RecordLinks& links = r.links_facts();
    if (in.action == "bounce-of") {
      // exim: "<= <> R=ID" is a bounce generated on this host for message ID.
      links.bounce_of = in.orig_queue_id;
    } else {
      links.orig_queue_id = in.orig_queue_id;
      if (!in.orig_client_ip.empty()) {
        links.orig_client_ip = IpAddress::parse(in.orig_client_ip);
        links.orig_client_name = in.orig_client_name;
      }
    }
  }
  if (in.kind == RecordKind::kDelivery ||
      (in.kind == RecordKind::kDetection && in.status != DeliveryStatus::kUnknown)) {
    const TextHash next = in.next_queue_id.empty() ? 0 : hash_text(in.next_queue_id);
    bool linked = next == 0;
    for (const Delivery d : r.deliveries()) linked = linked || d.next_queue_id == next;
    for (std::size_t i = 0; i < in.recipients.size(); ++i) {
      if (r.deliveries().size() >= kMaxDeliveries) break;
      const TextHash h = i == 0 ? first_recipient : hash_address(in.recipients[i]);
      r.add_delivery({h, next, t, in.status});
    }
    if (!linked) link(Key::kNextQueueId, source, next, r.id);
  }
  if (in.kind == RecordKind::kBounce && !in.bounce_queue_id.empty()) {
    // The bounce is a message of its own on this host; remember where it came from.
    // Appending to the deque keeps references to `r` valid.
    ParsedRecord bounce;
    bounce.queue_id = in.bounce_queue_id;
    MessageRecord* b = apply(source, t, bounce);
    if (b != nullptr && b->bounce_of().empty()) b->links_facts().bounce_of = r.queue_id();
    return &r;
  }
  if (in.kind == RecordKind::kDone) r.done = true;
  return &r;
}

MailIndex::Fact MailIndex::name_fact(const IpAddress& address) {
  return mix(IpAddressHash{}(address) ^ 0x6e616d65ULL);
}

MailIndex::Fact MailIndex::message_id_text_fact(RecordId id) {
  return mix(id ^ 0x6d69647465787400ULL);
}

void MailIndex::note_record(const MessageRecord& r) {
  note(key_hash(Key::kQueueId, r.source, hash_text(r.queue_id())));
  if (r.message_id != 0) note(key_hash(Key::kMessageId, r.source, r.message_id));
  if (r.has_sender) note(key_hash(Key::kSender, r.source, r.sender));
  for_each_next_queue_id(r,
                         [&](TextHash next) { note(key_hash(Key::kNextQueueId, r.source, next)); });
}

void MailIndex::log_changes(bool on) {
  if (on == logging_) return;
  logging_ = on;
  if (!on) {
    changes_.clear();
    changes_everything_ = false;
  }
}

bool MailIndex::take_changes(std::vector<Fact>& facts) {
  facts.clear();
  facts.swap(changes_);
  const bool everything = changes_everything_;
  changes_everything_ = false;
  return everything;
}

void MailIndex::evict(TimePoint now) {
  while (!records_.empty() && records_.size() > max_messages_) {
    drop_oldest();
    ++stats_.evicted_by_capacity;
  }
  // Creation order is close to time order; stop at the first record still inside the window.
  while (!records_.empty() && records_.front().last_seen() < now - window_) {
    drop_oldest();
    ++stats_.evicted_by_age;
  }
}

const MessageRecord* MailIndex::find_by_queue_id(SourceIndex source, std::string_view queue_id,
                                                 TimePoint t, Duration slack) const {
  const MessageRecord* best = nullptr;
  lookup(Key::kQueueId, source, hash_text(queue_id), [&](const MessageRecord* r) {
    if (r->queue_id() == queue_id && r->first_seen() <= t + slack &&
        (best == nullptr || r->first_seen() > best->first_seen())) {
      best = r;
    }
  });
  if (best != nullptr && t - best->last_seen() > window_) best = nullptr;
  return best;
}

const MessageRecord* MailIndex::find_by_next_queue_id(SourceIndex source,
                                                      std::string_view next_queue_id, TimePoint t,
                                                      Duration slack) const {
  const TextHash wanted = hash_text(next_queue_id);
  const MessageRecord* best = nullptr;
  TimePoint best_time = 0;
  lookup(Key::kNextQueueId, source, wanted, [&](const MessageRecord* r) {
    for (const Delivery d : r->deliveries()) {
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
    if (r->message_id == message_id && r->first_seen() <= t + slack &&
        t - r->last_seen() <= window_) {
      out.push_back(r);
    }
  });
  std::sort(out.begin(), out.end(), [](const auto* a, const auto* b) {
    return a->first_seen() != b->first_seen() ? a->first_seen() > b->first_seen() : a->id > b->id;
  });
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<const MessageRecord*> MailIndex::find_by_sender(SourceIndex source,
                                                            TextHash sender) const {
  std::vector<const MessageRecord*> out;
  if (sender == 0) return out;
  read(key_hash(Key::kSender, source, sender));
  if (records_.empty()) return out;
  const Slot* head = const_cast<MailIndex*>(this)->sender_head(source, sender);
  if (head == nullptr) return out;
  const RecordId front = records_.front().id;
  const RecordId newest = records_.back().id;
  RecordId at = (newest & ~0xffffffffULL) | head->id;
  if (at > newest) at -= 0x100000000ULL;
  for (;;) {
    out.push_back(&records_[at - front]);
    const std::uint32_t back = sender_link(records_[at - front]);
    if (back == 0 || at - back < front) break;
    at -= back;
  }
  std::reverse(out.begin(), out.end());  // oldest first
  return out;
}

}  // namespace vtrace
