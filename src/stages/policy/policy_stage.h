// The "policy" stage: decides every data-plane call with the policy engine
// after auth and scanning, before the upstream (see docs/policy.md).
//
// Fills ctx.policy (decision, reasons, obligations, errors, bundle hash) and
// the x-steward-policy response header; refuses with 403 (deny, naming the
// rule), 403 or 202 (review: 202 once a ReviewSink is published, 503 when it
// cannot hold the call), 503 when no bundle could be loaded (fail closed). Applies redact(...) to
// the request (scan::ApplyRedaction), enforces limit(max_tokens) by clamping the request and
// limit(request_bytes) with 413, limit(rpm|tpm) with per-(rule, key) token buckets answering 429 +
// Retry-After (policy_limiter.h); records the other obligations (store_payloads, route) in
// ctx.policy.obligations for later stages.
#pragma once

#include <memory>

#include "policy/engine.h"
#include "policy/policy_config.h"
#include "steward/stage.h"

namespace steward::stages {

std::unique_ptr<Stage> MakePolicyStage(std::shared_ptr<policy::PolicyEngine> engine,
                                       policy::PolicyConfig config, ServiceRegistry* services,
                                       const Clock* clock = nullptr);  // null: SystemClock

}  // namespace steward::stages
