#include "stages/registry/registry_stage.h"

#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>

#include "gateway/gateway.h"
#include "pipeline/stage_registry.h"
#include "steward/admin_events.h"

namespace steward::stages {

StageResult RegistryStage::OnRequest(RequestContext& ctx) {
  if (ctx.model.empty() || ctx.endpoint == Endpoint::kModels) return StageResult::Continue();
  std::shared_ptr<const registry::Snapshot> snapshot = service_->snapshot();
  std::string_view subject =
      !ctx.subject.empty() ? std::string_view(ctx.subject) : std::string_view(ctx.principal.key_id);
  registry::Resolution r = snapshot->Resolve(ctx.model, subject);
  const bool enforce = service_->enforce();
  switch (r.kind) {
    case registry::Resolution::Kind::kUnknown:
      if (!enforce) return StageResult::Continue();
      return StageResult::Error(404, "invalid_request_error", "model_not_found",
                                "model `" + ctx.model +
                                    "` is not in the model registry (register and approve it "
                                    "with `steward models`)");
    case registry::Resolution::Kind::kRefuse:
      if (r.entry) {
        ctx.model_state = r.entry->state;
        ctx.model_license = r.entry->license;
      }
      if (!enforce) return StageResult::Continue();
      {
        std::string code = "model_not_approved";
        if (r.message.find("quarantined") != std::string_view::npos) {
          code = "model_quarantined";
        } else if (r.message.find("retired") != std::string_view::npos) {
          code = "model_retired";
        }
        return StageResult::Error(403, "permission_error", code, r.message);
      }
    case registry::Resolution::Kind::kServe:
      break;
  }
  const registry::VersionEntry& v = *r.entry;
  ctx.model_version = v.version;
  ctx.weights_digest = v.manifest_digest;
  ctx.model_state = v.resource_state;
  ctx.model_license = v.license;
  ctx.model_tags = v.tags;
  for (const auto& [k, val] : v.attrs) ctx.resource_attrs[k] = val;
  if (!ctx.resource_attrs.count("commercial_use")) {
    ctx.resource_attrs["commercial_use"] = v.non_commercial ? "false" : "true";
  }
  auto upstream = v.attrs.find("upstream_model");
  if (upstream != v.attrs.end()) {
    ctx.upstream_model = upstream->second;
  } else if (ctx.model.size() > v.name.size() && ctx.model.compare(0, v.name.size(), v.name) == 0 &&
             ctx.model[v.name.size()] == '@') {
    // Pinned "name@version": the upstream knows the model by its name.
    ctx.upstream_model = v.name;
  }
  return StageResult::Continue();
}

Result<std::shared_ptr<registry::RegistryService>> MakeRegistryService(const YAML::Node& root,
                                                                       StageEnv& env,
                                                                       bool start_threads) {
  if (!env.db || !env.clock) return FailedPrecondition("registry stage needs a store and a clock");
  STEWARD_ASSIGN_OR_RETURN(registry::ServiceOptions options,
                           registry::ReadServiceOptions(env.config_name(), root));
  Database* db = env.db;
  std::string data_dir = env.data_dir;
  auto service = std::make_shared<registry::RegistryService>(
      *env.db, *env.clock, options,
      [db, data_dir](const AdminEvent& event) -> Status {
        return RecordAdminEvent(*db, data_dir, event).status();
      },
      [](const std::string& ref, const std::string& reason) {
        spdlog::critical("ALERT model {} quarantined by the periodic re-hash: {}", ref, reason);
      });
  STEWARD_RETURN_IF_ERROR(service->Start(start_threads));
  return service;
}

namespace {

// GET /v1/models: the models the registry would route now. With enforce
// false, models named explicitly in `upstreams[].models` are listed too,
// since the gateway serves them without registration.
class RegistryModelLister final : public gateway::ModelLister {
 public:
  RegistryModelLister(std::shared_ptr<registry::RegistryService> service,
                      std::vector<std::string> upstream_models)
      : service_(std::move(service)), upstream_models_(std::move(upstream_models)) {}

  std::vector<std::string> ModelsFor(const RequestContext&) override {
    std::vector<std::string> models = service_->ServableModels();
    if (!service_->enforce()) {
      models.insert(models.end(), upstream_models_.begin(), upstream_models_.end());
      std::sort(models.begin(), models.end());
      models.erase(std::unique(models.begin(), models.end()), models.end());
    }
    return models;
  }

  bool IncludesUpstreamModels() const override { return !service_->enforce(); }

 private:
  std::shared_ptr<registry::RegistryService> service_;
  std::vector<std::string> upstream_models_;
};

std::vector<std::string> ExplicitUpstreamModels(const YAML::Node& root) {
  std::vector<std::string> names;
  const YAML::Node upstreams = root["upstreams"];
  if (!upstreams || !upstreams.IsSequence()) return names;
  for (const auto& u : upstreams) {
    const YAML::Node models = u["models"];
    if (!models || !models.IsSequence()) continue;
    for (const auto& m : models) {
      if (m.IsScalar() && m.Scalar().find('*') == std::string::npos) names.push_back(m.Scalar());
    }
  }
  return names;
}

Result<std::unique_ptr<Stage>> MakeRegistryStage(const YAML::Node&, StageEnv& env) {
  static const YAML::Node kEmpty;
  const YAML::Node& root = env.root_config ? *env.root_config : kEmpty;
  std::shared_ptr<registry::RegistryService> service;
  if (env.services) {
    if (auto* existing = env.services->Get<registry::RegistryService>()) {
      // Another pipeline (reload) already runs it: share, don't restart.
      service = std::shared_ptr<registry::RegistryService>(
          std::shared_ptr<registry::RegistryService>{}, existing);
    }
  }
  if (!service) {
    STEWARD_ASSIGN_OR_RETURN(service, MakeRegistryService(root, env, /*start_threads=*/true));
    if (env.services) {
      env.services->Put(service);
      env.services->Put<gateway::ModelLister>(
          std::make_shared<RegistryModelLister>(service, ExplicitUpstreamModels(root)));
    }
    registry::SetActiveRegistryService(service.get());
  }
  return std::unique_ptr<Stage>(std::make_unique<RegistryStage>(std::move(service)));
}

}  // namespace

STEWARD_REGISTER_STAGE("registry", MakeRegistryStage);

}  // namespace steward::stages
