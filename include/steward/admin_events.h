// Admin actions (keys created/revoked, models registered/approved/retired,
// reviews decided, subjects erased, policy reloads) become audit records.
// Implemented by the audit module (src/audit); any module or CLI command that
// performs an admin action calls RecordAdminEvent.
#pragma once

#include <boost/json.hpp>
#include <string>
#include <string_view>

#include "steward/status.h"

namespace steward {

class Database;
class Clock;

struct AdminEvent {
  std::string action;      // "keys.create", "models.approve", "dsar.erase", ...
  std::string actor;       // admin key id, or "cli:<unix user>" for local CLI use
  std::string target;      // what it acted on: key id, "name@version", subject pseudonym
  boost::json::object details;  // no secrets, no prompt text
};

// Appends one admin-action record to the audit log stored in `db` (with the
// data_dir's signing/pseudonym keys). Returns the leaf index.
Result<int64_t> RecordAdminEvent(Database& db, const std::string& data_dir, const AdminEvent& event);

}  // namespace steward
