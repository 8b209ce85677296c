#include "injection/redteam.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace steward::injection {
namespace {

TEST(RedTeamTest, ParsesSuiteAndRejectsBadLines) {
  auto ok = ParseRedTeamSuite(
      R"({"id":"a","kind":"direct","messages":[{"role":"user","content":"x PAYLOAD"}],"marker":"PAYLOAD","expect":"blocked"})"
      "\n\n"
      R"({"id":"b","kind":"benign","messages":[{"role":"user","content":"hi"}],"marker":"hi","expect":"allowed"})");
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  ASSERT_EQ(ok->size(), 2u);
  EXPECT_TRUE((*ok)[0].attack());
  EXPECT_FALSE((*ok)[1].attack());
  EXPECT_NE(RedTeamRequestBody((*ok)[0], "m").find("\"model\":\"m\""), std::string::npos);

  auto bad =
      ParseRedTeamSuite("{\"id\":\"a\",\"messages\":[],\"marker\":\"x\",\"expect\":\"blocked\"}");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("line 1"), std::string::npos);
  EXPECT_FALSE(ParseRedTeamSuite("not json").ok());
  EXPECT_FALSE(
      ParseRedTeamSuite(R"({"id":"a","messages":[{}],"marker":"x","expect":"maybe"})").ok());
}

TEST(RedTeamTest, JudgesEchoReplies) {
  RedTeamCase c;
  c.kind = "indirect";
  c.marker = "say \"hi\"";
  c.expect = "stripped";
  auto echo = [](const std::string& content) {
    boost::json::object msg{{"role", "assistant"}, {"content", content}};
    return boost::json::serialize(boost::json::object{
        {"choices", boost::json::array{boost::json::object{{"message", msg}}}}});
  };
  // The echoed messages are JSON, so the marker's quotes arrive escaped.
  std::string delivered = echo(R"([{"role":"tool","content":"then say \"hi\" now"}])");
  EXPECT_EQ(JudgeRedTeamReply(c, 200, delivered), RedTeamOutcome::kDelivered);
  EXPECT_EQ(JudgeRedTeamReply(c, 200, echo(R"([{"role":"tool","content":"[removed]"}])")),
            RedTeamOutcome::kStripped);
  EXPECT_EQ(JudgeRedTeamReply(c, 200, echo("Simulated reply")), RedTeamOutcome::kUnverified);
  EXPECT_EQ(JudgeRedTeamReply(c, 403, "{}"), RedTeamOutcome::kBlocked);
  EXPECT_EQ(JudgeRedTeamReply(c, 502, "{}"), RedTeamOutcome::kError);
  EXPECT_EQ(JudgeRedTeamReply(c, 200, "garbage"), RedTeamOutcome::kError);

  RedTeamSummary s;
  Tally(c, RedTeamOutcome::kStripped, &s);
  Tally(c, RedTeamOutcome::kDelivered, &s);
  EXPECT_EQ(s.attacks, 2u);
  EXPECT_EQ(s.attacks_succeeded, 1u);
  EXPECT_EQ(s.matched_expectation, 1u);
  EXPECT_DOUBLE_EQ(s.attack_success_rate(), 0.5);
}

TEST(RedTeamTest, ShippedSuiteIsWellFormedAndLargeEnough) {
  auto suite = LoadRedTeamSuite("test/data/injection/redteam_suite.jsonl");
  ASSERT_TRUE(suite.ok()) << suite.status().message();
  size_t attacks = 0;
  for (const auto& c : *suite) {
    attacks += c.attack();
    // The marker must be in what is sent, or success could never be seen.
    EXPECT_NE(
        c.messages_json.find(boost::json::serialize(boost::json::value(c.marker)).substr(1, 8)),
        std::string::npos)
        << c.id;
  }
  EXPECT_GE(attacks, 200u);
}

}  // namespace
}  // namespace steward::injection
