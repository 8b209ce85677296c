// Tamper tests: every way of editing a stored log must make VerifyStore
// fail and name the first bad index; exports likewise.
#include "audit/verify.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "audit/audit_log.h"
#include "audit/canonical_json.h"
#include "audit/keys.h"
#include "audit/store_test_util.h"
#include "common/strings.h"

namespace steward::audit {
namespace {

class VerifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("audit_verify_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto db = OpenDatabase("sqlite:" + (dir_ / "steward.db").string());
    ASSERT_TRUE(db.ok());
    db_ = std::move(*db);
    ASSERT_TRUE(db_->Migrate(AuditMigrations()).ok());
    auto key = LoadSigningKey(dir_.string(), true);
    ASSERT_TRUE(key.ok());
    key_ = *key;
    // 100 records with heads at 1, 37, 64 and 100.
    std::vector<LeafToAppend> batch;
    for (int i = 0; i < 100; ++i) {
      boost::json::object rec{{"kind", "request"}, {"n", i}, {"request_id", "r" + std::to_string(i)}};
      LeafToAppend l;
      l.leaf = *CanonicalJson(rec);
      l.kind = "request";
      batch.push_back(l);
      if (i + 1 == 1 || i + 1 == 37 || i + 1 == 64 || i + 1 == 100) {
        ASSERT_TRUE(AppendLeaves(*db_, batch, nullptr).ok());
        batch.clear();
        ASSERT_TRUE(PublishTreeHead(*db_, key_, 1'700'000'000'000 + i).ok());
      }
    }
  }
  void TearDown() override {
    db_.reset();
    std::filesystem::remove_all(dir_);
  }

  VerifyResult Verify() {
    auto r = VerifyStore(*db_, key_.public_key);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : VerifyResult{};
  }

  std::string LeafAt(int64_t i) { return testing::StoredLeafAt(*db_, i); }
  std::string LeafHashAt(int64_t i) { return testing::StoredLeafHashAt(*db_, i); }
  void SetLeaf(int64_t i, const std::string& leaf, const std::string& hash) {
    Status s = testing::SetStoredLeaf(*db_, i, leaf, hash);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  std::filesystem::path dir_;
  std::unique_ptr<Database> db_;
  SigningKey key_;
};

TEST_F(VerifyTest, CleanLogVerifies) {
  VerifyResult r = Verify();
  EXPECT_TRUE(r.ok) << r.problem;
  EXPECT_EQ(r.tree_size, 100);
  EXPECT_EQ(r.heads_checked, 4);
}

TEST_F(VerifyTest, OneChangedByteNamesItsIndex) {
  std::string leaf = LeafAt(42);
  leaf[leaf.size() / 2] ^= 0x01;
  SetLeaf(42, leaf, LeafHashAt(42));
  VerifyResult r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_index, 42) << r.problem;
}

TEST_F(VerifyTest, ChangedRecordWithRecomputedLeafHashIsCaughtByTheTree) {
  std::string leaf = LeafAt(43);
  leaf[5] ^= 0x02;
  SetLeaf(43, leaf, std::string(AsBytes(LeafHash(leaf))));
  VerifyResult r = Verify();
  EXPECT_FALSE(r.ok);
  // The lowest stored node over 43 (level 4: leaves 32..47) names its first
  // leaf: which of its leaves changed cannot be told apart.
  EXPECT_EQ(r.first_bad_index, 32) << r.problem;
  EXPECT_NE(r.problem.find("leaves 32..47"), std::string::npos) << r.problem;
}

TEST_F(VerifyTest, DroppedRecordNamesItsIndex) {
  ASSERT_TRUE(testing::DeleteStoredLeaf(*db_, 17).ok());
  VerifyResult r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_index, 17) << r.problem;
}

TEST_F(VerifyTest, TwoReorderedRecordsNameTheFirst) {
  std::string a = LeafAt(20), b = LeafAt(70);
  std::string ha = LeafHashAt(20), hb = LeafHashAt(70);
  SetLeaf(20, b, hb);
  SetLeaf(70, a, ha);
  VerifyResult r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_index, 16) << r.problem;  // the level-4 node over 16..31
  // Swapping only the record bytes is caught at the leaf itself.
  SetLeaf(20, a, hb);
  SetLeaf(70, b, ha);
  SetLeaf(20, b, ha);
  SetLeaf(70, a, hb);
  r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_index, 20) << r.problem;
}

// Leaves are stored in compressed blocks (migration 11): a changed byte of
// a block's compressed bytes either cannot be decoded or decodes to other
// records; either way verify fails inside the block's range, never passes.
TEST_F(VerifyTest, ChangedByteOfACompressedBlockFails) {
  auto row = testing::BlockRowOf(*db_, 50);  // the block of records 37..63
  ASSERT_TRUE(row.ok()) << row.status().ToString();
  ASSERT_EQ(row->Int(0), 37);
  const std::string body = row->Text(3);
  auto original = testing::DecodeBlockRow(*row);
  ASSERT_TRUE(original.ok());
  int failed = 0;
  for (size_t at = 2; at < body.size(); at += std::max<size_t>(1, body.size() / 40)) {
    std::string bad = body;
    bad[at] ^= 0x10;
    ASSERT_TRUE(db_->Exec("UPDATE audit_leaf_blocks SET body = $1 WHERE first_idx = 37",
                          {Blob{bad}})
                    .ok());
    VerifyResult r = Verify();
    if (r.ok) {
      // Only a change that decodes to the very same records may pass (a
      // bit of the frame header that does not matter for this frame).
      auto decoded = testing::DecodeBlockRow(*testing::BlockRowOf(*db_, 50));
      ASSERT_TRUE(decoded.ok()) << "byte " << at;
      for (size_t k = 0; k < decoded->size(); ++k) {
        EXPECT_EQ((*decoded)[k].leaf, (*original)[k].leaf) << "byte " << at;
      }
      continue;
    }
    EXPECT_GE(r.first_bad_index, 32) << r.problem;  // the leaf, or the level-4 node over it
    EXPECT_LE(r.first_bad_index, 63) << r.problem;
    ++failed;
  }
  EXPECT_GT(failed, 30);
  ASSERT_TRUE(
      db_->Exec("UPDATE audit_leaf_blocks SET body = $1 WHERE first_idx = 37", {Blob{body}}).ok());
  EXPECT_TRUE(Verify().ok);
}

TEST_F(VerifyTest, UndecodableBlockIsAnErrorNamingItsRecords) {
  auto row = testing::BlockRowOf(*db_, 40);
  ASSERT_TRUE(row.ok());
  const std::string body = row->Text(3);
  for (const std::string& bad :
       {body.substr(0, body.size() / 2), std::string("\x01\x07") + body.substr(2),
        std::string("\x09") + body.substr(1), body + "x", std::string()}) {
    ASSERT_TRUE(db_->Exec("UPDATE audit_leaf_blocks SET body = $1 WHERE first_idx = 37",
                          {Blob{bad}})
                    .ok());
    VerifyResult r = Verify();
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.first_bad_index, 37) << r.problem;
    EXPECT_NE(r.problem.find("records 37..63"), std::string::npos) << r.problem;
  }
  // A block claiming another record count is refused as well.
  ASSERT_TRUE(db_->Exec("UPDATE audit_leaf_blocks SET body = $1, entries = 26 WHERE first_idx = 37",
                        {Blob{body}})
                  .ok());
  VerifyResult r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_index, 37) << r.problem;
  // And a record decoded without the dictionary it was compressed with
  // (id byte 0) cannot pass.
  std::string no_dict = body;
  no_dict[1] = 0;
  ASSERT_TRUE(db_->Exec("UPDATE audit_leaf_blocks SET body = $1, entries = 27 WHERE first_idx = 37",
                        {Blob{no_dict}})
                  .ok());
  r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_index, 37) << r.problem;
}

TEST_F(VerifyTest, ExtraBlockBeyondTheSizeFails) {
  auto row = testing::BlockRowOf(*db_, 64);
  ASSERT_TRUE(row.ok());
  auto leaves = testing::DecodeBlockRow(*row);
  ASSERT_TRUE(leaves.ok());
  ASSERT_TRUE(testing::WriteBlock(*db_, 100, *leaves).ok());
  VerifyResult r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_index, 100) << r.problem;
}

// A store from before migration 11: its rows stay where they are, new
// leaves go to blocks, and verify, proofs and exports read both in order.
TEST(VerifyMixedLayoutTest, OldRowsAndNewBlocksVerifyProveAndExport) {
  auto dir = std::filesystem::temp_directory_path() /
             ("audit_verify_mixed_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto opened = OpenDatabase("sqlite:" + (dir / "steward.db").string());
  ASSERT_TRUE(opened.ok());
  Database& db = **opened;
  ASSERT_TRUE(db.Migrate(testing::AuditMigrationsUpTo(10)).ok());
  MemoryTree mem;
  auto leaf = [](int i) {
    LeafToAppend l;
    l.leaf = "{\"kind\":\"request\",\"n\":" + std::to_string(i) + "}";
    l.kind = "request";
    l.subject = i % 2 ? "s_odd" : "";
    return l;
  };
  std::vector<LeafToAppend> old_leaves;
  for (int i = 0; i < 90; ++i) {
    old_leaves.push_back(leaf(i));
    mem.Append(LeafHash(old_leaves.back().leaf));
  }
  Frontier frontier;
  ASSERT_TRUE(testing::AppendLegacyLeaves(db, frontier, old_leaves).ok());
  ASSERT_TRUE(db.Migrate(AuditMigrations()).ok());
  EXPECT_EQ(*LeafBlocksFrom(Sql(&db)), 90);
  std::vector<LeafToAppend> new_leaves;
  for (int i = 90; i < 200; ++i) {
    new_leaves.push_back(leaf(i));
    mem.Append(LeafHash(new_leaves.back().leaf));
  }
  ASSERT_TRUE(AppendLeaves(db, new_leaves, nullptr).ok());
  EXPECT_EQ(db.Query("SELECT COUNT(*) FROM audit_leaves")->at(0).Int(0), 90);
  EXPECT_EQ(db.Query("SELECT SUM(entries) FROM audit_leaf_blocks")->at(0).Int(0), 110);
  auto key = LoadSigningKey(dir.string(), true);
  ASSERT_TRUE(key.ok());
  ASSERT_TRUE(PublishTreeHead(db, *key, 1).ok());
  auto v = VerifyStore(db, key->public_key, nullptr, 64);  // chunks across the boundary
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_TRUE(v->ok) << v->problem;
  EXPECT_EQ(v->root, mem.Root());
  for (int64_t idx : {0, 17, 89, 90, 91, 150, 199}) {
    auto p = ProveInclusion(db, idx, std::nullopt);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    EXPECT_EQ(p->audit_path, *InclusionProof(mem, idx, 200)) << idx;
    EXPECT_EQ(testing::StoredLeafAt(db, idx), "{\"kind\":\"request\",\"n\":" + std::to_string(idx) + "}");
  }
  auto all = AllStoredLeaves(db);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 200u);
  EXPECT_EQ(all->at(120), "{\"kind\":\"request\",\"n\":120}");
  auto odd = SubjectLeaves(Sql(&db), "s_odd", 200);
  ASSERT_TRUE(odd.ok());
  EXPECT_EQ(odd->size(), 100u);
  ASSERT_TRUE(ExportLog(db, LoadTreeHeads(Sql(&db))->back(), (dir / "export").string()).ok());
  auto checked = VerifyExport((dir / "export").string(), "");
  ASSERT_TRUE(checked.ok());
  EXPECT_TRUE(checked->ok) << checked->problem;
  // Damage on either side of the boundary names its record.
  ASSERT_TRUE(testing::SetStoredLeaf(db, 150, "{}", testing::StoredLeafHashAt(db, 150)).ok());
  v = VerifyStore(db, key->public_key, nullptr, 64);
  EXPECT_EQ(v->first_bad_index, 150) << v->problem;
  ASSERT_TRUE(testing::SetStoredLeaf(db, 40, "{}", testing::StoredLeafHashAt(db, 40)).ok());
  v = VerifyStore(db, key->public_key);
  EXPECT_EQ(v->first_bad_index, 40) << v->problem;
  // A row of the old layout at or above the boundary is an extra record.
  ASSERT_TRUE(testing::SetStoredLeaf(db, 40, old_leaves[40].leaf, testing::StoredLeafHashAt(db, 40)).ok());
  ASSERT_TRUE(testing::SetStoredLeaf(db, 150, new_leaves[60].leaf, testing::StoredLeafHashAt(db, 150)).ok());
  ASSERT_TRUE(VerifyStore(db, key->public_key)->ok);
  ASSERT_TRUE(db.Exec("INSERT INTO audit_leaves(idx, leaf, leaf_hash, kind, time_ms) VALUES (95, "
                      "'{}', x'00', 'request', 0)")
                  .ok());
  v = VerifyStore(db, key->public_key);
  EXPECT_FALSE(v->ok);
  EXPECT_EQ(v->first_bad_index, 200) << v->problem;
  opened->reset();
  std::filesystem::remove_all(dir);
}

TEST_F(VerifyTest, ReplacedHeadFails) {
  Hash bogus = Sha256Of("bogus");
  ASSERT_TRUE(db_->Exec("UPDATE audit_sth SET root_hash = $1 WHERE tree_size = 37",
                        {Blob{std::string(AsBytes(bogus))}})
                  .ok());
  VerifyResult r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_index, 36) << r.problem;
}

TEST_F(VerifyTest, HeadSignedByAnotherKeyFails) {
  std::filesystem::path other = dir_ / "other";
  std::filesystem::create_directories(other);
  auto evil = LoadSigningKey(other.string(), true);
  ASSERT_TRUE(evil.ok());
  ASSERT_TRUE(db_->Exec("DELETE FROM audit_sth WHERE tree_size = 64").ok());
  ASSERT_TRUE(db_->Exec("DELETE FROM audit_sth WHERE tree_size = 100").ok());
  ASSERT_TRUE(PublishTreeHead(*db_, *evil, 1).ok());  // a well-formed head, wrong signer
  VerifyResult r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_index, 99) << r.problem;
  EXPECT_NE(r.problem.find("not this log's signing key"), std::string::npos);
}

TEST_F(VerifyTest, TruncatedTailBehindAHeadFails) {
  for (int64_t i = 99; i >= 90; --i) ASSERT_TRUE(testing::DeleteStoredLeaf(*db_, i).ok());
  ASSERT_TRUE(db_->Exec("UPDATE audit_meta SET value = 90 WHERE name = 'tree_size'").ok());
  VerifyResult r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_index, 90) << r.problem;
}

// VerifyStore reads and hashes in aligned chunks of 2^14 leaves; a log
// spanning chunks must verify, check heads inside and at chunk ends, and
// locate damage in a node above the chunks.
TEST(VerifyChunksTest, LogSpanningChunksVerifiesAndLocatesDamageAboveThem) {
  auto dir = std::filesystem::temp_directory_path() /
             ("audit_verify_chunks_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto opened = OpenDatabase("sqlite:" + (dir / "steward.db").string());
  ASSERT_TRUE(opened.ok());
  Database& db = **opened;
  ASSERT_TRUE(db.Migrate(AuditMigrations()).ok());
  auto key = LoadSigningKey(dir.string(), true);
  ASSERT_TRUE(key.ok());
  // Small chunks, so a few heads and damages fall on chunk boundaries.
  constexpr int64_t kChunk = 16384;
  const std::vector<int64_t> head_sizes = {kChunk, 20000, 2 * kChunk, 2 * kChunk + 77};
  MemoryTree reference;
  std::vector<LeafToAppend> batch;
  int64_t n = 0;
  for (int64_t target : head_sizes) {
    for (; n < target; ++n) {
      LeafToAppend l;
      l.leaf = "{\"n\":" + std::to_string(n) + "}";
      l.kind = "synthetic";
      reference.Append(LeafHash(l.leaf));
      batch.push_back(std::move(l));
    }
    ASSERT_TRUE(AppendLeaves(db, batch, nullptr).ok());
    batch.clear();
    ASSERT_TRUE(PublishTreeHead(db, *key, 1'700'000'000'000 + n).ok());
  }
  auto v = VerifyStore(db, key->public_key, nullptr, kChunk);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_TRUE(v->ok) << v->problem;
  EXPECT_EQ(v->heads_checked, 4);
  EXPECT_EQ(v->tree_size, 2 * kChunk + 77);
  EXPECT_EQ(v->root, reference.Root());
  // The default chunk size (all in one chunk here) finds the same.
  auto whole = VerifyStore(db, key->public_key);
  ASSERT_TRUE(whole.ok()) << whole.status().ToString();
  EXPECT_TRUE(whole->ok) << whole->problem;
  EXPECT_EQ(whole->heads_checked, 4);
  EXPECT_EQ(whole->root, reference.Root());
  EXPECT_FALSE(VerifyStore(db, key->public_key, nullptr, 1000).ok());  // not a power of two

  // Damage to a stored node inside the second chunk (level 12, leaves
  // 20480..24575) names its first leaf.
  const std::string good = db.Query("SELECT hash FROM audit_nodes WHERE lvl = 12 AND idx = 5")
                               ->at(0)
                               .Text(0);
  ASSERT_TRUE(db.Exec("UPDATE audit_nodes SET hash = $1 WHERE lvl = 12 AND idx = 5",
                      {Blob{std::string(32, '\x01')}})
                  .ok());
  v = VerifyStore(db, key->public_key, nullptr, kChunk);
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->ok);
  EXPECT_EQ(v->first_bad_index, 5 << 12);
  EXPECT_NE(v->problem.find("level 12"), std::string::npos) << v->problem;
  ASSERT_TRUE(
      db.Exec("UPDATE audit_nodes SET hash = $1 WHERE lvl = 12 AND idx = 5", {Blob{good}}).ok());

  // A head inside the second chunk with a wrong root names its last leaf.
  ASSERT_TRUE(db.Exec("UPDATE audit_sth SET root_hash = $1 WHERE tree_size = 20000",
                      {Blob{std::string(32, '\x02')}})
                  .ok());
  v = VerifyStore(db, key->public_key, nullptr, kChunk);
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->ok);
  EXPECT_EQ(v->first_bad_index, 19999);

  // A changed record in the last, partial chunk names its index.
  ASSERT_TRUE(testing::SetStoredLeaf(db, 2 * kChunk + 5, "{\"n\":-1}",
                                     testing::StoredLeafHashAt(db, 2 * kChunk + 5))
                  .ok());
  v = VerifyStore(db, key->public_key, nullptr, kChunk);
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->ok);
  EXPECT_EQ(v->first_bad_index, 19999);  // the bad head comes first
  opened->reset();
  std::filesystem::remove_all(dir);
}

TEST_F(VerifyTest, StoredProofsMatchAndVerify) {
  auto p = ProveInclusion(*db_, 41, 64);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(VerifyInclusion(41, 64, p->leaf_hash, p->audit_path, p->root_hash).ok());
  auto c = ProveConsistency(*db_, 37, 100);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(VerifyConsistency(37, 100, c->first_hash, c->second_hash, c->path).ok());
  EXPECT_FALSE(ProveInclusion(*db_, 100, std::nullopt).ok());
  EXPECT_FALSE(ProveInclusion(*db_, 1, 101).ok());
  EXPECT_FALSE(ProveConsistency(*db_, 50, 20).ok());
}

TEST_F(VerifyTest, ExportVerifiesOfflineAndTamperingIsCaught) {
  auto head = PublishTreeHead(*db_, key_, 1'800'000'000'000);
  ASSERT_TRUE(head.ok());
  const std::string out = (dir_ / "export").string();
  ASSERT_TRUE(ExportLog(*db_, *head, out).ok());
  auto ok = VerifyExport(out, Base64Encode(key_.public_key));
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_TRUE(ok->ok) << ok->problem;
  EXPECT_EQ(ok->tree_size, 100);
  EXPECT_TRUE(std::filesystem::exists(out + "/README.txt"));

  // Wrong expected key.
  auto wrong = VerifyExport(out, Base64Encode(std::string(32, 'k')));
  EXPECT_FALSE(wrong->ok);

  // Change one record in leaves.jsonl.
  std::vector<std::string> lines;
  {
    std::ifstream in(out + "/leaves.jsonl");
    for (std::string l; std::getline(in, l);) lines.push_back(l);
  }
  ASSERT_EQ(lines.size(), 100u);
  auto write = [&](const std::vector<std::string>& ls) {
    std::ofstream o(out + "/leaves.jsonl", std::ios::trunc);
    for (const auto& l : ls) o << l << "\n";
  };
  auto changed = lines;
  changed[7] = "{\"index\":7,\"leaf\":\"" + Base64Encode("{\"kind\":\"request\",\"n\":999}") + "\"}";
  write(changed);
  auto r = VerifyExport(out, "");
  EXPECT_FALSE(r->ok);
  EXPECT_EQ(r->first_bad_index, 99) << r->problem;  // root mismatch: no per-leaf hashes offline
  auto dropped = lines;
  dropped.erase(dropped.begin() + 5);
  write(dropped);
  r = VerifyExport(out, "");
  EXPECT_FALSE(r->ok);
  EXPECT_EQ(r->first_bad_index, 5) << r->problem;
  auto swapped = lines;
  std::swap(swapped[3], swapped[4]);
  write(swapped);
  r = VerifyExport(out, "");
  EXPECT_FALSE(r->ok);
  EXPECT_EQ(r->first_bad_index, 3) << r->problem;
  write(lines);
  EXPECT_TRUE(VerifyExport(out, "")->ok);
  // A replaced head.
  std::ifstream sin(out + "/sth.json");
  std::string sth((std::istreambuf_iterator<char>(sin)), std::istreambuf_iterator<char>());
  auto pos = sth.find("\"timestamp_ms\":");
  ASSERT_NE(pos, std::string::npos);
  sth[pos + 16] = sth[pos + 16] == '1' ? '2' : '1';
  std::ofstream(out + "/sth.json", std::ios::trunc) << sth;
  r = VerifyExport(out, "");
  EXPECT_FALSE(r->ok);
  EXPECT_NE(r->problem.find("signature"), std::string::npos) << r->problem;
  EXPECT_FALSE(VerifyExport((dir_ / "missing").string(), "").ok());
}

}  // namespace
}  // namespace steward::audit
