// The human review queue in a running gateway (docs/review.md).
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>

#include "harness.h"
#include "steward/store.h"

namespace steward::testing {
namespace {

namespace json = boost::json;

const char* kPolicy = R"(
@id("callers") permit (principal.role in ["user", "admin"], action in ["chat.completions", "models"]);
@id("admins") permit (principal.role == "admin") when { context.plane == "admin" };
@id("gated-needs-review") obligate (action == "chat.completions")
  when { resource.name == "sim-gated" } with require_review("the gated model needs a person");
)";

class ReviewIntegrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string("/tmp/steward-review-it-" + std::to_string(::getpid()));
    std::filesystem::create_directories(*dir_);
    std::ofstream(*dir_ + "/review.policy") << kPolicy;
    // scan_input pseudonymizes the e-mail address with a fresh placeholder
    // on every send: the approval must still match the re-send.
    fx_ = new GatewayFixture(
        "pipeline: [audit, auth, rate_limit, route, scan_input, policy, review, scan_output]\n"
        "policy:\n  dir: " +
        *dir_ + "\n  watch: false\nreview:\n  ttl_hours: 1\n");
    user_ = new std::string(fx_->CreateKey("user"));
    admin_ = new std::string(fx_->CreateKey("admin"));
  }
  static void TearDownTestSuite() {
    delete fx_;
    std::filesystem::remove_all(*dir_);
    delete dir_;
    delete user_;
    delete admin_;
  }

  static HttpResponse Gated(const std::string& content, const std::string& review_id = "",
                            const std::string& key = "",
                            std::map<std::string, std::string> h = {}) {
    h["x-sim-echo"] = "1";
    if (!review_id.empty()) h["x-steward-review-id"] = review_id;
    return fx_->Chat(key.empty() ? *user_ : key, content, h, "sim-gated");
  }
  static std::string ReviewId(const HttpResponse& r) {
    return std::string(json::parse(r.body).at("review_id").as_string());
  }
  static HttpResponse AdminPost(const std::string& path, const std::string& body) {
    return Http(fx_->admin_port(), "POST", path, body,
                {{"Authorization", "Bearer " + *admin_}, {"Content-Type", "application/json"}});
  }
  static std::vector<json::object> AuditRecords() {
    std::string error;
    std::vector<json::object> records;
    for (const auto& leaf :
         fx_->AuditLeaves(*dir_ + "/export-" + std::to_string(++exports_), &error)) {
      json::value v = json::parse(leaf);
      if (v.is_object()) records.push_back(v.as_object());
    }
    EXPECT_EQ(error, "");
    return records;
  }

  static std::string* dir_;
  static GatewayFixture* fx_;
  static std::string* user_;
  static std::string* admin_;
  static int exports_;
};

std::string* ReviewIntegrationTest::dir_ = nullptr;
GatewayFixture* ReviewIntegrationTest::fx_ = nullptr;
std::string* ReviewIntegrationTest::user_ = nullptr;
std::string* ReviewIntegrationTest::admin_ = nullptr;
int ReviewIntegrationTest::exports_ = 0;

TEST_F(ReviewIntegrationTest, HeldApprovedByTheCliThenServedOnce) {
  const std::string prompt = "Please wire 500 EUR and confirm to jane.doe@example.com";
  auto held = Gated(prompt);
  ASSERT_EQ(held.status, 202) << held.body;
  std::string id = ReviewId(held);
  EXPECT_EQ(json::parse(held.body).at("status").as_string(), "pending");
  EXPECT_FALSE(held.Header("x-steward-audit-index").empty());
  EXPECT_EQ(held.Header("x-steward-review-id"), id);

  auto still = Gated(prompt, id);
  EXPECT_EQ(still.status, 202) << still.body;
  EXPECT_EQ(ReviewId(still), id);

  auto list = fx_->Cli({"review", "list", "--status", "pending", "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  auto reviews = json::parse(list.out).at("reviews").as_array();
  ASSERT_EQ(reviews.size(), 1u) << list.out;
  EXPECT_EQ(reviews[0].at("review_id").as_string(), id);
  EXPECT_EQ(reviews[0].at("model").as_string(), "sim-gated");
  EXPECT_EQ(reviews[0].at("message").as_string(), "the gated model needs a person");
  // No prompt text in the queue.
  EXPECT_EQ(list.out.find("500 EUR"), std::string::npos);
  EXPECT_EQ(list.out.find("jane.doe"), std::string::npos);
  auto metrics =
      Http(fx_->admin_port(), "GET", "/metrics", "", {{"Authorization", "Bearer " + *admin_}});
  EXPECT_NE(metrics.body.find("steward_reviews_pending 1"), std::string::npos)
      << metrics.status << " " << metrics.body.substr(0, 300);

  auto approve = fx_->Cli({"review", "approve", id, "--note", "checked the invoice"});
  ASSERT_EQ(approve.exit_code, 0) << approve.err;
  auto twice = fx_->Cli({"review", "approve", id});
  EXPECT_EQ(twice.exit_code, 1) << twice.err;
  EXPECT_NE(twice.err.find("approved"), std::string::npos) << twice.err;

  auto other_body = Gated("Please wire 900 EUR", id);
  EXPECT_EQ(other_body.status, 403) << other_body.body;
  EXPECT_NE(other_body.body.find("differs"), std::string::npos);
  auto other_key = Gated(prompt, id, *admin_);
  EXPECT_EQ(other_key.status, 403) << other_key.body;

  // The upstream fails the first approved call: the approval is given back.
  auto failed = Gated(prompt, id, "", {{"x-sim-status", "500"}});
  EXPECT_GE(failed.status, 500) << failed.body;
  auto served = Gated(prompt, id);
  ASSERT_EQ(served.status, 200) << served.body;
  // Echo mode: the reply is what reached the model (scan_output restored
  // the pseudonymized address in the reply).
  EXPECT_NE(served.body.find("500 EUR"), std::string::npos) << served.body;
  auto reused = Gated(prompt, id);
  EXPECT_EQ(reused.status, 403) << reused.body;
  EXPECT_NE(reused.body.find("already used"), std::string::npos);

  auto show = fx_->Cli({"review", "show", id, "--json"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_EQ(json::parse(show.out).at("status").as_string(), "used");

  bool found = false;
  for (const auto& r : AuditRecords()) {
    auto* action = r.if_contains("action");
    if (!action || action->as_string() != "review.approve") continue;
    found = true;
    EXPECT_EQ(r.at("target").as_string(), id);
    EXPECT_EQ(r.at("details").at("note").as_string(), "checked the invoice");
    EXPECT_EQ(r.at("details").at("request_id").as_string(),
              json::parse(list.out).at("reviews").at(0).at("request_id").as_string());
  }
  EXPECT_TRUE(found) << "no review.approve admin record in the export";
  auto verify = fx_->Cli({"audit", "verify"});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
}

TEST_F(ReviewIntegrationTest, RejectedThroughTheAdminApiIs403WithTheNote) {
  auto held = Gated("Move the staging database to the public bucket");
  ASSERT_EQ(held.status, 202) << held.body;
  std::string id = ReviewId(held);
  auto unauthenticated = Http(fx_->admin_port(), "POST", "/admin/reviews/" + id + "/reject", "{}");
  EXPECT_EQ(unauthenticated.status, 401);
  auto one = Http(fx_->admin_port(), "GET", "/admin/reviews/" + id, "",
                  {{"Authorization", "Bearer " + *admin_}});
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_EQ(json::parse(one.body).at("status").as_string(), "pending");

  auto rejected = AdminPost("/admin/reviews/" + id + "/reject", R"({"note":"not public"})");
  ASSERT_EQ(rejected.status, 200) << rejected.body;
  auto resend = Gated("Move the staging database to the public bucket", id);
  EXPECT_EQ(resend.status, 403) << resend.body;
  EXPECT_NE(resend.body.find("review_rejected"), std::string::npos);
  EXPECT_NE(resend.body.find("not public"), std::string::npos);
  EXPECT_EQ(fx_->Cli({"review", "approve", id}).exit_code, 1);

  int rejects = 0;
  for (const auto& r : AuditRecords()) {
    auto* action = r.if_contains("action");
    rejects += action && action->as_string() == "review.reject" && r.at("target").as_string() == id;
  }
  EXPECT_EQ(rejects, 1);
}

TEST_F(ReviewIntegrationTest, CliRefusesBadInputWithExit2) {
  auto unknown = fx_->Cli({"review", "approve", "rev_000000000000000000000000"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("no review"), std::string::npos) << unknown.err;
  EXPECT_EQ(fx_->Cli({"review", "list", "--status", "maybe"}).exit_code, 2);
  EXPECT_EQ(fx_->Cli({"review", "approve"}).exit_code, 2);
  auto bogus = Gated("hello", "rev_unknown");
  EXPECT_EQ(bogus.status, 403);
  EXPECT_NE(bogus.body.find("does not exist for this API key"), std::string::npos);
  // Ungated models are not held.
  auto plain = fx_->Chat(*user_, "hello", {}, "sim-small");
  EXPECT_EQ(plain.status, 200) << plain.body;
}

TEST_F(ReviewIntegrationTest, ClientReadsItsReviewStateOnTheDataPlane) {
  auto held = Gated("Raise the credit limit of account 4411");
  ASSERT_EQ(held.status, 202) << held.body;
  std::string id = ReviewId(held);
  auto get = [&](const std::string& review_id, const std::string& key) {
    std::map<std::string, std::string> h;
    if (!key.empty()) h["Authorization"] = "Bearer " + key;
    return Http(fx_->port(), "GET", "/v1/reviews/" + review_id, "", h);
  };
  auto pending = get(id, *user_);
  ASSERT_EQ(pending.status, 200) << pending.body;
  json::object state = json::parse(pending.body).as_object();
  EXPECT_EQ(state.at("review_id").as_string(), id);
  EXPECT_EQ(state.at("status").as_string(), "pending");
  EXPECT_TRUE(state.at("decided_ms").is_null());
  EXPECT_GT(state.at("expires_ms").as_int64(), state.at("created_ms").as_int64());

  ASSERT_EQ(fx_->Cli({"review", "approve", id, "--note", "limit ok"}).exit_code, 0);
  auto approved = get(id, *user_);
  ASSERT_EQ(approved.status, 200) << approved.body;
  state = json::parse(approved.body).as_object();
  EXPECT_EQ(state.at("status").as_string(), "approved");
  EXPECT_EQ(state.at("note").as_string(), "limit ok");
  EXPECT_TRUE(state.at("decided_ms").is_int64());

  // Another key's review reads as unknown; no key is a 401 like any /v1 call.
  auto other_key = get(id, *admin_);
  EXPECT_EQ(other_key.status, 404) << other_key.body;
  EXPECT_EQ(json::parse(other_key.body).at("error").at("code").as_string(), "review_not_found");
  auto unknown = get("rev_000000000000000000000000", *user_);
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  EXPECT_EQ(get(id, "").status, 401);
  EXPECT_EQ(get(id, "sk-not-a-key").status, 401);
  auto post = Http(fx_->port(), "POST", "/v1/reviews/" + id, "{}",
                   {{"Authorization", "Bearer " + *user_}, {"Content-Type", "application/json"}});
  EXPECT_EQ(post.status, 405) << post.body;
  // Other unknown /v1 paths are still 404 before any stage runs.
  EXPECT_EQ(Http(fx_->port(), "GET", "/v1/nothing", "", {}).status, 404);
}

TEST_F(ReviewIntegrationTest, ReviewerReadsTheHeldPromptAndEveryReadIsAudited) {
  const std::string prompt = "Refund order 7731 to the card of customer 881 today";
  auto held = Gated(prompt, "", "", {{"x-steward-subject", "cust-881"}});
  ASSERT_EQ(held.status, 202) << held.body;
  std::string id = ReviewId(held);
  const std::map<std::string, std::string> admin_auth{{"Authorization", "Bearer " + *admin_}};

  auto plain = Http(fx_->admin_port(), "GET", "/admin/reviews/" + id, "", admin_auth);
  ASSERT_EQ(plain.status, 200) << plain.body;
  EXPECT_EQ(plain.body.find("Refund order"), std::string::npos);  // only on request
  auto read = Http(fx_->admin_port(), "GET", "/admin/reviews/" + id + "?prompt=1", "", admin_auth);
  ASSERT_EQ(read.status, 200) << read.body;
  json::object p = json::parse(read.body).at("prompt").as_object();
  EXPECT_EQ(p.at("status").as_string(), "available") << read.body;
  EXPECT_NE(std::string(p.at("text").as_string()).find(prompt), std::string::npos) << read.body;
  EXPECT_EQ(Http(fx_->admin_port(), "GET", "/admin/reviews/" + id + "?prompt=1", "").status, 401);
  EXPECT_EQ(
      Http(fx_->admin_port(), "GET", "/admin/reviews/" + id + "?prompt=yes", "", admin_auth).status,
      400);

  auto shown = fx_->Cli({"review", "show", id, "--prompt"});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_NE(shown.out.find(prompt), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("audit record"), std::string::npos) << shown.out;

  // Every read is an admin record filed under the data subject.
  int reads = 0;
  for (const auto& r : AuditRecords()) {
    auto* action = r.if_contains("action");
    if (!action || action->as_string() != "review.read_prompt") continue;
    if (r.at("target").as_string() != id) continue;
    ++reads;
    EXPECT_TRUE(r.at("subject").is_string());
    EXPECT_EQ(r.at("details").at("prompt_status").as_string(), "available");
    EXPECT_EQ(json::serialize(r).find("Refund order"), std::string::npos);  // no text in the log
  }
  EXPECT_EQ(reads, 2);

  // Once the subject is erased the prompt cannot be read.
  ASSERT_EQ(fx_->Cli({"dsar", "erase", "cust-881"}).exit_code, 0);
  auto erased = fx_->Cli({"review", "show", id, "--prompt", "--json"});
  ASSERT_EQ(erased.exit_code, 0) << erased.err;
  json::object ep = json::parse(erased.out).at("prompt").as_object();
  EXPECT_EQ(ep.at("status").as_string(), "erased") << erased.out;
  EXPECT_FALSE(ep.contains("text"));
  EXPECT_EQ(erased.out.find("Refund order"), std::string::npos);
  auto verify = fx_->Cli({"audit", "verify"});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
}

TEST_F(ReviewIntegrationTest, AReviewThatCannotBeStoredIs503NotA202) {
  // The store refuses review rows (as a full disk would), beside the
  // running gateway.
  auto db = OpenDatabase("sqlite:" + fx_->data_dir() + "/var/steward.db");
  ASSERT_TRUE(db.ok()) << db.status().message();
  ASSERT_TRUE((*db)
                  ->Exec("CREATE TRIGGER refuse_reviews BEFORE INSERT ON reviews "
                         "BEGIN SELECT RAISE(ABORT, 'disk is full (test)'); END")
                  .ok());
  auto before = fx_->Cli({"review", "list", "--json"});
  ASSERT_EQ(before.exit_code, 0) << before.err;
  const size_t reviews_before = json::parse(before.out).at("reviews").as_array().size();

  auto refused = Gated("Transfer the quarterly bonus pool");
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_NE(refused.body.find("not stored"), std::string::npos) << refused.body;
  EXPECT_NE(refused.body.find("disk is full"), std::string::npos) << refused.body;
  EXPECT_EQ(refused.body.find("\"pending\""), std::string::npos) << refused.body;
  EXPECT_TRUE(refused.Header("x-steward-review-id").empty());
  const std::string request_id = refused.Header("x-steward-request-id");

  ASSERT_TRUE((*db)->Exec("DROP TRIGGER refuse_reviews").ok());
  auto after = fx_->Cli({"review", "list", "--json"});
  ASSERT_EQ(after.exit_code, 0) << after.err;
  EXPECT_EQ(json::parse(after.out).at("reviews").as_array().size(), reviews_before);
  // The call's audit record shows what the client got.
  bool audited = false;
  for (const auto& r : AuditRecords()) {
    auto* rid = r.if_contains("request_id");
    if (request_id.empty() || !rid || rid->as_string() != request_id) continue;
    audited = true;
    EXPECT_EQ(r.at("status").as_int64(), 503);
  }
  EXPECT_TRUE(audited) << "no audit record for " << request_id;

  auto held = Gated("Transfer the quarterly bonus pool");
  EXPECT_EQ(held.status, 202) << held.body;
}

}  // namespace
}  // namespace steward::testing
