// The policy stage inside a running gateway: decisions and the
// x-steward-policy header, refusals naming the rule, redaction obligations,
// and hot reload on file change and SIGHUP (a bad bundle keeps the old one).
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "harness.h"

namespace steward::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

const char* kPolicyV1 = R"(
@id("callers") permit (principal.role in ["user", "analyst"], action in ["chat.completions", "models"]);
@id("analyst-pii") obligate (principal.role == "analyst") with redact(["EMAIL_ADDRESS"], "redact");
@id("no-large") @message("the large model is reserved")
forbid (resource.name == "sim-large");
)";

class PolicyGatewayTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string("/tmp/steward-policy-it-" + std::to_string(::getpid()));
    std::filesystem::create_directories(*dir_);
    WritePolicy(kPolicyV1);
    // No scan_input: the redaction seen by the model is the policy stage's own.
    fx_ = new GatewayFixture(
        "pipeline: [audit, auth, rate_limit, route, policy]\n"
        "policy:\n  dir: " +
        *dir_ + "\n  poll_ms: 100\n");
    user_ = new std::string(fx_->CreateKey("user"));
    analyst_ = new std::string(fx_->CreateKey("analyst"));
    guest_ = new std::string(fx_->CreateKey("guest"));
  }
  static void TearDownTestSuite() {
    delete fx_;
    std::filesystem::remove_all(*dir_);
    delete dir_;
    delete user_;
    delete analyst_;
    delete guest_;
  }
  static void WritePolicy(const std::string& text) {
    std::string tmp = *dir_ + "/.main.tmp";
    std::ofstream(tmp) << text;
    std::filesystem::rename(tmp, *dir_ + "/main.policy");  // atomic replace
  }
  // Polls until the user's call gets `status` (reloads are asynchronous).
  static HttpResponse WaitForUserStatus(int status) {
    HttpResponse r;
    for (int i = 0; i < 60; ++i) {
      r = fx_->Chat(*user_, "hello");
      if (r.status == status) break;
      std::this_thread::sleep_for(100ms);
    }
    return r;
  }
  static GatewayFixture* fx_;
  static std::string* dir_;
  static std::string *user_, *analyst_, *guest_;
};
GatewayFixture* PolicyGatewayTest::fx_ = nullptr;
std::string* PolicyGatewayTest::dir_ = nullptr;
std::string* PolicyGatewayTest::user_ = nullptr;
std::string* PolicyGatewayTest::analyst_ = nullptr;
std::string* PolicyGatewayTest::guest_ = nullptr;

TEST_F(PolicyGatewayTest, PermitCarriesHeaderAndDenyNamesTheRule) {
  HttpResponse ok = fx_->Chat(*user_, "What is the capital of France?");
  ASSERT_EQ(ok.status, 200) << ok.body << fx_->log();
  EXPECT_EQ(ok.Header("x-steward-policy").rfind("permit; rules=callers; bundle=", 0), 0u)
      << ok.Header("x-steward-policy");

  HttpResponse guest = fx_->Chat(*guest_, "hello");
  EXPECT_EQ(guest.status, 403) << guest.body;
  EXPECT_NE(guest.body.find("default deny"), std::string::npos) << guest.body;

  HttpResponse large = fx_->Chat(*user_, "hello", {}, "sim-large");
  EXPECT_EQ(large.status, 403) << large.body;
  EXPECT_NE(large.body.find("denied by policy rule `no-large`: the large model is reserved"),
            std::string::npos)
      << large.body;
}

TEST_F(PolicyGatewayTest, AnalystEmailIsRedactedBeforeTheModel) {
  HttpResponse r =
      fx_->Chat(*analyst_, "write to jane.doe@example.com today", {{"x-sim-echo", "1"}});
  ASSERT_EQ(r.status, 200) << r.body << fx_->log();
  EXPECT_EQ(r.body.find("jane.doe@example.com"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("<EMAIL_ADDRESS>"), std::string::npos) << r.body;
  EXPECT_NE(r.Header("x-steward-policy").find("redact(EMAIL_ADDRESS,redact)"), std::string::npos)
      << r.Header("x-steward-policy");
}

TEST_F(PolicyGatewayTest, HotReloadOnChangeKeepsOldBundleOnError) {
  ASSERT_EQ(fx_->Chat(*user_, "hello").status, 200);
  // A broken bundle is rejected: calls keep the old decision.
  WritePolicy("permit when { principal.rol == \"x\" };");
  std::this_thread::sleep_for(600ms);
  EXPECT_EQ(fx_->Chat(*user_, "hello").status, 200);
  EXPECT_NE(fx_->log().find("unknown attribute `principal.rol`"), std::string::npos) << fx_->log();

  // A valid change is picked up without a restart.
  WritePolicy(std::string(kPolicyV1) +
              "\n@id(\"no-users\") forbid (principal.role == \"user\");\n");
  HttpResponse r = WaitForUserStatus(403);
  EXPECT_EQ(r.status, 403);
  EXPECT_NE(r.body.find("no-users"), std::string::npos) << r.body;

  // SIGHUP reloads too.
  WritePolicy(kPolicyV1);
  kill(fx_->gateway().pid(), SIGHUP);
  EXPECT_EQ(WaitForUserStatus(200).status, 200);
}

}  // namespace
}  // namespace steward::testing
