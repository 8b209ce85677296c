#include "audit/dsar.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "audit/audit_log.h"
#include "audit/canonical_json.h"
#include "audit/keys.h"
#include "audit/payload_crypto.h"
#include "audit/retention.h"
#include "audit/verify.h"

namespace steward::audit {
namespace {

class DsarTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("audit_dsar_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    options_.data_dir = dir_.string();
    options_.store_url = "sqlite:" + (dir_ / "steward.db").string();
    auto log = AuditLog::Open(options_, &clock_);
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    log_ = *log;
  }
  void TearDown() override {
    log_.reset();
    std::filesystem::remove_all(dir_);
  }

  // `steward keys rotate-kek` on this test's data dir and store.
  Status RotateKekHere() {
    config::Config c;
    c.data_dir = dir_.string();
    c.store_url = options_.store_url;
    return RotateKek(c);
  }

  int64_t AppendFor(const std::string& subject, const std::string& prompt, const std::string& data_class = "plain") {
    LeafToAppend l;
    l.subject = subject.empty() ? "" : log_->Pseudonym(subject);
    // As the audit stage writes it: the record names its payload rows.
    l.payload_ref = "ref" + std::to_string(counter_ + 1);
    boost::json::object rec{{"kind", "request"},
                            {"subject", l.subject},
                            {"n", counter_++},
                            {"payload_ref", l.payload_ref}};
    l.leaf = *CanonicalJson(rec);
    l.kind = "request";
    l.time_ms = clock_.NowUnixMs();
    l.data_class = data_class;
    l.payloads = {{"prompt", prompt}, {"completion", "answer to " + prompt}};
    auto r = log_->Append(std::move(l))->Get();
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.value_or(-1);
  }

  // Stored payload parts of a subject (pseudonym), either layout.
  int64_t PartsOf(const std::string& pseudonym) {
    auto parts = AllPayloadParts(Sql(&log_->db()));
    EXPECT_TRUE(parts.ok()) << parts.status().ToString();
    if (!parts.ok()) return -1;
    return std::count_if(parts->begin(), parts->end(),
                         [&](const StoredPayloadPart& p) { return p.subject == pseudonym; });
  }

  std::filesystem::path dir_;
  FakeClock clock_;
  AuditOptions options_;
  std::shared_ptr<AuditLog> log_;
  int counter_ = 0;
};

TEST_F(DsarTest, ExportEraseRoundTripKeepsProofsValid) {
  AppendFor("alice", "alice prompt 1");
  AppendFor("bob", "bob prompt");
  AppendFor("alice", "alice prompt 2");
  ASSERT_TRUE(log_->PublishNow().ok());

  auto before = DsarExport(log_->db(), dir_.string(), "alice");
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  EXPECT_EQ(before->at("status").as_string(), "active");
  const auto& recs = before->at("records").as_array();
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].at("payloads").at("prompt").at("text").as_string(), "alice prompt 1");
  EXPECT_EQ(recs[1].at("payloads").at("completion").at("text").as_string(),
            "answer to alice prompt 2");
  // Proofs in the export verify against its root.
  const int64_t size = before->at("tree_size").as_int64();
  auto root = *HashFromHex(before->at("root_hash").as_string());
  for (const auto& r : recs) {
    std::vector<Hash> path;
    for (const auto& h : r.at("audit_path").as_array()) path.push_back(*HashFromHex(h.as_string()));
    EXPECT_TRUE(VerifyInclusion(r.at("index").as_int64(), size,
                                *HashFromHex(r.at("leaf_hash").as_string()), path, root)
                    .ok());
  }

  auto erased = DsarErase(log_->db(), dir_.string(), "alice", "cli:test", clock_);
  ASSERT_TRUE(erased.ok()) << erased.status().ToString();
  EXPECT_FALSE(erased->already_erased);
  EXPECT_EQ(erased->erasure_index, 3);

  auto after = DsarExport(log_->db(), dir_.string(), "alice");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->at("status").as_string(), "erased");
  const auto& recs2 = after->at("records").as_array();
  ASSERT_EQ(recs2.size(), 3u);  // two calls + the erasure record
  EXPECT_EQ(recs2[0].at("payloads").at("prompt").at("status").as_string(), "erased");
  EXPECT_FALSE(recs2[0].at("payloads").at("prompt").as_object().contains("text"));
  EXPECT_EQ(recs2[2].at("record").at("action").as_string(), "dsar.erase");
  // Leaf hashes unchanged; the old root is still the root of the first
  // `size` leaves, so every old proof stays valid.
  EXPECT_EQ(recs2[0].at("leaf_hash"), recs[0].at("leaf_hash"));
  auto c = ProveConsistency(log_->db(), size, size + 1);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->first_hash, root);
  ASSERT_TRUE(log_->PublishNow().ok());
  auto v = VerifyStore(log_->db(), "");
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->ok) << v->problem;
  // Bob is untouched.
  auto bob = DsarExport(log_->db(), dir_.string(), "bob");
  EXPECT_EQ(bob->at("records").at(0).at("payloads").at("prompt").at("text").as_string(),
            "bob prompt");
  // New calls of an erased subject keep hashes only.
  AppendFor("alice", "after erasure");
  EXPECT_EQ(PartsOf(log_->Pseudonym("alice")), 4);
  EXPECT_TRUE(DsarErase(log_->db(), dir_.string(), "alice", "cli:test", clock_)->already_erased);
}

TEST_F(DsarTest, ErasureFromAnotherConnectionStopsCachedKeyAtOnce) {
  // The writer caches alice's unwrapped data key; an erasure through another
  // connection (as `steward dsar erase` does beside a running gateway) must
  // still stop her payloads from the very next append on.
  AppendFor("alice", "before 1");
  AppendFor("alice", "before 2");
  auto cli = OpenDatabase(options_.store_url);
  ASSERT_TRUE(cli.ok());
  auto erased = DsarErase(**cli, dir_.string(), "alice", "cli:test", clock_);
  ASSERT_TRUE(erased.ok()) << erased.status().ToString();
  EXPECT_EQ(erased->erasure_index, 2);
  EXPECT_GE(AppendFor("alice", "after"), 3);
  EXPECT_EQ(PartsOf(log_->Pseudonym("alice")), 4);  // two calls' prompt + completion, none after
  auto v = VerifyStore(log_->db(), "");
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->ok) << v->problem;
}

TEST(DataKeyCacheTest, EvictsLeastRecentlyUsedAndRemembersErasure) {
  DataKeyCache cache(2);
  EXPECT_EQ(cache.Find("a"), nullptr);
  cache.Put("a", std::string(32, 'a'));
  cache.Put("b", std::nullopt);  // erased
  ASSERT_NE(cache.Find("a"), nullptr);  // a is now the most recent
  cache.Put("c", std::string(32, 'c'));  // evicts b
  EXPECT_EQ(cache.Find("b"), nullptr);
  ASSERT_NE(cache.Find("a"), nullptr);
  EXPECT_EQ(**cache.Find("a"), std::string(32, 'a'));
  cache.Put("a", std::nullopt);  // replaced in place
  ASSERT_NE(cache.Find("a"), nullptr);
  EXPECT_FALSE(cache.Find("a")->has_value());
  EXPECT_EQ(cache.size(), 2u);
  cache.Clear();
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.Find("c"), nullptr);
}

TEST_F(DsarTest, NoPlaintextOnDisk) {
  AppendFor("carol", "UNIQUE-PLAINTEXT-MARKER");
  log_->Stop();
  for (const auto& e : std::filesystem::directory_iterator(dir_)) {
    std::ifstream in(e.path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(bytes.find("UNIQUE-PLAINTEXT-MARKER"), std::string::npos) << e.path();
    EXPECT_EQ(bytes.find("carol"), std::string::npos) << e.path();
  }
}

TEST_F(DsarTest, RetentionShredsPayloadsPerClassButKeepsRecords) {
  options_.retention.payload_days = 30;
  options_.retention.pii_payload_days = 7;
  AppendFor("dan", "plain prompt", "plain");
  AppendFor("dan", "pii prompt", "pii");
  clock_.AdvanceMs(8LL * 86'400'000);
  auto n = ShredExpiredPayloads(log_->db(), options_.retention, clock_.NowUnixMs());
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 2);  // prompt + completion of the PII call
  auto e = DsarExport(log_->db(), dir_.string(), "dan");
  EXPECT_EQ(e->at("records").at(0).at("payloads").at("prompt").at("text").as_string(),
            "plain prompt");
  EXPECT_EQ(e->at("records").at(1).at("payloads").at("prompt").at("status").as_string(),
            "expired");
  clock_.AdvanceMs(23LL * 86'400'000);
  EXPECT_EQ(*ShredExpiredPayloads(log_->db(), options_.retention, clock_.NowUnixMs()), 2);
  ASSERT_TRUE(log_->PublishNow().ok());
  auto v = VerifyStore(log_->db(), "");
  EXPECT_TRUE(v->ok) << v->problem;
  EXPECT_EQ(e->at("records").as_array().size(), 2u);
}

TEST_F(DsarTest, PayloadRowsWrittenBeforeBlocksStillExportAndExpire) {
  // A store written before migration 8 keeps one audit_payloads row per
  // part: exports read them beside the blocks, retention shreds them.
  AppendFor("gina", "new prompt");
  const std::string pseudonym = log_->Pseudonym("gina");
  LeafToAppend l;
  l.subject = pseudonym;
  l.payload_ref = "legacyref";
  l.leaf = *CanonicalJson(boost::json::object{
      {"kind", "request"}, {"subject", pseudonym}, {"payload_ref", "legacyref"}});
  l.kind = "request";
  l.time_ms = clock_.NowUnixMs();
  auto idx = log_->Append(std::move(l))->Get();  // no payloads through the writer
  ASSERT_TRUE(idx.ok());
  auto keks = LoadKeks(dir_.string(), false);
  ASSERT_TRUE(keks.ok());
  PayloadSealer sealer(std::move(*keks));
  auto key = sealer.SubjectKey(Sql(&log_->db()), pseudonym, 0, false);
  ASSERT_TRUE(key.ok() && key->has_value());
  ASSERT_TRUE(log_->db()
                  .Exec("INSERT INTO audit_payloads(ref, part, subject, leaf_index, created_ms,"
                        " sealed, shredded_ms, data_class) VALUES ($1, 'prompt', $2, $3, $4, $5,"
                        " NULL, 'plain')",
                        {std::string("legacyref"), pseudonym, *idx, clock_.NowUnixMs(),
                         Blob{SealBytes(**key, "legacy prompt",
                                        PayloadSealer::PayloadAd("legacyref", "prompt"))}})
                  .ok());
  EXPECT_EQ(PartsOf(pseudonym), 3);
  auto e = DsarExport(log_->db(), dir_.string(), "gina");
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  const auto& recs = e->at("records").as_array();
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].at("payloads").at("prompt").at("text").as_string(), "new prompt");
  EXPECT_EQ(recs[0].at("payloads").at("completion").at("text").as_string(),
            "answer to new prompt");
  EXPECT_EQ(recs[1].at("payloads").at("prompt").at("text").as_string(), "legacy prompt");
  EXPECT_EQ(recs[1].at("payloads").as_object().size(), 1u);
  clock_.AdvanceMs(31LL * 86'400'000);
  auto n = ShredExpiredPayloads(log_->db(), options_.retention, clock_.NowUnixMs());
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 3);
  e = DsarExport(log_->db(), dir_.string(), "gina");
  for (size_t i = 0; i < 2; ++i) {
    for (const auto& [part, status] : e->at("records").at(i).at("payloads").as_object()) {
      EXPECT_EQ(status.at("status").as_string(), "expired") << i << " " << part;
    }
  }
  EXPECT_EQ(*ShredExpiredPayloads(log_->db(), options_.retention, clock_.NowUnixMs()), 0);
}

TEST_F(DsarTest, RotateKekRewrapsWithoutTouchingPayloads) {
  AppendFor("erin", "erin prompt");
  auto sealed_before = AllPayloadParts(Sql(&log_->db()));
  ASSERT_TRUE(sealed_before.ok());
  ASSERT_EQ(sealed_before->size(), 2u);
  auto kek_before = LoadKeks(dir_.string(), false);
  ASSERT_TRUE(kek_before.ok());
  log_->Stop();
  Status s = RotateKekHere();
  ASSERT_TRUE(s.ok()) << s.ToString();
  auto kek_after = LoadKeks(dir_.string(), false);
  ASSERT_EQ(kek_after->size(), 1u);
  EXPECT_NE(kek_after->at(0).id, kek_before->at(0).id);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "audit_kek.key.new"));
  auto db = OpenDatabase(options_.store_url);
  auto ids = (*db)->Query("SELECT DISTINCT kek_id FROM audit_subject_keys WHERE wrapped_key IS NOT NULL");
  ASSERT_EQ(ids->size(), 1u);
  EXPECT_EQ(ids->at(0).Text(0), kek_after->at(0).id);
  auto sealed_after = AllPayloadParts(Sql(db->get()));
  ASSERT_TRUE(sealed_after.ok());
  ASSERT_EQ(sealed_after->size(), 2u);
  for (size_t i = 0; i < 2; ++i) EXPECT_EQ(sealed_before->at(i).sealed, sealed_after->at(i).sealed);
  auto e = DsarExport(**db, dir_.string(), "erin");
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->at("records").at(0).at("payloads").at("prompt").at("text").as_string(),
            "erin prompt");
}

TEST_F(DsarTest, RunningWriterPicksUpARotatedKekWhenItNeedsOne) {
  // The writer looks at the key files only when a data key is read or
  // created: after a rotation beside it, a new subject's key is wrapped by
  // the new KEK, and a cached subject's key (re-wrapped by the rotation,
  // re-read after the rotation's record moved the log) still unwraps.
  AppendFor("erin", "before rotation");
  auto kek_before = LoadKeks(dir_.string(), false);
  ASSERT_TRUE(kek_before.ok());
  Status s = RotateKekHere();
  ASSERT_TRUE(s.ok()) << s.ToString();
  auto kek_after = LoadKeks(dir_.string(), false);
  ASSERT_TRUE(kek_after.ok());
  ASSERT_NE(kek_after->at(0).id, kek_before->at(0).id);
  EXPECT_GE(AppendFor("erin", "after rotation"), 0);
  EXPECT_GE(AppendFor("fred", "new subject"), 0);
  EXPECT_GE(AppendFor("erin", "cached again"), 0);
  auto ids = log_->db().Query(
      "SELECT DISTINCT kek_id FROM audit_subject_keys WHERE wrapped_key IS NOT NULL");
  ASSERT_TRUE(ids.ok());
  ASSERT_EQ(ids->size(), 1u);
  EXPECT_EQ(ids->at(0).Text(0), kek_after->at(0).id);
  log_->Stop();
  auto erin = DsarExport(log_->db(), dir_.string(), "erin");
  ASSERT_TRUE(erin.ok()) << erin.status().ToString();
  const auto& recs = erin->at("records").as_array();
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(recs[2].at("payloads").at("prompt").at("text").as_string(), "cached again");
  auto fred = DsarExport(log_->db(), dir_.string(), "fred");
  ASSERT_TRUE(fred.ok()) << fred.status().ToString();
  EXPECT_EQ(fred->at("records").at(0).at("payloads").at("prompt").at("text").as_string(),
            "new subject");
}

TEST_F(DsarTest, KekFromEnvironmentRotatesWithNewVariable) {
  log_->Stop();
  log_.reset();
  std::filesystem::remove_all(dir_);
  std::filesystem::create_directories(dir_);
  const std::string k1(64, 'a'), k2(64, 'b');
  ::setenv(kKekEnv, k1.c_str(), 1);
  {
    auto log = AuditLog::Open(options_, &clock_);
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    log_ = *log;
  }
  AppendFor("frank", "frank prompt");
  log_->Stop();
  EXPECT_FALSE(std::filesystem::exists(dir_ / "audit_kek.key"));
  Status s = RotateKekHere();
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
  ::setenv(kNewKekEnv, k2.c_str(), 1);
  s = RotateKekHere();
  ASSERT_TRUE(s.ok()) << s.ToString();
  // Switch the variables as an operator would: the new key alone decrypts.
  ::setenv(kKekEnv, k2.c_str(), 1);
  ::unsetenv(kNewKekEnv);
  auto db = OpenDatabase(options_.store_url);
  auto e = DsarExport(**db, dir_.string(), "frank");
  ::unsetenv(kKekEnv);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->at("records").at(0).at("payloads").at("prompt").at("text").as_string(),
            "frank prompt");
}

TEST(PseudonymTest, PrekeyedPseudonymizerMatchesTheOneShotForm) {
  const std::string key(32, '\x07');
  SubjectPseudonymizer p(key);
  for (const std::string& subject :
       std::vector<std::string>{"", "alice@example.com", std::string(300, 'x')}) {
    EXPECT_EQ(p(subject), SubjectPseudonym(key, subject)) << subject;
  }
  EXPECT_NE(p("alice"), p("bob"));
  EXPECT_EQ(p("alice").size(), 34u);  // "s_" + 32 hex
}

TEST_F(DsarTest, KeyFilesArePrivate) {
  for (const char* f : {"audit_signing.key", "audit_pseudonym.key", "audit_kek.key"}) {
    auto st = std::filesystem::status(dir_ / f);
    EXPECT_EQ(st.permissions() & std::filesystem::perms::all,
              std::filesystem::perms::owner_read | std::filesystem::perms::owner_write)
        << f;
  }
  std::filesystem::permissions(dir_ / "audit_kek.key", std::filesystem::perms::group_read,
                               std::filesystem::perm_options::add);
  auto k = LoadKeks(dir_.string(), false);
  EXPECT_FALSE(k.ok());
}

}  // namespace
}  // namespace steward::audit
