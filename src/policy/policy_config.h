// The `policy:` section of the gateway config:
//
//   policy:
//     files: [policies/base.policy, ...]   # and/or
//     dir: examples/policies                # every *.policy in it
//     watch: true                           # reload on file change (default true)
//     poll_ms: 1000                         # how often files are checked
//     subject_flags:                        # flags per data subject
//       alice@example.com: [no-store]
//     approval_ttl_hours: 24                # pending two-person approvals expire
//     cli_requires_key: false               # true: state-changing admin CLI
//                                           # commands need --key (policy decides)
//   deployment:
//     commercial: true                      # context.deployment.commercial
//
// Without a `policy:` key the built-in default policy applies.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "steward/status.h"

namespace steward::policy {

struct PolicyConfig {
  bool configured = false;         // the config has a `policy:` key
  std::vector<std::string> paths;  // files, then dir
  bool watch = true;
  int64_t poll_ms = 1000;
  std::map<std::string, std::vector<std::string>> subject_flags;
  bool deployment_commercial = false;
  int64_t approval_ttl_ms = 24 * 3'600'000;
  bool cli_requires_key = false;
};

// `file` names the config in errors ("steward.yaml:12:3: ...").
Result<PolicyConfig> ParsePolicyConfig(const std::string& file, const YAML::Node& root);

}  // namespace steward::policy
