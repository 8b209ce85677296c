// Drives the real `steward` binary: tampering makes `audit verify` exit 1
// naming the first bad index; exports verify offline; DSAR export/erase
// round-trips with proofs intact; and a gateway killed with SIGKILL under
// load loses no record whose index a client received.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "audit/audit_log.h"
#include "audit/canonical_json.h"
#include "audit/leaf_blocks.h"
#include "audit/merkle.h"
#include "audit/store_test_util.h"
#include "common/strings.h"

#include "harness.h"

namespace steward::audit {
namespace {

namespace fs = std::filesystem;

std::string BuildDir() {
  const char* b = std::getenv("STEWARD_BUILD_DIR");
  return b ? b : "build";
}
std::string StewardBin() { return BuildDir() + "/steward"; }

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

RunResult RunSteward(const std::string& args, const std::string& cwd = "") {
  static int counter = 0;
  std::string errfile = fs::temp_directory_path() / ("audit_it_err_" + std::to_string(::getpid()) +
                                                     "_" + std::to_string(counter++));
  std::string cmd = (cwd.empty() ? "" : "cd '" + cwd + "' && ") + StewardBin() + " " + args +
                    " 2>" + errfile;
  RunResult r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream e(errfile);
  r.err.assign(std::istreambuf_iterator<char>(e), std::istreambuf_iterator<char>());
  fs::remove(errfile);
  return r;
}

class AuditCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(StewardBin())) GTEST_SKIP() << StewardBin() << " is not built";
    dir_ = fs::temp_directory_path() /
           ("audit_it_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    cfg_ = (dir_ / "steward.yaml").string();
    std::ofstream(cfg_) << "listen: 127.0.0.1:18080\nadmin_listen: 127.0.0.1:18081\n"
                        << "data_dir: " << (dir_ / "var").string() << "\n"
                        << "upstreams:\n  - name: local\n    url: http://127.0.0.1:19000\n"
                        << "    models: [\"*\"]\nregistry:\n  enforce: false\n"
                        << "audit:\n  payloads: full\n  payload_retention_days: 30\n";
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  // Appends `n` request records (half of them for subject "alice") through
  // the library, the way the gateway's audit stage does, and signs a head.
  void Populate(int n) {
    AuditOptions o;
    o.data_dir = (dir_ / "var").string();
    o.store_url = "sqlite:" + o.data_dir + "/steward.db";
    auto log = AuditLog::Open(o, nullptr);
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    std::vector<std::shared_ptr<AppendHandle>> handles;
    for (int i = 0; i < n; ++i) {
      LeafToAppend l;
      l.subject = (*log)->Pseudonym(i % 2 ? "alice" : "bob");
      boost::json::object rec{{"kind", "request"},
                              {"request_id", "req-" + std::to_string(i)},
                              {"subject", l.subject},
                              {"prompt_sha256", Sha256Hex("prompt " + std::to_string(i))},
                              {"payload_ref", "ref" + std::to_string(i)}};
      l.leaf = *CanonicalJson(rec);
      l.kind = "request";
      l.time_ms = SystemClock::Instance().NowUnixMs();
      l.payload_ref = "ref" + std::to_string(i);
      l.payloads = {{"prompt", "prompt " + std::to_string(i)}};
      handles.push_back((*log)->Append(std::move(l)));
    }
    for (auto& h : handles) ASSERT_TRUE(h->Get().ok());
    ASSERT_TRUE((*log)->PublishNow().ok());
    (*log)->Stop();
  }

  std::string Cfg() const { return "--config '" + cfg_ + "'"; }

  void Sql(const std::string& sql, const std::vector<Value>& params = {}) {
    auto db = OpenDatabase("sqlite:" + (dir_ / "var" / "steward.db").string());
    ASSERT_TRUE(db.ok());
    Status s = (*db)->Exec(sql, params);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  std::unique_ptr<Database> Store() {
    auto db = OpenDatabase("sqlite:" + (dir_ / "var" / "steward.db").string());
    EXPECT_TRUE(db.ok());
    return db.ok() ? std::move(*db) : nullptr;
  }
  std::string LeafAt(int64_t i) { return audit::testing::StoredLeafAt(*Store(), i); }
  // Replaces record i's bytes, keeping its stored leaf hash.
  void SetLeaf(int64_t i, const std::string& leaf) {
    auto db = Store();
    Status s = audit::testing::SetStoredLeaf(*db, i, leaf, audit::testing::StoredLeafHashAt(*db, i));
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  fs::path dir_;
  std::string cfg_;
};

TEST_F(AuditCliTest, VerifyPassesThenEachTamperingExitsOneNamingTheIndex) {
  Populate(40);
  RunResult ok = RunSteward("audit verify " + Cfg());
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find("ok: 40 records"), std::string::npos) << ok.out;

  // One byte of one stored record.
  std::string leaf = LeafAt(12);
  std::string bad = leaf;
  bad[bad.size() / 2] ^= 0x01;
  SetLeaf(12, bad);
  RunResult r = RunSteward("audit verify " + Cfg());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("index 12"), std::string::npos) << r.err;
  SetLeaf(12, leaf);
  ASSERT_EQ(RunSteward("audit verify " + Cfg()).exit_code, 0);

  // One byte of the compressed block that holds records (migration 11).
  {
    auto db = Store();
    auto row = audit::testing::BlockRowOf(*db, 12);
    ASSERT_TRUE(row.ok()) << row.status().ToString();
    const std::string body = row->Text(3);
    std::string damaged = body;
    damaged[damaged.size() / 2] ^= 0x01;
    Sql("UPDATE audit_leaf_blocks SET body = $1 WHERE first_idx = $2", {Blob{damaged}, row->Int(0)});
    r = RunSteward("audit verify " + Cfg());
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_NE(r.err.find("audit verify failed at index"), std::string::npos) << r.err;
    Sql("UPDATE audit_leaf_blocks SET body = $1 WHERE first_idx = $2",
        {Blob{body.substr(0, body.size() - 4)}, row->Int(0)});
    r = RunSteward("audit verify " + Cfg());
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("cannot be read"), std::string::npos) << r.err;
    Sql("UPDATE audit_leaf_blocks SET body = $1 WHERE first_idx = $2", {Blob{body}, row->Int(0)});
    ASSERT_EQ(RunSteward("audit verify " + Cfg()).exit_code, 0);
  }

  // Two records reordered.
  std::string a = LeafAt(5), b = LeafAt(30);
  SetLeaf(5, b);
  SetLeaf(30, a);
  r = RunSteward("audit verify --json " + Cfg());
  EXPECT_EQ(r.exit_code, 1);
  auto j = boost::json::parse(r.out);
  EXPECT_EQ(j.at("first_bad_index").as_int64(), 5) << r.out;
  SetLeaf(5, a);
  SetLeaf(30, b);
  ASSERT_EQ(RunSteward("audit verify " + Cfg()).exit_code, 0);

  // The signed head replaced.
  Sql("UPDATE audit_sth SET root_hash = $1", {Blob{std::string(32, '\x42')}});
  r = RunSteward("audit verify " + Cfg());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("index 39"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("signed tree head"), std::string::npos) << r.err;
  Sql("DELETE FROM audit_sth");
  ASSERT_EQ(RunSteward("audit verify " + Cfg()).exit_code, 0);

  // One record dropped.
  ASSERT_TRUE(audit::testing::DeleteStoredLeaf(*Store(), 21).ok());
  r = RunSteward("audit verify " + Cfg());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("index 21"), std::string::npos) << r.err;
}

TEST_F(AuditCliTest, ProveAndConsistencyPrintSpecShapesThatVerify) {
  Populate(13);
  RunResult r = RunSteward("audit prove 6 --size 11 " + Cfg());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto p = boost::json::parse(r.out).as_object();
  ASSERT_EQ(p.size(), 5u);
  EXPECT_EQ(p.at("leaf_index").as_int64(), 6);
  EXPECT_EQ(p.at("tree_size").as_int64(), 11);
  std::vector<Hash> path;
  for (const auto& h : p.at("audit_path").as_array()) path.push_back(*HashFromHex(h.as_string()));
  EXPECT_EQ(p.at("leaf_hash").as_string(), ToHex(LeafHash(LeafAt(6))));
  EXPECT_TRUE(VerifyInclusion(6, 11, *HashFromHex(p.at("leaf_hash").as_string()), path,
                              *HashFromHex(p.at("root_hash").as_string()))
                  .ok());
  r = RunSteward("audit consistency 4 13 " + Cfg());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto c = boost::json::parse(r.out).as_object();
  ASSERT_EQ(c.size(), 5u);
  std::vector<Hash> cpath;
  for (const auto& h : c.at("consistency_path").as_array()) {
    cpath.push_back(*HashFromHex(h.as_string()));
  }
  EXPECT_TRUE(VerifyConsistency(4, 13, *HashFromHex(c.at("first_hash").as_string()),
                                *HashFromHex(c.at("second_hash").as_string()), cpath)
                  .ok());
  EXPECT_EQ(RunSteward("audit prove 13 " + Cfg()).exit_code, 2);
  EXPECT_EQ(RunSteward("audit prove 1 --size 99 " + Cfg()).exit_code, 2);
  EXPECT_EQ(RunSteward("audit consistency 9 3 " + Cfg()).exit_code, 2);
  EXPECT_EQ(RunSteward("audit prove notanumber " + Cfg()).exit_code, 2);
}

TEST_F(AuditCliTest, ExportVerifiesOfflineAndTamperedExportFails) {
  Populate(25);
  std::string out = (dir_ / "export").string();
  RunResult r = RunSteward("audit export --out '" + out + "' " + Cfg());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* f : {"leaves.jsonl", "sth.json", "README.txt"}) {
    EXPECT_TRUE(fs::exists(out + "/" + f)) << f;
  }
  auto sth = boost::json::parse(r.out).as_object();
  EXPECT_EQ(sth.at("tree_size").as_int64(), 25);
  // Offline: a copy of the export alone, outside the data dir.
  fs::path copy = dir_ / "auditor";
  fs::copy(out, copy);
  r = RunSteward("audit verify-export '" + copy.string() + "' --public-key " +
          std::string(sth.at("public_key").as_string()));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> lines;
  {
    std::ifstream in(copy / "leaves.jsonl");
    for (std::string l; std::getline(in, l);) lines.push_back(l);
  }
  std::swap(lines[2], lines[9]);
  {
    std::ofstream o(copy / "leaves.jsonl", std::ios::trunc);
    for (auto& l : lines) o << l << "\n";
  }
  r = RunSteward("audit verify-export '" + copy.string() + "'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("index 2"), std::string::npos) << r.err;
  EXPECT_EQ(RunSteward("audit verify-export '" + (dir_ / "nope").string() + "'").exit_code, 2);
}

TEST_F(AuditCliTest, DsarExportEraseRoundTrip) {
  Populate(10);
  RunResult r = RunSteward("dsar export alice " + Cfg());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto before = boost::json::parse(r.out).as_object();
  ASSERT_EQ(before.at("records").at(0).at("payloads").at("prompt").at("status").as_string(),
            "available")
      << r.out;
  ASSERT_EQ(before.at("records").as_array().size(), 5u);
  EXPECT_EQ(before.at("records").at(0).at("payloads").at("prompt").at("text").as_string(),
            "prompt 1");
  // Keep a proof from before the erasure.
  RunResult proof = RunSteward("audit prove 1 --size 10 " + Cfg());
  ASSERT_EQ(proof.exit_code, 0);

  r = RunSteward("dsar erase alice " + Cfg());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(boost::json::parse(r.out).at("erasure_index").as_int64(), 10);
  r = RunSteward("dsar export alice --out '" + (dir_ / "alice.json").string() + "' " + Cfg());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::ifstream in(dir_ / "alice.json");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto after = boost::json::parse(text).as_object();
  EXPECT_EQ(after.at("status").as_string(), "erased");
  EXPECT_EQ(after.at("records").at(0).at("payloads").at("prompt").at("status").as_string(),
            "erased");
  EXPECT_EQ(text.find("prompt 1\""), std::string::npos);
  // Bob's payloads are untouched.
  auto bob = boost::json::parse(RunSteward("dsar export bob " + Cfg()).out);
  EXPECT_EQ(bob.at("records").at(0).at("payloads").at("prompt").at("text").as_string(), "prompt 0");
  // The log still verifies and the old proof is unchanged.
  EXPECT_EQ(RunSteward("audit verify " + Cfg()).exit_code, 0);
  EXPECT_EQ(RunSteward("audit prove 1 --size 10 " + Cfg()).out, proof.out);
  EXPECT_EQ(RunSteward("retention run " + Cfg()).exit_code, 0);
  EXPECT_EQ(RunSteward("audit verify " + Cfg()).exit_code, 0);
  EXPECT_EQ(RunSteward("dsar export '' " + Cfg()).exit_code, 2);
}

// ---- crash test: kill -9 the gateway under load ----

using steward::testing::FreePort;

pid_t Spawn(const std::vector<std::string>& argv, const std::string& log) {
  pid_t pid = ::fork();
  if (pid == 0) {
    FILE* f = std::fopen(log.c_str(), "a");
    if (f) {
      ::dup2(fileno(f), 1);
      ::dup2(fileno(f), 2);
    }
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}

// One HTTP/1.1 request with Connection: close; returns the raw response
// ("" when the server is gone).
std::string HttpPost(uint16_t port, const std::string& path, const std::string& body,
                     const std::string& bearer) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return "";
  }
  std::string req = "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" +
                    "Content-Type: application/json\r\nAuthorization: Bearer " + bearer +
                    "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) < 0) {
    ::close(fd);
    return "";
  }
  std::string resp;
  char buf[8192];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) resp.append(buf, n);
  ::close(fd);
  return resp;
}

std::string HeaderValue(const std::string& resp, const std::string& name) {
  std::string lower = ToLower(resp.substr(0, resp.find("\r\n\r\n")));
  auto p = lower.find("\r\n" + name + ":");
  if (p == std::string::npos) return "";
  p += name.size() + 3;
  auto e = lower.find("\r\n", p);
  return std::string(Trim(resp.substr(p, e - p)));
}

bool WaitForPort(uint16_t port, int ms) {
  for (int i = 0; i < ms / 50; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    if (ok) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

TEST(AuditCrashTest, KillNineUnderLoadLosesNoAcknowledgedRecord) {
  const std::string sim = BuildDir() + "/steward-sim";
  if (!fs::exists(StewardBin()) || !fs::exists(sim)) {
    GTEST_SKIP() << "needs " << StewardBin() << " and " << sim;
  }
  if (RunSteward("serve --help").exit_code != 0) GTEST_SKIP() << "this build has no `steward serve`";
  fs::path dir = fs::temp_directory_path() / ("audit_crash_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const uint16_t port = FreePort(), admin = FreePort(), sim_port = FreePort();
  const std::string cfg = (dir / "steward.yaml").string();
  std::ofstream(cfg) << "listen: 127.0.0.1:" << port << "\nadmin_listen: 127.0.0.1:" << admin
                     << "\ndata_dir: " << (dir / "var").string()
                     << "\nupstreams:\n  - name: local\n    url: http://127.0.0.1:" << sim_port
                     << "\n    models: [\"*\"]\nregistry:\n  enforce: false\n"
                     << "audit:\n  payloads: full\n";
  const std::string log = (dir / "processes.log").string();
  pid_t sim_pid = Spawn({sim, "--listen", "127.0.0.1:" + std::to_string(sim_port)}, log);
  ASSERT_TRUE(WaitForPort(sim_port, 10000)) << "steward-sim did not start";
  RunResult key = RunSteward("keys create --name crash --role user --config '" + cfg + "'");
  ASSERT_EQ(key.exit_code, 0) << key.err;
  const std::string secret(Trim(key.out));
  pid_t gw = Spawn({StewardBin(), "serve", "--config", cfg}, log);
  ASSERT_TRUE(WaitForPort(port, 15000)) << "steward serve did not start";

  std::mutex mu;
  std::map<int64_t, std::string> acknowledged;  // audit index -> request id
  std::atomic<bool> stop{false};
  std::atomic<int> served{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 16; ++t) {
    clients.emplace_back([&, t] {
      int i = 0;
      while (!stop) {
        std::string body = R"({"model":"m","user":"u)" + std::to_string(t) +
                           R"(","messages":[{"role":"user","content":"hello )" +
                           std::to_string(i++) + R"("}]})";
        std::string resp = HttpPost(port, "/v1/chat/completions", body, secret);
        if (resp.empty()) continue;
        std::string idx = HeaderValue(resp, "x-steward-audit-index");
        if (idx.empty()) continue;
        std::lock_guard lock(mu);
        acknowledged[std::stoll(idx)] = HeaderValue(resp, "x-steward-request-id");
        ++served;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  ::kill(gw, SIGKILL);
  ::waitpid(gw, nullptr, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  stop = true;
  for (auto& c : clients) c.join();
  EXPECT_GT(served.load(), 0) << "no response carried x-steward-audit-index";

  gw = Spawn({StewardBin(), "serve", "--config", cfg}, log);
  EXPECT_TRUE(WaitForPort(port, 15000)) << "steward serve did not restart";
  RunResult v = RunSteward("audit verify --config '" + cfg + "'");
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  auto db = OpenDatabase("sqlite:" + (dir / "var" / "steward.db").string());
  ASSERT_TRUE(db.ok());
  int missing = 0;
  for (const auto& [idx, rid] : acknowledged) {
    auto leaf = audit::ReadStoredLeaf(audit::Sql(db->get()), idx);
    ASSERT_TRUE(leaf.ok());
    if (!*leaf || (*leaf)->find("\"request_id\":\"" + rid + "\"") == std::string::npos) {
      ++missing;
    }
  }
  EXPECT_EQ(missing, 0) << "of " << acknowledged.size() << " acknowledged records";
  std::printf("crash test: %zu responses carried an audit index before kill -9; all in the log\n",
              acknowledged.size());
  ::kill(gw, SIGTERM);
  ::waitpid(gw, nullptr, 0);
  ::kill(sim_pid, SIGTERM);
  ::waitpid(sim_pid, nullptr, 0);
  if (!HasFailure()) fs::remove_all(dir);
}

}  // namespace
}  // namespace steward::audit
