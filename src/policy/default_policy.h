// The built-in policy bundle, compiled into the binary: what applies when
// the config has no `policy:` key (SPEC): keys with role user or admin may
// call any served model; secrets in prompts are refused; prompt injection at
// or above the detector's threshold is refused; admins may use the admin API.
// (PII pseudonymization is done by the scan stages; audit records every call.)
#pragma once

#include <memory>
#include <string_view>

#include "policy/authorizer.h"

namespace steward::policy {

std::string_view DefaultPolicySource();
constexpr const char* kDefaultPolicyPath = "<built-in default policy>";

// The compiled default bundle (compiled once; never fails unless the
// embedded text is broken, which a unit test guards).
Result<std::shared_ptr<const Bundle>> DefaultBundle();

}  // namespace steward::policy
