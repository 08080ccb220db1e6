// The recent-mail index: incarnations of reused queue ids, lookups, and its bounds.
#include "module/trace/mail_index.hpp"

#include <algorithm>
#include <catch2/catch.hpp>

using vtrace::MailIndex;
using vtrace::ParsedRecord;
using vtrace::RecordKind;
using vtrace::seconds;

namespace {
ParsedRecord receive(std::string_view qid, std::string_view client) {
  ParsedRecord r;
  r.kind = RecordKind::kReceive;
  r.queue_id = qid;
  r.client_ip = client;
  return r;
}
ParsedRecord delivery(std::string_view qid, std::string_view next) {
  ParsedRecord r;
  r.kind = RecordKind::kDelivery;
  r.queue_id = qid;
  r.recipients.push_back("Kato@Example.ac.jp");
  r.next_queue_id = next;
  r.status = vtrace::DeliveryStatus::kSent;
  return r;
}
}  // namespace

TEST_CASE("index keeps each incarnation of a reused queue id apart", "[index]") {
  MailIndex index(1000, seconds(1800));
  index.apply(0, seconds(100), receive("ABC12", "10.0.0.1"));
  ParsedRecord removed;
  removed.kind = RecordKind::kDone;
  removed.queue_id = "ABC12";
  index.apply(0, seconds(101), removed);
  index.apply(0, seconds(700), receive("ABC12", "10.0.0.2"));
  CHECK(index.size() == 2);
  const auto* early = index.find_by_queue_id(0, "ABC12", seconds(100), seconds(5));
  const auto* late = index.find_by_queue_id(0, "ABC12", seconds(701), seconds(5));
  REQUIRE(early);
  REQUIRE(late);
  CHECK(early->client_ip.to_string() == "10.0.0.1");
  CHECK(late->client_ip.to_string() == "10.0.0.2");
  CHECK(index.find_by_queue_id(1, "ABC12", seconds(100), seconds(5)) == nullptr);
}

TEST_CASE("index finds the message whose delivery named the next hop's queue id", "[index]") {
  MailIndex index(1000, seconds(1800));
  index.apply(3, seconds(10), receive("R1AAAA", "10.1.2.3"));
  index.apply(3, seconds(11), delivery("R1AAAA", "G1BBBB"));
  const auto* found = index.find_by_next_queue_id(3, "G1BBBB", seconds(12), seconds(5));
  REQUIRE(found);
  CHECK(found->queue_id() == "R1AAAA");
  CHECK((*found->deliveries().begin()).recipient == vtrace::hash_address("kato@example.ac.jp"));
  // A delivery that happened after the next hop received the message cannot be its source.
  CHECK(index.find_by_next_queue_id(3, "G1BBBB", seconds(0), seconds(5)) == nullptr);
}

TEST_CASE("index evicts the oldest messages beyond its capacity and counts them", "[index]") {
  MailIndex index(3, seconds(1800));
  for (int i = 0; i < 5; ++i) {
    index.apply(0, seconds(i), receive("QID0000" + std::to_string(i), "10.0.0.1"));
  }
  index.evict(seconds(5));
  CHECK(index.size() == 3);
  CHECK(index.stats().evicted_by_capacity == 2);
  CHECK(index.find_by_queue_id(0, "QID00000", seconds(0), 0) == nullptr);
  CHECK(index.find_by_queue_id(0, "QID00004", seconds(4), 0) != nullptr);
}

TEST_CASE("index forgets messages older than the window and counts them", "[index]") {
  MailIndex index(1000, seconds(60));
  index.apply(0, seconds(0), receive("OLD000001", "10.0.0.1"));
  index.apply(0, seconds(100), receive("NEW000001", "10.0.0.1"));
  index.evict(seconds(100));
  CHECK(index.size() == 1);
  CHECK(index.stats().evicted_by_age == 1);
  CHECK(index.find_by_queue_id(0, "OLD000001", seconds(0), 0) == nullptr);
}

TEST_CASE("index looks senders up case-insensitively", "[index]") {
  MailIndex index(1000, seconds(60));
  ParsedRecord r = receive("QQQQQ1", "10.0.0.9");
  r.sender = "Support@Example.COM";
  r.has_sender = true;
  index.apply(0, seconds(1), r);
  const auto found = index.find_by_sender(0, vtrace::hash_address("support@example.com"));
  REQUIRE(found.size() == 1);
  CHECK(found[0]->queue_id() == "QQQQQ1");
}

TEST_CASE("index lookups stay right across table rebuilds and evictions", "[index]") {
  MailIndex index(100000, seconds(60));
  // Enough records to rebuild the table several times, while old ones age out.
  for (int i = 0; i < 20000; ++i) {
    const std::string qid = "Q" + std::to_string(100000 + i);
    const std::string next = "N" + std::to_string(100000 + i);
    index.apply(0, seconds(i / 100), receive(qid, "10.0.0.1"));
    index.apply(0, seconds(i / 100), delivery(qid, next));
    index.evict(seconds(i / 100));
  }
  CHECK(index.stats().table_rebuilds > 0);
  CHECK(index.stats().evicted_by_age > 0);
  CHECK(index.find_by_queue_id(0, "Q100000", seconds(0), 0) == nullptr);
  const auto* recent = index.find_by_queue_id(0, "Q119999", seconds(199), 0);
  REQUIRE(recent);
  const auto* by_next = index.find_by_next_queue_id(0, "N119990", seconds(199), seconds(5));
  REQUIRE(by_next);
  CHECK(by_next->queue_id() == "Q119990");
}

TEST_CASE("evicted records take their table entries with them, so a full window never rebuilds",
          "[index]") {
  MailIndex index(100000, seconds(60));
  std::uint64_t rebuilds_when_full = 0;
  // 100 messages a second for 2,000 s behind a 60 s window: about 6,000 live messages, each
  // with a queue id, a Message-ID, a sender and two distinct next-hop ids; entries wrap around
  // the end of the table and are deleted out of the middle of probe runs.
  for (int i = 0; i < 200000; ++i) {
    const auto t = seconds(i / 100);
    const std::string qid = "Q" + std::to_string(1000000 + i);
    const std::string message_id = "<" + std::to_string(i) + "@pc.example.ac.jp>";
    const std::string sender = "pc" + std::to_string(i % 700) + "@example.ac.jp";
    const std::string next1 = "N" + std::to_string(1000000 + i);
    const std::string next2 = "M" + std::to_string(1000000 + i);
    ParsedRecord r = receive(qid, "10.0.0.1");
    r.message_id = message_id;
    r.sender = sender;
    r.has_sender = true;
    index.apply(0, t, r);
    index.apply(0, t, delivery(qid, next1));
    index.apply(0, t, delivery(qid, next2));
    index.evict(t);
    if (i == 20000) rebuilds_when_full = index.stats().table_rebuilds;
    if (i % 9973 == 0 || i == 199999) {
      // Every live record is still found by each of its keys.
      for (int k = std::max(0, i - 5000); k <= i; k += 7) {
        const std::string q = "Q" + std::to_string(1000000 + k);
        const auto* by_qid = index.find_by_queue_id(0, q, t, 0);
        REQUIRE(by_qid);
        CHECK(index.find_by_next_queue_id(0, "M" + std::to_string(1000000 + k), t, 0) == by_qid);
        const auto by_mid = index.find_by_message_id(
            0, vtrace::hash_text("<" + std::to_string(k) + "@pc.example.ac.jp>"), t, 0);
        REQUIRE(by_mid.size() == 1);
        CHECK(by_mid[0] == by_qid);
      }
      // Messages older than the window are gone.
      if (i >= 7000) {
        CHECK(index.find_by_queue_id(0, "Q" + std::to_string(1000000 + i - 7000), t, 0) == nullptr);
      }
    }
  }
  CHECK(index.stats().evicted_by_age > 190000);
  CHECK(index.stats().table_rebuilds == rebuilds_when_full);
  CHECK(index.find_by_sender(0, vtrace::hash_address("pc5@example.ac.jp")).size() >= 8);
}

TEST_CASE("index keeps every recipient, delivery and time of a message that outgrows its record",
          "[index]") {
  MailIndex index(1000, seconds(7 * 86400));
  const std::string qid = "1rBvYQ-00000000XjD-1mQS";  // exim 4.97: longer than the record holds
  index.apply(0, seconds(100), receive(qid, "10.0.0.1"));
  ParsedRecord first = delivery(qid, "");
  first.status = vtrace::DeliveryStatus::kDeferred;
  index.apply(0, seconds(101), first);
  ParsedRecord second = delivery(qid, "NEXT00001");
  second.recipients = {"Kato@Example.ac.jp", "sato@example.ac.jp"};
  // Retried five hours later: beyond a 32-bit microsecond offset from the first line.
  index.apply(0, seconds(100 + 5 * 3600), second);
  const auto* r = index.find_by_queue_id(0, qid, seconds(100), 0);
  REQUIRE(r);
  CHECK(r->queue_id() == qid);
  CHECK(r->recipients().size() == 2);
  CHECK(r->has_recipient(vtrace::hash_address("sato@example.ac.jp")));
  CHECK(r->received_at() == seconds(100));
  CHECK(r->last_seen() == seconds(100 + 5 * 3600));
  std::vector<vtrace::Delivery> deliveries;
  for (const vtrace::Delivery d : r->deliveries()) deliveries.push_back(d);
  REQUIRE(deliveries.size() == 3);
  CHECK(deliveries[0].status == vtrace::DeliveryStatus::kDeferred);
  CHECK(deliveries[0].time == seconds(101));
  CHECK(deliveries[2].recipient == vtrace::hash_address("sato@example.ac.jp"));
  CHECK(deliveries[2].time == seconds(100 + 5 * 3600));
  CHECK(index.find_by_next_queue_id(0, "NEXT00001", seconds(100 + 5 * 3600), seconds(5)) == r);
}

TEST_CASE("index keeps a message's times when an earlier line arrives after a later one",
          "[index]") {
  MailIndex index(1000, seconds(1800));
  index.apply(0, seconds(200), receive("LATE00001", "10.0.0.1"));
  index.apply(0, seconds(201), delivery("LATE00001", "NEXT00002"));
  ParsedRecord attribute;
  attribute.kind = RecordKind::kAttribute;
  attribute.queue_id = "LATE00001";
  attribute.message_id = "early@example.ac.jp";
  index.apply(0, seconds(190), attribute);
  const auto* r = index.find_by_queue_id(0, "LATE00001", seconds(200), 0);
  REQUIRE(r);
  CHECK(r->first_seen() == seconds(190));
  CHECK(r->received_at() == seconds(200));
  CHECK(r->last_seen() == seconds(201));
  CHECK((*r->deliveries().begin()).time == seconds(201));
}

TEST_CASE("index counts its own memory, records and lookup table alike", "[index]") {
  MailIndex index(100000, seconds(1800));
  const auto empty = index.memory();
  for (int i = 0; i < 1000; ++i) {
    const std::string qid = "Q" + std::to_string(100000 + i);
    index.apply(0, seconds(1), receive(qid, "10.0.0.1"));
    index.apply(0, seconds(2), delivery(qid, "N" + std::to_string(100000 + i)));
  }
  const auto full = index.memory();
  CHECK(full.records >= 1000 * sizeof(vtrace::MessageRecord));
  CHECK(full.table > empty.table);
  CHECK(full.extras == 0);  // one recipient, one delivery: nothing outgrew a record
  CHECK(full.total() == full.records + full.extras + full.table + full.names + full.message_ids);
}

TEST_CASE("a receive line that arrives after its message's removal still belongs to it",
          "[index]") {
  // rsyslog puts a line it had to retry at the end of its disk queue: the relay's client=
  // line can reach the collector after the same message's "removed".
  MailIndex index(1000, seconds(1800));
  index.apply(0, seconds(201), delivery("LATE00003", "NEXT00004"));
  ParsedRecord removed;
  removed.kind = RecordKind::kDone;
  removed.queue_id = "LATE00003";
  index.apply(0, seconds(201), removed);
  index.apply(0, seconds(200), receive("LATE00003", "10.0.0.7"));
  CHECK(index.size() == 1);
  const auto* r = index.find_by_next_queue_id(0, "NEXT00004", seconds(202), seconds(5));
  REQUIRE(r);
  REQUIRE(r->has_client);
  CHECK(r->client_ip.to_string() == "10.0.0.7");
  // Logged after the removal: the queue id was reused by a new message.
  index.apply(0, seconds(260), receive("LATE00003", "10.0.0.8"));
  CHECK(index.size() == 2);
}

TEST_CASE("a record's Message-ID text is kept until its host's texts are forgotten", "[index]") {
  MailIndex index(1000, seconds(1800));
  index.apply(0, seconds(100), receive("KEEP00001", "10.0.0.1"));
  ParsedRecord attribute;
  attribute.kind = RecordKind::kAttribute;
  attribute.queue_id = "KEEP00001";
  attribute.message_id = "b2@example.net";
  index.apply(0, seconds(100), attribute);
  const auto* r = index.find_by_queue_id(0, "KEEP00001", seconds(100), 0);
  REQUIRE(r);
  CHECK(index.message_id_text(r->id) == "b2@example.net");
  CHECK(index.memory().message_ids > 0);
  index.forget_message_ids(1, seconds(200));  // another host's: this one's stays
  CHECK(index.message_id_text(r->id) == "b2@example.net");
  index.forget_message_ids(0, seconds(100));  // first seen at 100: not before it
  CHECK(index.message_id_text(r->id) == "b2@example.net");
  index.forget_message_ids(0, seconds(101));
  CHECK(index.message_id_text(r->id).empty());
  CHECK(r->message_id != 0);  // the hash the trace compares stays
}

TEST_CASE("a sender's messages are all found, oldest first, however many there are", "[index]") {
  // One forged sender on thousands of messages, on two hosts, some learning the sender after a
  // later message did, with a capacity that evicts the oldest and tables that grow.
  MailIndex index(3000, seconds(86400));
  const std::string forged = "Boss@Example.ac.jp";
  std::vector<std::string> queue_ids;
  for (int i = 0; i < 5000; ++i) queue_ids.push_back("Q" + std::to_string(i));
  for (int i = 0; i < 5000; ++i) {
    const vtrace::SourceIndex host = i % 3 == 0 ? 1 : 0;
    index.apply(host, seconds(i), receive(queue_ids[i], "10.0.0.9"));
    if (i >= 2 && i % 5 != 1) {
      // The sender of a message two back: later than the next one's, now and then.
      const int j = i % 7 == 0 ? i - 2 : i;
      const std::string sender =
          i % 2 ? forged : "other" + std::to_string(i % 11) + "@example.ac.jp";
      ParsedRecord from;
      from.kind = RecordKind::kAttribute;
      from.queue_id = queue_ids[j];
      from.sender = sender;
      from.has_sender = true;
      index.apply(j % 3 == 0 ? 1 : 0, seconds(i), from);
    }
    if (i % 50 == 0) index.evict(seconds(i));
  }
  REQUIRE(index.stats().evicted_by_capacity > 0);
  for (const std::string& sender : {forged, std::string("other3@example.ac.jp")}) {
    const auto wanted = vtrace::hash_address(sender);
    for (vtrace::SourceIndex host : {0, 1}) {
      std::vector<const vtrace::MessageRecord*> expected;
      for (std::uint64_t id = 1; id <= 5000; ++id) {
        const auto* r = index.get(id);
        if (r != nullptr && r->source == host && r->has_sender && r->sender == wanted) {
          expected.push_back(r);
        }
      }
      if (sender == forged) REQUIRE(expected.size() > 300);
      CHECK(index.find_by_sender(host, wanted) == expected);
    }
  }
}

TEST_CASE("the change log names a change to what a lookup read, and only that", "[index]") {
  MailIndex index(1000, seconds(1800));
  ParsedRecord from = receive("AAA1", "10.0.0.1");
  from.sender = "pc@example.ac.jp";
  from.has_sender = true;
  index.apply(0, seconds(1), from);
  index.apply(0, seconds(1), receive("BBB2", "10.0.0.2"));
  const auto* a = index.find_by_queue_id(0, "AAA1", seconds(1), seconds(5));
  REQUIRE(a != nullptr);

  std::vector<MailIndex::Fact> reads;
  index.record_reads(&reads);
  CHECK(index.find_by_sender(0, vtrace::hash_address("pc@example.ac.jp")).size() == 1);
  CHECK(index.client_name(a->client_ip).empty());
  index.record_reads(nullptr);
  std::sort(reads.begin(), reads.end());
  reads.erase(std::unique(reads.begin(), reads.end()), reads.end());

  // Whether the changes logged since the last look name a fact the lookups read.
  std::vector<MailIndex::Fact> changes;
  auto named_a_read = [&] {
    const bool everything = index.take_changes(changes);
    return everything || std::any_of(changes.begin(), changes.end(), [&](MailIndex::Fact f) {
             return std::binary_search(reads.begin(), reads.end(), f);
           });
  };
  index.log_changes(true);
  index.apply(0, seconds(2), delivery("BBB2", ""));  // another message
  index.apply(1, seconds(2), from);                  // the same sender on another host
  CHECK_FALSE(named_a_read());
  index.apply(0, seconds(3), delivery("AAA1", ""));  // the message the lookup found
  CHECK(named_a_read());
  ParsedRecord named = receive("CCC3", "10.0.0.1");
  named.client_name = "pc1.example.ac.jp";
  index.apply(0, seconds(4), named);  // a name for the client whose name was read
  CHECK(named_a_read());
  index.evict(seconds(4000));  // the message leaves the index
  CHECK(named_a_read());
  index.log_changes(false);
  index.apply(0, seconds(4001), delivery("CCC3", ""));
  CHECK_FALSE(index.has_changes());  // not logging: nothing is kept
}

TEST_CASE("a sender's messages far apart in the index are found, and leave with it", "[index]") {
  MailIndex index(100'000, seconds(86400));
  ParsedRecord first = receive("FAR1", "10.0.0.1");
  first.sender = "rare@example.ac.jp";
  first.has_sender = true;
  index.apply(0, seconds(1), first);
  for (int i = 0; i < 70'000; ++i)
    index.apply(0, seconds(2), receive("N" + std::to_string(i), "10.0.0.2"));
  ParsedRecord second = receive("FAR2", "10.0.0.1");
  second.sender = first.sender;
  second.has_sender = true;
  index.apply(0, seconds(3), second);
  const auto sender = vtrace::hash_address("rare@example.ac.jp");
  const auto found = index.find_by_sender(0, sender);
  REQUIRE(found.size() == 2);
  CHECK(found[0]->queue_id() == "FAR1");
  CHECK(found[1]->queue_id() == "FAR2");
  index.evict(seconds(3));  // within capacity: nothing goes
  CHECK(index.find_by_sender(0, sender).size() == 2);
}
