// Where `require_review` decisions go. The human review queue (src/review,
// published in the ServiceRegistry by the "review" stage) implements
// ReviewSink; without one the policy stage refuses such calls with 403 and a
// message saying they need review.
#pragma once

#include <optional>
#include <string>

#include "policy/authorizer.h"
#include "steward/stage.h"
#include "steward/status.h"

namespace steward::policy {

class ReviewSink {
 public:
  virtual ~ReviewSink() = default;
  // Queues the request for a reviewer; returns the review id the client gets
  // in the 202 reply. Must not block on I/O for long (called on the request
  // path). An error makes the call a 503 review_unavailable.
  virtual Result<std::string> Submit(RequestContext& ctx, const Decision& decision) = 0;

  // Called first, for a call whose decision is `review`: when it names an
  // earlier review (header x-steward-review-id), the sink answers for it:
  // Continue when an approval of this very request lets it proceed (the
  // policy stage then applies the decision's other obligations as for a
  // permit), else the reply (202 while pending, 403 when rejected, used,
  // expired or not this caller's request). std::nullopt when the call names
  // no review: the stage calls Submit().
  virtual std::optional<StageResult> Redeem(RequestContext& ctx, const Decision& decision) {
    (void)ctx;
    (void)decision;
    return std::nullopt;
  }

  // The call Redeem() let through was not served after all (a later check
  // refused it, the upstream failed): its approval may be used again.
  // No-op for a call Redeem() did not let through.
  virtual void Release(RequestContext& ctx) { (void)ctx; }
};

}  // namespace steward::policy
