// The policy engine a running gateway holds: the current bundle behind an
// atomic pointer, reload (check first, then swap; a bad bundle keeps the old
// one), an optional file watcher, and admin-plane authorisation.
//
// Published in the ServiceRegistry as `policy::PolicyEngine` by the policy
// stage so the admin API can call AuthorizeAdmin() (and AdminGate, approvals.h).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "policy/authorizer.h"
#include "policy/request.h"
#include "steward/stage.h"
#include "steward/status.h"

namespace steward::policy {

class PolicyEngine {
 public:
  // `paths` empty: the built-in default bundle. The engine starts with no
  // bundle if the first load fails: every decision is then a deny naming the
  // load error (fail closed) until a reload succeeds.
  PolicyEngine(std::vector<std::string> paths, RequestDefaults defaults);
  ~PolicyEngine();
  PolicyEngine(const PolicyEngine&) = delete;
  PolicyEngine& operator=(const PolicyEngine&) = delete;

  // Where reload outcomes go (the stage logs them). Set before Start/Reload.
  void SetLogger(std::function<void(bool ok, const std::string& message)> log);

  // Loads the bundle again; on success swaps it in, else keeps the current
  // one and returns the error.
  Status Reload();
  // Polls the files' modification times every `poll_ms` and reloads on change.
  void StartWatching(int64_t poll_ms);
  void StopWatching();

  // The current bundle, or null when none could ever be loaded.
  std::shared_ptr<const Bundle> bundle() const { return bundle_.load(); }
  std::string load_error() const;
  const RequestDefaults& defaults() const { return defaults_; }
  uint64_t reloads_ok() const { return reloads_ok_.load(); }
  uint64_t reloads_failed() const { return reloads_failed_.load(); }

  Decision Authorize(const Request& request) const;

  // Admin-plane authorisation: `action` such as "keys.create",
  // "models.approve", "reviews.approve", "subjects.erase"; `resource` keys are
  // resource attribute names ("name", "version", "state", "license", ...).
  Decision AuthorizeAdmin(const Principal& principal, std::string_view action,
                          const std::map<std::string, std::string>& resource,
                          int64_t unix_ms) const;

 private:
  std::string Fingerprint() const;  // paths + mtimes + sizes
  void WatchLoop(int64_t poll_ms);

  std::vector<std::string> paths_;
  RequestDefaults defaults_;
  std::atomic<std::shared_ptr<const Bundle>> bundle_;
  mutable std::mutex mu_;  // guards load_error_, log_, last_fingerprint_, reload
  std::string load_error_;
  std::string last_fingerprint_;
  std::function<void(bool, const std::string&)> log_;
  std::atomic<uint64_t> reloads_ok_{0}, reloads_failed_{0};

  std::mutex watch_mu_;
  std::condition_variable watch_cv_;
  bool stop_ = false;
  std::thread watcher_;
};

// The two-person rule itself (pending actions, distinct approvers) is
// AdminGate in policy/approvals.h.

// Stateless form for callers that store approvals themselves: OK when the
// distinct `approver_key_ids` meet `decision`'s require_approvals count.
Status CheckApprovals(const Decision& decision, const std::vector<std::string>& approver_key_ids);

}  // namespace steward::policy
