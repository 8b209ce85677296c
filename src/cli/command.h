// CLI command groups register themselves: one file per group in src/cli/
// (keys.cc, scan.cc, policy.cc, audit.cc, models.cc, ...), each with
// STEWARD_REGISTER_COMMANDS(AddXCommands). main.cc runs the registry.
//
// Exit codes (SPEC): 0 success, 1 a check failed, 2 bad usage or bad input
// with a one-line message on stderr naming what is wrong.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

#include "steward/status.h"

namespace steward::cli {

constexpr int kExitOk = 0;
constexpr int kExitCheckFailed = 1;
constexpr int kExitBadInput = 2;

struct GlobalOptions {
  std::string config_path;  // --config; empty: ./steward.yaml if present, else embedded default
};

// Adds subcommands to `app`. A subcommand's callback stores its exit code in
// *exit_code (callbacks must not throw: report errors with Fail()).
using CommandAdder = std::function<void(CLI::App& app, GlobalOptions& globals, int* exit_code)>;

std::vector<CommandAdder>& CommandAdders();

struct CommandRegistrar {
  explicit CommandRegistrar(CommandAdder adder) { CommandAdders().push_back(std::move(adder)); }
};

// Prints "steward: <message>" on stderr and returns `code`.
int Fail(const Status& status, int code = kExitBadInput);
int Fail(const std::string& message, int code = kExitBadInput);

}  // namespace steward::cli

#define STEWARD_REGISTER_COMMANDS(adder) \
  static ::steward::cli::CommandRegistrar STEWARD_CONCAT(steward_cmd_registrar_, __LINE__)(adder)
