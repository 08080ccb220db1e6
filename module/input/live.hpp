// Live mode: the correlator under rsyslog's omprog. Every accepted line is journalled before it
// is confirmed; at start-up (and on SIGHUP with a new configuration) the journal is replayed
// into a fresh correlator, which rebuilds the recent-mail window and the held detections. The
// incidents go into the durable outbox in <state_dir>/correlator.db, which a sender thread
// delivers to the responder.
#pragma once

#include <unistd.h>

#include <string>

#include "module/input/omprog_loop.hpp"
#include "module/settings.hpp"

namespace vtrace {

struct LiveInputs {
  std::string config_path;  // read again on SIGHUP
  CorrelatorSettings settings;
  int in_fd = STDIN_FILENO;    // rsyslog's lines
  int out_fd = STDOUT_FILENO;  // the "OK"s
  Feed feed = Feed::kRsyslogOmprog;
};

// Runs until the input ends (0), SIGTERM or SIGINT (0), or a batch that cannot be made durable
// or a state directory that cannot be opened (1: rsyslog restarts the correlator and sends the
// unconfirmed lines again). Installs handlers for SIGTERM, SIGINT and SIGHUP, ignores SIGPIPE.
int run_live(LiveInputs inputs);

// Says on stderr, with the time, that the correlator refuses to start, and that the collector
// (rsyslog, or the syslog-ng snippet's loop) keeps the lines and starts it again.
void refuse_to_start(const std::string& reason);

}  // namespace vtrace
