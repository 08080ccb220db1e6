// Time as the responder core sees it: the clock it reads and the waits between retries and
// polls, behind interfaces so the core is deterministic under test (a FakeClock, a sleeper that
// advances it instead of sleeping).
#pragma once

#include <chrono>
#include <thread>

#include "common/time.hpp"

namespace vtrace::responder {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint now() const override {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

// Waiting between retries and polls, behind an interface so unit tests advance a fake clock
// instead of sleeping.
class Sleeper {
 public:
  virtual ~Sleeper() = default;
  virtual void sleep_for(Duration d) = 0;
};

class ThreadSleeper final : public Sleeper {
 public:
  void sleep_for(Duration d) override { std::this_thread::sleep_for(std::chrono::microseconds(d)); }
};

}  // namespace vtrace::responder
