#include "policy/default_policy.h"

namespace steward::policy {

std::string_view DefaultPolicySource() {
  return R"POLICY(// Steward's built-in policy: used when the config has no `policy:` key.

// Entity types the scanner reports for credentials.
const SECRET_TYPES = ["AWS_ACCESS_KEY", "AWS_SECRET_KEY", "GENERIC_SECRET", "GITHUB_TOKEN",
                      "GITLAB_TOKEN", "GOOGLE_API_KEY", "JWT", "OPENAI_API_KEY", "PASSWORD", "PRIVATE_KEY",
                      "SLACK_TOKEN", "STRIPE_KEY"];
const INFERENCE = ["chat.completions", "completions", "embeddings", "models"];

@id("default-callers")
@description("keys with role user or admin may call any served model")
permit (principal.role in ["user", "admin"], action in INFERENCE);

@id("default-secrets-refused")
@message("the prompt contains a secret (credential or private key); remove it and retry")
forbid (action in INFERENCE) when { context.finding_types.containsAny(SECRET_TYPES) };

@id("default-injection-refused")
@message("the prompt looks like a prompt-injection attempt")
forbid (action in INFERENCE) when { context.injection_score >= context.injection_threshold };

@id("default-admins")
@description("admin keys may use the admin API")
permit (principal.role == "admin") when { context.plane == "admin" };
)POLICY";
}

Result<std::shared_ptr<const Bundle>> DefaultBundle() {
  static const Result<std::shared_ptr<const Bundle>> bundle =
      Bundle::Compile({{kDefaultPolicyPath, std::string(DefaultPolicySource())}});
  return bundle;
}

}  // namespace steward::policy
