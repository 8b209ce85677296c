// The `audit:` section of the config.
//
//   audit:
//     payloads: full            # full (encrypted) | hashes | none
//     payload_retention_days: 30
//     prompt_retention_days: 30       # default: payload_retention_days
//     completion_retention_days: 30   # default: payload_retention_days
//     pii_payload_retention_days: 7   # payloads of calls with PII findings; default: as above
//     sth_interval_s: 60        # publish a signed tree head this often (when the log grew)
//     retention_interval_s: 3600  # `serve` applies retention this often
//     max_batch: 8192           # leaves per group commit
//     commit_delay_us: 500      # wait up to this long to gather a batch as big as the last
//     sync_threads: 2           # threads flushing commits while the next batch is written;
//                               # 0: the writer flushes each commit before the next
#pragma once

#include <cstdint>
#include <string>

#include "config/config.h"
#include "steward/status.h"

namespace steward::audit {

enum class PayloadMode { kFull, kHashes, kNone };
std::string_view PayloadModeName(PayloadMode mode);
// "full" | "hashes" | "none"; fails otherwise.
Result<PayloadMode> ParsePayloadMode(std::string_view text);

struct RetentionPolicy {
  int64_t payload_days = 30;
  int64_t prompt_days = -1;       // -1: payload_days
  int64_t completion_days = -1;   // -1: payload_days
  int64_t pii_payload_days = -1;  // -1: the part's own duration
  // Days a payload part of `data_class` ("pii" | "plain") is kept.
  int64_t DaysFor(std::string_view part, std::string_view data_class) const;
};

struct AuditOptions {
  std::string data_dir = "./var";
  std::string store_url;  // default sqlite:<data_dir>/steward.db
  PayloadMode payloads = PayloadMode::kFull;
  RetentionPolicy retention;
  int64_t sth_interval_ms = 60'000;
  int64_t retention_interval_ms = 3'600'000;
  size_t max_batch = 8192;
  int64_t commit_delay_us = 500;  // max wait to fill a batch as large as the previous one
  int64_t sync_threads = 2;       // 0: no pipelining (commit and flush on the writer)
};

Result<AuditOptions> ParseAuditOptions(const config::Config& config);
// For a stage factory that has the YAML root and data_dir but no Config.
Result<AuditOptions> ParseAuditOptions(const std::string& file, const YAML::Node& root,
                                       const std::string& data_dir, const std::string& store_url);

}  // namespace steward::audit
