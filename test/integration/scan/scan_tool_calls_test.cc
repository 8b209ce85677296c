// Tool calls in replies through a running gateway and steward-sim
// (x-sim-tool-call makes the sim answer with a tool call whose arguments are
// the x-sim-reply text, streamed as argument deltas): leaks in the arguments
// get the configured output action in streamed and non-streamed replies, an
// entity split across deltas is found, pseudonyms the prompt received are
// restored in the arguments, and `block` aborts the stream.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <map>
#include <string>

#include "harness.h"

namespace steward::testing {
namespace {

namespace json = boost::json;

std::string PercentEncode(const std::string& s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

class ScanToolCallsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fx_ = new GatewayFixture(
        "pipeline: [audit, auth, rate_limit, route, scan_input, scan_output]\n"
        "scan:\n"
        "  names: false\n"
        "  output:\n"
        "    secrets: redact\n"
        "    entities: {US_SSN: block, EMAIL_ADDRESS: mask}\n");
    key_ = new std::string(fx_->CreateKey("user"));
  }
  static void TearDownTestSuite() {
    delete fx_;
    delete key_;
  }
  std::map<std::string, std::string> Headers(const std::string& arguments, int chunks) {
    return {{"Authorization", "Bearer " + *key_},
            {"x-sim-tool-call", "send_message"},
            {"x-sim-reply", PercentEncode(arguments)},
            {"x-sim-chunks", std::to_string(chunks)}};
  }
  // Joins the streamed tool-call arguments (index 0) and checks the events.
  static std::string StreamedArguments(const StreamedResponse& s, std::string* finish_reason) {
    std::string args;
    for (const std::string& data : s.DataEvents()) {
      if (data == "[DONE]") continue;
      json::value ev = json::parse(data);
      const auto* choices = ev.as_object().if_contains("choices");
      if (!choices) continue;
      for (const auto& ch : choices->as_array()) {
        const auto& c = ch.as_object();
        if (const auto* fr = c.if_contains("finish_reason"); fr && fr->is_string())
          *finish_reason = std::string(fr->as_string());
        const auto* delta = c.if_contains("delta");
        if (!delta || !delta->as_object().if_contains("tool_calls")) continue;
        for (const auto& tc : delta->at("tool_calls").as_array()) {
          EXPECT_EQ(tc.at("index").as_int64(), 0);
          if (const auto* fn = tc.as_object().if_contains("function"))
            if (const auto* a = fn->as_object().if_contains("arguments"))
              args += a->as_string();
        }
      }
    }
    return args;
  }
  static GatewayFixture* fx_;
  static std::string* key_;
};
GatewayFixture* ScanToolCallsTest::fx_ = nullptr;
std::string* ScanToolCallsTest::key_ = nullptr;

TEST_F(ScanToolCallsTest, StreamedArgumentsLeakIsRedactedAcrossDeltas) {
  // 40 deltas over ~110 bytes: the key and the e-mail are cut into pieces.
  std::string args =
      R"({"to":"ops@corp.example","body":"use AKIAIOSFODNN7EXAMPLE with region eu-west-1"})";
  auto s = HttpStream(fx_->port(), "/v1/chat/completions",
                      GatewayFixture::ChatBody("send the deploy note", true), Headers(args, 40));
  ASSERT_EQ(s.status, 200) << s.body;
  std::string finish;
  std::string got = StreamedArguments(s, &finish);
  EXPECT_EQ(got, R"({"to":"****@corp.example","body":"use <AWS_ACCESS_KEY> with region eu-west-1"})")
      << s.body;
  EXPECT_EQ(finish, "tool_calls");
  EXPECT_EQ(s.body.find("AKIAIOSFODNN7EXAMPLE"), std::string::npos);
  EXPECT_EQ(s.DataEvents().back(), "[DONE]");
}

TEST_F(ScanToolCallsTest, NonStreamedArgumentsLeakIsRedacted) {
  std::string args = R"({"token":"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"})";
  auto r = Http(fx_->port(), "POST", "/v1/chat/completions",
                GatewayFixture::ChatBody("deploy it", false), Headers(args, 1));
  ASSERT_EQ(r.status, 200) << r.body;
  json::value v = json::parse(r.body);
  const auto& msg = v.at("choices").as_array()[0].at("message");
  EXPECT_EQ(msg.at("tool_calls").as_array()[0].at("function").at("arguments").as_string(),
            R"({"token":"<GITHUB_TOKEN>"})");
}

TEST_F(ScanToolCallsTest, StreamedArgumentsBlockAbortsTheStream) {
  std::string args = R"({"note":"customer SSN is 536-90-4567, please file it"})";
  auto s = HttpStream(fx_->port(), "/v1/chat/completions",
                      GatewayFixture::ChatBody("file the form", true), Headers(args, 25));
  ASSERT_EQ(s.status, 200);
  EXPECT_NE(s.body.find("scan_blocked"), std::string::npos) << s.body;
  EXPECT_NE(s.body.find("US_SSN"), std::string::npos);
  EXPECT_EQ(s.body.find("4567"), std::string::npos) << s.body;
}

TEST_F(ScanToolCallsTest, PromptValuesComeBackRestoredInStreamedArguments) {
  // The prompt's e-mail is pseudonymized for the model (default input
  // action); the sim echoes the prompt back as the tool call's arguments,
  // so the placeholder comes back split across deltas and must be restored
  // (and, being the user's own value, is no leak).
  auto h = Headers("", 30);
  h.erase("x-sim-reply");
  h["x-sim-echo"] = "1";
  auto s = HttpStream(fx_->port(), "/v1/chat/completions",
                      GatewayFixture::ChatBody("mail jane.roe@example.org the minutes", true), h);
  ASSERT_EQ(s.status, 200) << s.body;
  std::string finish;
  std::string got = StreamedArguments(s, &finish);
  EXPECT_NE(got.find("jane.roe@example.org"), std::string::npos) << got;
  EXPECT_EQ(got.find("***@"), std::string::npos) << got;
}

TEST_F(ScanToolCallsTest, HeldArgumentTailIsSentWhenTheStreamEndsWithoutFinishReason) {
  // Some servers end with [DONE] only; the look-back the scanner still holds
  // must reach the client in the gateway's closing event, not be dropped.
  std::string args = R"({"to":"ops@corp.example","body":"deploy now"})";
  auto headers = Headers(args, 12);
  headers["x-sim-no-finish-reason"] = "1";
  auto s = HttpStream(fx_->port(), "/v1/chat/completions",
                      GatewayFixture::ChatBody("send the deploy note", true), headers);
  ASSERT_EQ(s.status, 200) << s.body;
  std::string finish;
  EXPECT_EQ(StreamedArguments(s, &finish), R"({"to":"****@corp.example","body":"deploy now"})")
      << s.body;
  EXPECT_EQ(finish, "");
  EXPECT_EQ(s.DataEvents().back(), "[DONE]");
}

}  // namespace
}  // namespace steward::testing
