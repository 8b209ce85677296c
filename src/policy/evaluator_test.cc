#include "policy/evaluator.h"

#include <gtest/gtest.h>

#include "policy/test_util.h"

namespace steward::policy {
namespace {

using testing::MustCompile;
using testing::MustRequest;

// True when `condition` holds for `request` under a single permit rule.
Verdict VerdictOf(const std::string& condition, const std::string& request) {
  auto b = MustCompile("permit when { " + condition + " };");
  if (!b) return Verdict::kDeny;
  return b->Authorize(MustRequest(request)).verdict;
}

bool Holds(const std::string& condition, const std::string& request = "{}") {
  return VerdictOf(condition, request) == Verdict::kPermit;
}

TEST(EvaluatorTest, AttributesAndDefaults) {
  const char* req = R"({"principal":{"role":"analyst","team":"risk"},"action":"chat.completions",
    "resource":{"name":"llama-3","tags":["eu","small"],"license":"Apache-2.0"},
    "context":{"tokens":{"prompt":100,"completion":20},"injection_score":0.75,"stream":true,
               "client_ip":"10.1.2.3","subject":"u42","subject_flags":["no-store"],
               "time":"2026-11-27T10:30:00Z",
               "findings":{"EMAIL_ADDRESS":{"count":2,"max_score":0.9}}}})";
  EXPECT_TRUE(Holds("principal.role == \"analyst\" && principal.team != \"ops\"", req));
  EXPECT_TRUE(Holds("action == \"chat.completions\"", req));
  EXPECT_TRUE(Holds("context.tokens.total == 120", req));
  EXPECT_TRUE(Holds("context.injection_score >= 0.75 && context.injection_score < 1", req));
  EXPECT_TRUE(Holds("context.stream", req));
  EXPECT_TRUE(Holds("context.findings.EMAIL_ADDRESS.count == 2", req));
  EXPECT_TRUE(Holds("context.findings[\"EMAIL_ADDRESS\"].max_score > 0.8", req));
  EXPECT_TRUE(Holds("context.findings.PERSON.count == 0", req));
  EXPECT_TRUE(Holds("context.findings has EMAIL_ADDRESS && !(context.findings has PERSON)", req));
  EXPECT_TRUE(Holds("\"EMAIL_ADDRESS\" in context.findings", req));
  EXPECT_TRUE(Holds("context.findings_total == 2 && context.findings.size() == 1", req));
  EXPECT_TRUE(Holds("context.finding_types.contains(\"EMAIL_ADDRESS\")", req));
  EXPECT_TRUE(Holds("context.subject_flags has \"no-store\"", req));
  EXPECT_TRUE(
      Holds("\"eu\" in resource.tags && resource.tags.containsAll([\"eu\", \"small\"])", req));
  EXPECT_FALSE(Holds("resource.tags.containsAll([\"eu\", \"big\"])", req));
  EXPECT_TRUE(Holds("resource has license && !(resource has version)", req));
  EXPECT_TRUE(Holds("resource.version == \"\"", req));  // absent strings read as ""
  EXPECT_TRUE(Holds("context.time.hour == 10 && context.time.weekday == 5", req));
  EXPECT_TRUE(Holds("context.client_ip.inCidr(\"10.0.0.0/8\")", req));
  EXPECT_FALSE(Holds("context.client_ip.inCidr(\"192.168.0.0/16\")", req));
  EXPECT_TRUE(Holds("context.subject.matches(\"^u[0-9]+$\")", req));
  EXPECT_FALSE(Holds("context.subject.matches(\"^U\")", req));
  EXPECT_TRUE(Holds("context.subject.matches(\"(?i)^U4\")", req));
  EXPECT_TRUE(Holds("resource.name.startsWith(\"llama\") && resource.name.endsWith(\"-3\")", req));
  EXPECT_TRUE(Holds("resource.name.contains(\"ma-\") && resource.name.size() == 7", req));
  EXPECT_TRUE(Holds("context.injection_score == -1"));  // not screened
}

TEST(EvaluatorTest, ArithmeticAndLogic) {
  const char* req = R"({"context":{"tokens":{"prompt":7,"completion":3}}})";
  EXPECT_TRUE(Holds("context.tokens.prompt * 2 - context.tokens.completion == 11", req));
  EXPECT_TRUE(Holds("context.tokens.prompt / 2 == 3 && context.tokens.prompt % 2 == 1", req));
  EXPECT_TRUE(Holds("context.tokens.prompt / 2.0 == 3.5", req));
  EXPECT_TRUE(Holds("-context.tokens.prompt < 0", req));
  EXPECT_TRUE(Holds("[1, 2, 3].contains(context.tokens.completion)", req));
  EXPECT_TRUE(Holds("context.tokens.prompt in [7, 8]", req));
  EXPECT_TRUE(Holds("not context.stream or context.tokens.prompt > 100", req));
  EXPECT_FALSE(Holds("context.stream and context.tokens.prompt > 0", req));
}

TEST(EvaluatorTest, RunTimeErrorsSkipTheRuleAndAreReported) {
  auto b = MustCompile(R"(
@id("overflow") permit when { context.tokens.prompt * 9223372036854775807 > 0 };
@id("divzero") forbid when { 10 / context.tokens.completion > 1 };
@id("ok") permit when { context.tokens.prompt > 0 };
)");
  ASSERT_NE(b, nullptr);
  Decision d = b->Authorize(MustRequest(R"({"context":{"tokens":{"prompt":7,"completion":0}}})"));
  EXPECT_EQ(d.verdict, Verdict::kPermit);
  EXPECT_EQ(d.reasons, std::vector<std::string>{"ok"});
  ASSERT_EQ(d.errors.size(), 2u);
  EXPECT_EQ(d.errors[0], "overflow: test.policy:2:53: integer overflow in `*`");
  EXPECT_EQ(d.errors[1], "divzero: test.policy:3:33: division by zero");
}

TEST(EvaluatorTest, ShortCircuitAvoidsErrors) {
  EXPECT_TRUE(Holds("context.tokens.completion == 0 || 1 / context.tokens.completion > 0"));
}

TEST(EvaluatorTest, RegexIsLinearTime) {
  // A pattern that makes backtracking engines explode on a long non-matching input.
  std::string subject(50000, 'a');
  auto b = MustCompile("permit when { context.subject.matches(\"^(a+)+$\") };");
  ASSERT_NE(b, nullptr);
  Request r;
  r.SetString(Attr::kContextSubject, subject + "!");
  EXPECT_EQ(b->Authorize(r).verdict, Verdict::kDeny);
  r.SetString(Attr::kContextSubject, subject);
  EXPECT_EQ(b->Authorize(r).verdict, Verdict::kPermit);
}

TEST(EvaluatorTest, Ipv4Parsing) {
  uint32_t a;
  EXPECT_TRUE(ParseIpv4("1.2.3.4", &a));
  EXPECT_EQ(a, 0x01020304u);
  EXPECT_FALSE(ParseIpv4("1.2.3", &a));
  EXPECT_FALSE(ParseIpv4("1.2.3.256", &a));
  EXPECT_FALSE(ParseIpv4("1.2.3.4.5", &a));
  EXPECT_FALSE(ParseIpv4("::1", &a));
  EXPECT_FALSE(ParseIpv4("", &a));
}

TEST(RequestTest, JsonErrorsNameTheAttribute) {
  auto bad = [](const char* json) {
    auto r = RequestFromJsonText(json);
    return r.ok() ? std::string() : r.status().message();
  };
  EXPECT_EQ(bad("[]"), "a policy request must be a JSON object");
  EXPECT_EQ(bad("{"), "request is not valid JSON: incomplete JSON");
  EXPECT_EQ(bad(R"({"principal":{"rol":"x"}})"),
            "unknown request attribute `principal.rol` (known: key_id, name, role, team, "
            "authenticated)");
  EXPECT_EQ(bad(R"({"subject":"x"})"),
            "unknown request attribute `subject` (known: principal, action, resource, context)");
  EXPECT_EQ(bad(R"({"context":{"stream":"yes"}})"),
            "request attribute `context.stream` must be true or false");
  EXPECT_EQ(bad(R"({"context":{"tokens":{"prompt":1.5}}})"),
            "request attribute `context.tokens.prompt` must be an integer");
  EXPECT_EQ(bad(R"({"resource":{"tags":[1]}})"),
            "request attribute `resource.tags` must be a list of strings");
  EXPECT_EQ(bad(R"({"context":{"findings":{"X":{"count":-1}}}})"),
            "request attribute `context.findings.X.count` must be a non-negative integer");
  EXPECT_EQ(bad(R"({"context":{"findings":{"X":{"n":1}}}})"),
            "unknown request attribute `context.findings.X.n` (known: count, max_score)");
  EXPECT_EQ(bad(R"({"context":{"finding_types":["X"]}})"),
            "request attribute `context.finding_types` is derived from context.findings; set "
            "that instead");
  EXPECT_EQ(bad(R"({"context":{"time":"yesterday"}})"),
            "request attribute `context.time` must be an ISO 8601 UTC time like "
            "2026-01-31T09:30:00Z or an object");
  EXPECT_EQ(bad(R"({"principal":"alice"})"), "request attribute `principal` must be an object");
}

TEST(RequestTest, JsonRoundTrip) {
  const char* json = R"({"principal":{"role":"user"},"action":"embeddings",
    "context":{"findings":{"PERSON":{"count":1,"max_score":0.5}},"subject_flags":["b","a"]}})";
  Request r = MustRequest(json);
  auto again = RequestFromJson(RequestToJson(r));
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->String(Attr::kAction), "embeddings");
  EXPECT_EQ(again->Set(Attr::kContextSubjectFlags), (std::vector<std::string>{"a", "b"}));
  ASSERT_NE(again->Finding("PERSON"), nullptr);
  EXPECT_EQ(again->Finding("PERSON")->count, 1);
}

TEST(RequestTest, FromContextCarriesGatewayState) {
  RequestContext ctx;
  ctx.endpoint = Endpoint::kChatCompletions;
  ctx.principal = {true, "k1", "alice", "analyst", "risk"};
  ctx.model = "llama";
  ctx.model_license = "CC-BY-NC-4.0";
  ctx.model_tags = {"eu"};
  ctx.resource_attrs["residency"] = "eu";
  ctx.findings.push_back({"EMAIL_ADDRESS", "input", 2, 0.9, "redact"});
  ctx.findings.push_back({"PERSON", "output", 1, 0.9, "redact"});
  ctx.injection_score = 0.2;
  ctx.request_bytes = 321;
  ctx.start_unix_ms = 1'700'000'000'000;
  ctx.subject_flags = {"no-store"};
  ctx.body["max_tokens"] = 50;
  Request r = RequestFromContext(ctx, {.deployment_commercial = true});
  EXPECT_EQ(r.String(Attr::kPrincipalRole), "analyst");
  EXPECT_EQ(r.String(Attr::kAction), "chat.completions");
  EXPECT_TRUE(r.Has(Attr::kResourceCommercialUse));
  EXPECT_FALSE(r.Bool(Attr::kResourceCommercialUse));
  EXPECT_EQ(r.String(Attr::kResourceResidency), "eu");
  EXPECT_EQ(r.Long(Attr::kContextFindingsTotal), 2);  // output findings are not inputs
  EXPECT_EQ(r.Finding("PERSON"), nullptr);
  EXPECT_DOUBLE_EQ(r.Double(Attr::kContextInjectionScore), 0.2);
  EXPECT_EQ(r.Long(Attr::kContextRequestBytes), 321);
  EXPECT_EQ(r.Long(Attr::kContextTokensCompletion), 50);
  EXPECT_TRUE(r.Bool(Attr::kContextDeploymentCommercial));
  EXPECT_EQ(r.Set(Attr::kContextSubjectFlags), std::vector<std::string>{"no-store"});
  EXPECT_EQ(r.String(Attr::kContextPlane), "data");
}

TEST(RequestTest, LicenseCommercialUse) {
  EXPECT_EQ(LicenseCommercialUse("Apache-2.0"), CommercialUse::kYes);
  EXPECT_EQ(LicenseCommercialUse("CC-BY-NC-SA-4.0"), CommercialUse::kNo);
  EXPECT_EQ(LicenseCommercialUse("unknown"), CommercialUse::kUnknown);
}

}  // namespace
}  // namespace steward::policy
