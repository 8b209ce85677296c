// steward config default|check: the embedded default configuration, and
// validation of a config file without starting anything.
#include <iostream>

#include "cli/command.h"
#include "config/config.h"

namespace steward::cli {
namespace {

void AddConfigCommands(CLI::App& app, GlobalOptions& g, int* exit_code) {
  auto* cfg = app.add_subcommand("config", "the configuration: print the embedded default, check a file");
  cfg->require_subcommand(1);
  cfg->add_subcommand("default", "print the embedded default configuration")->callback([exit_code] {
    std::cout << config::EmbeddedDefaultConfig();
    *exit_code = kExitOk;
  });
  cfg->add_subcommand("check", "load the --config file (or the default) and report the first problem")
      ->callback([&g, exit_code] {
        auto c = config::LoadConfigForCli(g.config_path);
        if (!c.ok()) {
          *exit_code = Fail(c.status());
          return;
        }
        std::cout << c->path << ": ok\n";
        *exit_code = kExitOk;
      });
}

STEWARD_REGISTER_COMMANDS(AddConfigCommands);

}  // namespace
}  // namespace steward::cli
