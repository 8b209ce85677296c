// The policy's AdminGate (two-person rule) as the admin plane's authoriser,
// shared by serve's admin routes and the review stage's. Header-only:
// steward_admin does not link the policy library; its callers link both.
#pragma once

#include <spdlog/spdlog.h>

#include <functional>
#include <string>

#include "admin/admin_server.h"
#include "policy/approvals.h"

namespace steward::admin {

// Submits `spec` to `gate`. When the action was held and now executes,
// `finish_pending(id, result)` records how it went on the gate holding it.
inline Result<AdminAuthorization> AuthorizeThroughGate(
    policy::AdminGate& gate, const Principal& who, const AdminActionSpec& spec,
    std::function<Status(const std::string& pending_id, const Status& result)> finish_pending) {
  policy::AdminAction action{spec.action, spec.resource, spec.params, spec.target};
  STEWARD_ASSIGN_OR_RETURN(policy::GateOutcome o, gate.Submit(who, action));
  AdminAuthorization out;
  out.execute = o.execute;
  out.pending_id = o.pending_id;
  out.approvals = o.approvals;
  out.required = o.required;
  out.approvers = o.approvers;
  if (!o.execute) out.message = policy::PendingMessage(o, action);
  if (!o.pending_id.empty()) {
    out.finish = [finish_pending = std::move(finish_pending),
                  id = o.pending_id](const Status& result) {
      if (Status s = finish_pending(id, result); !s.ok()) {
        spdlog::error("pending action {} outcome not recorded: {}", id, s.message());
      }
    };
  }
  return out;
}

}  // namespace steward::admin
