// The libcurl SMTP adapter: the only file that includes curl.
#include "responder/mail/smtp_sender.hpp"

#include <curl/curl.h>

#include <cstring>
#include <mutex>

namespace vtrace::responder {
namespace {

struct Upload {
  const std::string* data;
  std::size_t offset = 0;
};

std::size_t read_callback(char* buffer, std::size_t size, std::size_t count, void* user) {
  auto* up = static_cast<Upload*>(user);
  const std::size_t room = size * count;
  const std::size_t left = up->data->size() - up->offset;
  const std::size_t n = std::min(room, left);
  std::memcpy(buffer, up->data->data() + up->offset, n);
  up->offset += n;
  return n;
}

// The server's replies: the last one, and the first 4xx/5xx (the one that explains a failure;
// the QUIT reply that follows it does not).
struct Replies {
  std::string last;
  std::string first_error;
};

int debug_callback(CURL*, curl_infotype type, char* data, std::size_t size, void* user) {
  if (type != CURLINFO_HEADER_IN) return 0;
  auto* replies = static_cast<Replies*>(user);
  std::string line(data, size);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  if (line.empty()) return 0;
  line = line.substr(0, 300);
  if (replies->first_error.empty() && (line[0] == '4' || line[0] == '5')) {
    replies->first_error = line;
  }
  replies->last = line;
  return 0;
}

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

SendStatus classify_smtp_reply(long code) {
  if (code >= 200 && code < 400) return SendStatus::kSent;
  if (code >= 400 && code < 500) return SendStatus::kRetry;
  return SendStatus::kFail;
}

SmtpSender::SmtpSender(SmtpConfig config, std::string password)
    : config_(std::move(config)), password_(std::move(password)) {
  global_init();
}

SendResult SmtpSender::send(const std::string& from, const std::vector<std::string>& to,
                            const std::string& message) {
  CURL* curl = curl_easy_init();
  if (!curl) return {SendStatus::kRetry, "curl_easy_init failed"};
  const std::string scheme = config_.tls == SmtpTls::kSmtps ? "smtps://" : "smtp://";
  const std::string url =
      scheme + config_.host + ":" + std::to_string(config_.port) + "/" + config_.helo;
  const std::string mail_from = "<" + from + ">";
  curl_slist* rcpt = nullptr;
  for (const auto& r : to) rcpt = curl_slist_append(rcpt, ("<" + r + ">").c_str());
  Upload upload{&message};
  Replies replies;
  char error[CURL_ERROR_SIZE] = {0};
  const long timeout_ms = static_cast<long>(config_.timeout / 1000);

  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_MAIL_FROM, mail_from.c_str());
  curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpt);
  curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_callback);
  curl_easy_setopt(curl, CURLOPT_READDATA, &upload);
  curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(message.size()));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms * 2);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl, CURLOPT_VERBOSE, 1L);  // feeds debug_callback; nothing is printed
  curl_easy_setopt(curl, CURLOPT_DEBUGFUNCTION, debug_callback);
  curl_easy_setopt(curl, CURLOPT_DEBUGDATA, &replies);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  if (config_.tls == SmtpTls::kStartTls) curl_easy_setopt(curl, CURLOPT_USE_SSL, CURLUSESSL_ALL);
  if (config_.tls != SmtpTls::kNone && !config_.ca_file.empty()) {
    curl_easy_setopt(curl, CURLOPT_CAINFO, config_.ca_file.c_str());
  }
  if (!config_.username.empty()) {
    curl_easy_setopt(curl, CURLOPT_USERNAME, config_.username.c_str());
    curl_easy_setopt(curl, CURLOPT_PASSWORD, password_.c_str());
  }

  const CURLcode rc = curl_easy_perform(curl);
  long code = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
  curl_slist_free_all(rcpt);
  curl_easy_cleanup(curl);

  if (rc == CURLE_OK) return {SendStatus::kSent, replies.last};
  std::string detail = error[0] ? error : curl_easy_strerror(rc);
  const std::string& reply = replies.first_error.empty() ? replies.last : replies.first_error;
  if (!reply.empty()) detail += " (server: " + reply + ")";
  if (code >= 400) return {classify_smtp_reply(code), detail};
  switch (rc) {
    // Refused credentials, a bad certificate or an unsupported option will not heal by waiting.
    case CURLE_LOGIN_DENIED:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_USE_SSL_FAILED:
      return {SendStatus::kFail, detail};
    default:
      return {SendStatus::kRetry, detail};
  }
}

}  // namespace vtrace::responder
