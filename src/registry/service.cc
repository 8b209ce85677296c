#include "registry/service.h"

#include <spdlog/spdlog.h>

#include "config/config.h"

namespace steward::registry {
namespace {

std::atomic<RegistryService*> g_active{nullptr};

}  // namespace

RegistryService* ActiveRegistryService() { return g_active.load(); }
void SetActiveRegistryService(RegistryService* service) { g_active.store(service); }

Result<ServiceOptions> ReadServiceOptions(const std::string& file, const YAML::Node& root) {
  ServiceOptions o;
  const YAML::Node section = root["registry"];
  if (section && !section.IsNull()) {
    if (!section.IsMap()) return config::ErrorAt(file, section, "`registry` must be a mapping");
    for (auto it = section.begin(); it != section.end(); ++it) {
      std::string k = it->first.as<std::string>("");
      if (k != "enforce" && k != "check_interval_s" && k != "approvals_required" &&
          k != "refresh_ms") {
        return config::ErrorAt(file, it->first,
                               "unknown key `registry." + k +
                                   "` (enforce, check_interval_s, approvals_required, "
                                   "refresh_ms)");
      }
    }
    STEWARD_ASSIGN_OR_RETURN(o.enforce, config::GetBool(file, section, "enforce", true));
    STEWARD_ASSIGN_OR_RETURN(o.check_interval_s,
                             config::GetInt(file, section, "check_interval_s", 3600));
    if (o.check_interval_s < 0) {
      return config::ErrorAt(file, section["check_interval_s"], "must be >= 0 (0 disables)");
    }
    STEWARD_ASSIGN_OR_RETURN(int64_t approvals,
                             config::GetInt(file, section, "approvals_required", 1));
    if (approvals < 1 || approvals > 10) {
      return config::ErrorAt(file, section["approvals_required"], "must be between 1 and 10");
    }
    o.registry.approvals_required = static_cast<int>(approvals);
    STEWARD_ASSIGN_OR_RETURN(o.refresh_ms, config::GetInt(file, section, "refresh_ms", 1000));
    if (o.refresh_ms < 10) return config::ErrorAt(file, section["refresh_ms"], "must be >= 10");
  }
  STEWARD_ASSIGN_OR_RETURN(o.registry.license_policy, LicensePolicy::FromYaml(file, root));
  return o;
}

RegistryService::RegistryService(Database& db, const Clock& clock, ServiceOptions options,
                                 EventSink sink, AlertFn alert)
    : db_(db),
      options_(options),
      registry_(db, clock, options.registry, std::move(sink)),
      alert_(std::move(alert)) {
  snapshot_.store(std::make_shared<const Snapshot>());
}

RegistryService::~RegistryService() {
  Stop();
  RegistryService* self = this;
  g_active.compare_exchange_strong(self, nullptr);
}

Status RegistryService::Start(bool start_threads) {
  STEWARD_RETURN_IF_ERROR(registry_.Init());
  STEWARD_RETURN_IF_ERROR(RefreshNow(/*force=*/true));
  if (start_threads) {
    refresh_thread_ = std::thread([this] { RefreshLoop(); });
    if (options_.check_interval_s > 0) rehash_thread_ = std::thread([this] { RehashLoop(); });
  }
  return Status::Ok();
}

void RegistryService::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (refresh_thread_.joinable()) refresh_thread_.join();
  if (rehash_thread_.joinable()) rehash_thread_.join();
}

Status RegistryService::RefreshNow(bool force) {
  STEWARD_ASSIGN_OR_RETURN(int64_t generation, registry_.Generation());
  if (!force && generation == snapshot_.load()->generation()) return Status::Ok();
  STEWARD_ASSIGN_OR_RETURN(auto versions, registry_.List());
  snapshot_.store(std::make_shared<const Snapshot>(std::move(versions), generation));
  return Status::Ok();
}

Result<int> RegistryService::RehashDeployedNow() {
  STEWARD_ASSIGN_OR_RETURN(auto versions, registry_.List());
  int quarantined = 0;
  for (const auto& v : versions) {
    if (v.state != kStateDeployed) continue;
    {
      std::lock_guard lock(mu_);
      if (stopping_) break;
    }
    auto report = registry_.Verify(v.name, v.version, "system:rehash");
    if (!report.ok()) {
      spdlog::warn("registry: re-hash of {} failed: {}", v.Ref(), report.status().message());
      continue;
    }
    if (!report->ok()) {
      std::string reason = report->problems[0].path + " " + report->problems[0].problem;
      spdlog::error("ALERT registry: {} quarantined: {}", v.Ref(), reason);
      if (alert_) alert_(v.Ref(), reason);
      ++quarantined;
    }
  }
  if (quarantined > 0) STEWARD_RETURN_IF_ERROR(RefreshNow());
  return quarantined;
}

void RegistryService::RefreshLoop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, std::chrono::milliseconds(options_.refresh_ms),
                 [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    Status s = RefreshNow();
    if (!s.ok()) spdlog::warn("registry: refresh failed: {}", s.message());
    lock.lock();
  }
}

void RegistryService::RehashLoop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, std::chrono::seconds(options_.check_interval_s),
                 [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    auto n = RehashDeployedNow();
    if (!n.ok()) spdlog::warn("registry: periodic re-hash failed: {}", n.status().message());
    lock.lock();
  }
}

std::vector<std::string> RegistryService::ServableModels() const {
  return snapshot()->ServableNames();
}

boost::json::value RegistryService::ModelsJson() const {
  auto snap = snapshot();
  return boost::json::object{{"enforce", options_.enforce},
                             {"generation", snap->generation()},
                             {"models", snap->ToJson()}};
}

}  // namespace steward::registry
