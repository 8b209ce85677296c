// `steward scan` / `steward redact` as SPEC defines them: JSON shape, byte
// offsets (end exclusive) into the UTF-8 input, exit codes.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace {

std::string Steward() {
  const char* dir = std::getenv("STEWARD_BUILD_DIR");
  return std::string(dir ? dir : "build") + "/steward";
}

// Runs a shell command; returns stdout and sets *code to the exit status.
std::string RunCommand(const std::string& cmd, int* code) {
  std::string out;
  FILE* p = popen((cmd + " 2>/dev/null").c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  int st = pclose(p);
  *code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return out;
}

std::string WriteTemp(const std::string& name, const std::string& content) {
  std::string path = ::testing::TempDir() + name;
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

TEST(ScanCli, JsonFindingsUseByteOffsets) {
  std::string text = "Grüße! Mail jürgen@example.org, IP 10.2.3.4, card 4111 1111 1111 1111.";
  std::string file = WriteTemp("scan_cli_in.txt", text);
  int code = -1;
  std::string out = RunCommand(Steward() + " scan --json " + file, &code);
  ASSERT_EQ(code, 0) << out;
  boost::json::value v = boost::json::parse(out);
  auto& root = v.as_object();
  ASSERT_TRUE(root.contains("findings"));
  ASSERT_TRUE(root.contains("injection"));
  auto& inj = root["injection"].as_object();
  EXPECT_TRUE(inj["label"].as_string() == "benign" || inj["label"].as_string() == "injection");
  double score = inj["score"].to_number<double>();
  EXPECT_GE(score, 0.0);
  EXPECT_LE(score, 1.0);
  int seen = 0;
  for (auto& f : root["findings"].as_array()) {
    auto& o = f.as_object();
    size_t s = o["start"].to_number<size_t>(), e = o["end"].to_number<size_t>();
    ASSERT_LT(s, e);
    ASSERT_LE(e, text.size());
    EXPECT_EQ(text.substr(s, e - s), std::string(o["text"].as_string()));
    std::string type(o["type"].as_string());
    if (type == "EMAIL_ADDRESS") {
      EXPECT_EQ(s, text.find("jürgen"));  // bytes, not code points
      ++seen;
    }
    if (type == "IP_ADDRESS" || type == "CREDIT_CARD") ++seen;
  }
  EXPECT_EQ(seen, 3) << out;
}

TEST(ScanCli, ReadsStdinAndRedacts) {
  int code = -1;
  std::string out = RunCommand("printf 'ssn 536-90-4567 ok' | " + Steward() + " redact", &code);
  EXPECT_EQ(code, 0);
  EXPECT_EQ(out, "ssn <US_SSN> ok");
  out = RunCommand("printf 'card 4111 1111 1111 1111 x' | " + Steward() + " redact --mode mask", &code);
  EXPECT_EQ(code, 0);
  EXPECT_EQ(out, "card ****1111 x");
  out = RunCommand("printf 'mail a@b.io' | " + Steward() + " redact --mode pseudonymize", &code);
  EXPECT_EQ(code, 0);
  EXPECT_EQ(out.find("a@b.io"), std::string::npos);
  EXPECT_NE(out.find("@example.com"), std::string::npos);
}

TEST(ScanCli, BadUsageExitsTwo) {
  int code = -1;
  RunCommand(Steward() + " redact --mode shred /dev/null", &code);
  EXPECT_EQ(code, 2);
  RunCommand(Steward() + " scan /nonexistent/file.txt", &code);
  EXPECT_EQ(code, 2);
  std::string out = RunCommand("printf '\\xff\\xfe a@b.io \\xc3' | " + Steward() + " scan --json", &code);
  EXPECT_EQ(code, 0);
  EXPECT_NO_THROW(boost::json::parse(out)) << out;
}

}  // namespace
