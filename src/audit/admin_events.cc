// RecordAdminEvent: admin actions become audit records ("kind":"admin").
// Appends straight through the caller's Database in one transaction; the
// transaction reads the stored tree size first, so this is safe beside a
// running gateway's group-commit writer on the same store.
#include "steward/admin_events.h"

#include "audit/canonical_json.h"
#include "audit/log_store.h"
#include "steward/clock.h"
#include "steward/store.h"

namespace steward {

Result<int64_t> RecordAdminEvent(Database& db, const std::string& data_dir,
                                 const AdminEvent& event) {
  (void)data_dir;  // admin records carry no payloads and need no keys
  if (event.action.empty()) return InvalidArgument("admin event needs an action");
  STEWARD_RETURN_IF_ERROR(db.Migrate(audit::AuditMigrations()));
  const int64_t now = SystemClock::Instance().NowUnixMs();
  boost::json::object record;
  record["v"] = 1;
  record["kind"] = "admin";
  record["time_ms"] = now;
  record["action"] = event.action;
  record["actor"] = event.actor;
  record["target"] = event.target;
  record["details"] = event.details;
  auto leaf = audit::CanonicalJson(record);
  if (!leaf.ok()) return leaf.status().WithContext("admin event " + event.action);
  audit::LeafToAppend l;
  l.leaf = std::move(*leaf);
  l.kind = "admin";
  l.time_ms = now;
  return audit::AppendLeaves(db, {l}, nullptr);
}

}  // namespace steward
