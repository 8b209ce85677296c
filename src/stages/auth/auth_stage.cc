// Stage "auth": authenticates the caller by `Authorization: Bearer <key>`
// against the key store and fills ctx.principal. 401 when the key is
// missing, malformed or unknown/revoked.
#include "identity/key_store.h"
#include "pipeline/stage_registry.h"

namespace steward::stages {
namespace {

class AuthStage final : public Stage {
 public:
  explicit AuthStage(identity::KeyStore& keys) : keys_(keys) {}
  std::string_view name() const override { return "auth"; }

  StageResult OnRequest(RequestContext& ctx) override {
    std::string_view header = ctx.Header("authorization");
    if (header.empty()) {
      return StageResult::Error(401, "invalid_request_error", "missing_api_key",
                                "missing API key: send `Authorization: Bearer <key>`");
    }
    constexpr std::string_view kBearer = "bearer ";
    if (header.size() <= kBearer.size() || !std::equal(kBearer.begin(), kBearer.end(), header.begin(),
                                                       [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); })) {
      return StageResult::Error(401, "invalid_request_error", "invalid_api_key",
                                "malformed Authorization header: expected `Bearer <key>`");
    }
    std::string_view secret = header.substr(kBearer.size());
    while (!secret.empty() && secret.front() == ' ') secret.remove_prefix(1);
    auto key = keys_.Authenticate(secret);
    if (!key.ok()) {
      return StageResult::Error(401, "invalid_request_error", "invalid_api_key",
                                "invalid API key (unknown or revoked)");
    }
    ctx.principal.authenticated = true;
    ctx.principal.key_id = std::move(key->id);
    ctx.principal.name = std::move(key->name);
    ctx.principal.role = std::move(key->role);
    ctx.principal.team = std::move(key->team);
    ctx.principal.rpm = key->rpm;
    ctx.principal.tpm = key->tpm;
    return StageResult::Continue();
  }

 private:
  identity::KeyStore& keys_;
};

Result<std::unique_ptr<Stage>> MakeAuthStage(const YAML::Node&, StageEnv& env) {
  auto* keys = env.services ? env.services->Get<identity::KeyStore>() : nullptr;
  if (!keys) return FailedPrecondition("the auth stage needs the key store");
  return std::unique_ptr<Stage>(new AuthStage(*keys));
}

STEWARD_REGISTER_STAGE("auth", MakeAuthStage);

}  // namespace
}  // namespace steward::stages
