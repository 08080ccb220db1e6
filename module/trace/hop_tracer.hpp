// HopTracer: from a detection to the host that really sent the message, hop by hop through
// the configured sources' indexed records.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/incident.hpp"
#include "module/trace/mail_index.hpp"
#include "module/trace/topology.hpp"

namespace vtrace {

// What the antivirus line(s) said about the infected message.
struct DetectionFacts {
  SourceIndex source = 0;
  TimePoint time = 0;
  std::string queue_id;
  std::string message_id;
  std::string sender;  // lower-cased
  bool has_sender = false;
  std::vector<std::string> recipients;  // lower-cased
  std::optional<IpAddress> client_ip;   // when the detection line itself names the client
  std::string client_name;
  // The detecting host's own verdicts speak for this scanner: its MTA logs what a milter
  // decided (clamav-milter), amavis logs its own. Not for a scanner in front of the MTA (ISVW)
  // or a site's own format: a proxy that strips the virus passes on a message a milter then
  // calls clean, and another engine names the same virus differently.
  bool verdicts_apply = false;
  std::uint32_t virus = 0;  // verdict_name() of the detection's virus; 0 when it names none
};

struct TraceOutcome {
  std::vector<Hop> hops;
  std::optional<Origin> origin;
  Confidence confidence = Confidence::kUnresolved;
  std::vector<Candidate> candidates;
  std::string note;
  // The chain broke for want of a record that may still arrive (worth waiting for).
  bool waiting = false;
  // The source whose missing record broke the chain (where an archive search should look).
  std::optional<SourceIndex> missing_source;
  // (source, queue id) of every record the chain went through, for de-duplication.
  std::vector<std::pair<SourceIndex, std::string>> records;
  // The detecting host's record of the message the trace starts from, when it found one
  // message (not several envelope candidates): its queue id and Message-ID as logged ("" when
  // not kept), and what the host's MTA did with it on a verdict.
  std::string detector_queue_id;
  std::string detector_message_id;
  MtaAction detector_action = MtaAction::kNone;
};

// Stateless apart from its references; cheap to construct.
class HopTracer {
 public:
  HopTracer(const MailIndex& index, const Topology& topology, const CorrelationSettings& config)
      : index_(index), topology_(topology), config_(config) {}

  TraceOutcome trace(const DetectionFacts& detection) const;

 private:
  struct Chain;
  struct Step;
  using Recipients = std::vector<TextHash>;
  Chain walk(const MessageRecord* record, HopLink link, const Recipients& rcpts,
             std::vector<RecordId> visited, int depth, int& budget) const;
  Step step(const MessageRecord& record, const Recipients& rcpts) const;
  // `verdicts`: the detection, when the candidates are on its own host and its verdicts on
  // them count; nullptr elsewhere.
  std::vector<const MessageRecord*> envelope_candidates(
      SourceIndex source, TextHash sender, const Recipients& rcpts, TimePoint t,
      bool use_delivery_time, RecordId exclude, const DetectionFacts* verdicts = nullptr) const;
  Chain branch(const std::vector<const MessageRecord*>& candidates, HopLink link,
               const Recipients& rcpts, const std::vector<RecordId>& visited, int depth,
               int& budget) const;
  Hop make_hop(const MessageRecord& record, HopLink link) const;

  const MailIndex& index_;
  const Topology& topology_;
  const CorrelationSettings& config_;
};

}  // namespace vtrace
