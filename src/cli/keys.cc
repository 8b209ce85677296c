// steward keys create|list|revoke|rotate-kek
#include <iostream>

#include "audit/dsar.h"
#include "cli/admin_auth.h"
#include "cli/command.h"
#include "common/json_text.h"
#include "config/config.h"
#include "identity/key_store.h"
#include "steward/admin_events.h"

namespace steward::cli {
namespace {

namespace json = boost::json;

struct KeysEnv {
  config::Config config;
  std::unique_ptr<Database> db;
  std::unique_ptr<identity::KeyStore> keys;
};

Result<KeysEnv> OpenKeys(const GlobalOptions& g) {
  KeysEnv env;
  STEWARD_ASSIGN_OR_RETURN(env.config, config::LoadConfigForCli(g.config_path));
  STEWARD_RETURN_IF_ERROR(config::EnsureDataDir(env.config));
  STEWARD_ASSIGN_OR_RETURN(env.db, OpenDatabase(env.config.store_url));
  STEWARD_ASSIGN_OR_RETURN(env.keys, identity::KeyStore::Open(*env.db, env.config.data_dir, SystemClock::Instance()));
  return env;
}

void AddKeysCommands(CLI::App& app, GlobalOptions& g, int* exit_code) {
  auto* keys = app.add_subcommand("keys", "API keys: create, list, revoke (secrets are printed once)");
  keys->require_subcommand(1);

  auto* create = keys->add_subcommand("create", "create a key; prints the secret as the only stdout line");
  auto spec = std::make_shared<identity::KeySpec>();
  auto as_json = std::make_shared<bool>(false);
  create->add_option("--name", spec->name, "a name for the key (who uses it)")->required();
  create->add_option("--role", spec->role, "role: user (default), admin, or any policy role")->default_val("user");
  create->add_option("--team", spec->team, "team the key belongs to");
  create->add_option("--rpm", spec->rpm, "requests per minute (0 = default limit)")->check(CLI::NonNegativeNumber);
  create->add_option("--tpm", spec->tpm, "tokens per minute (0 = default limit)")->check(CLI::NonNegativeNumber);
  create->add_flag("--json", *as_json, "print the key's details as JSON (secret included)");
  auto create_key = std::make_shared<std::string>();
  AddAdminKeyOption(create, create_key.get());
  create->callback([&g, exit_code, spec, as_json, create_key] {
    auto env = OpenKeys(g);
    if (!env.ok()) { *exit_code = Fail(env.status()); return; }
    // Policy authorisation (and the two-person rule) when acting with --key.
    policy::AdminAction action{
        "keys.create",
        {{"name", spec->name}, {"role", spec->role}},
        {{"name", spec->name}, {"role", spec->role}, {"team", spec->team},
         {"rpm", std::to_string(spec->rpm)}, {"tpm", std::to_string(spec->tpm)}},
        "name=" + spec->name + " role=" + spec->role};
    auto auth = AdminCliAuth::Authorize(env->config, *env->db, *create_key, action);
    if (!auth.ok()) { *exit_code = Fail(auth.status(), AdminCliAuth::FailExit(auth.status())); return; }
    if (!(*auth)->execute()) {
      std::cerr << "steward: " << (*auth)->PendingMessage() << "; the secret is printed to that admin\n";
      if (*as_json) std::cout << JsonText((*auth)->PendingJson()) << "\n";
      *exit_code = kExitOk;
      return;
    }
    auto created = env->keys->Create(*spec);
    (*auth)->Finish(created.status());
    if (!created.ok()) { *exit_code = Fail(created.status()); return; }
    auto audited = RecordAdminEvent(*env->db, env->config.data_dir,
                                    {"keys.create", (*auth)->actor(), created->record.id,
                                     json::object{{"name", spec->name}, {"role", spec->role}, {"rpm", spec->rpm}, {"tpm", spec->tpm},
                                                  {"approved_by", (*auth)->ApproversJson()}}});
    if (!audited.ok()) std::cerr << "steward: warning: key created but not audited: " << audited.status().message() << "\n";
    if (*as_json) {
      json::object o{{"id", created->record.id}, {"name", created->record.name}, {"role", created->record.role},
                     {"team", created->record.team}, {"rpm", created->record.rpm}, {"tpm", created->record.tpm},
                     {"created_ms", created->record.created_ms}, {"secret", created->secret}};
      std::cout << JsonText(o) << "\n";
    } else {
      std::cout << created->secret << "\n";
    }
    *exit_code = kExitOk;
  });

  auto* list = keys->add_subcommand("list", "list keys (never their secrets)");
  auto list_json = std::make_shared<bool>(false);
  list->add_flag("--json", *list_json, "JSON output");
  list->callback([&g, exit_code, list_json] {
    auto env = OpenKeys(g);
    if (!env.ok()) { *exit_code = Fail(env.status()); return; }
    auto all = env->keys->List();
    if (!all.ok()) { *exit_code = Fail(all.status()); return; }
    if (*list_json) {
      json::array arr;
      for (const auto& k : *all) {
        arr.push_back(json::object{{"id", k.id}, {"name", k.name}, {"role", k.role}, {"team", k.team}, {"rpm", k.rpm},
                                   {"tpm", k.tpm}, {"prefix", k.prefix}, {"created_ms", k.created_ms},
                                   {"revoked", k.revoked_ms != 0}});
      }
      std::cout << JsonText(json::object{{"keys", std::move(arr)}}) << "\n";
    } else {
      std::printf("%-22s %-20s %-10s %-8s %-8s %s\n", "ID", "NAME", "ROLE", "RPM", "TPM", "STATUS");
      for (const auto& k : *all) {
        std::printf("%-22s %-20s %-10s %-8lld %-8lld %s\n", k.id.c_str(), k.name.c_str(), k.role.c_str(),
                    static_cast<long long>(k.rpm), static_cast<long long>(k.tpm), k.revoked_ms ? "revoked" : "active");
      }
    }
    *exit_code = kExitOk;
  });

  auto* revoke = keys->add_subcommand("revoke", "revoke a key by id");
  auto id = std::make_shared<std::string>();
  revoke->add_option("ID", *id, "key id (from keys list)")->required();
  auto revoke_key = std::make_shared<std::string>();
  AddAdminKeyOption(revoke, revoke_key.get());
  revoke->callback([&g, exit_code, id, revoke_key] {
    auto env = OpenKeys(g);
    if (!env.ok()) { *exit_code = Fail(env.status()); return; }
    policy::AdminAction action{"keys.revoke", {{"name", *id}}, {{"id", *id}}, *id};
    if (auto all = env->keys->List(); all.ok()) {
      for (const auto& k : *all) {
        if (k.id == *id) action.resource["role"] = k.role;  // policy may guard admin keys
      }
    }
    auto auth = AdminCliAuth::Authorize(env->config, *env->db, *revoke_key, action);
    if (!auth.ok()) { *exit_code = Fail(auth.status(), AdminCliAuth::FailExit(auth.status())); return; }
    if (!(*auth)->execute()) {
      std::cerr << "steward: " << (*auth)->PendingMessage() << "\n";
      std::cout << "pending " << *id << "\n";
      *exit_code = kExitOk;
      return;
    }
    Status s = env->keys->Revoke(*id);
    (*auth)->Finish(s);
    if (!s.ok()) { *exit_code = Fail(s); return; }
    (void)RecordAdminEvent(*env->db, env->config.data_dir,
                           {"keys.revoke", (*auth)->actor(), *id, json::object{{"approved_by", (*auth)->ApproversJson()}}});
    std::cout << "revoked " << *id << "\n";
    *exit_code = kExitOk;
  });

  auto* rotate = keys->add_subcommand("rotate-kek", "re-wrap every payload data key under a new key-encryption key");
  auto rotate_key = std::make_shared<std::string>();
  AddAdminKeyOption(rotate, rotate_key.get());
  rotate->callback([&g, exit_code, rotate_key] {
    auto env = OpenKeys(g);
    if (!env.ok()) { *exit_code = Fail(env.status()); return; }
    auto auth = AdminCliAuth::Authorize(env->config, *env->db, *rotate_key, {"keys.rotate_kek", {}, {}, "payload key-encryption key"});
    if (!auth.ok()) { *exit_code = Fail(auth.status(), AdminCliAuth::FailExit(auth.status())); return; }
    if (!(*auth)->execute()) {
      std::cerr << "steward: " << (*auth)->PendingMessage() << "\n";
      *exit_code = kExitOk;
      return;
    }
    Status s = audit::RotateKek(env->config);
    (*auth)->Finish(s);
    if (!s.ok()) { *exit_code = Fail(s); return; }
    std::cout << "key-encryption key rotated\n";
    *exit_code = kExitOk;
  });
}

STEWARD_REGISTER_COMMANDS(AddKeysCommands);

}  // namespace
}  // namespace steward::cli
