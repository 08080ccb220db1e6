// Outbox delivery: at-least-once, oldest first, exponential backoff capped at a minute.
#include "module/outbox_sender.hpp"

#include <curl/curl.h>

#include <chrono>
#include <iostream>

namespace vtrace {

namespace {
TimePoint wall_now() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
std::size_t discard(char*, std::size_t size, std::size_t n, void*) { return size * n; }
}  // namespace

CurlIncidentPoster::CurlIncidentPoster(std::string url, std::string bearer_token)
    : url_(std::move(url)), token_(std::move(bearer_token)) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
}

long CurlIncidentPoster::post(const std::string& json, std::string& error) {
  CURL* curl = curl_easy_init();
  if (curl == nullptr) {
    error = "curl_easy_init failed";
    return 0;
  }
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  if (!token_.empty())
    headers = curl_slist_append(headers, ("Authorization: Bearer " + token_).c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url_.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, json.c_str());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(json.size()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
  long status = 0;
  const CURLcode rc = curl_easy_perform(curl);
  if (rc == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  } else {
    error = curl_easy_strerror(rc);
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return status;
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
