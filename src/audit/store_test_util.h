// Test helpers (header-only, tests only): read, damage and write stored
// leaves in either layout the way an attacker or a broken disk would, and
// write stores as versions before migration 11 did (a row per leaf).
#pragma once

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "audit/leaf_blocks.h"
#include "audit/log_store.h"
#include "audit/merkle.h"
#include "steward/store.h"

namespace steward::audit::testing {

inline std::string StoredLeafAt(Database& db, int64_t idx) {
  auto leaf = ReadStoredLeaf(Sql(&db), idx);
  return leaf.ok() && *leaf ? **leaf : std::string();
}

inline std::string StoredLeafHashAt(Database& db, int64_t idx) {
  auto hashes = ReadStoredLeafHashes(Sql(&db), idx, 1);
  return hashes.ok() && hashes->size() == 1 ? std::string(AsBytes(hashes->front())) : "";
}

// The block row holding `idx` (first_idx, entries, leaf_hashes, body).
inline Result<Row> BlockRowOf(Database& db, int64_t idx) {
  STEWARD_ASSIGN_OR_RETURN(
      auto rows, db.Query("SELECT first_idx, entries, leaf_hashes, body FROM audit_leaf_blocks "
                          "WHERE first_idx <= $1 ORDER BY first_idx DESC LIMIT 1",
                          {idx}));
  if (rows.empty() || rows[0].Int(0) + rows[0].Int(1) <= idx) {
    return NotFound("no block holds record " + std::to_string(idx));
  }
  return rows[0];
}

struct EditableLeaf {
  std::string leaf, kind, subject, hash;
  int64_t time_ms = 0;
};

inline Result<std::vector<EditableLeaf>> DecodeBlockRow(const Row& row) {
  DecodedLeafBlock block;
  STEWARD_RETURN_IF_ERROR(block.Decode(row.Int(0), row.Int(1), row.Text(3)));
  const std::string hashes = row.Text(2);
  std::vector<EditableLeaf> out;
  for (size_t k = 0; k < block.leaves().size(); ++k) {
    const BlockLeaf& l = block.leaves()[k];
    out.push_back({std::string(l.leaf), std::string(l.kind), std::string(l.subject),
                   hashes.substr(32 * k, 32), l.time_ms});
  }
  return out;
}

// Writes `leaves` as one block at `first` (replacing any row there).
inline Status WriteBlock(Database& db, int64_t first, const std::vector<EditableLeaf>& leaves) {
  std::vector<BlockLeaf> in;
  std::string hashes;
  for (const auto& l : leaves) {
    in.push_back({l.leaf, l.kind, l.subject, l.time_ms});
    hashes += l.hash;
  }
  STEWARD_ASSIGN_OR_RETURN(std::string body, EncodeLeafBlock(in));
  return db.Exec(
      "INSERT INTO audit_leaf_blocks(first_idx, entries, leaf_hashes, body) VALUES ($1, $2, $3, "
      "$4) ON CONFLICT (first_idx) DO UPDATE SET entries = excluded.entries, leaf_hashes = "
      "excluded.leaf_hashes, body = excluded.body",
      {first, static_cast<int64_t>(leaves.size()), Blob{hashes}, Blob{body}});
}

// Replaces record `idx`'s bytes and stored hash (either layout).
inline Status SetStoredLeaf(Database& db, int64_t idx, const std::string& leaf,
                            const std::string& hash) {
  STEWARD_ASSIGN_OR_RETURN(int64_t blocks_from, LeafBlocksFrom(Sql(&db)));
  if (idx < blocks_from) {
    return db.Exec("UPDATE audit_leaves SET leaf = $1, leaf_hash = $2 WHERE idx = $3",
                   {Blob{leaf}, Blob{hash}, idx});
  }
  STEWARD_ASSIGN_OR_RETURN(Row row, BlockRowOf(db, idx));
  STEWARD_ASSIGN_OR_RETURN(auto leaves, DecodeBlockRow(row));
  auto& l = leaves[static_cast<size_t>(idx - row.Int(0))];
  l.leaf = leaf;
  l.hash = hash;
  return WriteBlock(db, row.Int(0), leaves);
}

// Removes record `idx` (a block is split around it).
inline Status DeleteStoredLeaf(Database& db, int64_t idx) {
  STEWARD_ASSIGN_OR_RETURN(int64_t blocks_from, LeafBlocksFrom(Sql(&db)));
  if (idx < blocks_from) return db.Exec("DELETE FROM audit_leaves WHERE idx = $1", {idx});
  STEWARD_ASSIGN_OR_RETURN(Row row, BlockRowOf(db, idx));
  STEWARD_ASSIGN_OR_RETURN(auto leaves, DecodeBlockRow(row));
  const int64_t first = row.Int(0);
  const auto cut = static_cast<size_t>(idx - first);
  STEWARD_RETURN_IF_ERROR(
      db.Exec("DELETE FROM audit_leaf_blocks WHERE first_idx = $1", {first}));
  std::vector<EditableLeaf> before(leaves.begin(), leaves.begin() + static_cast<long>(cut));
  std::vector<EditableLeaf> after(leaves.begin() + static_cast<long>(cut) + 1, leaves.end());
  if (!before.empty()) STEWARD_RETURN_IF_ERROR(WriteBlock(db, first, before));
  if (!after.empty()) STEWARD_RETURN_IF_ERROR(WriteBlock(db, idx + 1, after));
  return Status::Ok();
}

// Appends leaves the way versions before migration 11 did: a row per leaf
// in audit_leaves and the nodes of the stored levels. `frontier` must hold
// the store's tree (start with an empty one on an empty store).
inline Status AppendLegacyLeaves(Database& db, Frontier& frontier,
                                 const std::vector<LeafToAppend>& leaves) {
  STEWARD_ASSIGN_OR_RETURN(auto tx, db.Begin());
  for (const LeafToAppend& l : leaves) {
    const int64_t idx = frontier.size();
    const Hash lh = LeafHash(l.leaf);
    STEWARD_RETURN_IF_ERROR(tx->Exec(
        "INSERT INTO audit_leaves(idx, leaf, leaf_hash, kind, subject, time_ms) VALUES ($1, $2, "
        "$3, $4, $5, $6)",
        {idx, Blob{l.leaf}, Blob{std::string(AsBytes(lh))}, l.kind,
         l.subject.empty() ? Value() : Value(l.subject), l.time_ms}));
    Status node_status;
    frontier.Append(lh, [&](int level, int64_t i, const Hash& h) {
      if (node_status.ok() && IsStoredNodeLevel(level)) {
        node_status = tx->Exec("INSERT INTO audit_nodes(lvl, idx, hash) VALUES ($1, $2, $3)",
                               {static_cast<int64_t>(level), i, Blob{std::string(AsBytes(h))}});
      }
    });
    STEWARD_RETURN_IF_ERROR(node_status);
  }
  STEWARD_RETURN_IF_ERROR(tx->Exec(
      "INSERT INTO audit_meta(name, value) VALUES ('tree_size', $1) "
      "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
      {frontier.size()}));
  return tx->Commit();
}

// The audit migrations up to and including `version`.
inline std::vector<Migration> AuditMigrationsUpTo(int version) {
  std::vector<Migration> out;
  for (const Migration& m : AuditMigrations()) {
    if (m.version <= version) out.push_back(m);
  }
  return out;
}

}  // namespace steward::audit::testing
