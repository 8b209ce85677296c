#include "audit/options.h"

namespace steward::audit {

std::string_view PayloadModeName(PayloadMode mode) {
  switch (mode) {
    case PayloadMode::kFull: return "full";
    case PayloadMode::kHashes: return "hashes";
    case PayloadMode::kNone: return "none";
  }
  return "full";
}

Result<PayloadMode> ParsePayloadMode(std::string_view text) {
  if (text == "full") return PayloadMode::kFull;
  if (text == "hashes") return PayloadMode::kHashes;
  if (text == "none") return PayloadMode::kNone;
  return InvalidArgument("payloads must be full, hashes or none, not `" + std::string(text) + "`");
}

int64_t RetentionPolicy::DaysFor(std::string_view part, std::string_view data_class) const {
  int64_t days = payload_days;
  if (part == "prompt" && prompt_days >= 0) days = prompt_days;
  if (part == "completion" && completion_days >= 0) days = completion_days;
  if (data_class == "pii" && pii_payload_days >= 0) days = std::min(days, pii_payload_days);
  return days;
}

Result<AuditOptions> ParseAuditOptions(const std::string& file, const YAML::Node& root,
                                       const std::string& data_dir, const std::string& store_url) {
  AuditOptions o;
  o.data_dir = data_dir;
  o.store_url = store_url.empty() ? "sqlite:" + data_dir + "/steward.db" : store_url;
  YAML::Node a = root["audit"];
  if (!a) return o;
  if (!a.IsMap()) return config::ErrorAt(file, a, "`audit` must be a mapping");
  static const char* kKnown[] = {"payloads",
                                 "payload_retention_days",
                                 "prompt_retention_days",
                                 "completion_retention_days",
                                 "pii_payload_retention_days",
                                 "sth_interval_s",
                                 "retention_interval_s",
                                 "max_batch",
                                 "commit_delay_us",
                                 "sync_threads"};
  for (auto it = a.begin(); it != a.end(); ++it) {
    std::string key = it->first.as<std::string>();
    if (std::find(std::begin(kKnown), std::end(kKnown), key) == std::end(kKnown)) {
      return config::ErrorAt(file, it->first, "unknown key `audit." + key + "`");
    }
  }
  STEWARD_ASSIGN_OR_RETURN(std::string mode, config::GetString(file, a, "payloads", "full"));
  auto pm = ParsePayloadMode(mode);
  if (!pm.ok()) return config::ErrorAt(file, a["payloads"], "audit." + pm.status().message());
  o.payloads = *pm;
  struct IntKey {
    const char* key;
    int64_t* dst;
    int64_t min;
  };
  int64_t sth_s = o.sth_interval_ms / 1000, ret_s = o.retention_interval_ms / 1000;
  int64_t max_batch = static_cast<int64_t>(o.max_batch);
  IntKey ints[] = {{"payload_retention_days", &o.retention.payload_days, 0},
                   {"prompt_retention_days", &o.retention.prompt_days, 0},
                   {"completion_retention_days", &o.retention.completion_days, 0},
                   {"pii_payload_retention_days", &o.retention.pii_payload_days, 0},
                   {"sth_interval_s", &sth_s, 1},
                   {"retention_interval_s", &ret_s, 1},
                   {"max_batch", &max_batch, 1},
                   {"commit_delay_us", &o.commit_delay_us, 0},
                   {"sync_threads", &o.sync_threads, 0}};
  for (auto& k : ints) {
    STEWARD_ASSIGN_OR_RETURN(int64_t v, config::GetInt(file, a, k.key, *k.dst));
    if (a[k.key] && v < k.min) {
      return config::ErrorAt(file, a[k.key],
                             std::string("audit.") + k.key + " must be >= " + std::to_string(k.min));
    }
    *k.dst = v;
  }
  o.sth_interval_ms = sth_s * 1000;
  o.retention_interval_ms = ret_s * 1000;
  o.max_batch = static_cast<size_t>(max_batch);
  if (o.sync_threads > 8) {
    return config::ErrorAt(file, a["sync_threads"], "audit.sync_threads must be <= 8");
  }
  return o;
}

Result<AuditOptions> ParseAuditOptions(const config::Config& config) {
  return ParseAuditOptions(config.path, config.root, config.data_dir, config.store_url);
}

}  // namespace steward::audit
