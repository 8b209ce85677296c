#include "audit/leaf_blocks.h"

#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>

namespace steward::audit {

// Raw-content zstd dictionary 1: the text of typical records (an admin
// record, a request record with findings and payloads, a streamed one), so
// the field names and common values of a small block's first leaf are
// matches instead of literals. Measured on 30k gateway leaves (bench-audit
// proxy part), level 1: blocks of 6 leaves 218 -> 143 bytes per leaf,
// blocks of 64 79 -> 71. It is part of the format: never edit it (a test
// pins its hash); a better one gets a new id.
std::string_view LeafDictionaryV1() {
  static const std::string kText =
      R"json({"action":"keys.create","actor":"cli:root","details":{},"kind":"admin","subject":null,"target":"key_0123456789abcdef","time_ms":1790000000000,"v":1})json"
      R"json({"action":"dsar.erase","actor":"key:admin","details":{"reason":"request"},"kind":"admin","subject":"s_0123456789abcdef0123456789abcdef","target":"payloads","time_ms":1790000000000,"v":1})json"
      R"json({"completion_sha256":null,"findings":[],"injection_score":null,"injection_signals":[],"key_id":"key_0123456789abcdef","kind":"request","latency_ms":0.5,"model":{"name":"gpt-4o-mini","version":null,"weights_digest":null},"outcome":"refused","payload_ref":null,"payloads":"none","phase":"stream_start","policy":{"bundle_hash":null,"decision":"deny","errors":[],"evaluated":false,"obligations":[],"reasons":[]},"prompt_sha256":null,"request_id":"req_0123456789abcdef01234567","role":"admin","route":{"endpoint":"embeddings","method":"POST","path":"/v1/embeddings","stream":true,"upstream":"openai","upstream_model":"text-embedding-3-small"},"status":403,"subject":null,"time_ms":1790000000000,"usage":{"completion_tokens":0,"estimated":true,"prompt_tokens":0},"v":1})json"
      R"json({"completion_sha256":"b4fc5b0bcbb5425a07671645929c7488dd6972d816dc97735f96a5c7e6c07bb3","findings":[{"action":"pseudonymize","count":1,"direction":"input","max_score":0.99,"type":"EMAIL_ADDRESS"},{"action":"redact","count":2,"direction":"output","max_score":0.85,"type":"PHONE_NUMBER"}],"injection_score":0.0163,"injection_signals":["ignore_previous"],"key_id":"key_c3199e77532c0424","kind":"request","latency_ms":12.345,"model":{"name":"llama-3.1-8b-instruct","version":"2024-07","weights_digest":"sha256:9a129038d9a00aed0cf6a7ea059ca50a813449061ab87848cf1a13eafdf33b2c"},"outcome":"held","payload_ref":"01a2218736333809dfab03ea6821","payloads":"hashes","phase":"stream_end","policy":{"bundle_hash":"1e6ed65d77d6364eeaed5a745ba5c4985ae2b700dd85d7cf7f027bdf294a33fc","decision":"permit","errors":[],"evaluated":true,"obligations":["pseudonymize(EMAIL_ADDRESS)"],"reasons":["default-permit-users"]},"prompt_sha256":"8bafa8a47296ba08b35cc2736d49060d79b1fbfb7989015f4eb9c0d35145612a","request_id":"req_f59382bae0432abc4c0d3492","role":"user","route":{"endpoint":"chat.completions","method":"POST","path":"/v1/chat/completions","stream":false,"upstream":"local","upstream_model":"llama-3.1-8b-instruct"},"status":202,"subject":"s_c95e3bf07b9d7e566bd0b21eb7472abe","time_ms":1795858839091,"usage":{"completion_tokens":128,"estimated":false,"prompt_tokens":42},"v":1})json"
      R"json({"completion_sha256":"9d65e8ce8396c3283552a4e68ea6ec7de594bf6fc2a47413be3276bbcd09d000","findings":[],"injection_score":0.0165,"injection_signals":[],"key_id":"key_c3199e77532c0424","kind":"request","latency_ms":0.253,"model":{"name":"m","version":null,"weights_digest":null},"outcome":"served","payload_ref":"01a2218736348e4a021385a3b47d","payloads":"full","phase":"complete","policy":{"bundle_hash":"d679ce1deed535ceb1e1bf4aaecc29ce5f139c26e52bad7026d43b9a84f87296","decision":"permit","errors":[],"evaluated":true,"obligations":[],"reasons":["default-callers"]},"prompt_sha256":"0e060957295d1ff6850459494ccfe35fb23d868035b1c089693f4ef35029e7af","request_id":"req_6acf78b345bd31d2ddb8e0f6","role":"user","route":{"endpoint":"chat.completions","method":"POST","path":"/v1/chat/completions","stream":false,"upstream":"local","upstream_model":"m"},"status":200,"subject":"s_d3579ec8650dba292a2c1638fe0a88d8","time_ms":1795858839091,"usage":{"completion_tokens":49,"estimated":false,"prompt_tokens":10},"v":1})json";
  return kText;
}

namespace {

constexpr int kCompressionLevel = 1;  // see docs/audit.md: level 3 was larger per leaf and slower

void PutVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>(0x80 | (v & 0x7F)));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

bool GetVarint(std::string_view in, size_t& at, uint64_t* v) {
  uint64_t out = 0;
  for (int shift = 0; shift <= 63; shift += 7) {
    if (at >= in.size()) return false;
    const auto byte = static_cast<unsigned char>(in[at++]);
    out |= static_cast<uint64_t>(byte & 0x7F) << shift;
    if (!(byte & 0x80)) {
      *v = out;
      return true;
    }
  }
  return false;
}

uint64_t ZigZag(int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63); }
int64_t UnZigZag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

// Digested dictionaries, made once per process; zstd contexts per thread.
const ZSTD_CDict* CompressionDictionary() {
  static ZSTD_CDict* dict = ZSTD_createCDict(LeafDictionaryV1().data(), LeafDictionaryV1().size(),
                                             kCompressionLevel);
  return dict;
}
const ZSTD_DDict* DecompressionDictionary() {
  static ZSTD_DDict* dict = ZSTD_createDDict(LeafDictionaryV1().data(), LeafDictionaryV1().size());
  return dict;
}

struct ZstdContexts {
  ZSTD_CCtx* c = ZSTD_createCCtx();
  ZSTD_DCtx* d = ZSTD_createDCtx();
  ~ZstdContexts() {
    ZSTD_freeCCtx(c);
    ZSTD_freeDCtx(d);
  }
};
ZstdContexts& Contexts() {
  thread_local ZstdContexts contexts;
  return contexts;
}

std::string RangeName(int64_t first_idx, int64_t entries) {
  return std::to_string(first_idx) + ".." + std::to_string(first_idx + std::max<int64_t>(entries, 1) - 1);
}

}  // namespace

Result<std::string> EncodeLeafBlock(const std::vector<BlockLeaf>& leaves, uint8_t dictionary) {
  if (leaves.empty() || static_cast<int64_t>(leaves.size()) > kMaxBlockLeaves) {
    return Internal("audit leaf block: 1 to " + std::to_string(kMaxBlockLeaves) +
                    " leaves, not " + std::to_string(leaves.size()));
  }
  if (dictionary != kLeafDictionaryNone && dictionary != kLeafDictionaryV1) {
    return Internal("audit leaf block: unknown dictionary");
  }
  // raw = per leaf: leaf length, kind length, kind, subject length,
  // subject, zigzag time (varints); then the leaves' bytes back to back
  // (records next to records compress better than interleaved with columns).
  thread_local std::string raw;
  raw.clear();
  size_t leaf_bytes = 0;
  for (const BlockLeaf& l : leaves) {
    PutVarint(raw, l.leaf.size());
    PutVarint(raw, l.kind.size());
    raw.append(l.kind);
    PutVarint(raw, l.subject.size());
    raw.append(l.subject);
    PutVarint(raw, ZigZag(l.time_ms));
    leaf_bytes += l.leaf.size();
  }
  if (raw.size() + leaf_bytes > kMaxBlockDecodedBytes) {
    // The reader refuses such a block: never write one.
    return InvalidArgument("audit leaf block: records of " + std::to_string(leaf_bytes) +
                           " bytes exceed the block limit of " +
                           std::to_string(kMaxBlockDecodedBytes) + " bytes");
  }
  raw.reserve(raw.size() + leaf_bytes);
  for (const BlockLeaf& l : leaves) raw.append(l.leaf);
  std::string body(2 + ZSTD_compressBound(raw.size()), '\0');
  body[0] = kLeafBlockFormat;
  body[1] = static_cast<char>(dictionary);
  ZSTD_CCtx* c = Contexts().c;
  const size_t n =
      dictionary == kLeafDictionaryV1
          ? ZSTD_compress_usingCDict(c, body.data() + 2, body.size() - 2, raw.data(), raw.size(),
                                     CompressionDictionary())
          : ZSTD_compressCCtx(c, body.data() + 2, body.size() - 2, raw.data(), raw.size(),
                              kCompressionLevel);
  if (ZSTD_isError(n)) {
    return Internal(std::string("audit leaf block: zstd: ") + ZSTD_getErrorName(n));
  }
  body.resize(2 + n);
  return body;
}

Status DecodedLeafBlock::Decode(int64_t first_idx, int64_t entries, std::string_view body) {
  leaves_.clear();
  auto bad = [&](const std::string& why) {
    leaves_.clear();
    return DataLoss("audit leaf block of records " + RangeName(first_idx, entries) + ": " + why);
  };
  if (entries < 1 || entries > kMaxBlockLeaves) {
    return bad("bad record count " + std::to_string(entries));
  }
  if (body.size() < 2 || body[0] != kLeafBlockFormat) {
    return bad("unknown format (version byte " +
               std::to_string(body.empty() ? -1 : static_cast<unsigned char>(body[0])) + ")");
  }
  const auto dictionary = static_cast<uint8_t>(body[1]);
  if (dictionary != kLeafDictionaryNone && dictionary != kLeafDictionaryV1) {
    return bad("unknown dictionary " + std::to_string(dictionary));
  }
  const std::string_view frame = body.substr(2);
  const size_t frame_size = ZSTD_findFrameCompressedSize(frame.data(), frame.size());
  if (ZSTD_isError(frame_size) || frame_size != frame.size()) {
    return bad("not one whole zstd frame");
  }
  const unsigned long long size = ZSTD_getFrameContentSize(frame.data(), frame.size());
  if (size == ZSTD_CONTENTSIZE_UNKNOWN || size == ZSTD_CONTENTSIZE_ERROR ||
      size > kMaxBlockDecodedBytes) {
    return bad("bad decoded size");
  }
  raw_.resize(static_cast<size_t>(size));
  ZSTD_DCtx* d = Contexts().d;
  const size_t got =
      dictionary == kLeafDictionaryV1
          ? ZSTD_decompress_usingDDict(d, raw_.data(), raw_.size(), frame.data(), frame.size(),
                                       DecompressionDictionary())
          : ZSTD_decompressDCtx(d, raw_.data(), raw_.size(), frame.data(), frame.size());
  if (ZSTD_isError(got)) return bad(std::string("cannot decompress: ") + ZSTD_getErrorName(got));
  if (got != raw_.size()) return bad("decoded size differs from its header");
  const std::string_view raw(raw_);
  size_t at = 0;
  std::vector<size_t> lengths;
  lengths.reserve(static_cast<size_t>(entries));
  leaves_.resize(static_cast<size_t>(entries));
  for (BlockLeaf& l : leaves_) {
    uint64_t leaf_len = 0, kind_len = 0, subject_len = 0, time = 0;
    if (!GetVarint(raw, at, &leaf_len) || !GetVarint(raw, at, &kind_len) ||
        kind_len > raw.size() - at) {
      return bad("truncated record header");
    }
    l.kind = raw.substr(at, kind_len);
    at += kind_len;
    if (!GetVarint(raw, at, &subject_len) || subject_len > raw.size() - at) {
      return bad("truncated record header");
    }
    l.subject = raw.substr(at, subject_len);
    at += subject_len;
    if (!GetVarint(raw, at, &time)) return bad("truncated record header");
    l.time_ms = UnZigZag(time);
    lengths.push_back(leaf_len);
  }
  for (size_t i = 0; i < leaves_.size(); ++i) {
    if (lengths[i] > raw.size() - at) return bad("truncated record " + std::to_string(first_idx + static_cast<int64_t>(i)));
    leaves_[i].leaf = raw.substr(at, lengths[i]);
    at += lengths[i];
  }
  if (at != raw.size()) return bad("trailing bytes after its records");
  return Status::Ok();
}

Result<int64_t> LeafBlocksFrom(Sql sql) {
  STEWARD_ASSIGN_OR_RETURN(
      auto rows, sql.Query("SELECT value FROM audit_meta WHERE name = 'leaf_blocks_from'"));
  return rows.empty() ? int64_t{0} : rows[0].Int(0);
}

namespace {

// Blocks read per query when walking a range (rows are materialised).
constexpr int64_t kBlocksPerQuery = 64;
constexpr int64_t kLegacyRowsPerQuery = 4096;

Status VisitBlock(int64_t first_idx, int64_t entries, std::string_view hashes, std::string_view body,
                  int64_t from, int64_t to, DecodedLeafBlock& block, const StoredLeafVisitor& visit) {
  STEWARD_RETURN_IF_ERROR(block.Decode(first_idx, entries, body));
  if (hashes.size() != 32 * static_cast<size_t>(entries)) {
    return DataLoss("audit leaf block of records " + RangeName(first_idx, entries) +
                    ": leaf hashes for " + std::to_string(hashes.size() / 32) + " records");
  }
  for (int64_t k = 0; k < entries; ++k) {
    const int64_t idx = first_idx + k;
    if (idx < from || idx >= to) continue;
    const BlockLeaf& l = block.leaves()[static_cast<size_t>(k)];
    STEWARD_RETURN_IF_ERROR(visit(StoredLeaf{idx, l.leaf, l.kind, l.subject, l.time_ms,
                                             hashes.substr(32 * static_cast<size_t>(k), 32)}));
  }
  return Status::Ok();
}

}  // namespace

Status ForEachStoredLeaf(Sql sql, int64_t from, int64_t to, const StoredLeafVisitor& visit) {
  if (from >= to) return Status::Ok();
  STEWARD_ASSIGN_OR_RETURN(int64_t blocks_from, LeafBlocksFrom(sql));
  // Rows of the layout before migration 11.
  for (int64_t at = from; at < std::min(to, blocks_from); at += kLegacyRowsPerQuery) {
    const int64_t end = std::min({to, blocks_from, at + kLegacyRowsPerQuery});
    STEWARD_ASSIGN_OR_RETURN(
        auto rows, sql.Query("SELECT idx, leaf, leaf_hash, kind, subject, time_ms FROM "
                             "audit_leaves WHERE idx >= $1 AND idx < $2 ORDER BY idx",
                             {at, end}));
    for (const Row& r : rows) {
      const std::string leaf = r.Text(1), hash = r.Text(2), kind = r.Text(3), subject = r.Text(4);
      STEWARD_RETURN_IF_ERROR(visit(StoredLeaf{r.Int(0), leaf, kind, subject, r.Int(5), hash}));
    }
  }
  // Blocks: the first that may hold `from` starts at most a block's width
  // before it.
  DecodedLeafBlock block;
  int64_t next = std::max(from, blocks_from) - (kMaxBlockLeaves - 1);
  while (next < to) {
    STEWARD_ASSIGN_OR_RETURN(
        auto rows, sql.Query("SELECT first_idx, entries, leaf_hashes, body FROM audit_leaf_blocks "
                             "WHERE first_idx >= $1 AND first_idx < $2 ORDER BY first_idx LIMIT $3",
                             {next, to, kBlocksPerQuery}));
    for (const Row& r : rows) {
      const std::string hashes = r.Text(2), body = r.Text(3);
      STEWARD_RETURN_IF_ERROR(VisitBlock(r.Int(0), r.Int(1), hashes, body,
                                         std::max(from, blocks_from), to, block, visit));
    }
    if (static_cast<int64_t>(rows.size()) < kBlocksPerQuery) break;
    next = rows.back().Int(0) + 1;
  }
  return Status::Ok();
}

Status ForEachStoredLeafNewestFirst(Database& db, const StoredLeafVisitor& visit) {
  STEWARD_ASSIGN_OR_RETURN(int64_t blocks_from, LeafBlocksFrom(Sql(&db)));
  DecodedLeafBlock block;
  STEWARD_RETURN_IF_ERROR(db.QueryEach(
      "SELECT first_idx, entries, leaf_hashes, body FROM audit_leaf_blocks WHERE first_idx >= $1 "
      "ORDER BY first_idx DESC",
      {blocks_from}, [&](const RowView& row) -> Status {
        const int64_t first = row.Int(0), entries = row.Int(1);
        STEWARD_RETURN_IF_ERROR(block.Decode(first, entries, row.Bytes(3)));
        const std::string_view hashes = row.Bytes(2);
        if (hashes.size() != 32 * static_cast<size_t>(entries)) {
          return DataLoss("audit leaf block of records " + RangeName(first, entries) +
                          ": leaf hashes do not match its record count");
        }
        for (int64_t k = entries - 1; k >= 0; --k) {
          const BlockLeaf& l = block.leaves()[static_cast<size_t>(k)];
          STEWARD_RETURN_IF_ERROR(visit(StoredLeaf{first + k, l.leaf, l.kind, l.subject, l.time_ms,
                                                   hashes.substr(32 * static_cast<size_t>(k), 32)}));
        }
        return Status::Ok();
      }));
  return db.QueryEach(
      "SELECT idx, leaf, leaf_hash, kind, subject, time_ms FROM audit_leaves WHERE idx < $1 "
      "ORDER BY idx DESC",
      {blocks_from}, [&](const RowView& row) -> Status {
        return visit(StoredLeaf{row.Int(0), row.Bytes(1), row.Bytes(3),
                                row.IsNull(4) ? std::string_view() : row.Bytes(4), row.Int(5),
                                row.Bytes(2)});
      });
}

Result<std::optional<std::string>> ReadStoredLeaf(Sql sql, int64_t index) {
  std::optional<std::string> out;
  STEWARD_RETURN_IF_ERROR(ForEachStoredLeaf(sql, index, index + 1, [&](const StoredLeaf& l) {
    out.emplace(l.leaf);
    return Status::Ok();
  }));
  return out;
}

Result<std::vector<Hash>> ReadStoredLeafHashes(Sql sql, int64_t first, int64_t count) {
  std::vector<Hash> out;
  out.reserve(static_cast<size_t>(std::max<int64_t>(count, 0)));
  if (count <= 0) return out;
  const int64_t end = first + count;
  auto take = [&](int64_t idx, std::string_view h) -> bool {
    if (idx != first + static_cast<int64_t>(out.size()) || h.size() != 32) return false;
    Hash hash;
    std::memcpy(hash.data(), h.data(), 32);
    out.push_back(hash);
    return true;
  };
  // Blocks first (every leaf of a store written since migration 11): the
  // block holding `first` by one descending seek with LIMIT 1, each next
  // one by its exact key. A range scan would step to the row after the
  // last block to see the range end: with a block row per page that was a
  // page more per proof read from the disk (7.0 -> 7.6 reads, evicted).
  // Only the hashes column is read: it precedes the compressed body.
  STEWARD_ASSIGN_OR_RETURN(
      auto rows, sql.Query("SELECT first_idx, entries, leaf_hashes FROM audit_leaf_blocks WHERE "
                           "first_idx <= $1 AND first_idx > $2 ORDER BY first_idx DESC LIMIT 1",
                           {first, first - kMaxBlockLeaves}));
  bool found_block = false;
  while (!rows.empty()) {
    const int64_t block_first = rows[0].Int(0), entries = rows[0].Int(1);
    const std::string hashes = rows[0].Text(2);
    if (entries < 1 || hashes.size() != 32 * static_cast<size_t>(entries)) return out;
    if (block_first + entries <= first) break;  // ends before `first`
    found_block = true;
    for (int64_t k = std::max<int64_t>(0, first - block_first); k < entries; ++k) {
      const int64_t idx = block_first + k;
      if (idx >= end) return out;
      if (!take(idx, std::string_view(hashes).substr(32 * static_cast<size_t>(k), 32))) return out;
    }
    const int64_t next = block_first + entries;
    if (next >= end) return out;
    STEWARD_ASSIGN_OR_RETURN(
        rows, sql.Query("SELECT first_idx, entries, leaf_hashes FROM audit_leaf_blocks WHERE "
                        "first_idx = $1",
                        {next}));
  }
  if (found_block) return out;
  // Rows of the layout before migration 11 (leaves below leaf_blocks_from).
  STEWARD_ASSIGN_OR_RETURN(int64_t blocks_from, LeafBlocksFrom(sql));
  if (first >= blocks_from) return out;
  STEWARD_ASSIGN_OR_RETURN(
      auto legacy, sql.Query("SELECT idx, leaf_hash FROM audit_leaves WHERE idx >= $1 AND idx < $2 "
                             "ORDER BY idx",
                             {first, std::min(end, blocks_from)}));
  for (const Row& r : legacy) {
    if (!take(r.Int(0), r.Text(1))) return out;
  }
  if (end > blocks_from && static_cast<int64_t>(out.size()) == blocks_from - first) {
    // A range across the boundary: the rest from the blocks.
    STEWARD_ASSIGN_OR_RETURN(std::vector<Hash> rest,
                             ReadStoredLeafHashes(sql, blocks_from, end - blocks_from));
    out.insert(out.end(), rest.begin(), rest.end());
  }
  return out;
}

Result<std::vector<std::string>> AllStoredLeaves(Database& db) {
  Sql sql(&db);
  STEWARD_ASSIGN_OR_RETURN(int64_t size, StoredTreeSize(sql));
  std::vector<std::string> out;
  STEWARD_RETURN_IF_ERROR(ForEachStoredLeaf(sql, 0, size, [&](const StoredLeaf& l) {
    out.emplace_back(l.leaf);
    return Status::Ok();
  }));
  return out;
}

}  // namespace steward::audit
