// WakeIndex: which waiting detections read which facts of the mail index, so that a change
// wakes the detections it may concern and no others. An outbreak holds thousands of
// detections for pending_timeout; asking each of them once a second whether anything it read
// has changed costs O(held detections), looking the changes up here costs O(changes).
#pragma once

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace vtrace {

class WakeIndex {
 public:
  using Fact = std::uint64_t;  // MailIndex::Fact, or any other 64-bit name of a thing read
  using Id = std::uint64_t;    // a waiting detection

  // At most `max_entries` (fact, detection) pairs, stale ones included.
  explicit WakeIndex(std::size_t max_entries) : max_entries_(max_entries) {}

  // `id` waits on `facts` (replacing what it waited on before). When the pairs would pass the
  // bound, `id` is kept without its facts instead, counted in dropped(), and woken by any
  // change at all: a full re-check, never a missed one. Returns whether its facts were kept.
  bool watch(Id id, std::vector<Fact> facts) {
    forget(id);
    if (total_ + facts.size() > max_entries_) compact();
    if (total_ + facts.size() > max_entries_) {
      ++dropped_;
      unwatched_.insert(id);
      return false;
    }
    const std::uint64_t stamp = ++last_stamp_;
    for (Fact f : facts) by_fact_[f].emplace_back(id, stamp);
    total_ += facts.size();
    live_ += facts.size();
    watchers_[id] = Watch{stamp, std::move(facts)};
    return true;
  }

  // `id` no longer waits (woken, traced again or gone). Its pairs go stale, and are dropped
  // when their fact changes or at the next compaction.
  void forget(Id id) {
    if (auto it = watchers_.find(id); it != watchers_.end()) {
      live_ -= it->second.facts.size();
      watchers_.erase(it);
    }
    unwatched_.erase(id);
    if (total_ > 2 * live_ + kSlack) compact();
  }

  // Changes named by `facts` (any order, repeats allowed), or a change too wide to name
  // (`everything`): appends the detections woken to `woken` and forgets them.
  void changed(const std::vector<Fact>& facts, bool everything, std::vector<Id>& woken) {
    if (everything) {
      for (const auto& [id, watch] : watchers_) woken.push_back(id);
      woken.insert(woken.end(), unwatched_.begin(), unwatched_.end());
      watchers_.clear();
      unwatched_.clear();
      by_fact_.clear();
      total_ = live_ = 0;
      return;
    }
    if (facts.empty()) return;
    for (Id id : unwatched_) woken.push_back(id);
    unwatched_.clear();
    for (Fact f : facts) {
      auto entry = by_fact_.find(f);
      if (entry == by_fact_.end()) continue;
      // Moved out first: forget() may compact the table under it.
      std::vector<std::pair<Id, std::uint64_t>> waiting = std::move(entry->second);
      by_fact_.erase(entry);
      total_ -= waiting.size();
      for (const auto& [id, stamp] : waiting) {
        auto w = watchers_.find(id);
        if (w == watchers_.end() || w->second.stamp != stamp) continue;
        woken.push_back(id);
        forget(id);
      }
    }
  }

  bool watching(Id id) const { return watchers_.count(id) > 0 || unwatched_.count(id) > 0; }
  std::size_t waiting() const { return watchers_.size() + unwatched_.size(); }
  std::size_t entries() const { return total_; }
  // Detections kept without their facts because the pairs were at their bound.
  std::uint64_t dropped() const { return dropped_; }

 private:
  static constexpr std::size_t kSlack = 4096;
  struct Watch {
    std::uint64_t stamp = 0;
    std::vector<Fact> facts;
  };

  // Drops the stale pairs: the table is rebuilt from the live watches.
  void compact() {
    by_fact_.clear();
    for (const auto& [id, watch] : watchers_) {
      for (Fact f : watch.facts) by_fact_[f].emplace_back(id, watch.stamp);
    }
    total_ = live_;
  }

  std::size_t max_entries_;
  std::unordered_map<Fact, std::vector<std::pair<Id, std::uint64_t>>> by_fact_;
  std::unordered_map<Id, Watch> watchers_;
  std::unordered_set<Id> unwatched_;
  std::size_t total_ = 0;  // pairs in by_fact_, stale ones included
  std::size_t live_ = 0;   // pairs of the current watches
  std::uint64_t last_stamp_ = 0;
  std::uint64_t dropped_ = 0;
};

}  // namespace vtrace
