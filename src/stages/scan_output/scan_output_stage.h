// scan_output: leak detection in replies. A finding in the model's reply
// whose value the prompt did not contain (and that is not one of the
// request's pseudonyms) is a leak: it is recorded with direction "output"
// and handled by the configured output action (default: secrets redacted,
// PII flagged; `block` replaces the reply with a 403, or aborts a stream).
// Streams are scanned chunk by chunk with bounded look-back (scan/stream.h).
#pragma once

#include <memory>

#include "scan/scan_config.h"
#include "scan/scanner.h"
#include "steward/stage.h"

namespace steward::stages {

class ScanOutputStage : public Stage {
 public:
  ScanOutputStage(std::shared_ptr<const scan::ScanSettings> settings, const scan::Scanner* scanner);
  std::string_view name() const override { return "scan_output"; }
  StageResult OnResponse(RequestContext& ctx, ResponseView& response) override;
  StageResult OnChunk(RequestContext& ctx, StreamChunk& chunk) override;

 private:
  std::shared_ptr<const scan::ScanSettings> settings_;
  const scan::Scanner* scanner_;
};

Result<std::unique_ptr<Stage>> MakeScanOutputStage(const YAML::Node& stage_config, StageEnv& env);

}  // namespace steward::stages
