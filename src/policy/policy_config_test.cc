#include "policy/policy_config.h"

#include <gtest/gtest.h>

namespace steward::policy {
namespace {

std::string Error(const char* yaml) {
  auto r = ParsePolicyConfig("c.yaml", YAML::Load(yaml));
  return r.ok() ? "" : r.status().message();
}

TEST(PolicyConfigTest, AbsentSectionMeansBuiltInDefault) {
  auto r = ParsePolicyConfig("c.yaml", YAML::Load("listen: 127.0.0.1:1"));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->configured);
  EXPECT_TRUE(r->paths.empty());
}

TEST(PolicyConfigTest, ParsesEveryKey) {
  auto r = ParsePolicyConfig("c.yaml", YAML::Load(R"(
policy:
  files: [a.policy, b.policy]
  dir: more
  watch: false
  poll_ms: 250
  subject_flags:
    alice: [no-store, minor]
deployment:
  commercial: true
)"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->configured);
  EXPECT_EQ(r->paths, (std::vector<std::string>{"a.policy", "b.policy", "more"}));
  EXPECT_FALSE(r->watch);
  EXPECT_EQ(r->poll_ms, 250);
  EXPECT_EQ(r->subject_flags["alice"], (std::vector<std::string>{"no-store", "minor"}));
  EXPECT_TRUE(r->deployment_commercial);
}

TEST(PolicyConfigTest, ErrorsNameFileLineAndKey) {
  EXPECT_EQ(Error("policy: 3"), "c.yaml:1:9: `policy` must be a mapping with `files` or `dir`");
  EXPECT_EQ(
      Error("policy: {}"),
      "c.yaml:1:9: `policy` needs `files` or `dir` (remove the key for the built-in default)");
  EXPECT_EQ(Error("policy: {dir: x, poll_ms: 10}"), "c.yaml:1:27: `poll_ms` must be 50..3600000");
  EXPECT_EQ(Error("policy: {dir: x, watch: maybe}"),
            "c.yaml:1:25: `watch` must be true or false, got `maybe`");
  EXPECT_EQ(Error("policy: {dir: x, subject_flags: [a]}"),
            "c.yaml:1:33: `subject_flags` must map subjects to lists");
  EXPECT_EQ(Error("policy: {dir: x, subject_flags: {a: b}}"),
            "c.yaml:1:37: flags of subject `a` must be a list");
  EXPECT_EQ(Error("policy: {dir: x, subject_flags: {a: [[b]]}}"),
            "c.yaml:1:38: a subject flag must be a string");
  EXPECT_EQ(Error("deployment: 1"), "c.yaml:1:13: `deployment` must be a mapping");
  EXPECT_EQ(Error("policy: {dir: x, approval_ttl_hours: 0}"),
            "c.yaml:1:38: `approval_ttl_hours` must be 1..720");
  EXPECT_EQ(Error("policy: {dir: x, cli_requires_key: perhaps}"),
            "c.yaml:1:36: `cli_requires_key` must be true or false, got `perhaps`");
}

TEST(PolicyConfigTest, ApprovalSettings) {
  auto r = ParsePolicyConfig(
      "c.yaml", YAML::Load("policy: {dir: x, approval_ttl_hours: 2, cli_requires_key: true}"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->approval_ttl_ms, 2 * 3'600'000);
  EXPECT_TRUE(r->cli_requires_key);
  auto d = ParsePolicyConfig("c.yaml", YAML::Load("policy: {dir: x}"));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->approval_ttl_ms, 24 * 3'600'000);
  EXPECT_FALSE(d->cli_requires_key);
}

}  // namespace
}  // namespace steward::policy
