// MailIndex: the bounded in-memory index of recent mail, per configured source host.
#pragma once

#include <cstdint>
#include <deque>
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

struct Delivery {
  std::string recipient;
  std::string next_queue_id;
  std::optional<IpAddress> relay_ip;
  DeliveryStatus status = DeliveryStatus::kUnknown;
  TimePoint time = 0;
};

// Everything one host's log said about one message (one queue id incarnation).
struct MessageRecord {
  RecordId id = 0;
  SourceIndex source = 0;
  TimePoint first_seen = 0;
  TimePoint last_seen = 0;
  TimePoint received_at = 0;  // time of the receive line; first_seen until one is seen
  bool received = false;      // a receive line was seen
  bool done = false;          // removed / Completed
  std::string queue_id;
  std::string message_id;
  std::string sender;  // lower-cased
  bool has_sender = false;
  std::optional<IpAddress> client_ip;  // nullopt with `received`: local submission
  std::string client_name;
  std::vector<std::string> recipients;  // lower-cased, unique
  std::vector<Delivery> deliveries;
  std::string orig_queue_id;  // the pre-content-filter message on this host
  std::optional<IpAddress> orig_client_ip;
  std::string orig_client_name;
  std::string bounce_of;  // this message is a bounce generated for that queue id on this host
};

struct MailIndexStats {
  std::uint64_t records_created = 0;
  std::uint64_t evicted_by_age = 0;
  std::uint64_t evicted_by_capacity = 0;
};

// Not thread-safe; owned by the correlator's single thread.
class MailIndex {
 public:
  MailIndex(std::size_t max_messages, Duration window)
      : max_messages_(max_messages), window_(window) {}

  // Applies a parsed record of `source` at time `t`. Returns the record it updated, or
  // nullptr when the record carried no queue id.
  MessageRecord* apply(SourceIndex source, TimePoint t, const ParsedRecord& record);

  // Drops records last seen before `now - window`, and the oldest beyond capacity.
  void evict(TimePoint now);

  const MessageRecord* get(RecordId id) const;
  std::size_t size() const { return records_.size(); }
  const MailIndexStats& stats() const { return stats_; }

  // The incarnation of `queue_id` on `source` that was current at `t`: the latest whose
  // receive time is not after `t + slack`.
  const MessageRecord* find_by_queue_id(SourceIndex source, std::string_view queue_id, TimePoint t,
                                        Duration slack) const;
  // The message on `source` whose delivery named `next_queue_id` as the next hop's id, with
  // the delivery not after `t + slack`.
  const MessageRecord* find_by_next_queue_id(SourceIndex source, std::string_view next_queue_id,
                                             TimePoint t, Duration slack) const;
  // Records on `source` with this Message-ID first seen not after `t + slack`, latest first.
  std::vector<const MessageRecord*> find_by_message_id(SourceIndex source,
                                                       std::string_view message_id, TimePoint t,
                                                       Duration slack) const;
  // Records on `source` with this envelope sender (lower-cased).
  std::vector<const MessageRecord*> find_by_sender(SourceIndex source,
                                                   std::string_view sender) const;

 private:
  enum class Key : std::uint8_t { kQueueId, kMessageId, kNextQueueId, kSender };
  static std::uint64_t hash(Key key, SourceIndex source, std::string_view value);
  void link(Key key, SourceIndex source, std::string_view value, RecordId id);
  void unlink(Key key, SourceIndex source, std::string_view value, RecordId id);
  std::vector<const MessageRecord*> lookup(Key key, SourceIndex source,
                                           std::string_view value) const;
  MessageRecord& create(SourceIndex source, std::string_view queue_id, TimePoint t);
  void drop_front();

  std::size_t max_messages_;
  Duration window_;
  std::deque<MessageRecord> records_;  // in creation order; ids are consecutive
  RecordId next_id_ = 1;
  std::unordered_multimap<std::uint64_t, RecordId> keys_;
  MailIndexStats stats_;
};

// Lower-cases an e-mail address for comparison.
std::string normalise_address(std::string_view address);

}  // namespace vtrace
