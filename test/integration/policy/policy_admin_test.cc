// The two-person rule for admin actions, end to end: with `--key` (CLI) or
// an admin key (HTTP), an action whose policy decision carries
// require_approvals(2) is held as pending after the first admin's approval,
// refused when the same admin approves again or a forbidden admin tries, and
// executed when a second, distinct admin approves. Every approval is an
// audit record.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>

#include "harness.h"

namespace steward::testing {
namespace {

namespace json = boost::json;

const char* kAdminPolicy = R"(
@id("callers") permit (principal.role in ["user", "admin"], action in ["chat.completions", "models"]);
@id("admins") permit (principal.role == "admin") when { context.plane == "admin" };
@id("no-interns") @message("interns may not administer")
forbid (principal.team == "interns") when { context.plane == "admin" };
@id("two-person")
obligate (action in ["keys.revoke", "subjects.erase", "models.approve", "retention.run"])
  with require_approvals(2);
@id("two-person-admin-keys")
obligate (action == "keys.create") when { resource.role == "admin" } with require_approvals(2);
)";

class PolicyAdminTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string("/tmp/steward-policy-admin-it-" + std::to_string(::getpid()));
    std::filesystem::create_directories(*dir_);
    std::ofstream(*dir_ + "/admin.policy") << kAdminPolicy;
    fx_ = new GatewayFixture("policy:\n  dir: " + *dir_ + "\n  watch: false\n");
    // Keyless CLI: the local operator bootstraps the first keys.
    alice_ = new std::string(fx_->CreateKey("admin"));
    bob_ = new std::string(fx_->CreateKey("admin"));
    intern_ = new std::string(fx_->CreateKey("admin", {"--team", "interns"}));
    user_ = new std::string(fx_->CreateKey("user"));
  }
  static void TearDownTestSuite() {
    delete fx_;
    std::filesystem::remove_all(*dir_);
    delete dir_;
    delete alice_;
    delete bob_;
    delete intern_;
    delete user_;
  }
  static std::map<std::string, std::string> Bearer(const std::string& key) {
    return {{"Authorization", "Bearer " + key}};
  }
  // The admin records ("kind":"admin") of the audit log, decoded.
  static std::vector<json::object> AdminRecords() {
    std::string error;
    std::vector<json::object> records;
    for (const auto& leaf :
         fx_->AuditLeaves(*dir_ + "/export-" + std::to_string(++exports_), &error)) {
      json::value v = json::parse(leaf);
      if (v.is_object() && v.as_object().contains("action")) records.push_back(v.as_object());
    }
    EXPECT_EQ(error, "");
    return records;
  }
  static int CountRecords(const std::string& needle) {
    int n = 0;
    for (const auto& r : AdminRecords()) n += json::serialize(r).find(needle) != std::string::npos;
    return n;
  }

  static GatewayFixture* fx_;
  static std::string* dir_;
  static std::string *alice_, *bob_, *intern_, *user_;
  static int exports_;
};
GatewayFixture* PolicyAdminTest::fx_ = nullptr;
std::string* PolicyAdminTest::dir_ = nullptr;
std::string* PolicyAdminTest::alice_ = nullptr;
std::string* PolicyAdminTest::bob_ = nullptr;
std::string* PolicyAdminTest::intern_ = nullptr;
std::string* PolicyAdminTest::user_ = nullptr;
int PolicyAdminTest::exports_ = 0;

TEST_F(PolicyAdminTest, CliKeysCreateNeedsTwoDistinctAdmins) {
  std::vector<std::string> create = {"keys",   "create", "--name", "ops2",
                                     "--role", "admin",  "--key"};
  auto first = fx_->Cli([&] {
    auto a = create;
    a.push_back(*alice_);
    return a;
  }());
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(first.out, "") << "no secret before the second approval";
  EXPECT_NE(first.err.find("approval 1 of 2 recorded for keys.create name=ops2 role=admin"),
            std::string::npos)
      << first.err;
  auto listed = fx_->Cli({"keys", "list", "--json"});
  EXPECT_EQ(listed.out.find("\"ops2\""), std::string::npos) << "not created yet";

  auto again = fx_->Cli([&] {
    auto a = create;
    a.push_back(*alice_);
    return a;
  }());
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("already approved pending action"), std::string::npos) << again.err;
  EXPECT_NE(again.err.find("different admin"), std::string::npos) << again.err;

  auto intern = fx_->Cli([&] {
    auto a = create;
    a.push_back(*intern_);
    return a;
  }());
  EXPECT_EQ(intern.exit_code, 1);
  EXPECT_NE(intern.err.find("interns may not administer"), std::string::npos) << intern.err;
  auto user = fx_->Cli([&] {
    auto a = create;
    a.push_back(*user_);
    return a;
  }());
  EXPECT_EQ(user.exit_code, 1);
  EXPECT_NE(user.err.find("may not keys.create"), std::string::npos) << user.err;
  auto bad = fx_->Cli([&] {
    auto a = create;
    a.push_back("sk-not-a-key");
    return a;
  }());
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--key: invalid API key"), std::string::npos) << bad.err;

  auto second = fx_->Cli([&] {
    auto a = create;
    a.push_back(*bob_);
    return a;
  }());
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_FALSE(second.out.empty()) << "the completing admin gets the secret";
  listed = fx_->Cli({"keys", "list", "--json"});
  EXPECT_NE(listed.out.find("\"ops2\""), std::string::npos) << listed.out;

  // A user key needs no second admin under this policy.
  auto plain = fx_->Cli({"keys", "create", "--name", "svc", "--role", "user", "--key", *alice_});
  EXPECT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_FALSE(plain.out.empty());

  // Audit: both approvals, the refusal, and the creation naming both approvers.
  int approvals = 0, refusals = 0, created = 0;
  for (const auto& r : AdminRecords()) {
    std::string text = json::serialize(r);
    if (text.find("ops2") == std::string::npos) continue;
    approvals += text.find("\"policy.approval\"") != std::string::npos;
    refusals += text.find("\"policy.approval.refused\"") != std::string::npos;
    created += text.find("\"keys.create\"") != std::string::npos &&
               text.find("approved_by") != std::string::npos;
  }
  EXPECT_EQ(approvals, 2);
  EXPECT_EQ(refusals, 1);
  EXPECT_GE(created, 1);
}

TEST_F(PolicyAdminTest, CliRevokeDsarEraseRetentionAndModelApproval) {
  std::string victim_id;
  {
    auto r = fx_->Cli({"keys", "create", "--name", "victim", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    victim_id = std::string(json::parse(r.out).at("id").as_string());
  }
  auto revoke1 = fx_->Cli({"keys", "revoke", victim_id, "--key", *alice_});
  ASSERT_EQ(revoke1.exit_code, 0) << revoke1.err;
  EXPECT_NE(revoke1.out.find("pending"), std::string::npos) << revoke1.out;
  EXPECT_EQ(fx_->Cli({"keys", "revoke", victim_id, "--key", *alice_}).exit_code, 1);
  auto revoke2 = fx_->Cli({"keys", "revoke", victim_id, "--key", *bob_});
  ASSERT_EQ(revoke2.exit_code, 0) << revoke2.err;
  EXPECT_NE(revoke2.out.find("revoked " + victim_id), std::string::npos) << revoke2.out;

  // dsar erase: pending JSON first, then erased with both approvers.
  auto erase1 = fx_->Cli({"dsar", "erase", "alice@example.com", "--key", *alice_});
  ASSERT_EQ(erase1.exit_code, 0) << erase1.err;
  json::object pending = json::parse(erase1.out).as_object();
  EXPECT_EQ(pending.at("status").as_string(), "pending_approval");
  EXPECT_EQ(pending.at("required").as_int64(), 2);
  auto same = fx_->Cli({"dsar", "erase", "alice@example.com", "--key", *alice_});
  EXPECT_EQ(same.exit_code, 1);
  EXPECT_NE(same.err.find("already approved"), std::string::npos) << same.err;
  auto forbidden = fx_->Cli({"dsar", "erase", "alice@example.com", "--key", *user_});
  EXPECT_EQ(forbidden.exit_code, 1);
  EXPECT_NE(forbidden.err.find("may not subjects.erase"), std::string::npos) << forbidden.err;
  auto erase2 = fx_->Cli({"dsar", "erase", "alice@example.com", "--key", *bob_});
  ASSERT_EQ(erase2.exit_code, 0) << erase2.err;
  json::object erased = json::parse(erase2.out).as_object();
  EXPECT_EQ(erased.at("status").as_string(), "erased");
  EXPECT_EQ(erased.at("approved_by").as_array().size(), 2u) << erase2.out;
  // The pending action never stored the subject in clear.
  auto approvals = Http(fx_->admin_port(), "GET", "/admin/approvals?all=1", "", Bearer(*alice_));
  ASSERT_EQ(approvals.status, 200) << approvals.body;
  EXPECT_EQ(approvals.body.find("alice@example.com"), std::string::npos) << approvals.body;
  EXPECT_NE(approvals.body.find("\"subjects.erase\""), std::string::npos) << approvals.body;

  auto retention1 = fx_->Cli({"retention", "run", "--key", *bob_});
  ASSERT_EQ(retention1.exit_code, 0) << retention1.err;
  EXPECT_NE(retention1.out.find("pending_approval"), std::string::npos) << retention1.out;
  auto retention2 = fx_->Cli({"retention", "run", "--key", *alice_});
  ASSERT_EQ(retention2.exit_code, 0) << retention2.err;
  EXPECT_NE(retention2.out.find("\"shredded\""), std::string::npos) << retention2.out;

  // models approve: held until a second admin approves; both recorded.
  std::string model_dir = fx_->data_dir() + "/model";
  std::filesystem::create_directories(model_dir);
  std::ofstream(model_dir + "/weights.bin") << std::string(2048, 'w');
  auto reg = fx_->Cli({"models", "register", model_dir, "--name", "tp", "--version", "1",
                       "--license", "mit", "--key", *alice_});
  ASSERT_EQ(reg.exit_code, 0) << reg.err;
  auto approve1 = fx_->Cli({"models", "approve", "tp@1", "--key", *alice_});
  ASSERT_EQ(approve1.exit_code, 0) << approve1.err;
  EXPECT_NE(approve1.err.find("approval 1 of 2"), std::string::npos) << approve1.err;
  auto state = fx_->Cli({"models", "list", "--json"});
  EXPECT_NE(state.out.find("\"state\":\"registered\""), std::string::npos) << state.out;
  EXPECT_EQ(fx_->Cli({"models", "approve", "tp@1", "--key", *alice_}).exit_code, 1);
  EXPECT_EQ(fx_->Cli({"models", "approve", "tp@1", "--key", *intern_}).exit_code, 1);
  auto approve2 = fx_->Cli({"models", "approve", "tp@1", "--key", *bob_});
  ASSERT_EQ(approve2.exit_code, 0) << approve2.err;
  state = fx_->Cli({"models", "list", "--json"});
  EXPECT_NE(state.out.find("\"state\":\"approved\""), std::string::npos) << state.out;

  // datasets register: one admin, decided by policy.
  std::ofstream(fx_->data_dir() + "/data.csv") << "a,b\n1,2\n";
  auto ds_user = fx_->Cli({"datasets", "register", fx_->data_dir() + "/data.csv", "--name", "d",
                           "--version", "1", "--key", *user_});
  EXPECT_EQ(ds_user.exit_code, 1);
  EXPECT_NE(ds_user.err.find("may not datasets.register"), std::string::npos) << ds_user.err;
  auto ds = fx_->Cli({"datasets", "register", fx_->data_dir() + "/data.csv", "--name", "d",
                      "--version", "1", "--key", *alice_});
  EXPECT_EQ(ds.exit_code, 0) << ds.err;
}

TEST_F(PolicyAdminTest, AdminHttpKeysFollowTheTwoPersonRule) {
  const std::string body = R"({"name":"http-admin","role":"admin"})";
  auto first = Http(fx_->admin_port(), "POST", "/admin/keys", body, Bearer(*alice_));
  ASSERT_EQ(first.status, 202) << first.body;
  json::object pending = json::parse(first.body).as_object();
  EXPECT_EQ(pending.at("status").as_string(), "pending_approval");
  EXPECT_EQ(pending.at("approvals").as_int64(), 1);
  EXPECT_EQ(pending.at("required").as_int64(), 2);
  EXPECT_EQ(first.body.find("secret"), std::string::npos);

  auto again = Http(fx_->admin_port(), "POST", "/admin/keys", body, Bearer(*alice_));
  EXPECT_EQ(again.status, 409) << again.body;
  EXPECT_NE(again.body.find("already_approved"), std::string::npos) << again.body;
  auto intern = Http(fx_->admin_port(), "POST", "/admin/keys", body, Bearer(*intern_));
  EXPECT_EQ(intern.status, 403) << intern.body;
  EXPECT_NE(intern.body.find("interns may not administer"), std::string::npos) << intern.body;

  auto listed = Http(fx_->admin_port(), "GET", "/admin/approvals", "", Bearer(*bob_));
  ASSERT_EQ(listed.status, 200) << listed.body;
  EXPECT_NE(listed.body.find(std::string(pending.at("pending_id").as_string())), std::string::npos)
      << listed.body;

  auto second = Http(fx_->admin_port(), "POST", "/admin/keys", body, Bearer(*bob_));
  ASSERT_EQ(second.status, 201) << second.body;
  json::object created = json::parse(second.body).as_object();
  EXPECT_FALSE(created.at("secret").as_string().empty());
  EXPECT_EQ(created.at("approved_by").as_array().size(), 2u);
  std::string id(created.at("id").as_string());

  // A user key: one admin suffices.
  auto plain = Http(fx_->admin_port(), "POST", "/admin/keys", R"({"name":"h2","role":"user"})",
                    Bearer(*alice_));
  EXPECT_EQ(plain.status, 201) << plain.body;

  auto revoke1 = Http(fx_->admin_port(), "DELETE", "/admin/keys/" + id, "", Bearer(*bob_));
  ASSERT_EQ(revoke1.status, 202) << revoke1.body;
  EXPECT_EQ(Http(fx_->admin_port(), "DELETE", "/admin/keys/" + id, "", Bearer(*bob_)).status, 409);
  auto revoke2 = Http(fx_->admin_port(), "DELETE", "/admin/keys/" + id, "", Bearer(*alice_));
  ASSERT_EQ(revoke2.status, 200) << revoke2.body;
  EXPECT_NE(revoke2.body.find("\"revoked\":true"), std::string::npos);
  EXPECT_GE(CountRecords(id), 3) << "two approvals of the revocation and the revocation itself";
}

}  // namespace
}  // namespace steward::testing

namespace steward::testing {
namespace {

// policy.cli_requires_key: keyless admin commands are refused; with a key
// the policy decides as usual. (Bootstrap: create the first admin keys
// before turning it on.)
TEST(PolicyCliRequiresKeyTest, KeylessAdminCommandsAreRefused) {
  std::string dir = "/tmp/steward-policy-cli-key-it-" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir + "/policies");
  std::ofstream(dir + "/policies/admin.policy") << kAdminPolicy;
  std::string base = "data_dir: " + dir + "/var\npolicy:\n  dir: " + dir + "/policies\n";
  std::ofstream(dir + "/steward.yaml") << base;
  auto steward = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {BuildDir() + "/steward", "--config", dir + "/steward.yaml"});
    return steward::testing::Run(args);
  };
  auto admin = steward({"keys", "create", "--name", "root", "--role", "admin"});
  ASSERT_EQ(admin.exit_code, 0) << admin.err;
  std::string key = admin.out.substr(0, admin.out.find('\n'));
  std::ofstream(dir + "/steward.yaml") << base << "  cli_requires_key: true\n";

  auto keyless = steward({"keys", "create", "--name", "x", "--role", "user"});
  EXPECT_EQ(keyless.exit_code, 1);
  EXPECT_NE(keyless.err.find("keys.create needs --key ADMIN_KEY"), std::string::npos)
      << keyless.err;
  EXPECT_EQ(keyless.out, "");
  auto erase = steward({"dsar", "erase", "bob"});
  EXPECT_EQ(erase.exit_code, 1);
  EXPECT_NE(erase.err.find("subjects.erase needs --key"), std::string::npos) << erase.err;
  auto with_key = steward({"keys", "create", "--name", "x", "--role", "user", "--key", key});
  EXPECT_EQ(with_key.exit_code, 0) << with_key.err;
  EXPECT_FALSE(with_key.out.empty());
  // Reading needs no key.
  EXPECT_EQ(steward({"keys", "list"}).exit_code, 0);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace steward::testing
