// The two-person rule for admin actions, persisted in the store.
//
// An admin action (keys.create, keys.revoke, models.approve, subjects.erase,
// ...) is first authorised by the policy engine for the acting admin. When
// the decision carries `require_approvals(N)` with N > 1 the action is not
// executed: it is recorded as a pending action (identified by a fingerprint
// of the action and its parameters) with the admin's approval. The same
// action requested again by a *different* admin, also authorised by policy,
// adds an approval; the request that brings the count to N executes it. The
// same admin approving twice is refused. Pending actions expire after a TTL.
//
// Approvers are identified by API key id: issue one admin key per person.
// Every approval is reported to the event sink (an audit record).
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "policy/engine.h"
#include "steward/clock.h"
#include "steward/stage.h"
#include "steward/status.h"
#include "steward/store.h"

namespace steward::policy {

struct AdminAction {
  std::string action;                           // "keys.create"
  std::map<std::string, std::string> resource;  // policy resource attributes
  // Everything that makes two requests the same action (hashed into the
  // fingerprint, never stored): {"name": .., "role": ..}, {"subject": ..}.
  std::map<std::string, std::string> params;
  std::string target;  // what it acts on, for people and the audit log (no secrets)
};

struct GateOutcome {
  bool execute = false;    // run the action now
  std::string pending_id;  // "" when a single approval sufficed
  int approvals = 1;       // distinct approvals so far (this one included)
  int required = 1;
  std::vector<std::string> approvers;  // key ids in approval order
  Decision decision;                   // the acting admin's decision
};

struct PendingAction {
  std::string id, action, target, state;  // state: pending|executed|failed|expired
  int required = 0;
  std::vector<std::string> approvers;
  int64_t created_ms = 0, expires_ms = 0;
};

// Receives one event per approval ("policy.approval") and per refused
// approval ("policy.approval.refused"): actor key id, target pending id.
using ApprovalEventSink =
    std::function<void(const std::string& event, const std::string& actor,
                       const std::string& target, boost::json::object details)>;

class AdminGate {
 public:
  AdminGate(const PolicyEngine& engine, Database& db, const Clock& clock, int64_t ttl_ms,
            ApprovalEventSink sink = nullptr);

  static std::vector<Migration> Migrations();
  Status Init();  // applies the migrations

  // Authorises `who` for `action` and applies the two-person rule.
  // PermissionDenied: the policy forbids it (the message names the rule), or
  // approvals are required and `who` has no key id. AlreadyExists: `who`
  // already approved the pending action.
  Result<GateOutcome> Submit(const Principal& who, const AdminAction& action);

  // After executing an action whose outcome had a pending id: records
  // whether it worked (a failed one can be requested afresh).
  Status Finish(const std::string& pending_id, const Status& result);

  Result<std::vector<PendingAction>> List(bool pending_only);

  static std::string Fingerprint(const AdminAction& action);

 private:
  const PolicyEngine& engine_;
  Database& db_;
  const Clock& clock_;
  int64_t ttl_ms_;
  ApprovalEventSink sink_;
};

// The message for a pending outcome: "approval 1 of 2 recorded for ...".
std::string PendingMessage(const GateOutcome& outcome, const AdminAction& action);

}  // namespace steward::policy
