// MailIndex: the bounded in-memory index of recent mail, per configured source host.
//
// Built for millions of messages: a record keeps only what the trace compares (64-bit hashes of
// Message-ID, sender, recipients and next-hop ids) and what an incident shows (the queue id and
// the client). Lookups go through one flat open-addressing table of 8-byte entries that is
// never updated on eviction: an entry whose record is gone is skipped and the table is rebuilt
// from the live records when dead entries pile up.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/net.hpp"
#include "common/time.hpp"
#include "module/record.hpp"

namespace vtrace {

using RecordId = std::uint64_t;
using SourceIndex = std::uint16_t;
using TextHash = std::uint64_t;

// 64-bit hash of a text; `hash_address` ignores ASCII case (e-mail addresses).
TextHash hash_text(std::string_view text);
TextHash hash_address(std::string_view address);
// Lower-cases an e-mail address (or host name) for display and comparison.
std::string normalise_address(std::string_view address);

// A list that keeps up to N items inline and spills to the heap beyond.
template <typename T, std::size_t N>
class SmallList {
 public:
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const T* begin() const { return spill_ ? spill_->data() : inline_; }
  const T* end() const { return begin() + size_; }
  void push_back(const T& value) {
    if (!spill_ && size_ < N) {
      inline_[size_++] = value;
      return;
    }
    if (!spill_) spill_ = std::make_unique<std::vector<T>>(inline_, inline_ + size_);
    spill_->push_back(value);
    ++size_;
  }

 private:
  T inline_[N]{};
  std::uint32_t size_ = 0;
  std::unique_ptr<std::vector<T>> spill_;
};

struct Delivery {
  TextHash recipient = 0;
  TextHash next_queue_id = 0;  // 0: no next-hop id in the reply
  TimePoint time = 0;
  DeliveryStatus status = DeliveryStatus::kUnknown;
};

// The rare facts of a message: content-filter and bounce links.
struct RecordLinks {
  std::string orig_queue_id;  // the pre-content-filter message on this host
  std::optional<IpAddress> orig_client_ip;
  std::string orig_client_name;
  std::string bounce_of;  // this message is a bounce generated for that queue id on this host
  // Exim writes Message-IDs of its own messages as "E<exim id>@host": that names the message on
  // the previous hop exactly, even when the previous hop logged no id= for it (bounces).
  std::string upstream_exim_id;
};

// Everything one host's log said about one message (one queue id incarnation).
struct MessageRecord {
  RecordId id = 0;
  TimePoint first_seen = 0;
  TimePoint last_seen = 0;
  TimePoint received_at = 0;  // time of the receive line; first_seen until one is seen
  TextHash message_id = 0;    // 0: not known
  TextHash sender = 0;        // valid when has_sender
  IpAddress client_ip;        // valid when has_client; without it a receive is local
  SmallList<TextHash, 1> recipients;
  SmallList<Delivery, 1> deliveries;
  std::unique_ptr<RecordLinks> links;  // null for almost every message
  char queue_id_text[24] = {};
  std::uint8_t queue_id_size = 0;
  SourceIndex source = 0;
  bool received = false;  // a receive line was seen
  bool done = false;      // removed / Completed
  bool has_sender = false;
  bool has_client = false;

  std::string_view queue_id() const { return {queue_id_text, queue_id_size}; }
  bool has_recipient(TextHash r) const;
  const std::string& bounce_of() const;
  const std::string& orig_queue_id() const;
  const std::string& upstream_exim_id() const;
};

struct MailIndexStats {
  std::uint64_t records_created = 0;
  std::uint64_t evicted_by_age = 0;
  std::uint64_t evicted_by_capacity = 0;
  std::uint64_t table_rebuilds = 0;
  std::uint64_t names_dropped = 0;  // client-name cache cleared at its bound
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
  // The last name a log gave for this client address ("" when none).
  const std::string& client_name(const IpAddress& address) const;

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
  void link(Key key, SourceIndex source, TextHash value, RecordId id);
  template <typename Fn>
  void lookup(Key key, SourceIndex source, TextHash value, Fn&& fn) const;
  void rebuild_table(std::size_t capacity);
  void link_record(const MessageRecord& r);
  MessageRecord& create(SourceIndex source, std::string_view queue_id, TimePoint t);
  void remember_name(const IpAddress& address, std::string_view name);

  std::size_t max_messages_;
  Duration window_;
  std::deque<MessageRecord> records_;  // in creation order; ids are consecutive
  RecordId next_id_ = 1;
  std::vector<Slot> table_;
  std::size_t table_used_ = 0;
  std::unordered_map<IpAddress, std::string, IpAddressHash> names_;
  MailIndexStats stats_;
};

}  // namespace vtrace
