// The policy stage and the review queue together, as `steward serve` wires
// them: a require_review decision holds the call (202), a reviewer decides
// through the /admin/reviews routes (authorised by the same policy, audited),
// and the identical call re-sent with x-steward-review-id goes through once.
#include <gtest/gtest.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <future>

#include "admin/admin_router.h"
#include "audit/leaf_blocks.h"
#include "audit/log_store.h"
#include "gateway/gateway.h"
#include "pipeline/stage_registry.h"
#include "policy/engine.h"
#include "policy/review_sink.h"
#include "review/review_queue.h"
#include "steward/clock.h"
#include "steward/store.h"

namespace steward::stages {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

const char* kPolicy = R"(
@id("callers") permit (principal.role in ["user", "admin"], action == "chat.completions");
@id("admins") permit (principal.role == "admin") when { context.plane == "admin" };
@id("gated") obligate (action == "chat.completions") when { resource.name == "gated-model" }
  with require_review("the gated model needs a person");
@id("capped") obligate (action == "chat.completions") with limit("max_tokens", 50);
@id("small") obligate (action == "chat.completions") with limit("request_bytes", 4096);
@id("no-interns") @message("interns may not decide reviews")
forbid (principal.team == "interns") when { context.plane == "admin" };
@id("two-person-reject") obligate (action == "reviews.reject") with require_approvals(2);
)";

class ReviewStageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("review_stage_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    std::ofstream(dir_ / "p.policy") << kPolicy;
    auto db = OpenDatabase("sqlite:" + (dir_ / "steward.db").string());
    ASSERT_TRUE(db.ok());
    db_ = std::move(*db);
    root_ = YAML::Load("policy:\n  files: [" + (dir_ / "p.policy").string() +
                       "]\n  watch: false\nreview:\n  ttl_hours: 1\n");
    env_.db = db_.get();
    env_.clock = &clock_;
    env_.data_dir = dir_.string();
    env_.root_config = &root_;
    env_.services = &services_;
    for (const char* name : {"policy", "review"}) {
      const StageFactory* factory = pipeline::StageRegistry::Global().Find(name);
      ASSERT_NE(factory, nullptr) << name;
      auto stage = (*factory)(YAML::Node(), env_);
      ASSERT_TRUE(stage.ok()) << stage.status().message();
      stages_.push_back(std::move(*stage));
    }
  }
  void TearDown() override {
    stages_.clear();
    db_.reset();
    fs::remove_all(dir_);
  }

  RequestContext GatedCall(const std::string& review_id = "", const std::string& key = "k1") {
    RequestContext ctx;
    ctx.request_id = "req_" + std::to_string(++calls_);
    ctx.endpoint = Endpoint::kChatCompletions;
    ctx.principal = {true, key, "app", "user", ""};
    ctx.model = "gated-model";
    ctx.injection_score = 0.0;
    ctx.body = json::parse(R"({"model":"gated-model","messages":[{"role":"user","content":"hi"}]})")
                   .as_object();
    if (!review_id.empty()) ctx.headers.emplace_back("x-steward-review-id", review_id);
    return ctx;
  }
  // Runs the call through policy then review, as the gateway does,
  // awaiting the barriers (the review row's insert) before the reply; a
  // failed barrier turns the reply into a 503 as in the gateway.
  StageResult Run(RequestContext& ctx) {
    StageResult out = StageResult::Continue();
    for (auto& s : stages_) {
      StageResult r = s->OnRequest(ctx);
      if (r.action != StageResult::Action::kContinue) {
        out = std::move(r);
        break;
      }
    }
    for (auto& b : ctx.barriers) {
      std::promise<Status> done;
      b->Wait([&done](Status s) { done.set_value(std::move(s)); });
      Status s = done.get_future().get();
      if (!s.ok()) {
        return StageResult::Error(503, "server_error", "service_unavailable", s.message());
      }
    }
    ctx.barriers.clear();
    return out;
  }
  void Finish(RequestContext& ctx) {
    for (size_t i = stages_.size(); i-- > 0;) stages_[i]->OnFinish(ctx);
  }
  static std::string ReviewIdOf(const StageResult& r) {
    return std::string(json::parse(r.reply.body).at("review_id").as_string());
  }
  admin::AdminResponse Admin(const std::string& method, const std::string& path,
                             const std::string& key_id, const std::string& body = "",
                             const std::string& team = "") {
    admin::AdminRequest req;
    req.method = method;
    auto q = path.find('?');
    req.path = path.substr(0, q);
    req.query = q == std::string::npos ? "" : path.substr(q + 1);
    req.body = body;
    req.principal = {true, key_id, "admin-" + key_id, "admin", team};
    bool mismatch = false;
    const admin::AdminHandler* h = admin::AdminRouter::Global().Find(method, req.path, &mismatch);
    EXPECT_NE(h, nullptr) << method << " " << path;
    if (!h) return {};
    return (*h)(req);
  }
  int64_t AdminRecords(const std::string& action) {
    auto leaves = audit::AllStoredLeaves(*db_);
    if (!leaves.ok()) return -1;
    int64_t n = 0;
    for (const auto& leaf : *leaves) n += leaf.find("\"" + action + "\"") != std::string::npos;
    return n;
  }

  fs::path dir_;
  FakeClock clock_;
  std::unique_ptr<Database> db_;
  YAML::Node root_;
  ServiceRegistry services_;
  StageEnv env_;
  std::vector<std::unique_ptr<Stage>> stages_;
  int calls_ = 0;
};

TEST_F(ReviewStageTest, HeldApprovedThenLetThroughOnceWithTheOtherObligations) {
  ASSERT_NE(services_.Get<policy::ReviewSink>(), nullptr);
  RequestContext held = GatedCall();
  StageResult r = Run(held);
  ASSERT_EQ(r.action, StageResult::Action::kHold) << r.reply.body;
  EXPECT_EQ(r.reply.status, 202);
  std::string id = ReviewIdOf(r);
  EXPECT_EQ(id.rfind("rev_", 0), 0u);

  RequestContext again = GatedCall(id);
  StageResult pending = Run(again);
  EXPECT_EQ(pending.action, StageResult::Action::kHold);
  EXPECT_EQ(ReviewIdOf(pending), id);

  auto approved = Admin("POST", "/admin/reviews/" + id + "/approve", "adm1", R"({"note":"fine"})");
  ASSERT_EQ(approved.status, 200) << approved.body;
  json::object body = json::parse(approved.body).as_object();
  EXPECT_EQ(body.at("status").as_string(), "approved");
  EXPECT_EQ(body.at("decided_by").as_string(), "key:adm1");
  EXPECT_TRUE(body.contains("audit_index")) << approved.body;
  EXPECT_EQ(AdminRecords("review.approve"), 1);

  RequestContext other_key = GatedCall(id, "k2");
  EXPECT_EQ(Run(other_key).reply.status, 403);

  // The first approved call fails upstream: the approval is given back.
  RequestContext failed = GatedCall(id);
  ASSERT_EQ(Run(failed).action, StageResult::Action::kContinue);
  failed.status = 502;
  Finish(failed);

  RequestContext through = GatedCall(id);
  StageResult ok = Run(through);
  ASSERT_EQ(ok.action, StageResult::Action::kContinue) << ok.reply.body;
  // The permit's obligations still apply to an approved call.
  EXPECT_EQ(through.body.at("max_tokens").as_int64(), 50);
  EXPECT_EQ(through.policy.decision, "review");

  through.status = 200;
  Finish(through);
  RequestContext reused = GatedCall(id);
  StageResult refused = Run(reused);
  EXPECT_EQ(refused.reply.status, 403);
  EXPECT_NE(refused.reply.body.find("already used"), std::string::npos);
}

TEST_F(ReviewStageTest, ApprovalIsGivenBackWhenThePolicyStillRefusesTheCall) {
  RequestContext held = GatedCall();
  std::string id = ReviewIdOf(Run(held));
  ASSERT_EQ(Admin("POST", "/admin/reviews/" + id + "/approve", "adm1").status, 200);
  // Approved, but over the policy's size limit (as the gateway counts it).
  RequestContext big = GatedCall(id);
  big.request_bytes = 10'000;
  StageResult r = Run(big);
  EXPECT_EQ(r.reply.status, 413) << r.reply.body;
  auto got = Admin("GET", "/admin/reviews/" + id, "adm1");
  EXPECT_EQ(json::parse(got.body).at("status").as_string(), "approved") << got.body;
  RequestContext fits = GatedCall(id);
  EXPECT_EQ(Run(fits).action, StageResult::Action::kContinue);
}

TEST_F(ReviewStageTest, AdminRoutesListGetAndRefuseBadDecisions) {
  RequestContext a = GatedCall(), b = GatedCall();
  std::string id_a = ReviewIdOf(Run(a));
  std::string id_b = ReviewIdOf(Run(b));

  auto list = Admin("GET", "/admin/reviews?status=pending", "adm1");
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_EQ(json::parse(list.body).at("reviews").as_array().size(), 2u);
  auto bad_status = Admin("GET", "/admin/reviews?status=maybe", "adm1");
  EXPECT_EQ(bad_status.status, 400);
  auto one = Admin("GET", "/admin/reviews/" + id_a, "adm1");
  ASSERT_EQ(one.status, 200);
  EXPECT_EQ(json::parse(one.body).at("request_id").as_string(), a.request_id);
  EXPECT_EQ(Admin("GET", "/admin/reviews/rev_none", "adm1").status, 404);
  EXPECT_EQ(Admin("POST", "/admin/reviews/rev_none/approve", "adm1").status, 404);
  EXPECT_EQ(Admin("POST", "/admin/reviews/" + id_a + "/maybe", "adm1").status, 404);
  EXPECT_EQ(Admin("POST", "/admin/reviews/" + id_a + "/approve", "adm1", "[1]").status, 400);

  // Policy decides who may decide.
  auto intern = Admin("POST", "/admin/reviews/" + id_a + "/approve", "int1", "", "interns");
  EXPECT_EQ(intern.status, 403);
  EXPECT_NE(intern.body.find("interns may not decide reviews"), std::string::npos);

  ASSERT_EQ(Admin("POST", "/admin/reviews/" + id_a + "/approve", "adm1").status, 200);
  auto twice = Admin("POST", "/admin/reviews/" + id_a + "/approve", "adm2");
  EXPECT_EQ(twice.status, 409);
  EXPECT_NE(twice.body.find("only pending reviews"), std::string::npos);

  // Rejection needs two admins here: the first is held, the second decides.
  auto first = Admin("POST", "/admin/reviews/" + id_b + "/reject", "adm1", R"({"note":"no"})");
  EXPECT_EQ(first.status, 202) << first.body;
  EXPECT_EQ(json::parse(first.body).at("status").as_string(), "pending_approval");
  EXPECT_EQ(AdminRecords("review.reject"), 0);
  auto second = Admin("POST", "/admin/reviews/" + id_b + "/reject", "adm2", R"({"note":"no"})");
  ASSERT_EQ(second.status, 200) << second.body;
  EXPECT_EQ(json::parse(second.body).at("decided_by").as_string(), "key:adm1,key:adm2");
  EXPECT_EQ(AdminRecords("review.reject"), 1);

  RequestContext resend = GatedCall(id_b);
  StageResult r = Run(resend);
  EXPECT_EQ(r.reply.status, 403);
  EXPECT_NE(r.reply.body.find("rejected by key:adm1,key:adm2: no"), std::string::npos)
      << r.reply.body;
}

TEST_F(ReviewStageTest, PendingReviewsExpireWithTheConfiguredTtl) {
  RequestContext held = GatedCall();
  std::string id = ReviewIdOf(Run(held));
  clock_.AdvanceMs(3'600'000);
  RequestContext late = GatedCall(id);
  StageResult r = Run(late);
  EXPECT_EQ(r.reply.status, 403);
  EXPECT_NE(r.reply.body.find("expired"), std::string::npos);
  EXPECT_EQ(Admin("POST", "/admin/reviews/" + id + "/approve", "adm1").status, 409);
}

TEST_F(ReviewStageTest, PublishesTheDataPlaneStatusRoute) {
  auto* route = services_.Get<gateway::DataPlaneRoute>();
  ASSERT_NE(route, nullptr);
  EXPECT_EQ(route->prefix(), "/v1/reviews/");
  RequestContext held = GatedCall();
  std::string id = ReviewIdOf(Run(held));
  RequestContext ask;
  ask.path = "/v1/reviews/" + id;
  ask.principal = {true, "k1", "app", "user", ""};
  LocalReply mine = route->Handle(ask);
  EXPECT_EQ(mine.status, 200) << mine.body;
  EXPECT_EQ(json::parse(mine.body).at("status").as_string(), "pending");
  ask.principal.key_id = "k2";
  EXPECT_EQ(route->Handle(ask).status, 404);
}

TEST_F(ReviewStageTest, StageSectionIsAConfigError) {
  const StageFactory* factory = pipeline::StageRegistry::Global().Find("review");
  YAML::Node section = YAML::Load("ttl_hours: 3");
  auto stage = (*factory)(section, env_);
  ASSERT_FALSE(stage.ok());
  EXPECT_NE(stage.status().message().find("top-level `review:`"), std::string::npos);
}

}  // namespace
}  // namespace steward::stages
