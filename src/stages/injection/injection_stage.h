// Stage "injection": screens prompts for prompt injection and jailbreaks.
//
// What is screened (chat completions): `user` messages with the direct
// threshold; external content with the stricter external threshold -- `tool`
// and `function` messages (tool results) and any content part marked
// `"external": true` (retrieved documents). `system` and `assistant`
// messages are the operator's and the model's own and are not screened.
// Legacy completions: `prompt` (string or list) is user input.
//
// Config (top-level section `injection:`, every key optional):
//   injection:
//     enabled: true
//     threshold: 0.82            # user input; default: the shipped model's threshold_direct
//     external_threshold: 0.30   # external content; default: the model's threshold_external
//     action: block              # user input: flag | block | review | strip
//     external_action: strip     # external content: flag | block | review | strip
//     routes:                    # per requested model (exact name or prefix*)
//       "internal-*": {action: flag, external_action: flag}
//     canary: false              # insert a per-request canary into the system prompt
//     canary_action: block       # reply leaking the canary: flag | block
// Actions: flag = record only; block = 403 policy_violation; review = 403
// saying the request needs human review (until the review queue exists);
// strip = replace the offending segment by a placeholder and continue.
// Every screening sets ctx.injection_score (max over segments) and
// ctx.injection_signals; prompt text is never logged.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "injection/detector.h"
#include "steward/stage.h"

namespace steward::stages {

enum class InjectionAction { kFlag, kBlock, kReview, kStrip };

struct InjectionRouteOverride {
  std::string pattern;  // exact model name, or a prefix ending in '*'
  InjectionAction action = InjectionAction::kBlock;
  InjectionAction external_action = InjectionAction::kStrip;
};

struct InjectionStageConfig {
  bool enabled = true;
  double threshold = -1;           // < 0: the model's default
  double external_threshold = -1;  // < 0: the model's default
  InjectionAction action = InjectionAction::kBlock;
  InjectionAction external_action = InjectionAction::kStrip;
  std::vector<InjectionRouteOverride> routes;
  bool canary = false;
  InjectionAction canary_action = InjectionAction::kBlock;  // kFlag or kBlock
};

// Parses the `injection:` section (undefined node = defaults); errors name
// file:line:col.
Result<InjectionStageConfig> ParseInjectionConfig(const std::string& file, const YAML::Node& node);

// The placeholder that replaces a stripped segment.
inline constexpr std::string_view kStrippedPlaceholder =
    "[removed by Steward: suspected prompt injection in external content]";

std::unique_ptr<Stage> MakeInjectionStage(InjectionStageConfig config,
                                          const injection::Detector* detector);

}  // namespace steward::stages
