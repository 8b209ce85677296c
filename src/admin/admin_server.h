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

// An admin action as the authoriser sees it.
struct AdminActionSpec {
  std::string action;                           // "keys.create", "keys.revoke", ...
  std::map<std::string, std::string> resource;  // policy resource attributes
  std::map<std::string, std::string> params;    // what makes two requests the same action
  std::string target;                           // for people and the audit log
};

// The authoriser's answer for an admin allowed to act.
struct AdminAuthorization {
  bool execute = true;  // false: held until more distinct admins approve (two-person rule)
  std::string pending_id;
  int approvals = 1;
  int required = 1;
  std::vector<std::string> approvers;  // key ids, in order
  std::string message;                 // why it is held
  // Records how the executed action went (set when there is a pending action).
  std::function<void(const Status&)> finish;
};

// Decides whether an admin may perform an action: PermissionDenied naming
// the rule, AlreadyExists when this admin already approved the held action,
// else an AdminAuthorization. The policy module provides it (with its
// two-person rule); without one every authenticated admin may act.
using AdminAuthorizer =
    std::function<Result<AdminAuthorization>(const Principal&, const AdminActionSpec& action)>;

// 403 / 409 / 503 for an authoriser error; 202 with the pending action.
AdminResponse AuthorizationError(const Status& status);
AdminResponse PendingResponse(const AdminAuthorization& auth, const AdminActionSpec& action);

// Registers the built-in /admin/keys routes on `router`.
void RegisterKeyRoutes(AdminRouter& router, identity::KeyStore& keys, Database& db, const std::string& data_dir,
                       AdminAuthorizer authorize = nullptr);

}  // namespace steward::admin
