// The review queue as the policy stage sees it (policy::ReviewSink): a held
// call becomes a pending review; a call re-sent with
// `x-steward-review-id: ID` is let through once an approval of that same
// request exists.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "monitor/metrics.h"
#include "policy/review_sink.h"
#include "review/review_queue.h"
#include "review/review_writer.h"

namespace steward::review {

inline constexpr std::string_view kReviewIdHeader = "x-steward-review-id";

// SHA-256 (hex) identifying "the same request" for a review: over the key
// id, the endpoint, the data subject and the JSON body as the client sent
// it. The policy stage runs after scan_input, which may have rewritten the
// body (pseudonyms are random per request), so pseudonym placeholders are
// restored from the request's vault first; mask/redact/hash rewrites are
// deterministic and hash alike on every send. The body is hashed in its
// parsed form re-serialized, so whitespace does not matter but every key,
// value and their order do.
std::string RequestHash(RequestContext& ctx);

// The data plane's GET /v1/reviews/{id} for the API key `caller_key_id`:
// 200 {"review_id","status","created_ms","expires_ms","decided_ms","note"}
// (decided_ms, note null until set) for a review that key's call left; 404
// in OpenAI error shape for an unknown id and for another key's review
// alike (ids cannot be probed); 503 when the store cannot be read.
LocalReply ReviewStatusReply(ReviewQueue& queue, const std::string& caller_key_id,
                             std::string_view review_id);

// Maps a raw data subject to its audit pseudonym (AuditLog::Pseudonym).
using Pseudonymizer = std::function<std::string(std::string_view)>;

class QueueReviewSink final : public policy::ReviewSink {
 public:
  // Without a pseudonymizer no subject is stored at all (never the raw one).
  QueueReviewSink(std::shared_ptr<ReviewQueue> queue, Pseudonymizer pseudonymize);

  // Prepares the review row and queues it for the writer thread: no store
  // I/O here. The call gets a Barrier that completes once the row is
  // durable (fails when it could not be stored: the gateway answers 503).
  Result<std::string> Submit(RequestContext& ctx, const policy::Decision& decision) override;
  std::optional<StageResult> Redeem(RequestContext& ctx, const policy::Decision& decision) override;
  // Gives the approval back when the call it let through was not served;
  // the review stage calls it for every call that ends without a 2xx.
  void Release(RequestContext& ctx) override;

  ReviewQueue& queue() { return *queue_; }

 private:
  std::shared_ptr<ReviewQueue> queue_;
  Pseudonymizer pseudonymize_;
  // steward_reviews_total{event}: submitted, redeemed (an approval let a
  // call through), refused (a re-send answered 403), released (an approval
  // given back because its call was not served).
  monitor::Counter* submitted_;
  monitor::Counter* redeemed_;
  monitor::Counter* refused_;
  monitor::Counter* released_;
  // Last: stopped (after storing what it holds) before the rest goes.
  std::unique_ptr<ReviewWriter> writer_;
};

}  // namespace steward::review
