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

namespace {

std::string CommandNames(const CLI::App& at) {
  std::string names;
  for (const CLI::App* sub : at.get_subcommands(std::function<bool(const CLI::App*)>{})) {
    if (!names.empty()) names += ", ";
    names += sub->get_name();
  }
  return names;
}

// CLI11 says "A subcommand is required" both for `steward keys` and for
// `steward keys frobnicate`: name what was typed and what exists instead.
std::string MissingCommandMessage(const CLI::App& app, int argc, char** argv) {
  const CLI::App* at = &app;
  std::string path = "steward";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.starts_with("-")) {
      if (arg == "--config") ++i;  // the one option taking a value before a command
      continue;
    }
    auto named = at->get_subcommands(std::function<bool(const CLI::App*)>(
        [&](const CLI::App* s) { return s->check_name(arg); }));
    if (named.empty()) {
      return "unknown command `" + arg + "` for `" + path + "`; commands: " + CommandNames(*at);
    }
    at = named.front();
    path += " " + at->get_name();
  }
  return "`" + path + "` needs a command: " + CommandNames(*at);
}

}  // namespace
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
    if (dynamic_cast<const CLI::RequiredError*>(&e) &&
        std::string_view(e.what()).find("subcommand") != std::string_view::npos) {
      return Fail(MissingCommandMessage(app, argc, argv), kExitBadInput);
    }
    std::cerr << "steward: " << e.what() << "\n";
    return kExitBadInput;
  }
  return exit_code;
}
