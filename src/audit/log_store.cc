#include "audit/log_store.h"

#include <cstdio>
#include <map>
#include <optional>
#include <set>

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
  };
  return kMigrations;
}

Status Sql::Exec(std::string_view sql, const std::vector<Value>& params) {
  return tx_ ? tx_->Exec(sql, params) : db_->Exec(sql, params);
}

Result<std::vector<Row>> Sql::Query(std::string_view sql, const std::vector<Value>& params) {
  return tx_ ? tx_->Query(sql, params) : db_->Query(sql, params);
}

Result<Hash> StoreSubtreeSource::Subtree(int level, int64_t index) {
  Result<std::vector<Row>> rows =
      level == 0
          ? sql_.Query("SELECT leaf_hash FROM audit_leaves WHERE idx = $1", {index})
          : sql_.Query("SELECT hash FROM audit_nodes WHERE lvl = $1 AND idx = $2",
                       {static_cast<int64_t>(level), index});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) {
    return DataLoss("audit store is missing tree node (level " + std::to_string(level) +
                    ", index " + std::to_string(index) + ")");
  }
  return HashFromBytes(rows->front().Text(0), "stored tree node");
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
  PrefetchedSubtrees out;
  std::vector<int64_t> leaves;
  std::vector<std::pair<int, int64_t>> nodes;
  for (const auto& [level, index] : recorder.wanted) {
    if (level == 0) {
      leaves.push_back(index);
    } else {
      nodes.emplace_back(level, index);
    }
  }
  // At most 16 lookups per statement: a handful of statements per proof,
  // each short enough to stay cheap to bind.
  constexpr size_t kPerQuery = 16;
  auto store = [&out](int level, int64_t index, const std::string& bytes) -> Status {
    STEWARD_ASSIGN_OR_RETURN(Hash h, HashFromBytes(bytes, "stored tree node"));
    out.hashes_[{level, index}] = h;
    return Status::Ok();
  };
  for (size_t from = 0; from < leaves.size(); from += kPerQuery) {
    const size_t n = std::min(kPerQuery, leaves.size() - from);
    std::string q = "SELECT idx, leaf_hash FROM audit_leaves WHERE idx IN (";
    std::vector<Value> params;
    for (size_t i = 0; i < n; ++i) {
      q += (i ? ",$" : "$") + std::to_string(i + 1);
      params.emplace_back(leaves[from + i]);
    }
    q += ")";
    STEWARD_ASSIGN_OR_RETURN(auto rows, sql.Query(q, params));
    for (const Row& r : rows) STEWARD_RETURN_IF_ERROR(store(0, r.Int(0), r.Text(1)));
  }
  for (size_t from = 0; from < nodes.size(); from += kPerQuery) {
    const size_t n = std::min(kPerQuery, nodes.size() - from);
    std::string q = "SELECT lvl, idx, hash FROM audit_nodes WHERE ";
    std::vector<Value> params;
    for (size_t i = 0; i < n; ++i) {
      q += (i ? " OR " : "") + std::string("(lvl = $") + std::to_string(2 * i + 1) +
           " AND idx = $" + std::to_string(2 * i + 2) + ")";
      params.emplace_back(static_cast<int64_t>(nodes[from + i].first));
      params.emplace_back(nodes[from + i].second);
    }
    STEWARD_ASSIGN_OR_RETURN(auto rows, sql.Query(q, params));
    for (const Row& r : rows) {
      STEWARD_RETURN_IF_ERROR(store(static_cast<int>(r.Int(0)), r.Int(1), r.Text(2)));
    }
  }
  return out;
}

Result<Hash> PrefetchedSubtrees::Subtree(int level, int64_t index) {
  auto it = hashes_.find({level, index});
  if (it == hashes_.end()) {
    return DataLoss("audit store is missing tree node (level " + std::to_string(level) +
                    ", index " + std::to_string(index) + ")");
  }
  return it->second;
}

std::string NewPayloadRef(int64_t now_ms) {
  char prefix[17];
  std::snprintf(prefix, sizeof prefix, "%012llx", static_cast<unsigned long long>(now_ms));
  return prefix + RandomHex(8);
}

Result<int64_t> StoredTreeSize(Sql sql) {
  STEWARD_ASSIGN_OR_RETURN(auto rows,
                           sql.Query("SELECT value FROM audit_meta WHERE name = 'tree_size'"));
  return rows.empty() ? int64_t{0} : rows[0].Int(0);
}

namespace {

// Multi-row INSERTs in power-of-two chunks so only a handful of distinct
// statements (and prepared-statement cache entries) exist. Chunks stay small
// (8 rows): beyond that the per-statement overhead saved is negligible, and
// stores that look `$k` names up per bind pay more per row in longer ones.
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
  BulkInserter(Transaction& tx, std::string head, int columns)
      : tx_(tx), head_(std::move(head)), columns_(columns) {}

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
    size_t rows = pending_.size() / columns_;
    size_t offset = 0;
    while (rows > 0) {
      size_t chunk = kMaxRows;
      while (chunk > rows) chunk /= 2;
      std::vector<Value> params(std::make_move_iterator(pending_.begin() + offset * columns_),
                                std::make_move_iterator(pending_.begin() + (offset + chunk) * columns_));
      STEWARD_RETURN_IF_ERROR(tx_.Exec(SqlFor(chunk), params));
      offset += chunk;
      rows -= chunk;
    }
    pending_.clear();
    return Status::Ok();
  }

 private:
  static constexpr size_t kMaxRows = 8;
  const std::string& SqlFor(size_t rows) {
    auto it = sql_.find(rows);
    if (it == sql_.end()) {
      it = sql_.emplace(rows, MultiInsertSql(head_, columns_, static_cast<int>(rows))).first;
    }
    return it->second;
  }

  Transaction& tx_;
  std::string head_;
  size_t columns_;
  std::vector<Value> pending_;
  std::map<size_t, std::string> sql_;
};

}  // namespace

Result<int64_t> AppendLeavesInTx(Transaction& tx, Frontier* frontier,
                                 const std::vector<LeafToAppend>& leaves, PayloadSealer* sealer,
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
  BulkInserter leaf_rows(tx, "INSERT INTO audit_leaves(idx, leaf, leaf_hash, kind, subject, time_ms)", 6);
  BulkInserter node_rows(tx, "INSERT INTO audit_nodes(lvl, idx, hash)", 3);
  BulkInserter payload_rows(
      tx, "INSERT INTO audit_payloads(ref, part, subject, leaf_index, created_ms, sealed, shredded_ms,"
      " data_class)",
      8);
  Status node_status;
  for (size_t i = 0; i < leaves.size(); ++i) {
    const LeafToAppend& l = leaves[i];
    const int64_t index = first + static_cast<int64_t>(i);
    Hash lh = LeafHash(l.leaf);
    STEWARD_RETURN_IF_ERROR(leaf_rows.Add(index, Blob{l.leaf}, Blob{std::string(AsBytes(lh))},
                                          l.kind, l.subject.empty() ? Value() : Value(l.subject),
                                          l.time_ms));
    frontier->Append(lh, [&](int level, int64_t idx, const Hash& h) {
      if (node_status.ok()) {
        node_status =
            node_rows.Add(static_cast<int64_t>(level), idx, Blob{std::string(AsBytes(h))});
      }
    });
    STEWARD_RETURN_IF_ERROR(node_status);
    if (sealer == nullptr || l.payload_ref.empty() || l.payloads.empty()) continue;
    const std::optional<std::string>* key = keys.Find(l.subject);
    if (key == nullptr) {
      STEWARD_ASSIGN_OR_RETURN(auto fetched, sealer->SubjectKey(sql, l.subject, l.time_ms, true));
      keys.Put(l.subject, std::move(fetched));
      key = keys.Find(l.subject);
    }
    if (!*key) continue;  // erased subject: keep hashes only
    for (const PayloadPart& p : l.payloads) {
      std::string sealed =
          SealBytes(**key, p.plaintext, PayloadSealer::PayloadAd(l.payload_ref, p.part));
      STEWARD_RETURN_IF_ERROR(payload_rows.Add(
          l.payload_ref, p.part, l.subject, index, l.time_ms, Blob{std::move(sealed)}, Value(),
          l.data_class.empty() ? std::string("plain") : l.data_class));
    }
  }
  STEWARD_RETURN_IF_ERROR(leaf_rows.Flush());
  STEWARD_RETURN_IF_ERROR(node_rows.Flush());
  STEWARD_RETURN_IF_ERROR(payload_rows.Flush());
  STEWARD_RETURN_IF_ERROR(tx.Exec(
      "INSERT INTO audit_meta(name, value) VALUES ('tree_size', $1) "
      "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
      {frontier->size()}));
  return first;
}

Result<int64_t> AppendLeaves(Database& db, const std::vector<LeafToAppend>& leaves,
                             PayloadSealer* sealer) {
  STEWARD_ASSIGN_OR_RETURN(auto tx, db.Begin());
  Frontier frontier;  // empty: reloaded from the store when the log is not
  STEWARD_ASSIGN_OR_RETURN(int64_t first, AppendLeavesInTx(*tx, &frontier, leaves, sealer));
  STEWARD_RETURN_IF_ERROR(tx->Commit());
  return first;
}

Status InsertTreeHead(Sql sql, const TreeHead& head) {
  return sql.Exec(
      "INSERT INTO audit_sth(tree_size, timestamp_ms, root_hash, public_key, signature) "
      "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tree_size, timestamp_ms) DO NOTHING",
      {head.tree_size, head.timestamp_ms, Blob{std::string(AsBytes(head.root_hash))},
       Blob{head.public_key}, Blob{head.signature}});
}

Result<std::vector<TreeHead>> LoadTreeHeads(Sql sql) {
  STEWARD_ASSIGN_OR_RETURN(
      auto rows, sql.Query("SELECT tree_size, timestamp_ms, root_hash, public_key, signature "
                           "FROM audit_sth ORDER BY tree_size, timestamp_ms"));
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

}  // namespace steward::audit
