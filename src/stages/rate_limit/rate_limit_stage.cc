// Stage "rate_limit": per-key requests/minute and tokens/minute. A key's own
// limits (keys create --rpm/--tpm) win; otherwise `limits.default_rpm` and
// `limits.default_tpm` apply (0 = unlimited). Refusals are 429 with
// Retry-After in whole seconds.
#include "config/config.h"
#include "pipeline/stage_registry.h"
#include "stages/rate_limit/rate_limiter.h"
#include "steward/clock.h"

namespace steward::stages {
namespace {

class RateLimitStage final : public Stage {
 public:
  RateLimitStage(int64_t default_rpm, int64_t default_tpm, const Clock& clock)
      : default_rpm_(default_rpm), default_tpm_(default_tpm), clock_(clock) {}
  std::string_view name() const override { return "rate_limit"; }

  StageResult OnRequest(RequestContext& ctx) override {
    if (!ctx.principal.authenticated) return StageResult::Continue();
    auto d = limiter_.Admit(ctx.principal.key_id, Rpm(ctx), Tpm(ctx), clock_.NowMonoNs());
    if (d.allowed) return StageResult::Continue();
    int64_t seconds = std::max<int64_t>(1, (d.retry_after_ms + 999) / 1000);
    std::string what = d.limit == "rpm" ? "requests per minute (" + std::to_string(Rpm(ctx)) + ")"
                                        : "tokens per minute (" + std::to_string(Tpm(ctx)) + ")";
    StageResult r = StageResult::Error(429, "rate_limit_exceeded", "rate_limit_exceeded",
                                       "rate limit exceeded for key " + ctx.principal.key_id + ": " + what +
                                           "; retry after " + std::to_string(seconds) + " s");
    r.reply.headers.emplace_back("retry-after", std::to_string(seconds));
    return r;
  }

  void OnFinish(RequestContext& ctx) override {
    if (!ctx.principal.authenticated) return;
    limiter_.ChargeTokens(ctx.principal.key_id, Tpm(ctx), ctx.usage.prompt_tokens + ctx.usage.completion_tokens,
                          clock_.NowMonoNs());
  }

 private:
  int64_t Rpm(const RequestContext& ctx) const { return ctx.principal.rpm > 0 ? ctx.principal.rpm : default_rpm_; }
  int64_t Tpm(const RequestContext& ctx) const { return ctx.principal.tpm > 0 ? ctx.principal.tpm : default_tpm_; }
  int64_t default_rpm_;
  int64_t default_tpm_;
  const Clock& clock_;
  RateLimiter limiter_;
};

Result<std::unique_ptr<Stage>> MakeRateLimitStage(const YAML::Node&, StageEnv& env) {
  std::string file = "<config>";
  YAML::Node limits;
  if (env.root_config && (*env.root_config)["limits"]) limits = (*env.root_config)["limits"];
  STEWARD_ASSIGN_OR_RETURN(int64_t rpm, config::GetInt(file, limits, "default_rpm", 0));
  STEWARD_ASSIGN_OR_RETURN(int64_t tpm, config::GetInt(file, limits, "default_tpm", 0));
  if (rpm < 0 || tpm < 0) return InvalidArgument("limits.default_rpm and default_tpm must be >= 0");
  return std::unique_ptr<Stage>(new RateLimitStage(rpm, tpm, env.clock ? *env.clock : SystemClock::Instance()));
}

STEWARD_REGISTER_STAGE("rate_limit", MakeRateLimitStage);

}  // namespace
}  // namespace steward::stages
