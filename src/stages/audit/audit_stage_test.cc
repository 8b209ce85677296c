#include <gtest/gtest.h>

#include <filesystem>
#include <future>
#include <set>
#include <thread>

#include "audit/audit_log.h"
#include "audit/canonical_json.h"
#include "audit/dsar.h"
#include "audit/leaf_blocks.h"
#include "audit/verify.h"
#include "common/strings.h"
#include "pipeline/stage_registry.h"
#include "steward/clock.h"

namespace steward::audit {
namespace {

// A store whose writes can be switched off, to test failing closed.
class FlakyDatabase final : public Database {
 public:
  explicit FlakyDatabase(std::unique_ptr<Database> inner) : inner_(std::move(inner)) {}
  std::atomic<bool> fail{false};
  std::string_view backend() const override { return inner_->backend(); }
  Status Migrate(const std::vector<Migration>& m) override { return inner_->Migrate(m); }
  Status Exec(std::string_view sql, const std::vector<Value>& p) override {
    if (fail) return Unavailable("disk I/O error (injected)");
    return inner_->Exec(sql, p);
  }
  Result<std::vector<Row>> Query(std::string_view sql, const std::vector<Value>& p) override {
    return inner_->Query(sql, p);
  }
  Result<std::unique_ptr<Transaction>> Begin() override {
    if (fail) return Unavailable("disk I/O error (injected)");
    return inner_->Begin();
  }
  // Pipelined commits: the flush after the commit can fail on its own.
  std::atomic<bool> fail_sync{false};
  std::atomic<int> syncs{0};
  Status PrepareForAppends() override { return inner_->PrepareForAppends(); }
  Status WaitDurable(uint64_t token) override {
    syncs.fetch_add(1);
    if (fail_sync) return Unavailable("fdatasync: I/O error (injected)");
    return inner_->WaitDurable(token);
  }

 private:
  std::unique_ptr<Database> inner_;
};

class AuditStageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("audit_stage_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    yaml_ = YAML::Load("audit:\n  payloads: full\n  sth_interval_s: 1\n");
    env_.clock = &clock_;
    env_.data_dir = dir_.string();
    env_.root_config = &yaml_;
    env_.services = &services_;
  }
  void TearDown() override {
    stage_.reset();
    services_ = ServiceRegistry();
    std::filesystem::remove_all(dir_);
  }

  void MakeStage() {
    const StageFactory* f = pipeline::StageRegistry::Global().Find("audit");
    ASSERT_NE(f, nullptr) << "stage `audit` is not registered";
    YAML::Node none;
    auto s = (*f)(none, env_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    stage_ = std::move(*s);
  }

  static Status WaitBarriers(RequestContext& ctx) {
    Status all;
    for (auto& b : ctx.barriers) {
      std::promise<Status> p;
      b->Wait([&p](Status s) { p.set_value(std::move(s)); });
      Status s = p.get_future().get();
      if (!s.ok()) all = s;
    }
    ctx.barriers.clear();
    return all;
  }

  static std::string HeaderOf(const RequestContext& ctx, std::string_view name) {
    for (const auto& [k, v] : ctx.response_headers) {
      if (k == name) return v;
    }
    return "";
  }

  RequestContext ChatRequest(const std::string& subject, const std::string& prompt) {
    RequestContext ctx;
    ctx.request_id = "req-" + RandomHex(4);
    ctx.endpoint = Endpoint::kChatCompletions;
    ctx.method = "POST";
    ctx.path = "/v1/chat/completions";
    ctx.start_unix_ms = clock_.NowUnixMs();
    ctx.principal.authenticated = true;
    ctx.principal.key_id = "key_1";
    ctx.principal.role = "user";
    ctx.subject = subject;
    ctx.model = "llama";
    boost::json::array msgs;
    msgs.push_back(boost::json::object{{"role", "user"}, {"content", prompt}});
    ctx.body["messages"] = std::move(msgs);
    return ctx;
  }

  Database& StoreOf() { return services_.Get<AuditLog>()->db(); }

  std::filesystem::path dir_;
  YAML::Node yaml_;
  FakeClock clock_;
  ServiceRegistry services_;
  StageEnv env_;
  std::unique_ptr<Stage> stage_;
};

TEST_F(AuditStageTest, ServedCallIsDurableWithIndexHeaderAndEncryptedPayload) {
  MakeStage();
  RequestContext ctx = ChatRequest("alice@example.com", "my secret plan");
  ASSERT_EQ(stage_->OnRequest(ctx).action, StageResult::Action::kContinue);
  ResponseView view;
  view.status = 200;
  view.body = boost::json::parse(R"({"choices":[{"message":{"role":"assistant","content":"ok!"}}]})");
  stage_->OnResponse(ctx, view);
  ctx.status = 200;
  ctx.findings.push_back({"EMAIL_ADDRESS", "input", 1, 0.99, "pseudonymize"});
  stage_->OnFinish(ctx);
  ASSERT_EQ(ctx.barriers.size(), 1u);
  ASSERT_TRUE(WaitBarriers(ctx).ok());
  EXPECT_EQ(HeaderOf(ctx, "x-steward-audit-index"), "0");

  auto rows = AllStoredLeaves(StoreOf());
  ASSERT_TRUE(rows.ok());
  const std::string leaf = rows->at(0);
  auto rec = ParseCanonicalJson(leaf);
  ASSERT_TRUE(rec.ok()) << rec.status().ToString();
  const auto& o = rec->as_object();
  EXPECT_EQ(o.at("request_id").as_string(), ctx.request_id);
  EXPECT_EQ(o.at("status").as_int64(), 200);
  EXPECT_EQ(o.at("outcome").as_string(), "served");
  EXPECT_EQ(o.at("completion_sha256").as_string(), Sha256Hex("ok!"));
  EXPECT_EQ(o.at("findings").as_array().at(0).at("type").as_string(), "EMAIL_ADDRESS");
  // Never the raw subject or the prompt text, on disk or in the leaf.
  EXPECT_EQ(leaf.find("alice"), std::string::npos);
  EXPECT_EQ(leaf.find("secret plan"), std::string::npos);
  auto payload = AllPayloadParts(Sql(&StoreOf()));
  ASSERT_TRUE(payload.ok()) << payload.status().ToString();
  ASSERT_EQ(payload->size(), 2u);
  for (const auto& p : *payload) {
    ASSERT_TRUE(p.sealed.has_value());
    EXPECT_EQ(p.sealed->find("secret plan"), std::string::npos);
    EXPECT_EQ(p.leaf_index, 0);
  }
  auto blocks = StoreOf().Query("SELECT body FROM audit_payload_blocks");
  ASSERT_TRUE(blocks.ok());
  for (const auto& r : *blocks) EXPECT_EQ(r.Text(0).find("secret plan"), std::string::npos);

  auto exp = DsarExport(StoreOf(), dir_.string(), "alice@example.com");
  ASSERT_TRUE(exp.ok()) << exp.status().ToString();
  const auto& recs = exp->at("records").as_array();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].at("payloads").at("completion").at("text").as_string(), "ok!");
  EXPECT_NE(recs[0].at("payloads").at("prompt").at("text").as_string().find("my secret plan"),
            boost::json::string::npos);
}

TEST_F(AuditStageTest, RefusedAndHeldCallsAreAudited) {
  MakeStage();
  RequestContext refused = ChatRequest("", "hi");
  ASSERT_EQ(stage_->OnRequest(refused).action, StageResult::Action::kContinue);
  refused.status = 403;
  refused.policy.evaluated = true;
  refused.policy.decision = "deny";
  refused.policy.reasons = {"no-secrets"};
  stage_->OnFinish(refused);
  ASSERT_TRUE(WaitBarriers(refused).ok());
  EXPECT_EQ(HeaderOf(refused, "x-steward-audit-index"), "0");
  RequestContext held = ChatRequest("", "hi");
  stage_->OnRequest(held);
  held.status = 202;
  stage_->OnFinish(held);
  ASSERT_TRUE(WaitBarriers(held).ok());
  EXPECT_EQ(HeaderOf(held, "x-steward-audit-index"), "1");
  auto rows = AllStoredLeaves(StoreOf());
  auto r0 = boost::json::parse(rows->at(0));
  EXPECT_EQ(r0.at("outcome").as_string(), "refused");
  EXPECT_EQ(r0.at("policy").at("reasons").at(0).as_string(), "no-secrets");
  EXPECT_TRUE(r0.at("completion_sha256").is_null());
  EXPECT_EQ(boost::json::parse(rows->at(1)).at("outcome").as_string(), "held");
}

TEST_F(AuditStageTest, StreamedCallGetsHeaderAtStartAndRecordAtEnd) {
  MakeStage();
  RequestContext ctx = ChatRequest("bob", "stream please");
  ctx.stream = true;
  stage_->OnRequest(ctx);
  ResponseView view;
  view.status = 200;
  view.streaming = true;
  stage_->OnResponse(ctx, view);
  ASSERT_EQ(ctx.barriers.size(), 1u);
  ASSERT_TRUE(WaitBarriers(ctx).ok());
  EXPECT_EQ(HeaderOf(ctx, "x-steward-audit-index"), "0");
  for (const char* t : {"Hel", "lo"}) {
    StreamChunk c;
    c.text = t;
    c.has_text = true;
    stage_->OnChunk(ctx, c);
  }
  ctx.status = 200;
  stage_->OnFinish(ctx);
  ASSERT_TRUE(WaitBarriers(ctx).ok());
  auto rows = AllStoredLeaves(StoreOf());
  ASSERT_EQ(rows->size(), 2u);
  auto end = boost::json::parse(rows->at(1));
  EXPECT_EQ(end.at("phase").as_string(), "stream_end");
  EXPECT_EQ(end.at("request_id").as_string(), ctx.request_id);
  EXPECT_EQ(end.at("completion_sha256").as_string(), Sha256Hex("Hello"));
}

TEST_F(AuditStageTest, PayloadObligationHashesOnly) {
  MakeStage();
  RequestContext ctx = ChatRequest("carol", "text");
  stage_->OnRequest(ctx);
  ctx.status = 200;
  ctx.policy.obligations = {"store_payloads(hashes)"};
  stage_->OnFinish(ctx);
  ASSERT_TRUE(WaitBarriers(ctx).ok());
  EXPECT_EQ(AllPayloadParts(Sql(&StoreOf()))->size(), 0u);
  auto rows = AllStoredLeaves(StoreOf());
  auto rec = boost::json::parse(rows->at(0));
  EXPECT_EQ(rec.at("payloads").as_string(), "hashes");
  EXPECT_FALSE(rec.at("prompt_sha256").is_null());
}

TEST_F(AuditStageTest, UnauthenticatedCallsKeepHashesOnly) {
  MakeStage();
  RequestContext ctx = ChatRequest("mallory", "spam spam");
  ctx.principal = Principal{};
  stage_->OnRequest(ctx);
  ctx.status = 401;
  stage_->OnFinish(ctx);
  ASSERT_TRUE(WaitBarriers(ctx).ok());
  EXPECT_EQ(AllPayloadParts(Sql(&StoreOf()))->size(), 0u);
  auto rec = boost::json::parse(AllStoredLeaves(StoreOf())->at(0));
  EXPECT_EQ(rec.at("payloads").as_string(), "hashes");
  EXPECT_EQ(rec.at("outcome").as_string(), "refused");
  EXPECT_EQ(rec.at("prompt_sha256").as_string(), Sha256Hex(R"([{"content":"spam spam","role":"user"}])"));
}

TEST_F(AuditStageTest, FailsClosedWhenStoreCannotWriteAndRecovers) {
  auto inner = OpenDatabase("sqlite:" + (dir_ / "steward.db").string());
  ASSERT_TRUE(inner.ok());
  auto flaky_owned = std::make_unique<FlakyDatabase>(std::move(*inner));
  FlakyDatabase* flaky = flaky_owned.get();
  AuditOptions opts;
  opts.data_dir = dir_.string();
  auto log = AuditLog::Open(opts, &SystemClock::Instance(), std::move(flaky_owned));
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  services_.Put<AuditLog>(*log);
  MakeStage();

  flaky->fail = true;
  RequestContext a = ChatRequest("", "x");
  ASSERT_EQ(stage_->OnRequest(a).action, StageResult::Action::kContinue);
  a.status = 200;
  stage_->OnFinish(a);
  Status s = WaitBarriers(a);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(HeaderOf(a, "x-steward-audit-index"), "");
  EXPECT_FALSE((*log)->Healthy());
  EXPECT_NE((*log)->StatusLine().find("injected"), std::string::npos);
  EXPECT_NE((*log)->MetricsText().find("steward_audit_healthy 0"), std::string::npos);
  RequestContext b = ChatRequest("", "x");
  StageResult refused = stage_->OnRequest(b);
  EXPECT_EQ(refused.action, StageResult::Action::kReply);
  EXPECT_EQ(refused.reply.status, 503);
  stage_->OnFinish(b);
  EXPECT_TRUE(b.barriers.empty());

  flaky->fail = false;
  for (int i = 0; i < 50 && !(*log)->Healthy(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE((*log)->Healthy());
  RequestContext c = ChatRequest("", "x");
  ASSERT_EQ(stage_->OnRequest(c).action, StageResult::Action::kContinue);
  c.status = 200;
  stage_->OnFinish(c);
  ASSERT_TRUE(WaitBarriers(c).ok());
  EXPECT_EQ(HeaderOf(c, "x-steward-audit-index"), "0");
}

TEST_F(AuditStageTest, FailsClosedWhenTheFlushAfterACommitFails) {
  auto inner = OpenDatabase("sqlite:" + (dir_ / "steward.db").string());
  ASSERT_TRUE(inner.ok());
  auto flaky_owned = std::make_unique<FlakyDatabase>(std::move(*inner));
  FlakyDatabase* flaky = flaky_owned.get();
  AuditOptions opts;
  opts.data_dir = dir_.string();
  opts.sync_threads = 2;
  auto log = AuditLog::Open(opts, &SystemClock::Instance(), std::move(flaky_owned));
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  services_.Put<AuditLog>(*log);
  MakeStage();

  RequestContext a = ChatRequest("", "x");
  ASSERT_EQ(stage_->OnRequest(a).action, StageResult::Action::kContinue);
  a.status = 200;
  stage_->OnFinish(a);
  ASSERT_TRUE(WaitBarriers(a).ok());
  EXPECT_GE(flaky->syncs.load(), 1);  // released only after a flush

  flaky->fail_sync = true;
  RequestContext b = ChatRequest("", "x");
  ASSERT_EQ(stage_->OnRequest(b).action, StageResult::Action::kContinue);
  b.status = 200;
  stage_->OnFinish(b);
  Status s = WaitBarriers(b);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(HeaderOf(b, "x-steward-audit-index"), "");
  EXPECT_FALSE((*log)->Healthy());
  EXPECT_NE((*log)->StatusLine().find("fdatasync"), std::string::npos);
  RequestContext c = ChatRequest("", "x");
  EXPECT_EQ(stage_->OnRequest(c).reply.status, 503);
}

TEST_F(AuditStageTest, ConcurrentCallsShareCommitsAndVerify) {
  MakeStage();
  constexpr int kThreads = 8, kPer = 50;
  std::vector<std::thread> threads;
  std::vector<std::vector<int64_t>> seen(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPer; ++i) {
        RequestContext ctx = ChatRequest("user" + std::to_string(t), "p");
        stage_->OnRequest(ctx);
        ctx.status = 200;
        stage_->OnFinish(ctx);
        if (WaitBarriers(ctx).ok()) seen[t].push_back(std::stoll(HeaderOf(ctx, "x-steward-audit-index")));
      }
    });
  }
  for (auto& th : threads) th.join();
  std::set<int64_t> all;
  for (auto& v : seen) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kPer));
  EXPECT_EQ(*all.rbegin(), kThreads * kPer - 1);
  auto* log = services_.Get<AuditLog>();
  EXPECT_LT(log->Stats().batches, kThreads * kPer);  // group commit happened
  ASSERT_TRUE(log->PublishNow().ok());
  auto v = VerifyStore(log->db(), "");
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->ok) << v->problem;
  EXPECT_EQ(v->tree_size, kThreads * kPer);
}

// Callers blocked in Get() sleep on a gate shared by their batch and are
// woken by one wake-up per batch: none may be left asleep (the test would
// time out), whichever batch and gate its append landed in.
TEST_F(AuditStageTest, EveryBlockedAppenderIsReleased) {
  MakeStage();
  auto* log = services_.Get<AuditLog>();
  constexpr int kThreads = 32, kPer = 40;
  std::vector<std::vector<int64_t>> seen(kThreads);
  auto run = std::async(std::launch::async, [&] {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPer; ++i) {
          LeafToAppend leaf;
          leaf.leaf = "{\"kind\":\"test\",\"n\":" + std::to_string(t * kPer + i) + "}";
          leaf.kind = "test";
          auto r = log->Append(std::move(leaf))->Get();
          if (r.ok()) seen[t].push_back(*r);
        }
      });
    }
    for (auto& th : threads) th.join();
  });
  ASSERT_EQ(run.wait_for(std::chrono::seconds(60)), std::future_status::ready)
      << "an appender was never woken";
  std::set<int64_t> all;
  for (auto& v : seen) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kPer));
  EXPECT_EQ(*all.rbegin(), kThreads * kPer - 1);
}

// A handle completed directly (not through a batch) wakes its own waiter.
TEST(AppendHandleTest, CompleteWakesABlockedGet) {
  auto handle = std::make_shared<AppendHandle>();
  auto waiter = std::async(std::launch::async, [handle] { return handle->Get(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  handle->Complete(Status::Ok(), 7);
  ASSERT_EQ(waiter.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  auto r = waiter.get();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 7);
  auto failed = std::make_shared<AppendHandle>();
  failed->Complete(Unavailable("down"), -1);
  EXPECT_EQ(failed->Get().status().code(), Unavailable("").code());
}

}  // namespace
}  // namespace steward::audit
