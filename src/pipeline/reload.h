// Reload hooks: `steward serve` calls every registered hook on SIGHUP (and
// modules may also call their own on file change). A hook must validate the
// new state fully before swapping it in, and keep the old one on error.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "steward/status.h"

namespace steward::pipeline {

using ReloadHook = std::function<Status()>;

void AddReloadHook(std::string name, ReloadHook hook);
// Runs every hook; returns the failures as "name: message".
std::vector<std::string> RunReloadHooks();

}  // namespace steward::pipeline
