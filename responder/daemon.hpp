// The daemon's life: load, serve, deliver, reload on SIGHUP, stop on SIGINT/SIGTERM.
#pragma once

#include <string>

namespace vtrace::responder {

// Loads `config_path` and its secrets; prints "<file>: OK" or the diagnostics to stderr.
// Returns the process exit code (0 or 1).
int check_config(const std::string& config_path);

// Runs until SIGINT or SIGTERM; returns the process exit code.
int run_daemon(const std::string& config_path);

}  // namespace vtrace::responder
