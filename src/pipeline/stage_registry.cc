#include "pipeline/stage_registry.h"

namespace steward::pipeline {

StageRegistry& StageRegistry::Global() {
  static StageRegistry* registry = new StageRegistry();
  return *registry;
}

void StageRegistry::Register(std::string name, StageFactory factory) {
  factories_[std::move(name)] = std::move(factory);
}

const StageFactory* StageRegistry::Find(const std::string& name) const {
  auto it = factories_.find(name);
  return it == factories_.end() ? nullptr : &it->second;
}

std::vector<std::string> StageRegistry::Names() const {
  std::vector<std::string> names;
  for (const auto& [name, f] : factories_) names.push_back(name);
  return names;
}

}  // namespace steward::pipeline
