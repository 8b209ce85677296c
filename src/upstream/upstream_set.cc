// The parts of the upstream module without I/O: model matching and the set
// of upstreams (kept apart so fuzzers and tests link them without Asio's
// coroutine machinery).
#include "upstream/upstream_client.h"

namespace steward::upstream {

bool Upstream::Serves(std::string_view model) const {
  for (const auto& m : config_.models) {
    if (m == "*" || m == model) return true;
    // "prefix*" matches a family of names.
    if (!m.empty() && m.back() == '*' && model.substr(0, m.size() - 1) == std::string_view(m).substr(0, m.size() - 1))
      return true;
  }
  return false;
}

}  // namespace steward::upstream

namespace steward::upstream {

UpstreamSet::UpstreamSet(const std::vector<config::UpstreamConfig>& configs, const Clock& clock) {
  for (const auto& c : configs) upstreams_.push_back(std::make_unique<Upstream>(c, clock));
}

Upstream* UpstreamSet::ForModel(std::string_view model) const {
  for (const auto& u : upstreams_) {
    if (u->Serves(model)) return u.get();
  }
  return nullptr;
}

Upstream* UpstreamSet::ByName(std::string_view name) const {
  for (const auto& u : upstreams_) {
    if (u->name() == name) return u.get();
  }
  return nullptr;
}

}  // namespace steward::upstream
