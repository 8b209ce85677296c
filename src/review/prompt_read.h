// A reviewer reads the prompt of a held call. The queue stores no prompt
// text; the call's audit record has it in the encrypted payload store
// (audit::ReadCallPrompt decrypts it with the data subject's key). Reading
// a prompt is data access, so every read that decrypted something is first
// an audit admin record `review.read_prompt` (filed under the data subject,
// so the subject's DSAR export shows who read it); when that record cannot
// be written the text is not shown.
#pragma once

#include <boost/json.hpp>
#include <string>

#include "review/review_queue.h"
#include "steward/status.h"
#include "steward/store.h"

namespace steward::review {

// {"status": "available"|"erased"|"expired"|"not_recorded"|"unavailable"|
//  "corrupt"|"no_audit_record", "text" (when available), "audit_index" (the
// held call's record), "read_audit_index" (the review.read_prompt record)}.
// "no_audit_record": the call left none (no audit stage); nothing is read
// and nothing recorded then.
Result<boost::json::object> ReadHeldPrompt(Database& db, const std::string& data_dir,
                                           const Review& review, const std::string& actor,
                                           int64_t now_ms);

}  // namespace steward::review
