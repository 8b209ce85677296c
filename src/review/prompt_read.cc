#include "review/prompt_read.h"

#include "audit/dsar.h"

namespace steward::review {

namespace json = boost::json;

namespace {
// The held call's record is written when the call ends, just after the
// review was created (its time is the call's start, a little before): the
// scan back from the newest record stops this far before the review.
constexpr int64_t kRecordSlackMs = 10 * 60 * 1000;
}  // namespace

Result<json::object> ReadHeldPrompt(Database& db, const std::string& data_dir, const Review& review,
                                    const std::string& actor, int64_t now_ms) {
  json::object out;
  auto prompt =
      audit::ReadCallPrompt(db, data_dir, review.request_id, review.created_ms - kRecordSlackMs);
  if (!prompt.ok()) {
    if (prompt.status().code() != StatusCode::kNotFound) {
      return prompt.status().WithContext("reading the prompt of review " + review.id);
    }
    out["status"] = "no_audit_record";
    return out;
  }
  json::object details{{"request_id", review.request_id},
                       {"audit_index", prompt->audit_index},
                       {"prompt_status", prompt->status},
                       {"model", review.model}};
  auto recorded = audit::AppendAdminRecord(db, "review.read_prompt", actor, review.id, details,
                                           prompt->subject, now_ms);
  if (!recorded.ok()) {
    return Unavailable("the prompt of review " + review.id +
                       " is not shown: its read cannot be audited (" + recorded.status().message() +
                       ")");
  }
  out["status"] = prompt->status;
  if (prompt->status == "available") out["text"] = std::move(prompt->text);
  if (!prompt->error.empty()) out["error"] = prompt->error;
  out["audit_index"] = prompt->audit_index;
  out["read_audit_index"] = *recorded;
  return out;
}

}  // namespace steward::review
