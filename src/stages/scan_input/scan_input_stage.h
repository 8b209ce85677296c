// scan_input: scans every text part of the request (see scan/request_scan.h),
// applies the configured per-entity actions (scan: in the config; default:
// PII pseudonymized, secrets refused with 403), records FindingSummary
// entries with direction "input", and restores pseudonyms in the reply —
// in the parsed body for normal replies and chunk by chunk for streams.
#pragma once

#include <memory>
#include <optional>

#include "scan/scan_config.h"
#include "scan/scanner.h"
#include "steward/stage.h"

namespace steward::stages {

class ScanInputStage : public Stage {
 public:
  ScanInputStage(std::shared_ptr<const scan::ScanSettings> settings, const scan::Scanner* scanner,
                 std::string hash_key);
  std::string_view name() const override { return "scan_input"; }
  StageResult OnRequest(RequestContext& ctx) override;
  StageResult OnResponse(RequestContext& ctx, ResponseView& response) override;
  StageResult OnChunk(RequestContext& ctx, StreamChunk& chunk) override;

 private:
  std::shared_ptr<const scan::ScanSettings> settings_;
  const scan::Scanner* scanner_;
  std::string hash_key_;
  // Without roles and routes in the settings every request resolves to the
  // same actions: resolved once here instead of per request.
  std::optional<scan::ResolvedActions> fixed_actions_;
};

// Builds the stage from the root config's `scan:` section.
Result<std::unique_ptr<Stage>> MakeScanInputStage(const YAML::Node& stage_config, StageEnv& env);

}  // namespace steward::stages
