// Checking the log: the whole stored tree (`audit verify`), single proofs
// (`audit prove`, `audit consistency`), and the offline export an auditor
// verifies without the store (`audit export`, `audit verify-export`).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "audit/keys.h"
#include "audit/log_store.h"
#include "audit/merkle.h"
#include "steward/store.h"

namespace steward::audit {

struct VerifyResult {
  bool ok = true;
  int64_t tree_size = 0;
  int64_t heads_checked = 0;
  int64_t first_bad_index = -1;  // set when !ok
  std::string problem;           // what is wrong at first_bad_index
  Hash root{};
};

// Recomputes every leaf hash and every stored tree node from the leaf
// bytes, checks every stored tree head (root and Ed25519 signature, signed by
// `expected_public_key` when it is non-empty) and the consistency of each
// head with the next. A mismatch is a result with ok=false naming the first
// bad leaf index; a Status error means the store could not be read.
// `second_reader` (optional): another connection to the same store, so two
// chunks of records are read at once (the store serialises the statements
// of one connection). `chunk_leaves`: a reader's unit of work, a power of
// two (each chunk's subtrees are computed inside it); larger chunks cost
// fewer statement and mapping set-ups, smaller ones less memory (about
// 64 bytes a leaf for up to four chunks in flight).
inline constexpr int64_t kVerifyChunkLeaves = int64_t{1} << 16;
Result<VerifyResult> VerifyStore(Database& db, const std::string& expected_public_key,
                                 Database* second_reader = nullptr,
                                 int64_t chunk_leaves = kVerifyChunkLeaves);

struct InclusionProofResult {
  int64_t leaf_index = 0;
  int64_t tree_size = 0;
  Hash leaf_hash{};
  std::vector<Hash> audit_path;
  Hash root_hash{};
};
Result<InclusionProofResult> ProveInclusion(Database& db, int64_t index,
                                            std::optional<int64_t> size);

struct ConsistencyProofResult {
  int64_t first = 0, second = 0;
  Hash first_hash{}, second_hash{};
  std::vector<Hash> path;
};
Result<ConsistencyProofResult> ProveConsistency(Database& db, int64_t first, int64_t second);

// Writes leaves.jsonl, sth.json and README.txt for the tree head `head`
// (whose leaves must be stored) into `dir` (created if needed).
Status ExportLog(Database& db, const TreeHead& head, const std::string& dir);

struct ExportCheck {
  bool ok = true;
  int64_t tree_size = 0;
  int64_t first_bad_index = -1;  // -1: the problem is in sth.json itself
  std::string problem;
  std::string root_hex;
  std::string public_key_b64;
};
// Verifies an export directory offline. A Status error means it could not
// be read at all (missing files); content problems are ok=false.
Result<ExportCheck> VerifyExport(const std::string& dir, const std::string& expected_public_key_b64);

// Parses sth.json / a leaves.jsonl line; used by VerifyExport and its fuzzer.
Result<TreeHead> ParseSthJson(std::string_view text);
struct ExportLeaf {
  int64_t index = 0;
  std::string leaf;
};
Result<ExportLeaf> ParseExportLine(std::string_view line);

}  // namespace steward::audit
