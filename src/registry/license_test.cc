#include "registry/license.h"

#include <gtest/gtest.h>

namespace steward::registry {
namespace {

TEST(LicenseTest, NormalisesCommonSpellings) {
  EXPECT_EQ(NormalizeLicense("apache-2.0").id, "Apache-2.0");
  EXPECT_EQ(NormalizeLicense("Apache License 2.0").id, "Apache-2.0");
  EXPECT_EQ(NormalizeLicense("APACHE-2.0").id, "Apache-2.0");
  EXPECT_TRUE(NormalizeLicense("mit").spdx);
  EXPECT_EQ(NormalizeLicense("gpl-3.0").id, "GPL-3.0-only");
  EXPECT_EQ(NormalizeLicense("llama3.1").id, "LicenseRef-Llama-3.1");
  EXPECT_FALSE(NormalizeLicense("llama3.1").spdx);
  EXPECT_TRUE(NormalizeLicense("cc-by-nc-4.0").non_commercial);
  EXPECT_FALSE(NormalizeLicense("cc-by-4.0").non_commercial);
}

TEST(LicenseTest, UnknownStaysUnknown) {
  LicenseInfo li = NormalizeLicense("my own license v7");
  EXPECT_EQ(li.id, "unknown");
  EXPECT_EQ(li.raw, "my own license v7");
  EXPECT_EQ(NormalizeLicense("").id, "unknown");
  EXPECT_EQ(NormalizeLicense("other").id, "unknown");
  EXPECT_EQ(NormalizeLicense("LicenseRef-Acme-Internal").id, "LicenseRef-Acme-Internal");
}

Result<LicensePolicy> PolicyFrom(const std::string& yaml) {
  auto cfg = config::LoadConfigString(yaml, "test.yaml");
  if (!cfg.ok()) return cfg.status();
  return LicensePolicy::FromConfig(*cfg);
}

TEST(LicenseTest, PolicyOrderDeniedCommercialApprovalAllowed) {
  auto policy = PolicyFrom(R"(
licenses:
  allowed: [apache-2.0, mit, llama3]
  denied: [agpl-3.0]
  require_approval: [llama3]
  unknown: deny
deployment:
  commercial: true
)");
  ASSERT_TRUE(policy.ok()) << policy.status().ToString();
  EXPECT_EQ(policy->Evaluate(NormalizeLicense("MIT")).verdict, LicenseVerdict::kAllow);
  auto agpl = policy->Evaluate(NormalizeLicense("agpl-3.0"));
  EXPECT_EQ(agpl.verdict, LicenseVerdict::kDeny);
  EXPECT_NE(agpl.reason.find("licenses.denied"), std::string::npos);
  auto nc = policy->Evaluate(NormalizeLicense("cc-by-nc-4.0"));
  EXPECT_EQ(nc.verdict, LicenseVerdict::kDeny);
  EXPECT_NE(nc.reason.find("deployment.commercial"), std::string::npos);
  auto llama = policy->Evaluate(NormalizeLicense("llama3"));
  EXPECT_EQ(llama.verdict, LicenseVerdict::kRequireApproval);
  auto bsd = policy->Evaluate(NormalizeLicense("bsd-3-clause"));
  EXPECT_EQ(bsd.verdict, LicenseVerdict::kDeny);
  EXPECT_NE(bsd.reason.find("licenses.allowed"), std::string::npos);
  EXPECT_EQ(policy->Evaluate(NormalizeLicense("")).verdict, LicenseVerdict::kDeny);
}

TEST(LicenseTest, DefaultsAllowKnownAndRequireApprovalForUnknown) {
  auto policy = PolicyFrom("data_dir: ./var\n");
  ASSERT_TRUE(policy.ok());
  EXPECT_EQ(policy->Evaluate(NormalizeLicense("cc-by-nc-4.0")).verdict, LicenseVerdict::kAllow);
  EXPECT_EQ(policy->Evaluate(NormalizeLicense("???")).verdict, LicenseVerdict::kRequireApproval);
}

TEST(LicenseTest, BadConfigNamesTheLine) {
  auto policy = PolicyFrom("licenses:\n  denied: [not-a-license-xyz]\n");
  ASSERT_FALSE(policy.ok());
  EXPECT_NE(policy.status().message().find("test.yaml:2"), std::string::npos)
      << policy.status().message();
  auto typo = PolicyFrom("licenses:\n  alowed: [mit]\n");
  ASSERT_FALSE(typo.ok());
  EXPECT_NE(typo.status().message().find("alowed"), std::string::npos);
}

}  // namespace
}  // namespace steward::registry
