// MailSender: how the responder hands a finished message to the mail transport. SMTP is
// smtp_sender.hpp; tests record what would have been sent.
#pragma once

#include <string>
#include <vector>

namespace vtrace::responder {

// How one delivery attempt ended: kRetry for a
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
