#include "policy/approvals.h"

#include <algorithm>

#include "common/strings.h"

namespace steward::policy {

namespace json = boost::json;

AdminGate::AdminGate(const PolicyEngine& engine, Database& db, const Clock& clock, int64_t ttl_ms,
                     ApprovalEventSink sink)
    : engine_(engine), db_(db), clock_(clock), ttl_ms_(ttl_ms), sink_(std::move(sink)) {}

std::vector<Migration> AdminGate::Migrations() {
  return {{"policy_approvals", 1,
           "CREATE TABLE policy_pending_actions ("
           " id TEXT PRIMARY KEY,"
           " fingerprint TEXT NOT NULL,"
           " action TEXT NOT NULL,"
           " target TEXT NOT NULL,"
           " required BIGINT NOT NULL,"
           " state TEXT NOT NULL,"
           " result TEXT NOT NULL,"
           " created_ms BIGINT NOT NULL,"
           " expires_ms BIGINT NOT NULL,"
           " closed_ms BIGINT NOT NULL);"
           "CREATE INDEX policy_pending_by_fingerprint"
           " ON policy_pending_actions (fingerprint, state);"
           "CREATE TABLE policy_approvals ("
           " pending_id TEXT NOT NULL,"
           " approver TEXT NOT NULL,"
           " approver_name TEXT NOT NULL,"
           " seq BIGINT NOT NULL,"
           " approved_ms BIGINT NOT NULL,"
           " PRIMARY KEY (pending_id, approver))"}};
}

Status AdminGate::Init() { return db_.Migrate(Migrations()); }

std::string AdminGate::Fingerprint(const AdminAction& action) {
  // Length-prefixed fields: no separator can be forged by a value.
  std::string input = std::to_string(action.action.size()) + ":" + action.action;
  for (const auto& [k, v] : action.params) {
    input += std::to_string(k.size()) + ":" + k + std::to_string(v.size()) + ":" + v;
  }
  return Sha256Hex(input);
}

std::string PendingMessage(const GateOutcome& o, const AdminAction& action) {
  return "approval " + std::to_string(o.approvals) + " of " + std::to_string(o.required) +
         " recorded for " + action.action + " " + action.target + " (pending action " +
         o.pending_id + "); it runs when " + std::to_string(o.required - o.approvals) +
         " more distinct admin" + (o.required - o.approvals == 1 ? "" : "s") +
         " request the same action";
}

Result<GateOutcome> AdminGate::Submit(const Principal& who, const AdminAction& action) {
  const int64_t now = clock_.NowUnixMs();
  GateOutcome out;
  out.decision = engine_.AuthorizeAdmin(who, action.action, action.resource, now);
  const Decision& d = out.decision;
  if (d.verdict != Verdict::kPermit) {
    std::string who_text = who.key_id.empty() ? std::string("the caller")
                                              : "key " + who.key_id + " (role `" + who.role + "`)";
    return PermissionDenied(who_text + " may not " + action.action + ": " +
                            (d.message.empty() ? "denied by policy" : d.message));
  }
  out.required = std::max(1, d.obligations.approvals);
  out.approvers = {who.key_id};
  if (out.required <= 1) {
    out.execute = true;
    return out;
  }
  if (who.key_id.empty()) {
    return PermissionDenied(action.action + " needs approval by " + std::to_string(out.required) +
                            " distinct admins (two-person rule); act with an admin API key");
  }

  const std::string fingerprint = Fingerprint(action);
  STEWARD_ASSIGN_OR_RETURN(auto tx, db_.Begin());
  STEWARD_RETURN_IF_ERROR(
      tx->Exec("UPDATE policy_pending_actions SET state='expired', closed_ms=$1 "
               "WHERE state='pending' AND expires_ms <= $1",
               {now}));
  STEWARD_ASSIGN_OR_RETURN(auto rows, tx->Query("SELECT id, required FROM policy_pending_actions "
                                                "WHERE fingerprint=$1 AND state='pending'",
                                                {fingerprint}));
  std::vector<std::string> approvers;
  if (rows.empty()) {
    out.pending_id = "pa_" + RandomHex(8);
    STEWARD_RETURN_IF_ERROR(tx->Exec(
        "INSERT INTO policy_pending_actions (id, fingerprint, action, target, required, state, "
        "result, created_ms, expires_ms, closed_ms) "
        "VALUES ($1, $2, $3, $4, $5, 'pending', '', $6, $7, 0)",
        {out.pending_id, fingerprint, action.action, action.target,
         static_cast<int64_t>(out.required), now, now + ttl_ms_}));
  } else {
    out.pending_id = rows[0].Text(0);
    // A stricter bundle since the first approval raises the bar, never lowers it.
    out.required = std::max(out.required, static_cast<int>(rows[0].Int(1)));
    STEWARD_ASSIGN_OR_RETURN(auto prior, tx->Query("SELECT approver FROM policy_approvals "
                                                   "WHERE pending_id=$1 ORDER BY seq",
                                                   {out.pending_id}));
    for (const auto& r : prior) approvers.push_back(r.Text(0));
  }
  if (std::find(approvers.begin(), approvers.end(), who.key_id) != approvers.end()) {
    tx.reset();  // roll back (nothing was written but the expiry sweep)
    if (sink_) {
      sink_("policy.approval.refused", who.key_id, out.pending_id,
            json::object{{"action", action.action},
                         {"target", action.target},
                         {"reason", "same admin approved twice"}});
    }
    return AlreadyExists("key " + who.key_id + " already approved pending action " +
                         out.pending_id + " (" + action.action + " " + action.target +
                         "); the two-person rule needs a different admin to approve it");
  }
  approvers.push_back(who.key_id);
  STEWARD_RETURN_IF_ERROR(tx->Exec(
      "INSERT INTO policy_approvals (pending_id, approver, approver_name, seq, "
      "approved_ms) VALUES ($1, $2, $3, $4, $5)",
      {out.pending_id, who.key_id, who.name, static_cast<int64_t>(approvers.size()), now}));
  out.approvals = static_cast<int>(approvers.size());
  out.approvers = approvers;
  out.execute = out.approvals >= out.required;
  if (out.execute) {
    STEWARD_RETURN_IF_ERROR(
        tx->Exec("UPDATE policy_pending_actions SET state='executing', closed_ms=$1 WHERE id=$2",
                 {now, out.pending_id}));
  }
  STEWARD_RETURN_IF_ERROR(tx->Commit());
  if (sink_) {
    json::array list;
    for (const auto& a : approvers) list.emplace_back(a);
    sink_("policy.approval", who.key_id, out.pending_id,
          json::object{{"action", action.action},
                       {"target", action.target},
                       {"approvals", out.approvals},
                       {"required", out.required},
                       {"approvers", std::move(list)},
                       {"executes", out.execute},
                       {"rules", json::array(d.reasons.begin(), d.reasons.end())}});
  }
  return out;
}

Status AdminGate::Finish(const std::string& pending_id, const Status& result) {
  if (pending_id.empty()) return Status::Ok();
  return db_.Exec("UPDATE policy_pending_actions SET state=$1, result=$2, closed_ms=$3 WHERE id=$4",
                  {std::string(result.ok() ? "executed" : "failed"),
                   result.ok() ? "" : result.message(), clock_.NowUnixMs(), pending_id});
}

Result<std::vector<PendingAction>> AdminGate::List(bool pending_only) {
  const int64_t now = clock_.NowUnixMs();
  STEWARD_ASSIGN_OR_RETURN(
      auto rows,
      db_.Query(std::string("SELECT id, action, target, state, required, created_ms, expires_ms "
                            "FROM policy_pending_actions") +
                    (pending_only ? " WHERE state='pending' AND expires_ms > $1" : "") +
                    " ORDER BY created_ms, id",
                pending_only ? std::vector<Value>{now} : std::vector<Value>{}));
  std::vector<PendingAction> out;
  for (const auto& r : rows) {
    PendingAction p;
    p.id = r.Text(0);
    p.action = r.Text(1);
    p.target = r.Text(2);
    p.state = r.Text(3);
    if (p.state == "pending" && r.Int(6) <= now) p.state = "expired";
    p.required = static_cast<int>(r.Int(4));
    p.created_ms = r.Int(5);
    p.expires_ms = r.Int(6);
    STEWARD_ASSIGN_OR_RETURN(
        auto approvers,
        db_.Query("SELECT approver FROM policy_approvals WHERE pending_id=$1 ORDER BY seq",
                  {p.id}));
    for (const auto& a : approvers) p.approvers.push_back(a.Text(0));
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace steward::policy
