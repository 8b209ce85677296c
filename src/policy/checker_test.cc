#include "policy/checker.h"

#include <gtest/gtest.h>

#include "policy/schema.h"
#include "policy/test_util.h"

namespace steward::policy {
namespace {

using testing::CompileError;
using testing::MustCompile;

TEST(SchemaTest, TableOrderMatchesEnum) {
  ASSERT_EQ(Schema().size(), static_cast<size_t>(kNumAttrs));
  for (size_t i = 0; i < Schema().size(); ++i) {
    EXPECT_EQ(static_cast<size_t>(Schema()[i].attr), i) << Schema()[i].path;
  }
}

TEST(CheckerTest, AcceptsWellTypedRules) {
  auto b = MustCompile(R"(
const LIMIT = 1000;
const SECRETS = ["AWS_ACCESS_KEY", "PRIVATE_KEY"];
@id("ok") permit (principal.role in ["user", "admin"])
  when { context.tokens.total + 10 <= LIMIT * 2 && context.injection_score < 0.5 }
  when { context.findings["EMAIL_ADDRESS"].max_score >= 0 && context.findings.PERSON.count == 0 }
  when { resource.name.startsWith("llama") || resource.tags.containsAny(["x"]) }
  when { context.subject_flags has "no-store" || !(resource has license) }
  when { context.client_ip.inCidr("10.0.0.0/8") || context.subject.matches("^u[0-9]+$") }
  when { "EMAIL_ADDRESS" in context.findings || context.finding_types.containsAny(SECRETS) }
  when { context.findings.size() < 3 && principal.name.size() > 0 };
)");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->rules().size(), 1u);
}

struct ErrorCase {
  const char* source;
  const char* error;
};

TEST(CheckerTest, ErrorsNameFileLineColumn) {
  const ErrorCase cases[] = {
      {"permit when { principal.rol == \"x\" };",
       "test.policy:1:25: unknown attribute `principal.rol` (principal has: key_id, name, role, "
       "team, authenticated)"},
      {"permit when { principal.role > 3 };",
       "test.policy:1:30: cannot compare String > Long (ordering needs numbers)"},
      {"permit when { principal.role == 3 };", "test.policy:1:30: cannot compare String == Long"},
      {"permit when { context.tokens.total };",
       "test.policy:1:30: rule condition must be Bool, got Long"},
      {"permit when { 1 > 2 };",
       "test.policy:1:1: rule `test.policy:1` can never apply: its condition is always false"},
      {"permit (principal.role == \"a\", principal.role == \"b\");",
       "test.policy:1:47: rule `test.policy:1` can never apply: no value of principal.role "
       "satisfies all its constraints"},
      {"@id(\"f\") forbid (action == \"chat.completions\");\n"
       "@id(\"p\") permit (action == \"chat.completions\", principal.role == \"user\");",
       "test.policy:2:10: rule `p` can never apply: forbid `f` at test.policy:1:10 always "
       "overrides it"},
      {"@id(\"a\") permit;\n@id(\"a\") permit when { context.stream };",
       "test.policy:2:10: rule id `a` is already used at test.policy:1:10"},
      {"permit when { context.subject.matches(\"(a)\\\\1\") };",
       "test.policy:1:39: invalid pattern \"(a)\\1\": Back-references are unsupported."},
      {"permit when { context.subject.matches(context.subject) };",
       "test.policy:1:47: `matches` needs a string literal pattern"},
      {"permit when { foo };",
       "test.policy:1:15: unknown name `foo` (expected principal, action, resource, context or a "
       "constant)"},
      {"permit when { context.stream.x };",
       "test.policy:1:30: attribute `x` of a Bool: only records and findings have attributes"},
      {"permit when { context.findings.email.count > 0 };",
       "test.policy:1:32: entity type `email` must be upper snake case, e.g. EMAIL_ADDRESS"},
      {"permit when { context.findings.EMAIL.total > 0 };",
       "test.policy:1:38: unknown finding attribute `total` (known: count, max_score)"},
      {"permit when { principal.role.lower() == \"x\" };",
       "test.policy:1:30: unknown method `lower` (known: startsWith, endsWith, contains, "
       "containsAny, containsAll, matches, size, inCidr)"},
      {"permit when { context.stream.startsWith(\"x\") };",
       "test.policy:1:30: `startsWith` needs a String, got Bool"},
      {"permit when { principal.role.startsWith() };",
       "test.policy:1:30: `startsWith` takes 1 argument, got 0"},
      {"permit when { [1, \"a\"].size() > 0 };", "test.policy:1:19: list mixes Long and String"},
      {"permit when { principal.role in [principal.team] };",
       "test.policy:1:44: list elements must be string or integer literals (or constants)"},
      {"permit when { 3 in [\"a\"] };",
       "test.policy:1:17: cannot look for a Long in a Set<String>"},
      {"permit when { \"a\" in principal.role };",
       "test.policy:1:32: right side of `in` must be a list or set, got String"},
      {"permit when { context.stream has x };",
       "test.policy:1:30: `has` needs a record, context.findings or a set of strings, got Bool"},
      {"permit when { resource has colour };",
       "test.policy:1:24: unknown attribute `resource.colour` after `has` (resource has: name, "
       "version, state, license, commercial_use, tags, residency, digest, role)"},
      {"permit when { context.tokens.total / 0 > 1 && 1 / 0 > 0 };",
       "test.policy:1:49: constant expression fails: division by zero"},
      {"permit when { not 3 };", "test.policy:1:19: `not` needs Bool, got Long"},
      {"permit when { -\"a\" == \"b\" };",
       "test.policy:1:16: unary `-` needs a number, got String"},
      {"permit when { \"a\" + 1 == 2 };", "test.policy:1:15: `+` needs numbers, got String"},
      {"permit when { principal.role[\"x\"] == \"y\" };",
       "test.policy:1:29: only context.findings can be indexed, not a String"},
      {"permit when { context.client_ip.inCidr(\"10.0.0.0/33\") };",
       "test.policy:1:40: invalid IPv4 CIDR \"10.0.0.0/33\" (want a.b.c.d/n)"},
      {"forbid with redact([\"PERSON\"]);",
       "test.policy:1:13: forbid rules cannot carry obligations (`with`)"},
      {"obligate when { context.stream };",
       "test.policy:1:1: obligate rule `test.policy:1` has no obligations (`with ...`)"},
      {"permit with redact([\"PERSON\"], \"blur\");",
       "test.policy:1:32: `redact`: `blur` is not one of mask, redact, hash, pseudonymize"},
      {"permit with redact([]);",
       "test.policy:1:20: `redact` argument 1 must be a non-empty list of entity types"},
      {"permit with store_payloads(\"some\");",
       "test.policy:1:28: `store_payloads`: `some` is not one of none, hashes, full"},
      {"permit with limit(\"max_tokens\", 0);",
       "test.policy:1:33: `limit` argument 2 must be a positive integer"},
      {"permit with route(\"@v1\");",
       "test.policy:1:19: `route` wants \"model\" or \"model@version\", got \"@v1\""},
      {"permit with require_review();",
       "test.policy:1:13: `require_review` takes 1 arguments, got 0"},
      {"permit with require_approvals(11);",
       "test.policy:1:31: `require_approvals` needs an integer 1..10"},
      {"permit with notify(\"x\");",
       "test.policy:1:13: unknown obligation `notify` (known: redact, require_review, route, "
       "limit, store_payloads, require_approvals)"},
      {"@owner(\"a\") @owner(\"b\") permit;", "test.policy:1:13: annotation @owner given twice"},
      {"@ide(\"a\") permit;",
       "test.policy:1:1: unknown annotation @ide (known: id, message, description, owner)"},
      {"@id(\"a b\") permit;", "test.policy:1:1: @id may contain only letters, digits and - _ . :"},
      {"const X = 1; const X = 2;", "test.policy:1:14: constant `X` is defined twice"},
      {"const X = principal.role;",
       "test.policy:1:21: constant `X` must be a literal (string, number, bool or list of "
       "literals)"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(CompileError(c.source), c.error) << c.source;
  }
}

TEST(CheckerTest, ReportsErrorsOfEveryRule) {
  std::string err = CompileError("permit when { a };\npermit when { b };");
  EXPECT_NE(err.find("test.policy:1:15"), std::string::npos) << err;
  EXPECT_NE(err.find("test.policy:2:15"), std::string::npos) << err;
}

TEST(CheckerTest, FoldsConstantsAndExtractsScope) {
  auto b = MustCompile(
      "const R = \"analyst\";\n"
      "permit (principal.role == R, action in [\"chat.completions\", \"completions\"]) when { 2 > "
      "1 };");
  ASSERT_NE(b, nullptr);
  const Rule& r = *b->rules()[0];
  EXPECT_EQ(r.condition->kind, ExprKind::kAnd);
  EXPECT_TRUE(r.scope.constrained[static_cast<int>(Dim::kRole)]);
  EXPECT_EQ(r.scope.values[static_cast<int>(Dim::kAction)],
            (std::vector<std::string>{"chat.completions", "completions"}));
  EXPECT_FALSE(r.scope.constrained[static_cast<int>(Dim::kModel)]);
  EXPECT_FALSE(r.scope.residual);
}

TEST(CheckerTest, ForbidWithConditionDoesNotShadow) {
  EXPECT_EQ(CompileError("forbid (action == \"embeddings\") when { context.stream };\n"
                         "permit (action == \"embeddings\");"),
            "");
}

}  // namespace
}  // namespace steward::policy
