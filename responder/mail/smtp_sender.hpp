// SmtpSender: MailSender over libcurl's SMTP client (smarthost, STARTTLS or SMTPS, AUTH).
#pragma once

#include <string>
#include <vector>

#include "responder/config/config.hpp"
#include "responder/mail/mail_sender.hpp"

namespace vtrace::responder {

class SmtpSender final : public MailSender {
 public:
  // `password` comes from the secrets file; used only when config.username is set.
  SmtpSender(SmtpConfig config, std::string password);
  SendResult send(const std::string& from, const std::vector<std::string>& to,
                  const std::string& message) override;

 private:
  SmtpConfig config_;
  std::string password_;
};

// Classifies an SMTP reply code: 2xx sent, 4xx retry, else fail.
SendStatus classify_smtp_reply(long code);

}  // namespace vtrace::responder
