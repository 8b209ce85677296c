// Where `require_review` decisions go. The human review queue (a later
// module) implements ReviewSink and publishes it in the ServiceRegistry;
// until one is published the policy stage refuses such calls with 403 and a
// message saying they need review.
#pragma once

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
  // path).
  virtual Result<std::string> Submit(RequestContext& ctx, const Decision& decision) = 0;
};

}  // namespace steward::policy
