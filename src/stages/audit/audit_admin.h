// The audit log on the admin plane (admin keys only), for dashboards and
// auditors' tools that ask the running gateway instead of a copy of the
// store. Every document has the shape the CLI prints (audit/proof_json.h):
//   GET  /admin/audit/sth                       the newest signed tree head
//   POST /admin/audit/sth                       publish a head now, return it
//   GET  /admin/audit/proof/{index}[?size=N]    inclusion proof (`audit prove`)
//   GET  /admin/audit/consistency?first=A&second=B   (`audit consistency`)
//   GET  /admin/audit/records/{index}           one record, its exact bytes
//   GET  /admin/audit/records?from=I[&limit=N]  records from I on (N <= 1000)
// Records hold no prompt text (hashes, pseudonyms, an encrypted-payload
// reference). Reads use a store connection of their own, opened on first
// use, never the writer's, so a proof does not wait for a commit.
#pragma once

#include <memory>

#include "audit/audit_log.h"

namespace steward::audit {

// Registers the routes (once per process) and makes `log` the one they
// answer for; they answer 503 once it is gone.
void ServeAuditOnAdminPlane(const std::shared_ptr<AuditLog>& log);

}  // namespace steward::audit
