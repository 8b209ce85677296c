#include "stages/policy/policy_stage.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>

#include "audit/leaf_blocks.h"
#include "monitor/metrics.h"
#include "pipeline/reload.h"
#include "pipeline/stage_registry.h"
#include "policy/review_sink.h"
#include "stages/policy/policy_limiter.h"
#include "steward/clock.h"
#include "steward/store.h"

namespace steward::stages {
namespace {

namespace fs = std::filesystem;

class PolicyStageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("policy_stage_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<Stage> Make(const std::string& yaml) {
    root_ = YAML::Load(yaml.empty() ? "{}" : yaml);
    env_.root_config = &root_;
    env_.services = &services_;
    const StageFactory* factory = pipeline::StageRegistry::Global().Find("policy");
    EXPECT_NE(factory, nullptr);
    auto stage = (*factory)(YAML::Node(), env_);
    EXPECT_TRUE(stage.ok()) << stage.status().message();
    return stage.ok() ? std::move(*stage) : nullptr;
  }

  static RequestContext UserCall(const std::string& role) {
    RequestContext ctx;
    ctx.request_id = "r1";
    ctx.endpoint = Endpoint::kChatCompletions;
    ctx.principal = {true, "k1", "alice", role, ""};
    ctx.model = "llama";
    ctx.injection_score = 0.0;
    return ctx;
  }

  static std::string Header(const RequestContext& ctx) {
    for (const auto& [k, v] : ctx.response_headers) {
      if (k == "x-steward-policy") return v;
    }
    return "";
  }

  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
  }

  fs::path dir_;
  YAML::Node root_;
  StageEnv env_;
  ServiceRegistry services_;
};

TEST_F(PolicyStageTest, BuiltInDefaultPermitsUsersAndRefusesSecrets) {
  auto stage = Make("");
  ASSERT_NE(stage, nullptr);
  EXPECT_EQ(stage->name(), "policy");
  RequestContext ok = UserCall("user");
  EXPECT_EQ(stage->OnRequest(ok).action, StageResult::Action::kContinue);
  EXPECT_TRUE(ok.policy.evaluated);
  EXPECT_EQ(ok.policy.decision, "permit");
  EXPECT_EQ(ok.policy.reasons, std::vector<std::string>{"default-callers"});
  EXPECT_EQ(ok.policy.bundle_hash.size(), 64u);
  EXPECT_EQ(Header(ok).rfind("permit; rules=default-callers; bundle=", 0), 0u) << Header(ok);
  ASSERT_NE(services_.Get<policy::PolicyEngine>(), nullptr);

  monitor::Counter& denies = monitor::MetricsRegistry::Global().GetCounter(
      "steward_policy_decisions_total", "", {{"decision", "deny"}});
  uint64_t denies_before = denies.value();
  RequestContext secret = UserCall("user");
  secret.findings.push_back({"PRIVATE_KEY", "input", 1, 1.0, "block"});
  StageResult r = stage->OnRequest(secret);
  EXPECT_EQ(r.action, StageResult::Action::kReply);
  EXPECT_EQ(r.reply.status, 403);
  EXPECT_NE(r.reply.body.find("default-secrets-refused"), std::string::npos) << r.reply.body;
  EXPECT_EQ(secret.policy.decision, "deny");

  RequestContext guest = UserCall("guest");
  r = stage->OnRequest(guest);
  EXPECT_EQ(r.reply.status, 403);
  EXPECT_NE(r.reply.body.find("default deny"), std::string::npos);
  EXPECT_EQ(denies.value(), denies_before + 2);
}

TEST_F(PolicyStageTest, ReviewRefusedWithoutQueueAndHeldWithOne) {
  Write("p.policy", R"(
@id("all") permit;
@id("injection-review") obligate when { context.injection_score >= 0.5 }
  with require_review("possible prompt injection");
)");
  auto stage = Make("policy: {dir: " + dir_.string() + ", watch: false}");
  ASSERT_NE(stage, nullptr);
  RequestContext ctx = UserCall("user");
  ctx.injection_score = 0.9;
  StageResult r = stage->OnRequest(ctx);
  EXPECT_EQ(r.reply.status, 403);
  EXPECT_NE(r.reply.body.find("needs human review"), std::string::npos) << r.reply.body;
  EXPECT_EQ(ctx.policy.decision, "review");

  struct FakeQueue : policy::ReviewSink {
    Result<std::string> Submit(RequestContext&, const policy::Decision& d) override {
      ++submitted;
      return std::string("rev-1");
    }
    int submitted = 0;
  };
  auto queue = std::make_shared<FakeQueue>();
  services_.Put<policy::ReviewSink>(queue);
  RequestContext again = UserCall("user");
  again.injection_score = 0.9;
  r = stage->OnRequest(again);
  EXPECT_EQ(r.action, StageResult::Action::kHold);
  EXPECT_EQ(queue->submitted, 1);

  // A queue that cannot take the call is a fault to retry, not a denial.
  struct BrokenQueue : policy::ReviewSink {
    Result<std::string> Submit(RequestContext&, const policy::Decision&) override {
      return Unavailable("database is locked");
    }
  };
  services_.Put<policy::ReviewSink>(std::make_shared<BrokenQueue>());
  RequestContext third = UserCall("user");
  third.injection_score = 0.9;
  r = stage->OnRequest(third);
  EXPECT_EQ(r.reply.status, 503);
  EXPECT_NE(r.reply.body.find("review_unavailable"), std::string::npos) << r.reply.body;
  EXPECT_NE(r.reply.body.find("database is locked"), std::string::npos) << r.reply.body;
}

TEST_F(PolicyStageTest, FailsClosedWhenNoBundleLoads) {
  Write("p.policy", "permit when { nope };");
  auto stage = Make("policy: {files: [" + (dir_ / "p.policy").string() + "], watch: false}");
  ASSERT_NE(stage, nullptr);
  RequestContext ctx = UserCall("admin");
  StageResult r = stage->OnRequest(ctx);
  EXPECT_EQ(r.reply.status, 503);
  EXPECT_NE(r.reply.body.find("fail closed"), std::string::npos) << r.reply.body;
  EXPECT_EQ(ctx.policy.decision, "deny");
  ASSERT_EQ(ctx.policy.errors.size(), 1u);

  // A SIGHUP-style reload after fixing the file brings the gateway back.
  monitor::Counter& reload_errors = monitor::MetricsRegistry::Global().GetCounter(
      "steward_policy_reloads_total", "", {{"result", "error"}});
  uint64_t errors_before = reload_errors.value();
  EXPECT_NE(pipeline::RunReloadHooks().size(), 0u);  // still broken: reported
  EXPECT_EQ(reload_errors.value(), errors_before + 1);
  Write("p.policy", "@id(\"fixed\") permit;");
  std::vector<std::string> failures = pipeline::RunReloadHooks();
  RequestContext after = UserCall("admin");
  EXPECT_EQ(stage->OnRequest(after).action, StageResult::Action::kContinue);
  EXPECT_EQ(after.policy.reasons, std::vector<std::string>{"fixed"});
}

// Which rules were in force when is part of the audit trail: every bundle
// change after start and every rejected bundle is an admin record.
TEST_F(PolicyStageTest, ReloadsAreAuditRecords) {
  auto db = OpenDatabase("sqlite:" + (dir_ / "steward.db").string());
  ASSERT_TRUE(db.ok()) << db.status().message();
  env_.db = db->get();
  env_.data_dir = dir_.string();
  Write("p.policy", "@id(\"first\") permit;");
  auto stage = Make("policy: {files: [" + (dir_ / "p.policy").string() + "], watch: false}");
  ASSERT_NE(stage, nullptr);
  auto admin_records = [&] {
    std::vector<boost::json::object> out;
    auto leaves = audit::AllStoredLeaves(**db);  // fails before the log's first record
    if (leaves.ok()) {
      for (const auto& leaf : *leaves) out.push_back(boost::json::parse(leaf).as_object());
    }
    return out;
  };
  EXPECT_TRUE(admin_records().empty());  // the start is not a reload

  (void)pipeline::RunReloadHooks();  // same files: nothing changed, nothing recorded
  EXPECT_TRUE(admin_records().empty());

  Write("p.policy", "@id(\"second\") permit;\n@id(\"third\") permit;");
  (void)pipeline::RunReloadHooks();
  auto records = admin_records();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].at("kind").as_string(), "admin");
  EXPECT_EQ(records[0].at("action").as_string(), "policy.reload");
  const boost::json::object& loaded = records[0].at("details").as_object();
  EXPECT_EQ(loaded.at("result").as_string(), "loaded");
  EXPECT_EQ(loaded.at("rules").as_int64(), 2);
  const std::string second_hash(records[0].at("target").as_string());
  EXPECT_EQ(second_hash.size(), 64u);

  Write("p.policy", "permit when { nope };");
  (void)pipeline::RunReloadHooks();
  records = admin_records();
  ASSERT_EQ(records.size(), 2u);
  const boost::json::object& rejected = records[1].at("details").as_object();
  EXPECT_EQ(rejected.at("result").as_string(), "rejected");
  EXPECT_TRUE(rejected.at("kept_previous").as_bool());
  EXPECT_NE(rejected.at("error").as_string().find("nope"), boost::json::string::npos);
  EXPECT_EQ(records[1].at("target").as_string(), second_hash);  // still in force
  env_.db = nullptr;
}

TEST_F(PolicyStageTest, LimitsAndSubjectFlags) {
  Write("p.policy", R"(
@id("all") permit;
@id("cap") obligate with limit("max_tokens", 100), limit("request_bytes", 1000);
@id("nostore") obligate when { context.subject_flags has "no-store" } with store_payloads("none");
)");
  auto stage = Make("policy:\n  dir: " + dir_.string() +
                    "\n  watch: false\n  subject_flags:\n    bob: [no-store]\n");
  ASSERT_NE(stage, nullptr);
  RequestContext ctx = UserCall("user");
  ctx.subject = "bob";
  ctx.request_bytes = 10;
  ctx.body["max_tokens"] = 5000;
  EXPECT_EQ(stage->OnRequest(ctx).action, StageResult::Action::kContinue);
  EXPECT_EQ(ctx.body["max_tokens"].as_int64(), 100);
  EXPECT_TRUE(ctx.body_modified);
  EXPECT_EQ(ctx.subject_flags, std::vector<std::string>{"no-store"});
  EXPECT_EQ(ctx.policy.obligations,
            (std::vector<std::string>{"store_payloads(none)", "limit(max_tokens=100)",
                                      "limit(request_bytes=1000)"}));

  RequestContext big = UserCall("user");
  big.request_bytes = 5000;
  EXPECT_EQ(stage->OnRequest(big).reply.status, 413);
}

std::string RetryAfter(const StageResult& r) {
  for (const auto& [k, v] : r.reply.headers) {
    if (k == "retry-after") return v;
  }
  return "";
}

TEST_F(PolicyStageTest, RpmLimitIsEnforcedPerRuleAndKey) {
  Write("p.policy", R"(
@id("all") permit;
@id("analysts-slow") obligate (principal.role == "analyst") with limit("rpm", 2);
@id("analysts-slower") obligate (principal.role == "analyst") when { context.stream }
  with limit("rpm", 1);
)");
  FakeClock clock;
  env_.clock = &clock;
  auto stage = Make("policy:\n  dir: " + dir_.string() + "\n  watch: false\n");
  ASSERT_NE(stage, nullptr);
  auto call = [&](const std::string& role, const std::string& key, bool stream = false) {
    RequestContext ctx = UserCall(role);
    ctx.principal.key_id = key;
    ctx.stream = stream;
    StageResult r = stage->OnRequest(ctx);
    stage->OnFinish(ctx);
    return r;
  };
  EXPECT_EQ(call("analyst", "k1").action, StageResult::Action::kContinue);
  EXPECT_EQ(call("analyst", "k1").action, StageResult::Action::kContinue);
  StageResult third = call("analyst", "k1");
  ASSERT_EQ(third.reply.status, 429);
  EXPECT_EQ(RetryAfter(third), "30");  // one request refills in 60 s / 2
  EXPECT_NE(third.reply.body.find("policy rule `analysts-slow` limits key k1 to 2 requests per "
                                  "minute"),
            std::string::npos)
      << third.reply.body;
  EXPECT_NE(third.reply.body.find("\"code\":\"policy_rate_limit_exceeded\""), std::string::npos);
  // Other keys have their own buckets; rules without limits are not counted.
  EXPECT_EQ(call("analyst", "k2").action, StageResult::Action::kContinue);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(call("user", "k1").action, StageResult::Action::kContinue);
  // The smaller limit's rule owns a bucket of its own.
  EXPECT_EQ(call("analyst", "k3", true).action, StageResult::Action::kContinue);
  StageResult streamed = call("analyst", "k3", true);
  EXPECT_EQ(streamed.reply.status, 429);
  EXPECT_NE(streamed.reply.body.find("analysts-slower"), std::string::npos);
  EXPECT_EQ(call("analyst", "k3").action, StageResult::Action::kContinue);
  // Without a key id the client address is the caller.
  auto anonymous = [&](const std::string& ip) {
    RequestContext ctx = UserCall("analyst");
    ctx.principal.key_id.clear();
    ctx.client_ip = ip;
    return stage->OnRequest(ctx);
  };
  EXPECT_EQ(anonymous("10.0.0.1").action, StageResult::Action::kContinue);
  EXPECT_EQ(anonymous("10.0.0.1").action, StageResult::Action::kContinue);
  StageResult by_ip = anonymous("10.0.0.1");
  EXPECT_EQ(by_ip.reply.status, 429);
  EXPECT_NE(by_ip.reply.body.find("limits client 10.0.0.1 to 2 requests"), std::string::npos)
      << by_ip.reply.body;
  EXPECT_EQ(anonymous("10.0.0.2").action, StageResult::Action::kContinue);
  // Time refills the bucket.
  clock.AdvanceMs(30'000);
  EXPECT_EQ(call("analyst", "k1").action, StageResult::Action::kContinue);
  EXPECT_EQ(call("analyst", "k1").reply.status, 429);
}

TEST_F(PolicyStageTest, TpmLimitTakesTheEstimateAndSettlesActualUsage) {
  Write("p.policy", R"(
@id("all") permit;
@id("token-budget") obligate with limit("tpm", 100);
)");
  FakeClock clock;
  env_.clock = &clock;
  auto stage = Make("policy:\n  dir: " + dir_.string() + "\n  watch: false\n");
  ASSERT_NE(stage, nullptr);
  // 200 bytes: an estimate of 50 prompt tokens.
  RequestContext first = UserCall("user");
  first.request_bytes = 200;
  EXPECT_EQ(stage->OnRequest(first).action, StageResult::Action::kContinue);
  first.usage.prompt_tokens = 50;
  first.usage.completion_tokens = 40;  // 90 used: 40 more than taken
  stage->OnFinish(first);
  RequestContext second = UserCall("user");
  second.request_bytes = 200;  // needs 50, 10 left
  StageResult refused = stage->OnRequest(second);
  ASSERT_EQ(refused.reply.status, 429);
  EXPECT_NE(refused.reply.body.find("`token-budget` limits key k1 to 100 tokens per minute"),
            std::string::npos)
      << refused.reply.body;
  EXPECT_EQ(RetryAfter(refused), "24");  // 40 tokens at 100/min
  stage->OnFinish(second);               // refused: nothing to settle
  // A failed call (no usage) refunds its estimate.
  clock.AdvanceMs(60'000);
  RequestContext failed = UserCall("user");
  failed.request_bytes = 400;  // estimate 100: the whole budget
  EXPECT_EQ(stage->OnRequest(failed).action, StageResult::Action::kContinue);
  stage->OnFinish(failed);
  RequestContext after = UserCall("user");
  after.request_bytes = 400;
  EXPECT_EQ(stage->OnRequest(after).action, StageResult::Action::kContinue);
}

TEST(PolicyLimiterTest, RefusalTakesNothingAndSharedShardsDoNotDeadlock) {
  PolicyLimiter limiter;
  PolicyLimiter::Limit rpm{"r", 10}, tpm{"r", 100};
  // Many callers: some have both buckets in one shard.
  for (int i = 0; i < 64; ++i) {
    std::string caller = "key:" + std::to_string(i);
    EXPECT_TRUE(limiter.Admit(caller, rpm, tpm, 60, 0).allowed);
    auto refused = limiter.Admit(caller, rpm, tpm, 60, 0);  // 40 tokens left
    EXPECT_FALSE(refused.allowed);
    EXPECT_EQ(refused.limit, "tpm");
    EXPECT_GT(refused.retry_after_ns, 0);
    // The refused call gave its request back: 9 more fit.
    for (int j = 0; j < 9; ++j) EXPECT_TRUE(limiter.Admit(caller, rpm, {}, 0, 0).allowed);
    EXPECT_EQ(limiter.Admit(caller, rpm, {}, 0, 0).limit, "rpm");
  }
  EXPECT_EQ(limiter.bucket_count(), 128u);
}

TEST_F(PolicyStageTest, ConfigErrorsNameTheKey) {
  YAML::Node root = YAML::Load("policy: {files: [], colour: red}");
  env_.root_config = &root;
  const StageFactory* factory = pipeline::StageRegistry::Global().Find("policy");
  auto stage = (*factory)(YAML::Node(), env_);
  ASSERT_FALSE(stage.ok());
  EXPECT_EQ(stage.status().message(),
            "config:1:21: unknown key `policy.colour` (known: files, dir, watch, poll_ms, "
            "subject_flags, approval_ttl_hours, cli_requires_key)");
  root = YAML::Load("policy: {watch: true}");
  stage = (*factory)(YAML::Node(), env_);
  EXPECT_EQ(
      stage.status().message(),
      "config:1:9: `policy` needs `files` or `dir` (remove the key for the built-in default)");
}

}  // namespace
}  // namespace steward::stages

namespace steward::stages {
namespace {

TEST_F(PolicyStageTest, RedactObligationRewritesTheRequest) {
  Write("p.policy", R"(
@id("all") permit;
@id("analyst-pii") obligate (principal.role == "analyst") with redact(["EMAIL_ADDRESS"], "redact");
)");
  auto stage = Make("policy: {dir: " + dir_.string() + ", watch: false}");
  ASSERT_NE(stage, nullptr);
  RequestContext ctx = UserCall("analyst");
  ctx.body =
      boost::json::parse(
          R"({"model":"llama","messages":[{"role":"user","content":"mail jane.doe@example.com now"}]})")
          .as_object();
  EXPECT_EQ(stage->OnRequest(ctx).action, StageResult::Action::kContinue);
  std::string content(ctx.body["messages"].as_array()[0].as_object()["content"].as_string());
  EXPECT_EQ(content.find("jane.doe@example.com"), std::string::npos) << content;
  EXPECT_NE(content.find("<EMAIL_ADDRESS>"), std::string::npos) << content;
  EXPECT_TRUE(ctx.body_modified);

  RequestContext user = UserCall("user");
  user.body =
      boost::json::parse(
          R"({"model":"llama","messages":[{"role":"user","content":"mail jane.doe@example.com now"}]})")
          .as_object();
  EXPECT_EQ(stage->OnRequest(user).action, StageResult::Action::kContinue);
  EXPECT_NE(std::string(user.body["messages"].as_array()[0].as_object()["content"].as_string())
                .find("jane.doe@example.com"),
            std::string::npos);
}

}  // namespace
}  // namespace steward::stages
