#include "stages/registry/registry_stage.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <filesystem>

#include "gateway/gateway.h"
#include "pipeline/stage_registry.h"
#include "registry/testing/model_files.h"
#include "steward/clock.h"

namespace steward::stages {
namespace {

using registry::testing::MakeTempDir;
using registry::testing::WriteFile;

class RegistryStageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("steward-regstage");
    auto db = OpenDatabase("sqlite:" + dir_ + "/steward.db");
    ASSERT_TRUE(db.ok());
    db_ = std::move(*db);
    env_.db = db_.get();
    env_.clock = &clock_;
    env_.data_dir = dir_;
    // The CLI's view of the registry (another process in real life).
    cli_ = std::make_unique<registry::Registry>(*db_, clock_, registry::RegistryOptions{});
    ASSERT_TRUE(cli_->Init().ok());
  }
  void TearDown() override {
    stage_.reset();
    service_.reset();
    cli_.reset();
    db_.reset();
    std::filesystem::remove_all(dir_);
  }

  void StartStage(const std::string& yaml) {
    root_ = YAML::Load(yaml);
    auto service = MakeRegistryService(root_, env_, /*start_threads=*/false);
    ASSERT_TRUE(service.ok()) << service.status().ToString();
    service_ = *service;
    stage_ = std::make_unique<RegistryStage>(service_);
  }

  std::string Register(const std::string& name, const std::string& version, bool approve,
                       bool deploy) {
    std::string path = dir_ + "/" + name + "-" + version + ".gguf";
    registry::testing::TinyGgufOptions o;
    o.name = name + version;
    EXPECT_TRUE(WriteFile(path, registry::testing::TinyGguf(o)));
    registry::RegisterRequest req{path, name, version};
    req.tags = {"chat"};
    req.attrs = {{"residency", "eu"}};
    EXPECT_TRUE(cli_->Register(req).ok());
    if (approve) {
      EXPECT_TRUE(cli_->Approve(name, version, "alice", false).ok());
    }
    if (deploy) {
      EXPECT_TRUE(cli_->Deploy(name, version, 0, "alice").ok());
    }
    return path;
  }

  StageResult Call(const std::string& model, const std::string& subject = "") {
    ctx_ = RequestContext{};
    ctx_.endpoint = Endpoint::kChatCompletions;
    ctx_.model = model;
    ctx_.upstream_model = model;
    ctx_.subject = subject;
    return stage_->OnRequest(ctx_);
  }

  std::string dir_;
  FakeClock clock_;
  std::unique_ptr<Database> db_;
  StageEnv env_;
  YAML::Node root_;
  std::unique_ptr<registry::Registry> cli_;
  std::shared_ptr<registry::RegistryService> service_;
  std::unique_ptr<RegistryStage> stage_;
  RequestContext ctx_;
};

TEST_F(RegistryStageTest, EnforcedRegistryRoutesOnlyApprovedVersions) {
  Register("live", "1", true, true);
  Register("pending", "1", false, false);
  StartStage("registry: {enforce: true}\n");

  auto ok = Call("live");
  EXPECT_EQ(ok.action, StageResult::Action::kContinue);
  EXPECT_EQ(ctx_.model_version, "1");
  EXPECT_EQ(ctx_.weights_digest.size(), 64u);
  EXPECT_EQ(ctx_.model_state, "deployed");
  EXPECT_EQ(ctx_.model_license, "Apache-2.0");
  EXPECT_EQ(ctx_.model_tags, std::vector<std::string>{"chat"});
  EXPECT_EQ(ctx_.resource_attrs["residency"], "eu");
  EXPECT_EQ(ctx_.resource_attrs["commercial_use"], "true");

  auto unknown = Call("nope");
  ASSERT_EQ(unknown.action, StageResult::Action::kReply);
  EXPECT_EQ(unknown.reply.status, 404);
  EXPECT_NE(unknown.reply.body.find("model_not_found"), std::string::npos);

  auto pending = Call("pending");
  ASSERT_EQ(pending.action, StageResult::Action::kReply);
  EXPECT_EQ(pending.reply.status, 403);
  EXPECT_NE(pending.reply.body.find("not approved"), std::string::npos) << pending.reply.body;

  // Pinned version: served, and sent upstream under the plain name.
  auto pinned = Call("live@1");
  EXPECT_EQ(pinned.action, StageResult::Action::kContinue);
  EXPECT_EQ(ctx_.upstream_model, "live");
  EXPECT_EQ(service_->ServableModels(), std::vector<std::string>{"live"});
}

TEST_F(RegistryStageTest, NotEnforcedLetsUnknownModelsPass) {
  Register("pending", "1", false, false);
  StartStage("registry: {enforce: false}\n");
  EXPECT_EQ(Call("anything").action, StageResult::Action::kContinue);
  EXPECT_EQ(Call("pending").action, StageResult::Action::kContinue);
  EXPECT_EQ(ctx_.model_state, "registered");
}

TEST_F(RegistryStageTest, SeesCliChangesAfterRefresh) {
  StartStage("registry: {enforce: true}\n");
  EXPECT_EQ(Call("late").reply.status, 404);
  Register("late", "1", true, false);
  ASSERT_TRUE(service_->RefreshNow().ok());
  EXPECT_EQ(Call("late").action, StageResult::Action::kContinue);
  ASSERT_TRUE(cli_->Retire("late", "1", "alice").ok());
  ASSERT_TRUE(service_->RefreshNow().ok());
  auto retired = Call("late");
  EXPECT_EQ(retired.reply.status, 403);
  EXPECT_NE(retired.reply.body.find("model_retired"), std::string::npos);
}

TEST_F(RegistryStageTest, BackgroundRefreshPicksUpChangesWithinAboutASecond) {
  root_ = YAML::Load("registry: {enforce: true, refresh_ms: 50}\n");
  auto service = MakeRegistryService(root_, env_, /*start_threads=*/true);
  ASSERT_TRUE(service.ok());
  service_ = *service;
  stage_ = std::make_unique<RegistryStage>(service_);
  Register("bg", "1", true, false);
  bool seen = false;
  for (int i = 0; i < 100 && !seen; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    seen = Call("bg").action == StageResult::Action::kContinue;
  }
  EXPECT_TRUE(seen);
  service_->Stop();
}

TEST_F(RegistryStageTest, ChangedWeightsQuarantineUntilReapproved) {
  std::string path = Register("w", "1", true, true);
  StartStage("registry: {enforce: true}\n");
  EXPECT_EQ(Call("w").action, StageResult::Action::kContinue);
  std::string original;
  {
    registry::testing::TinyGgufOptions o;
    o.name = "w1";
    original = registry::testing::TinyGguf(o);
  }
  std::string tampered = original;
  tampered.back() ^= 0x40;
  ASSERT_TRUE(WriteFile(path, tampered));
  auto n = service_->RehashDeployedNow();
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 1);
  auto refused = Call("w");
  ASSERT_EQ(refused.action, StageResult::Action::kReply);
  EXPECT_EQ(refused.reply.status, 403);
  EXPECT_NE(refused.reply.body.find("model_quarantined"), std::string::npos);
  EXPECT_NE(refused.reply.body.find("changed"), std::string::npos) << refused.reply.body;
  ASSERT_TRUE(WriteFile(path, original));
  ASSERT_TRUE(cli_->Approve("w", "1", "alice", false).ok());
  ASSERT_TRUE(service_->RefreshNow().ok());
  EXPECT_EQ(Call("w").action, StageResult::Action::kContinue);
  EXPECT_EQ(ctx_.model_state, "deployed");
}

TEST_F(RegistryStageTest, CanaryIsStickyBySubjectAndUsesUpstreamModel) {
  Register("c", "1", true, true);
  std::string path = dir_ + "/c-2.gguf";
  ASSERT_TRUE(WriteFile(path, registry::testing::TinyGguf()));
  registry::RegisterRequest req{path, "c", "2"};
  req.attrs = {{"upstream_model", "c-v2"}};
  ASSERT_TRUE(cli_->Register(req).ok());
  ASSERT_TRUE(cli_->Approve("c", "2", "alice", false).ok());
  ASSERT_TRUE(cli_->Deploy("c", "2", 30, "alice").ok());
  StartStage("registry: {}\n");
  int canary = 0;
  for (int i = 0; i < 2000; ++i) {
    std::string subject = "s" + std::to_string(i);
    ASSERT_EQ(Call("c", subject).action, StageResult::Action::kContinue);
    std::string first = ctx_.model_version;
    if (first == "2") {
      ++canary;
      EXPECT_EQ(ctx_.upstream_model, "c-v2");
      EXPECT_EQ(ctx_.model_state, "canary");
    }
    Call("c", subject);
    EXPECT_EQ(ctx_.model_version, first);
  }
  EXPECT_GT(canary, 2000 * 0.25);
  EXPECT_LT(canary, 2000 * 0.35);
}

TEST_F(RegistryStageTest, FactoryPublishesServiceAndModelLister) {
  Register("listed", "1", true, false);
  Register("hidden", "1", false, false);
  root_ = YAML::Load(
      "registry: {enforce: true}\nupstreams: [{name: u, url: 'http://127.0.0.1:9', models: "
      "[explicit, '*']}]\n");
  ServiceRegistry services;
  env_.services = &services;
  env_.root_config = &root_;
  const StageFactory* factory = pipeline::StageRegistry::Global().Find("registry");
  ASSERT_NE(factory, nullptr);
  auto stage = (*factory)(YAML::Node(), env_);
  ASSERT_TRUE(stage.ok()) << stage.status().ToString();
  EXPECT_EQ((*stage)->name(), "registry");
  ASSERT_NE(services.Get<registry::RegistryService>(), nullptr);
  EXPECT_EQ(registry::ActiveRegistryService(), services.Get<registry::RegistryService>());
  auto* lister = services.Get<gateway::ModelLister>();
  ASSERT_NE(lister, nullptr);
  RequestContext ctx;
  EXPECT_EQ(lister->ModelsFor(ctx), std::vector<std::string>{"listed"});
  // Admin JSON lists every version, servable or not.
  std::string admin =
      boost::json::serialize(services.Get<registry::RegistryService>()->ModelsJson());
  EXPECT_NE(admin.find("hidden"), std::string::npos);
  stage->reset();
  services.Get<registry::RegistryService>()->Stop();
}

TEST_F(RegistryStageTest, BadConfigIsAnError) {
  root_ = YAML::Load("registry: {enforce: maybe}\n");
  EXPECT_FALSE(MakeRegistryService(root_, env_, false).ok());
  root_ = YAML::Load("registry: {enforse: true}\n");
  auto typo = MakeRegistryService(root_, env_, false);
  ASSERT_FALSE(typo.ok());
  EXPECT_NE(typo.status().message().find("enforse"), std::string::npos);
}

}  // namespace
}  // namespace steward::stages
