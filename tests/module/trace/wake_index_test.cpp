// The index of what held detections read: a change wakes exactly the detections that read it,
// and a detection it has no room for is re-checked at every change instead of missed.
#include "module/trace/wake_index.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <vector>

using vtrace::WakeIndex;

namespace {
std::vector<WakeIndex::Id> woken_by(WakeIndex& index, std::vector<WakeIndex::Fact> facts,
                                    bool everything = false) {
  std::vector<WakeIndex::Id> woken;
  index.changed(facts, everything, woken);
  std::sort(woken.begin(), woken.end());
  return woken;
}
}  // namespace

TEST_CASE("A change wakes exactly the detections that read it", "[wake_index]") {
  WakeIndex index(100);
  index.watch(1, {10, 11});
  index.watch(2, {11, 12});
  index.watch(3, {13});
  CHECK(woken_by(index, {11}) == std::vector<WakeIndex::Id>{1, 2});
  CHECK_FALSE(index.watching(1));
  CHECK_FALSE(index.watching(2));
  CHECK(index.watching(3));
  SECTION("a woken detection is not woken again until it watches again") {
    CHECK(woken_by(index, {10, 12}).empty());
    index.watch(1, {10});
    CHECK(woken_by(index, {10, 12}) == std::vector<WakeIndex::Id>{1});
  }
  SECTION("a change nobody read wakes nobody") { CHECK(woken_by(index, {99}).empty()); }
  SECTION("a change too wide to name wakes every detection") {
    CHECK(woken_by(index, {}, true) == std::vector<WakeIndex::Id>{3});
    CHECK(index.waiting() == 0);
  }
  CHECK(index.dropped() == 0);
}

TEST_CASE("A detection watching again forgets what it read before", "[wake_index]") {
  WakeIndex index(100);
  index.watch(1, {10});
  index.watch(1, {20});
  CHECK(woken_by(index, {10}).empty());
  CHECK(woken_by(index, {20}) == std::vector<WakeIndex::Id>{1});
  index.watch(2, {30});
  index.forget(2);
  CHECK(woken_by(index, {30}).empty());
}

TEST_CASE("A detection past the index's bound is re-checked at any change", "[wake_index]") {
  WakeIndex index(3);
  CHECK(index.watch(1, {10, 11}));
  CHECK_FALSE(index.watch(2, {12, 13}));  // 4 pairs would pass the bound of 3
  CHECK(index.dropped() == 1);
  CHECK(index.watching(2));
  CHECK(index.entries() <= 3);
  SECTION("no change, no check") { CHECK(woken_by(index, {}).empty()); }
  SECTION("an unrelated change wakes it, and only the readers beside it") {
    CHECK(woken_by(index, {99}) == std::vector<WakeIndex::Id>{2});
    CHECK(index.watching(1));
  }
  SECTION("a change it read wakes it beside the other readers") {
    CHECK(woken_by(index, {11}) == std::vector<WakeIndex::Id>{1, 2});
  }
}

TEST_CASE("Stale pairs are dropped to make room before a detection is refused", "[wake_index]") {
  WakeIndex index(4);
  CHECK(index.watch(1, {10, 11}));
  CHECK(index.watch(1, {12, 13}));  // the first two pairs are stale now
  CHECK(index.watch(2, {14, 15}));
  CHECK(index.dropped() == 0);
  CHECK(index.entries() == 4);
  CHECK(woken_by(index, {10, 11}).empty());
  CHECK(woken_by(index, {13, 15}) == std::vector<WakeIndex::Id>{1, 2});
}
