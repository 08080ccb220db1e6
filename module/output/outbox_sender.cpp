// Outbox delivery: at-least-once, oldest first, exponential backoff capped at a minute.
#include "module/output/outbox_sender.hpp"

#include <chrono>
#include <iostream>

namespace vtrace {

namespace {
TimePoint wall_now() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
}  // namespace

HttpIncidentPoster::HttpIncidentPoster(std::string url, std::string bearer_token)
    : url_(std::move(url)), token_(std::move(bearer_token)), client_(make_beast_http_client()) {}

long HttpIncidentPoster::post(const std::string& json, std::string& error) {
  HttpRequest request;
  request.method = "POST";
  request.url = url_;
  request.headers = {{"Content-Type", "application/json"}};
  if (!token_.empty()) request.headers.emplace_back("Authorization", "Bearer " + token_);
  request.body = json;
  request.timeout = seconds(5);
  const HttpResponse response = client_->send(request);
  if (!response.transport_ok) {
    error = response.error;
    return 0;
  }
  if (response.status < 200 || response.status >= 300) {
    error = response.body.substr(0, 300);
  }
  return response.status;
}

bool OutboxSender::is_permanent_refusal(long status) {
  return status == 400 || status == 413 || status == 415 || status == 422;
}

OutboxSender::OutboxSender(std::string database, IncidentPoster& poster)
    : database_(std::move(database)), poster_(poster) {}

OutboxSender::~OutboxSender() { stop(); }

void OutboxSender::start() {
  thread_ = std::thread([this] { run(); });
}

void OutboxSender::notify() {
  {
    std::lock_guard lock(mutex_);
    pending_ = true;
  }
  wake_.notify_one();
}

void OutboxSender::stop() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void OutboxSender::run() {
  std::string error;
  auto store = StateStore::open(database_, error);
  if (!store) {
    std::cerr << "vtrace-correlator: outbox: " << error << "\n";
    return;
  }
  while (true) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, std::chrono::milliseconds(500), [this] { return stop_ || pending_; });
      if (stop_) return;
      pending_ = false;
    }
    for (const auto& entry : store->due(wall_now(), 64)) {
      error.clear();
      const long status = poster_.post(entry.json, error);
      if (status >= 200 && status < 300) {
        store->mark_delivered(entry.rowid, entry.revision);
        ++delivered_;
        continue;
      }
      if (is_permanent_refusal(status)) {
        // Logged every time: each is an incident nobody will hear of until it is looked at.
        const std::string reason = "HTTP " + std::to_string(status) + ": " + error;
        store->mark_refused(entry.rowid, entry.revision, reason);
        ++refused_;
        std::cerr << "vtrace-correlator: ERROR: the responder refused incident " << entry.id
                  << " revision " << entry.revision << " for good (" << reason
                  << "); it is kept in the outbox and not sent again\n";
        continue;
      }
      ++failures_;
      const int shift = entry.attempts < 6 ? entry.attempts : 6;
      const TimePoint backoff = std::min<TimePoint>(seconds(1) << shift, seconds(60));
      store->mark_failed(entry.rowid, wall_now() + backoff);
      if (entry.attempts < 3 || entry.attempts % 20 == 0) {
        std::cerr << "vtrace-correlator: delivering incident " << entry.id << " failed ("
                  << (status > 0 ? "HTTP " + std::to_string(status) : error) << "); retrying in "
                  << backoff / kMicrosPerSecond << " s\n";
      }
      // The responder is down or refusing: stop this round instead of hammering it.
      break;
    }
    {
      std::lock_guard lock(mutex_);
      if (!store->due(wall_now(), 1).empty()) pending_ = true;
    }
  }
}

}  // namespace vtrace
