#include "policy/engine.h"

#include <sys/stat.h>

#include <filesystem>

#include "policy/default_policy.h"

namespace steward::policy {

PolicyEngine::PolicyEngine(std::vector<std::string> paths, RequestDefaults defaults)
    : paths_(std::move(paths)), defaults_(defaults) {
  Status s = Reload();
  (void)s;  // recorded in load_error_; the engine fails closed until a reload works
}

PolicyEngine::~PolicyEngine() { StopWatching(); }

void PolicyEngine::SetLogger(std::function<void(bool, const std::string&)> log) {
  std::lock_guard lock(mu_);
  log_ = std::move(log);
}

std::string PolicyEngine::load_error() const {
  std::lock_guard lock(mu_);
  return load_error_;
}

std::string PolicyEngine::Fingerprint() const {
  namespace fs = std::filesystem;
  std::string fp;
  auto add = [&](const std::string& p) {
    struct stat st {};
    if (stat(p.c_str(), &st) != 0) {
      fp += p + ":missing;";
      return;
    }
    fp += p + ":" + std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) +
          ":" + std::to_string(st.st_size) + ";";
  };
  for (const auto& p : paths_) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<std::string> files;
      for (const auto& e : fs::directory_iterator(p, ec)) {
        if (e.path().extension() == ".policy") files.push_back(e.path().string());
      }
      std::sort(files.begin(), files.end());
      for (const auto& f : files) add(f);
    } else {
      add(p);
    }
  }
  return fp;
}

Status PolicyEngine::Reload() {
  std::lock_guard lock(mu_);
  last_fingerprint_ = Fingerprint();
  Result<std::shared_ptr<const Bundle>> loaded =
      paths_.empty() ? DefaultBundle() : LoadBundle(paths_);
  if (!loaded.ok()) {
    reloads_failed_.fetch_add(1);
    bool have_old = bundle_.load() != nullptr;
    load_error_ = loaded.status().message();
    if (log_) {
      log_(false,
           std::string("policy bundle rejected") +
               (have_old ? " (keeping the previous bundle)" : " (no bundle: refusing calls)") +
               ":\n" + load_error_);
    }
    return loaded.status();
  }
  std::shared_ptr<const Bundle> next = *loaded;
  std::shared_ptr<const Bundle> previous = bundle_.exchange(next);
  load_error_.clear();
  reloads_ok_.fetch_add(1);
  if (log_ && (!previous || previous->hash() != next->hash())) {
    log_(true, "policy bundle " + next->hash().substr(0, 12) + " loaded (" +
                   std::to_string(next->rules().size()) + " rules)");
  }
  return Status::Ok();
}

void PolicyEngine::StartWatching(int64_t poll_ms) {
  if (paths_.empty() || watcher_.joinable()) return;
  {
    std::lock_guard lock(watch_mu_);
    stop_ = false;
  }
  watcher_ = std::thread([this, poll_ms] { WatchLoop(poll_ms); });
}

void PolicyEngine::StopWatching() {
  {
    std::lock_guard lock(watch_mu_);
    stop_ = true;
  }
  watch_cv_.notify_all();
  if (watcher_.joinable()) watcher_.join();
}

void PolicyEngine::WatchLoop(int64_t poll_ms) {
  std::unique_lock lock(watch_mu_);
  while (!stop_) {
    watch_cv_.wait_for(lock, std::chrono::milliseconds(poll_ms), [this] { return stop_; });
    if (stop_) break;
    lock.unlock();
    std::string fp = Fingerprint();
    bool changed;
    {
      std::lock_guard l(mu_);
      changed = fp != last_fingerprint_;
    }
    if (changed) (void)Reload();
    lock.lock();
  }
}

Decision PolicyEngine::Authorize(const Request& request) const {
  std::shared_ptr<const Bundle> b = bundle_.load();
  if (!b) {
    Decision d;
    d.verdict = Verdict::kDeny;
    std::string error = load_error();
    d.message = "no policy bundle could be loaded; refusing every call (fail closed)";
    d.errors.push_back("policy: " + error);
    return d;
  }
  return b->Authorize(request);
}

Decision PolicyEngine::AuthorizeAdmin(const Principal& principal, std::string_view action,
                                      const std::map<std::string, std::string>& resource,
                                      int64_t unix_ms) const {
  return Authorize(AdminRequest(principal, action, resource, unix_ms));
}

Status CheckApprovals(const Decision& decision, const std::vector<std::string>& approver_key_ids) {
  std::set<std::string> distinct;
  for (const auto& k : approver_key_ids) {
    if (!k.empty()) distinct.insert(k);
  }
  int need = std::max(1, decision.obligations.approvals);
  if (static_cast<int>(distinct.size()) >= need) return Status::Ok();
  return FailedPrecondition("needs approval by " + std::to_string(need) + " distinct admins, has " +
                            std::to_string(distinct.size()));
}

}  // namespace steward::policy
