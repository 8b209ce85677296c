#include "audit/log_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <thread>

#include "audit/canonical_json.h"
#include "audit/payload_crypto.h"
#include "audit/store_test_util.h"
#include "audit/verify.h"
#include "steward/admin_events.h"

namespace steward::audit {
namespace {

// Leaf n of a test log: {"n":n}, optionally of a data subject.
LeafToAppend NumberedLeaf(int64_t n, const std::string& subject = "") {
  LeafToAppend l;
  l.leaf = "{\"n\":" + std::to_string(n) + "}";
  l.kind = "test";
  l.subject = subject;
  return l;
}

class LogStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("audit_store_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto db = OpenDatabase("sqlite:" + (dir_ / "steward.db").string());
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(*db);
    ASSERT_TRUE(db_->Migrate(AuditMigrations()).ok());
  }
  void TearDown() override {
    db_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::filesystem::path dir_;
  std::unique_ptr<Database> db_;
};

TEST_F(LogStoreTest, AppendsMatchMemoryTreeAndProofsComeFromStore) {
  MemoryTree mem;
  int64_t next = 0;
  for (int batch = 0; batch < 20; ++batch) {
    std::vector<LeafToAppend> leaves;
    for (int i = 0; i < batch * 7 + 1; ++i) {
      leaves.push_back(NumberedLeaf(next + i));
      mem.Append(LeafHash(leaves.back().leaf));
    }
    auto first = AppendLeaves(*db_, leaves, nullptr);
    ASSERT_TRUE(first.ok()) << first.status().ToString();
    EXPECT_EQ(*first, next);
    next += static_cast<int64_t>(leaves.size());
  }
  EXPECT_EQ(*StoredTreeSize(Sql(db_.get())), next);
  StoreSubtreeSource source{Sql(db_.get())};
  EXPECT_EQ(*RangeHash(source, 0, next), mem.Root());
  for (int64_t idx : {int64_t{0}, int64_t{5}, next / 2, next - 1}) {
    EXPECT_EQ(*InclusionProof(source, idx, next), *InclusionProof(mem, idx, next));
  }
  EXPECT_EQ(*ConsistencyProof(source, 13, next), *ConsistencyProof(mem, 13, next));
}

TEST_F(LogStoreTest, SparseNodesServeEveryProof) {
  MemoryTree mem;
  std::vector<LeafToAppend> leaves;
  for (int i = 0; i < 1000; ++i) {
    leaves.push_back(NumberedLeaf(i));
    mem.Append(LeafHash(leaves.back().leaf));
  }
  // Uneven batches: nodes closing across batch boundaries are stored too.
  for (size_t from = 0; from < leaves.size(); from += 37) {
    std::vector<LeafToAppend> batch(leaves.begin() + from,
                                    leaves.begin() + std::min(leaves.size(), from + 37));
    ASSERT_TRUE(AppendLeaves(*db_, batch, nullptr).ok());
  }
  // Only every kNodeLevelStride-th level is stored: 1000/16 + 1000/256.
  auto levels = db_->Query("SELECT lvl, COUNT(*) FROM audit_nodes GROUP BY lvl ORDER BY lvl");
  ASSERT_TRUE(levels.ok());
  ASSERT_EQ(levels->size(), 2u);
  EXPECT_EQ(levels->at(0).Int(0), 4);
  EXPECT_EQ(levels->at(0).Int(1), 62);
  EXPECT_EQ(levels->at(1).Int(0), 8);
  EXPECT_EQ(levels->at(1).Int(1), 3);
  StoreSubtreeSource source{Sql(db_.get())};
  for (int64_t size : {int64_t{1}, int64_t{2}, int64_t{15}, int64_t{16}, int64_t{17}, int64_t{255},
                       int64_t{256}, int64_t{257}, int64_t{999}, int64_t{1000}}) {
    for (int64_t idx = 0; idx < size; idx += (size > 40 ? 7 : 1)) {
      auto stored = InclusionProof(source, idx, size);
      ASSERT_TRUE(stored.ok()) << stored.status().ToString();
      EXPECT_EQ(*stored, *InclusionProof(mem, idx, size)) << idx << " of " << size;
    }
    for (int64_t first = 1; first < size; first += (size > 40 ? 13 : 1)) {
      EXPECT_EQ(*ConsistencyProof(source, first, size), *ConsistencyProof(mem, first, size))
          << first << " to " << size;
    }
    EXPECT_EQ(*RangeHash(source, 0, size), *RangeHash(mem, 0, size));
  }
  auto prefetched = PrefetchedSubtrees::Load(
      Sql(db_.get()), [](SubtreeSource& s) { return InclusionProof(s, 517, 1000).status(); });
  ASSERT_TRUE(prefetched.ok()) << prefetched.status().ToString();
  EXPECT_EQ(*InclusionProof(*prefetched, 517, 1000), *InclusionProof(mem, 517, 1000));
  // A missing stored hash is an error naming it, never a wrong proof.
  ASSERT_TRUE(db_->Exec("DELETE FROM audit_nodes WHERE lvl = 4 AND idx = 3").ok());
  auto broken = InclusionProof(source, 0, 1000);
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.status().message().find("level 4, index 3"), std::string::npos)
      << broken.status().message();
}

TEST_F(LogStoreTest, SubjectIndexMigratesOldStoresAndCoversTheTail) {
  // A store at migration 3 (per-leaf subject index) with leaves in it.
  const std::string path = (dir_ / "old.db").string();
  auto old = OpenDatabase("sqlite:" + path);
  ASSERT_TRUE(old.ok());
  std::vector<Migration> v3(AuditMigrations().begin(), AuditMigrations().begin() + 3);
  ASSERT_TRUE((*old)->Migrate(v3).ok());
  std::vector<LeafToAppend> first;
  for (int i = 0; i < 30; ++i)
    first.push_back(NumberedLeaf(i, i % 3 == 0 ? "s_a" : i % 3 == 1 ? "s_b" : ""));
  Frontier old_tree;
  ASSERT_TRUE(testing::AppendLegacyLeaves(**old, old_tree, first).ok());
  ASSERT_TRUE((*old)->Migrate(AuditMigrations()).ok());  // 4: the index is built
  Sql sql(old->get());
  EXPECT_EQ(*SubjectIndexedSize(sql), 30);
  auto a = SubjectLeaves(sql, "s_a", 30);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_EQ(a->size(), 10u);
  EXPECT_EQ(a->at(3).first, 9);
  EXPECT_EQ(a->at(3).second, "{\"n\":9}");
  // New leaves: found by the tail scan until they are indexed, once.
  std::vector<LeafToAppend> more;
  for (int i = 30; i < 40; ++i) more.push_back(NumberedLeaf(i, "s_a"));
  ASSERT_TRUE(AppendLeaves(**old, more, nullptr).ok());
  EXPECT_EQ(SubjectLeaves(sql, "s_a", 40)->size(), 20u);
  EXPECT_EQ(SubjectLeaves(sql, "s_a", 35)->size(), 15u);  // below a size only
  auto tx = (*old)->Begin();
  ASSERT_TRUE(tx.ok());
  auto n = IndexSubjectsInTx(**tx);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 10);
  ASSERT_TRUE((*tx)->Commit().ok());
  EXPECT_EQ(*SubjectIndexedSize(sql), 40);
  auto after = SubjectLeaves(sql, "s_a", 40);
  ASSERT_EQ(after->size(), 20u);
  EXPECT_EQ(after->back().first, 39);
  EXPECT_TRUE(SubjectLeaves(sql, "s_nobody", 40)->empty());
  // Migration 4 indexed 20 leaves a row each (no null subjects); the bulk
  // since migration 10 wrote s_a's 10 new leaves as one run.
  auto indexed = (*old)->Query("SELECT COUNT(*) FROM audit_subject_index");
  EXPECT_EQ(indexed->at(0).Int(0), 20);
  auto runs = (*old)->Query("SELECT subject, first_idx, idxs FROM audit_subject_runs");
  ASSERT_EQ(runs->size(), 1u);
  EXPECT_EQ(runs->at(0).Text(0), "s_a");
  EXPECT_EQ(runs->at(0).Int(1), 30);
  EXPECT_EQ(*DecodeSubjectRun(30, runs->at(0).Text(2)),
            (std::vector<int64_t>{30, 31, 32, 33, 34, 35, 36, 37, 38, 39}));

  // The appender's own list is used only when it covers the unindexed range
  // exactly; otherwise the subjects are read back from the leaves.
  std::vector<LeafToAppend> tail;
  for (int i = 40; i < 44; ++i) tail.push_back(NumberedLeaf(i, "s_c"));
  ASSERT_TRUE(AppendLeaves(**old, tail, nullptr).ok());
  KnownSubjects stale{40, 43, {{"s_wrong", 40}}};  // misses leaf 43: not used
  tx = (*old)->Begin();
  ASSERT_EQ(*IndexSubjectsInTx(**tx, &stale), 4);
  ASSERT_TRUE((*tx)->Commit().ok());
  EXPECT_EQ(SubjectLeaves(sql, "s_c", 44)->size(), 4u);
  EXPECT_TRUE(SubjectLeaves(sql, "s_wrong", 44)->empty());
  ASSERT_TRUE(AppendLeaves(**old, {NumberedLeaf(44, "s_d"), NumberedLeaf(45)}, nullptr).ok());
  KnownSubjects exact{44, 46, {{"s_d", 44}}};
  tx = (*old)->Begin();
  ASSERT_EQ(*IndexSubjectsInTx(**tx, &exact), 2);
  ASSERT_TRUE((*tx)->Commit().ok());
  EXPECT_EQ(*SubjectIndexedSize(sql), 46);
  auto d = SubjectLeaves(sql, "s_d", 46);
  ASSERT_EQ(d->size(), 1u);
  EXPECT_EQ(d->at(0).first, 44);
}

TEST(SubjectRunTest, RoundTripsAndRefusesMalformedRuns) {
  const std::vector<std::vector<int64_t>> cases = {
      {0}, {7, 8, 9}, {5, 133, 134, 100'000, (int64_t{1} << 40) + 3, INT64_MAX}};
  for (const auto& indices : cases) {
    const std::string run = EncodeSubjectRun(indices);
    auto back = DecodeSubjectRun(indices.front(), run);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, indices);
  }
  EXPECT_EQ(EncodeSubjectRun({10, 11, 12, 140}).size(), 1u + 1 + 1 + 2);  // deltas 1, 1, 128
  // Damaged rows are refused by name, never read past their end.
  auto refused = [](int64_t first, std::string_view run, std::string_view what) {
    auto r = DecodeSubjectRun(first, run);
    ASSERT_FALSE(r.ok()) << "accepted a run with " << what;
    EXPECT_NE(r.status().message().find("subject run"), std::string::npos) << r.status().message();
  };
  refused(3, "", "no version byte");
  refused(3, std::string("\x02\x01", 2), "an unknown version");
  refused(3, std::string("\x01\x81", 2), "a truncated varint");
  refused(3, std::string("\x01\x00", 2), "a zero delta (a repeated index)");
  refused(-1, std::string("\x01", 1), "a negative first index");
  refused(INT64_MAX, std::string("\x01\x01", 2), "an index past INT64_MAX");
  refused(0, std::string("\x01") + std::string(10, '\xff') + "\x01", "a delta beyond 64 bits");
}

// A store indexed only through runs (a fresh one) finds a subject's leaves
// below any size, with leaves past the mark from the tail scan.
TEST_F(LogStoreTest, SubjectLeavesFromRunsAndTail) {
  Database* db = db_.get();
  std::vector<LeafToAppend> leaves;
  for (int i = 0; i < 300; ++i) leaves.push_back(NumberedLeaf(i, i % 7 == 0 ? "s_x" : "s_y"));
  ASSERT_TRUE(AppendLeaves(*db, leaves, nullptr).ok());
  auto tx = db->Begin();
  ASSERT_TRUE(tx.ok());
  ASSERT_EQ(*IndexSubjectsInTx(**tx), 300);
  ASSERT_TRUE((*tx)->Commit().ok());
  ASSERT_TRUE(
      AppendLeaves(*db, {NumberedLeaf(300, "s_x"), NumberedLeaf(301, "s_y")}, nullptr).ok());
  Sql sql(db);
  auto runs = db->Query("SELECT COUNT(*) FROM audit_subject_runs");
  EXPECT_EQ(runs->at(0).Int(0), 2);  // one row per subject, not per leaf
  auto x = SubjectLeaves(sql, "s_x", 302);
  ASSERT_TRUE(x.ok()) << x.status().ToString();
  ASSERT_EQ(x->size(), 44u);  // 0, 7, ..., 294 and 300
  EXPECT_EQ(x->at(1).first, 7);
  EXPECT_EQ(x->at(1).second, "{\"n\":7}");
  EXPECT_EQ(x->back().first, 300);
  EXPECT_EQ(SubjectLeaves(sql, "s_x", 100)->size(), 15u);  // below a size only
  EXPECT_EQ(SubjectLeaves(sql, "s_y", 302)->size(), 258u);
  // A run naming a record the store does not hold is reported, not skipped.
  ASSERT_TRUE(testing::DeleteStoredLeaf(*db, 14).ok());
  auto broken = SubjectLeaves(sql, "s_x", 302);
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.status().message().find("record 14"), std::string::npos);
}

// A commit's leaves go into blocks of at most kMaxBlockLeaves, closed
// early once they hold kMaxBlockRawBytes; each reads back as appended.
TEST_F(LogStoreTest, LeavesAreStoredInBoundedBlocks) {
  std::vector<LeafToAppend> leaves;
  for (int i = 0; i < 150; ++i) leaves.push_back(NumberedLeaf(i, i % 2 ? "s_a" : ""));
  ASSERT_TRUE(AppendLeaves(*db_, leaves, nullptr).ok());
  auto blocks = db_->Query("SELECT first_idx, entries FROM audit_leaf_blocks ORDER BY first_idx");
  ASSERT_TRUE(blocks.ok());
  ASSERT_EQ(blocks->size(), 3u);
  EXPECT_EQ((*blocks)[1].Int(0), 64);
  EXPECT_EQ((*blocks)[2].Int(1), 22);
  std::vector<LeafToAppend> big;
  for (int i = 0; i < 5; ++i) {
    LeafToAppend l = NumberedLeaf(150 + i);
    l.leaf = "{\"pad\":\"" + std::string(100 << 10, static_cast<char>('a' + i)) + "\"}";
    big.push_back(l);
  }
  ASSERT_TRUE(AppendLeaves(*db_, big, nullptr).ok());
  blocks = db_->Query("SELECT first_idx, entries FROM audit_leaf_blocks WHERE first_idx >= 150 "
                      "ORDER BY first_idx");
  ASSERT_EQ(blocks->size(), 2u);  // closed at 300 KiB: 3 leaves, then 2
  EXPECT_EQ((*blocks)[0].Int(1), 3);
  EXPECT_EQ((*blocks)[1].Int(1), 2);
  auto all = AllStoredLeaves(*db_);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 155u);
  EXPECT_EQ(all->at(77), "{\"n\":77}");
  EXPECT_EQ(all->at(153), big[3].leaf);
  // Kind, subject and time come back with each leaf.
  int with_subject = 0;
  ASSERT_TRUE(ForEachStoredLeaf(Sql(db_.get()), 0, 150, [&](const StoredLeaf& l) {
                EXPECT_EQ(l.kind, "test");
                with_subject += l.subject == "s_a";
                return Status::Ok();
              }).ok());
  EXPECT_EQ(with_subject, 75);
  // A leaf too large for any block is refused, not written unreadable.
  LeafToAppend huge = NumberedLeaf(0);
  huge.leaf.assign(kMaxBlockDecodedBytes + 1, 'x');
  EXPECT_FALSE(AppendLeaves(*db_, {huge}, nullptr).ok());
  EXPECT_EQ(*StoredTreeSize(Sql(db_.get())), 155);
}

TEST(PayloadRefTest, TimePrefixedHexAndUniqueAcrossThreads) {
  const std::string ref = NewPayloadRef(0x123456789ab);
  ASSERT_EQ(ref.size(), 28u);
  EXPECT_EQ(ref.substr(0, 12), "0123456789ab");
  EXPECT_EQ(ref.find_first_not_of("0123456789abcdef"), std::string::npos) << ref;
  std::vector<std::string> a, b;
  std::thread other([&b] {
    for (int i = 0; i < 5000; ++i) b.push_back(NewPayloadRef(1));
  });
  for (int i = 0; i < 5000; ++i) a.push_back(NewPayloadRef(1));
  other.join();
  std::set<std::string> all(a.begin(), a.end());
  all.insert(b.begin(), b.end());
  EXPECT_EQ(all.size(), 10000u);
}

TEST_F(LogStoreTest, RecordAdminEventAppendsCanonicalRecord) {
  AdminEvent e;
  e.action = "keys.create";
  e.actor = "cli:test";
  e.target = "key_123";
  e.details["role"] = "admin";
  auto i0 = RecordAdminEvent(*db_, dir_.string(), e);
  ASSERT_TRUE(i0.ok()) << i0.status().ToString();
  EXPECT_EQ(*i0, 0);
  auto i1 = RecordAdminEvent(*db_, dir_.string(), e);
  ASSERT_TRUE(i1.ok());
  EXPECT_EQ(*i1, 1);
  auto parsed = ParseCanonicalJson(testing::StoredLeafAt(*db_, 0));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->at("action").as_string(), "keys.create");
  EXPECT_EQ(parsed->at("kind").as_string(), "admin");
  AdminEvent bad;
  EXPECT_FALSE(RecordAdminEvent(*db_, dir_.string(), bad).ok());
}

// A store written before migration 7 (audit_leaves keyed by a separate
// primary-key index) is rebuilt with idx as the row key: every leaf kept,
// the log still verifies and proofs still hold.
TEST_F(LogStoreTest, Migration7RebuildsLeavesWithIndexAsRowKey) {
  const auto path = dir_ / "old.db";
  auto old_db = OpenDatabase("sqlite:" + path.string());
  ASSERT_TRUE(old_db.ok());
  std::vector<Migration> before7;
  for (const Migration& m : AuditMigrations()) {
    if (m.version < 7) before7.push_back(m);
  }
  ASSERT_LT(before7.size(), AuditMigrations().size());
  ASSERT_TRUE((*old_db)->Migrate(before7).ok());
  MemoryTree mem;
  std::vector<LeafToAppend> leaves;
  for (int i = 0; i < 300; ++i) {
    leaves.push_back(NumberedLeaf(i, i % 3 ? "s_a" : ""));
    mem.Append(LeafHash(leaves.back().leaf));
  }
  Frontier old_tree;
  ASSERT_TRUE(testing::AppendLegacyLeaves(**old_db, old_tree, leaves).ok());
  auto table = (*old_db)->Query("SELECT sql FROM sqlite_master WHERE name = 'audit_leaves'");
  ASSERT_TRUE(table.ok());
  EXPECT_EQ((*table)[0].Text(0).find("INTEGER PRIMARY KEY"), std::string::npos);

  ASSERT_TRUE((*old_db)->Migrate(AuditMigrations()).ok());
  table = (*old_db)->Query("SELECT sql FROM sqlite_master WHERE name = 'audit_leaves'");
  ASSERT_TRUE(table.ok());
  EXPECT_NE((*table)[0].Text(0).find("idx INTEGER PRIMARY KEY"), std::string::npos);
  auto count = (*old_db)->Query("SELECT COUNT(*), MIN(idx), MAX(idx) FROM audit_leaves");
  ASSERT_TRUE(count.ok());
  EXPECT_EQ((*count)[0].Int(0), 300);
  EXPECT_EQ((*count)[0].Int(1), 0);
  EXPECT_EQ((*count)[0].Int(2), 299);
  auto v = VerifyStore(**old_db, "");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_TRUE(v->ok) << v->problem;
  EXPECT_EQ(v->root, mem.Root());
  auto proof = ProveInclusion(**old_db, 123, std::nullopt);
  ASSERT_TRUE(proof.ok());
  EXPECT_EQ(proof->audit_path, *InclusionProof(mem, 123, 300));
  auto subject = SubjectLeaves(Sql(old_db->get()), "s_a", 300);
  ASSERT_TRUE(subject.ok());
  EXPECT_EQ(subject->size(), 200u);
  // Appends go on after the rebuilt table's last row.
  auto next = AppendLeaves(**old_db, {leaves[0]}, nullptr);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, 300);
}

TEST_F(LogStoreTest, PayloadBlocksHoldEveryPartAndFindItByLeaf) {
  PayloadSealer sealer({MakeKek(std::string(32, 'k'))});
  const std::string big(1'500'000, 'x');  // closes its block: the next part starts another
  auto leaf = [](int64_t n, const std::string& data_class, std::vector<PayloadPart> parts) {
    LeafToAppend l = NumberedLeaf(n, "s_a");
    l.time_ms = 1000 + n;
    l.payload_ref = "ref" + std::to_string(n);
    l.data_class = data_class;
    l.payloads = std::move(parts);
    return l;
  };
  std::vector<LeafToAppend> leaves = {
      leaf(0, "plain", {{"prompt", "p0"}, {"completion", "c0"}}),
      leaf(1, "pii", {{"prompt", "p1"}}),
      leaf(2, "plain", {{"prompt", big}, {"completion", "c2"}}),
      leaf(3, "plain", {{"prompt", "p3"}, {"completion", "c3"}}),
      leaf(4, "plain", {}),
  };
  ASSERT_TRUE(AppendLeaves(*db_, leaves, &sealer).ok());
  // Prompt/plain: [0, 2] and [3]; completion/plain: [0, 2, 3]; prompt/pii: [1].
  auto blocks = db_->Query("SELECT part, data_class, first_idx, entries, created_ms "
                           "FROM audit_payload_blocks ORDER BY id");
  ASSERT_TRUE(blocks.ok()) << blocks.status().ToString();
  ASSERT_EQ(blocks->size(), 4u);
  EXPECT_EQ((*blocks)[0].Text(0) + (*blocks)[0].Text(1), "promptplain");
  EXPECT_EQ((*blocks)[0].Int(3), 2);
  EXPECT_EQ((*blocks)[0].Int(4), 1002);  // its newest part
  EXPECT_EQ((*blocks)[1].Int(2), 3);
  EXPECT_EQ((*blocks)[2].Text(0) + (*blocks)[2].Text(1), "promptpii");
  EXPECT_EQ((*blocks)[3].Int(3), 3);

  auto key = sealer.SubjectKey(Sql(db_.get()), "s_a", 0, false);
  ASSERT_TRUE(key.ok() && key->has_value());
  auto text_of = [&](int64_t n, const std::string& part) -> std::string {
    auto parts = PayloadPartsOfLeaf(Sql(db_.get()), n, "ref" + std::to_string(n));
    EXPECT_TRUE(parts.ok()) << parts.status().ToString();
    for (const auto& p : *parts) {
      if (p.part != part) continue;
      EXPECT_EQ(p.leaf_index, n);
      EXPECT_EQ(p.subject, "s_a");
      if (!p.sealed) return "<shredded>";
      auto t = OpenBytes(**key, *p.sealed, PayloadSealer::PayloadAd(p.ref, p.part));
      return t.ok() ? *t : "<" + t.status().message() + ">";
    }
    return "<none>";
  };
  EXPECT_EQ(text_of(0, "prompt"), "p0");
  EXPECT_EQ(text_of(0, "completion"), "c0");
  EXPECT_EQ(text_of(1, "prompt"), "p1");
  EXPECT_EQ(text_of(1, "completion"), "<none>");
  EXPECT_EQ(text_of(2, "prompt"), big);
  EXPECT_EQ(text_of(3, "prompt"), "p3");
  EXPECT_EQ(text_of(3, "completion"), "c3");
  EXPECT_EQ(text_of(4, "prompt"), "<none>");
  // The ref the record names must match: another leaf's ref finds nothing.
  EXPECT_TRUE(PayloadPartsOfLeaf(Sql(db_.get()), 3, "ref0")->empty());
  auto all = AllPayloadParts(Sql(db_.get()));
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 7u);

  // Retention: one group, blocks whose newest part is old enough.
  auto tx = db_->Begin();
  ASSERT_TRUE(tx.ok());
  auto step = ShredPayloadBlocksInTx(**tx, "prompt", "plain", 1002, 5000, 1);
  ASSERT_TRUE(step.ok()) << step.status().ToString();
  EXPECT_EQ(step->parts, 2);  // block [0, 2]; [3] is newer than the cutoff
  EXPECT_TRUE(step->more);
  step = ShredPayloadBlocksInTx(**tx, "prompt", "plain", 1002, 5000, 1);
  EXPECT_EQ(step->parts, 0);
  EXPECT_FALSE(step->more);
  ASSERT_TRUE((*tx)->Commit().ok());
  auto mark = db_->Query(
      "SELECT value FROM audit_meta WHERE name = 'payload_blocks_shred_from_prompt_plain'");
  ASSERT_TRUE(mark.ok() && mark->size() == 1u);
  EXPECT_EQ((*mark)[0].Int(0), 1);  // past block [0, 2] (id 0 in group 0)
  EXPECT_EQ(text_of(0, "prompt"), "<shredded>");
  EXPECT_EQ(text_of(2, "prompt"), "<shredded>");
  EXPECT_EQ(text_of(3, "prompt"), "p3");
  EXPECT_EQ(text_of(0, "completion"), "c0");
  EXPECT_EQ(text_of(1, "prompt"), "p1");
  auto shredded = PayloadPartsOfLeaf(Sql(db_.get()), 0, "ref0");
  ASSERT_EQ(shredded->size(), 2u);
  EXPECT_EQ((*shredded)[1].part, "prompt");
  EXPECT_EQ((*shredded)[1].shredded_ms, 5000);
  // A later run goes on from the mark; other groups have their own.
  tx = db_->Begin();
  ASSERT_TRUE(tx.ok());
  step = ShredPayloadBlocksInTx(**tx, "prompt", "plain", 1003, 6000, 10);
  EXPECT_EQ(step->parts, 1);
  step = ShredPayloadBlocksInTx(**tx, "completion", "plain", 1002, 6000, 10);
  EXPECT_EQ(step->parts, 0);  // its one block's newest part is 1003
  ASSERT_TRUE((*tx)->Commit().ok());
  EXPECT_EQ(text_of(3, "prompt"), "<shredded>");
  EXPECT_EQ(text_of(3, "completion"), "c3");
  auto v = VerifyStore(*db_, "");
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->ok) << v->problem;
}

TEST(PayloadBlockTest, MalformedBodiesAreRefusedByName) {
  EXPECT_EQ(DecodePayloadBlock("").status().code(), StatusCode::kDataLoss);
  EXPECT_NE(DecodePayloadBlock("\x02").status().message().find("unknown format"),
            std::string::npos);
  EXPECT_TRUE(DecodePayloadBlock(std::string(1, '\x01'))->empty());
  std::string body(1, '\x01');
  body += std::string("\x05\0\0\0\0\0\0\0", 8) + std::string("\x03\0", 2) + "abc" +
          std::string("\0\0", 2) + std::string("\x02\0\0\0", 4) + "zz";
  auto ok = DecodePayloadBlock(body);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  ASSERT_EQ(ok->size(), 1u);
  EXPECT_EQ((*ok)[0].leaf_index, 5);
  EXPECT_EQ((*ok)[0].ref, "abc");
  EXPECT_EQ((*ok)[0].sealed, "zz");
  for (size_t cut = 2; cut < body.size(); ++cut) {
    EXPECT_EQ(DecodePayloadBlock(body.substr(0, cut)).status().code(), StatusCode::kDataLoss)
        << cut;
  }
}

}  // namespace
}  // namespace steward::audit
