#include "policy/authorizer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "policy/explain.h"
#include "policy/test_util.h"

namespace steward::policy {
namespace {

using testing::MustCompile;
using testing::MustRequest;

const char* kPolicy = R"(
@id("users") permit (principal.role in ["user", "admin"]);
@id("analysts") permit (principal.role == "analyst")
  with redact(["EMAIL_ADDRESS"], "mask");
@id("analysts-person") obligate (principal.role == "analyst")
  when { context.findings has PERSON }
  with redact(["PERSON"], "mask"), store_payloads("hashes");
@id("no-store") obligate when { context.subject_flags has "no-store" }
  with store_payloads("none");
@id("small") obligate (resource.name == "big") with route("small@2"), limit("max_tokens", 100);
@id("tighter") obligate (resource.name == "big") when { principal.role == "analyst" }
  with limit("max_tokens", 50), route("other@1");
@id("secrets") @message("secrets are never sent to a model")
forbid when { context.finding_types.containsAny(["AWS_ACCESS_KEY", "PRIVATE_KEY"]) };
@id("injection") permit (principal.role in ["user", "admin", "analyst"])
  when { context.injection_score >= 0.8 } with require_review("possible prompt injection");
)";

TEST(AuthorizerTest, DefaultDenyWithoutMatchingPermit) {
  auto b = MustCompile(kPolicy);
  Decision d = b->Authorize(MustRequest(R"({"principal":{"role":"guest"}})"));
  EXPECT_EQ(d.verdict, Verdict::kDeny);
  EXPECT_TRUE(d.reasons.empty());
  EXPECT_EQ(d.message, "no policy rule permits this request (default deny)");
  EXPECT_EQ(d.bundle_hash, b->hash());
}

TEST(AuthorizerTest, PermitCarriesReasons) {
  auto b = MustCompile(kPolicy);
  Decision d = b->Authorize(MustRequest(R"({"principal":{"role":"user"}})"));
  EXPECT_EQ(d.verdict, Verdict::kPermit);
  EXPECT_EQ(d.reasons, std::vector<std::string>{"users"});
  EXPECT_TRUE(d.obligations.Render().empty());
}

TEST(AuthorizerTest, ForbidOverridesPermit) {
  auto b = MustCompile(kPolicy);
  Decision d = b->Authorize(MustRequest(
      R"({"principal":{"role":"user"},"context":{"findings":{"PRIVATE_KEY":{"count":1,"max_score":1}}}})"));
  EXPECT_EQ(d.verdict, Verdict::kDeny);
  EXPECT_EQ(d.reasons, std::vector<std::string>{"secrets"});
  EXPECT_EQ(d.message, "denied by policy rule `secrets`: secrets are never sent to a model");
  EXPECT_TRUE(d.obligations.Render().empty());
}

TEST(AuthorizerTest, ObligationsOfAllMatchingRulesCombine) {
  auto b = MustCompile(kPolicy);
  Decision d = b->Authorize(MustRequest(R"({"principal":{"role":"analyst"},
      "resource":{"name":"big"},
      "context":{"subject_flags":["no-store"],
                 "findings":{"PERSON":{"count":1,"max_score":0.8}}}})"));
  EXPECT_EQ(d.verdict, Verdict::kPermit);
  EXPECT_EQ(d.reasons, (std::vector<std::string>{"analysts", "analysts-person", "no-store", "small",
                                                 "tighter"}));
  EXPECT_EQ(d.obligations.Render(),
            (std::vector<std::string>{"redact(EMAIL_ADDRESS|PERSON,mask)", "store_payloads(none)",
                                      "route(small@2)", "limit(max_tokens=50)"}));
  ASSERT_EQ(d.errors.size(), 1u);  // the conflicting route is reported
  EXPECT_NE(d.errors[0].find("conflicting route(other@1) ignored"), std::string::npos);
}

TEST(AuthorizerTest, ObligateAloneDoesNotPermit) {
  auto b = MustCompile(kPolicy);
  Decision d = b->Authorize(
      MustRequest(R"({"principal":{"role":"guest"},"context":{"subject_flags":["no-store"]}})"));
  EXPECT_EQ(d.verdict, Verdict::kDeny);
}

TEST(AuthorizerTest, RequireReviewYieldsReview) {
  auto b = MustCompile(kPolicy);
  Decision d = b->Authorize(
      MustRequest(R"({"principal":{"role":"user"},"context":{"injection_score":0.9}})"));
  EXPECT_EQ(d.verdict, Verdict::kReview);
  EXPECT_EQ(d.message,
            "request needs human review (policy rule `injection`): possible prompt injection");
  EXPECT_EQ(HeaderValue(d).substr(0, 39), "review; rules=users,injection; obligati");
}

TEST(AuthorizerTest, IndexSelectsOnlyApplicableRules) {
  // 3000 rules over distinct roles/models; only one applies.
  std::string text;
  for (int i = 0; i < 3000; ++i) {
    text += "@id(\"r" + std::to_string(i) + "\") permit (principal.role == \"role" +
            std::to_string(i % 100) + "\", resource.name == \"model" + std::to_string(i) +
            "\") when { context.tokens.total < 1000 };\n";
  }
  auto b = MustCompile(text);
  ASSERT_NE(b, nullptr);
  Decision d = b->Authorize(MustRequest(
      R"({"principal":{"role":"role42"},"resource":{"name":"model2042"},"context":{"tokens":{"prompt":5}}})"));
  EXPECT_EQ(d.verdict, Verdict::kPermit);
  EXPECT_EQ(d.reasons, std::vector<std::string>{"r2042"});
  d = b->Authorize(
      MustRequest(R"({"principal":{"role":"role43"},"resource":{"name":"model2042"}})"));
  EXPECT_EQ(d.verdict, Verdict::kDeny);
}

TEST(AuthorizerTest, BundleHashDependsOnContent) {
  auto a = MustCompile("permit;");
  auto b = MustCompile("permit ;");
  auto c = MustCompile("permit;");
  EXPECT_NE(a->hash(), b->hash());
  EXPECT_EQ(a->hash(), c->hash());
  EXPECT_EQ(a->hash().size(), 64u);
}

TEST(AuthorizerTest, LoadFromDirectoryAndErrors) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("policy_load_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "b.policy") << "@id(\"b\") permit (principal.role == \"user\");\n";
  std::ofstream(dir / "a.policy") << "const X = 1;\n";
  std::ofstream(dir / "notes.txt") << "not a policy";
  auto bundle = LoadBundle({dir.string()});
  ASSERT_TRUE(bundle.ok()) << bundle.status().message();
  EXPECT_EQ((*bundle)->files().size(), 2u);
  EXPECT_EQ((*bundle)->files()[0], (dir / "a.policy").string());
  EXPECT_EQ(LoadBundle({(dir / "missing.policy").string()}).status().message(),
            "policy file " + (dir / "missing.policy").string() + " does not exist");
  fs::create_directories(dir / "empty");
  EXPECT_EQ(LoadBundle({(dir / "empty").string()}).status().message(),
            "no .policy files in " + (dir / "empty").string());
  std::ofstream(dir / "c.policy") << "permit when { nope };\n";
  EXPECT_EQ(LoadBundle({dir.string()}).status().message(),
            (dir / "c.policy").string() +
                ":1:15: unknown name `nope` (expected principal, action, resource, context or a "
                "constant)");
  fs::remove_all(dir);
}

TEST(ExplainTest, JsonAndText) {
  auto b = MustCompile(kPolicy);
  Decision d = b->Authorize(MustRequest(R"({"principal":{"role":"analyst"}})"));
  auto j = DecisionToJson(d);
  EXPECT_EQ(j["decision"].as_string(), "permit");
  EXPECT_EQ(j["obligations"].as_array().at(0).as_string(), "redact(EMAIL_ADDRESS,mask)");
  std::string text = ExplainText(d, *b);
  EXPECT_NE(text.find("analysts (permit at test.policy:3:17)"), std::string::npos) << text;
}

}  // namespace
}  // namespace steward::policy

namespace steward::policy {
namespace {

TEST(AuthorizerTest, IndexedAndUnindexedDecisionsAgree) {
  std::string text = "const X = [\"a\", \"b\"];\n";
  const char* roles[] = {"user", "admin", "analyst", "guest"};
  const char* actions[] = {"chat.completions", "embeddings", "keys.create"};
  for (int i = 0; i < 200; ++i) {
    std::string head;
    if (i % 3 != 0) head += std::string("principal.role == \"") + roles[i % 4] + "\", ";
    if (i % 5 != 0) head += std::string("action in [\"") + actions[i % 3] + "\"], ";
    if (i % 7 == 0) head += "resource.name in [\"m" + std::to_string(i % 11) + "\", \"m1\"], ";
    head += "context.tokens.total > " + std::to_string(i % 13);
    const char* effect = i % 9 == 0 ? "forbid" : i % 4 == 0 ? "obligate" : "permit";
    text +=
        "@id(\"r" + std::to_string(i) + "\") " + effect + " (" + head + ")" +
        (std::string(effect) == "obligate" ? " with limit(\"rpm\", " + std::to_string(i + 1) + ")"
                                           : "") +
        ";\n";
  }
  auto b = Bundle::Compile({{"gen.policy", text}});
  ASSERT_TRUE(b.ok()) << b.status().message();
  unsigned seed = 7;
  auto next = [&seed] { return seed = seed * 1103515245 + 12345, (seed >> 16) & 0x7fff; };
  for (int n = 0; n < 500; ++n) {
    Request r;
    r.SetString(Attr::kPrincipalRole, roles[next() % 4]);
    r.SetString(Attr::kAction, actions[next() % 3]);
    r.SetString(Attr::kResourceName, "m" + std::to_string(next() % 12));
    r.SetLong(Attr::kContextTokensPrompt, next() % 15);
    r.Finish();
    Decision a = (*b)->Authorize(r), u = (*b)->AuthorizeUnindexed(r);
    ASSERT_EQ(a.verdict, u.verdict);
    ASSERT_EQ(a.reasons, u.reasons);
    ASSERT_EQ(a.obligations.Render(), u.obligations.Render());
  }
}

}  // namespace
}  // namespace steward::policy
