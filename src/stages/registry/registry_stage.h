// Stage "registry": the model registry enforced on every call.
//
// With `registry.enforce: true` (the default) only approved or deployed
// versions are routed: an unknown model is answered 404 `model_not_found`,
// a known one that is not servable 403 with a message saying why
// (registered but not approved / retired / quarantined after a changed
// file). With enforce false nothing is refused. For every known model the
// stage fills ctx.model_version, ctx.weights_digest and the resource
// attributes policy reads (model_state, model_license, model_tags,
// resource_attrs incl. commercial_use). A canary version is chosen sticky by
// subject (the `user` / x-steward-subject, else the key id); a version with
// the attribute `upstream_model` is sent upstream under that name.
// "name@version" pins a version and is sent upstream as "name".
#pragma once

#include <memory>

#include "registry/service.h"
#include "steward/stage.h"

namespace steward::stages {

class RegistryStage final : public Stage {
 public:
  explicit RegistryStage(std::shared_ptr<registry::RegistryService> service)
      : service_(std::move(service)) {}
  std::string_view name() const override { return "registry"; }
  StageResult OnRequest(RequestContext& ctx) override;

 private:
  std::shared_ptr<registry::RegistryService> service_;
};

// Builds the service from the config root (used by the factory and tests).
Result<std::shared_ptr<registry::RegistryService>> MakeRegistryService(const YAML::Node& root,
                                                                       StageEnv& env,
                                                                       bool start_threads);

}  // namespace steward::stages
