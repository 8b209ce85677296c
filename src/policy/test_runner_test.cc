#include "policy/test_runner.h"

#include <gtest/gtest.h>

#include "policy/test_util.h"

namespace steward::policy {
namespace {

using testing::MustCompile;

const char* kPolicy = R"(
@id("users") permit (principal.role == "user");
@id("tag") obligate (principal.role == "user") when { context.stream } with store_payloads("hashes");
)";

TEST(TestRunnerTest, PassesAndFailsWithReadableDiff) {
  auto b = MustCompile(kPolicy);
  auto cases = ParseTestFile("t.json", R"J({"cases":[
    {"name":"user ok","input":{"principal":{"role":"user"}},"want_decision":"permit",
     "want_reasons":["users"],"want_obligations":[]},
    {"name":"wrong","input":{"principal":{"role":"user"},"context":{"stream":true}},
     "want_decision":"deny","want_reasons":["nope"],"want_obligations":["store_payloads(none)"],
     "want_errors":1}
  ]})J");
  ASSERT_TRUE(cases.ok()) << cases.status().message();
  TestReport report = RunTests(*b, *cases);
  EXPECT_EQ(report.passed, 1);
  EXPECT_EQ(report.failed, 1);
  EXPECT_EQ(report.text,
            "PASS user ok (t.json)\n"
            "FAIL wrong (t.json)\n"
            "    decision: want deny, got permit\n"
            "    reasons: want [nope], got [tag, users]\n"
            "      - nope   (wanted, missing)\n"
            "      + tag   (got, not wanted)\n"
            "      + users   (got, not wanted)\n"
            "    obligations: want [store_payloads(none)], got [store_payloads(hashes)]\n"
            "      - store_payloads(none)   (wanted, missing)\n"
            "      + store_payloads(hashes)   (got, not wanted)\n"
            "    errors: want 1, got 0\n"
            "1 passed, 1 failed\n");
}

TEST(TestRunnerTest, SingleCaseFile) {
  auto cases =
      ParseTestFile("one.json", R"({"input":{},"want_decision":"deny","description":"x"})");
  ASSERT_TRUE(cases.ok()) << cases.status().message();
  EXPECT_EQ(cases->size(), 1u);
  EXPECT_EQ((*cases)[0].name, "case 1");
}

TEST(TestRunnerTest, FileErrorsNameFileAndCase) {
  auto err = [](const char* text) {
    auto r = ParseTestFile("t.json", text);
    return r.ok() ? std::string() : r.status().message();
  };
  EXPECT_EQ(err("{"), "t.json: not valid JSON: incomplete JSON");
  EXPECT_EQ(err(R"({"cases":{}})"), "t.json: `cases` must be a list");
  EXPECT_EQ(err(R"({"cases":[]})"), "t.json: no test cases");
  EXPECT_EQ(err(R"({"cases":[], "extra":1})"),
            "t.json: unknown key `extra` (a test file is a case or {\"cases\": [...]})");
  EXPECT_EQ(err(R"({"name":"a","want_decision":"deny"})"), "t.json: case `a`: missing `input`");
  EXPECT_EQ(err(R"({"input":{}})"), "t.json: case 1: missing `want_decision`");
  EXPECT_EQ(err(R"({"input":{},"want_decision":"allow"})"),
            "t.json: case 1: `want_decision` must be permit, deny or review");
  EXPECT_EQ(err(R"({"input":{},"want_decison":"deny"})"),
            "t.json: case 1: unknown key `want_decison` (known: name, description, input, "
            "want_decision, want_reasons, want_obligations, want_errors)");
  EXPECT_EQ(err(R"({"input":{"principal":{"x":1}},"want_decision":"deny"})"),
            "t.json: case 1: input: unknown request attribute `principal.x` (known: key_id, name, "
            "role, team, authenticated)");
  EXPECT_EQ(err(R"({"input":{},"want_decision":"deny","want_reasons":"a"})"),
            "t.json: case 1: `want_reasons` must be a list of strings");
  EXPECT_EQ(err(R"({"input":{},"want_decision":"deny","want_errors":-1})"),
            "t.json: case 1: `want_errors` must be a non-negative integer");
}

}  // namespace
}  // namespace steward::policy
