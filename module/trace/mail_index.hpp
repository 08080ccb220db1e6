// MailIndex: the bounded in-memory index of recent mail, per configured source host.
//
// Built for millions of messages: a record keeps only what the trace compares (64-bit hashes of
// Message-ID, sender, recipients and next-hop ids) and what an incident shows (the queue id and
// the client), in 112 bytes for the common message (one recipient, one delivery). Lookups go
// through one flat open-addressing table of 8-byte entries (linear probing); an evicted record
// takes its entries with it (backward-shift deletion, no tombstones), so with a full window
// the table keeps its size and is rebuilt only when the live entries outgrow it. A sender has
// one entry per source however many messages it sent (a worm forging one address sends
// thousands): the entry names the newest of them, and each record the previous one, so that
// no probe run grows with one sender's messages. The index counts its own bytes (memory()):
// about 200 per message with the table, within the 200-byte budget bench/README.md sets for a
// week's window.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/net.hpp"
#include "common/time.hpp"
#include "module/parsers/record.hpp"

namespace vtrace {

using RecordId = std::uint64_t;
using SourceIndex = std::uint16_t;
using TextHash = std::uint64_t;

// 64-bit hash of a text; `hash_address` ignores ASCII case (e-mail addresses).
TextHash hash_text(std::string_view text);
TextHash hash_address(std::string_view address);
// A virus name as a record keeps it: 32 bits of its case-insensitive hash, never 0 or
// kSeveralViruses. Two names of a handful at once (a burst's worms) collide once in 4e9.
inline constexpr std::uint32_t kSeveralViruses = 1;
std::uint32_t verdict_name(std::string_view virus);
// Lower-cases an e-mail address (or host name) for display and comparison.
std::string normalise_address(std::string_view address);

struct Delivery {
  TextHash recipient = 0;
  TextHash next_queue_id = 0;  // 0: no next-hop id in the reply
  TimePoint time = 0;
  DeliveryStatus status = DeliveryStatus::kUnknown;
};

// A Delivery off the record, in 24 bytes instead of 32: the status rides in the low bits of
// the time.
class PackedDelivery {
 public:
  explicit PackedDelivery(const Delivery& d)
      : recipient_(d.recipient),
        next_queue_id_(d.next_queue_id),
        time_status_(d.time * 8 + static_cast<std::int64_t>(d.status)) {}
  Delivery unpack() const {
    return {recipient_, next_queue_id_, time_status_ >> 3,
            static_cast<DeliveryStatus>(time_status_ & 7)};
  }

 private:
  TextHash recipient_;
  TextHash next_queue_id_;
  std::int64_t time_status_;
};

// The rarest facts of a message: content-filter and bounce links, a queue id longer than the
// record holds, and times too far from the first line for the record's 32-bit offsets.
struct RecordLinks {
  std::string orig_queue_id;  // the pre-content-filter message on this host
  std::optional<IpAddress> orig_client_ip;
  std::string orig_client_name;
  std::string bounce_of;  // this message is a bounce generated for that queue id on this host
  // Exim writes Message-IDs of its own messages as "E<exim id>@host": that names the message on
  // the previous hop exactly, even when the previous hop logged no id= for it (bounces).
  std::string upstream_exim_id;
  std::string long_queue_id;
  TimePoint last_seen = 0;
  TimePoint received_at = 0;
};

// What does not fit a record, kept off it: a second recipient or delivery (a fifth of all
// messages), and the links.
struct RecordExtra {
  std::vector<TextHash> recipients;        // all of them, once there is more than one
  std::vector<PackedDelivery> deliveries;  // all of them, once the inline one does not do
  std::unique_ptr<RecordLinks> links;

  // Bytes this structure owns on the heap besides itself, for the index's own accounting.
  std::size_t heap_bytes() const;
};

// Everything one host's log said about one message (one queue id incarnation). Compact: times
// are 32-bit microsecond offsets from the first line, one recipient and one delivery live
// inline, and whatever does not fit goes to the rarely allocated RecordExtra.
struct MessageRecord {
  RecordId id = 0;
  TextHash message_id = 0;  // 0: not known
  TextHash sender = 0;      // valid when has_sender
  IpAddress client_ip;      // valid when has_client; without it a receive is local
  std::unique_ptr<RecordExtra> extra;

  std::string_view queue_id() const;
  void set_queue_id(std::string_view queue_id);

  TimePoint first_seen() const { return first_seen_; }
  // The time of the latest line about the message.
  TimePoint last_seen() const { return offset_time(last_offset_, &RecordLinks::last_seen); }
  // The time of the receive line; first_seen until one is seen.
  TimePoint received_at() const { return offset_time(received_offset_, &RecordLinks::received_at); }
  // Sets all three times to `t` (a new record).
  void start_at(TimePoint t);
  void saw(TimePoint t);  // a line at `t`: moves last_seen on, first_seen back
  void set_received_at(TimePoint t);

  std::span<const TextHash> recipients() const;
  bool has_recipient(TextHash r) const;
  // REQUIRES: r is not among recipients().
  void add_recipient(TextHash r);

  class DeliveryIterator;
  struct Deliveries {
    const MessageRecord* record;
    std::size_t size() const { return record->delivery_count_; }
    bool empty() const { return record->delivery_count_ == 0; }
    DeliveryIterator begin() const;
    DeliveryIterator end() const;
  };
  Deliveries deliveries() const { return {this}; }
  void add_delivery(const Delivery& d);

  const std::string& bounce_of() const;
  const std::string& orig_queue_id() const;
  const std::string& upstream_exim_id() const;
  // The virus this host's verdicts named for the message, as verdict_name(); 0 when none did,
  // kSeveralViruses when two named different ones.
  std::uint32_t verdict_virus() const { return verdict_virus_; }
  void add_verdict_virus(std::uint32_t name);
  // The links, when any was set; created on first use by links_facts().
  const RecordLinks* links() const { return extra ? extra->links.get() : nullptr; }
  RecordLinks& links_facts();
  RecordExtra& extra_facts();

 private:
  static constexpr std::uint32_t kSpilled = 0xffffffff;
  TimePoint offset_time(std::uint32_t offset, TimePoint RecordLinks::*spilled) const {
    return offset != kSpilled ? first_seen_ + offset : links()->*spilled;
  }
  void set_offset_time(std::uint32_t& offset, TimePoint RecordLinks::*spilled, TimePoint t);
  Delivery inline_delivery() const;
  bool set_inline_delivery(const Delivery& d);

  TimePoint first_seen_ = 0;
  TextHash recipient_ = 0;               // the only recipient, while there is one
  TextHash delivery_next_queue_id_ = 0;  // the only delivery, while it fits inline
  std::uint32_t last_offset_ = 0;
  std::uint32_t received_offset_ = 0;
  std::uint32_t delivery_offset_ = 0;
  char queue_id_text_[16] = {};
  std::uint8_t queue_id_size_ = 0;  // > sizeof queue_id_text_: in links()->long_queue_id
  std::uint8_t recipient_count_ = 0;
  std::uint8_t delivery_count_ = 0;
  std::uint8_t delivery_recipient_ = 0;  // index into recipients()
  DeliveryStatus delivery_status_ = DeliveryStatus::kUnknown;

 public:
  // Declared last, where they pack with the small fields above.
  SourceIndex source = 0;
  bool received = false;  // a receive line was seen
  bool done = false;      // removed / Completed
  bool has_sender = false;
  bool has_client = false;
  bool clean = false;  // the host's scanner logged it clean: not an infected message
  MtaAction mta_action = MtaAction::kNone;  // what the host's MTA did with it on a verdict

 private:
  friend class MailIndex;
  // MailIndex's sender chain: how many ids back the next older record of the same sender is
  // (0: none; 0xffff: further, kept beside the index). In the padding: no bigger a record.
  std::uint16_t sender_link_ = 0;
  std::uint32_t verdict_virus_ = 0;  // in the padding at the end: the record keeps its size
};

class MessageRecord::DeliveryIterator {
 public:
  DeliveryIterator(const MessageRecord* record, std::size_t i) : record_(record), i_(i) {}
  Delivery operator*() const {
    return record_->extra && !record_->extra->deliveries.empty()
               ? record_->extra->deliveries[i_].unpack()
               : record_->inline_delivery();
  }
  DeliveryIterator& operator++() {
    ++i_;
    return *this;
  }
  bool operator==(const DeliveryIterator& o) const { return i_ == o.i_; }

 private:
  const MessageRecord* record_;
  std::size_t i_;
};

inline MessageRecord::DeliveryIterator MessageRecord::Deliveries::begin() const {
  return {record, 0};
}
inline MessageRecord::DeliveryIterator MessageRecord::Deliveries::end() const {
  return {record, record->delivery_count_};
}

struct MailIndexStats {
  std::uint64_t records_created = 0;
  std::uint64_t evicted_by_age = 0;
  std::uint64_t evicted_by_capacity = 0;
  std::uint64_t table_rebuilds = 0;
  std::uint64_t names_dropped = 0;        // client-name cache cleared at its bound
  std::uint64_t message_ids_dropped = 0;  // Message-ID texts dropped at their bound
};

// What the index holds in memory, counted by the index itself (allocator overhead aside).
struct MailIndexMemory {
  std::size_t records = 0;      // the record array, including its unused tail
  std::size_t extras = 0;       // RecordExtra structures and what they own
  std::size_t table = 0;        // the lookup table and the sender chains' long links
  std::size_t names = 0;        // the client-name cache
  std::size_t message_ids = 0;  // the Message-ID texts of recent records
  std::size_t total() const { return records + extras + table + names + message_ids; }
};

// Not thread-safe; owned by the correlator's single thread.
class MailIndex {
 public:
  MailIndex(std::size_t max_messages, Duration window);

  // Applies a parsed record of `source` at time `t`. Returns the record it updated, or
  // nullptr when the record carried no queue id.
  MessageRecord* apply(SourceIndex source, TimePoint t, const ParsedRecord& record);

  // Drops records last seen before `now - window`, and the oldest beyond capacity.
  void evict(TimePoint now);

  const MessageRecord* get(RecordId id) const;
  std::size_t size() const { return records_.size(); }
  const MailIndexStats& stats() const { return stats_; }
  // Walks the records: meant for summaries, not for every line.
  MailIndexMemory memory() const;
  // The last name a log gave for this client address ("" when none).
  const std::string& client_name(const IpAddress& address) const;

  // The Message-ID of a record as logged (without brackets), while it is kept: records keep
  // only its hash, and the text is kept for recent records only, for the incident of a
  // detection that named no ids to name the message its envelope join found. "" when gone.
  const std::string& message_id_text(RecordId id) const;
  // Drops the texts of `source`'s records first seen before `t` (the caller knows which
  // records a detection may still be joined to).
  void forget_message_ids(SourceIndex source, TimePoint t);

  // Change tracking, for a caller that keeps a trace's answer while nothing the trace read
  // has changed. Whatever a lookup reads (the records under a key, a client's name, a kept
  // Message-ID text) is a fact, named by 64 bits; a change to the index names every fact it
  // may have changed (for a record: each key it is linked under). Facts are hashes: two that
  // collide make a change look relevant when it is not, never the other way round.
  using Fact = std::uint64_t;
  // While `reads` is set, lookups append the facts they read to it.
  void record_reads(std::vector<Fact>* reads) const { reads_ = reads; }
  // Changes are logged while on; turned off, the log is dropped.
  void log_changes(bool on);
  bool logging_changes() const { return logging_; }
  // Whether a change was logged since the last take_changes().
  bool has_changes() const { return !changes_.empty() || changes_everything_; }
  // Moves the changes logged since into `facts` (unsorted, maybe repeated) and returns whether
  // one was too wide to name: the caller keeps its own account of who read what.
  bool take_changes(std::vector<Fact>& facts);

  // The incarnation of `queue_id` on `source` that was current at `t`: the latest whose
  // receive time is not after `t + slack`.
  const MessageRecord* find_by_queue_id(SourceIndex source, std::string_view queue_id, TimePoint t,
                                        Duration slack) const;
  // The message on `source` whose delivery named `next_queue_id` as the next hop's id, with
  // the delivery not after `t + slack`.
  const MessageRecord* find_by_next_queue_id(SourceIndex source, std::string_view next_queue_id,
                                             TimePoint t, Duration slack) const;
  // Records on `source` with this Message-ID first seen not after `t + slack`, latest first.
  std::vector<const MessageRecord*> find_by_message_id(SourceIndex source, TextHash message_id,
                                                       TimePoint t, Duration slack) const;
  // Records on `source` with this envelope sender (hash_address).
  std::vector<const MessageRecord*> find_by_sender(SourceIndex source, TextHash sender) const;

 private:
  enum class Key : std::uint8_t { kQueueId = 1, kMessageId, kNextQueueId, kSender };
  struct Slot {
    std::uint32_t tag = 0;  // upper hash bits; 0 = empty
    std::uint32_t id = 0;   // low bits of the record id
  };
  static std::uint64_t key_hash(Key key, SourceIndex source, TextHash value);
  static std::uint32_t tag_of(std::uint64_t h) { return static_cast<std::uint32_t>(h >> 32) | 1; }
  // The first slot to probe: the tag scaled to the table size. Derived from the tag alone, so
  // that an entry's home is known from the slot itself, which deletion needs to close gaps.
  std::size_t home_slot(std::uint32_t tag) const {
    return static_cast<std::size_t>((static_cast<std::uint64_t>(tag) * table_.size()) >> 32);
  }
  std::size_t next_slot(std::size_t pos) const { return pos + 1 == table_.size() ? 0 : pos + 1; }
  void link(Key key, SourceIndex source, TextHash value, RecordId id);
  // Rebuilds the table, larger, when one more entry would load it beyond 0.8 (relinking every
  // record as it stands). Returns whether it did.
  bool grow_table_if_full();
  // Links r into its sender's chain (newest first), and the chain's newest into the table.
  void link_sender(const MessageRecord& r);
  // The entry of the sender chain of (source, sender), or nullptr when it has none.
  Slot* sender_head(SourceIndex source, TextHash sender);
  // Removes the entry `link` made for (key, source, value, id), if it is there.
  void unlink(Key key, SourceIndex source, TextHash value, RecordId id);
  // The entries of a record leaving the index.
  void unlink_record(const MessageRecord& r);
  void drop_oldest();
  template <typename Fn>
  void lookup(Key key, SourceIndex source, TextHash value, Fn&& fn) const;
  void rebuild_table(std::size_t capacity);
  void link_record(const MessageRecord& r);
  // How many table entries link_record makes for `r`.
  static std::size_t entries_of(const MessageRecord& r);
  template <typename Fn>
  static void for_each_next_queue_id(const MessageRecord& r, Fn&& fn);
  MessageRecord& create(SourceIndex source, std::string_view queue_id, TimePoint t);
  void remember_name(const IpAddress& address, std::string_view name);
  void keep_message_id(const MessageRecord& r, std::string_view text);

  void note(Fact fact) {
    if (!logging_ || changes_everything_) return;
    // A log nobody takes for long is bounded: one wide change stands for what it held.
    if (changes_.size() >= kMaxLoggedChanges) {
      changes_.clear();
      changes_everything_ = true;
      return;
    }
    changes_.push_back(fact);
  }
  static constexpr std::size_t kMaxLoggedChanges = 1 << 20;
  // A record changed, or left: every key it is linked under.
  void note_record(const MessageRecord& r);
  static Fact name_fact(const IpAddress& address);
  static Fact message_id_text_fact(RecordId id);
  void read(Fact fact) const {
    if (reads_ != nullptr) reads_->push_back(fact);
  }
  MessageRecord* apply_record(SourceIndex source, TimePoint t, const ParsedRecord& record);

  mutable std::vector<Fact>* reads_ = nullptr;
  bool logging_ = false;
  std::vector<Fact> changes_;        // logged since the last take_changes(), unsorted
  bool changes_everything_ = false;  // a change too wide to name (the client-name cache cleared)

  std::size_t max_messages_;
  Duration window_;
  std::deque<MessageRecord> records_;  // in creation order; ids are consecutive
  // Sender chains: each record names the next older record of its sender (how many ids back;
  // 0: none). A chain ends at a record already evicted: chains are in id order and eviction
  // takes the oldest first. Links too long for the record are kept here, by record id.
  static constexpr std::uint16_t kFarSenderLink = 0xffff;
  std::unordered_map<RecordId, std::uint32_t> far_sender_links_;
  std::uint32_t sender_link(const MessageRecord& r) const {
    return r.sender_link_ != kFarSenderLink ? r.sender_link_ : far_sender_links_.at(r.id);
  }
  void set_sender_link(MessageRecord& r, std::uint32_t distance);
  RecordId next_id_ = 1;
  std::vector<Slot> table_;
  std::size_t table_used_ = 0;
  std::unordered_map<IpAddress, std::string, IpAddressHash> names_;
  std::unordered_map<RecordId, std::string> message_id_texts_;
  // Per source: (first seen, record id) of each kept text, in the order they were kept.
  std::vector<std::deque<std::pair<TimePoint, RecordId>>> message_id_order_;
  MailIndexStats stats_;
};

}  // namespace vtrace
