// The admin plane's audit routes against a real log in a temporary store:
// what they return verifies with the Merkle functions an auditor would use.
#include "stages/audit/audit_admin.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <boost/json.hpp>
#include <filesystem>

#include "admin/admin_router.h"
#include "audit/merkle.h"
#include "audit/options.h"
#include "common/strings.h"
#include "steward/clock.h"

namespace steward::audit {
namespace {

namespace json = boost::json;

class AuditAdminTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("audit_admin_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    YAML::Node root = YAML::Load("audit: {payloads: hashes, sth_interval_s: 3600}");
    auto options = ParseAuditOptions("test.yaml", root, dir_.string(), "");
    ASSERT_TRUE(options.ok()) << options.status().ToString();
    auto log = AuditLog::Open(*options, &clock_);
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    log_ = *log;
    ServeAuditOnAdminPlane(log_);
  }
  void TearDown() override {
    if (log_) log_->Stop();
    log_.reset();
    std::filesystem::remove_all(dir_);
  }

  void AppendRecords(int n) {
    for (int i = 0; i < n; ++i) {
      LeafToAppend leaf;
      leaf.leaf = R"({"kind":"request","request_id":"req_)" + std::to_string(i) + R"(","v":1})";
      leaf.kind = "request";
      leaf.time_ms = 1'790'000'000'000 + i;
      auto index = log_->Append(std::move(leaf))->Get();
      ASSERT_TRUE(index.ok()) << index.status().ToString();
    }
  }

  struct Reply {
    int status = 0;
    json::value body;
  };
  static Reply Call(const std::string& method, const std::string& target) {
    admin::AdminRequest req;
    req.method = method;
    size_t q = target.find('?');
    req.path = target.substr(0, q);
    req.query = q == std::string::npos ? "" : target.substr(q + 1);
    req.principal = {true, "key_admin", "admin", "admin", ""};
    bool mismatch = false;
    const admin::AdminHandler* h = admin::AdminRouter::Global().Find(method, req.path, &mismatch);
    EXPECT_NE(h, nullptr) << method << " " << target;
    if (!h) return {};
    admin::AdminResponse r = (*h)(req);
    boost::system::error_code ec;
    json::value body = json::parse(r.body, ec);
    EXPECT_FALSE(ec) << r.body;
    return {r.status, std::move(body)};
  }
  static std::string ErrorMessage(const Reply& r) {
    const auto* e = r.body.is_object() ? r.body.as_object().if_contains("error") : nullptr;
    return e ? std::string(e->at("message").as_string()) : "";
  }
  static Hash HashOf(const json::value& hex) { return *HashFromHex(hex.as_string()); }
  static std::vector<Hash> Hashes(const json::value& list) {
    std::vector<Hash> out;
    for (const auto& h : list.as_array()) out.push_back(HashOf(h));
    return out;
  }

  std::filesystem::path dir_;
  FakeClock clock_;
  std::shared_ptr<AuditLog> log_;
};

TEST_F(AuditAdminTest, HeadsAndProofsVerify) {
  AppendRecords(7);
  Reply none = Call("GET", "/admin/audit/sth");
  EXPECT_EQ(none.status, 404) << ErrorMessage(none);

  Reply published = Call("POST", "/admin/audit/sth");
  ASSERT_EQ(published.status, 200) << ErrorMessage(published);
  const json::object& head = published.body.as_object();
  EXPECT_EQ(head.at("tree_size").as_int64(), 7);
  Reply latest = Call("GET", "/admin/audit/sth");
  ASSERT_EQ(latest.status, 200);
  EXPECT_EQ(latest.body, published.body);
  const Hash root = HashOf(head.at("root_hash"));

  for (int64_t i = 0; i < 7; ++i) {
    Reply proof = Call("GET", "/admin/audit/proof/" + std::to_string(i));
    ASSERT_EQ(proof.status, 200) << ErrorMessage(proof);
    const json::object& p = proof.body.as_object();
    EXPECT_EQ(p.at("leaf_index").as_int64(), i);
    EXPECT_EQ(p.at("tree_size").as_int64(), 7);
    EXPECT_EQ(HashOf(p.at("root_hash")), root);
    // The proof's leaf hash is the hash of the record's exact bytes.
    Reply record = Call("GET", "/admin/audit/records/" + std::to_string(i));
    ASSERT_EQ(record.status, 200) << ErrorMessage(record);
    std::string bytes;
    ASSERT_TRUE(Base64Decode(record.body.at("leaf").as_string(), &bytes));
    EXPECT_EQ(LeafHash(bytes), HashOf(p.at("leaf_hash")));
    EXPECT_EQ(record.body.at("record").at("request_id").as_string(), "req_" + std::to_string(i));
    EXPECT_TRUE(VerifyInclusion(i, 7, LeafHash(bytes), Hashes(p.at("audit_path")), root).ok());
  }
  Reply old = Call("GET", "/admin/audit/proof/2?size=3");
  ASSERT_EQ(old.status, 200) << ErrorMessage(old);
  EXPECT_EQ(old.body.at("tree_size").as_int64(), 3);

  Reply cons = Call("GET", "/admin/audit/consistency?first=3&second=7");
  ASSERT_EQ(cons.status, 200) << ErrorMessage(cons);
  EXPECT_EQ(HashOf(cons.body.at("second_hash")), root);
  EXPECT_EQ(HashOf(cons.body.at("first_hash")), HashOf(old.body.at("root_hash")));
  EXPECT_TRUE(VerifyConsistency(3, 7, HashOf(cons.body.at("first_hash")), root,
                                Hashes(cons.body.at("consistency_path")))
                  .ok());
}

TEST_F(AuditAdminTest, RecordsArePagedInIndexOrder) {
  AppendRecords(5);
  Reply page = Call("GET", "/admin/audit/records?from=1&limit=2");
  ASSERT_EQ(page.status, 200) << ErrorMessage(page);
  const json::array& records = page.body.at("records").as_array();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].at("index").as_int64(), 1);
  EXPECT_EQ(records[1].at("index").as_int64(), 2);
  EXPECT_EQ(page.body.at("next").as_int64(), 3);
  EXPECT_EQ(page.body.at("tree_size").as_int64(), 5);

  Reply rest = Call("GET", "/admin/audit/records?from=3");
  ASSERT_EQ(rest.status, 200);
  EXPECT_EQ(rest.body.at("records").as_array().size(), 2u);
  EXPECT_EQ(rest.body.as_object().if_contains("next"), nullptr);
  Reply past = Call("GET", "/admin/audit/records?from=99");
  ASSERT_EQ(past.status, 200);
  EXPECT_TRUE(past.body.at("records").as_array().empty());
}

TEST_F(AuditAdminTest, BadRequestsAreNamed) {
  AppendRecords(3);
  Reply word = Call("GET", "/admin/audit/proof/abc");
  EXPECT_EQ(word.status, 400);
  EXPECT_NE(ErrorMessage(word).find("leaf index"), std::string::npos) << ErrorMessage(word);
  Reply negative = Call("GET", "/admin/audit/proof/-1");
  EXPECT_EQ(negative.status, 400);
  Reply beyond = Call("GET", "/admin/audit/proof/3");
  EXPECT_EQ(beyond.status, 400);
  EXPECT_NE(ErrorMessage(beyond).find("tree size"), std::string::npos) << ErrorMessage(beyond);
  Reply too_big = Call("GET", "/admin/audit/proof/0?size=99");
  EXPECT_EQ(too_big.status, 400);
  Reply bad_size = Call("GET", "/admin/audit/proof/0?size=1x");
  EXPECT_EQ(bad_size.status, 400);
  EXPECT_NE(ErrorMessage(bad_size).find("size"), std::string::npos);
  Reply missing = Call("GET", "/admin/audit/records/3");
  EXPECT_EQ(missing.status, 404);
  Reply half = Call("GET", "/admin/audit/consistency?first=1");
  EXPECT_EQ(half.status, 400);
  Reply backwards = Call("GET", "/admin/audit/consistency?first=3&second=1");
  EXPECT_EQ(backwards.status, 400);
  Reply limit = Call("GET", "/admin/audit/records?limit=0");
  EXPECT_EQ(limit.status, 400);
  Reply huge = Call("GET", "/admin/audit/records?from=99999999999999999999");
  EXPECT_EQ(huge.status, 400);
}

TEST_F(AuditAdminTest, AnswersUnavailableOnceTheLogIsGone) {
  log_->Stop();
  log_.reset();
  Reply gone = Call("GET", "/admin/audit/proof/0");
  EXPECT_EQ(gone.status, 503);
  Reply publish = Call("POST", "/admin/audit/sth");
  EXPECT_EQ(publish.status, 503);
}

}  // namespace
}  // namespace steward::audit
