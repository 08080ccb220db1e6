// OutboxSender: delivers stored incidents to the responder (POST /v1/incidents) with retry and
// backoff until acknowledged. Runs on its own thread with its own database connection.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/http_client.hpp"
#include "module/output/state_store.hpp"

namespace vtrace {

// Returns the HTTP status of the POST, or 0 when the request did not complete (`error` says
// why). For a status other than 2xx, `error` holds the start of the responder's answer.
class IncidentPoster {
 public:
  virtual ~IncidentPoster() = default;
  virtual long post(const std::string& json, std::string& error) = 0;
};

// POST over the project's HTTP client (HTTPS with certificate checks), 5 s for the whole
// exchange.
class HttpIncidentPoster final : public IncidentPoster {
 public:
  HttpIncidentPoster(std::string url, std::string bearer_token);
  long post(const std::string& json, std::string& error) override;

 private:
  std::string url_;
  std::string token_;
  std::unique_ptr<HttpClient> client_;
};

class OutboxSender {
 public:
  OutboxSender(std::string database, IncidentPoster& poster);
  ~OutboxSender();
  void start();
  // Wakes the sender: something new is in the outbox.
  void notify();
  // Stops after the current attempt; unsent incidents stay in the database.
  void stop();
  std::uint64_t delivered() const { return delivered_; }
  std::uint64_t failures() const { return failures_; }
  std::uint64_t refused() const { return refused_; }

  // A status that sending the same incident again cannot change: the responder refused its
  // content (400 malformed, 413 too large, 415, 422). Every other failure is retried with
  // backoff: 401/403/404 are fixed by the site's configuration, 408/429/5xx by time.
  static bool is_permanent_refusal(long status);

 private:
  void run();
  std::string database_;
  IncidentPoster& poster_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  bool pending_ = false;
  std::atomic<std::uint64_t> delivered_{0};
  std::atomic<std::uint64_t> failures_{0};
  std::atomic<std::uint64_t> refused_{0};
};

}  // namespace vtrace
