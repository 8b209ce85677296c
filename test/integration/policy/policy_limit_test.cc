// limit("rpm"|"tpm", N) obligations enforced by the policy stage in a running
// gateway: the call after the N-th in a minute gets 429 with Retry-After and
// an OpenAI error naming the rule; other keys and rules are unaffected.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>

#include "harness.h"

namespace steward::testing {
namespace {

namespace json = boost::json;

TEST(PolicyLimitIntegrationTest, RpmAndTpmObligationsAnswer429NamingTheRule) {
  std::string dir = "/tmp/steward-policy-limit-it-" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/main.policy") << R"(
@id("callers") permit (principal.role in ["user", "trial", "metered"], action in ["chat.completions", "models"]);
@id("trial-rpm") obligate (principal.role == "trial") with limit("rpm", 3);
@id("metered-tpm") obligate (principal.role == "metered") with limit("tpm", 40);
)";
  GatewayFixture fx("pipeline: [audit, auth, rate_limit, route, policy]\npolicy:\n  dir: " + dir +
                    "\n  watch: false\n");
  std::string trial = fx.CreateKey("trial"), user = fx.CreateKey("user");
  for (int i = 0; i < 3; ++i) {
    auto r = fx.Chat(trial, "hello");
    ASSERT_EQ(r.status, 200) << "call " << i << ": " << r.body;
  }
  auto limited = fx.Chat(trial, "hello");
  ASSERT_EQ(limited.status, 429) << limited.body;
  int retry_after = std::atoi(limited.Header("retry-after").c_str());
  EXPECT_GE(retry_after, 1);
  EXPECT_LE(retry_after, 20);  // one request refills in 60 s / 3
  json::value body = json::parse(limited.body);
  const json::object& error = body.at("error").as_object();
  EXPECT_EQ(error.at("type").as_string(), "rate_limit_exceeded");
  EXPECT_EQ(error.at("code").as_string(), "policy_rate_limit_exceeded");
  std::string message(error.at("message").as_string());
  EXPECT_NE(message.find("policy rule `trial-rpm`"), std::string::npos) << message;
  EXPECT_NE(message.find("3 requests per minute"), std::string::npos) << message;
  // Refused calls are audited like every other call.
  EXPECT_FALSE(limited.Header("x-steward-audit-index").empty());
  // A key the rule does not apply to is not counted.
  for (int i = 0; i < 5; ++i) EXPECT_EQ(fx.Chat(user, "hello").status, 200);

  // Tokens: each call takes its prompt estimate, then its actual usage is
  // charged; within a handful of calls the 40 tokens/minute run out.
  std::string metered = fx.CreateKey("metered");
  auto first = fx.Chat(metered, "a short prompt");
  ASSERT_EQ(first.status, 200) << first.body;
  int status = 200, calls = 1;
  HttpResponse last;
  while (status == 200 && calls < 10) {
    last = fx.Chat(metered, "a short prompt");
    status = last.status;
    ++calls;
  }
  ASSERT_EQ(status, 429) << "40 tokens per minute allowed " << calls << " calls";
  EXPECT_NE(last.body.find("`metered-tpm`"), std::string::npos) << last.body;
  EXPECT_NE(last.body.find("40 tokens per minute"), std::string::npos) << last.body;
  EXPECT_GE(std::atoi(last.Header("retry-after").c_str()), 1);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace steward::testing
