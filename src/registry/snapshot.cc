#include "registry/snapshot.h"

#include <algorithm>

namespace steward::registry {
namespace {

bool Servable(const VersionEntry& v) {
  return v.state == kStateApproved || v.state == kStateDeployed;
}

std::string RefusalFor(const VersionEntry& v) {
  std::string ref = v.name + "@" + v.version;
  if (v.state == kStateQuarantined) {
    return "model " + ref + " is quarantined: " + v.quarantine_reason +
           " (re-approve it after restoring the registered files)";
  }
  if (v.state == kStateRetired) return "model " + ref + " is retired";
  if (v.state == kStateRegistered) {
    return "model " + ref + " is registered but not approved";
  }
  return "model " + ref + " is " + v.state;
}

}  // namespace

uint32_t SubjectBucket(std::string_view subject) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : subject) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return static_cast<uint32_t>(h % 10000);
}

Snapshot::Snapshot(std::vector<ModelVersion> versions, int64_t generation)
    : generation_(generation) {
  std::sort(versions.begin(), versions.end(), [](const ModelVersion& a, const ModelVersion& b) {
    return a.name != b.name ? a.name < b.name : a.seq < b.seq;
  });
  for (auto& m : versions) {
    VersionEntry e;
    e.name = m.name;
    e.version = m.version;
    e.state = m.state;
    e.deploy_role = m.deploy_role;
    e.canary_percent = m.canary_percent;
    e.manifest_digest = m.manifest_digest;
    e.license = m.license;
    e.non_commercial =
        NormalizeLicense(m.license == "unknown" ? m.license_raw : m.license).non_commercial;
    e.tags = m.tags;
    e.attrs = m.attrs;
    e.quarantine_reason = m.quarantine_reason;
    e.seq = m.seq;
    e.resource_state =
        (m.deploy_role == "canary" && m.state == kStateDeployed) ? "canary" : m.state;
    routes_[m.name].versions.push_back(std::move(e));
  }
  for (auto& [name, route] : routes_) {
    const VersionEntry* primary_role = nullptr;
    const VersionEntry* latest_approved = nullptr;
    for (const auto& v : route.versions) {
      if (v.deploy_role == "primary") primary_role = &v;
      if (v.deploy_role == "canary" && v.state == kStateDeployed) route.canary = &v;
      if (v.state == kStateApproved) latest_approved = &v;
      if (!Servable(v)) pinned_refusals_[v.name + "@" + v.version] = RefusalFor(v);
    }
    if (primary_role) {
      if (Servable(*primary_role)) {
        route.primary = primary_role;
      } else {
        // The deployed primary is quarantined: refuse rather than silently
        // serve another version the operator did not choose.
        route.refusal = RefusalFor(*primary_role);
        route.refused = primary_role;
      }
    } else if (latest_approved) {
      route.primary = latest_approved;
    } else {
      const VersionEntry& last = route.versions.back();
      route.refusal = "model `" + name + "` has no approved version; latest: " + RefusalFor(last);
      route.refused = &last;
    }
    if (route.canary && route.primary) {
      double bp = route.canary->canary_percent * 100.0;
      route.canary_basis_points = static_cast<uint32_t>(std::clamp(bp, 0.0, 10000.0));
    } else {
      route.canary = nullptr;
    }
  }
}

Resolution Snapshot::Resolve(std::string_view model, std::string_view subject) const {
  Resolution r;
  size_t at = model.rfind('@');
  if (at != std::string_view::npos) {
    // Pinned version.
    auto it = routes_.find(model.substr(0, at));
    if (it == routes_.end()) return r;
    std::string_view version = model.substr(at + 1);
    for (const auto& v : it->second.versions) {
      if (v.version != version) continue;
      r.entry = &v;
      if (Servable(v)) {
        r.kind = Resolution::Kind::kServe;
      } else {
        r.kind = Resolution::Kind::kRefuse;
        r.message = pinned_refusals_.at(v.name + "@" + v.version);
      }
      return r;
    }
    return r;  // unknown version: unknown model
  }
  auto it = routes_.find(model);
  if (it == routes_.end()) return r;
  const ModelRoute& route = it->second;
  if (!route.primary) {
    r.kind = Resolution::Kind::kRefuse;
    r.message = route.refusal;
    r.entry = route.refused;
    return r;
  }
  r.kind = Resolution::Kind::kServe;
  r.entry = route.primary;
  if (route.canary && SubjectBucket(subject) < route.canary_basis_points) r.entry = route.canary;
  return r;
}

std::vector<std::string> Snapshot::ServableNames() const {
  std::vector<std::string> names;
  for (const auto& [name, route] : routes_) {
    if (route.primary) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

boost::json::array Snapshot::ToJson() const {
  std::vector<const ModelRoute*> routes;
  for (const auto& [name, route] : routes_) routes.push_back(&route);
  std::sort(routes.begin(), routes.end(), [](const ModelRoute* a, const ModelRoute* b) {
    return a->versions.front().name < b->versions.front().name;
  });
  boost::json::array out;
  for (const ModelRoute* route : routes) {
    boost::json::array versions;
    for (const auto& v : route->versions) {
      boost::json::array tags;
      for (const auto& t : v.tags) tags.emplace_back(t);
      boost::json::object o{{"version", v.version},
                            {"state", v.state},
                            {"deploy_role", v.deploy_role},
                            {"canary_percent", v.canary_percent},
                            {"manifest_digest", v.manifest_digest},
                            {"license", v.license},
                            {"tags", std::move(tags)}};
      if (!v.quarantine_reason.empty()) o["quarantine_reason"] = v.quarantine_reason;
      versions.push_back(std::move(o));
    }
    boost::json::object m{{"name", route->versions.front().name},
                          {"servable", route->primary != nullptr},
                          {"serving_version", route->primary ? route->primary->version : ""},
                          {"versions", std::move(versions)}};
    if (!route->refusal.empty()) m["refusal"] = route->refusal;
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace steward::registry
