#include "pipeline/reload.h"

#include <mutex>

namespace steward::pipeline {
namespace {

std::mutex& Mu() {
  static std::mutex mu;
  return mu;
}
std::vector<std::pair<std::string, ReloadHook>>& Hooks() {
  static auto* hooks = new std::vector<std::pair<std::string, ReloadHook>>();
  return *hooks;
}

}  // namespace

void AddReloadHook(std::string name, ReloadHook hook) {
  std::lock_guard lock(Mu());
  Hooks().emplace_back(std::move(name), std::move(hook));
}

std::vector<std::string> RunReloadHooks() {
  std::vector<std::pair<std::string, ReloadHook>> hooks;
  {
    std::lock_guard lock(Mu());
    hooks = Hooks();
  }
  std::vector<std::string> failures;
  for (auto& [name, hook] : hooks) {
    Status s = hook();
    if (!s.ok()) failures.push_back(name + ": " + s.message());
  }
  return failures;
}

}  // namespace steward::pipeline
