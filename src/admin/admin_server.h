// The admin listener: /healthz (liveness, no auth), /readyz (every
// readiness check, no auth), /metrics (Prometheus text), the /admin/... JSON
// API and the dashboard at / — all but the probes for admin keys only.
#pragma once

#include <map>

#include "admin/admin_router.h"
#include "identity/key_store.h"
#include "server/http_server.h"

namespace steward::admin {

class AdminServer {
 public:
  explicit AdminServer(identity::KeyStore& keys) : keys_(keys) {}
  server::Task<void> Handle(server::Request& request, const server::Connection& conn, server::ResponseWriter& writer);

 private:
  identity::KeyStore& keys_;
};

// Decides whether an admin may perform an action ("keys.create", ...);
// returns OK or a PermissionDenied naming the rule. The policy module
// provides it; without one every authenticated admin may act.
using AdminAuthorizer = std::function<Status(const Principal&, std::string_view action,
                                             const std::map<std::string, std::string>& resource)>;

// Registers the built-in /admin/keys routes on `router`.
void RegisterKeyRoutes(AdminRouter& router, identity::KeyStore& keys, Database& db, const std::string& data_dir,
                       AdminAuthorizer authorize = nullptr);

}  // namespace steward::admin
