#include "audit/log_store.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <tuple>

#include "audit/leaf_blocks.h"
#include "audit/payload_crypto.h"
#include "common/strings.h"

namespace steward::audit {

const std::vector<Migration>& AuditMigrations() {
  static const std::vector<Migration> kMigrations = {
      {"audit", 1,
       "CREATE TABLE audit_meta (name TEXT PRIMARY KEY, value BIGINT NOT NULL);"
       "CREATE TABLE audit_leaves (idx BIGINT PRIMARY KEY, leaf BLOB NOT NULL,"
       " leaf_hash BLOB NOT NULL, kind TEXT NOT NULL, subject TEXT, time_ms BIGINT NOT NULL);"
       "CREATE INDEX audit_leaves_subject ON audit_leaves(subject);"
       "CREATE TABLE audit_nodes (lvl BIGINT NOT NULL, idx BIGINT NOT NULL, hash BLOB NOT NULL,"
       " PRIMARY KEY (lvl, idx));"
       "CREATE TABLE audit_sth (tree_size BIGINT NOT NULL, timestamp_ms BIGINT NOT NULL,"
       " root_hash BLOB NOT NULL, public_key BLOB NOT NULL, signature BLOB NOT NULL,"
       " PRIMARY KEY (tree_size, timestamp_ms));"
       "CREATE TABLE audit_subject_keys (subject TEXT PRIMARY KEY, wrapped_key BLOB,"
       " kek_id TEXT, created_ms BIGINT NOT NULL, erased_ms BIGINT);"
       "CREATE TABLE audit_payloads (ref TEXT NOT NULL, part TEXT NOT NULL, subject TEXT NOT NULL,"
       " leaf_index BIGINT NOT NULL, created_ms BIGINT NOT NULL, sealed BLOB,"
       " shredded_ms BIGINT, PRIMARY KEY (ref, part));"
       "CREATE INDEX audit_payloads_subject ON audit_payloads(subject);"
       "CREATE INDEX audit_payloads_created ON audit_payloads(created_ms);"},
      {"audit", 2, "ALTER TABLE audit_payloads ADD COLUMN data_class TEXT"},
      // DSAR exports look payloads up by leaf; a random-keyed subject index
      // only cost write amplification on every append.
      {"audit", 3,
       "DROP INDEX audit_payloads_subject;"
       "CREATE INDEX audit_payloads_leaf ON audit_payloads(leaf_index)"},
      // The per-leaf subject index becomes a table filled in bulk (see
      // IndexSubjectsInTx); existing leaves are indexed here.
      {"audit", 4,
       "CREATE TABLE audit_subject_index (subject TEXT NOT NULL, idx BIGINT NOT NULL,"
       " PRIMARY KEY (subject, idx));"
       "INSERT INTO audit_subject_index(subject, idx)"
       " SELECT subject, idx FROM audit_leaves WHERE subject IS NOT NULL ORDER BY subject, idx;"
       "INSERT INTO audit_meta(name, value) SELECT 'subject_indexed_size',"
       " COALESCE((SELECT value FROM audit_meta WHERE name = 'tree_size'), 0);"
       "DROP INDEX audit_leaves_subject"},
      // DSAR exports find payload rows by the ref their record names (the
      // primary key): one index less to update per payload row.
      {"audit", 5, "DROP INDEX audit_payloads_leaf"},
      // Proofs read runs of up to 16 nodes of one level: with the hash in the
      // index a run is one index page instead of a table row per node (the
      // rows of a level are spread among the other levels' rows). Nodes are
      // written for one leaf in 16, so the extra entry is cheap.
      {"audit", 6, "CREATE INDEX audit_nodes_by_level ON audit_nodes(lvl, idx, hash)"},
      // The leaf index becomes the table's row key (INTEGER PRIMARY KEY: in
      // SQLite the rowid): rows are stored in index order with no separate
      // key index, so `audit verify` reads them in one sequential pass
      // (before: an index lookup plus a table lookup per row) and an append
      // dirties no key-index page. Existing leaves are copied once.
      {"audit", 7,
       "CREATE TABLE audit_leaves_v7 (idx INTEGER PRIMARY KEY, leaf BLOB NOT NULL,"
       " leaf_hash BLOB NOT NULL, kind TEXT NOT NULL, subject TEXT, time_ms BIGINT NOT NULL);"
       "INSERT INTO audit_leaves_v7(idx, leaf, leaf_hash, kind, subject, time_ms)"
       " SELECT idx, leaf, leaf_hash, kind, subject, time_ms FROM audit_leaves ORDER BY idx;"
       "DROP TABLE audit_leaves;"
       "ALTER TABLE audit_leaves_v7 RENAME TO audit_leaves"},
      // Payload parts in blocks, one row per commit and group (see
      // StoredPayloadPart in log_store.h): a payload row per part with its
      // primary-key and time index entries cost the gateway's writer more
      // than its leaf rows. The row key is the group << 56 | the block's
      // first leaf (migration 9 drops the index made here).
      {"audit", 8,
       "CREATE TABLE audit_payload_blocks (id INTEGER PRIMARY KEY, first_idx BIGINT NOT NULL,"
       " part TEXT NOT NULL, data_class TEXT NOT NULL, created_ms BIGINT NOT NULL,"
       " entries BIGINT NOT NULL, body BLOB NOT NULL, shredded_ms BIGINT);"
       "CREATE INDEX audit_payload_blocks_pending ON audit_payload_blocks(shredded_ms, part,"
       " data_class, created_ms)"},
      // Retention scans each group's blocks in leaf order from a mark in
      // audit_meta instead (ShredPayloadBlocksInTx): two fewer dirty pages
      // per commit.
      {"audit", 9, "DROP INDEX audit_payload_blocks_pending"},
      // The subject index in runs (see IndexSubjectsInTx): one row per
      // subject and bulk holding the indices of its leaves, instead of a
      // table row and a key entry per leaf. Rows of audit_subject_index
      // written before stay and are still read.
      {"audit", 10,
       "CREATE TABLE audit_subject_runs (subject TEXT NOT NULL, first_idx BIGINT NOT NULL,"
       " idxs BLOB NOT NULL, PRIMARY KEY (subject, first_idx))"},
      // Leaves in compressed blocks (leaf_blocks.h): one row per run of up
      // to 64 leaves of a commit, their hashes and a zstd frame of their
      // bytes, instead of a ~1.37 KB row per leaf. Existing leaves stay in
      // audit_leaves (no rewrite of a big store): leaves below
      // leaf_blocks_from are read from there, the rest from blocks.
      {"audit", 11,
       "CREATE TABLE audit_leaf_blocks (first_idx INTEGER PRIMARY KEY, entries BIGINT NOT NULL,"
       " leaf_hashes BLOB NOT NULL, body BLOB NOT NULL);"
       "INSERT INTO audit_meta(name, value) SELECT 'leaf_blocks_from',"
       " COALESCE((SELECT value FROM audit_meta WHERE name = 'tree_size'), 0)"},
  };
  return kMigrations;
}

Status Sql::Exec(std::string_view sql, const std::vector<Value>& params) {
  return tx_ ? tx_->Exec(sql, params) : db_->Exec(sql, params);
}

Result<std::vector<Row>> Sql::Query(std::string_view sql, const std::vector<Value>& params) {
  return tx_ ? tx_->Query(sql, params) : db_->Query(sql, params);
}

Result<std::vector<Hash>> ReadStoredHashes(Sql sql, int level, int64_t first, int64_t count) {
  if (level == 0) {
    STEWARD_ASSIGN_OR_RETURN(std::vector<Hash> out, ReadStoredLeafHashes(sql, first, count));
    if (static_cast<int64_t>(out.size()) != count) {
      return DataLoss("audit store is missing tree node (level 0, index " +
                      std::to_string(first + static_cast<int64_t>(out.size())) + ")");
    }
    return out;
  }
  Result<std::vector<Row>> rows = sql.Query("SELECT idx, hash FROM audit_nodes WHERE lvl = $1 AND idx >= $2 AND "
                             "idx < $3 ORDER BY idx",
                             {static_cast<int64_t>(level), first, first + count});
  if (!rows.ok()) return rows.status();
  std::vector<Hash> out;
  out.reserve(static_cast<size_t>(count));
  for (const Row& r : *rows) {
    const int64_t want = first + static_cast<int64_t>(out.size());
    if (r.Int(0) != want) break;
    STEWARD_ASSIGN_OR_RETURN(Hash h, HashFromBytes(r.Text(1), "stored tree node"));
    out.push_back(h);
  }
  if (static_cast<int64_t>(out.size()) != count) {
    return DataLoss("audit store is missing tree node (level " + std::to_string(level) +
                    ", index " + std::to_string(first + static_cast<int64_t>(out.size())) + ")");
  }
  return out;
}

namespace {

// Folds 2^k consecutive hashes of one level into the root of their subtree.
Hash FoldToRoot(std::vector<Hash> hashes) {
  for (size_t n = hashes.size(); n > 1; n /= 2) {
    for (size_t i = 0; i < n / 2; ++i) hashes[i] = NodeHash(hashes[2 * i], hashes[2 * i + 1]);
  }
  return hashes.front();
}

int StoredLevelAtOrBelow(int level) { return level - level % kNodeLevelStride; }

}  // namespace

Result<Hash> StoreSubtreeSource::Subtree(int level, int64_t index) {
  const int base = StoredLevelAtOrBelow(level);
  const int up = level - base;
  STEWARD_ASSIGN_OR_RETURN(auto hashes,
                           ReadStoredHashes(sql_, base, index << up, int64_t{1} << up));
  return FoldToRoot(std::move(hashes));
}

namespace {

class RecordingSource final : public SubtreeSource {
 public:
  Result<Hash> Subtree(int level, int64_t index) override {
    wanted.emplace(level, index);
    return Hash{};  // placeholder: only the shape of the walk matters
  }
  std::set<std::pair<int, int64_t>> wanted;
};

}  // namespace

Result<PrefetchedSubtrees> PrefetchedSubtrees::Load(
    Sql sql, const std::function<Status(SubtreeSource&)>& plan) {
  RecordingSource recorder;
  STEWARD_RETURN_IF_ERROR(plan(recorder));
  // Every wanted subtree as a range of hashes at its stored level, merged.
  std::map<int, std::vector<std::pair<int64_t, int64_t>>> ranges;  // level -> [first, end)
  for (const auto& [level, index] : recorder.wanted) {
    const int base = StoredLevelAtOrBelow(level);
    const int up = level - base;
    ranges[base].emplace_back(index << up, (index + 1) << up);
  }
  PrefetchedSubtrees out;
  for (auto& [level, list] : ranges) {
    std::sort(list.begin(), list.end());
    for (size_t i = 0; i < list.size();) {
      int64_t first = list[i].first, end = list[i].second;
      for (++i; i < list.size() && list[i].first <= end; ++i) end = std::max(end, list[i].second);
      STEWARD_ASSIGN_OR_RETURN(auto hashes, ReadStoredHashes(sql, level, first, end - first));
      for (int64_t k = 0; k < end - first; ++k) {
        out.hashes_[{level, first + k}] = hashes[static_cast<size_t>(k)];
      }
    }
  }
  return out;
}

Result<Hash> PrefetchedSubtrees::Subtree(int level, int64_t index) {
  if (level % kNodeLevelStride != 0) {
    STEWARD_ASSIGN_OR_RETURN(Hash left, Subtree(level - 1, 2 * index));
    STEWARD_ASSIGN_OR_RETURN(Hash right, Subtree(level - 1, 2 * index + 1));
    return NodeHash(left, right);
  }
  auto it = hashes_.find({level, index});
  if (it == hashes_.end()) {
    return DataLoss("audit store is missing tree node (level " + std::to_string(level) +
                    ", index " + std::to_string(index) + ")");
  }
  return it->second;
}

std::string NewPayloadRef(int64_t now_ms) {
  // A ref only has to be unique, not secret: a per-thread SplitMix64 stream
  // from a random seed (distinct outputs within a thread; across threads a
  // collision needs two random 64-bit streams to meet in one millisecond)
  // spares a CSPRNG call per request.
  thread_local uint64_t state = [] {
    uint64_t seed = 0;
    for (char c : RandomHex(8)) seed = seed * 16 + (c <= '9' ? c - '0' : c - 'a' + 10);
    return seed;
  }();
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  char ref[29];
  std::snprintf(ref, sizeof ref, "%012llx%016llx", static_cast<unsigned long long>(now_ms),
                static_cast<unsigned long long>(z));
  return ref;
}

Result<int64_t> StoredTreeSize(Sql sql) {
  STEWARD_ASSIGN_OR_RETURN(auto rows,
                           sql.Query("SELECT value FROM audit_meta WHERE name = 'tree_size'"));
  return rows.empty() ? int64_t{0} : rows[0].Int(0);
}

namespace {

// Multi-row INSERTs of up to 32 rows (a closed-loop batch of 64 leaves is
// two statements, not eight: writer CPU per append 8.8-9.2 -> 8.3-8.9 us);
// the SQLite store maps each `$k` once per prepared statement, so longer
// statements cost nothing more per row. A batch's remainder is one
// statement of exactly its size (a gateway commit of 7 leaves and 14
// payload parts: 2 statements instead of 6 in power-of-two pieces), so up
// to 32 texts per table are prepared and cached.
std::string MultiInsertSql(const std::string& head, int columns, int rows) {
  std::string sql = head + " VALUES ";
  int p = 1;
  for (int r = 0; r < rows; ++r) {
    if (r) sql += ',';
    sql += '(';
    for (int c = 0; c < columns; ++c) {
      if (c) sql += ',';
      sql += '$' + std::to_string(p++);
    }
    sql += ')';
  }
  return sql;
}

class BulkInserter {
 public:
  // `head` must have static storage (a literal): the statement texts built
  // from it are kept per thread under its address.
  BulkInserter(Transaction& tx, const char* head, int columns)
      : tx_(tx), head_(head), columns_(columns) {}

  // One row: exactly `columns` values, each constructed in place (an
  // initializer list would copy every leaf and ciphertext once more).
  template <typename... Values>
  Status Add(Values&&... row) {
    static_assert(sizeof...(Values) > 0);
    if (sizeof...(Values) != columns_) return Internal("bulk insert: wrong number of columns");
    if (pending_.empty()) pending_.reserve(kMaxRows * columns_);
    (pending_.emplace_back(std::forward<Values>(row)), ...);
    if (pending_.size() / columns_ >= kMaxRows) return Flush();
    return Status::Ok();
  }

  Status Flush() {
    const size_t rows = pending_.size() / columns_;
    if (rows == 0) return Status::Ok();
    Status s = tx_.Exec(SqlFor(rows), pending_);  // bound in place
    pending_.clear();
    return s;
  }

 private:
  static constexpr size_t kMaxRows = 32;
  // Built once per thread, head and row count (a 32-row leaf insert has 192
  // parameters: building its text cost the writer ~10 us per commit).
  const std::string& SqlFor(size_t rows) {
    thread_local std::map<std::pair<const char*, size_t>, std::string> texts;
    auto it = texts.find({head_, rows});
    if (it == texts.end()) {
      it = texts.emplace(std::make_pair(head_, rows),
                         MultiInsertSql(head_, static_cast<int>(columns_), static_cast<int>(rows)))
               .first;
    }
    return it->second;
  }

  Transaction& tx_;
  const char* head_;
  size_t columns_;
  std::vector<Value> pending_;
};

}  // namespace

namespace {

// Payload blocks (migration 8). A body is a version byte (1) and then per
// part: leaf index (u64), ref (u16 length + bytes), subject (u16 length +
// bytes), sealed (u32 length + nonce || ciphertext; length 0 once
// shredded), integers little-endian.
constexpr int kPayloadGroups = 4;  // part (prompt, completion) x class (plain, pii)
constexpr int kPayloadGroupShift = 56;
constexpr char kPayloadBlockVersion = 1;
// A block is closed at a leaf boundary once it holds this much: large
// prompts make several rows instead of one huge value.
constexpr size_t kPayloadBlockBytes = size_t{1} << 20;
constexpr const char* kPayloadParts[] = {"prompt", "completion"};
constexpr const char* kPayloadClasses[] = {"plain", "pii"};

int PayloadGroup(std::string_view part, std::string_view data_class) {
  int p = part == "prompt" ? 0 : part == "completion" ? 1 : -1;
  int c = data_class.empty() || data_class == "plain" ? 0 : data_class == "pii" ? 1 : -1;
  return p < 0 || c < 0 ? -1 : p * 2 + c;
}

int64_t PayloadBlockId(int group, int64_t first_leaf) {
  return (int64_t{group} << kPayloadGroupShift) + first_leaf;
}

void PutLe(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t GetLe(std::string_view in, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) {
    v |= uint64_t{static_cast<unsigned char>(in[at + static_cast<size_t>(i)])} << (8 * i);
  }
  return v;
}

struct PayloadBlockBuilder {
  std::string body;
  int64_t first_leaf = 0;
  int64_t last_leaf = -1;
  int64_t created_ms = 0;
  int64_t entries = 0;

  Status Add(int64_t leaf, const std::string& ref, const std::string& subject, int64_t time_ms,
             const std::string& key, std::string_view plaintext, std::string_view ad) {
    if (ref.size() > 0xffff || subject.size() > 0xffff) {
      return InvalidArgument("audit payload: ref or subject longer than 65535 bytes");
    }
    if (entries == 0) {
      body.clear();
      body.reserve(1 + 8 + 2 + ref.size() + 2 + subject.size() + 4 + plaintext.size() + 40);
      body.push_back(kPayloadBlockVersion);
      first_leaf = leaf;
      created_ms = time_ms;
    }
    PutLe(body, static_cast<uint64_t>(leaf), 8);
    PutLe(body, ref.size(), 2);
    body.append(ref);
    PutLe(body, subject.size(), 2);
    body.append(subject);
    const size_t len_at = body.size();
    body.append(4, '\0');
    const size_t sealed = SealAppend(&body, key, plaintext, ad);
    for (int i = 0; i < 4; ++i) body[len_at + i] = static_cast<char>((sealed >> (8 * i)) & 0xff);
    last_leaf = leaf;
    created_ms = std::max(created_ms, time_ms);
    ++entries;
    return Status::Ok();
  }

  // Hands the block to `rows` (moving the body) and starts an empty one.
  Status EmitTo(BulkInserter& rows, int group) {
    Status s = rows.Add(PayloadBlockId(group, first_leaf), first_leaf,
                        std::string(kPayloadParts[group / 2]),
                        std::string(kPayloadClasses[group % 2]), created_ms, entries,
                        Blob{std::move(body)});
    body.clear();
    entries = 0;
    last_leaf = -1;
    return s;
  }
};

// AppendLeavesInTx. The leaves' bytes are compressed into blocks straight
// from `leaves` (nothing is copied into a row per leaf any more).
Result<int64_t> AppendLeavesImpl(Transaction& tx, Frontier* frontier,
                                 const std::vector<LeafToAppend>& leaves,
                                 PayloadSealer* sealer,
                                 DataKeyCache* key_cache) {
  Sql sql(&tx);
  STEWARD_ASSIGN_OR_RETURN(int64_t size, StoredTreeSize(sql));
  if (frontier->size() != size) {
    // Someone else appended: cached data keys may be stale (an erasure
    // appends its record in the transaction that destroys the key).
    if (key_cache) key_cache->Clear();
    StoreSubtreeSource source(sql);
    STEWARD_ASSIGN_OR_RETURN(*frontier, Frontier::Load(source, size));
  }
  DataKeyCache local_keys;  // per call when the caller keeps none
  DataKeyCache& keys = key_cache ? *key_cache : local_keys;
  const int64_t first = size;
  // Leaves go into compressed blocks of up to kMaxBlockLeaves (migration
  // 11), one audit_leaf_blocks row each.
  BulkInserter leaf_rows(tx, "INSERT INTO audit_leaf_blocks(first_idx, entries, leaf_hashes, body)",
                         4);
  std::vector<BlockLeaf> block_leaves;
  block_leaves.reserve(static_cast<size_t>(std::min<int64_t>(kMaxBlockLeaves, leaves.size())));
  std::string block_hashes;
  int64_t block_first = first;
  size_t block_raw = 0;
  auto emit_block = [&]() -> Status {
    if (block_leaves.empty()) return Status::Ok();
    STEWARD_ASSIGN_OR_RETURN(std::string body, EncodeLeafBlock(block_leaves));
    const auto entries = static_cast<int64_t>(block_leaves.size());
    block_leaves.clear();
    block_raw = 0;
    return leaf_rows.Add(block_first, entries, Blob{std::move(block_hashes)}, Blob{std::move(body)});
  };
  BulkInserter node_rows(tx, "INSERT INTO audit_nodes(lvl, idx, hash)", 3);
  BulkInserter block_rows(tx,
                          "INSERT INTO audit_payload_blocks(id, first_idx, part, data_class,"
                          " created_ms, entries, body)",
                          7);
  PayloadBlockBuilder blocks[kPayloadGroups];
  std::string ad;  // reused: one associated-data text per part
  Status node_status;
  for (size_t i = 0; i < leaves.size(); ++i) {
    const LeafToAppend& l = leaves[i];
    const int64_t index = first + static_cast<int64_t>(i);
    const Hash lh = l.leaf_hash ? *l.leaf_hash : LeafHash(l.leaf);
    if (block_leaves.empty()) {
      block_first = index;
      block_hashes.clear();
      block_hashes.reserve(32 * static_cast<size_t>(kMaxBlockLeaves));
    }
    block_leaves.push_back(BlockLeaf{l.leaf, l.kind, l.subject, l.time_ms});
    block_hashes.append(AsBytes(lh));
    block_raw += l.leaf.size();
    if (static_cast<int64_t>(block_leaves.size()) >= kMaxBlockLeaves ||
        block_raw >= kMaxBlockRawBytes) {
      STEWARD_RETURN_IF_ERROR(emit_block());
    }
    frontier->Append(lh, [&](int level, int64_t idx, const Hash& h) {
      if (node_status.ok() && IsStoredNodeLevel(level)) {
        node_status =
            node_rows.Add(static_cast<int64_t>(level), idx, Blob{std::string(AsBytes(h))});
      }
    });
    STEWARD_RETURN_IF_ERROR(node_status);
    if (sealer == nullptr || l.payload_ref.empty() || l.payloads.empty()) continue;
    const std::optional<std::string>* key = keys.Find(l.subject);
    if (key == nullptr) {
      keys.OnMiss();  // e.g. reload a rotated KEK into *sealer
      STEWARD_ASSIGN_OR_RETURN(auto fetched, sealer->SubjectKey(sql, l.subject, l.time_ms, true));
      keys.Put(l.subject, std::move(fetched));
      key = keys.Find(l.subject);
    }
    if (!*key) continue;  // erased subject: keep hashes only
    for (const PayloadPart& p : l.payloads) {
      const int group = PayloadGroup(p.part, l.data_class);
      if (group < 0) {
        return InvalidArgument("audit payload: part must be prompt or completion and data class "
                               "plain or pii (got " + p.part + ", " + l.data_class + ")");
      }
      PayloadBlockBuilder& b = blocks[group];
      if (b.entries > 0 && b.body.size() >= kPayloadBlockBytes && b.last_leaf != index) {
        STEWARD_RETURN_IF_ERROR(b.EmitTo(block_rows, group));
      }
      ad.assign("steward-payload-v1\n");
      ad.append(l.payload_ref);
      ad.push_back('\n');
      ad.append(p.part);
      STEWARD_RETURN_IF_ERROR(b.Add(index, l.payload_ref, l.subject, l.time_ms, **key,
                                    p.plaintext, ad));
    }
  }
  for (int g = 0; g < kPayloadGroups; ++g) {
    if (blocks[g].entries > 0) STEWARD_RETURN_IF_ERROR(blocks[g].EmitTo(block_rows, g));
  }
  STEWARD_RETURN_IF_ERROR(emit_block());
  STEWARD_RETURN_IF_ERROR(leaf_rows.Flush());
  STEWARD_RETURN_IF_ERROR(node_rows.Flush());
  STEWARD_RETURN_IF_ERROR(block_rows.Flush());
  STEWARD_RETURN_IF_ERROR(tx.Exec(
      "INSERT INTO audit_meta(name, value) VALUES ('tree_size', $1) "
      "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
      {frontier->size()}));
  return first;
}

}  // namespace

Result<int64_t> AppendLeavesInTx(Transaction& tx, Frontier* frontier,
                                 const std::vector<LeafToAppend>& leaves, PayloadSealer* sealer,
                                 DataKeyCache* key_cache) {
  return AppendLeavesImpl(tx, frontier, leaves, sealer, key_cache);
}

Result<int64_t> AppendLeavesInTx(Transaction& tx, Frontier* frontier,
                                 std::vector<LeafToAppend>&& leaves, PayloadSealer* sealer,
                                 DataKeyCache* key_cache) {
  return AppendLeavesImpl(tx, frontier, leaves, sealer, key_cache);
}

Result<int64_t> AppendLeaves(Database& db, const std::vector<LeafToAppend>& leaves,
                             PayloadSealer* sealer) {
  STEWARD_ASSIGN_OR_RETURN(auto tx, db.Begin());
  Frontier frontier;  // empty: reloaded from the store when the log is not
  STEWARD_ASSIGN_OR_RETURN(int64_t first, AppendLeavesInTx(*tx, &frontier, leaves, sealer));
  STEWARD_RETURN_IF_ERROR(tx->Commit());
  return first;
}

Result<int64_t> SubjectIndexedSize(Sql sql) {
  STEWARD_ASSIGN_OR_RETURN(
      auto rows, sql.Query("SELECT value FROM audit_meta WHERE name = 'subject_indexed_size'"));
  return rows.empty() ? int64_t{0} : rows[0].Int(0);
}

std::string EncodeSubjectRun(const std::vector<int64_t>& indices) {
  std::string out(1, kSubjectRunVersion);
  for (size_t i = 1; i < indices.size(); ++i) {
    uint64_t delta = static_cast<uint64_t>(indices[i] - indices[i - 1]);
    while (delta >= 0x80) {
      out.push_back(static_cast<char>(0x80 | (delta & 0x7F)));
      delta >>= 7;
    }
    out.push_back(static_cast<char>(delta));
  }
  return out;
}

Result<std::vector<int64_t>> DecodeSubjectRun(int64_t first_idx, std::string_view run) {
  if (first_idx < 0) return DataLoss("audit subject run: negative first index");
  if (run.empty() || run[0] != kSubjectRunVersion) {
    return DataLoss("audit subject run at " + std::to_string(first_idx) +
                    ": unknown format (version byte " +
                    std::to_string(run.empty() ? -1 : static_cast<unsigned char>(run[0])) + ")");
  }
  std::vector<int64_t> out{first_idx};
  uint64_t delta = 0;
  int shift = 0;
  for (size_t at = 1; at < run.size(); ++at) {
    const auto byte = static_cast<unsigned char>(run[at]);
    if (shift > 56) return DataLoss("audit subject run: index delta too large");
    delta |= static_cast<uint64_t>(byte & 0x7F) << shift;
    if (byte & 0x80) {
      shift += 7;
      continue;
    }
    if (delta == 0 || delta > static_cast<uint64_t>(INT64_MAX - out.back())) {
      return DataLoss("audit subject run at " + std::to_string(first_idx) +
                      ": indices not strictly increasing");
    }
    out.push_back(out.back() + static_cast<int64_t>(delta));
    delta = 0;
    shift = 0;
  }
  if (shift != 0) return DataLoss("audit subject run: truncated index delta");
  return out;
}

namespace {

// One row per subject: the indices of its leaves in the bulk, in order,
// written sorted by subject so consecutive rows share index pages.
Status InsertSubjectRuns(Transaction& tx, std::map<std::string, std::vector<int64_t>>& runs) {
  BulkInserter rows(tx, "INSERT INTO audit_subject_runs(subject, first_idx, idxs)", 3);
  for (auto& [subject, indices] : runs) {
    const int64_t first = indices.front();
    STEWARD_RETURN_IF_ERROR(rows.Add(subject, first, Blob{EncodeSubjectRun(indices)}));
  }
  return rows.Flush();
}

// Leaves read back per transaction slice when the appender's list does not
// cover the range (bounded memory on a long unindexed tail).
constexpr int64_t kSubjectReadSlice = int64_t{1} << 16;

}  // namespace

Result<int64_t> IndexSubjectsInTx(Transaction& tx, KnownSubjects* known) {
  Sql sql(&tx);
  STEWARD_ASSIGN_OR_RETURN(int64_t size, StoredTreeSize(sql));
  STEWARD_ASSIGN_OR_RETURN(int64_t indexed, SubjectIndexedSize(sql));
  if (indexed >= size) return int64_t{0};
  // Grouped by subject: a subject's leaves in this bulk become one row
  // (before migration 10: a row and a key entry per leaf, 1.1-1.4 us of
  // the writer's CPU per append with 64 subjects).
  std::map<std::string, std::vector<int64_t>> runs;
  if (known != nullptr && known->from == indexed && known->to == size) {
    for (auto& [subject, idx] : known->entries) runs[std::move(subject)].push_back(idx);
    STEWARD_RETURN_IF_ERROR(InsertSubjectRuns(tx, runs));
  } else {
    for (int64_t from = indexed; from < size; from += kSubjectReadSlice) {
      runs.clear();
      const int64_t to = std::min(size, from + kSubjectReadSlice);
      STEWARD_RETURN_IF_ERROR(ForEachStoredLeaf(sql, from, to, [&](const StoredLeaf& l) {
        if (!l.subject.empty()) runs[std::string(l.subject)].push_back(l.index);
        return Status::Ok();
      }));
      STEWARD_RETURN_IF_ERROR(InsertSubjectRuns(tx, runs));
    }
  }
  STEWARD_RETURN_IF_ERROR(tx.Exec(
      "INSERT INTO audit_meta(name, value) VALUES ('subject_indexed_size', $1) "
      "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
      {size}));
  return size - indexed;
}

Result<std::vector<std::pair<int64_t, std::string>>> SubjectLeaves(Sql sql,
                                                                  const std::string& subject,
                                                                  int64_t size) {
  // The mark first: leaves below it are in the index even if a bulk insert
  // moves it meanwhile; the scan from it covers the rest (an entry found
  // both ways is kept once).
  STEWARD_ASSIGN_OR_RETURN(int64_t indexed, SubjectIndexedSize(sql));
  std::map<int64_t, std::string> found;
  // Indexed before migration 10: one row per leaf.
  STEWARD_ASSIGN_OR_RETURN(
      auto rows, sql.Query("SELECT l.idx, l.leaf FROM audit_subject_index s JOIN audit_leaves l "
                           "ON l.idx = s.idx WHERE s.subject = $1 AND s.idx < $2 ORDER BY s.idx",
                           {subject, size}));
  for (const Row& r : rows) found.emplace(r.Int(0), r.Text(1));
  // Since: runs of indices, each leaf then read by its row key.
  STEWARD_ASSIGN_OR_RETURN(
      auto run_rows, sql.Query("SELECT first_idx, idxs FROM audit_subject_runs WHERE subject = $1 "
                               "AND first_idx < $2 ORDER BY first_idx",
                               {subject, size}));
  std::vector<int64_t> run_indices;
  for (const Row& r : run_rows) {
    STEWARD_ASSIGN_OR_RETURN(std::vector<int64_t> indices, DecodeSubjectRun(r.Int(0), r.Text(1)));
    for (int64_t idx : indices) {
      if (idx >= size) break;
      run_indices.push_back(idx);
    }
  }
  // Each named leaf read from its block (or row); consecutive indices in
  // one block share one read and decompression.
  std::sort(run_indices.begin(), run_indices.end());
  for (size_t i = 0; i < run_indices.size();) {
    const int64_t idx = run_indices[i];
    size_t j = i + 1;
    while (j < run_indices.size() && run_indices[j] < idx + kMaxBlockLeaves) ++j;
    const int64_t to = run_indices[j - 1] + 1;
    std::map<int64_t, std::string> window;
    STEWARD_RETURN_IF_ERROR(ForEachStoredLeaf(sql, idx, to, [&](const StoredLeaf& l) {
      window.emplace(l.index, l.leaf);
      return Status::Ok();
    }));
    for (; i < j; ++i) {
      auto it = window.find(run_indices[i]);
      if (it == window.end()) {
        return DataLoss("the subject index names record " + std::to_string(run_indices[i]) +
                        ", which is not in the store (run `steward audit verify`)");
      }
      found.emplace(it->first, std::move(it->second));
    }
  }
  if (indexed < size) {
    STEWARD_RETURN_IF_ERROR(ForEachStoredLeaf(sql, indexed, size, [&](const StoredLeaf& l) {
      if (l.subject == subject) found.emplace(l.index, std::string(l.leaf));
      return Status::Ok();
    }));
  }
  return std::vector<std::pair<int64_t, std::string>>(std::make_move_iterator(found.begin()),
                                                      std::make_move_iterator(found.end()));
}

Result<std::vector<StoredPayloadPart>> DecodePayloadBlock(std::string_view body) {
  std::vector<StoredPayloadPart> out;
  if (body.empty() || body[0] != kPayloadBlockVersion) {
    return DataLoss("audit payload block: unknown format (version byte " +
                    std::to_string(body.empty() ? -1 : static_cast<unsigned char>(body[0])) +
                    ")");
  }
  size_t at = 1;
  auto need = [&](size_t n) { return body.size() - at >= n; };
  while (at < body.size()) {
    StoredPayloadPart p;
    if (!need(10)) return DataLoss("audit payload block: truncated part header");
    p.leaf_index = static_cast<int64_t>(GetLe(body, at, 8));
    const size_t ref_len = GetLe(body, at + 8, 2);
    at += 10;
    if (!need(ref_len + 2)) return DataLoss("audit payload block: truncated ref");
    p.ref.assign(body.substr(at, ref_len));
    at += ref_len;
    const size_t subject_len = GetLe(body, at, 2);
    at += 2;
    if (!need(subject_len + 4)) return DataLoss("audit payload block: truncated subject");
    p.subject.assign(body.substr(at, subject_len));
    at += subject_len;
    const size_t sealed_len = GetLe(body, at, 4);
    at += 4;
    if (!need(sealed_len)) return DataLoss("audit payload block: truncated ciphertext");
    if (sealed_len > 0) p.sealed.emplace(body.substr(at, sealed_len));
    at += sealed_len;
    out.push_back(std::move(p));
  }
  return out;
}

namespace {

StoredPayloadPart LegacyPayloadPart(const Row& r) {
  // ref, part, subject, leaf_index, sealed, shredded_ms, data_class
  StoredPayloadPart p;
  p.ref = r.Text(0);
  p.part = r.Text(1);
  p.subject = r.Text(2);
  p.leaf_index = r.Int(3);
  if (!r.IsNull(4)) p.sealed = r.Text(4);
  if (!r.IsNull(5)) p.shredded_ms = r.Int(5);
  p.data_class = r.IsNull(6) ? "plain" : r.Text(6);
  return p;
}

// The parts of a block row (id, part, data_class, body, shredded_ms).
Result<std::vector<StoredPayloadPart>> BlockRowParts(const Row& r) {
  STEWARD_ASSIGN_OR_RETURN(auto parts, DecodePayloadBlock(r.Text(3)));
  for (auto& p : parts) {
    p.part = r.Text(1);
    p.data_class = r.Text(2);
    if (!r.IsNull(4)) p.shredded_ms = r.Int(4);
  }
  return parts;
}

void SortParts(std::vector<StoredPayloadPart>& parts) {
  std::stable_sort(parts.begin(), parts.end(), [](const auto& a, const auto& b) {
    return std::tie(a.leaf_index, a.part) < std::tie(b.leaf_index, b.part);
  });
}

constexpr const char* kLegacyPayloadColumns =
    "SELECT ref, part, subject, leaf_index, sealed, shredded_ms, data_class FROM audit_payloads";

}  // namespace

Result<std::vector<StoredPayloadPart>> PayloadPartsOfLeaf(Sql sql, int64_t leaf_index,
                                                          const std::string& ref) {
  std::vector<StoredPayloadPart> out;
  STEWARD_ASSIGN_OR_RETURN(
      auto legacy, sql.Query(std::string(kLegacyPayloadColumns) +
                                 " WHERE ref = $1 AND leaf_index = $2",
                             {ref, leaf_index}));
  for (const Row& r : legacy) out.push_back(LegacyPayloadPart(r));
  // Per group, the block that may hold the leaf: the last one starting at
  // or before it (a group's blocks cover increasing, disjoint leaf ranges).
  for (int g = 0; g < kPayloadGroups; ++g) {
    STEWARD_ASSIGN_OR_RETURN(
        auto rows, sql.Query("SELECT id, part, data_class, body, shredded_ms FROM "
                             "audit_payload_blocks WHERE id >= $1 AND id <= $2 "
                             "ORDER BY id DESC LIMIT 1",
                             {PayloadBlockId(g, 0), PayloadBlockId(g, leaf_index)}));
    if (rows.empty()) continue;
    STEWARD_ASSIGN_OR_RETURN(auto parts, BlockRowParts(rows[0]));
    for (auto& p : parts) {
      if (p.leaf_index == leaf_index && p.ref == ref) out.push_back(std::move(p));
    }
  }
  SortParts(out);
  return out;
}

Result<std::vector<StoredPayloadPart>> AllPayloadParts(Sql sql) {
  std::vector<StoredPayloadPart> out;
  STEWARD_ASSIGN_OR_RETURN(auto legacy, sql.Query(kLegacyPayloadColumns));
  for (const Row& r : legacy) out.push_back(LegacyPayloadPart(r));
  STEWARD_ASSIGN_OR_RETURN(
      auto rows, sql.Query("SELECT id, part, data_class, body, shredded_ms FROM "
                           "audit_payload_blocks ORDER BY id"));
  for (const Row& r : rows) {
    STEWARD_ASSIGN_OR_RETURN(auto parts, BlockRowParts(r));
    for (auto& p : parts) out.push_back(std::move(p));
  }
  SortParts(out);
  return out;
}

Result<ShredProgress> ShredPayloadBlocksInTx(Transaction& tx, const std::string& part,
                                             const std::string& data_class, int64_t cutoff_ms,
                                             int64_t now_ms, int64_t max_blocks) {
  const int group = PayloadGroup(part, data_class);
  if (group < 0) return InvalidArgument("retention: unknown payload part or data class");
  // A group's blocks are scanned in leaf order from where the last run
  // stopped (audit_meta), up to the first one not past the cutoff: no index
  // on the blocks to update per commit (it was 2 of the ~9 pages a gateway
  // commit dirtied). Blocks come in leaf order, so their times ascend but for
  // the spread of request durations: a block whose newest part is older than
  // an earlier block's waits for that one.
  const std::string mark = "payload_blocks_shred_from_" + part + "_" + data_class;
  Sql sql(&tx);
  STEWARD_ASSIGN_OR_RETURN(
      auto from_rows, sql.Query("SELECT value FROM audit_meta WHERE name = $1", {mark}));
  const int64_t from =
      from_rows.empty() ? PayloadBlockId(group, 0)
                        : std::max(from_rows[0].Int(0), PayloadBlockId(group, 0));
  STEWARD_ASSIGN_OR_RETURN(
      auto rows, tx.Query("SELECT id, created_ms, shredded_ms FROM audit_payload_blocks "
                          "WHERE id >= $1 AND id < $2 ORDER BY id LIMIT $3",
                          {from, PayloadBlockId(group + 1, 0), max_blocks}));
  ShredProgress progress;
  int64_t next = from;
  bool reached_cutoff = false;
  for (const Row& r : rows) {
    if (r.Int(1) > cutoff_ms) {
      reached_cutoff = true;
      break;
    }
    next = r.Int(0) + 1;
    if (!r.IsNull(2)) continue;
    STEWARD_ASSIGN_OR_RETURN(
        auto body_rows,
        tx.Query("SELECT body FROM audit_payload_blocks WHERE id = $1", {r.Int(0)}));
    if (body_rows.empty()) continue;
    STEWARD_ASSIGN_OR_RETURN(auto parts, DecodePayloadBlock(body_rows[0].Text(0)));
    // The same body without the ciphertexts: which leaf had which part
    // stays known (a DSAR export says "expired", not nothing).
    std::string body(1, kPayloadBlockVersion);
    for (const auto& p : parts) {
      PutLe(body, static_cast<uint64_t>(p.leaf_index), 8);
      PutLe(body, p.ref.size(), 2);
      body.append(p.ref);
      PutLe(body, p.subject.size(), 2);
      body.append(p.subject);
      PutLe(body, 0, 4);
      if (p.sealed) ++progress.parts;
    }
    STEWARD_RETURN_IF_ERROR(
        tx.Exec("UPDATE audit_payload_blocks SET body = $1, shredded_ms = $2 WHERE id = $3",
                {Blob{std::move(body)}, now_ms, r.Int(0)}));
  }
  if (next != from) {
    STEWARD_RETURN_IF_ERROR(
        tx.Exec("INSERT INTO audit_meta(name, value) VALUES ($1, $2) "
                "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                {mark, next}));
  }
  progress.more = !reached_cutoff && rows.size() >= static_cast<size_t>(max_blocks);
  return progress;
}

Status InsertTreeHead(Sql sql, const TreeHead& head) {
  return sql.Exec(
      "INSERT INTO audit_sth(tree_size, timestamp_ms, root_hash, public_key, signature) "
      "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tree_size, timestamp_ms) DO NOTHING",
      {head.tree_size, head.timestamp_ms, Blob{std::string(AsBytes(head.root_hash))},
       Blob{head.public_key}, Blob{head.signature}});
}

namespace {

Result<std::vector<TreeHead>> QueryTreeHeads(Sql sql, std::string_view order_and_limit) {
  STEWARD_ASSIGN_OR_RETURN(
      auto rows, sql.Query("SELECT tree_size, timestamp_ms, root_hash, public_key, signature "
                           "FROM audit_sth " +
                           std::string(order_and_limit)));
  std::vector<TreeHead> heads;
  for (const Row& r : rows) {
    TreeHead h;
    h.tree_size = r.Int(0);
    h.timestamp_ms = r.Int(1);
    auto root = HashFromBytes(r.Text(2), "stored tree head root");
    if (!root.ok()) {
      return DataLoss("tree head at size " + std::to_string(h.tree_size) + ": " +
                      root.status().message());
    }
    h.root_hash = *root;
    h.public_key = r.Text(3);
    h.signature = r.Text(4);
    heads.push_back(std::move(h));
  }
  return heads;
}

}  // namespace

Result<std::vector<TreeHead>> LoadTreeHeads(Sql sql) {
  return QueryTreeHeads(sql, "ORDER BY tree_size, timestamp_ms");
}

Result<std::optional<TreeHead>> LatestTreeHead(Sql sql) {
  STEWARD_ASSIGN_OR_RETURN(
      auto heads, QueryTreeHeads(sql, "ORDER BY tree_size DESC, timestamp_ms DESC LIMIT 1"));
  if (heads.empty()) return std::optional<TreeHead>();
  return std::optional<TreeHead>(std::move(heads.front()));
}

}  // namespace steward::audit
