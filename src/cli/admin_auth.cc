#include "cli/admin_auth.h"

#include <pwd.h>
#include <unistd.h>

#include <iostream>

#include "common/json_text.h"
#include "identity/key_store.h"
#include "policy/policy_config.h"
#include "steward/admin_events.h"
#include "steward/clock.h"

namespace steward::cli {

namespace json = boost::json;

void AddAdminKeyOption(CLI::App* cmd, std::string* key) {
  cmd->add_option("--key", *key,
                  "act as this admin API key (or STEWARD_ADMIN_KEY): the policy decides, "
                  "including its two-person rule");
}

std::string LocalCliActor(const std::string& as) {
  if (!as.empty()) return "cli:" + as;
  if (const passwd* pw = ::getpwuid(::geteuid()); pw && pw->pw_name) {
    return std::string("cli:") + pw->pw_name;
  }
  const char* user = std::getenv("USER");
  return std::string("cli:") + (user ? user : "unknown");
}

int AdminCliAuth::FailExit(const Status& s) {
  return s.code() == StatusCode::kPermissionDenied || s.code() == StatusCode::kAlreadyExists
             ? kExitCheckFailed
             : kExitBadInput;
}

Result<std::unique_ptr<AdminCliAuth>> AdminCliAuth::Authorize(const config::Config& config,
                                                              Database& db, std::string key,
                                                              const policy::AdminAction& action) {
  std::unique_ptr<AdminCliAuth> auth(new AdminCliAuth());
  auth->action_ = action;
  if (key.empty()) {
    if (const char* env = std::getenv("STEWARD_ADMIN_KEY")) key = env;
  }
  STEWARD_ASSIGN_OR_RETURN(policy::PolicyConfig pc,
                           policy::ParsePolicyConfig(config.path, config.root));
  if (key.empty()) {
    if (pc.cli_requires_key) {
      return PermissionDenied(action.action +
                              " needs --key ADMIN_KEY (or STEWARD_ADMIN_KEY): "
                              "policy.cli_requires_key is set");
    }
    auth->actor_ = LocalCliActor();
    auth->outcome_.execute = true;
    return auth;
  }
  auth->with_key_ = true;
  const Clock& clock = SystemClock::Instance();
  STEWARD_ASSIGN_OR_RETURN(auto keys, identity::KeyStore::Open(db, config.data_dir, clock));
  auto record = keys->Authenticate(key);
  if (!record.ok()) return Unauthenticated("--key: invalid API key (unknown or revoked)");
  Principal who;
  who.authenticated = true;
  who.key_id = record->id;
  who.name = record->name;
  who.role = record->role;
  who.team = record->team;
  policy::RequestDefaults defaults;
  defaults.deployment_commercial = pc.deployment_commercial;
  auth->engine_ = std::make_unique<policy::PolicyEngine>(pc.paths, defaults);
  if (!auth->engine_->bundle()) {
    return FailedPrecondition("no policy bundle could be loaded: " + auth->engine_->load_error());
  }
  std::string data_dir = config.data_dir;
  auth->gate_ = std::make_unique<policy::AdminGate>(
      *auth->engine_, db, clock, pc.approval_ttl_ms,
      [&db, data_dir](const std::string& event, const std::string& actor, const std::string& target,
                      json::object details) {
        auto recorded = RecordAdminEvent(db, data_dir, {event, actor, target, std::move(details)});
        if (!recorded.ok()) {
          std::cerr << "steward: warning: " << event
                    << " not audited: " << recorded.status().message() << "\n";
        }
      });
  STEWARD_RETURN_IF_ERROR(auth->gate_->Init());
  STEWARD_ASSIGN_OR_RETURN(auth->outcome_, auth->gate_->Submit(who, action));
  auth->actor_ = "key:" + who.key_id;
  return auth;
}

std::vector<std::string> AdminCliAuth::approver_actors() const {
  if (!with_key_) return {actor_};
  std::vector<std::string> out;
  for (const auto& id : outcome_.approvers) out.push_back("key:" + id);
  return out;
}

json::array AdminCliAuth::ApproversJson() const {
  json::array out;
  for (const auto& a : approver_actors()) out.emplace_back(a);
  return out;
}

std::string AdminCliAuth::PendingMessage() const {
  return policy::PendingMessage(outcome_, action_) + " with their own --key";
}

json::object AdminCliAuth::PendingJson() const {
  return json::object{{"status", "pending_approval"},  {"pending_id", outcome_.pending_id},
                      {"action", action_.action},      {"approvals", outcome_.approvals},
                      {"required", outcome_.required}, {"approved_by", ApproversJson()}};
}

void AdminCliAuth::Finish(const Status& result) {
  if (!gate_ || outcome_.pending_id.empty()) return;
  if (Status s = gate_->Finish(outcome_.pending_id, result); !s.ok()) {
    std::cerr << "steward: warning: pending action " << outcome_.pending_id
              << " outcome not recorded: " << s.message() << "\n";
  }
}

std::unique_ptr<AdminCliAuth> AuthorizeOrReport(const config::Config& config, Database& db,
                                                const std::string& key,
                                                const policy::AdminAction& action, int* exit_code,
                                                bool json_pending) {
  auto auth = AdminCliAuth::Authorize(config, db, key, action);
  if (!auth.ok()) {
    *exit_code = Fail(auth.status(), AdminCliAuth::FailExit(auth.status()));
    return nullptr;
  }
  if (!(*auth)->execute()) {
    std::cerr << "steward: " << (*auth)->PendingMessage() << "\n";
    if (json_pending) std::cout << JsonText((*auth)->PendingJson()) << "\n";
    *exit_code = kExitOk;
    return nullptr;
  }
  return std::move(*auth);
}

}  // namespace steward::cli
