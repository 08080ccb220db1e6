// vtrace-correlator: argument parsing and wiring only; the work is in vtrace_correlator_core.
#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <csignal>
#include <cstring>
#include <ctime>
#include <iostream>

#include "module/correlator.hpp"
#include "module/incident_text.hpp"
#include "module/omprog_loop.hpp"
#include "module/replay.hpp"
#include "module/settings.hpp"

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

// Appends each incident to the configured JSON-lines file and syncs it before returning, so
// an incident is on disk before rsyslog gets the "OK" for the line that completed it.
class JsonLinesFileSink final : public vtrace::IncidentSink {
 public:
  explicit JsonLinesFileSink(const std::string& path) {
    if (!path.empty()) fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (!path.empty() && fd_ < 0) {
      std::cerr << "vtrace-correlator: cannot open " << path << ": " << std::strerror(errno)
                << "; incidents go to stderr\n";
    }
  }
  ~JsonLinesFileSink() override {
    if (fd_ >= 0) ::close(fd_);
  }
  void deliver(const vtrace::Incident& incident) override {
    const std::string line = vtrace::to_json(incident) + "\n";
    if (fd_ < 0) {
      std::cerr << "incident " << line;
      return;
    }
    std::size_t written = 0;
    while (written < line.size()) {
      const ssize_t n = ::write(fd_, line.data() + written, line.size() - written);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      written += static_cast<std::size_t>(n);
    }
    ::fdatasync(fd_);
  }

 private:
  int fd_ = -1;
};

volatile std::sig_atomic_t g_stop = 0;

int run_live(const vtrace::CorrelatorSettings& settings) {
  std::signal(SIGTERM, [](int) { g_stop = 1; });
  std::signal(SIGINT, [](int) { g_stop = 1; });
  std::signal(SIGPIPE, SIG_IGN);
  JsonLinesFileSink sink(settings.output.jsonl_path);
  vtrace::Correlator correlator(settings, sink);
  vtrace::RsyslogRecord record;
  auto now = [] {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  std::uint64_t malformed = 0;
  vtrace::run_omprog_loop(
      STDIN_FILENO, STDOUT_FILENO,
      [&](std::string_view line) {
        record = {};
        if (!vtrace::parse_rsyslog_json(line, record) ||
            !vtrace::ingest_rsyslog_record(correlator, record)) {
          if (malformed++ < 10) std::cerr << "vtrace-correlator: malformed input line ignored\n";
        }
        correlator.advance(now());
      },
      [&] {
        correlator.advance(now());
        return g_stop == 0;
      });
  correlator.finish();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  CLI::App app{
      "vtrace-correlator: traces virus mails with forged senders back to the host that sent "
      "them, hop by hop through your own mail relays.\n"
      "Replay archived logs:  vtrace-correlator --config vtrace.yaml --replay [SOURCE=]FILE...\n"
      "Live (rsyslog omprog): vtrace-correlator --config vtrace.yaml"};
  std::string config_path = "/etc/vtrace/vtrace.yaml";
  bool check_config = false;
  bool replay = false;
  int year = 0;
  std::string timezone;
  std::string format = "json";
  std::vector<std::string> files;
  app.add_option("-c,--config", config_path, "configuration file")->capture_default_str();
  app.add_flag("--check-config", check_config, "validate the configuration and exit 0 or 1");
  app.add_flag("--replay", replay, "trace the detections in archived log files");
  app.add_option("--year", year, "year of BSD syslog timestamps (default: inferred)")
      ->check(CLI::Range(1990, 2200));
  app.add_option("--timezone", timezone,
                 "IANA zone of BSD, exim and ISVW timestamps (default: configuration, then TZ)");
  app.add_option("--format", format, "replay output: json (incident v1 lines) or text")
      ->check(CLI::IsMember({"json", "text"}));
  app.add_option("files", files, "[SOURCE=]FILE... log files, plain or .gz");
  CLI11_PARSE(app, argc, argv);

  vtrace::Diagnostics diagnostics;
  auto settings = vtrace::load_correlator_settings(config_path, diagnostics);
  if (!settings) {
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
  if (!replay) return run_live(*settings);
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
