// Drives `steward models ...` / `steward datasets ...` as a user would and
// validates `models sbom` against the official CycloneDX 1.6 JSON schema.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/strings.h"
#include "registry/testing/model_files.h"

#include "harness.h"

namespace steward {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using registry::testing::WriteFile;

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

class RegistryCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* build = std::getenv("STEWARD_BUILD_DIR");
    build_dir_ = build ? build : "build";
    steward_ = build_dir_ + "/steward";
    ASSERT_TRUE(fs::exists(steward_)) << steward_ << " not built";
    dir_ = registry::testing::MakeTempDir("steward-regcli");
    config_ = dir_ + "/steward.yaml";
    ASSERT_TRUE(WriteFile(config_, "data_dir: " + dir_ +
                                       "/var\n"
                                       "registry:\n  enforce: true\n"
                                       "licenses:\n  denied: [agpl-3.0]\n"
                                       "deployment:\n  commercial: true\n"));
  }
  void TearDown() override { fs::remove_all(dir_); }

  RunResult Steward(const std::string& args) {
    return Shell(Quote(steward_) + " --config " + Quote(config_) + " " + args);
  }

  RunResult Shell(const std::string& cmd) {
    RunResult r;
    std::string out = dir_ + "/.out", err = dir_ + "/.err";
    int status =
        std::system((cmd + " >" + Quote(out) + " 2>" + Quote(err) + " </dev/null").c_str());
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = ReadAll(out);
    r.err = ReadAll(err);
    return r;
  }

  std::string WriteGguf(const std::string& name, const std::string& license = "apache-2.0") {
    registry::testing::TinyGgufOptions o;
    o.name = name;
    o.license = license;
    std::string path = dir_ + "/models/" + name + ".gguf";
    EXPECT_TRUE(WriteFile(path, registry::testing::TinyGguf(o)));
    return path;
  }

  json::value ListJson() {
    auto r = Steward("models list --json");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out);
  }

  std::string StateOf(const std::string& name, const std::string& version) {
    json::value list = ListJson();
    for (const auto& v : list.as_array()) {
      if (v.at("name").as_string() == name && v.at("version").as_string() == version) {
        return std::string(v.at("state").as_string());
      }
    }
    return "";
  }

  std::string build_dir_, steward_, dir_, config_;
};

TEST_F(RegistryCliTest, RegisterApproveDeployVerifyQuarantine) {
  std::string path = WriteGguf("tiny");
  auto reg = Steward("models register " + Quote(path) + " --name tiny --version 1 --tag chat");
  ASSERT_EQ(reg.exit_code, 0) << reg.err;
  EXPECT_NE(reg.out.find("registered tiny@1"), std::string::npos) << reg.out;
  // One file: the manifest is SHA-256 over that file's raw digest.
  std::string file_digest = Sha256(ReadAll(path));
  EXPECT_NE(reg.out.find(Sha256Hex(file_digest)), std::string::npos) << reg.out;
  EXPECT_NE(reg.out.find("Apache-2.0"), std::string::npos);
  EXPECT_EQ(reg.err, "") << "progress must stay quiet when stderr is not a terminal";
  EXPECT_EQ(StateOf("tiny", "1"), "registered");

  EXPECT_EQ(Steward("models register " + Quote(path) + " --name tiny --version 1").exit_code, 2);
  EXPECT_EQ(Steward("models deploy tiny@1").exit_code, 1) << "deployed before approval";
  EXPECT_EQ(Steward("models approve tiny").exit_code, 2) << "no version is bad usage";
  auto approve = Steward("models approve tiny@1");
  ASSERT_EQ(approve.exit_code, 0) << approve.err;
  ASSERT_EQ(Steward("models deploy tiny@1").exit_code, 0);
  EXPECT_EQ(StateOf("tiny", "1"), "deployed");

  auto verify = Steward("models verify tiny@1");
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;

  // Sign, then verify checks the signature.
  auto sign = Steward("models sign tiny@1");
  ASSERT_EQ(sign.exit_code, 0) << sign.err;
  auto signed_verify = Steward("models verify tiny@1 --json");
  ASSERT_EQ(signed_verify.exit_code, 0) << signed_verify.err;
  auto report = json::parse(signed_verify.out);
  EXPECT_TRUE(report.at(0).at("signatures").at(0).at("valid").as_bool());

  // One changed byte: verify fails (exit 1) and quarantines the version.
  std::string bytes = ReadAll(path);
  bytes[bytes.size() / 2] ^= 1;
  ASSERT_TRUE(WriteFile(path, bytes));
  auto tampered = Steward("models verify tiny@1");
  EXPECT_EQ(tampered.exit_code, 1);
  EXPECT_NE(tampered.out.find("changed"), std::string::npos) << tampered.out;
  EXPECT_EQ(StateOf("tiny", "1"), "quarantined");
  EXPECT_EQ(Steward("models approve tiny@1").exit_code, 1) << "re-approved changed weights";

  auto history = Steward("models history tiny --json");
  ASSERT_EQ(history.exit_code, 0);
  std::string actions;
  json::value entries = json::parse(history.out);
  for (const auto& e : entries.as_array()) {
    actions += std::string(e.at("action").as_string()) + ",";
  }
  EXPECT_EQ(actions, "register,approve,deploy,sign,quarantine,");
}

TEST_F(RegistryCliTest, HostileFilesExitTwoNamingTheProblem) {
  std::string good = registry::testing::TinyGguf();
  std::string truncated = dir_ + "/trunc/model.gguf";
  ASSERT_TRUE(WriteFile(truncated, good.substr(0, 120)));
  auto r = Steward("models register " + Quote(truncated) + " --name t --version 1");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("model.gguf"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("truncated"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one-line message: " << r.err;

  std::string huge = dir_ + "/huge/model.gguf";
  registry::testing::GgufWriter w;
  w.Magic().U32(3).U64(0).U64(1).Str("a").U32(9).U32(8).U64(1ull << 62);
  ASSERT_TRUE(WriteFile(huge, w.bytes()));
  r = Steward("models register " + Quote(huge) + " --name h --version 1");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("array elements"), std::string::npos) << r.err;

  std::string st = dir_ + "/st";
  ASSERT_TRUE(WriteFile(
      st + "/model.safetensors",
      registry::testing::Safetensors({{"a", "F32", {4}, 0, 16}, {"b", "F32", {4}, 8, 24}}, 24)));
  r = Steward("models register " + Quote(st) + " --name s --version 1");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("overlap"), std::string::npos) << r.err;

  r = Steward("models register " + Quote(dir_ + "/does-not-exist") + " --name x --version 1");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(ListJson().as_array().empty());
}

TEST_F(RegistryCliTest, LicensePolicyShowsTheReason) {
  auto nc = Steward("models register " + Quote(WriteGguf("nc", "cc-by-nc-4.0")) +
                    " --name nc --version 1");
  EXPECT_EQ(nc.exit_code, 1);
  EXPECT_NE(nc.err.find("deployment.commercial"), std::string::npos) << nc.err;
  auto agpl = Steward("models register " + Quote(WriteGguf("ag")) +
                      " --name ag --version 1 --license agpl-3.0");
  EXPECT_EQ(agpl.exit_code, 1);
  EXPECT_NE(agpl.err.find("licenses.denied"), std::string::npos) << agpl.err;
  // Unknown license: registered, but approval needs --accept-license.
  auto unknown = Steward("models register " + Quote(WriteGguf("u", "home-made license")) +
                         " --name u --version 1");
  ASSERT_EQ(unknown.exit_code, 0) << unknown.err;
  auto refused = Steward("models approve u@1");
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("--accept-license"), std::string::npos) << refused.err;
  EXPECT_EQ(Steward("models approve u@1 --accept-license").exit_code, 0);
}

TEST_F(RegistryCliTest, CanaryRollbackAndRetire) {
  for (const char* v : {"1", "2"}) {
    std::string path = WriteGguf(std::string("m") + v);
    ASSERT_EQ(Steward("models register " + Quote(path) + " --name m --version " + v).exit_code, 0);
    ASSERT_EQ(Steward(std::string("models approve m@") + v).exit_code, 0);
  }
  ASSERT_EQ(Steward("models deploy m@1").exit_code, 0);
  auto canary = Steward("models deploy m@2 --canary 10");
  ASSERT_EQ(canary.exit_code, 0) << canary.err;
  EXPECT_EQ(Steward("models deploy m@2 --canary 150").exit_code, 2);
  ASSERT_EQ(Steward("models deploy m@2").exit_code, 0);
  auto rollback = Steward("models rollback m");
  ASSERT_EQ(rollback.exit_code, 0) << rollback.err;
  EXPECT_NE(rollback.out.find("m@1"), std::string::npos);
  EXPECT_EQ(StateOf("m", "1"), "deployed");
  EXPECT_EQ(StateOf("m", "2"), "approved");
  ASSERT_EQ(Steward("models retire m@2").exit_code, 0);
  EXPECT_EQ(StateOf("m", "2"), "retired");
  EXPECT_EQ(Steward("models rollback m").exit_code, 1) << "rolled back to a retired version";
}

TEST_F(RegistryCliTest, InTotoStatementShippedWithTheModelIsChecked) {
  std::string model = dir_ + "/signed";
  ASSERT_TRUE(WriteFile(model + "/model.safetensors", registry::testing::TinySafetensors()));
  ASSERT_TRUE(WriteFile(model + "/config.json", R"({"model_type":"llama"})"));
  // Statement as OpenSSF model-signing writes it (resources sorted by name).
  json::array resources;
  std::string concatenated;
  for (const char* f : {"config.json", "model.safetensors"}) {
    std::string digest = Sha256(ReadAll(model + "/" + f));
    concatenated += digest;
    resources.push_back({{"name", f}, {"algorithm", "sha256"}, {"digest", HexEncode(digest)}});
  }
  json::object statement{
      {"_type", "https://in-toto.io/Statement/v1"},
      {"subject",
       json::array{{{"name", "signed"}, {"digest", {{"sha256", Sha256Hex(concatenated)}}}}}},
      {"predicateType", "https://model_signing/signature/v1.0"},
      {"predicate",
       {{"serialization", {{"method", "files"}, {"hash_type", "sha256"}}},
        {"resources", resources}}}};
  json::object bundle{{"mediaType", "application/vnd.dev.sigstore.bundle.v0.3+json"},
                      {"dsseEnvelope",
                       {{"payload", Base64Encode(json::serialize(statement))},
                        {"payloadType", "application/vnd.in-toto+json"},
                        {"signatures", json::array{}}}}};
  ASSERT_TRUE(WriteFile(model + "/model.sig", json::serialize(bundle)));
  auto reg =
      Steward("models register " + Quote(model) + " --name signed --version 1 --license mit");
  ASSERT_EQ(reg.exit_code, 0) << reg.err;
  // model.sig is not part of the manifest, so the digests agree.
  EXPECT_NE(reg.out.find(Sha256Hex(concatenated)), std::string::npos) << reg.out;
  auto verify = Steward("models verify signed@1 --json");
  ASSERT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  EXPECT_TRUE(json::parse(verify.out).at(0).at("in_toto").at("valid").as_bool());
  // A statement about other bytes fails verification.
  statement["predicate"].as_object()["resources"].as_array()[0].as_object()["digest"] =
      std::string(64, '0');
  bundle["dsseEnvelope"].as_object()["payload"] = Base64Encode(json::serialize(statement));
  ASSERT_TRUE(WriteFile(model + "/model.sig", json::serialize(bundle)));
  EXPECT_EQ(Steward("models verify signed@1").exit_code, 1);
}

TEST_F(RegistryCliTest, SbomValidatesAgainstCycloneDx16Schema) {
  std::string data = dir_ + "/data";
  ASSERT_TRUE(WriteFile(data + "/train.jsonl", "{\"text\":\"hello\"}\n"));
  auto ds = Steward("datasets register " + Quote(data) +
                    " --name corpus --version 2024.1 --license cc-by-4.0 --source "
                    "https://example.org/corpus");
  ASSERT_EQ(ds.exit_code, 0) << ds.err;
  std::string model = dir_ + "/card-model";
  ASSERT_TRUE(WriteFile(model + "/model.safetensors", registry::testing::TinySafetensors()));
  ASSERT_TRUE(WriteFile(model + "/config.json",
                        R"({"model_type":"llama","architectures":["LlamaForCausalLM"]})"));
  ASSERT_TRUE(WriteFile(model + "/README.md",
                        "---\nlicense: apache-2.0\npipeline_tag: text-generation\n---\n"
                        "# Card\n\n## Limitations\n\nToy model.\n\n## Bias, Risks\n\nUntested.\n"));
  auto reg = Steward("models register " + Quote(model) +
                     " --name card --version 1 --source https://example.org/card "
                     "--dataset corpus@2024.1 --attr residency=eu");
  ASSERT_EQ(reg.exit_code, 0) << reg.err;
  ASSERT_EQ(Steward("models approve card@1").exit_code, 0);
  ASSERT_EQ(Steward("models sign card@1").exit_code, 0);
  std::string bom_path = dir_ + "/bom.json";
  auto sbom = Steward("models sbom card@1 --out " + Quote(bom_path));
  ASSERT_EQ(sbom.exit_code, 0) << sbom.err;
  json::value bom = json::parse(ReadAll(bom_path));
  const auto& component = bom.at("components").at(0);
  EXPECT_EQ(component.at("type").as_string(), "machine-learning-model");
  EXPECT_EQ(component.at("licenses").at(0).at("license").at("id").as_string(), "Apache-2.0");
  EXPECT_EQ(component.at("components").as_array().size(), 3u);  // every file, hashed
  EXPECT_TRUE(component.at("modelCard").as_object().contains("considerations"));
  EXPECT_EQ(Steward("models sbom card").exit_code, 2);
  EXPECT_EQ(Steward("models sbom nope@1").exit_code, 2);

  // Schema validation with the official schema (npm, installed on demand).
  std::string prefix = build_dir_ + "/cyclonedx-validator";
  if (!fs::exists(prefix + "/node_modules/ajv-formats-draft2019")) {
    auto npm = Shell("npm install --prefix " + Quote(prefix) +
                     " --no-audit --no-fund --loglevel=error @cyclonedx/cyclonedx-library ajv "
                     "ajv-formats ajv-formats-draft2019");
    ASSERT_EQ(npm.exit_code, 0) << "npm install failed: " << npm.err;
  }
  const char* src = std::getenv("STEWARD_SOURCE_DIR");
  std::string script = std::string(src ? src : ".") + "/test/integration/registry/validate_bom.js";
  auto valid = Shell("node " + Quote(script) + " " + Quote(prefix) + " " + Quote(bom_path));
  EXPECT_EQ(valid.exit_code, 0) << valid.out << valid.err;
  // The validator really validates: a BOM with a wrong component type fails.
  std::string broken = ReadAll(bom_path);
  broken.replace(broken.find("machine-learning-model"), 22, "machine-learning-mode!");
  ASSERT_TRUE(WriteFile(dir_ + "/broken.json", broken));
  auto invalid =
      Shell("node " + Quote(script) + " " + Quote(prefix) + " " + Quote(dir_ + "/broken.json"));
  EXPECT_EQ(invalid.exit_code, 1) << invalid.out << invalid.err;
}

using steward::testing::FreePort;

// Starts `argv` in the background with output to `log`; returns its pid.
pid_t Spawn(const std::vector<std::string>& argv, const std::string& log) {
  pid_t pid = ::fork();
  if (pid == 0) {
    FILE* f = std::freopen(log.c_str(), "w", stdout);
    (void)f;
    ::dup2(STDOUT_FILENO, STDERR_FILENO);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}

// The gateway enforces the registry: 404 unknown, 403 unapproved, served
// once approved (the running gateway sees the CLI's change), and 403
// quarantined after the periodic re-hash finds a changed file.
TEST_F(RegistryCliTest, GatewayEnforcesRegistryAndQuarantine) {
  std::string sim = build_dir_ + "/steward-sim";
  ASSERT_TRUE(fs::exists(sim)) << sim << " not built";
  int port = FreePort(), admin = FreePort(), upstream = FreePort();
  ASSERT_TRUE(WriteFile(config_, "listen: 127.0.0.1:" + std::to_string(port) +
                                     "\nadmin_listen: 127.0.0.1:" + std::to_string(admin) +
                                     "\ndata_dir: " + dir_ +
                                     "/var\nupstreams:\n  - name: sim\n"
                                     "    url: http://127.0.0.1:" +
                                     std::to_string(upstream) +
                                     "\n    models: [\"*\"]\nregistry:\n  enforce: true\n"
                                     "  check_interval_s: 1\n"));
  std::string path = WriteGguf("served");
  ASSERT_EQ(Steward("models register " + Quote(path) + " --name served --version 1").exit_code, 0);
  ASSERT_EQ(Steward("models approve served@1").exit_code, 0);
  ASSERT_EQ(Steward("models deploy served@1").exit_code, 0);
  ASSERT_EQ(Steward("models register " + Quote(WriteGguf("later")) + " --name later --version 1")
                .exit_code,
            0);
  auto key = Steward("keys create --name regtest --role user");
  ASSERT_EQ(key.exit_code, 0) << key.err;
  std::string secret(Trim(key.out));

  pid_t sim_pid =
      Spawn({sim, "--listen", "127.0.0.1:" + std::to_string(upstream)}, dir_ + "/sim.log");
  pid_t serve_pid = Spawn({steward_, "--config", config_, "serve"}, dir_ + "/serve.log");
  auto call = [&](const std::string& model) {
    std::string body = "{\"model\":\"" + model +
                       "\",\"messages\":[{\"role\":\"user\",\"content\":\"What is the "
                       "capital of France?\"}]}";
    return Shell("curl -s -w '\\n%{http_code}' -H 'Authorization: Bearer " + secret +
                 "' -H 'content-type: application/json' -d " + Quote(body) +
                 " http://127.0.0.1:" + std::to_string(port) + "/v1/chat/completions");
  };
  auto status_of = [](const RunResult& r) { return r.out.substr(r.out.rfind('\n') + 1); };
  bool up = false;
  for (int i = 0; i < 240 && !up; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    up = Shell("curl -s -o /dev/null http://127.0.0.1:" + std::to_string(admin) + "/healthz")
             .exit_code == 0;
  }
  if (up) {
    EXPECT_EQ(status_of(call("served")), "200") << call("served").out;
    auto unknown = call("unknown-model");
    EXPECT_EQ(status_of(unknown), "404");
    EXPECT_NE(unknown.out.find("model_not_found"), std::string::npos);
    auto pending = call("later");
    EXPECT_EQ(status_of(pending), "403");
    EXPECT_NE(pending.out.find("not approved"), std::string::npos) << pending.out;
    auto listed = Shell("curl -s -H 'Authorization: Bearer " + secret +
                        "' http://127.0.0.1:" + std::to_string(port) + "/v1/models");
    EXPECT_NE(listed.out.find("\"served\""), std::string::npos) << listed.out;
    EXPECT_EQ(listed.out.find("\"later\""), std::string::npos) << listed.out;
    ASSERT_EQ(Steward("models approve later@1").exit_code, 0);
    std::string later_status;
    for (int i = 0; i < 40 && later_status != "200"; ++i) {  // snapshot refresh ~1 s
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      later_status = status_of(call("later"));
    }
    EXPECT_EQ(later_status, "200");
    // Change one byte of the deployed weights: the periodic re-hash quarantines.
    std::string bytes = ReadAll(path);
    bytes[bytes.size() - 3] ^= 1;
    ASSERT_TRUE(WriteFile(path, bytes));
    RunResult refused;
    for (int i = 0; i < 80; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      refused = call("served");
      if (status_of(refused) == "403") break;
    }
    EXPECT_EQ(status_of(refused), "403");
    EXPECT_NE(refused.out.find("model_quarantined"), std::string::npos) << refused.out;
    EXPECT_NE(ReadAll(dir_ + "/serve.log").find("ALERT"), std::string::npos);
  }
  ::kill(serve_pid, SIGTERM);
  ::kill(sim_pid, SIGTERM);
  ::waitpid(serve_pid, nullptr, 0);
  ::waitpid(sim_pid, nullptr, 0);
  ASSERT_TRUE(up) << "steward serve did not come up: " << ReadAll(dir_ + "/serve.log");
}

}  // namespace
}  // namespace steward
