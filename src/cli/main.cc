// `steward`: every command in one binary. Command groups self-register
// (see command.h).
#include <csignal>
#include <iostream>

#include "cli/command.h"

namespace steward::cli {

std::vector<CommandAdder>& CommandAdders() {
  static auto* adders = new std::vector<CommandAdder>();
  return *adders;
}

int Fail(const Status& status, int code) {
  std::cerr << "steward: " << status.message() << "\n";
  return code;
}

int Fail(const std::string& message, int code) {
  std::cerr << "steward: " << message << "\n";
  return code;
}

}  // namespace steward::cli

int main(int argc, char** argv) {
  using namespace steward::cli;
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"Steward — a governance gateway for self-hosted AI"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "steward 0.1.0");
  // Global options such as --config may follow the subcommand.
  app.fallthrough();
  GlobalOptions globals;
  app.add_option("--config", globals.config_path, "config file (YAML)");
  int exit_code = kExitOk;
  for (auto& adder : CommandAdders()) adder(app, globals, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    std::cerr << "steward: " << e.what() << "\n";
    return kExitBadInput;
  }
  return exit_code;
}
