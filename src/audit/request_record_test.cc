// RequestRecordJson writes the request record directly; it must give the
// very bytes CanonicalJson(BuildRequestRecord(...)) gives, for every shape.
#include "audit/request_record.h"

#include <gtest/gtest.h>

#include "audit/canonical_json.h"

namespace steward::audit {
namespace {

void ExpectSameBytes(const RequestContext& ctx, const RecordInputs& in) {
  auto reference = CanonicalJson(BuildRequestRecord(ctx, in));
  auto direct = RequestRecordJson(ctx, in);
  ASSERT_EQ(reference.ok(), direct.ok());
  if (!reference.ok()) return;
  EXPECT_EQ(*direct, *reference);
  EXPECT_TRUE(ParseCanonicalJson(*direct).ok());
}

TEST(RequestRecordJson, MinimalRecordMatchesCanonicalForm) {
  RequestContext ctx;
  RecordInputs in;
  in.phase = "complete";
  in.payloads = PayloadMode::kNone;
  ExpectSameBytes(ctx, in);  // nulls, empty arrays, status 0 ("unknown")
}

TEST(RequestRecordJson, FullRecordMatchesCanonicalForm) {
  RequestContext ctx;
  ctx.request_id = "req-\"quoted\"\\back\n\x01";
  ctx.endpoint = Endpoint::kChatCompletions;
  ctx.method = "POST";
  ctx.path = "/v1/chat/completions";
  ctx.stream = true;
  ctx.principal.key_id = "key_1";
  ctx.principal.role = "admin";
  ctx.model = "llama-3.1-8b-instruct";
  ctx.model_version = "2024-07";
  ctx.weights_digest = "sha256:abc";
  ctx.upstream = "local";
  ctx.upstream_model = "llama";
  ctx.policy.evaluated = true;
  ctx.policy.decision = "permit";
  ctx.policy.bundle_hash = "bh";
  ctx.policy.reasons = {"r1", "r2"};
  ctx.policy.obligations = {"pseudonymize(EMAIL_ADDRESS)"};
  ctx.policy.errors = {"é ünïcode"};
  ctx.findings.push_back({"EMAIL_ADDRESS", "input", 2, 0.987654321, "pseudonymize"});
  ctx.findings.push_back({"PHONE", "output", 1, 1.0, "flag"});
  ctx.injection_score = 0.031234;
  ctx.injection_signals = {"ignore_previous"};
  ctx.usage = {42, 128, true};
  for (int status : {200, 202, 403, 500, 0}) {
    for (double latency : {12.3456789, 7.0, 0.0004}) {
      RecordInputs in;
      in.phase = "stream_end";
      in.subject_pseudonym = "s_0123456789abcdef0123456789abcdef";
      in.prompt_sha256 = std::string(64, 'a');
      in.completion_sha256 = std::string(64, 'b');
      in.payload_ref = "0123456789abcdef01234567";
      in.payloads = PayloadMode::kFull;
      in.time_ms = 1'790'000'000'123;
      in.latency_ms = latency;
      in.status = status;
      ExpectSameBytes(ctx, in);
    }
  }
  ctx.injection_score = 0.5;  // integral after rounding? no: 0.5 stays a double
  RecordInputs in;
  in.phase = "complete";
  in.latency_ms = 3.0;
  in.status = 200;
  ExpectSameBytes(ctx, in);
}

TEST(RequestRecordJson, InvalidUtf8FailsLikeTheCanonicalWriter) {
  RequestContext ctx;
  ctx.model = "bad\xff";
  RecordInputs in;
  in.phase = "complete";
  EXPECT_FALSE(RequestRecordJson(ctx, in).ok());
  EXPECT_FALSE(CanonicalJson(BuildRequestRecord(ctx, in)).ok());
}

// The writer copies a string whole only when no byte of it needs an escape
// or a UTF-8 check (found eight bytes at a time): one such byte at any
// position of a long string, and bytes just outside each class, must give
// the canonical bytes.
TEST(RequestRecordJson, EveryEscapeAtEveryPositionMatchesCanonicalForm) {
  const std::string specials[] = {"\"", "\\", "\x01", "\x1f", "\x7f", " ", "!", "#",
                                  "[", "]", "\xc3\xa9", "\xe2\x82\xac"};
  for (const std::string& special : specials) {
    for (size_t pos = 0; pos <= 20; ++pos) {
      RequestContext ctx;
      ctx.request_id = std::string(pos, 'a') + special + std::string(20 - pos, 'b');
      ctx.model = std::string(pos, 'x') + special;
      RecordInputs in;
      in.phase = "complete";
      ExpectSameBytes(ctx, in);
    }
  }
}

}  // namespace
}  // namespace steward::audit
