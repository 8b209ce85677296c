// The registry inside `steward serve`: keeps the request path's snapshot
// fresh and watches deployed models' files.
//
// - Refresh: every `refresh_ms` (default 1 s) it reads the store's
//   generation counter; when the CLI (another process) changed the
//   registry, it rebuilds the snapshot and swaps it in atomically.
// - Re-hash: every `registry.check_interval_s` it re-hashes the files of
//   every deployed version; a changed or missing file quarantines that
//   version (the gateway then refuses it) and raises an alert.
//
// Config (top-level `registry:`):
//   enforce: true            # false: unknown models pass, nothing is refused
//   check_interval_s: 3600   # 0: no periodic re-hash
//   approvals_required: 1    # distinct approvers for `models approve`
//   refresh_ms: 1000
#pragma once

#include <yaml-cpp/yaml.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "registry/registry.h"
#include "registry/snapshot.h"

namespace steward::registry {

struct ServiceOptions {
  bool enforce = true;
  int64_t check_interval_s = 3600;
  int64_t refresh_ms = 1000;
  RegistryOptions registry;
};

// Reads `registry:`, `licenses:` and `deployment:` from a config root.
// Unknown keys under `registry:` are errors naming file:line.
Result<ServiceOptions> ReadServiceOptions(const std::string& file, const YAML::Node& root);

// Called when the periodic check quarantines a version (after logging).
using AlertFn = std::function<void(const std::string& ref, const std::string& reason)>;

class RegistryService {
 public:
  RegistryService(Database& db, const Clock& clock, ServiceOptions options, EventSink sink,
                  AlertFn alert = {});
  ~RegistryService();

  // Migrates, loads the first snapshot and (if start_threads) starts the
  // refresh and re-hash threads.
  Status Start(bool start_threads = true);
  void Stop();

  // The current snapshot; never null after Start().
  std::shared_ptr<const Snapshot> snapshot() const { return snapshot_.load(); }
  bool enforce() const { return options_.enforce; }

  // Model names a client may be routed to now (for GET /v1/models; the
  // caller filters further by what the key may use).
  std::vector<std::string> ServableModels() const;
  // Every model and version with state, role and digests (admin API).
  boost::json::value ModelsJson() const;

  // Reloads the snapshot if the store's generation moved (or `force`).
  Status RefreshNow(bool force = false);
  // Re-hashes every deployed version now; returns how many it quarantined.
  Result<int> RehashDeployedNow();

  Registry& registry() { return registry_; }

 private:
  void RefreshLoop();
  void RehashLoop();

  Database& db_;
  ServiceOptions options_;
  Registry registry_;
  AlertFn alert_;
  std::atomic<std::shared_ptr<const Snapshot>> snapshot_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread refresh_thread_;
  std::thread rehash_thread_;
};

// The service `serve` started (set by the registry stage), for the gateway's
// /v1/models handler and the admin API; nullptr when none runs.
RegistryService* ActiveRegistryService();
void SetActiveRegistryService(RegistryService* service);

}  // namespace steward::registry
