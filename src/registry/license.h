// License identifiers and the deployment license policy.
//
// NormalizeLicense maps what model metadata says ("apache-2.0",
// "Apache License 2.0", "cc-by-nc-4.0", "llama3") to an SPDX license id, or
// a LicenseRef- id for well-known model licenses SPDX does not list. Anything
// it does not recognise stays "unknown" (with the raw text kept), because
// guessing a license is worse than admitting we do not know it.
//
// The policy (config):
//   licenses:
//     allowed: [Apache-2.0, MIT]          # when set, others are denied
//     denied: [AGPL-3.0-only]
//     require_approval: [LicenseRef-Llama-3]
//     unknown: require_approval           # allow | deny | require_approval
//   deployment:
//     commercial: true                    # non-commercial licenses are denied
#pragma once

#include <set>
#include <string>
#include <string_view>

#include "config/config.h"
#include "steward/status.h"

namespace steward::registry {

struct LicenseInfo {
  std::string id;               // SPDX id, LicenseRef-..., or "unknown"
  std::string raw;              // the text it came from
  bool spdx = false;            // `id` is on the SPDX license list
  bool non_commercial = false;  // forbids commercial use
  bool known() const { return id != "unknown"; }
};

LicenseInfo NormalizeLicense(std::string_view raw);

enum class LicenseVerdict { kAllow, kRequireApproval, kDeny };
std::string_view LicenseVerdictName(LicenseVerdict v);  // "allow", "require_approval", "deny"

struct LicenseDecision {
  LicenseVerdict verdict = LicenseVerdict::kAllow;
  std::string reason;  // human-readable, names the rule
};

struct LicensePolicy {
  std::set<std::string> allowed;  // empty: no allow-list
  std::set<std::string> denied;
  std::set<std::string> require_approval;
  LicenseVerdict unknown = LicenseVerdict::kRequireApproval;
  bool commercial = false;  // deployment.commercial

  // Reads `licenses:` and `deployment.commercial` from the config. List
  // entries are normalised so "apache-2.0" in config means Apache-2.0.
  static Result<LicensePolicy> FromConfig(const config::Config& config);
  // The same from a config root node; `file` names it in errors.
  static Result<LicensePolicy> FromYaml(const std::string& file, const YAML::Node& root);

  LicenseDecision Evaluate(const LicenseInfo& license) const;
};

}  // namespace steward::registry
