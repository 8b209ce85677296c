#include "policy/parser.h"

#include <gtest/gtest.h>

#include "policy/lexer.h"

namespace steward::policy {
namespace {

std::string ParseErrorOf(const std::string& text) {
  PolicyFile f;
  ParseError err;
  if (ParseFile(text, "p.policy", &f, &err)) return "";
  return err.ToString();
}

TEST(LexerTest, TokenizesOperatorsStringsAndNumbers) {
  std::vector<Token> tokens;
  LexError err;
  ASSERT_TRUE(Lex("a.b >= 10 && \"x\\\"y\" != 2.5 // comment\n!", "f", &tokens, &err));
  ASSERT_EQ(tokens.size(), 11u);
  EXPECT_EQ(tokens[3].kind, TokenKind::kGe);
  EXPECT_EQ(tokens[4].long_value, 10);
  EXPECT_EQ(tokens[6].text, "x\"y");
  EXPECT_EQ(tokens[8].double_value, 2.5);
  EXPECT_EQ(tokens[9].kind, TokenKind::kBang);
  EXPECT_EQ(tokens[9].loc.line, 2);
  EXPECT_EQ(tokens[10].kind, TokenKind::kEnd);
}

TEST(LexerTest, ErrorsCarryLocation) {
  EXPECT_EQ(ParseErrorOf("permit\n  when { \"abc }"), "p.policy:2:10: unterminated string");
  EXPECT_EQ(ParseErrorOf("permit when { a & b };"),
            "p.policy:1:17: unexpected `&` (did you mean `&&`?)");
  EXPECT_EQ(ParseErrorOf("permit when { a | b };"),
            "p.policy:1:17: unexpected `|` (did you mean `||`?)");
  EXPECT_EQ(ParseErrorOf("permit when { 12ab };"), "p.policy:1:17: malformed number");
  EXPECT_EQ(ParseErrorOf("permit when { 99999999999999999999 };"),
            "p.policy:1:15: integer `99999999999999999999` is out of range");
  EXPECT_EQ(ParseErrorOf("permit when { \"\\q\" };"),
            "p.policy:1:16: unknown escape `\\q` in string");
  EXPECT_EQ(ParseErrorOf("permit when { $ };"), "p.policy:1:15: unexpected character `$`");
  EXPECT_EQ(ParseErrorOf("permit when { \x01 };"), "p.policy:1:15: unexpected character byte 0x01");
}

TEST(ParserTest, ParsesRuleWithAnnotationsHeadConditionsAndObligations) {
  PolicyFile f;
  ParseError err;
  ASSERT_TRUE(ParseFile(R"(
const ROLES = ["user", "admin"];
@id("r1") @message("hello")
permit (principal.role in ROLES, action == "chat.completions", resource)
  when { context.tokens.total < 1000 or context.stream }
  unless { context.findings.EMAIL_ADDRESS.count > 0 }
  with redact(["PERSON"], "mask"), store_payloads("none");
forbid;
)",
                        "p.policy", &f, &err))
      << err.ToString();
  ASSERT_EQ(f.constants.size(), 1u);
  ASSERT_EQ(f.rules.size(), 2u);
  const Rule& r = f.rules[0];
  EXPECT_EQ(r.effect, Effect::kPermit);
  ASSERT_EQ(r.annotations.size(), 2u);
  EXPECT_EQ(r.annotations[0].key, "id");
  ASSERT_NE(r.condition, nullptr);
  EXPECT_EQ(r.condition->kind, ExprKind::kAnd);
  ASSERT_EQ(r.obligations.size(), 2u);
  EXPECT_EQ(r.obligations[1].name, "store_payloads");
  EXPECT_EQ(f.rules[1].effect, Effect::kForbid);
  EXPECT_EQ(f.rules[1].condition, nullptr);
  EXPECT_EQ(f.rules[1].id, "p.policy:8");
}

TEST(ParserTest, PrecedenceNotBindsLooserThanComparison) {
  PolicyFile f;
  ParseError err;
  ASSERT_TRUE(ParseFile("permit when { not 1 + 2 * 3 == 7 and true || false };", "p", &f, &err));
  const Expr& e = *f.rules[0].condition;
  ASSERT_EQ(e.kind, ExprKind::kOr);
  const Expr& a = *e.kids[0];
  ASSERT_EQ(a.kind, ExprKind::kAnd);
  ASSERT_EQ(a.kids[0]->kind, ExprKind::kNot);
  const Expr& cmp = *a.kids[0]->kids[0];
  ASSERT_EQ(cmp.kind, ExprKind::kCompare);
  ASSERT_EQ(cmp.kids[0]->op, Op::kAdd);
  ASSERT_EQ(cmp.kids[0]->kids[1]->op, Op::kMul);
}

TEST(ParserTest, SyntaxErrors) {
  EXPECT_EQ(ParseErrorOf("allow;"),
            "p.policy:1:1: expected `permit`, `forbid`, `obligate` or `const`, found `allow`");
  EXPECT_EQ(ParseErrorOf("permit"),
            "p.policy:1:7: expected `when`, `unless`, `with` or `;` to end the rule, found end of "
            "file");
  EXPECT_EQ(ParseErrorOf("permit when x;"), "p.policy:1:13: expected `{` after `when`, found `x`");
  EXPECT_EQ(ParseErrorOf("permit when { (1 };"),
            "p.policy:1:18: expected `)` to close the parenthesis, found `}`");
  EXPECT_EQ(ParseErrorOf("permit when { a. };"),
            "p.policy:1:18: expected identifier after `.`, found `}`");
  EXPECT_EQ(ParseErrorOf("permit when { a has 3 };"),
            "p.policy:1:21: expected an attribute name or string after `has`, found `3`");
  EXPECT_EQ(ParseErrorOf("permit when { when };"),
            "p.policy:1:15: unexpected keyword `when` in an expression");
  EXPECT_EQ(ParseErrorOf("const when = 1;"),
            "p.policy:1:7: `when` is reserved and cannot name a constant");
  EXPECT_EQ(ParseErrorOf("const X 1;"),
            "p.policy:1:9: expected `=` after the constant name, found `1`");
  EXPECT_EQ(ParseErrorOf("@id(x) permit;"),
            "p.policy:1:5: expected string as the annotation value, found `x`");
  EXPECT_EQ(ParseErrorOf("permit with;"),
            "p.policy:1:12: expected identifier as an obligation name after `with`, found `;`");
  EXPECT_EQ(ParseErrorOf("permit when { a[1 };"),
            "p.policy:1:19: expected `]` to close the index, found `}`");
  EXPECT_EQ(ParseErrorOf("permit when { ; };"), "p.policy:1:15: expected an expression, found `;`");
}

TEST(ParserTest, DeepNestingIsRefusedNotCrashed) {
  std::string deep =
      "permit when { " + std::string(1000, '(') + "1" + std::string(1000, ')') + " };";
  EXPECT_NE(ParseErrorOf(deep).find("nested deeper than"), std::string::npos);
  std::string nots = "permit when { " + std::string(1000, '!') + "true };";
  EXPECT_NE(ParseErrorOf(nots).find("nested deeper than"), std::string::npos);
  std::string chain = "permit when { 1";
  for (int i = 0; i < 2000; ++i) chain += " + 1";
  chain += " > 0 };";
  EXPECT_NE(ParseErrorOf(chain).find("too deep"), std::string::npos);
}

}  // namespace
}  // namespace steward::policy
