// The audit record of one call, built from its RequestContext. Holds no
// prompt or completion text: only their SHA-256 and a payload reference.
#pragma once

#include <boost/json.hpp>
#include <string>

#include "audit/options.h"
#include "steward/stage.h"

namespace steward::audit {

struct RecordInputs {
  std::string phase;            // "complete" | "stream_start" | "stream_end"
  std::string subject_pseudonym;  // "" when the call named no subject
  std::string prompt_sha256;    // hex, "" when not recorded
  std::string completion_sha256;
  std::string payload_ref;
  PayloadMode payloads = PayloadMode::kFull;
  int64_t time_ms = 0;
  double latency_ms = 0;
  int status = 0;
};

boost::json::object BuildRequestRecord(const RequestContext& ctx, const RecordInputs& in);

// The canonical JSON of BuildRequestRecord(ctx, in), byte for byte, written
// directly (no intermediate JSON value, no key sorting at run time): the
// audit stage's per-call path. Fails on strings that are not valid UTF-8.
Result<std::string> RequestRecordJson(const RequestContext& ctx, const RecordInputs& in);

// The payload mode for this call: the config's, overridden by a policy
// obligation `store_payloads(full|hashes|none)`; a subject flagged
// "no-store" never gets more than hashes.
PayloadMode EffectivePayloadMode(const RequestContext& ctx, PayloadMode configured);

// The prompt as recorded: canonical JSON of `messages` (chat), `prompt`
// (completions) or `input` (embeddings); "" when the body has none.
std::string PromptText(const RequestContext& ctx);
// The completion text of a non-streamed body: the choices' message content
// (or text) in order.
std::string CompletionText(const boost::json::value& body);

}  // namespace steward::audit
