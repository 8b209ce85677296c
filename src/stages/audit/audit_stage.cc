// The "audit" stage: first in the pipeline, so its OnFinish runs last and
// sees every outcome (served, refused, held, failed).
//
// Non-streamed call: OnFinish appends one record ("phase":"complete") and
// registers a Barrier that completes when the record is durable; the
// x-steward-audit-index header is added to ctx.response_headers just before
// the Barrier reports success (the index is assigned at commit time).
// Streamed call: headers leave before the end, so OnResponse (streaming)
// appends a "stream_start" record (prompt hash and payload) and registers
// its Barrier + header there; OnFinish appends a "stream_end" record with
// the same request_id, the completion hash, usage and final status.
// Fail closed: when the audit store cannot write, OnRequest answers 503.
#include <memory>

#include "audit/audit_log.h"
#include "audit/canonical_json.h"
#include "audit/merkle.h"
#include "audit/request_record.h"
#include "common/strings.h"
#include "pipeline/stage_registry.h"
#include "stages/audit/audit_admin.h"

namespace steward::audit {
namespace {

struct AuditSlot {
  bool refused_here = false;
  bool have_prompt = false;
  std::string prompt;
  std::string completion;
  bool stream_started = false;
  std::string payload_ref;
};

class IndexHeaderBarrier final : public Barrier {
 public:
  IndexHeaderBarrier(std::shared_ptr<AppendHandle> handle, RequestContext* ctx)
      : handle_(std::move(handle)), ctx_(ctx) {}
  void Wait(std::function<void(Status)> done) override {
    handle_->Wait([handle = handle_, ctx = ctx_, done = std::move(done)](Status s) {
      if (s.ok()) {
        ctx->response_headers.emplace_back("x-steward-audit-index",
                                           std::to_string(handle->index()));
      }
      done(std::move(s));
    });
  }

 private:
  std::shared_ptr<AppendHandle> handle_;
  RequestContext* ctx_;
};

class AuditStage final : public Stage {
 public:
  explicit AuditStage(std::shared_ptr<AuditLog> log) : log_(std::move(log)) {}
  std::string_view name() const override { return "audit"; }

  StageResult OnRequest(RequestContext& ctx) override {
    AuditSlot& slot = ctx.Slot<AuditSlot>();
    if (!log_->Healthy()) {
      slot.refused_here = true;
      return StageResult::Error(503, "server_error", "audit_unavailable",
                                "the audit log cannot record this call (" + log_->StatusLine() +
                                    "); calls are refused until it recovers");
    }
    slot.prompt = PromptText(ctx);
    slot.have_prompt = !slot.prompt.empty();
    return StageResult::Continue();
  }

  StageResult OnResponse(RequestContext& ctx, ResponseView& view) override {
    AuditSlot& slot = ctx.Slot<AuditSlot>();
    if (slot.refused_here) return StageResult::Continue();
    if (!view.streaming) {
      slot.completion = CompletionText(view.body);
      return StageResult::Continue();
    }
    slot.stream_started = true;
    auto handle = AppendRecord(ctx, slot, "stream_start", view.status);
    ctx.barriers.push_back(std::make_shared<IndexHeaderBarrier>(std::move(handle), &ctx));
    return StageResult::Continue();
  }

  StageResult OnChunk(RequestContext& ctx, StreamChunk& chunk) override {
    AuditSlot& slot = ctx.Slot<AuditSlot>();
    if (chunk.has_text || !chunk.text.empty()) slot.completion += chunk.text;
    return StageResult::Continue();
  }

  void OnFinish(RequestContext& ctx) override {
    AuditSlot& slot = ctx.Slot<AuditSlot>();
    if (slot.refused_here) return;
    if (slot.stream_started) {
      auto handle = AppendRecord(ctx, slot, "stream_end", ctx.status);
      ctx.barriers.push_back(handle);  // headers are gone: no index header
      return;
    }
    auto handle = AppendRecord(ctx, slot, "complete", ctx.status);
    ctx.barriers.push_back(std::make_shared<IndexHeaderBarrier>(std::move(handle), &ctx));
  }

 private:
  std::shared_ptr<AppendHandle> AppendRecord(RequestContext& ctx, AuditSlot& slot,
                                             const char* phase, int status) {
    Clock& clock = log_->clock();
    RecordInputs in;
    in.phase = phase;
    in.status = status;
    in.time_ms = ctx.start_unix_ms ? ctx.start_unix_ms : clock.NowUnixMs();
    in.latency_ms = std::chrono::duration<double, std::milli>(
                        std::chrono::steady_clock::now() - ctx.start)
                        .count();
    in.payloads = EffectivePayloadMode(ctx, log_->options().payloads);
    // Texts from callers that never authenticated are not worth keeping
    // (and would let anyone fill the payload store): hashes only.
    if (!ctx.principal.authenticated && in.payloads == PayloadMode::kFull) {
      in.payloads = PayloadMode::kHashes;
    }
    if (!ctx.subject.empty()) in.subject_pseudonym = log_->Pseudonym(ctx.subject);
    const bool stream_start = in.phase == "stream_start";
    const bool stream_end = in.phase == "stream_end";
    const bool with_prompt = slot.have_prompt && !stream_end;
    const bool with_completion = !stream_start && ctx.endpoint != Endpoint::kEmbeddings &&
                                 (status > 0 && status < 300 && status != 202);
    if (in.payloads != PayloadMode::kNone) {
      // Merkle's one-shot SHA-256 (no per-call EVP fetch), same digest.
      if (with_prompt) in.prompt_sha256 = ToHex(Sha256Of(slot.prompt));
      if (with_completion) in.completion_sha256 = ToHex(Sha256Of(slot.completion));
    }
    LeafToAppend leaf;
    if (in.payloads == PayloadMode::kFull && (with_prompt || with_completion)) {
      if (slot.payload_ref.empty()) slot.payload_ref = NewPayloadRef(clock.NowUnixMs());
      in.payload_ref = slot.payload_ref;
      leaf.payload_ref = slot.payload_ref;
      // Moved, not copied: the texts are hashed above and a later record
      // of the call (stream_end) never needs the prompt again.
      if (with_prompt) leaf.payloads.push_back({"prompt", std::move(slot.prompt)});
      if (with_completion) leaf.payloads.push_back({"completion", std::move(slot.completion)});
    }
    leaf.data_class = ctx.findings.empty() ? "plain" : "pii";
    leaf.kind = "request";
    leaf.subject = in.subject_pseudonym;
    leaf.time_ms = in.time_ms;
    auto text = RequestRecordJson(ctx, in);
    if (!text.ok()) {
      auto h = std::make_shared<AppendHandle>();
      h->Complete(Internal("audit record: " + text.status().message()), -1);
      return h;
    }
    leaf.leaf = std::move(*text);
    return log_->Append(std::move(leaf));
  }

  std::shared_ptr<AuditLog> log_;
};

Result<std::unique_ptr<Stage>> MakeAuditStage(const YAML::Node& config, StageEnv& env) {
  (void)config;
  STEWARD_ASSIGN_OR_RETURN(auto log, GetOrOpenAuditLog(env));
  ServeAuditOnAdminPlane(log);
  return std::unique_ptr<Stage>(new AuditStage(std::move(log)));
}

}  // namespace

STEWARD_REGISTER_STAGE("audit", MakeAuditStage);

}  // namespace steward::audit
