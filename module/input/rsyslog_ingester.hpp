// The trust rule for rsyslog's records: which configured source, if any, a record comes from;
// trusted records go to the correlator as log lines.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/time.hpp"
#include "module/input/rsyslog_json_decoder.hpp"
#include "module/trace/correlator.hpp"

namespace vtrace {

// Feeds rsyslog records to one correlator, trusting a record only if its fromhost-ip (or, for
// records rsyslog received locally, its hostname) belongs to a configured source. What
// consecutive records repeat is worked out once: the second and zone of their time, and
// which source a sender's address is (a correlator's sources do not change; a new
// configuration means a new correlator and a new ingester).
class RsyslogIngester {
 public:
  explicit RsyslogIngester(Correlator& correlator) : correlator_(correlator) {}
  RsyslogIngester(const RsyslogIngester&) = delete;
  RsyslogIngester& operator=(const RsyslogIngester&) = delete;
  // The record's time, or nullopt when the record was malformed (it is counted, and must
  // still be confirmed).
  std::optional<TimePoint> ingest(const RsyslogRecord& record);

 private:
  struct Sender {
    bool loopback = false;
    std::optional<SourceIndex> source;  // by its address
  };
  const Sender& sender(std::string_view fromhost_ip);

  Correlator& correlator_;
  Rfc3339Parser times_;
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using Senders = std::unordered_map<std::string, Sender, Hash, std::equal_to<>>;
  Senders senders_;
  Senders::iterator last_ = senders_.end();  // the previous record's
};

// One-off ingestion (tests); a loop keeps an RsyslogIngester. False when the record was
// malformed.
bool ingest_rsyslog_record(Correlator& correlator, const RsyslogRecord& record);

}  // namespace vtrace
