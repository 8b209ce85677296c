// The registry of stage factories by name. A stage folder registers itself
// with STEWARD_REGISTER_STAGE; the pipeline builds stages by the names listed
// in config (`pipeline:`), so adding a stage is adding a folder.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "steward/stage.h"

namespace steward::pipeline {

class StageRegistry {
 public:
  static StageRegistry& Global();

  void Register(std::string name, StageFactory factory);
  const StageFactory* Find(const std::string& name) const;
  std::vector<std::string> Names() const;

 private:
  std::map<std::string, StageFactory> factories_;
};

struct StageRegistrar {
  StageRegistrar(const char* name, StageFactory factory) {
    StageRegistry::Global().Register(name, std::move(factory));
  }
};

}  // namespace steward::pipeline

// Registers a StageFactory under `name` at static-initialisation time. The
// stage's folder must be built with steward_stage() (an OBJECT library) so
// the linker keeps the registration.
#define STEWARD_REGISTER_STAGE(name, factory) \
  static ::steward::pipeline::StageRegistrar STEWARD_CONCAT(steward_stage_registrar_, __LINE__)(name, factory)
