#include "stages/policy/policy_stage.h"

#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>

#include "injection/screen.h"
#include "monitor/metrics.h"
#include "pipeline/reload.h"
#include "gateway/gateway.h"
#include "pipeline/stage_registry.h"
#include "policy/explain.h"
#include "policy/review_sink.h"
#include "scan/request_scan.h"

namespace steward::stages {
namespace {

using policy::Decision;
using policy::Verdict;

// GET /v1/models lists a model only if policy would let this caller use it
// for a plain chat call (no findings, no injection signal).
class PolicyModelAccess final : public gateway::ModelAccess {
 public:
  explicit PolicyModelAccess(std::shared_ptr<policy::PolicyEngine> engine) : engine_(std::move(engine)) {}
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

class PolicyStage : public Stage {
 public:
  PolicyStage(std::shared_ptr<policy::PolicyEngine> engine, policy::PolicyConfig config,
              ServiceRegistry* services)
      : engine_(std::move(engine)), config_(std::move(config)), services_(services) {
    auto& m = monitor::MetricsRegistry::Global();
    const char* help = "Policy decisions by outcome";
    permits_ = &m.GetCounter("steward_policy_decisions_total", help, {{"decision", "permit"}});
    denies_ = &m.GetCounter("steward_policy_decisions_total", help, {{"decision", "deny"}});
    reviews_ = &m.GetCounter("steward_policy_decisions_total", help, {{"decision", "review"}});
    rule_errors_ = &m.GetCounter("steward_policy_rule_errors_total",
                                 "Policy rules skipped because they failed at evaluation");
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
    StageResult limited = ApplyLimits(ctx, d);
    if (limited.action != StageResult::Action::kContinue) return limited;
    return ApplyRedactions(ctx, d);
  }

 private:
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
      Result<std::string> id = sink->Submit(ctx, d);
      if (id.ok()) return StageResult::Hold(*id);
      spdlog::error("review queue refused request {}: {}", ctx.request_id, id.status().message());
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

  std::shared_ptr<policy::PolicyEngine> engine_;
  policy::PolicyConfig config_;
  ServiceRegistry* services_;
  monitor::Counter* permits_;
  monitor::Counter* denies_;
  monitor::Counter* reviews_;
  monitor::Counter* rule_errors_;
};

Result<std::unique_ptr<Stage>> MakeFromConfig(const YAML::Node&, StageEnv& env) {
  YAML::Node root = env.root_config ? *env.root_config : YAML::Node();
  STEWARD_ASSIGN_OR_RETURN(policy::PolicyConfig config, policy::ParsePolicyConfig("config", root));
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
  engine->SetLogger([reload_ok, reload_error](bool ok, const std::string& message) {
    (ok ? reload_ok : reload_error)->Inc();
    if (ok) {
      spdlog::info("{}", message);
    } else {
      spdlog::error("{}", message);
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
  return MakePolicyStage(std::move(engine), std::move(config), env.services);
}

STEWARD_REGISTER_STAGE("policy", MakeFromConfig);

}  // namespace

std::unique_ptr<Stage> MakePolicyStage(std::shared_ptr<policy::PolicyEngine> engine,
                                       policy::PolicyConfig config, ServiceRegistry* services) {
  return std::make_unique<PolicyStage>(std::move(engine), std::move(config), services);
}

}  // namespace steward::stages
