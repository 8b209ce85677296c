#include "policy/approvals.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace steward::policy {
namespace {

namespace fs = std::filesystem;

class AdminGateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("policy_gate_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    std::ofstream(dir_ / "admin.policy") << R"(
@id("admins") permit (principal.role == "admin") when { context.plane == "admin" };
@id("erase-two-person") obligate (action in ["subjects.erase", "keys.revoke"])
  with require_approvals(2);
@id("big-three") obligate (action == "keys.revoke") when { resource.name == "root" }
  with require_approvals(3);
)";
    engine_ =
        std::make_unique<PolicyEngine>(std::vector<std::string>{dir_.string()}, RequestDefaults{});
    ASSERT_NE(engine_->bundle(), nullptr) << engine_->load_error();
    auto db = OpenDatabase((dir_ / "store.db").string());
    ASSERT_TRUE(db.ok()) << db.status().message();
    db_ = std::move(*db);
    gate_ =
        std::make_unique<AdminGate>(*engine_, *db_, clock_, 3'600'000,
                                    [this](const std::string& event, const std::string& actor,
                                           const std::string& target, boost::json::object details) {
                                      events_.push_back(event + " " + actor + " " + target + " " +
                                                        boost::json::serialize(details));
                                    });
    ASSERT_TRUE(gate_->Init().ok());
  }
  void TearDown() override {
    gate_.reset();
    db_.reset();
    fs::remove_all(dir_);
  }

  static AdminAction Erase(const std::string& subject) {
    return {"subjects.erase", {}, {{"subject", subject}}, "subject " + subject};
  }

  fs::path dir_;
  FakeClock clock_;
  std::unique_ptr<PolicyEngine> engine_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<AdminGate> gate_;
  std::vector<std::string> events_;
  Principal alice_{true, "k-alice", "alice", "admin", ""};
  Principal bob_{true, "k-bob", "bob", "admin", ""};
  Principal carol_{true, "k-carol", "carol", "admin", ""};
  Principal eve_{true, "k-eve", "eve", "user", ""};
};

TEST_F(AdminGateTest, SingleApprovalActionsExecuteAtOnce) {
  auto out = gate_->Submit(alice_, {"keys.create", {}, {{"name", "ci"}}, "name=ci"});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_TRUE(out->execute);
  EXPECT_EQ(out->pending_id, "");
  EXPECT_EQ(out->required, 1);
  EXPECT_TRUE(events_.empty());
}

TEST_F(AdminGateTest, ForbiddenAdminIsRefusedNamingTheRole) {
  auto out = gate_->Submit(eve_, Erase("u1"));
  ASSERT_EQ(out.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(out.status().message().find("key k-eve (role `user`) may not subjects.erase"),
            std::string::npos)
      << out.status().message();
  auto pending = gate_->List(true);
  ASSERT_TRUE(pending.ok());
  EXPECT_TRUE(pending->empty()) << "a refused request leaves nothing pending";
}

TEST_F(AdminGateTest, TwoDistinctAdminsExecuteAndTheSameAdminTwiceIsRefused) {
  auto first = gate_->Submit(alice_, Erase("u1"));
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_FALSE(first->execute);
  EXPECT_EQ(first->approvals, 1);
  EXPECT_EQ(first->required, 2);
  ASSERT_FALSE(first->pending_id.empty());
  EXPECT_NE(PendingMessage(*first, Erase("u1")).find("approval 1 of 2 recorded for subjects.erase"),
            std::string::npos);

  auto again = gate_->Submit(alice_, Erase("u1"));
  ASSERT_EQ(again.status().code(), StatusCode::kAlreadyExists);
  EXPECT_NE(again.status().message().find("key k-alice already approved pending action " +
                                          first->pending_id),
            std::string::npos)
      << again.status().message();
  EXPECT_NE(again.status().message().find("different admin"), std::string::npos);

  // A forbidden key cannot be the second approver either.
  EXPECT_EQ(gate_->Submit(eve_, Erase("u1")).status().code(), StatusCode::kPermissionDenied);
  // Another subject is another action.
  auto other = gate_->Submit(bob_, Erase("u2"));
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->execute);
  EXPECT_NE(other->pending_id, first->pending_id);

  auto second = gate_->Submit(bob_, Erase("u1"));
  ASSERT_TRUE(second.ok()) << second.status().message();
  EXPECT_TRUE(second->execute);
  EXPECT_EQ(second->pending_id, first->pending_id);
  EXPECT_EQ(second->approvers, (std::vector<std::string>{"k-alice", "k-bob"}));
  ASSERT_TRUE(gate_->Finish(second->pending_id, Status::Ok()).ok());

  auto all = gate_->List(false);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  // Both were created in the same (fake) millisecond: find them by id.
  const PendingAction& done = (*all)[0].id == first->pending_id ? (*all)[0] : (*all)[1];
  const PendingAction& open = (*all)[0].id == first->pending_id ? (*all)[1] : (*all)[0];
  EXPECT_EQ(done.state, "executed");
  EXPECT_EQ(done.approvers, (std::vector<std::string>{"k-alice", "k-bob"}));
  EXPECT_EQ(open.id, other->pending_id);
  EXPECT_EQ(open.state, "pending");
  auto pending_only = gate_->List(true);
  ASSERT_TRUE(pending_only.ok());
  ASSERT_EQ(pending_only->size(), 1u);
  EXPECT_EQ((*pending_only)[0].id, other->pending_id);

  // Executed: the same request later starts a new pending action.
  auto fresh = gate_->Submit(alice_, Erase("u1"));
  ASSERT_TRUE(fresh.ok());
  EXPECT_FALSE(fresh->execute);
  EXPECT_NE(fresh->pending_id, first->pending_id);

  // Every approval and the refusal are audit events.
  ASSERT_EQ(events_.size(), 5u);
  EXPECT_EQ(events_[0].rfind("policy.approval k-alice " + first->pending_id, 0), 0u) << events_[0];
  EXPECT_EQ(events_[1].rfind("policy.approval.refused k-alice", 0), 0u) << events_[1];
  EXPECT_NE(events_[3].find("\"executes\":true"), std::string::npos) << events_[3];
}

TEST_F(AdminGateTest, TheStrictestRuleSetsTheCountAndPendingActionsExpire) {
  AdminAction revoke_root{"keys.revoke", {{"name", "root"}}, {{"id", "root"}}, "root"};
  EXPECT_FALSE(gate_->Submit(alice_, revoke_root)->execute);
  auto two = gate_->Submit(bob_, revoke_root);
  ASSERT_TRUE(two.ok());
  EXPECT_FALSE(two->execute);
  EXPECT_EQ(two->required, 3);
  EXPECT_TRUE(gate_->Submit(carol_, revoke_root)->execute);

  auto first = gate_->Submit(alice_, Erase("u9"));
  ASSERT_TRUE(first.ok());
  clock_.AdvanceMs(3'600'000);  // the TTL
  auto late = gate_->Submit(bob_, Erase("u9"));
  ASSERT_TRUE(late.ok());
  EXPECT_FALSE(late->execute) << "an expired approval does not count";
  EXPECT_NE(late->pending_id, first->pending_id);
  auto all = gate_->List(false);
  ASSERT_TRUE(all.ok());
  bool saw_expired = false;
  for (const auto& p : *all) saw_expired |= p.id == first->pending_id && p.state == "expired";
  EXPECT_TRUE(saw_expired);
}

TEST_F(AdminGateTest, FailedExecutionIsRecordedAndKeylessCallersCannotApprove) {
  ASSERT_TRUE(gate_->Submit(alice_, Erase("u3")).ok());
  auto done = gate_->Submit(bob_, Erase("u3"));
  ASSERT_TRUE(done.ok());
  ASSERT_TRUE(gate_->Finish(done->pending_id, NotFound("no such subject")).ok());
  auto all = gate_->List(false);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ(all->back().state, "failed");

  Principal keyless{true, "", "ops", "admin", ""};
  auto refused = gate_->Submit(keyless, Erase("u4"));
  EXPECT_EQ(refused.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(refused.status().message().find("two-person rule"), std::string::npos);
}

TEST(AdminGateFingerprintTest, ParamsCannotBeConfused) {
  AdminAction a{"keys.create", {}, {{"name", "a"}, {"role", "b"}}, ""};
  AdminAction b{"keys.create", {}, {{"name", "a\x01role"}, {"role", "b"}}, ""};
  AdminAction c{"keys.create", {}, {{"name", "ab"}, {"role", ""}}, ""};
  EXPECT_NE(AdminGate::Fingerprint(a), AdminGate::Fingerprint(b));
  EXPECT_NE(AdminGate::Fingerprint(a), AdminGate::Fingerprint(c));
  EXPECT_EQ(AdminGate::Fingerprint(a), AdminGate::Fingerprint(a));
}

}  // namespace
}  // namespace steward::policy
