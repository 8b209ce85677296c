#include "audit/retention.h"

#include "audit/log_store.h"

namespace steward::audit {

Result<int64_t> ShredExpiredPayloads(Database& db, const RetentionPolicy& policy, int64_t now_ms) {
  constexpr int64_t kDayMs = 86'400'000;
  STEWARD_ASSIGN_OR_RETURN(auto tx, db.Begin());
  int64_t total = 0;
  // Rows written before migration 8, one per part.
  for (const char* part : {"prompt", "completion"}) {
    for (const char* data_class : {"plain", "pii"}) {
      int64_t cutoff = now_ms - policy.DaysFor(part, data_class) * kDayMs;
      const std::vector<Value> params = {std::string(part), std::string(data_class), cutoff};
      STEWARD_ASSIGN_OR_RETURN(
          auto rows, tx->Query("SELECT COUNT(*) FROM audit_payloads WHERE shredded_ms IS NULL"
                               " AND part = $1 AND COALESCE(data_class, 'plain') = $2"
                               " AND created_ms <= $3",
                               params));
      int64_t n = rows.empty() ? 0 : rows[0].Int(0);
      if (n == 0) continue;
      std::vector<Value> update = {now_ms, std::string(part), std::string(data_class), cutoff};
      STEWARD_RETURN_IF_ERROR(
          tx->Exec("UPDATE audit_payloads SET sealed = NULL, shredded_ms = $1"
                   " WHERE shredded_ms IS NULL AND part = $2"
                   " AND COALESCE(data_class, 'plain') = $3 AND created_ms <= $4",
                   update));
      total += n;
    }
  }
  STEWARD_RETURN_IF_ERROR(tx->Commit());
  // Blocks (migration 8), a bounded number per transaction so a first run
  // over a large store never holds the write lock (the gateway's appends)
  // for long.
  constexpr int64_t kBlocksPerTransaction = 256;
  for (const char* part : {"prompt", "completion"}) {
    for (const char* data_class : {"plain", "pii"}) {
      const int64_t cutoff = now_ms - policy.DaysFor(part, data_class) * kDayMs;
      for (bool more = true; more;) {
        STEWARD_ASSIGN_OR_RETURN(auto block_tx, db.Begin());
        STEWARD_ASSIGN_OR_RETURN(
            ShredProgress step, ShredPayloadBlocksInTx(*block_tx, part, data_class, cutoff, now_ms,
                                                       kBlocksPerTransaction));
        STEWARD_RETURN_IF_ERROR(block_tx->Commit());
        total += step.parts;
        more = step.more;
      }
    }
  }
  return total;
}

}  // namespace steward::audit
