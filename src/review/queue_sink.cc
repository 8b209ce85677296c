#include "review/queue_sink.h"

#include <spdlog/spdlog.h>

#include "common/json_text.h"
#include "common/strings.h"
#include "scan/request_scan.h"

namespace steward::review {

namespace json = boost::json;

namespace {

// The review whose approval let this call through (set by Redeem).
struct RedeemedReview {
  std::string id;
};

// Puts back the originals of scan_input's pseudonym placeholders, in place.
void RestorePseudonyms(json::value& v, const scan::Vault& vault) {
  if (v.is_string()) {
    std::string restored = vault.Restore(v.get_string());
    if (restored != std::string_view(v.get_string())) v = restored;
  } else if (v.is_array()) {
    for (auto& x : v.get_array()) RestorePseudonyms(x, vault);
  } else if (v.is_object()) {
    for (auto& kv : v.get_object()) RestorePseudonyms(kv.value(), vault);
  }
}

std::string ReviewMessage(const policy::Decision& d) {
  std::string out;
  for (const auto& r : d.obligations.review_reasons) {
    if (!out.empty()) out += "; ";
    out += r;
  }
  return out.empty() ? d.message : out;
}

}  // namespace

std::string RequestHash(RequestContext& ctx) {
  std::string body;
  const scan::RequestScanState* state = ctx.FindSlot<scan::RequestScanState>();
  if (state && !state->vault.empty()) {
    json::value copy = ctx.body;
    RestorePseudonyms(copy, state->vault);
    body = json::serialize(copy);
  } else {
    body = json::serialize(ctx.body);
  }
  // Length-prefixed fields: no two different tuples give the same bytes.
  std::string material = "steward-review-v1\n";
  for (std::string_view field : {std::string_view(ctx.principal.key_id), EndpointName(ctx.endpoint),
                                 std::string_view(ctx.subject), std::string_view(body)}) {
    material += std::to_string(field.size());
    material += ':';
    material += field;
    material += '\n';
  }
  return Sha256Hex(material);
}

LocalReply ReviewStatusReply(ReviewQueue& queue, const std::string& caller_key_id,
                             std::string_view review_id) {
  LocalReply reply;
  auto not_found = [&] {
    reply.status = 404;
    std::string shown = review_id.size() <= 64 && IsValidUtf8(review_id)
                            ? std::string(review_id)
                            : std::string("(malformed id)");
    reply.body = ErrorBody("review `" + shown + "` does not exist for this API key",
                           "invalid_request_error", "review_not_found");
    return reply;
  };
  // Bounded and printable like the x-steward-review-id header.
  if (review_id.empty() || review_id.size() > 64 || !IsValidUtf8(review_id) ||
      review_id.find_first_of("/\r\n") != std::string_view::npos) {
    return not_found();
  }
  Result<Review> got = queue.Get(std::string(review_id));
  if (!got.ok()) {
    if (got.status().code() == StatusCode::kNotFound) return not_found();
    reply.status = 503;
    reply.body = ErrorBody("the review queue cannot be read: " + got.status().message(),
                           "server_error", "review_unavailable");
    return reply;
  }
  // Another key's review reads exactly as an unknown one.
  if (got->key_id != caller_key_id) return not_found();
  json::object out = ReviewToJson(*got);
  json::object state{{"review_id", out["review_id"]},   {"status", out["status"]},
                     {"created_ms", out["created_ms"]}, {"expires_ms", out["expires_ms"]},
                     {"decided_ms", out["decided_ms"]}, {"note", out["note"]}};
  reply.status = 200;
  reply.body = JsonText(state);
  return reply;
}

QueueReviewSink::QueueReviewSink(std::shared_ptr<ReviewQueue> queue, Pseudonymizer pseudonymize)
    : queue_(std::move(queue)), pseudonymize_(std::move(pseudonymize)) {
  auto& m = monitor::MetricsRegistry::Global();
  const char* help =
      "Review queue events: calls held (submitted), approvals used (redeemed), "
      "re-sends refused, approvals given back when their call was not served (released)";
  submitted_ = &m.GetCounter("steward_reviews_total", help, {{"event", "submitted"}});
  redeemed_ = &m.GetCounter("steward_reviews_total", help, {{"event", "redeemed"}});
  refused_ = &m.GetCounter("steward_reviews_total", help, {{"event", "refused"}});
  released_ = &m.GetCounter("steward_reviews_total", help, {{"event", "released"}});
  writer_ = std::make_unique<ReviewWriter>(*queue_, [c = submitted_] { c->Inc(); });
}

Result<std::string> QueueReviewSink::Submit(RequestContext& ctx, const policy::Decision& d) {
  NewReview in;
  in.key_id = ctx.principal.key_id;
  in.key_name = ctx.principal.name;
  in.role = ctx.principal.role;
  if (!ctx.subject.empty() && pseudonymize_) in.subject = pseudonymize_(ctx.subject);
  in.model = ctx.model;
  in.endpoint = std::string(EndpointName(ctx.endpoint));
  in.reasons = d.reasons;
  in.message = ReviewMessage(d);
  in.request_hash = RequestHash(ctx);
  in.request_id = ctx.request_id;
  STEWARD_ASSIGN_OR_RETURN(Review r, queue_->Prepare(in));
  std::string id = r.id;
  ctx.barriers.push_back(writer_->Enqueue(std::move(r)));
  ctx.response_headers.emplace_back(std::string(kReviewIdHeader), id);
  return id;
}

std::optional<StageResult> QueueReviewSink::Redeem(RequestContext& ctx, const policy::Decision&) {
  std::string_view id = ctx.Header(kReviewIdHeader);
  if (id.empty()) return std::nullopt;
  auto refuse = [&](std::string_view code, const std::string& message) {
    refused_->Inc();
    return StageResult::Error(403, "invalid_request_error", code, message);
  };
  // A bounded, printable id: the header is client input and ends up in the
  // messages and the store's query.
  if (id.size() > 64 || !IsValidUtf8(id) || id.find_first_of("\r\n") != std::string_view::npos) {
    return refuse("review_invalid", "header x-steward-review-id is not a review id");
  }
  std::string review_id(id);
  Result<Redemption> r =
      queue_->Redeem(review_id, ctx.principal.key_id, RequestHash(ctx), ctx.request_id);
  if (!r.ok()) {
    return StageResult::Error(503, "server_error", "review_unavailable",
                              "the review queue cannot be read: " + r.status().message());
  }
  ctx.response_headers.emplace_back(std::string(kReviewIdHeader), review_id);
  switch (r->outcome) {
    case Redemption::Outcome::kProceed:
      redeemed_->Inc();
      // The call's audit record shows which approval let it through.
      ctx.policy.obligations.push_back("review_approved(" + review_id + ")");
      ctx.Slot<RedeemedReview>().id = review_id;
      return StageResult::Continue();
    case Redemption::Outcome::kPending:
      return StageResult::Hold(review_id);
    case Redemption::Outcome::kRejected:
      return refuse("review_rejected", r->message);
    case Redemption::Outcome::kRefused:
      break;
  }
  return refuse("review_invalid", r->message);
}

void QueueReviewSink::Release(RequestContext& ctx) {
  RedeemedReview* redeemed = ctx.FindSlot<RedeemedReview>();
  if (!redeemed || redeemed->id.empty()) return;
  if (Status s = queue_->Release(redeemed->id, ctx.request_id); !s.ok()) {
    // The approval stays used: the client needs a new review. Nothing else
    // is at stake, so the call's outcome does not change.
    spdlog::error("review {}: approval not given back after request {} failed: {}", redeemed->id,
                  ctx.request_id, s.message());
  } else {
    released_->Inc();
  }
  redeemed->id.clear();
}

}  // namespace steward::review
