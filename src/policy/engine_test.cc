#include "policy/engine.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "policy/default_policy.h"
#include "policy/test_util.h"

namespace steward::policy {
namespace {

namespace fs = std::filesystem;
using testing::MustRequest;

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("policy_engine_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
  }
  fs::path dir_;
};

TEST(DefaultPolicyTest, CompilesAndFollowsSpec) {
  auto b = DefaultBundle();
  ASSERT_TRUE(b.ok()) << b.status().message();
  auto decide = [&](const char* json) { return (*b)->Authorize(MustRequest(json)); };
  EXPECT_EQ(decide(R"({"principal":{"role":"user"},"action":"chat.completions"})").verdict,
            Verdict::kPermit);
  EXPECT_EQ(decide(R"({"principal":{"role":"admin"},"action":"embeddings"})").verdict,
            Verdict::kPermit);
  EXPECT_EQ(decide(R"({"principal":{"role":"guest"},"action":"chat.completions"})").verdict,
            Verdict::kDeny);
  Decision secret = decide(R"({"principal":{"role":"user"},"action":"chat.completions",
      "context":{"findings":{"AWS_ACCESS_KEY":{"count":1,"max_score":0.99}}}})");
  EXPECT_EQ(secret.verdict, Verdict::kDeny);
  EXPECT_EQ(secret.reasons, std::vector<std::string>{"default-secrets-refused"});
  Decision injection = decide(R"({"principal":{"role":"user"},"action":"chat.completions",
      "context":{"injection_score":0.7,"injection_threshold":0.6}})");
  EXPECT_EQ(injection.verdict, Verdict::kDeny);
  EXPECT_EQ(injection.reasons, std::vector<std::string>{"default-injection-refused"});
  EXPECT_EQ(decide(R"({"principal":{"role":"user"},"action":"chat.completions",
      "context":{"injection_score":0.5,"injection_threshold":0.6}})")
                .verdict,
            Verdict::kPermit);
  EXPECT_EQ(decide(R"({"principal":{"role":"user"},"action":"keys.create",
      "context":{"plane":"admin"}})")
                .verdict,
            Verdict::kDeny);
  EXPECT_EQ(decide(R"({"principal":{"role":"admin"},"action":"keys.create",
      "context":{"plane":"admin"}})")
                .verdict,
            Verdict::kPermit);
}

TEST_F(EngineTest, ReloadSwapsGoodBundleAndKeepsOldOnError) {
  Write("a.policy", "@id(\"v1\") permit (principal.role == \"user\");");
  PolicyEngine engine({dir_.string()}, {});
  std::vector<std::string> log;
  engine.SetLogger(
      [&](bool ok, const std::string& m) { log.push_back((ok ? "ok: " : "bad: ") + m); });
  ASSERT_NE(engine.bundle(), nullptr);
  std::string first = engine.bundle()->hash();
  Request user = MustRequest(R"({"principal":{"role":"user"}})");
  EXPECT_EQ(engine.Authorize(user).reasons, std::vector<std::string>{"v1"});

  Write("a.policy", "@id(\"v2\") permit (principal.role == \"user\") when { oops };");
  Status s = engine.Reload();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("unknown name `oops`"), std::string::npos);
  EXPECT_EQ(engine.bundle()->hash(), first);  // old bundle kept
  EXPECT_EQ(engine.Authorize(user).reasons, std::vector<std::string>{"v1"});
  EXPECT_EQ(engine.reloads_failed(), 1u);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].rfind("bad: policy bundle rejected (keeping the previous bundle)", 0), 0u);

  Write("a.policy", "@id(\"v3\") permit (principal.role == \"user\");");
  ASSERT_TRUE(engine.Reload().ok());
  EXPECT_EQ(engine.Authorize(user).reasons, std::vector<std::string>{"v3"});
  EXPECT_TRUE(engine.load_error().empty());
}

TEST_F(EngineTest, FailsClosedWithoutAnyBundle) {
  Write("a.policy", "permit when {");
  PolicyEngine engine({dir_.string()}, {});
  EXPECT_EQ(engine.bundle(), nullptr);
  Decision d = engine.Authorize(MustRequest(R"({"principal":{"role":"user"}})"));
  EXPECT_EQ(d.verdict, Verdict::kDeny);
  EXPECT_EQ(d.message, "no policy bundle could be loaded; refusing every call (fail closed)");
  ASSERT_EQ(d.errors.size(), 1u);
  EXPECT_NE(d.errors[0].find("a.policy:1:14: expected an expression"), std::string::npos)
      << d.errors[0];
  PolicyEngine missing({(dir_ / "nope.policy").string()}, {});
  EXPECT_EQ(missing.bundle(), nullptr);
  EXPECT_EQ(missing.Authorize(Request()).verdict, Verdict::kDeny);
}

TEST_F(EngineTest, WatcherReloadsOnFileChange) {
  Write("a.policy", "@id(\"v1\") permit;");
  PolicyEngine engine({dir_.string()}, {});
  engine.StartWatching(50);
  Write("b.policy", "@id(\"v2\") obligate with store_payloads(\"none\");");
  Decision d;
  for (int i = 0; i < 100; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    d = engine.Authorize(Request());
    if (d.reasons.size() == 2) break;
  }
  EXPECT_EQ(d.reasons, (std::vector<std::string>{"v1", "v2"}));
  engine.StopWatching();
}

TEST_F(EngineTest, AdminAuthorizationAndTwoPersonRule) {
  Write("admin.policy", R"(
@id("admins") permit (principal.role == "admin") when { context.plane == "admin" };
@id("erase-two-person") obligate (action == "subjects.erase") with require_approvals(2);
)");
  PolicyEngine engine({dir_.string()}, {});
  Principal alice{true, "k-alice", "alice", "admin", ""};
  Principal bob{true, "k-bob", "bob", "admin", ""};
  Principal eve{true, "k-eve", "eve", "user", ""};
  EXPECT_EQ(engine.AuthorizeAdmin(alice, "keys.create", {}, 0).verdict, Verdict::kPermit);
  EXPECT_EQ(engine.AuthorizeAdmin(eve, "keys.create", {}, 0).verdict, Verdict::kDeny);
  Decision erase = engine.AuthorizeAdmin(alice, "subjects.erase", {{"name", "x"}}, 0);
  EXPECT_EQ(erase.verdict, Verdict::kPermit);
  EXPECT_EQ(erase.obligations.approvals, 2);
  EXPECT_FALSE(CheckApprovals(erase, {"k-alice", "k-alice"}).ok());
  EXPECT_TRUE(CheckApprovals(erase, {"k-alice", "k-bob"}).ok());
  (void)bob;
}

}  // namespace
}  // namespace steward::policy
