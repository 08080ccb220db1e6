// vtrace-responder: receives incidents, applies the policies, mails people.
#include <CLI/CLI.hpp>
#include <iostream>

#include "common/version.hpp"
#include "responder/daemon.hpp"

int main(int argc, char** argv) {
  CLI::App app{"vtrace-responder: acts on vtrace incidents (policies, mail, state, HTTP API)"};
  std::string config = "/etc/vtrace/responder.yaml";
  bool check = false;
  app.set_version_flag("--version", std::string("vtrace-responder ") + vtrace::kVersion);
  app.add_option("-c,--config", config, "the responder's YAML configuration")
      ->capture_default_str();
  app.add_flag("--check-config", check, "validate the configuration and secrets, then exit");
  CLI11_PARSE(app, argc, argv);
  try {
    if (check) return vtrace::responder::check_config(config);
    return vtrace::responder::run_daemon(config);
  } catch (const std::exception& e) {
    std::cerr << "vtrace-responder: " << e.what() << '\n';
    return 1;
  }
}
