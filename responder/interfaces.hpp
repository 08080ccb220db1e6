// The edges of the responder core: the clock and the mail transport, behind interfaces so the
// core is deterministic under test (a FakeClock, a recording MailSender).
#pragma once

#include <chrono>
#include <string>
#include <vector>

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

// How one delivery attempt ended (the style guide's ActionOutcome tiers): kRetry for a
// connection problem, a timeout or a 4xx reply; kFail for a 5xx reply or a local error that
// will not heal by itself.
enum class SendStatus { kSent, kRetry, kFail };

struct SendResult {
  SendStatus status = SendStatus::kFail;
  std::string detail;  // the server's reply or the transport error
};

class MailSender {
 public:
  virtual ~MailSender() = default;
  // Sends `message` (complete RFC 5322 text, CRLF) from `from` to `to`. Blocking; bounded by
  // the transport's timeouts. Called from one worker thread only.
  virtual SendResult send(const std::string& from, const std::vector<std::string>& to,
                          const std::string& message) = 0;
};

}  // namespace vtrace::responder
