#include "registry/registry.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "registry/testing/model_files.h"

namespace steward::registry {
namespace {

using testing::MakeTempDir;
using testing::WriteFile;

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("steward-registry");
    auto db = OpenDatabase("sqlite:" + dir_ + "/steward.db");
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(*db);
    registry_ = MakeRegistry({});
    ASSERT_TRUE(registry_->Init().ok());
  }
  void TearDown() override {
    registry_.reset();
    db_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::unique_ptr<Registry> MakeRegistry(RegistryOptions options) {
    return std::make_unique<Registry>(*db_, clock_, std::move(options),
                                      [this](const AdminEvent& e) {
                                        events_.push_back(e.action + " " + e.target);
                                        return Status::Ok();
                                      });
  }

  // Writes a GGUF model file for `version` and registers it.
  Result<ModelVersion> RegisterGguf(const std::string& name, const std::string& version,
                                    const std::string& license = "") {
    testing::TinyGgufOptions o;
    o.name = name + "-" + version;
    std::string path = dir_ + "/models/" + name + "-" + version + ".gguf";
    if (!WriteFile(path, testing::TinyGguf(o))) return Internal("write failed");
    RegisterRequest req;
    req.path = path;
    req.name = name;
    req.version = version;
    req.license = license;
    req.actor = "cli:tester";
    req.tags = {"chat"};
    return registry_->Register(req);
  }

  std::string dir_;
  FakeClock clock_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<Registry> registry_;
  std::vector<std::string> events_;
};

TEST_F(RegistryTest, RegisterStoresProvenanceAndFiles) {
  auto m = RegisterGguf("tiny", "1");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->state, kStateRegistered);
  EXPECT_EQ(m->license, "Apache-2.0");
  EXPECT_EQ(m->source_url, "https://example.org/tiny-llama");
  EXPECT_EQ(m->base_model, "Base Llama");
  auto got = registry_->Get("tiny", "1");
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->files.size(), 1u);
  EXPECT_EQ(got->files[0].path, "tiny-1.gguf");
  EXPECT_EQ(got->manifest_digest, ManifestDigest(got->files));
  EXPECT_EQ(got->metadata.quantization, "Q4_K_M");
  EXPECT_EQ(got->registered_by, "cli:tester");
  EXPECT_EQ(got->tags, std::vector<std::string>{"chat"});
  EXPECT_EQ(events_, std::vector<std::string>{"models.register tiny@1"});
  // Same name@version twice is refused.
  auto again = RegisterGguf("tiny", "1");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
}

TEST_F(RegistryTest, HostileFileIsRejectedBeforeAnythingIsStored) {
  std::string path = dir_ + "/bad.gguf";
  ASSERT_TRUE(WriteFile(path, std::string("GGUF\x03\0\0\0", 8) + std::string(16, '\xff')));
  RegisterRequest req{path, "bad", "1"};
  auto m = registry_->Register(req);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(m.status().message().find("bad.gguf"), std::string::npos);
  auto list = registry_->List();
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
}

TEST_F(RegistryTest, LifecycleApproveDeployRetire) {
  ASSERT_TRUE(RegisterGguf("tiny", "1").ok());
  EXPECT_FALSE(registry_->Deploy("tiny", "1", 0, "a").ok()) << "deployed an unapproved version";
  auto approved = registry_->Approve("tiny", "1", "alice", false);
  ASSERT_TRUE(approved.ok()) << approved.status().ToString();
  EXPECT_EQ(approved->state, kStateApproved);
  Status deployed = registry_->Deploy("tiny", "1", 0, "alice");
  ASSERT_TRUE(deployed.ok()) << deployed.ToString();
  EXPECT_EQ(registry_->Get("tiny", "1")->deploy_role, "primary");
  ASSERT_TRUE(registry_->Retire("tiny", "1", "alice").ok());
  auto retired = registry_->Get("tiny", "1");
  EXPECT_EQ(retired->state, kStateRetired);
  EXPECT_EQ(retired->deploy_role, "");
  auto history = registry_->History("tiny");
  ASSERT_TRUE(history.ok());
  std::vector<std::string> actions;
  for (const auto& h : *history) actions.push_back(h.action);
  EXPECT_EQ(actions, (std::vector<std::string>{"register", "approve", "deploy", "retire"}));
  EXPECT_EQ(events_.size(), 4u);
}

TEST_F(RegistryTest, TwoApproversWhenConfigured) {
  RegistryOptions options;
  options.approvals_required = 2;
  registry_ = MakeRegistry(options);
  ASSERT_TRUE(RegisterGguf("tiny", "1").ok());
  auto first = registry_->Approve("tiny", "1", "alice", false);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->state, kStateRegistered);
  auto same = registry_->Approve("tiny", "1", "alice", false);
  ASSERT_FALSE(same.ok()) << same->state << " " << same->approved_by.size();
  EXPECT_NE(same.status().message().find("distinct"), std::string::npos);
  auto second = registry_->Approve("tiny", "1", "bob", false);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->state, kStateApproved);
}

TEST_F(RegistryTest, LicensePolicyAtRegisterAndApprove) {
  RegistryOptions options;
  options.license_policy.commercial = true;
  options.license_policy.require_approval = {"LicenseRef-Llama-3"};
  registry_ = MakeRegistry(options);
  auto nc = RegisterGguf("nc", "1", "cc-by-nc-4.0");
  ASSERT_FALSE(nc.ok());
  EXPECT_EQ(nc.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(nc.status().message().find("commercial"), std::string::npos);
  ASSERT_TRUE(RegisterGguf("llama", "1", "llama3").ok());
  auto refused = registry_->Approve("llama", "1", "alice", false);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("--accept-license"), std::string::npos);
  EXPECT_TRUE(registry_->Approve("llama", "1", "alice", true).ok());
  // Unknown license needs explicit acceptance by default.
  ASSERT_TRUE(RegisterGguf("mystery", "1", "some custom license").ok());
  EXPECT_EQ(registry_->Get("mystery", "1")->license, "unknown");
  EXPECT_FALSE(registry_->Approve("mystery", "1", "alice", false).ok());
}

TEST_F(RegistryTest, CanaryAndRollback) {
  for (const char* v : {"1", "2", "3"}) {
    ASSERT_TRUE(RegisterGguf("m", v).ok());
    ASSERT_TRUE(registry_->Approve("m", v, "alice", false).ok());
  }
  EXPECT_FALSE(registry_->Deploy("m", "2", 10, "a").ok()) << "canary without a primary";
  ASSERT_TRUE(registry_->Deploy("m", "1", 0, "a").ok());
  ASSERT_TRUE(registry_->Deploy("m", "2", 10, "a").ok());
  auto v2 = registry_->Get("m", "2");
  EXPECT_EQ(v2->deploy_role, "canary");
  EXPECT_DOUBLE_EQ(v2->canary_percent, 10);
  ASSERT_TRUE(registry_->Deploy("m", "2", 0, "a").ok());  // promote
  EXPECT_EQ(registry_->Get("m", "1")->state, kStateApproved);
  EXPECT_EQ(registry_->Get("m", "2")->deploy_role, "primary");
  ASSERT_TRUE(registry_->Deploy("m", "3", 0, "a").ok());
  auto back = registry_->Rollback("m", "a");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, "2");
  EXPECT_EQ(registry_->Get("m", "2")->deploy_role, "primary");
  EXPECT_EQ(registry_->Get("m", "3")->state, kStateApproved);
  // Rolling back again skips the retired version 1? No: 3 was deployed
  // after 2, so the previous primary is 3.
  ASSERT_TRUE(registry_->Retire("m", "3", "a").ok());
  auto again = registry_->Rollback("m", "a");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again, "1");
}

TEST_F(RegistryTest, VerifyQuarantinesChangedFilesUntilRestoredAndReapproved) {
  auto m = RegisterGguf("q", "1");
  ASSERT_TRUE(m.ok());
  ASSERT_TRUE(registry_->Approve("q", "1", "alice", false).ok());
  ASSERT_TRUE(registry_->Deploy("q", "1", 0, "alice").ok());
  auto clean = registry_->Verify("q", "1", "cli:t");
  ASSERT_TRUE(clean.ok());
  EXPECT_TRUE(clean->ok());
  std::string path = m->path;
  std::string original = testing::TinyGguf({"q-1"});
  std::string tampered = original;
  tampered[tampered.size() - 1] ^= 1;
  ASSERT_TRUE(WriteFile(path, tampered));
  auto dirty = registry_->Verify("q", "1", "cli:t");
  ASSERT_TRUE(dirty.ok());
  EXPECT_FALSE(dirty->ok());
  EXPECT_TRUE(dirty->quarantined);
  auto q = registry_->Get("q", "1");
  EXPECT_EQ(q->state, kStateQuarantined);
  EXPECT_NE(q->quarantine_reason.find("changed"), std::string::npos);
  // Re-approval refuses while the file still differs...
  EXPECT_FALSE(registry_->Approve("q", "1", "alice", false).ok());
  // ...and restores the deployed state once the registered bytes are back.
  ASSERT_TRUE(WriteFile(path, original));
  auto re = registry_->Approve("q", "1", "alice", false);
  ASSERT_TRUE(re.ok()) << re.status().ToString();
  EXPECT_EQ(re->state, kStateDeployed);
}

TEST_F(RegistryTest, DatasetsAreHashedAndLinked) {
  ASSERT_TRUE(WriteFile(dir_ + "/data/train.jsonl", "{\"x\":1}\n"));
  DatasetRequest req{dir_ + "/data",          "train", "2024-01", "cc-by-4.0",
                     "https://example.org/d", "cli:t"};
  auto d = registry_->RegisterDataset(req);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->license, "CC-BY-4.0");
  ASSERT_EQ(d->files.size(), 1u);
  std::string path = dir_ + "/m.gguf";
  ASSERT_TRUE(WriteFile(path, testing::TinyGguf()));
  RegisterRequest mreq{path, "withdata", "1"};
  mreq.datasets = {"train@2024-01"};
  ASSERT_TRUE(registry_->Register(mreq).ok());
  EXPECT_EQ(registry_->Get("withdata", "1")->datasets, std::vector<std::string>{"train@2024-01"});
  RegisterRequest missing{path, "withdata", "2"};
  missing.datasets = {"nope@1"};
  EXPECT_EQ(registry_->Register(missing).status().code(), StatusCode::kNotFound);
}

TEST_F(RegistryTest, GenerationBumpsOnEveryChange) {
  auto g0 = registry_->Generation();
  ASSERT_TRUE(g0.ok());
  ASSERT_TRUE(RegisterGguf("g", "1").ok());
  auto g1 = registry_->Generation();
  EXPECT_GT(*g1, *g0);
  ASSERT_TRUE(registry_->Approve("g", "1", "a", false).ok());
  EXPECT_GT(*registry_->Generation(), *g1);
}

}  // namespace
}  // namespace steward::registry
