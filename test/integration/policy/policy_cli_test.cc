// Runs the real `steward` binary: policy check / test / eval.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace {

namespace fs = std::filesystem;

struct CliRun {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

CliRun Steward(const std::string& args) {
  const char* build = std::getenv("STEWARD_BUILD_DIR");
  std::string bin = std::string(build ? build : "build") + "/steward";
  std::string err_file = fs::temp_directory_path() / ("policy_cli_err_" + std::to_string(getpid()));
  std::string cmd = bin + " " + args + " 2>" + err_file;
  CliRun r;
  FILE* p = popen(cmd.c_str(), "r");
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream e(err_file);
  r.err.assign(std::istreambuf_iterator<char>(e), std::istreambuf_iterator<char>());
  fs::remove(err_file);
  return r;
}

class PolicyCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("policy_cli_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text) {
    fs::create_directories((dir_ / name).parent_path());
    std::ofstream(dir_ / name) << text;
    return (dir_ / name).string();
  }
  fs::path dir_;
};

TEST_F(PolicyCliTest, ExampleBundleChecksAndItsTestsPass) {
  CliRun check = Steward("policy check examples/policies");
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_EQ(check.out.rfind("ok: ", 0), 0u) << check.out;
  CliRun test = Steward("policy test examples/policies");
  EXPECT_EQ(test.exit_code, 0) << test.out << test.err;
  EXPECT_NE(test.out.find(" passed, 0 failed"), std::string::npos) << test.out;
}

TEST_F(PolicyCliTest, CheckReportsFileLineColAndExits1) {
  std::string f = Write("bad.policy", "permit\n  when { principal.rol == \"x\" };\n");
  CliRun r = Steward("policy check " + f);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, f + ":2:20: unknown attribute `principal.rol` (principal has: key_id, name, "
                       "role, team, authenticated)\n");
  CliRun missing = Steward("policy check " + (dir_ / "nope.policy").string());
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_EQ(missing.err,
            "steward: policy file " + (dir_ / "nope.policy").string() + " does not exist\n");
}

TEST_F(PolicyCliTest, TestFailureShowsDiffAndExits1) {
  Write("p/a.policy", "@id(\"users\") permit (principal.role == \"user\");\n");
  Write(
      "p/tests/t.json",
      R"({"name":"guest allowed?","input":{"principal":{"role":"guest"}},"want_decision":"permit"})");
  CliRun r = Steward("policy test " + (dir_ / "p").string());
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("FAIL guest allowed?"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("decision: want permit, got deny"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("0 passed, 1 failed"), std::string::npos) << r.out;

  Write("p/tests/t.json", R"({"input":{"principal":{"rank":"x"}},"want_decision":"permit"})");
  CliRun bad = Steward("policy test " + (dir_ / "p").string());
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("unknown request attribute `principal.rank`"), std::string::npos)
      << bad.err;
}

TEST_F(PolicyCliTest, EvalExplainsDecision) {
  std::string req =
      Write("req.json", R"({"principal":{"role":"analyst"},"action":"chat.completions",
      "context":{"findings":{"EMAIL_ADDRESS":{"count":1,"max_score":0.9}}}})");
  CliRun r = Steward("policy eval --input " + req + " --policy examples/policies --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  boost::json::value v = boost::json::parse(r.out);
  EXPECT_EQ(v.at("decision").as_string(), "permit");
  EXPECT_EQ(v.at("reasons").as_array().size(), 2u);
  EXPECT_EQ(std::string(v.at("obligations").as_array().at(0).as_string()).substr(0, 7), "redact(");
  EXPECT_EQ(v.at("bundle_hash").as_string().size(), 64u);

  CliRun text = Steward("policy eval --input " + req + " --policy examples/policies");
  EXPECT_EQ(text.exit_code, 0);
  EXPECT_NE(
      text.out.find("analyst-pii-redacted (obligate at examples/policies/10_inference.policy:"),
      std::string::npos)
      << text.out;

  // Without --policy and without a config `policy:` key: the built-in default.
  std::string guest =
      Write("guest.json", R"({"principal":{"role":"guest"},"action":"embeddings"})");
  CliRun def = Steward("policy eval --input " + guest + " --json");
  EXPECT_EQ(def.exit_code, 0) << def.err;
  EXPECT_EQ(boost::json::parse(def.out).at("decision").as_string(), "deny");

  std::string bad = Write("bad.json", R"({"principal":{"role":3}})");
  CliRun b = Steward("policy eval --input " + bad);
  EXPECT_EQ(b.exit_code, 2);
  EXPECT_EQ(b.err, "steward: " + bad + ": request attribute `principal.role` must be a string\n");
}

}  // namespace
