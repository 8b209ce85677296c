#include "stages/scan_output/scan_output_stage.h"

#include <yaml-cpp/yaml.h>

#include <set>

#include "pipeline/stage_registry.h"
#include "scan/request_scan.h"
#include "scan/tool_call_stream.h"

namespace steward::stages {
namespace {

// Output-side state beyond the shared RequestScanState.
struct OutputState {
  std::unique_ptr<scan::ResolvedActions> actions;
  size_t recorded = 0;  // stream findings already summarised
  // Streamed tool-call arguments: one leak scanner per (choice, tool call).
  std::unique_ptr<scan::ToolCallStreams<scan::StreamScanner>> tool_calls;
};

bool IsKnown(const scan::RequestScanState* state, std::string_view value) {
  if (!state) return false;
  if (state->vault.IsPlaceholder(value) || state->known_values.count(std::string(value)))
    return true;
  return !value.empty() && state->prompt_text.find(value) != std::string::npos;
}

StageResult BlockReply(const std::set<std::string>& types) {
  std::string list;
  for (const auto& t : types) list += (list.empty() ? "" : ", ") + t;
  return StageResult::Error(403, "permission_error", "scan_blocked",
                            "reply withheld by scan_output: it contains " + list);
}

}  // namespace

ScanOutputStage::ScanOutputStage(std::shared_ptr<const scan::ScanSettings> settings,
                                 const scan::Scanner* scanner)
    : settings_(std::move(settings)), scanner_(scanner) {}

StageResult ScanOutputStage::OnResponse(RequestContext& ctx, ResponseView& response) {
  auto& out = ctx.Slot<OutputState>();
  out.actions = std::make_unique<scan::ResolvedActions>(
      scan::Resolve(*settings_, scan::Direction::kOutput, ctx.principal.role, ctx.model,
                    ctx.upstream, EndpointName(ctx.endpoint)));
  const scan::ResolvedActions* actions = out.actions.get();
  auto action_for = [actions](const scan::Finding& f) { return actions->For(f); };
  scan::RequestScanState* state = ctx.FindSlot<scan::RequestScanState>();
  scan::ScanOptions opts;
  opts.min_score = settings_->min_score;
  opts.names = settings_->names;
  if (response.streaming) {
    auto& shared = ctx.Slot<scan::RequestScanState>();
    scan::TransformContext tctx{nullptr, shared.hash_key, {}};
    auto is_known = [&shared](std::string_view, std::string_view v) { return IsKnown(&shared, v); };
    shared.leak_scanner =
        std::make_unique<scan::StreamScanner>(scanner_, opts, action_for, tctx, is_known);
    const scan::Scanner* scanner = scanner_;
    out.tool_calls = std::make_unique<scan::ToolCallStreams<scan::StreamScanner>>(
        [scanner, opts, action_for, tctx, is_known] {
          return std::make_unique<scan::StreamScanner>(scanner, opts, action_for, tctx, is_known);
        });
    return StageResult::Continue();
  }
  std::vector<scan::Finding> leaks;
  std::set<std::string> blocked;
  bool changed = false;
  scan::ForEachResponseText(response.body, [&](std::string& text) {
    std::vector<scan::Finding> found = scanner_->Scan(text, opts);
    std::vector<scan::Finding> mine;
    for (const auto& f : found) {
      if (IsKnown(state, std::string_view(text).substr(f.start, f.end - f.start))) continue;
      mine.push_back(f);
      if (actions->For(f) == scan::Action::kBlock) blocked.insert(std::string(f.type));
    }
    if (mine.empty()) return;
    leaks.insert(leaks.end(), mine.begin(), mine.end());
    scan::TransformContext tctx{nullptr, state ? std::string_view(state->hash_key) : "", {}};
    std::string rewritten = scan::ApplyActions(text, mine, action_for, tctx);
    if (rewritten != text) {
      text = std::move(rewritten);
      changed = true;
    }
  });
  scan::RecordFindings(ctx, leaks, "output", action_for);
  if (!blocked.empty()) return BlockReply(blocked);
  if (changed) response.body_modified = true;
  return StageResult::Continue();
}

StageResult ScanOutputStage::OnChunk(RequestContext& ctx, StreamChunk& chunk) {
  auto* state = ctx.FindSlot<scan::RequestScanState>();
  auto* out = ctx.FindSlot<OutputState>();
  if (!state || !state->leak_scanner || !out || !out->actions) return StageResult::Continue();
  scan::StreamScanner& scanner = *state->leak_scanner;
  if (chunk.has_text) chunk.text = scanner.Push(chunk.text);
  if (chunk.final) {
    if (!chunk.has_text) chunk.text.clear();
    chunk.text += scanner.Flush();
    chunk.has_text = chunk.has_text || !chunk.text.empty();
  }
  // Tool-call argument deltas go through their own scanners, with the same
  // look-back, hold-back and actions as the content.
  if (out->tool_calls && !out->tool_calls->Process(chunk.event, chunk.final)) {
    return StageResult::Error(502, "upstream_error", "scan_refused",
                              "reply refused by scan_output: more than " +
                                  std::to_string(scan::ToolCallStreams<scan::StreamScanner>::kMaxStreams) +
                                  " streamed tool calls");
  }
  std::vector<scan::Finding> fresh;
  auto take_new = [&fresh](const std::vector<scan::Finding>& all, size_t& recorded) {
    if (all.size() > recorded) fresh.insert(fresh.end(), all.begin() + recorded, all.end());
    recorded = all.size();
  };
  take_new(scanner.findings(), out->recorded);
  if (out->tool_calls)
    for (auto& e : out->tool_calls->entries()) take_new(e.processor->findings(), e.recorded);
  if (!fresh.empty()) {
    const scan::ResolvedActions* actions = out->actions.get();
    scan::RecordFindings(ctx, fresh, "output",
                         [actions](const scan::Finding& f) { return actions->For(f); });
    std::set<std::string> blocked;
    for (const auto& f : fresh)
      if (actions->For(f.type) == scan::Action::kBlock) blocked.insert(std::string(f.type));
    if (!blocked.empty()) return BlockReply(blocked);
  }
  return StageResult::Continue();
}

Result<std::unique_ptr<Stage>> MakeScanOutputStage(const YAML::Node& stage_config, StageEnv& env) {
  YAML::Node section;
  if (env.root_config && (*env.root_config)["scan"]) section = (*env.root_config)["scan"];
  STEWARD_ASSIGN_OR_RETURN(scan::ScanSettings settings,
                           scan::ParseScanSettings(env.config_name(), section));
  STEWARD_ASSIGN_OR_RETURN(const scan::Scanner* scanner, scan::Scanner::DefaultFor(settings.names));
  return std::unique_ptr<Stage>(new ScanOutputStage(
      std::make_shared<const scan::ScanSettings>(std::move(settings)), scanner));
}

STEWARD_REGISTER_STAGE("scan_output", MakeScanOutputStage);

}  // namespace steward::stages
