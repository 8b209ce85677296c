// The registry as the request path sees it: an immutable in-memory snapshot
// of every model version, rebuilt when the store's generation changes, and
// the routing decision for one request (which version serves it, or why the
// model is refused). Resolve() does no I/O and no allocation on the serve
// path beyond what the caller copies out.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "registry/registry.h"

namespace steward::registry {

struct VersionEntry {
  std::string name;
  std::string version;
  std::string state;
  std::string deploy_role;
  double canary_percent = 0;
  std::string manifest_digest;
  std::string license;
  bool non_commercial = false;
  std::vector<std::string> tags;
  std::map<std::string, std::string> attrs;
  std::string quarantine_reason;
  int64_t seq = 0;
  // "canary" for a canary, otherwise the state: what policy sees.
  std::string resource_state;
};

// The routing plan for one model name, computed when the snapshot is built.
struct ModelRoute {
  std::vector<VersionEntry> versions;     // by registration order
  const VersionEntry* primary = nullptr;  // servable default
  const VersionEntry* canary = nullptr;
  uint32_t canary_basis_points = 0;       // 0..10000
  std::string refusal;                    // non-empty: why the name is not servable
  const VersionEntry* refused = nullptr;  // the version the refusal is about
};

struct Resolution {
  enum class Kind { kUnknown, kServe, kRefuse };
  Kind kind = Kind::kUnknown;
  const VersionEntry* entry = nullptr;  // kServe (and kRefuse for a pinned version)
  std::string_view message;             // kRefuse
};

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

class Snapshot {
 public:
  Snapshot() = default;
  // Routes point into their own version lists: not copyable.
  Snapshot(const Snapshot&) = delete;
  Snapshot& operator=(const Snapshot&) = delete;
  Snapshot(std::vector<ModelVersion> versions, int64_t generation);

  // "name" or "name@version" (pinned). `subject` picks the canary bucket.
  Resolution Resolve(std::string_view model, std::string_view subject) const;

  // Names (and nothing else) that currently have a servable version.
  std::vector<std::string> ServableNames() const;
  boost::json::array ToJson() const;
  int64_t generation() const { return generation_; }

 private:
  std::unordered_map<std::string, ModelRoute, StringHash, std::equal_to<>> routes_;
  std::unordered_map<std::string, std::string> pinned_refusals_;  // "name@v" -> message
  int64_t generation_ = -1;
};

// Stable bucket 0..9999 for a subject (FNV-1a), so a subject always lands
// on the same side of a canary split.
uint32_t SubjectBucket(std::string_view subject);

}  // namespace steward::registry
