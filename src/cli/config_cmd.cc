// steward config default|check: the embedded default configuration, and
// validation of a config file without starting anything.
#include <stdlib.h>

#include <filesystem>
#include <iostream>
#include <memory>

#include "cli/command.h"
#include "config/config.h"
#include "gateway/gateway.h"
#include "identity/key_store.h"
#include "steward/clock.h"
#include "steward/store.h"
#include "upstream/upstream_client.h"

namespace steward::cli {
namespace {

// Builds every stage of the pipeline, so a section `serve` would refuse
// (`scan:`, `policy:`, `audit:`, ...) is refused here too, with the same
// message. The stages are built against a scratch data dir and store that
// are removed afterwards (under $TMPDIR, else /tmp): nothing the gateway owns is touched, and the
// one file a stage may create at a configured path (scan.hash_key_file) is created in the scratch
// dir instead.
Status CheckPipeline(config::Config config, std::vector<std::string>* warnings) {
  std::error_code tmp_error;
  const std::filesystem::path tmp = std::filesystem::temp_directory_path(tmp_error);
  std::string scratch =
      ((tmp_error ? std::filesystem::path("/tmp") : tmp) / "steward-config-check-XXXXXX").string();
  if (!::mkdtemp(scratch.data())) {
    return Unavailable("cannot create a scratch directory for the check: " + scratch);
  }
  struct RemoveScratch {
    std::string dir;
    ~RemoveScratch() {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  } remove_scratch{scratch};
  config.data_dir = scratch;
  config.store_url = "sqlite:" + scratch + "/steward.db";
  if (YAML::Node scan = config.root["scan"]; scan.IsMap() && scan["hash_key_file"]) {
    scan["hash_key_file"] = scratch + "/scan_hash.key";
  }
  STEWARD_ASSIGN_OR_RETURN(auto db, OpenDatabase(config.store_url));
  STEWARD_ASSIGN_OR_RETURN(auto keys,
                           identity::KeyStore::Open(*db, config.data_dir, SystemClock::Instance()));
  ServiceRegistry services;
  services.Put(std::shared_ptr<identity::KeyStore>(std::move(keys)));
  services.Put(std::make_shared<upstream::UpstreamSet>(config.upstreams, SystemClock::Instance()));
  StageEnv env;
  env.db = db.get();
  env.clock = &SystemClock::Instance();
  env.data_dir = config.data_dir;
  env.root_config = &config.root;
  env.config_path = config.path;
  env.services = &services;
  auto stages = gateway::BuildStages(config, env, warnings);
  return stages.ok() ? Status::Ok() : stages.status();
}

void AddConfigCommands(CLI::App& app, GlobalOptions& g, int* exit_code) {
  auto* cfg = app.add_subcommand("config", "the configuration: print the embedded default, check a file");
  cfg->require_subcommand(1);
  cfg->add_subcommand("default", "print the embedded default configuration")->callback([exit_code] {
    std::cout << config::EmbeddedDefaultConfig();
    *exit_code = kExitOk;
  });
  cfg->add_subcommand("check",
                      "load the --config file (or the default), build every stage of its "
                      "pipeline, and report the first problem")
      ->callback([&g, exit_code] {
        auto c = config::LoadConfigForCli(g.config_path);
        if (!c.ok()) {
          *exit_code = Fail(c.status());
          return;
        }
        std::vector<std::string> warnings;
        if (Status s = CheckPipeline(*c, &warnings); !s.ok()) {
          *exit_code = Fail(s);
          return;
        }
        for (const auto& w : warnings) std::cerr << "steward: warning: " << w << "\n";
        std::cout << c->path << ": ok\n";
        *exit_code = kExitOk;
      });
}

STEWARD_REGISTER_COMMANDS(AddConfigCommands);

}  // namespace
}  // namespace steward::cli
