#include "audit/verify.h"

#include <bit>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <tuple>

#include "audit/canonical_json.h"
#include "audit/leaf_blocks.h"
#include "audit/leaf_hash_batch.h"
#include "audit/proof_json.h"
#include "common/strings.h"

namespace steward::audit {
namespace {

// Leaves read by one query when exporting (rows are held in memory).
constexpr int64_t kExportBatch = int64_t{1} << 14;

Status CheckHead(const TreeHead& h, const Hash& root, const std::string& expected_key) {
  if (h.root_hash != root) {
    return DataLoss("signed tree head at size " + std::to_string(h.tree_size) + " (timestamp " +
                    std::to_string(h.timestamp_ms) + ") has root " + ToHex(h.root_hash) +
                    " but the records give " + ToHex(root));
  }
  if (!expected_key.empty() && h.public_key != expected_key) {
    return DataLoss("signed tree head at size " + std::to_string(h.tree_size) +
                    " is signed by a key that is not this log's signing key");
  }
  if (!VerifyDetached(h.public_key, TreeHeadMessage(h.tree_size, h.timestamp_ms, ToHex(root)),
                      h.signature)) {
    return DataLoss("signed tree head at size " + std::to_string(h.tree_size) +
                    " has an invalid signature");
  }
  return Status::Ok();
}

// A stored tree node that disagrees with the leaves: the leaves it covers.
struct BadNode {
  int64_t first_leaf = 0, last_leaf = 0;
  std::string problem;
};

// Compares the subtrees `want[0..n)` of `level` (indices from `first_idx`)
// with the stored nodes. A mismatch with no mismatching descendant (in
// `bad`, or the bad leaf `bad_leaf`) is appended to `bad`: every ancestor
// of a bad node is bad too, so only the lowest one locates the damage.
// Levels must be checked bottom-up.
Status CheckStoredNodes(Database& db, int level, int64_t first_idx, const Hash* want, size_t n,
                        int64_t bad_leaf, std::vector<BadNode>& bad) {
  if (n == 0 || bad.size() > 64) return Status::Ok();
  const int64_t last_idx = first_idx + static_cast<int64_t>(n) - 1;
  size_t i = 0;  // next wanted node
  auto report = [&](int64_t idx, std::string problem) {
    const int64_t first_leaf = idx << level;
    const int64_t last_leaf = first_leaf + (int64_t{1} << level) - 1;
    if (bad_leaf >= first_leaf && bad_leaf <= last_leaf) return;  // a bad leaf below names it
    for (const BadNode& b : bad) {
      if (b.first_leaf >= first_leaf && b.last_leaf <= last_leaf) return;
    }
    if (bad.size() > 64) return;
    bad.push_back({first_leaf, last_leaf,
                   "tree node (level " + std::to_string(level) + ", index " + std::to_string(idx) +
                       ") " + std::move(problem)});
  };
  // Only every kNodeLevelStride-th level is kept (older stores kept all:
  // those rows are checked when present).
  const bool required = IsStoredNodeLevel(level);
  auto skip_missing_until = [&](int64_t idx) {
    for (; i < n && first_idx + static_cast<int64_t>(i) < idx; ++i) {
      if (required) report(first_idx + static_cast<int64_t>(i), "is missing");
    }
  };
  STEWARD_RETURN_IF_ERROR(db.QueryEach(
      "SELECT idx, hash FROM audit_nodes WHERE lvl = $1 AND idx >= $2 AND idx <= $3 ORDER BY idx",
      {static_cast<int64_t>(level), first_idx, last_idx}, [&](const RowView& row) -> Status {
        const int64_t idx = row.Int(0);
        skip_missing_until(idx);
        if (i >= n || first_idx + static_cast<int64_t>(i) != idx) return Status::Ok();
        const std::string_view h = row.Bytes(1);
        if (h.size() != 32 || std::memcmp(h.data(), want[i].data(), 32) != 0) {
          const int64_t first_leaf = idx << level;
          report(idx, "does not match the records it covers (leaves " +
                          std::to_string(first_leaf) + ".." +
                          std::to_string(first_leaf + (int64_t{1} << level) - 1) + ")");
        }
        ++i;
        return Status::Ok();
      }));
  skip_missing_until(last_idx + 1);
  return Status::Ok();
}

// One chunk of leaves [begin, end), read and checked: the hashes of the
// leading run of records that are present, in order and match their stored
// leaf hash, every complete subtree over that run, the first bad leaf and
// the stored nodes inside the chunk that disagree.
struct Chunk {
  std::vector<std::vector<Hash>> levels;  // levels[0]: leaf hashes of the good run
  int64_t bad_index = -1;
  std::string problem;
  std::vector<BadNode> bad_nodes;  // lowest level first
};

std::string RecordProblem(int64_t index, bool missing) {
  return "record " + std::to_string(index) +
         (missing ? " is missing" : " does not match its stored leaf hash (record bytes changed)");
}

Result<Chunk> ReadChunk(Database& db, int64_t begin, int64_t end, int64_t blocks_from) {
  Chunk chunk;
  chunk.levels.resize(1);
  std::vector<Hash>& leaf_hashes = chunk.levels[0];
  leaf_hashes.reserve(static_cast<size_t>(end - begin));
  // Records are read in place (rows of the old layout, or decompressed
  // blocks) and copied into a batch that is hashed several at a time
  // (LeafHashBatch), with their stored hashes; the scan stops at the first
  // problem, in index order.
  LeafHashBatch batch;
  std::string stored_hashes;  // 32 bytes for each leaf in the batch
  constexpr size_t kBatchLeaves = 4 * LeafHashBatch::kLanes;
  // Hashes the batch and keeps its leaves up to the first whose hash is not
  // the stored one (false then).
  auto check_batch = [&]() -> bool {
    const std::vector<Hash>& hashes = batch.Compute();
    for (size_t i = 0; i < hashes.size(); ++i) {
      if (std::memcmp(stored_hashes.data() + 32 * i, hashes[i].data(), 32) != 0) {
        chunk.bad_index = begin + static_cast<int64_t>(leaf_hashes.size());
        chunk.problem = RecordProblem(chunk.bad_index, false);
        return false;
      }
      leaf_hashes.push_back(hashes[i]);
    }
    batch.Clear();
    stored_hashes.clear();
    return true;
  };
  bool stopped = false;
  auto next_index = [&] { return begin + static_cast<int64_t>(leaf_hashes.size() + batch.size()); };
  // Names `problem` at the next expected index unless an earlier record in
  // the batch is bad (that one is named first), and stops the scan.
  auto stop_at_next = [&](std::string problem) -> Status {
    const int64_t expected = next_index();
    if (check_batch()) {
      chunk.bad_index = expected;
      chunk.problem = std::move(problem);
    }
    stopped = true;
    return DataLoss("stop: first problem found");
  };
  auto on_leaf = [&](int64_t idx, std::string_view leaf, std::string_view stored) -> Status {
    const int64_t expected = next_index();
    if (idx != expected || stored.size() != 32) {
      return stop_at_next(idx < expected ? "record " + std::to_string(idx) + " is stored twice"
                                         : RecordProblem(expected, idx != expected));
    }
    batch.Add(leaf);
    stored_hashes.append(stored);
    if (batch.size() < kBatchLeaves || check_batch()) return Status::Ok();
    stopped = true;
    return DataLoss("stop: first problem found");
  };
  Status s = Status::Ok();
  if (begin < blocks_from) {  // rows written before migration 11
    s = db.QueryEach(
        "SELECT idx, leaf, leaf_hash FROM audit_leaves WHERE idx >= $1 AND idx < $2 ORDER BY idx",
        {begin, std::min(end, blocks_from)},
        [&](const RowView& row) { return on_leaf(row.Int(0), row.Bytes(1), row.Bytes(2)); });
  }
  if (s.ok() && end > blocks_from) {
    // Blocks: the first one that may hold `from` starts at most a block's
    // width before it (one straddling a chunk edge is decoded by both).
    const int64_t from = std::max(begin, blocks_from);
    DecodedLeafBlock block;
    s = db.QueryEach(
        "SELECT first_idx, entries, leaf_hashes, body FROM audit_leaf_blocks WHERE first_idx >= $1 "
        "AND first_idx < $2 ORDER BY first_idx",
        {from - (kMaxBlockLeaves - 1), end}, [&](const RowView& row) -> Status {
          const int64_t first = row.Int(0), entries = row.Int(1);
          if (entries > 0 && entries <= kMaxBlockLeaves && first + entries <= from) {
            return Status::Ok();  // ends before this chunk
          }
          const std::string_view hashes = row.Bytes(2);
          Status decoded = block.Decode(first, entries, row.Bytes(3));
          if (decoded.ok() && hashes.size() != 32 * static_cast<size_t>(entries)) {
            decoded = DataLoss("audit leaf block of records " + std::to_string(first) + ".." +
                               std::to_string(first + entries - 1) + " holds " +
                               std::to_string(hashes.size()) + " bytes of leaf hashes");
          }
          if (!decoded.ok()) {
            // A damaged block: named with the records it covers.
            return stop_at_next("record " + std::to_string(std::max(first, next_index())) +
                                " cannot be read: " + decoded.message());
          }
          for (int64_t k = std::max<int64_t>(0, from - first); k < entries && first + k < end; ++k) {
            STEWARD_RETURN_IF_ERROR(on_leaf(first + k, block.leaves()[static_cast<size_t>(k)].leaf,
                                            hashes.substr(32 * static_cast<size_t>(k), 32)));
          }
          return Status::Ok();
        });
  }
  if (!s.ok() && !stopped) return s;
  if (!stopped) (void)check_batch();
  if (chunk.bad_index < 0 && static_cast<int64_t>(leaf_hashes.size()) < end - begin) {
    chunk.bad_index = begin + static_cast<int64_t>(leaf_hashes.size());
    chunk.problem = RecordProblem(chunk.bad_index, true);
  }
  // Every complete subtree inside the chunk, level by level, checked
  // against the stored nodes of that level.
  for (size_t l = 1; chunk.levels[l - 1].size() >= 2; ++l) {
    chunk.levels.emplace_back(chunk.levels[l - 1].size() / 2);
    const std::vector<Hash>& below = chunk.levels[l - 1];
    std::vector<Hash>& here = chunk.levels[l];
    NodeHashes(below.data(), here.size(), here.data());
    STEWARD_RETURN_IF_ERROR(CheckStoredNodes(db, static_cast<int>(l), begin >> l, here.data(),
                                             here.size(), chunk.bad_index, chunk.bad_nodes));
  }
  return chunk;
}

}  // namespace

Result<VerifyResult> VerifyStore(Database& db, const std::string& expected_public_key,
                                 Database* second_reader, int64_t chunk_leaves) {
  if (chunk_leaves < 1 || (chunk_leaves & (chunk_leaves - 1)) != 0) {
    return InvalidArgument("verify chunk size must be a power of two, not " +
                           std::to_string(chunk_leaves));
  }
  VerifyResult out;
  Sql sql(&db);
  STEWARD_ASSIGN_OR_RETURN(int64_t size, StoredTreeSize(sql));
  STEWARD_ASSIGN_OR_RETURN(std::vector<TreeHead> heads, LoadTreeHeads(sql));
  STEWARD_ASSIGN_OR_RETURN(const int64_t blocks_from, LeafBlocksFrom(sql));
  out.tree_size = size;
  auto fail = [&](int64_t index, std::string why) {
    if (!out.ok && out.first_bad_index <= index) return;
    out.ok = false;
    out.first_bad_index = index;
    out.problem = std::move(why);
  };


  size_t next_head = 0;
  while (next_head < heads.size() && heads[next_head].tree_size == 0) {
    Status s = CheckHead(heads[next_head], EmptyRoot(), expected_public_key);
    if (!s.ok()) fail(0, s.message());
    ++out.heads_checked;
    ++next_head;
  }

  Frontier frontier;  // the tree of every leaf checked so far
  // Chunks are aligned to chunk_leaves, so every complete subtree of up to
  // chunk_leaves leaves lies inside one chunk: levels[l][i] is subtree
  // (l, (begin >> l) + i) of the current chunk, computed from its leaves.
  std::vector<std::vector<Hash>> levels;
  // Appends the chunk's first `n` leaves to `f` as whole subtrees (largest
  // first), reporting the nodes above the chunk's levels they close.
  auto append_prefix = [&levels](Frontier& f, int64_t n, const Frontier::NodeSink& sink) {
    int64_t offset = 0;
    for (int l = static_cast<int>(levels.size()) - 1; l >= 0; --l) {
      const int64_t width = int64_t{1} << l;
      if (!(n & width)) continue;
      Status s = f.AppendSubtree(l, levels[l][offset >> l], sink);
      (void)s;  // aligned by construction: chunk starts are multiples of chunk_leaves
      offset += width;
    }
  };
  // Two chunks are read, hashed and checked against their stored nodes at
  // once, each on its own thread and reader connection (chunk k on
  // readers[k % 2]; up to four are queued so a reader never waits for this
  // thread), while this thread joins finished chunks to the tree and checks
  // the nodes above them and the heads.
  Database* readers[2] = {&db, second_reader ? second_reader : &db};
  auto launch = [&readers, chunk_leaves, blocks_from](int64_t b, int64_t e) {
    Database* reader = readers[(b / chunk_leaves) % 2];
    return std::async(std::launch::async,
                      [reader, b, e, blocks_from] { return ReadChunk(*reader, b, e, blocks_from); });
  };
  std::vector<BadNode> bad;  // stored nodes found bad so far (lowest first per chunk)
  std::vector<std::tuple<int, int64_t, Hash>> upper_nodes;  // nodes spanning several chunks
  std::deque<std::future<Result<Chunk>>> in_flight;
  int64_t next_launch = 0;
  auto top_up = [&] {
    while (in_flight.size() < 4 && next_launch < size) {
      in_flight.push_back(launch(next_launch, std::min(size, next_launch + chunk_leaves)));
      next_launch += chunk_leaves;
    }
  };
  auto drain = [&in_flight] {
    for (auto& f : in_flight) f.wait();
  };
  top_up();
  for (int64_t begin = 0; begin < size && out.ok; begin += chunk_leaves) {
    Result<Chunk> fetched = in_flight.front().get();
    in_flight.pop_front();
    if (!fetched.ok()) {
      drain();
      return fetched.status();
    }
    top_up();
    Chunk chunk = std::move(*fetched);
    if (chunk.bad_index >= 0) fail(chunk.bad_index, std::move(chunk.problem));
    const size_t count = chunk.levels.empty() ? 0 : chunk.levels[0].size();
    levels = std::move(chunk.levels);
    if (levels.empty()) levels.resize(1);
    // Heads whose size falls in this chunk, as the tree passes them.
    while (next_head < heads.size() &&
           heads[next_head].tree_size <= begin + static_cast<int64_t>(count)) {
      Frontier at_head = frontier;
      append_prefix(at_head, heads[next_head].tree_size - begin, nullptr);
      Status s = CheckHead(heads[next_head], at_head.Root(), expected_public_key);
      if (!s.ok()) fail(heads[next_head].tree_size - 1, s.message());
      ++out.heads_checked;
      ++next_head;
    }
    std::vector<std::tuple<int, int64_t, Hash>> upper;  // nodes spanning several chunks
    append_prefix(frontier, static_cast<int64_t>(count),
                  [&upper](int level, int64_t idx, const Hash& h) { upper.emplace_back(level, idx, h); });
    // Stored interior nodes must equal the ones the leaves give: proofs are
    // served from them. The chunk's own levels were checked by its reader.
    // The nodes above it are checked once every chunk is read: here they
    // would wait for the reader connection (busy streaming the next chunk).
    for (BadNode& b : chunk.bad_nodes) {
      fail(b.first_leaf, b.problem);
      bad.push_back(std::move(b));
    }
    upper_nodes.insert(upper_nodes.end(), upper.begin(), upper.end());
  }
  drain();
  // Bottom-up within each chunk's list, chunks in order: a node's bad
  // descendants (or bad leaf) are known when it is checked.
  const int64_t bad_leaf = out.ok ? -1 : out.first_bad_index;
  for (const auto& [level, idx, h] : upper_nodes) {
    const size_t known = bad.size();
    STEWARD_RETURN_IF_ERROR(CheckStoredNodes(db, level, idx, &h, 1, bad_leaf, bad));
    for (size_t k = known; k < bad.size(); ++k) fail(bad[k].first_leaf, bad[k].problem);
  }
  out.root = frontier.Root();
  if (!out.ok) return out;
  // Every index in [0, size) was read exactly once above (it is the key),
  // so extra records can only lie outside it: a range count on the key,
  // not a scan of the whole table.
  // Rows of the old layout belong below blocks_from, blocks from it up to
  // the size.
  STEWARD_ASSIGN_OR_RETURN(
      auto extra, sql.Query("SELECT COUNT(*) FROM audit_leaves WHERE idx < 0 OR idx >= $1",
                            {std::min(size, blocks_from)}));
  STEWARD_ASSIGN_OR_RETURN(
      auto extra_blocks,
      sql.Query("SELECT COUNT(*), COALESCE(SUM(entries), 0) FROM audit_leaf_blocks WHERE "
                "first_idx < $1 OR first_idx + entries > $2",
                {blocks_from, size}));
  const int64_t extra_leaves = (extra.empty() ? 0 : extra[0].Int(0)) +
                               (extra_blocks.empty() ? 0 : std::max<int64_t>(extra_blocks[0].Int(0), extra_blocks[0].Int(1)));
  if (extra_leaves != 0) {
    fail(size, "the store holds " + std::to_string(size + extra_leaves) +
                   " records but the tree size is " + std::to_string(size));
  }
  for (; next_head < heads.size(); ++next_head) {
    fail(size, "signed tree head at size " + std::to_string(heads[next_head].tree_size) +
                   " covers records that are not in the log (size " + std::to_string(size) +
                   "): records were dropped");
  }
  if (!out.ok) return out;
  StoreSubtreeSource source(sql);
  for (size_t i = 0; i + 1 < heads.size(); ++i) {
    const TreeHead& a = heads[i];
    const TreeHead& b = heads[i + 1];
    auto proof = ConsistencyProof(source, a.tree_size, b.tree_size);
    Status s = proof.ok() ? VerifyConsistency(a.tree_size, b.tree_size, a.root_hash, b.root_hash,
                                              *proof)
                          : proof.status();
    if (!s.ok()) {
      fail(std::max<int64_t>(a.tree_size - 1, 0),
           "tree head at size " + std::to_string(a.tree_size) +
               " is not consistent with the head at size " + std::to_string(b.tree_size) + ": " +
               s.message());
      break;
    }
  }
  return out;
}

Result<InclusionProofResult> ProveInclusion(Database& db, int64_t index,
                                            std::optional<int64_t> size) {
  // No transaction: nodes never change once written and every node of a
  // size up to the stored size exists, so reads need no snapshot (and
  // proofs never wait for the writer's lock).
  Sql sql(&db);
  STEWARD_ASSIGN_OR_RETURN(int64_t stored, StoredTreeSize(sql));
  int64_t n = size.value_or(stored);
  if (n > stored) {
    return InvalidArgument("tree size " + std::to_string(n) + " is larger than the log (" +
                           std::to_string(stored) + " records)");
  }
  if (index < 0 || index >= n) {
    return InvalidArgument("leaf index " + std::to_string(index) + " is not below tree size " +
                           std::to_string(n));
  }
  STEWARD_ASSIGN_OR_RETURN(
      PrefetchedSubtrees source,
      PrefetchedSubtrees::Load(sql, [index, n](SubtreeSource& s) -> Status {
        STEWARD_RETURN_IF_ERROR(s.Subtree(0, index).status());
        return InclusionProof(s, index, n).status();
      }));
  InclusionProofResult r;
  r.leaf_index = index;
  r.tree_size = n;
  STEWARD_ASSIGN_OR_RETURN(r.leaf_hash, source.Subtree(0, index));
  STEWARD_ASSIGN_OR_RETURN(r.audit_path, InclusionProof(source, index, n));
  // The path already holds everything the root is made of: folding it
  // saves reading the right edge again (stored hashes are what both would
  // read, so the result is the same; `audit verify` checks them).
  STEWARD_ASSIGN_OR_RETURN(r.root_hash,
                           RootFromInclusionProof(index, n, r.leaf_hash, r.audit_path));
  return r;
}

Result<ConsistencyProofResult> ProveConsistency(Database& db, int64_t first, int64_t second) {
  Sql sql(&db);  // see ProveInclusion
  STEWARD_ASSIGN_OR_RETURN(int64_t stored, StoredTreeSize(sql));
  if (first < 0 || second < first) {
    return InvalidArgument("need 0 <= OLD <= NEW, got " + std::to_string(first) + " and " +
                           std::to_string(second));
  }
  if (second > stored) {
    return InvalidArgument("tree size " + std::to_string(second) + " is larger than the log (" +
                           std::to_string(stored) + " records)");
  }
  STEWARD_ASSIGN_OR_RETURN(
      PrefetchedSubtrees source,
      PrefetchedSubtrees::Load(sql, [first, second](SubtreeSource& s) -> Status {
        STEWARD_RETURN_IF_ERROR(RangeHash(s, 0, first).status());
        STEWARD_RETURN_IF_ERROR(RangeHash(s, 0, second).status());
        return ConsistencyProof(s, first, second).status();
      }));
  ConsistencyProofResult r;
  r.first = first;
  r.second = second;
  STEWARD_ASSIGN_OR_RETURN(r.first_hash, RangeHash(source, 0, first));
  STEWARD_ASSIGN_OR_RETURN(r.second_hash, RangeHash(source, 0, second));
  STEWARD_ASSIGN_OR_RETURN(r.path, ConsistencyProof(source, first, second));
  return r;
}

namespace {

constexpr const char* kReadme = R"(Steward audit log export
========================

leaves.jsonl  one line per leaf: {"index":N,"leaf":"<base64 of the exact leaf bytes>"}
              Each leaf is the canonical JSON (UTF-8, sorted keys, no spaces) of one
              audit record. Prompt and completion texts are not in it, only their
              SHA-256 hashes and a reference to the encrypted payload.
sth.json      the signed tree head these leaves must produce:
              {"tree_size":N,"root_hash":"<hex>","timestamp_ms":T,
               "public_key":"<base64 Ed25519>","signature":"<base64>"}

How to verify by hand (RFC 9162 section 2.1, SHA-256):
1. For every line i (0-based, in order) check "index" == i and base64-decode
   "leaf" to bytes L_i. leaf_hash_i = SHA-256(0x00 || L_i).
2. The root of n leaves: MTH of one leaf is its leaf_hash; for n > 1 let k be
   the largest power of two smaller than n, and
   MTH(D[0:n]) = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n])).
3. Check n == tree_size and hex(MTH) == root_hash.
4. Check the Ed25519 signature (base64 "signature") with "public_key" over the
   UTF-8 bytes
       "steward-sth-v1\n" + tree_size + "\n" + timestamp_ms + "\n" + root_hash + "\n"
   (numbers in decimal, root_hash in lower-case hex), and compare public_key
   with the key the operator published.

Python 3 (needs the `cryptography` package for step 4):

  import base64, hashlib, json
  leaves = [json.loads(l) for l in open("leaves.jsonl")]
  hs = []
  for i, e in enumerate(leaves):
      assert e["index"] == i
      hs.append(hashlib.sha256(b"\0" + base64.b64decode(e["leaf"])).digest())
  def mth(h):
      if len(h) == 1: return h[0]
      k = 1
      while k * 2 < len(h): k *= 2
      return hashlib.sha256(b"\1" + mth(h[:k]) + mth(h[k:])).digest()
  sth = json.load(open("sth.json"))
  root = mth(hs) if hs else hashlib.sha256(b"").digest()
  assert len(hs) == sth["tree_size"] and root.hex() == sth["root_hash"]
  from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
  msg = "steward-sth-v1\n%d\n%d\n%s\n" % (sth["tree_size"], sth["timestamp_ms"], sth["root_hash"])
  Ed25519PublicKey.from_public_bytes(base64.b64decode(sth["public_key"])).verify(
      base64.b64decode(sth["signature"]), msg.encode())
  print("ok")

Or, with Steward installed: steward audit verify-export DIR
)";

Status WriteFileDurably(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Unavailable("cannot write " + path);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  out.close();
  if (!out) return Unavailable("cannot write " + path);
  return Status::Ok();
}

}  // namespace

Status ExportLog(Database& db, const TreeHead& head, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return InvalidArgument("cannot create " + dir + ": " + ec.message());
  const std::string leaves_path = dir + "/leaves.jsonl";
  std::ofstream out(leaves_path, std::ios::binary | std::ios::trunc);
  if (!out) return InvalidArgument("cannot write " + leaves_path);
  std::string buf;
  for (int64_t begin = 0; begin < head.tree_size; begin += kExportBatch) {
    int64_t end = std::min(head.tree_size, begin + kExportBatch);
    buf.clear();
    int64_t next = begin;
    const auto incomplete = [&] {
      return DataLoss("records " + std::to_string(begin) + ".." + std::to_string(end - 1) +
                      " are incomplete in the store (run `steward audit verify`)");
    };
    STEWARD_RETURN_IF_ERROR(ForEachStoredLeaf(Sql(&db), begin, end, [&](const StoredLeaf& l) {
      if (l.index != next) return incomplete();
      ++next;
      buf += "{\"index\":" + std::to_string(l.index) + ",\"leaf\":\"" + Base64Encode(l.leaf) +
             "\"}\n";
      return Status::Ok();
    }));
    if (next != end) return incomplete();
    out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
  }
  out.close();
  if (!out) return Unavailable("cannot write " + leaves_path);
  STEWARD_ASSIGN_OR_RETURN(std::string sth_text, CanonicalJson(TreeHeadJson(head)));
  STEWARD_RETURN_IF_ERROR(WriteFileDurably(dir + "/sth.json", sth_text + "\n"));
  return WriteFileDurably(dir + "/README.txt", kReadme);
}

Result<TreeHead> ParseSthJson(std::string_view text) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  if (ec) return InvalidArgument("sth.json is not JSON: " + ec.message());
  if (!v.is_object()) return InvalidArgument("sth.json must be a JSON object");
  const auto& o = v.get_object();
  auto int_field = [&](const char* key) -> Result<int64_t> {
    auto* f = o.if_contains(key);
    if (!f || !f->is_int64() || f->get_int64() < 0) {
      if (f && f->is_uint64()) return InvalidArgument(std::string("sth.json: `") + key + "` is too large");
      return InvalidArgument(std::string("sth.json: `") + key + "` must be a non-negative integer");
    }
    return f->get_int64();
  };
  auto str_field = [&](const char* key) -> Result<std::string> {
    auto* f = o.if_contains(key);
    if (!f || !f->is_string()) {
      return InvalidArgument(std::string("sth.json: `") + key + "` must be a string");
    }
    return std::string(f->get_string());
  };
  TreeHead h;
  STEWARD_ASSIGN_OR_RETURN(h.tree_size, int_field("tree_size"));
  STEWARD_ASSIGN_OR_RETURN(h.timestamp_ms, int_field("timestamp_ms"));
  STEWARD_ASSIGN_OR_RETURN(std::string root, str_field("root_hash"));
  STEWARD_ASSIGN_OR_RETURN(h.root_hash, HashFromHex(root, "sth.json: root_hash"));
  STEWARD_ASSIGN_OR_RETURN(std::string pk, str_field("public_key"));
  if (!Base64Decode(pk, &h.public_key) || h.public_key.size() != 32) {
    return InvalidArgument("sth.json: `public_key` must be base64 of 32 bytes");
  }
  STEWARD_ASSIGN_OR_RETURN(std::string sig, str_field("signature"));
  if (!Base64Decode(sig, &h.signature) || h.signature.size() != 64) {
    return InvalidArgument("sth.json: `signature` must be base64 of 64 bytes");
  }
  if (ToHex(h.root_hash) != root) {
    return InvalidArgument("sth.json: `root_hash` must be lower-case hex");
  }
  return h;
}

Result<ExportLeaf> ParseExportLine(std::string_view line) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(line, ec);
  if (ec) return InvalidArgument("not JSON: " + ec.message());
  if (!v.is_object()) return InvalidArgument("not a JSON object");
  const auto& o = v.get_object();
  auto* idx = o.if_contains("index");
  auto* leaf = o.if_contains("leaf");
  if (!idx || !idx->is_int64() || idx->get_int64() < 0) {
    return InvalidArgument("`index` must be a non-negative integer");
  }
  if (!leaf || !leaf->is_string()) return InvalidArgument("`leaf` must be a base64 string");
  ExportLeaf out;
  out.index = idx->get_int64();
  if (!Base64Decode(leaf->get_string(), &out.leaf)) {
    return InvalidArgument("`leaf` is not valid base64");
  }
  return out;
}

Result<ExportCheck> VerifyExport(const std::string& dir,
                                 const std::string& expected_public_key_b64) {
  ExportCheck out;
  auto fail = [&](int64_t index, std::string why) {
    out.ok = false;
    out.first_bad_index = index;
    out.problem = std::move(why);
    return out;
  };
  std::ifstream sth_in(dir + "/sth.json", std::ios::binary);
  if (!sth_in) return InvalidArgument("cannot read " + dir + "/sth.json");
  std::string sth_text((std::istreambuf_iterator<char>(sth_in)), std::istreambuf_iterator<char>());
  std::ifstream leaves_in(dir + "/leaves.jsonl", std::ios::binary);
  if (!leaves_in) return InvalidArgument("cannot read " + dir + "/leaves.jsonl");
  auto head = ParseSthJson(sth_text);
  if (!head.ok()) return fail(-1, head.status().message());
  out.tree_size = head->tree_size;
  out.public_key_b64 = Base64Encode(head->public_key);
  if (!expected_public_key_b64.empty() && expected_public_key_b64 != out.public_key_b64) {
    return fail(-1, "sth.json is signed by " + out.public_key_b64 + ", not by the expected key " +
                        expected_public_key_b64);
  }
  Frontier frontier;
  std::string line;
  int64_t expected = 0;
  while (std::getline(leaves_in, line)) {
    if (line.empty() && leaves_in.peek() == EOF) break;
    if (expected >= head->tree_size) {
      return fail(expected, "leaves.jsonl has more lines than tree_size " +
                                std::to_string(head->tree_size));
    }
    auto leaf = ParseExportLine(line);
    if (!leaf.ok()) {
      return fail(expected, "leaves.jsonl line " + std::to_string(expected + 1) + ": " +
                                leaf.status().message());
    }
    if (leaf->index != expected) {
      return fail(expected, "leaves.jsonl line " + std::to_string(expected + 1) + " has index " +
                                std::to_string(leaf->index) + ", expected " +
                                std::to_string(expected));
    }
    auto canon = ParseCanonicalJson(leaf->leaf);
    if (!canon.ok()) {
      return fail(expected, "leaf " + std::to_string(expected) +
                                " is not a canonical JSON record: " + canon.status().message());
    }
    frontier.Append(LeafHash(leaf->leaf));
    ++expected;
  }
  if (expected != head->tree_size) {
    return fail(expected, "leaves.jsonl has " + std::to_string(expected) +
                              " leaves but tree_size is " + std::to_string(head->tree_size));
  }
  Hash root = frontier.Root();
  out.root_hex = ToHex(root);
  if (root != head->root_hash) {
    return fail(std::max<int64_t>(expected - 1, 0),
                "the leaves give root " + out.root_hex + " but sth.json says " +
                    ToHex(head->root_hash));
  }
  if (!VerifyDetached(head->public_key,
                      TreeHeadMessage(head->tree_size, head->timestamp_ms, out.root_hex),
                      head->signature)) {
    return fail(-1, "the signature in sth.json does not verify");
  }
  return out;
}

}  // namespace steward::audit
