// The audit log's tables and the transactional append shared by the
// group-commit writer (AuditLog) and one-off appenders (CLI admin events).
//
// Every append runs inside one write transaction that first reads the stored
// tree size, so several processes (the gateway, a CLI command) can append to
// the same store: the database's write lock orders them and each assigns
// indices after the ones already durable. Layout: docs/audit.md.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/merkle.h"
#include "steward/store.h"

namespace steward::audit {

const std::vector<Migration>& AuditMigrations();

// Runs statements on either a Database (autocommit) or a Transaction.
class Sql {
 public:
  explicit Sql(Database* db) : db_(db) {}
  explicit Sql(Transaction* tx) : tx_(tx) {}
  Status Exec(std::string_view sql, const std::vector<Value>& params = {});
  Result<std::vector<Row>> Query(std::string_view sql, const std::vector<Value>& params = {});

 private:
  Database* db_ = nullptr;
  Transaction* tx_ = nullptr;
};

// Interior nodes are stored only at every kNodeLevelStride-th level (4, 8,
// 12, ...; level 0 is audit_leaves.leaf_hash): an append writes about one
// node row per 16 leaves instead of one per leaf, and any subtree is folded
// from at most 2^(kNodeLevelStride-1) stored hashes of the stored level
// below it (one short range read). Stores written before this keep every
// level; the extra rows are checked by `audit verify` but never needed.
constexpr int kNodeLevelStride = 4;
inline bool IsStoredNodeLevel(int level) { return level > 0 && level % kNodeLevelStride == 0; }

// Reads the stored hashes of `level` (0: leaf hashes) with index in
// [first, first + count) in order; fails when one is missing.
Result<std::vector<Hash>> ReadStoredHashes(Sql sql, int level, int64_t first, int64_t count);

// Complete subtree hashes read from the store, folded from the stored level
// at or below the one asked for.
class StoreSubtreeSource final : public SubtreeSource {
 public:
  explicit StoreSubtreeSource(Sql sql) : sql_(sql) {}
  Result<Hash> Subtree(int level, int64_t index) override;

 private:
  Sql sql_;
};

// Answers the subtree lookups of a proof from memory after reading them all
// in a few queries: `plan` is first run against a recorder (proof shapes
// depend only on sizes and indices, never on hash values) to learn which
// subtrees it needs; each maps to a range of stored hashes, and the ranges
// are read merged, one range query each (an inclusion proof at 10M leaves:
// 7 short ranges). Subtrees between stored levels are folded on lookup.
class PrefetchedSubtrees final : public SubtreeSource {
 public:
  static Result<PrefetchedSubtrees> Load(Sql sql,
                                         const std::function<Status(SubtreeSource&)>& plan);
  Result<Hash> Subtree(int level, int64_t index) override;

 private:
  std::map<std::pair<int, int64_t>, Hash> hashes_;  // stored levels only
};

// The subject index is maintained in bulk: leaves [0, SubjectIndexedSize)
// are in it, newer ones are found by scanning audit_leaves from there. A
// per-leaf random-keyed index dirtied about one page per record; one sorted
// insert per 2^14 leaves dirties one page per distinct subject (and never
// more than the per-leaf index did). Since migration 10 a bulk writes one
// audit_subject_runs row per subject (its leaf indices, EncodeSubjectRun);
// audit_subject_index rows (one per leaf) written before are still read.
Result<int64_t> SubjectIndexedSize(Sql sql);
// The (subject, index) pairs of leaves [from, to) that have a subject, as
// their appender saw them: spares re-reading the leaf rows.
struct KnownSubjects {
  int64_t from = 0, to = 0;
  std::vector<std::pair<std::string, int64_t>> entries;
};
// Indexes every leaf below the stored tree size not indexed yet; returns
// how many leaves it covered. Run inside a write transaction. `known` is
// used when it covers exactly the unindexed range, else the subjects are
// read from audit_leaves.
Result<int64_t> IndexSubjectsInTx(Transaction& tx, KnownSubjects* known = nullptr);
// A subject's leaf indices in one bulk, strictly increasing: a version
// byte (1), then each index's distance from the previous one as an LEB128
// varint (the first index is the row's first_idx). Decode refuses a
// malformed run by name.
inline constexpr char kSubjectRunVersion = 1;
std::string EncodeSubjectRun(const std::vector<int64_t>& indices);
Result<std::vector<int64_t>> DecodeSubjectRun(int64_t first_idx, std::string_view run);
// The leaves of `subject` below `size` as (index, leaf bytes), in order.
Result<std::vector<std::pair<int64_t, std::string>>> SubjectLeaves(Sql sql,
                                                                  const std::string& subject,
                                                                  int64_t size);

// A payload reference: 12 hex digits of the time (so new rows append at the
// end of the payload index) and 16 random hex digits.
std::string NewPayloadRef(int64_t now_ms);

// The tree size recorded in audit_meta (0 for a new log).
Result<int64_t> StoredTreeSize(Sql sql);

// A payload text to keep encrypted beside a leaf.
struct PayloadPart {
  std::string part;       // "prompt" | "completion"
  std::string plaintext;
};

struct LeafToAppend {
  std::string leaf;          // the exact leaf bytes (canonical JSON)
  std::string kind;          // "request", "admin", ...
  std::string subject;       // subject pseudonym, "" if none
  int64_t time_ms = 0;
  std::string payload_ref;   // "" if no payloads
  std::string data_class;    // retention class of the payloads: "plain" | "pii"
  std::vector<PayloadPart> payloads;
  // LeafHash(leaf) when already computed (AuditLog::Append does it on the
  // caller's thread, off the single writer thread); computed here otherwise.
  std::optional<Hash> leaf_hash;
};

// Encrypted payloads are stored in blocks (migration 8): one
// audit_payload_blocks row per commit for each group of parts that share a
// retention (part x data class), holding every sealed part of the commit's
// leaves in that group. A commit of 7 gateway calls inserts 2 rows instead of
// 14 rows each with a primary-key and a time index entry. A block's row key
// is the group in the top bits and its first leaf index below, so the block
// that may hold a leaf's part is one descending range read. Retention
// shreds whole blocks (a group shares one retention; a block's created_ms
// is its newest part's); erasure destroys the subject's data key and leaves
// blocks untouched. Rows written before migration 8 stay in audit_payloads
// and are read and shredded as before.
struct StoredPayloadPart {
  int64_t leaf_index = 0;
  std::string ref;
  std::string part;        // "prompt" | "completion"
  std::string subject;     // pseudonym, "" for none
  std::string data_class;  // "plain" | "pii"
  std::optional<std::string> sealed;  // nonce || ciphertext; nullopt once shredded
  std::optional<int64_t> shredded_ms;
};
// The stored parts of leaf `leaf_index` under `ref` (the payload_ref its
// record names), both layouts, ordered by part.
Result<std::vector<StoredPayloadPart>> PayloadPartsOfLeaf(Sql sql, int64_t leaf_index,
                                                          const std::string& ref);
// Every stored part (both layouts), by leaf index then part: for tests and
// small stores (it reads every block).
Result<std::vector<StoredPayloadPart>> AllPayloadParts(Sql sql);
// Splits a block body into its parts (fields not in the body are left
// empty); DataLoss naming the problem when it is malformed.
Result<std::vector<StoredPayloadPart>> DecodePayloadBlock(std::string_view body);

// Retention for blocks: walks the blocks of one part and data class in leaf
// order from where the last call stopped (a mark in audit_meta), at most
// `max_blocks`, up to the first one whose newest part is after `cutoff_ms`,
// and shreds them (keeps each part's leaf, ref and subject, drops its
// ciphertext). `more`: it stopped at `max_blocks`, not at the cutoff.
struct ShredProgress {
  int64_t parts = 0;  // ciphertexts removed
  bool more = false;
};
Result<ShredProgress> ShredPayloadBlocksInTx(Transaction& tx, const std::string& part,
                                             const std::string& data_class, int64_t cutoff_ms,
                                             int64_t now_ms, int64_t max_blocks);

class PayloadSealer;  // payload_crypto.h
class DataKeyCache;   // payload_crypto.h

// Appends `leaves` in order inside `tx` and returns the index of the first.
// `frontier` caches the tree's right edge between calls: it is reloaded from
// the store when another appender moved the stored size. `sealer` (may be
// null: payloads are then dropped) encrypts payload parts under the
// subject's data key, creating the key on first use; a subject that was
// erased gets no payloads stored. `key_cache` (may be null) keeps unwrapped
// data keys between calls; it is cleared whenever the frontier had to be
// reloaded (someone else appended, e.g. an erasure), and the caller must
// clear it when `tx` does not commit.
Result<int64_t> AppendLeavesInTx(Transaction& tx, Frontier* frontier,
                                 const std::vector<LeafToAppend>& leaves, PayloadSealer* sealer,
                                 DataKeyCache* key_cache = nullptr);

// The same for an rvalue batch (kept for callers; since migration 11 the
// leaves' bytes are compressed into blocks from where they are, so both
// leave `leaves` as it was).
Result<int64_t> AppendLeavesInTx(Transaction& tx, Frontier* frontier,
                                 std::vector<LeafToAppend>&& leaves, PayloadSealer* sealer,
                                 DataKeyCache* key_cache = nullptr);

// Convenience: one transaction on `db` around AppendLeavesInTx.
Result<int64_t> AppendLeaves(Database& db, const std::vector<LeafToAppend>& leaves,
                             PayloadSealer* sealer);

// A signed tree head as stored.
struct TreeHead {
  int64_t tree_size = 0;
  int64_t timestamp_ms = 0;
  Hash root_hash{};
  std::string public_key;  // 32 raw bytes
  std::string signature;   // 64 raw bytes
};

Status InsertTreeHead(Sql sql, const TreeHead& head);
// Every stored head, ordered by tree size then timestamp.
Result<std::vector<TreeHead>> LoadTreeHeads(Sql sql);
// The head of the largest tree (the newest of equals); nullopt before the first.
Result<std::optional<TreeHead>> LatestTreeHead(Sql sql);

}  // namespace steward::audit
