// vtrace-correlator: argument parsing and wiring only; the work is in vtrace_correlator_core.
#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <ctime>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "common/version.hpp"
#include "module/input/live.hpp"
#include "module/input/replay.hpp"
#include "module/output/incident_text.hpp"
#include "module/settings.hpp"
#include "module/trace/correlator.hpp"

namespace {

class StreamSink final : public vtrace::IncidentSink {
 public:
  StreamSink(std::ostream& out, bool text) : out_(out), text_(text) {}
  void deliver(const vtrace::Incident& incident) override {
    if (text_) {
      vtrace::write_incident_text(out_, incident);
    } else {
      out_ << vtrace::to_json(incident) << '\n';
    }
  }

 private:
  std::ostream& out_;
  bool text_;
};

}  // namespace

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  CLI::App app{
      "vtrace-correlator: traces virus mails with forged senders back to the host that sent "
      "them, hop by hop through your own mail relays.\n"
      "Replay archived logs:  vtrace-correlator --config vtrace.yaml --replay [SOURCE=]FILE...\n"
      "Live (rsyslog omprog): vtrace-correlator --config vtrace.yaml\n"
      "Live (syslog-ng program()): vtrace-correlator --config vtrace.yaml --input syslog-ng"};
  std::string config_path = "/etc/vtrace/vtrace.yaml";
  bool check_config = false;
  bool replay = false;
  int year = 0;
  std::string timezone;
  std::string format = "json";
  std::vector<std::string> files;
  std::string input = "rsyslog";
  app.set_version_flag("--version", std::string("vtrace-correlator ") + vtrace::kVersion);
  app.add_option("-c,--config", config_path, "configuration file")->capture_default_str();
  app.add_flag("--check-config", check_config, "validate the configuration and exit 0 or 1");
  app.add_flag("--replay", replay, "trace the detections in archived log files");
  app.add_option("--year", year, "year of BSD syslog timestamps (default: inferred)")
      ->check(CLI::Range(1990, 2200));
  app.add_option("--timezone", timezone,
                 "IANA zone of BSD, exim and ISVW timestamps (default: configuration, then TZ)");
  app.add_option("--format", format, "replay output: json (incident v1 lines) or text")
      ->check(CLI::IsMember({"json", "text"}));
  app.add_option("--input", input,
                 "live input: rsyslog (omprog, an OK per line) or syslog-ng (program(), no "
                 "answers; on SIGTERM the pipe is read to its end)")
      ->check(CLI::IsMember({"rsyslog", "syslog-ng"}))
      ->capture_default_str();
  app.add_option("files", files, "[SOURCE=]FILE... log files, plain or .gz");
  CLI11_PARSE(app, argc, argv);
  if (input == "syslog-ng" && !check_config && !replay) {
    // What syslog-ng has written into the pipe counts as delivered, and is lost if syslog-ng
    // stops while no correlator reads it (one that cannot start: a bad vtrace.yaml). A pipe of
    // one page (instead of 64 KiB) holds little; first thing, so that a refused start shrinks
    // it too. Best effort: it fails (EBUSY) while the pipe holds more than a page.
    ::fcntl(STDIN_FILENO, F_SETPIPE_SZ, static_cast<int>(vtrace::kSyslogNgReadBytes));
  }

  vtrace::Diagnostics diagnostics;
  auto settings = vtrace::load_correlator_settings(config_path, diagnostics);
  if (!settings) {
    const bool live = !check_config && !replay;
    if (live) vtrace::refuse_to_start("the configuration " + config_path + " has errors:");
    std::cerr << diagnostics.render();
    return 1;
  }
  if (check_config) {
    std::cerr << config_path << ": OK\n";
    return 0;
  }
  if (!timezone.empty() && !vtrace::LocalTimeResolver::zone_exists(timezone)) {
    std::cerr << "vtrace-correlator: unknown time zone '" << timezone << "'\n";
    return 2;
  }
  if (!replay) {
    vtrace::LiveInputs live{config_path, std::move(*settings)};
    if (input == "syslog-ng") live.feed = vtrace::Feed::kSyslogNgProgram;
    return vtrace::run_live(std::move(live));
  }
  if (files.empty()) {
    std::cerr << "vtrace-correlator: --replay needs at least one log file\n";
    return 2;
  }
  StreamSink sink(std::cout, format == "text");
  vtrace::Correlator correlator(*settings, sink, timezone);
  std::vector<vtrace::ReplayInput> inputs;
  for (const auto& f : files) inputs.push_back(vtrace::parse_replay_argument(f));
  vtrace::ReplayOptions options;
  options.year = year;
  options.timezone = timezone.empty() ? settings->timezone : timezone;
  options.reference_time =
      static_cast<vtrace::TimePoint>(std::time(nullptr)) * vtrace::kMicrosPerSecond;
  options.progress = isatty(STDERR_FILENO) != 0;
  const auto started = std::chrono::steady_clock::now();
  const auto summary = vtrace::run_replay(correlator, inputs, options, std::cerr);
  std::cout.flush();
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  vtrace::print_summary(std::cerr, summary, correlator, secs);
  return summary.errors.empty() ? 0 : 1;
}
