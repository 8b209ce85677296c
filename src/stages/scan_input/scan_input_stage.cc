#include "stages/scan_input/scan_input_stage.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>

#include "pipeline/stage_registry.h"
#include "scan/request_scan.h"
#include "scan/tool_call_stream.h"

namespace steward::stages {
namespace {

// Pseudonyms restored in streamed tool-call arguments: one restorer per
// (choice, tool call), so a placeholder split across deltas is restored.
struct ToolCallRestoreState {
  std::unique_ptr<scan::ToolCallStreams<scan::StreamRestorer>> streams;
};

}  // namespace

ScanInputStage::ScanInputStage(std::shared_ptr<const scan::ScanSettings> settings,
                               const scan::Scanner* scanner, std::string hash_key)
    : settings_(std::move(settings)), scanner_(scanner), hash_key_(std::move(hash_key)) {
  if (settings_->roles.empty() && settings_->routes.empty())
    fixed_actions_.emplace(scan::Resolve(*settings_, scan::Direction::kInput, "", "", "", ""));
}

StageResult ScanInputStage::OnRequest(RequestContext& ctx) {
  if (ctx.body.empty()) return StageResult::Continue();
  auto& state = ctx.Slot<scan::RequestScanState>();
  state.hash_key = hash_key_;
  std::optional<scan::ResolvedActions> resolved;
  if (!fixed_actions_)
    resolved.emplace(scan::Resolve(*settings_, scan::Direction::kInput, ctx.principal.role,
                                   ctx.model, ctx.upstream, EndpointName(ctx.endpoint)));
  const scan::ResolvedActions& actions = fixed_actions_ ? *fixed_actions_ : *resolved;
  scan::ScanOptions opts;
  opts.min_score = settings_->min_score;
  opts.names = settings_->names;
  scan::InputScanResult r = scan::ScanRequest(ctx, *scanner_, opts, actions, state);
  if (!r.blocked_types.empty()) {
    std::string types;
    for (const auto& t : r.blocked_types) types += (types.empty() ? "" : ", ") + t;
    return StageResult::Error(403, "permission_error", "scan_blocked",
                              "request refused by scan_input: it contains " + types);
  }
  return StageResult::Continue();
}

StageResult ScanInputStage::OnResponse(RequestContext& ctx, ResponseView& response) {
  auto* state = ctx.FindSlot<scan::RequestScanState>();
  if (!settings_->restore || !state || state->vault.empty()) return StageResult::Continue();
  if (response.streaming) {
    state->restorer = std::make_unique<scan::StreamRestorer>(&state->vault);
    const scan::Vault* vault = &state->vault;
    ctx.Slot<ToolCallRestoreState>().streams =
        std::make_unique<scan::ToolCallStreams<scan::StreamRestorer>>(
            [vault] { return std::make_unique<scan::StreamRestorer>(vault); });
    return StageResult::Continue();
  }
  bool changed = false;
  scan::ForEachResponseText(response.body, [&](std::string& text) {
    std::string restored = state->vault.Restore(text);
    if (restored != text) {
      text = std::move(restored);
      changed = true;
    }
  });
  if (changed) response.body_modified = true;
  return StageResult::Continue();
}

StageResult ScanInputStage::OnChunk(RequestContext& ctx, StreamChunk& chunk) {
  auto* state = ctx.FindSlot<scan::RequestScanState>();
  if (!state || !state->restorer) return StageResult::Continue();
  if (chunk.has_text) chunk.text = state->restorer->Push(chunk.text);
  if (chunk.final) {
    if (!chunk.has_text) chunk.text.clear();
    chunk.text += state->restorer->Flush();
    chunk.has_text = chunk.has_text || !chunk.text.empty();
  }
  if (auto* tools = ctx.FindSlot<ToolCallRestoreState>(); tools && tools->streams) {
    if (!tools->streams->Process(chunk.event, chunk.final))
      return StageResult::Error(502, "upstream_error", "scan_refused",
                                "reply refused by scan_input: too many streamed tool calls");
  }
  return StageResult::Continue();
}

Result<std::unique_ptr<Stage>> MakeScanInputStage(const YAML::Node& stage_config, StageEnv& env) {
  YAML::Node section;
  if (env.root_config && (*env.root_config)["scan"]) section = (*env.root_config)["scan"];
  STEWARD_ASSIGN_OR_RETURN(scan::ScanSettings settings,
                           scan::ParseScanSettings(env.config_name(), section));
  std::string key_path = settings.hash_key_file;
  if (key_path.empty()) {
    std::string dir = env.data_dir.empty() ? "./var" : env.data_dir;
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    key_path = dir + "/scan_hash.key";
  }
  STEWARD_ASSIGN_OR_RETURN(std::string key, scan::LoadOrCreateHashKey(key_path));
  STEWARD_ASSIGN_OR_RETURN(const scan::Scanner* scanner, scan::Scanner::DefaultFor(settings.names));
  return std::unique_ptr<Stage>(new ScanInputStage(
      std::make_shared<const scan::ScanSettings>(std::move(settings)), scanner, std::move(key)));
}

STEWARD_REGISTER_STAGE("scan_input", MakeScanInputStage);

}  // namespace steward::stages
