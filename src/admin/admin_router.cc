#include "admin/admin_router.h"

namespace steward::admin {

std::string AdminRequest::QueryParam(std::string_view name) const {
  size_t pos = 0;
  while (pos <= query.size()) {
    size_t amp = query.find('&', pos);
    std::string_view part = std::string_view(query).substr(pos, amp == std::string::npos ? std::string::npos : amp - pos);
    size_t eq = part.find('=');
    if (part.substr(0, eq) == name) return eq == std::string_view::npos ? "" : std::string(part.substr(eq + 1));
    if (amp == std::string::npos) break;
    pos = amp + 1;
  }
  return "";
}

AdminResponse AdminResponse::Error(int status, std::string_view code, std::string_view message) {
  return {status, ErrorBody(message, status >= 500 ? "server_error" : "invalid_request_error", code)};
}

AdminRouter& AdminRouter::Global() {
  static auto* router = new AdminRouter();
  return *router;
}

void AdminRouter::Add(std::string method, std::string path, AdminHandler handler) {
  std::lock_guard lock(mu_);
  routes_.push_back({std::move(method), std::move(path), std::move(handler)});
}

void AdminRouter::AddReadinessCheck(std::string name, ReadinessCheck check) {
  std::lock_guard lock(mu_);
  checks_.emplace_back(std::move(name), std::move(check));
}

const AdminHandler* AdminRouter::Find(const std::string& method, const std::string& path, bool* method_mismatch) const {
  std::lock_guard lock(mu_);
  *method_mismatch = false;
  const Route* best = nullptr;
  for (const auto& r : routes_) {
    bool match = r.path == path || (r.path.back() == '/' && path.rfind(r.path, 0) == 0);
    if (!match) continue;
    if (r.method != method) {
      *method_mismatch = true;
      continue;
    }
    if (!best || r.path.size() > best->path.size()) best = &r;
  }
  if (best) *method_mismatch = false;
  return best ? &best->handler : nullptr;
}

std::vector<std::pair<std::string, Status>> AdminRouter::CheckReadiness() const {
  std::vector<std::pair<std::string, ReadinessCheck>> checks;
  {
    std::lock_guard lock(mu_);
    checks = checks_;
  }
  std::vector<std::pair<std::string, Status>> out;
  for (auto& [name, check] : checks) out.emplace_back(name, check());
  return out;
}

}  // namespace steward::admin
