// Leaves stored in compressed blocks (migration 11): one audit_leaf_blocks
// row per run of up to kMaxBlockLeaves consecutive leaves of one commit,
// holding their leaf hashes (32 bytes each, uncompressed: proofs read them
// without decompressing) and a zstd frame of the leaves' bytes with their
// kind, subject and time. A store at rest is read by `audit verify` from the
// disk: one row per leaf of ~1.37 KB became ~0.1-0.2 KB per leaf.
//
// Leaves below `leaf_blocks_from` (audit_meta; the tree size when migration
// 11 ran) stay in their audit_leaves rows and are read from there; every
// leaf from it on is in a block. The readers below see both, in index order.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/log_store.h"
#include "steward/status.h"
#include "steward/store.h"

namespace steward::audit {

// A block holds at most this many leaves (a leaf read by index decompresses
// its whole block) and is closed once its leaves hold kMaxBlockRawBytes.
inline constexpr int64_t kMaxBlockLeaves = 64;
inline constexpr size_t kMaxBlockRawBytes = size_t{256} << 10;
// A decoded block larger than this is refused (a damaged size field must
// not make the reader allocate without bound).
inline constexpr size_t kMaxBlockDecodedBytes = size_t{64} << 20;

// body = format byte (1) ‖ dictionary id ‖ one zstd frame (content size in
// its header). Dictionary 0: none; 1: kLeafDictionaryV1, a raw-content
// dictionary built into the binary (never changed: a new one gets a new id).
inline constexpr char kLeafBlockFormat = 1;
inline constexpr uint8_t kLeafDictionaryNone = 0;
inline constexpr uint8_t kLeafDictionaryV1 = 1;
std::string_view LeafDictionaryV1();

// One leaf as stored: its bytes and the columns the audit_leaves row had.
struct BlockLeaf {
  std::string_view leaf;
  std::string_view kind;
  std::string_view subject;  // "" when the record has none
  int64_t time_ms = 0;
};

// Compresses `leaves` (1..kMaxBlockLeaves) into a block body.
Result<std::string> EncodeLeafBlock(const std::vector<BlockLeaf>& leaves,
                                    uint8_t dictionary = kLeafDictionaryV1);

// A decoded block; the leaves' views point into it.
class DecodedLeafBlock {
 public:
  // DataLoss naming the block's index range when `body` is not a valid
  // block of `entries` leaves.
  Status Decode(int64_t first_idx, int64_t entries, std::string_view body);
  const std::vector<BlockLeaf>& leaves() const { return leaves_; }

 private:
  std::string raw_;
  std::vector<BlockLeaf> leaves_;
};

// The first index stored in blocks (leaves below it are audit_leaves rows).
Result<int64_t> LeafBlocksFrom(Sql sql);

// A leaf as read back by the functions below.
struct StoredLeaf {
  int64_t index = 0;
  std::string_view leaf;
  std::string_view kind;
  std::string_view subject;  // "" when none
  int64_t time_ms = 0;
  std::string_view leaf_hash;  // 32 bytes as stored
};
using StoredLeafVisitor = std::function<Status(const StoredLeaf&)>;

// Visits the stored leaves with index in [from, to), in index order (both
// layouts). Indices the store lacks are skipped: callers that need every
// one check the indices they get. A non-OK status from `visit` stops the
// walk and is returned.
Status ForEachStoredLeaf(Sql sql, int64_t from, int64_t to, const StoredLeafVisitor& visit);
// The same newest first, from the last stored leaf down (streamed).
Status ForEachStoredLeafNewestFirst(Database& db, const StoredLeafVisitor& visit);
// One leaf's bytes; nullopt when the store lacks it.
Result<std::optional<std::string>> ReadStoredLeaf(Sql sql, int64_t index);
// The stored leaf hashes of [first, first + count), in order; fewer when
// one is missing (the first missing index ends the list).
Result<std::vector<Hash>> ReadStoredLeafHashes(Sql sql, int64_t first, int64_t count);

// Every stored leaf's bytes in index order (tests and small stores; other
// modules' tests read the log through it instead of the tables).
Result<std::vector<std::string>> AllStoredLeaves(Database& db);

}  // namespace steward::audit
