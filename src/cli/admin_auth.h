// Authorisation of state-changing admin CLI commands, shared by every group
// (keys, models, dsar, retention): `--key ADMIN_KEY` (or STEWARD_ADMIN_KEY)
// makes the key the acting admin, decided by the configured policy bundle
// and its two-person rule (policy::AdminGate). Without a key the local
// operator ("cli:<unix user>") acts unchecked, as an operator with access to
// the store could anyway — unless `policy.cli_requires_key: true`, which
// refuses keyless admin commands.
#pragma once

#include <boost/json.hpp>
#include <memory>
#include <string>
#include <vector>

#include "cli/command.h"
#include "config/config.h"
#include "policy/approvals.h"
#include "steward/store.h"

namespace steward::cli {

// Adds `--key` to an admin subcommand.
void AddAdminKeyOption(CLI::App* cmd, std::string* key);

// "cli:<unix user>" (or "cli:<as>").
std::string LocalCliActor(const std::string& as = "");

class AdminCliAuth {
 public:
  // Decides `action` for the CLI caller. `key`: the --key value; empty falls
  // back to STEWARD_ADMIN_KEY, then to the local operator. Errors:
  // Unauthenticated (bad key), PermissionDenied (policy forbids, or a key is
  // required), AlreadyExists (this key already approved the pending action).
  static Result<std::unique_ptr<AdminCliAuth>> Authorize(const config::Config& config, Database& db,
                                                         std::string key,
                                                         const policy::AdminAction& action);
  // Exit code for an Authorize error: 1 refused (policy, same approver), 2 bad input.
  static int FailExit(const Status& status);

  bool execute() const { return outcome_.execute; }
  const std::string& actor() const { return actor_; }
  // "key:<id>" of every approver in order; {actor()} without approvals.
  std::vector<std::string> approver_actors() const;
  boost::json::array ApproversJson() const;
  // Stderr text for a held action; the JSON for --json output.
  std::string PendingMessage() const;
  boost::json::object PendingJson() const;
  // Records how the executed action went (no-op without a pending action).
  void Finish(const Status& result);

 private:
  AdminCliAuth() = default;
  policy::AdminAction action_;
  policy::GateOutcome outcome_;
  std::string actor_;
  bool with_key_ = false;
  std::unique_ptr<policy::PolicyEngine> engine_;
  std::unique_ptr<policy::AdminGate> gate_;
};

// Authorize() for a command callback: on a refusal prints it and sets
// *exit_code (1 or 2); on a held action prints the pending message on stderr
// (and PendingJson() on stdout when `json_pending`) and sets *exit_code 0.
// Returns null in both cases: the command must stop.
std::unique_ptr<AdminCliAuth> AuthorizeOrReport(const config::Config& config, Database& db,
                                                const std::string& key,
                                                const policy::AdminAction& action, int* exit_code,
                                                bool json_pending = false);

}  // namespace steward::cli
