#include "policy/policy_config.h"

#include "config/config.h"

namespace steward::policy {

Result<PolicyConfig> ParsePolicyConfig(const std::string& file, const YAML::Node& root) {
  using config::ErrorAt;
  PolicyConfig pc;
  if (root && root.IsMap()) {
    YAML::Node deployment = root["deployment"];
    if (deployment) {
      if (!deployment.IsMap()) return ErrorAt(file, deployment, "`deployment` must be a mapping");
      STEWARD_ASSIGN_OR_RETURN(pc.deployment_commercial,
                               config::GetBool(file, deployment, "commercial", false));
    }
  }
  YAML::Node node = root && root.IsMap() ? root["policy"] : YAML::Node();
  if (!node) return pc;
  pc.configured = true;
  if (!node.IsMap()) return ErrorAt(file, node, "`policy` must be a mapping with `files` or `dir`");
  for (auto it = node.begin(); it != node.end(); ++it) {
    std::string key = it->first.as<std::string>("");
    if (key != "files" && key != "dir" && key != "watch" && key != "poll_ms" &&
        key != "subject_flags" && key != "approval_ttl_hours" && key != "cli_requires_key") {
      return ErrorAt(file, it->first,
                     "unknown key `policy." + key +
                         "` (known: files, dir, watch, poll_ms, subject_flags, "
                         "approval_ttl_hours, cli_requires_key)");
    }
  }
  STEWARD_ASSIGN_OR_RETURN(pc.paths, config::GetStringList(file, node, "files", {}));
  STEWARD_ASSIGN_OR_RETURN(std::string dir, config::GetString(file, node, "dir", ""));
  if (!dir.empty()) pc.paths.push_back(dir);
  if (pc.paths.empty()) {
    return ErrorAt(file, node,
                   "`policy` needs `files` or `dir` (remove the key for the built-in default)");
  }
  STEWARD_ASSIGN_OR_RETURN(pc.watch, config::GetBool(file, node, "watch", true));
  STEWARD_ASSIGN_OR_RETURN(pc.poll_ms, config::GetInt(file, node, "poll_ms", 1000));
  if (pc.poll_ms < 50 || pc.poll_ms > 3'600'000) {
    return ErrorAt(file, node["poll_ms"], "`poll_ms` must be 50..3600000");
  }
  STEWARD_ASSIGN_OR_RETURN(int64_t ttl_hours, config::GetInt(file, node, "approval_ttl_hours", 24));
  if (ttl_hours < 1 || ttl_hours > 720) {
    return ErrorAt(file, node["approval_ttl_hours"], "`approval_ttl_hours` must be 1..720");
  }
  pc.approval_ttl_ms = ttl_hours * 3'600'000;
  STEWARD_ASSIGN_OR_RETURN(pc.cli_requires_key,
                           config::GetBool(file, node, "cli_requires_key", false));
  YAML::Node flags = node["subject_flags"];
  if (flags) {
    if (!flags.IsMap()) return ErrorAt(file, flags, "`subject_flags` must map subjects to lists");
    for (auto it = flags.begin(); it != flags.end(); ++it) {
      std::string subject = it->first.as<std::string>("");
      // Copy out of the iterator's proxy: ranging over `it->second` directly
      // would iterate a member of a destroyed temporary.
      const YAML::Node subject_flags = it->second;
      if (!subject_flags.IsSequence()) {
        return ErrorAt(file, subject_flags, "flags of subject `" + subject + "` must be a list");
      }
      std::vector<std::string> list;
      for (const auto& f : subject_flags) {
        if (!f.IsScalar()) return ErrorAt(file, f, "a subject flag must be a string");
        list.push_back(f.as<std::string>());
      }
      pc.subject_flags[subject] = std::move(list);
    }
  }
  return pc;
}

}  // namespace steward::policy
