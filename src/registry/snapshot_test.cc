#include "registry/snapshot.h"

#include <gtest/gtest.h>

namespace steward::registry {
namespace {

ModelVersion V(const std::string& name, const std::string& version, const std::string& state,
               int64_t seq, const std::string& role = "", double canary = 0) {
  ModelVersion m;
  m.name = name;
  m.version = version;
  m.state = state;
  m.seq = seq;
  m.deploy_role = role;
  m.canary_percent = canary;
  m.manifest_digest = "digest-" + version;
  m.license = "Apache-2.0";
  m.tags = {"t"};
  return m;
}

TEST(SnapshotTest, UnknownModelIsUnknown) {
  Snapshot s({V("a", "1", kStateApproved, 1)}, 1);
  EXPECT_EQ(s.Resolve("b", "").kind, Resolution::Kind::kUnknown);
  EXPECT_EQ(s.Resolve("a@9", "").kind, Resolution::Kind::kUnknown);
}

TEST(SnapshotTest, UnapprovedRetiredQuarantinedAreRefusedWithTheReason) {
  auto q = V("q", "1", kStateQuarantined, 3, "primary");
  q.quarantine_reason = "q.gguf changed";
  Snapshot s({V("r", "1", kStateRegistered, 1), V("t", "1", kStateRetired, 2), q}, 1);
  auto r = s.Resolve("r", "");
  EXPECT_EQ(r.kind, Resolution::Kind::kRefuse);
  EXPECT_NE(r.message.find("not approved"), std::string::npos) << r.message;
  auto t = s.Resolve("t", "");
  EXPECT_EQ(t.kind, Resolution::Kind::kRefuse);
  EXPECT_NE(t.message.find("retired"), std::string::npos) << t.message;
  auto qr = s.Resolve("q", "");
  EXPECT_EQ(qr.kind, Resolution::Kind::kRefuse);
  EXPECT_NE(qr.message.find("quarantined: q.gguf changed"), std::string::npos) << qr.message;
  EXPECT_TRUE(s.ServableNames().empty());
}

TEST(SnapshotTest, DeployedPrimaryWinsElseLatestApproved) {
  Snapshot s({V("m", "1", kStateDeployed, 1, "primary"), V("m", "2", kStateApproved, 2),
              V("n", "1", kStateApproved, 3), V("n", "2", kStateApproved, 4),
              V("n", "3", kStateRegistered, 5)},
             7);
  EXPECT_EQ(s.Resolve("m", "x").entry->version, "1");
  EXPECT_EQ(s.Resolve("n", "x").entry->version, "2");
  auto pinned = s.Resolve("n@1", "");
  ASSERT_EQ(pinned.kind, Resolution::Kind::kServe);
  EXPECT_EQ(pinned.entry->version, "1");
  auto pinned_unapproved = s.Resolve("n@3", "");
  EXPECT_EQ(pinned_unapproved.kind, Resolution::Kind::kRefuse);
  EXPECT_EQ(s.ServableNames(), (std::vector<std::string>{"m", "n"}));
  EXPECT_EQ(s.generation(), 7);
}

TEST(SnapshotTest, CanarySplitIsStickyAndNearThePercentage) {
  Snapshot s(
      {V("m", "1", kStateDeployed, 1, "primary"), V("m", "2", kStateDeployed, 2, "canary", 20)}, 1);
  int canary = 0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    std::string subject = "user-" + std::to_string(i);
    auto r = s.Resolve("m", subject);
    ASSERT_EQ(r.kind, Resolution::Kind::kServe);
    if (r.entry->version == "2") ++canary;
    // Sticky: the same subject always gets the same version.
    EXPECT_EQ(s.Resolve("m", subject).entry->version, r.entry->version);
  }
  EXPECT_NEAR(canary / static_cast<double>(n), 0.20, 0.02);
  EXPECT_EQ(s.Resolve("m", "user-1").entry->resource_state == "canary",
            s.Resolve("m", "user-1").entry->version == "2");
}

TEST(SnapshotTest, JsonListsVersions) {
  Snapshot s({V("m", "1", kStateDeployed, 1, "primary")}, 1);
  auto j = s.ToJson();
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0].at("serving_version").as_string(), "1");
}

}  // namespace
}  // namespace steward::registry
