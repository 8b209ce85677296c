#include "stages/policy/policy_stage.h"

#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>

#include "gateway/gateway.h"
#include "injection/screen.h"
#include "monitor/metrics.h"
#include "pipeline/reload.h"
#include "pipeline/stage_registry.h"
#include "policy/explain.h"
#include "policy/review_sink.h"
#include "scan/request_scan.h"
#include "stages/policy/policy_limiter.h"
#include "steward/admin_events.h"
#include "steward/clock.h"

namespace steward::stages {
namespace {

using policy::Decision;
using policy::Verdict;

// GET /v1/models lists a model only if policy would let this caller use it
// for a plain chat call (no findings, no injection signal).
class PolicyModelAccess final : public gateway::ModelAccess {
 public:
  explicit PolicyModelAccess(std::shared_ptr<policy::PolicyEngine> engine)
      : engine_(std::move(engine)) {}
  bool MayUse(const RequestContext& caller, const std::string& model) const override {
    RequestContext probe;
    probe.principal = caller.principal;
    probe.subject = caller.subject;
    probe.client_ip = caller.client_ip;
    probe.endpoint = Endpoint::kChatCompletions;
    probe.model = model;
    probe.injection_score = 0;
    auto d = engine_->Authorize(policy::RequestFromContext(probe, engine_->defaults()));
    return d.verdict != policy::Verdict::kDeny;
  }

 private:
  std::shared_ptr<policy::PolicyEngine> engine_;
};

// What the policy stage took from its rate buckets for one call, so OnFinish
// can settle the token bucket with the actual usage.
struct PolicyRateCharge {
  std::string caller;
  PolicyLimiter::Limit tpm;
  int64_t estimated_tokens = 0;
};

// Prompt tokens at request time: the count a scanner put in ctx.usage, else
// the gateway's own estimate (4 bytes a token).
int64_t PromptTokenEstimate(const RequestContext& ctx) {
  if (ctx.usage.prompt_tokens > 0) return ctx.usage.prompt_tokens;
  return static_cast<int64_t>((ctx.request_bytes + 3) / 4);
}

class PolicyStage : public Stage {
 public:
  PolicyStage(std::shared_ptr<policy::PolicyEngine> engine, policy::PolicyConfig config,
              ServiceRegistry* services, const Clock& clock)
      : engine_(std::move(engine)), config_(std::move(config)), services_(services), clock_(clock) {
    auto& m = monitor::MetricsRegistry::Global();
    const char* help = "Policy decisions by outcome";
    permits_ = &m.GetCounter("steward_policy_decisions_total", help, {{"decision", "permit"}});
    denies_ = &m.GetCounter("steward_policy_decisions_total", help, {{"decision", "deny"}});
    reviews_ = &m.GetCounter("steward_policy_decisions_total", help, {{"decision", "review"}});
    rule_errors_ = &m.GetCounter("steward_policy_rule_errors_total",
                                 "Policy rules skipped because they failed at evaluation");
    rate_limited_ = &m.GetCounter("steward_policy_rate_limited_total",
                                  "Calls refused by a policy limit(\"rpm\"|\"tpm\", N) obligation");
  }

  std::string_view name() const override { return "policy"; }

  StageResult OnRequest(RequestContext& ctx) override {
    auto flags = config_.subject_flags.find(ctx.subject);
    if (!ctx.subject.empty() && flags != config_.subject_flags.end()) {
      for (const auto& f : flags->second) {
        if (std::find(ctx.subject_flags.begin(), ctx.subject_flags.end(), f) ==
            ctx.subject_flags.end()) {
          ctx.subject_flags.push_back(f);
        }
      }
    }
    policy::Request request = policy::RequestFromContext(ctx, engine_->defaults());
    Decision d = engine_->Authorize(request);
    Record(ctx, d);
    (d.verdict == Verdict::kPermit ? permits_
     : d.verdict == Verdict::kDeny ? denies_
                                   : reviews_)
        ->Inc();
    if (!d.errors.empty()) rule_errors_->Inc(d.errors.size());
    if (!engine_->bundle()) {
      return StageResult::Error(503, "server_error", "policy_unavailable", d.message);
    }
    switch (d.verdict) {
      case Verdict::kDeny:
        return StageResult::Error(403, "invalid_request_error", "policy_denied", d.message);
      case Verdict::kReview:
        return Review(ctx, d);
      case Verdict::kPermit:
        break;
    }
    return Admit(ctx, d);
  }

  // Settles the tokens bucket: the prompt estimate was taken at admission;
  // now the actual usage is known (zero for a call that failed).
  void OnFinish(RequestContext& ctx) override {
    PolicyRateCharge* charge = ctx.FindSlot<PolicyRateCharge>();
    if (!charge || charge->tpm.per_minute <= 0) return;
    int64_t actual = ctx.usage.prompt_tokens + ctx.usage.completion_tokens;
    limiter_.ChargeTokens(charge->caller, charge->tpm, actual - charge->estimated_tokens,
                          clock_.NowMonoNs());
  }

 private:
  // A call the policy lets through (permitted, or approved by a reviewer):
  // its obligations apply.
  StageResult Admit(RequestContext& ctx, const Decision& d) {
    StageResult limited = ApplyLimits(ctx, d);
    if (limited.action != StageResult::Action::kContinue) return limited;
    StageResult rated = ApplyRateLimits(ctx, d);
    if (rated.action != StageResult::Action::kContinue) return rated;
    return ApplyRedactions(ctx, d);
  }

  static void Record(RequestContext& ctx, const Decision& d) {
    ctx.policy.evaluated = true;
    ctx.policy.decision = policy::VerdictName(d.verdict);
    ctx.policy.reasons = d.reasons;
    ctx.policy.obligations = d.obligations.Render();
    ctx.policy.errors = d.errors;
    ctx.policy.bundle_hash = d.bundle_hash;
    ctx.response_headers.emplace_back("x-steward-policy", policy::HeaderValue(d));
    for (const auto& e : d.errors) spdlog::warn("policy rule skipped ({}): {}", ctx.request_id, e);
  }

  StageResult Review(RequestContext& ctx, const Decision& d) {
    if (policy::ReviewSink* sink = services_ ? services_->Get<policy::ReviewSink>() : nullptr) {
      if (std::optional<StageResult> redeemed = sink->Redeem(ctx, d)) {
        if (redeemed->action != StageResult::Action::kContinue) return std::move(*redeemed);
        StageResult admitted = Admit(ctx, d);
        if (admitted.action != StageResult::Action::kContinue) sink->Release(ctx);
        return admitted;
      }
      Result<std::string> id = sink->Submit(ctx, d);
      if (id.ok()) return StageResult::Hold(*id);
      // The queue exists but cannot hold the call now: a fault to retry,
      // not a denial, so the client can tell the two apart.
      spdlog::error("review queue refused request {}: {}", ctx.request_id, id.status().message());
      return StageResult::Error(503, "server_error", "review_unavailable",
                                d.message +
                                    "; the request needs human review, but the review "
                                    "queue cannot hold it now (" +
                                    id.status().message() + ")");
    }
    return StageResult::Error(403, "invalid_request_error", "policy_review_required",
                              d.message +
                                  "; the request needs human review, which is not "
                                  "available, so it is refused");
  }

  // redact(types, mode): rewrite those entity types in the request before
  // it leaves. If that cannot be done the call must not go out unredacted.
  StageResult ApplyRedactions(RequestContext& ctx, const Decision& d) {
    for (const auto& [mode, types] : d.obligations.redact) {
      std::vector<std::string> list(types.begin(), types.end());
      Status s = scan::ApplyRedaction(ctx, list, mode);
      if (!s.ok()) {
        std::string error = "redact(" + mode + "): " + s.message();
        ctx.policy.errors.push_back(error);
        spdlog::error("policy obligation failed for request {}: {}", ctx.request_id, error);
        return StageResult::Error(
            500, "server_error", "policy_obligation_failed",
            "the policy requires redaction that could not be applied: " + s.message());
      }
    }
    return StageResult::Continue();
  }

  // limit(max_tokens): the reply may not exceed it, so the request is
  // clamped; limit(request_bytes): larger requests are refused.
  StageResult ApplyLimits(RequestContext& ctx, const Decision& d) {
    const auto& limits = d.obligations.limits;
    if (auto it = limits.find("request_bytes");
        it != limits.end() && static_cast<int64_t>(ctx.request_bytes) > it->second) {
      return StageResult::Error(413, "invalid_request_error", "policy_limit",
                                "request of " + std::to_string(ctx.request_bytes) +
                                    " bytes exceeds the policy limit of " +
                                    std::to_string(it->second));
    }
    auto it = limits.find("max_tokens");
    bool generates =
        ctx.endpoint == Endpoint::kChatCompletions || ctx.endpoint == Endpoint::kCompletions;
    if (it != limits.end() && generates) {
      bool present = false;
      for (const char* key : {"max_tokens", "max_completion_tokens"}) {
        auto* v = ctx.body.if_contains(key);
        if (!v) continue;
        present = true;
        if (!v->is_int64() || v->as_int64() > it->second) {
          *v = it->second;
          ctx.body_modified = true;
        }
      }
      if (!present) {
        ctx.body["max_tokens"] = it->second;
        ctx.body_modified = true;
      }
    }
    return StageResult::Continue();
  }

  // limit("rpm", N) / limit("tpm", N): per (rule, caller) token buckets.
  // Refusals are 429 with Retry-After, naming the rule.
  StageResult ApplyRateLimits(RequestContext& ctx, const Decision& d) {
    PolicyLimiter::Limit rpm = RateLimit(d, "rpm"), tpm = RateLimit(d, "tpm");
    if (rpm.per_minute <= 0 && tpm.per_minute <= 0) return StageResult::Continue();
    std::string caller =
        ctx.principal.key_id.empty() ? "ip:" + ctx.client_ip : "key:" + ctx.principal.key_id;
    int64_t estimate = PromptTokenEstimate(ctx);
    PolicyLimiter::Admission a = limiter_.Admit(caller, rpm, tpm, estimate, clock_.NowMonoNs());
    if (!a.allowed) {
      rate_limited_->Inc();
      const PolicyLimiter::Limit& hit = a.limit == "rpm" ? rpm : tpm;
      int64_t seconds = std::max<int64_t>(1, (a.retry_after_ns + 999'999'999) / 1'000'000'000);
      std::string who =
          ctx.principal.key_id.empty() ? "client " + ctx.client_ip : "key " + ctx.principal.key_id;
      std::string what = a.limit == "rpm" ? " requests per minute" : " tokens per minute";
      std::string message = "policy rule `" + hit.rule_id + "` limits " + who + " to " +
                            std::to_string(hit.per_minute) + what + "; retry after " +
                            std::to_string(seconds) + " s";
      StageResult r =
          StageResult::Error(429, "rate_limit_exceeded", "policy_rate_limit_exceeded", message);
      r.reply.headers.emplace_back("retry-after", std::to_string(seconds));
      return r;
    }
    PolicyRateCharge& charge = ctx.Slot<PolicyRateCharge>();
    charge.caller = std::move(caller);
    charge.tpm = tpm;
    charge.estimated_tokens = tpm.per_minute > 0 ? estimate : 0;
    return StageResult::Continue();
  }

  static PolicyLimiter::Limit RateLimit(const Decision& d, const std::string& name) {
    PolicyLimiter::Limit limit;
    auto it = d.obligations.limits.find(name);
    if (it == d.obligations.limits.end()) return limit;
    limit.per_minute = it->second;
    auto rule = d.obligations.limit_rules.find(name);
    limit.rule_id = rule == d.obligations.limit_rules.end() ? "" : rule->second;
    return limit;
  }

  std::shared_ptr<policy::PolicyEngine> engine_;
  policy::PolicyConfig config_;
  ServiceRegistry* services_;
  const Clock& clock_;
  PolicyLimiter limiter_;
  monitor::Counter* rate_limited_;
  monitor::Counter* permits_;
  monitor::Counter* denies_;
  monitor::Counter* reviews_;
  monitor::Counter* rule_errors_;
};

Result<std::unique_ptr<Stage>> MakeFromConfig(const YAML::Node&, StageEnv& env) {
  YAML::Node root = env.root_config ? *env.root_config : YAML::Node();
  STEWARD_ASSIGN_OR_RETURN(policy::PolicyConfig config,
                           policy::ParsePolicyConfig(env.config_name(), root));
  policy::RequestDefaults defaults;
  defaults.deployment_commercial = config.deployment_commercial;
  defaults.injection_threshold = injection::DefaultDirectThreshold();
  if (root && root.IsMap() && root["injection"] && root["injection"].IsMap() &&
      root["injection"]["threshold"]) {
    try {
      defaults.injection_threshold = root["injection"]["threshold"].as<double>();
    } catch (const YAML::Exception&) {
      // The injection stage reports a malformed threshold with its location.
    }
  }
  auto engine = std::make_shared<policy::PolicyEngine>(config.paths, defaults);
  auto& metrics = monitor::MetricsRegistry::Global();
  const char* reload_help = "Policy bundle loads and reloads by result (error: bundle rejected)";
  monitor::Counter* reload_ok =
      &metrics.GetCounter("steward_policy_reloads_total", reload_help, {{"result", "ok"}});
  monitor::Counter* reload_error =
      &metrics.GetCounter("steward_policy_reloads_total", reload_help, {{"result", "error"}});
  // Every bundle change after start, and every rejected bundle, is an admin
  // record in the audit log: which rules were in force when is part of the
  // trail (each request record also carries its bundle hash).
  std::weak_ptr<policy::PolicyEngine> logged = engine;
  engine->SetLogger([reload_ok, reload_error, logged, db = env.db, data_dir = env.data_dir](
                        bool ok, const std::string& message) {
    (ok ? reload_ok : reload_error)->Inc();
    if (ok) {
      spdlog::info("{}", message);
    } else {
      spdlog::error("{}", message);
    }
    if (!db) return;
    AdminEvent event;
    event.action = "policy.reload";
    event.actor = "steward";
    auto e = logged.lock();
    std::shared_ptr<const policy::Bundle> bundle = e ? e->bundle() : nullptr;
    if (ok && bundle) {
      event.target = bundle->hash();
      event.details["result"] = "loaded";
      event.details["rules"] = static_cast<int64_t>(bundle->rules().size());
    } else {
      event.target = bundle ? bundle->hash() : "";
      event.details["result"] = "rejected";
      event.details["kept_previous"] = bundle != nullptr;
      event.details["error"] = message;
    }
    if (auto recorded = RecordAdminEvent(*db, data_dir, event); !recorded.ok()) {
      spdlog::error("policy reload not recorded in the audit log: {}", recorded.status().message());
    }
  });
  if (!engine->bundle()) {
    spdlog::error(
        "no policy bundle could be loaded; every call is refused until a reload "
        "succeeds:\n{}",
        engine->load_error());
  } else {
    spdlog::info("policy bundle {} ({} rules{})", engine->bundle()->hash().substr(0, 12),
                 engine->bundle()->rules().size(), config.configured ? "" : ", built-in default");
  }
  std::weak_ptr<policy::PolicyEngine> weak = engine;
  metrics.AddCallbackGauge("steward_policy_bundle_loaded",
                           "1 when a policy bundle is loaded, 0 when every call is refused", {},
                           [weak] {
                             auto e = weak.lock();
                             return e && e->bundle() ? 1.0 : 0.0;
                           });
  pipeline::AddReloadHook("policy", [weak]() -> Status {
    if (auto e = weak.lock()) return e->Reload();
    return Status::Ok();
  });
  if (config.configured && config.watch) engine->StartWatching(config.poll_ms);
  if (env.services) {
    env.services->Put<policy::PolicyEngine>(engine);
    env.services->Put<gateway::ModelAccess>(std::make_shared<PolicyModelAccess>(engine));
  }
  return MakePolicyStage(std::move(engine), std::move(config), env.services, env.clock);
}

STEWARD_REGISTER_STAGE("policy", MakeFromConfig);

}  // namespace

std::unique_ptr<Stage> MakePolicyStage(std::shared_ptr<policy::PolicyEngine> engine,
                                       policy::PolicyConfig config, ServiceRegistry* services,
                                       const Clock* clock) {
  return std::make_unique<PolicyStage>(std::move(engine), std::move(config), services,
                                       clock ? *clock : SystemClock::Instance());
}

}  // namespace steward::stages
