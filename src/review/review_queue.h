// The human review queue: calls a policy holds for review (`require_review`)
// wait here for a person to approve or reject them.
//
// A review row records who asked (key id, key name, role, the subject's
// audit pseudonym — never the raw subject), what (model, endpoint), why (the
// policy's reasons and message), a SHA-256 of the request (RequestHash in
// review_sink.h) and the held call's request id, by which a reviewer finds
// its audit record and encrypted prompt. The prompt itself is never stored
// here: no plaintext reaches disk through the queue.
//
// Life of a review:
//   pending --approve--> approved --redeem (same key, same request)--> used
//                                 <--release (that call was not served)--
//   pending --reject---> rejected
//   pending --TTL------> expired
// Every transition but expiry is an atomic compare-and-set in one store
// transaction, so two reviewers (or two processes: the CLI beside a running
// gateway) cannot both decide one review, and an approval lets exactly one
// call through.
#pragma once

#include <yaml-cpp/yaml.h>

#include <boost/json.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "steward/admin_events.h"
#include "steward/clock.h"
#include "steward/status.h"
#include "steward/store.h"

namespace steward::review {

inline constexpr std::string_view kPending = "pending";
inline constexpr std::string_view kApproved = "approved";
inline constexpr std::string_view kRejected = "rejected";
inline constexpr std::string_view kExpired = "expired";
inline constexpr std::string_view kUsed = "used";

// True for the five state names above.
bool IsReviewStatus(std::string_view status);

struct ReviewOptions {
  int64_t ttl_ms = 24 * 3600 * 1000;  // pending reviews expire after this
};

// Reads the top-level `review:` section (absent: defaults):
//   review:
//     ttl_hours: 24     # pending reviews expire (> 0; fractions allowed)
// Unknown keys and bad values are errors naming file:line:col.
Result<ReviewOptions> ReadReviewOptions(const std::string& file, const YAML::Node& root);

struct Review {
  std::string id;  // "rev_" + 24 hex digits
  int64_t created_ms = 0;
  int64_t expires_ms = 0;
  std::string status;  // one of the states above
  std::string key_id, key_name, role;
  std::string subject;  // audit pseudonym of the data subject, "" when none
  std::string model, endpoint;
  std::vector<std::string> reasons;  // ids of the policy rules that asked for review
  std::string message;               // the policy's message (require_review reasons)
  std::string request_hash;          // hex SHA-256, see RequestHash
  std::string request_id;            // the held call's request id (its audit record)
  std::string decided_by;            // "key:<id>" or "cli:<user>"; "steward" for expiry
  int64_t decided_ms = 0;
  std::string note;
  std::string used_request_id;  // the call the approval let through
  int64_t used_ms = 0;
};

// What a held call leaves in the queue.
struct NewReview {
  std::string key_id, key_name, role, subject, model, endpoint;
  std::vector<std::string> reasons;
  std::string message;
  std::string request_hash;
  std::string request_id;
};

// A re-sent call that names a review (Redeem).
struct Redemption {
  enum class Outcome {
    kProceed,   // approved for this key and request: now used, the call goes on
    kPending,   // nobody decided yet: hold again (202, same id)
    kRejected,  // a reviewer rejected it (message names the note)
    kRefused,   // unknown, another key's, another request, expired or used
  };
  Outcome outcome = Outcome::kRefused;
  std::string message;  // for kRejected / kRefused: what the client is told
  Review review;        // the review as it stands (empty for an unknown id)
};

class ReviewQueue {
 public:
  ReviewQueue(Database& db, const Clock& clock, ReviewOptions options);

  static std::vector<Migration> Migrations();
  Status Init();  // applies the migrations

  // Stores a pending review; returns it with its new id (Prepare + Insert).
  Result<Review> Create(const NewReview& request);

  // The pending review `request` becomes (new id, created/expiry times),
  // without touching the store: the request path builds it, a writer
  // thread inserts it (ReviewWriter).
  Result<Review> Prepare(const NewReview& request) const;
  // Stores prepared reviews; InsertAll in one transaction (one sync for a
  // batch), all or none.
  Status Insert(const Review& review);
  Status InsertAll(const std::vector<Review>& reviews);

  // NotFound naming the id when there is none. A pending review past its
  // expiry reads as expired.
  Result<Review> Get(const std::string& id);

  // Newest first; `status` "" for all, else one state name (InvalidArgument
  // otherwise). Marks overdue pending reviews expired first.
  Result<std::vector<Review>> List(const std::string& status = "", int64_t limit = 1000);

  // Approves or rejects a pending review as `actor`. NotFound for an unknown
  // id; FailedPrecondition naming the current state when it is not pending
  // (decided, used or expired).
  Result<Review> Decide(const std::string& id, bool approve, const std::string& actor,
                        const std::string& note);

  // The client re-sent a call with `x-steward-review-id: id`. Only errors of
  // the store are errors; every other answer is a Redemption.
  Result<Redemption> Redeem(const std::string& id, const std::string& key_id,
                            const std::string& request_hash, const std::string& request_id);

  // Gives a used approval back (status approved again) when the call that
  // used it, `request_id`, was not served. No-op when that call does not hold it.
  Status Release(const std::string& id, const std::string& request_id);

  // Marks every pending review past its expiry expired; returns how many.
  Result<int64_t> ExpireOverdue();

  // Pending reviews not yet expired (the steward_reviews_pending gauge).
  Result<int64_t> CountPending();

  const ReviewOptions& options() const { return options_; }

 private:
  Database& db_;
  const Clock& clock_;
  ReviewOptions options_;
};

// A review as the admin API and `review list --json` show it: every field
// above, "review_id" for the id, decided/used fields null until set.
boost::json::object ReviewToJson(const Review& review);

// The audit admin record of a decision (issue 6: reviews are admin actions):
// action "review.approve" | "review.reject", the deciding actor, target the
// review id, details {request_id, note, key_id, model, decided_by (every approver under a
// two-person rule)} — the held call's request id ties it to that call's audit record. No prompt
// text.
AdminEvent DecisionEvent(const Review& decided, const std::string& actor,
                         const std::vector<std::string>& approvers);

}  // namespace steward::review
