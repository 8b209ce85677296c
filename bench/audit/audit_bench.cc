// `make bench-audit`: the audit log's hot paths, each beside its baseline.
//
//  1. durable appends/s, 64 concurrent writers, through AuditLog's group
//     commit (each writer waits until its record is durable before the next)
//     vs the naive way: one SQLite transaction (one fsync) per record.
//  2. `audit verify` throughput (VerifyStore: every leaf hash, every stored
//     node, every head) in leaves/s over a store of realistic records.
//  3. inclusion-proof latency (ProveInclusion from the store) at 10M leaves.
//     The 10M-leaf store is built through the same AppendLeavesInTx path the
//     writer uses, in 100k-leaf transactions of small synthetic leaves, and
//     cached in the bench directory for re-runs.
//  4. the audit stage's own latency per call (OnRequest + OnResponse +
//     OnFinish + waiting for durability) under 64 concurrent calls.
// Prints one JSON object as the last line.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "audit/audit_log.h"
#include "audit/canonical_json.h"
#include "audit/keys.h"
#include "audit/leaf_blocks.h"
#include "audit/log_store.h"
#include "audit/request_record.h"
#include "audit/store_test_util.h"
#include "audit/verify.h"
#include "common/strings.h"
#include "pipeline/stage_registry.h"

namespace steward::audit {
namespace {

using Steady = std::chrono::steady_clock;
double Seconds(Steady::duration d) { return std::chrono::duration<double>(d).count(); }

// CPU time (user + system) of the whole process / of the calling thread, in
// µs. The machine is shared: wall-clock rates swing with other people's
// load, CPU per operation does not, so every rate comes with its CPU cost.
double ProcessCpuUs() {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}
double ThreadCpuUs() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

// The request as the stages before audit leave it. Its constant digests are
// computed once: they stand for other stages' work, not the audit log's.
RequestContext SampleContext(int n) {
  static const std::string kWeightsDigest = "sha256:" + Sha256Hex("weights");
  static const std::string kBundleHash = Sha256Hex("bundle");
  static const std::string kRun = RandomHex(6);
  RequestContext ctx;
  ctx.request_id = "req-" + std::to_string(n) + "-" + kRun;
  ctx.endpoint = Endpoint::kChatCompletions;
  ctx.method = "POST";
  ctx.path = "/v1/chat/completions";
  ctx.start_unix_ms = 1'790'000'000'000 + n;
  ctx.principal.authenticated = true;
  ctx.principal.key_id = "key_" + std::to_string(n % 50);
  ctx.principal.role = "user";
  ctx.subject = "user-" + std::to_string(n % 1000) + "@example.com";
  ctx.model = "llama-3.1-8b-instruct";
  ctx.model_version = "2024-07";
  ctx.weights_digest = kWeightsDigest;
  ctx.upstream = "local";
  ctx.upstream_model = ctx.model;
  ctx.policy.evaluated = true;
  ctx.policy.decision = "permit";
  ctx.policy.reasons = {"default-permit-users"};
  ctx.policy.obligations = {"pseudonymize(EMAIL_ADDRESS)"};
  ctx.policy.bundle_hash = kBundleHash;
  ctx.findings.push_back({"EMAIL_ADDRESS", "input", 1, 0.99, "pseudonymize"});
  ctx.injection_score = 0.031;
  ctx.usage = {42, 128, false};
  ctx.status = 200;
  return ctx;
}

const std::string kPrompt =
    "Please summarise the following meeting notes for the quarterly review and list the action "
    "items with owners. Notes: the team agreed to migrate the billing service, Alice owns the "
    "schema change, Bob the rollout plan; risks are the data backfill and the on-call load.";
const std::string kCompletion =
    "Summary: billing migration agreed. Action items: Alice - schema change; Bob - rollout "
    "plan. Risks: data backfill, on-call load.";

LeafToAppend SampleLeaf(int n, const std::string& pseudonym, bool payloads) {
  RequestContext ctx = SampleContext(n);
  RecordInputs in;
  in.phase = "complete";
  in.subject_pseudonym = pseudonym;
  in.prompt_sha256 = ToHex(Sha256Of(kPrompt));  // per call, as the stage does
  in.completion_sha256 = ToHex(Sha256Of(kCompletion));
  in.payload_ref = payloads ? NewPayloadRef(ctx.start_unix_ms) : "";
  in.payloads = payloads ? PayloadMode::kFull : PayloadMode::kHashes;
  in.time_ms = ctx.start_unix_ms;
  in.latency_ms = 12.345;
  in.status = 200;
  LeafToAppend l;
  l.leaf = *RequestRecordJson(ctx, in);  // what the audit stage writes
  l.kind = "request";
  l.subject = pseudonym;
  l.time_ms = in.time_ms;
  if (payloads) {
    l.payload_ref = in.payload_ref;
    l.payloads = {{"prompt", kPrompt}, {"completion", kCompletion}};
    l.data_class = "pii";
  }
  return l;
}

// A record as a gateway writes it for distinct calls: its own prompt and
// completion digests, one of 1000 subjects, latency and token counts that
// vary (SampleLeaf repeats one prompt: every record differs only in its id
// and time, which would compress far better than real traffic).
LeafToAppend RealisticLeaf(int64_t n) {
  static const std::vector<std::string> kSubjects = [] {
    std::vector<std::string> out;
    for (int i = 0; i < 1000; ++i) out.push_back("s_" + Sha256Hex("subject-" + std::to_string(i)).substr(0, 32));
    return out;
  }();
  const std::string& subject = kSubjects[static_cast<size_t>(n % 1000)];
  RequestContext ctx = SampleContext(static_cast<int>(n));
  ctx.usage = {static_cast<int64_t>(10 + n % 911), static_cast<int64_t>(1 + (n * 7919) % 2048), false};
  ctx.injection_score = static_cast<double>((n * 2654435761u) % 10000) / 10000.0;
  RecordInputs in;
  in.phase = "complete";
  in.subject_pseudonym = subject;
  in.prompt_sha256 = Sha256Hex(kPrompt + std::to_string(n));
  in.completion_sha256 = Sha256Hex(kCompletion + std::to_string(n));
  in.payload_ref = NewPayloadRef(ctx.start_unix_ms);
  in.payloads = PayloadMode::kFull;
  in.time_ms = ctx.start_unix_ms;
  in.latency_ms = static_cast<double>(100 + (n * 48271) % 90000) / 1000.0;
  in.status = 200;
  LeafToAppend l;
  l.leaf = *RequestRecordJson(ctx, in);
  l.kind = "request";
  l.subject = subject;
  l.time_ms = in.time_ms;
  return l;
}

// How a store holds its leaves: stored bytes per leaf in blocks (hashes and
// compressed records), leaves per block, and the whole store file per leaf.
struct LeafLayoutStats {
  int64_t leaves = 0;
  double block_bytes_per_leaf = 0;
  double leaves_per_block = 0;
  double file_bytes_per_leaf = 0;
};
LeafLayoutStats LayoutOf(const std::string& db_path) {
  LeafLayoutStats st;
  auto db = OpenDatabase("sqlite:" + db_path);
  if (!db.ok()) return st;
  auto rows = (*db)->Query(
      "SELECT COUNT(*), COALESCE(SUM(entries), 0), COALESCE(SUM(LENGTH(leaf_hashes) + "
      "LENGTH(body)), 0) FROM audit_leaf_blocks");
  auto size = StoredTreeSize(Sql(db->get()));
  if (!rows.ok() || rows->empty() || !size.ok()) return st;
  st.leaves = *size;
  const int64_t blocks = (*rows)[0].Int(0), in_blocks = (*rows)[0].Int(1);
  if (in_blocks > 0) {
    st.block_bytes_per_leaf = static_cast<double>((*rows)[0].Int(2)) / in_blocks;
    st.leaves_per_block = static_cast<double>(in_blocks) / blocks;
  }
  db->reset();
  std::error_code ec;
  double bytes = 0;
  for (const char* suffix : {"", "-wal"}) {
    auto n = std::filesystem::file_size(db_path + suffix, ec);
    if (!ec) bytes += static_cast<double>(n);
  }
  if (st.leaves > 0) st.file_bytes_per_leaf = bytes / static_cast<double>(st.leaves);
  return st;
}

std::string FreshDir(const std::string& base, const std::string& name) {
  std::string d = base + "/" + name;
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

struct Throughput {
  double per_s = 0;
  int64_t total = 0;
  int64_t commits = 0;
  int64_t flushes = 0;
  double commit_ms = 0;
  double cpu_us_per_append = 0;  // whole process: producers + writer + SQLite
  double writer_cpu_us_per_append = 0;  // the writer thread's share of it
};

// The disk's fsync latency: 4 KiB write + fdatasync, median of 40. It bounds
// closed-loop durable throughput at writers / fsync latency.
double FsyncMs(const std::string& dir) {
  std::string path = dir + "/fsync_probe";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return -1;
  std::vector<double> ms;
  char buf[4096] = {};
  for (int i = 0; i < 40; ++i) {
    auto t0 = Steady::now();
    if (::pwrite(fd, buf, sizeof buf, (i % 16) * 4096) < 0 || ::fdatasync(fd) != 0) break;
    ms.push_back(std::chrono::duration<double, std::milli>(Steady::now() - t0).count());
  }
  ::close(fd);
  ::unlink(path.c_str());
  std::sort(ms.begin(), ms.end());
  return ms.empty() ? -1 : ms[ms.size() / 2];
}

// 64 writers appending for `seconds` through the group-commit writer.
// sync_threads < 0: audit.sync_threads as configured by default (or
// AUDIT_BENCH_SYNC_THREADS); 0: the previous, unpipelined writer.
Throughput GroupCommit(const std::string& dir, int writers, double seconds, bool payloads,
                       int inflight = 1, int sync_threads = -1) {
  AuditOptions o;
  o.data_dir = dir;
  o.store_url = "sqlite:" + dir + "/steward.db";
  o.payloads = payloads ? PayloadMode::kFull : PayloadMode::kHashes;
  o.sth_interval_ms = 3'600'000;
  // AUDIT_BENCH_COMMIT_DELAY_US overrides audit.commit_delay_us (tuning).
  if (const char* d = std::getenv("AUDIT_BENCH_COMMIT_DELAY_US")) o.commit_delay_us = std::atoll(d);
  if (const char* t = std::getenv("AUDIT_BENCH_SYNC_THREADS")) o.sync_threads = std::atoll(t);
  if (sync_threads >= 0) o.sync_threads = sync_threads;
  auto log = AuditLog::Open(o, nullptr);
  if (!log.ok()) {
    std::cerr << log.status().ToString() << "\n";
    std::exit(1);
  }
  std::atomic<bool> stop{false};
  std::atomic<int64_t> done{0};
  std::vector<std::thread> threads;
  auto start = Steady::now();
  const double cpu0 = ProcessCpuUs();
  for (int t = 0; t < writers; ++t) {
    threads.emplace_back([&, t] {
      const std::string pseudonym = (*log)->Pseudonym("subject-" + std::to_string(t));
      int n = t * 1'000'000;
      // Each writer keeps `inflight` appends outstanding and counts one as
      // done only when it is durable (inflight 1: wait for every record).
      std::deque<std::shared_ptr<AppendHandle>> open;
      while (!stop.load(std::memory_order_relaxed) || !open.empty()) {
        if (!stop.load(std::memory_order_relaxed) && static_cast<int>(open.size()) < inflight) {
          open.push_back((*log)->Append(SampleLeaf(n++, pseudonym, payloads)));
          continue;
        }
        auto r = open.front()->Get();
        open.pop_front();
        if (!r.ok()) {
          std::cerr << r.status().ToString() << "\n";
          std::exit(1);
        }
        done.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& th : threads) th.join();
  double elapsed = Seconds(Steady::now() - start);
  Throughput r;
  r.total = done.load();
  r.per_s = r.total / elapsed;
  r.cpu_us_per_append = r.total ? (ProcessCpuUs() - cpu0) / r.total : 0;
  auto stats = (*log)->Stats();
  r.commits = stats.batches;
  r.flushes = stats.flushes;
  r.commit_ms = stats.batches ? stats.commit_ns_total / 1e6 / stats.batches : 0;
  r.writer_cpu_us_per_append = r.total ? stats.writer_cpu_ns / 1e3 / r.total : 0;
  (*log)->Stop();
  return r;
}

// The baseline: every writer runs its own transaction per record.
Throughput NaivePerRecord(const std::string& dir, int writers, double seconds) {
  auto db = OpenDatabase("sqlite:" + dir + "/steward.db");
  if (!db.ok() || !(*db)->Migrate(AuditMigrations()).ok()) std::exit(1);
  std::atomic<bool> stop{false};
  std::atomic<int64_t> done{0};
  std::vector<std::thread> threads;
  auto start = Steady::now();
  const double cpu0 = ProcessCpuUs();
  for (int t = 0; t < writers; ++t) {
    threads.emplace_back([&, t] {
      int n = t * 1'000'000;
      while (!stop.load(std::memory_order_relaxed)) {
        auto r = AppendLeaves(**db, {SampleLeaf(n++, "s_bench", false)}, nullptr);
        if (!r.ok()) {
          std::cerr << r.status().ToString() << "\n";
          std::exit(1);
        }
        done.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& th : threads) th.join();
  Throughput r;
  r.total = done.load();
  r.per_s = r.total / Seconds(Steady::now() - start);
  r.cpu_us_per_append = r.total ? (ProcessCpuUs() - cpu0) / r.total : 0;
  r.commits = r.total;
  return r;
}

// Bulk path: AppendLeavesInTx in large transactions.
Status BulkFill(Database& db, int64_t target, int64_t batch,
                const std::function<LeafToAppend(int64_t)>& make) {
  Frontier frontier;
  STEWARD_ASSIGN_OR_RETURN(int64_t size, StoredTreeSize(Sql(&db)));
  while (size < target) {
    int64_t n = std::min(batch, target - size);
    std::vector<LeafToAppend> leaves;
    leaves.reserve(n);
    for (int64_t i = 0; i < n; ++i) leaves.push_back(make(size + i));
    STEWARD_ASSIGN_OR_RETURN(auto tx, db.Begin());
    STEWARD_ASSIGN_OR_RETURN(int64_t first, AppendLeavesInTx(*tx, &frontier, leaves, nullptr));
    (void)first;
    STEWARD_RETURN_IF_ERROR(tx->Commit());
    size += n;
  }
  return Status::Ok();
}

// Drops a file's pages from the OS page cache (what a store at rest, or one
// pushed out by other work, looks like to the next reader).
void EvictFromPageCache(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd >= 0) {
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
  }
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * (v.size() - 1));
  return v[i];
}


// ---- 5. the audit stage's share of request latency through the gateway ----

uint16_t FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

bool Connectable(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

bool WaitPort(uint16_t port) {
  for (int i = 0; i < 300; ++i) {
    if (Connectable(port)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

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

// The command's standard output without its trailing line breaks.
std::string RunCapture(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ::pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

// Sends `request` over a fresh loopback connection and returns everything the
// server answered before closing ("" when it cannot connect).
std::string HttpExchange(uint16_t port, const std::string& request) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return "";
  }
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string resp;
  char buf[8192];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) resp.append(buf, n);
  ::close(fd);
  return resp;
}

// POST over a fresh connection; returns the status code (0 on failure).
int HttpPost(uint16_t port, const std::string& body, const std::string& bearer) {
  std::string resp =
      HttpExchange(port, "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                     "Content-Type: application/json\r\nAuthorization: Bearer " + bearer +
                     "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  if (resp.size() < 12) return 0;
  return std::atoi(resp.c_str() + 9);
}

struct ProxyRun {
  double p50_us = 0, mean_us = 0;
  int64_t ok = 0, total = 0;
  double gateway_cpu_us_per_request = 0;  // the steward process's user + system CPU
  // From the gateway's /metrics (audit runs): its audit writer thread's CPU
  // per request and the leaves per group commit during the measured window.
  double audit_writer_cpu_us_per_request = -1;
  double audit_leaves_per_commit = -1;
};

// GET over a fresh connection; the response body ("" on failure).
std::string HttpGet(uint16_t port, const std::string& path, const std::string& bearer) {
  std::string resp = HttpExchange(port, "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                                    "Authorization: Bearer " + bearer + "\r\n\r\n");
  auto body = resp.find("\r\n\r\n");
  return body == std::string::npos ? "" : resp.substr(body + 4);
}

// The value of an unlabelled Prometheus sample `name` (-1 when absent).
double MetricValue(const std::string& text, const std::string& name) {
  size_t p = 0;
  while ((p = text.find(name + " ", p)) != std::string::npos) {
    if (p == 0 || text[p - 1] == '\n') return std::atof(text.c_str() + p + name.size() + 1);
    p += name.size();
  }
  return -1;
}

// user + system CPU of process `pid` so far, in µs (/proc/PID/stat, clock ticks).
double ProcCpuUs(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(stat.substr(close + 2));
  std::string f;
  double utime = 0, stime = 0;
  for (int i = 3; fields >> f; ++i) {  // field 3 is the state
    if (i == 14) utime = std::stod(f);
    if (i == 15) {
      stime = std::stod(f);
      break;
    }
  }
  return (utime + stime) * 1e6 / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// `stages`: the default pipeline minus audit; stages this build lacks are
// dropped from it (shared by both runs, so they compare the same pipeline).
ProxyRun ProxyLatency(const std::string& steward, uint16_t sim_port, const std::string& dir,
                      bool with_audit, int clients, double seconds,
                      std::vector<std::string>& stages) {
  ProxyRun run;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const uint16_t port = FreePort(), admin = FreePort();
  const std::string cfg = dir + "/steward.yaml";
  pid_t gw = -1;
  std::string secret, admin_secret;
  for (int attempt = 0; attempt < 12; ++attempt) {
    std::ofstream c(cfg);
    c << "listen: 127.0.0.1:" << port << "\nadmin_listen: 127.0.0.1:" << admin
      << "\ndata_dir: " << dir << "/var\nupstreams:\n  - name: local\n    url: http://127.0.0.1:"
      << sim_port << "\n    models: [\"*\"]\nregistry:\n  enforce: false\n"
      << "audit:\n  payloads: full\n";
    // AUDIT_BENCH_SYNC_THREADS sets audit.sync_threads of the gateway too.
    if (const char* t = std::getenv("AUDIT_BENCH_SYNC_THREADS")) c << "  sync_threads: " << t << "\n";
    c << "pipeline: [" << (with_audit ? "audit" : "");
    for (size_t i = 0; i < stages.size(); ++i) {
      c << ((i > 0 || with_audit) ? ", " : "") << stages[i];
    }
    c << "]\n";
    c.close();
    std::filesystem::remove(dir + "/serve.log");
    secret = RunCapture(steward + " keys create --name bench --role user --config '" + cfg +
                        "' 2>/dev/null");
    admin_secret = RunCapture(steward + " keys create --name bench-admin --role admin --config '" +
                              cfg + "' 2>/dev/null");
    gw = Spawn({steward, "serve", "--config", cfg}, dir + "/serve.log");
    if (WaitPort(port)) break;
    ::kill(gw, SIGKILL);
    ::waitpid(gw, nullptr, 0);
    gw = -1;
    std::ifstream logf(dir + "/serve.log");
    std::string log((std::istreambuf_iterator<char>(logf)), std::istreambuf_iterator<char>());
    auto p = log.find("unknown stage `");
    if (p == std::string::npos) return run;
    p += 15;
    std::string missing = log.substr(p, log.find('`', p) - p);
    auto it = std::find(stages.begin(), stages.end(), missing);
    if (it == stages.end()) return run;
    stages.erase(it);
  }
  if (gw < 0) return run;
  std::atomic<bool> stop{false};
  // The port opens before the pipeline is ready (scanner and injection
  // models load after it): wait for served calls so start-up CPU stays out
  // of the measured window.
  for (int ok = 0, i = 0; ok < 20 && i < 600; ++i) {
    const std::string warm = R"({"model":"m","messages":[{"role":"user","content":"warm up"}]})";
    if (HttpPost(port, warm, secret) == 200) {
      ++ok;
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const std::string metrics0 = with_audit ? HttpGet(admin, "/metrics", admin_secret) : "";
  const double gw_cpu0 = ProcCpuUs(gw);
  std::vector<std::vector<double>> lat(clients);
  std::vector<int64_t> oks(clients, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < clients; ++t) {
    threads.emplace_back([&, t] {
      int i = 0;
      while (!stop) {
        std::string body = R"({"model":"m","user":"bench)" + std::to_string(t) +
                           R"(","messages":[{"role":"user","content":"Summarise the notes )" +
                           std::to_string(i++) + R"( for the review."}]})";
        auto t0 = Steady::now();
        int status = HttpPost(port, body, secret);
        lat[t].push_back(std::chrono::duration<double, std::micro>(Steady::now() - t0).count());
        if (status == 200) ++oks[t];
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& th : threads) th.join();
  const double gw_cpu = ProcCpuUs(gw) - gw_cpu0;
  const std::string metrics1 = with_audit ? HttpGet(admin, "/metrics", admin_secret) : "";
  ::kill(gw, SIGTERM);
  ::waitpid(gw, nullptr, 0);
  std::vector<double> all;
  for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
  for (auto o : oks) run.ok += o;
  run.total = static_cast<int64_t>(all.size());
  run.gateway_cpu_us_per_request = run.total ? gw_cpu / static_cast<double>(run.total) : 0;
  if (with_audit && run.total > 0) {
    const char* kCpu = "steward_audit_writer_cpu_seconds_total";
    const char* kAppends = "steward_audit_appends_total";
    const char* kCommits = "steward_audit_commits_total";
    const double cpu = MetricValue(metrics1, kCpu) - MetricValue(metrics0, kCpu);
    const double appends = MetricValue(metrics1, kAppends) - MetricValue(metrics0, kAppends);
    const double commits = MetricValue(metrics1, kCommits) - MetricValue(metrics0, kCommits);
    if (MetricValue(metrics0, kCpu) >= 0 && MetricValue(metrics1, kCpu) >= 0) {
      run.audit_writer_cpu_us_per_request = cpu * 1e6 / static_cast<double>(run.total);
      run.audit_leaves_per_commit = commits > 0 ? appends / commits : 0;
    }
  }
  run.p50_us = Percentile(all, 0.5);
  double sum = 0;
  for (double x : all) sum += x;
  run.mean_us = all.empty() ? 0 : sum / all.size();
  return run;
}

// Proofs as the gateway serves them: `steward serve` on the proof store,
// GET /admin/audit/proof/I?size=N over a fresh loopback connection each
// (TCP set-up, HTTP, the admin key check and the proof on the admin plane's
// kept store connection), every answer checked against `root_hex`.
struct ServedProofs {
  std::vector<double> warm_us, evicted_us;
  std::string error;
};
ServedProofs ServedProofLatency(const std::string& steward, const std::string& dir, int64_t size,
                                const std::string& root_hex, std::mt19937_64& rng,
                                const std::function<void()>& evict) {
  ServedProofs out;
  const uint16_t port = FreePort(), admin = FreePort();
  const std::string cfg = dir + "/serve.yaml";
  {
    std::ofstream c(cfg);
    c << "listen: 127.0.0.1:" << port << "\nadmin_listen: 127.0.0.1:" << admin
      << "\ndata_dir: " << dir << "\nupstreams:\n  - name: local\n    url: http://127.0.0.1:9"
      << "\n    models: [\"*\"]\nregistry:\n  enforce: false\n";
  }
  std::string key = RunCapture(steward + " keys create --name proof-bench --role admin --config '" +
                               cfg + "' 2>/dev/null");
  pid_t gw = Spawn({steward, "serve", "--config", cfg}, dir + "/serve.log");
  if (key.empty() || !WaitPort(admin)) {
    out.error = "the gateway did not start on the proof store (see " + dir + "/serve.log)";
    ::kill(gw, SIGKILL);
    ::waitpid(gw, nullptr, 0);
    return out;
  }
  auto served = [&](std::vector<double>& into) {
    const int64_t idx = static_cast<int64_t>(rng() % static_cast<uint64_t>(size));
    auto p0 = Steady::now();
    std::string body = HttpGet(
        admin, "/admin/audit/proof/" + std::to_string(idx) + "?size=" + std::to_string(size), key);
    into.push_back(std::chrono::duration<double, std::micro>(Steady::now() - p0).count());
    if (body.find("\"root_hash\":\"" + root_hex + "\"") == std::string::npos) {
      out.error = "served proof of " + std::to_string(idx) + " is wrong: " + body.substr(0, 200);
    }
  };
  for (int i = 0; i < 500 && out.error.empty(); ++i) served(out.warm_us);
  for (int i = 0; i < 100 && out.error.empty(); ++i) {
    evict();
    served(out.evicted_us);
  }
  ::kill(gw, SIGTERM);
  ::waitpid(gw, nullptr, 0);
  return out;
}
}  // namespace
}  // namespace steward::audit

int main(int argc, char** argv) {
  using namespace steward;
  using namespace steward::audit;
  std::string base = "/tmp/steward-bench-audit";
  int64_t proof_leaves = 10'000'000;
  int64_t verify_leaves = 1'000'000;
  double seconds = 4.0;
  int writers = 64;
  std::string steward_bin, sim_bin;
  std::string parts = "appends,verify,proof,stage,proxy";
  auto want = [&parts](const char* p) { return parts.find(p) != std::string::npos; };
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--dir") base = v;
    else if (k == "--proof-leaves") proof_leaves = std::stoll(v);
    else if (k == "--verify-leaves") verify_leaves = std::stoll(v);
    else if (k == "--seconds") seconds = std::stod(v);
    else if (k == "--writers") writers = std::stoi(v);
    else if (k == "--steward") steward_bin = v;
    else if (k == "--parts") parts = v;
    else if (k == "--sim") sim_bin = v;
  }
  std::filesystem::create_directories(base);
  boost::json::object out;
  out["bench"] = "audit";
  out["writers"] = writers;

  // 1. Durable appends.
  // "closed-appends" / "payload-appends" alone run just the closed-loop case
  // without / with encrypted payloads (profiling).
  if (parts.find("closed-appends") != std::string::npos) {
    Throughput gc = GroupCommit(FreshDir(base, "gc"), writers, seconds, false);
    out["durable_appends_per_s"] = static_cast<int64_t>(gc.per_s);
    out["avg_leaves_per_commit"] = gc.commits ? static_cast<double>(gc.total) / gc.commits : 0.0;
    out["avg_commit_ms"] = gc.commit_ms;
    out["cpu_us_per_append"] = gc.cpu_us_per_append;
    out["writer_cpu_us_per_append"] = gc.writer_cpu_us_per_append;
    out["avg_leaves_per_flush"] = gc.flushes ? static_cast<double>(gc.total) / gc.flushes : 0.0;
    Throughput serial = GroupCommit(FreshDir(base, "gcs"), writers, seconds, false, 1, 0);
    out["baseline_unpipelined_appends_per_s"] = static_cast<int64_t>(serial.per_s);
    out["baseline_unpipelined_cpu_us_per_append"] = serial.cpu_us_per_append;
    out["pipelined_vs_unpipelined_ratio"] = serial.per_s > 0 ? gc.per_s / serial.per_s : 0.0;
  } else if (parts.find("payload-appends") != std::string::npos) {
    Throughput gcp = GroupCommit(FreshDir(base, "gcp"), writers, seconds, true);
    out["durable_appends_per_s_with_encrypted_payloads"] = static_cast<int64_t>(gcp.per_s);
    out["avg_leaves_per_commit_with_encrypted_payloads"] =
        gcp.commits ? static_cast<double>(gcp.total) / gcp.commits : 0.0;
    out["avg_commit_ms_with_encrypted_payloads"] = gcp.commit_ms;
    out["cpu_us_per_append_with_encrypted_payloads"] = gcp.cpu_us_per_append;
  } else if (want("appends")) {
  std::cerr << "group commit (" << writers << " writers, " << seconds << " s)...\n";
  Throughput gc = GroupCommit(FreshDir(base, "gc"), writers, seconds, false);
  std::cerr << "group commit with encrypted payloads...\n";
  Throughput gcp = GroupCommit(FreshDir(base, "gcp"), writers, seconds, true);
  std::cerr << "group commit without pipelining (audit.sync_threads: 0)...\n";
  Throughput serial = GroupCommit(FreshDir(base, "gcs"), writers, seconds, false, 1, 0);
  std::cerr << "naive one transaction per record...\n";
  Throughput naive = NaivePerRecord(FreshDir(base, "naive"), writers, seconds);
  std::cerr << "group commit, 16 appends in flight per writer...\n";
  Throughput piped = GroupCommit(FreshDir(base, "gc16"), writers, seconds, false, 16);
  const double fsync_ms = FsyncMs(base);
  out["fsync_ms_p50"] = fsync_ms;
  out["closed_loop_bound_per_s"] = fsync_ms > 0 ? writers * 1000.0 / fsync_ms : 0.0;
  out["avg_commit_ms"] = gc.commit_ms;
  out["durable_appends_per_s_16_in_flight_per_writer"] = static_cast<int64_t>(piped.per_s);
  out["avg_leaves_per_commit_16_in_flight"] =
      piped.commits ? static_cast<double>(piped.total) / piped.commits : 0.0;
  out["durable_appends_per_s"] = static_cast<int64_t>(gc.per_s);
  out["durable_appends_per_s_target"] = 50000;
  out["baseline_unpipelined_appends_per_s"] = static_cast<int64_t>(serial.per_s);
  out["baseline_unpipelined_cpu_us_per_append"] = serial.cpu_us_per_append;
  out["baseline_unpipelined_avg_leaves_per_commit"] =
      serial.commits ? static_cast<double>(serial.total) / serial.commits : 0.0;
  out["pipelined_vs_unpipelined_ratio"] = serial.per_s > 0 ? gc.per_s / serial.per_s : 0.0;
  out["avg_leaves_per_commit"] = gc.commits ? static_cast<double>(gc.total) / gc.commits : 0.0;
  out["avg_leaves_per_flush"] = gc.flushes ? static_cast<double>(gc.total) / gc.flushes : 0.0;
  out["durable_appends_per_s_with_encrypted_payloads"] = static_cast<int64_t>(gcp.per_s);
  out["cpu_us_per_append"] = gc.cpu_us_per_append;
  out["cpu_us_per_append_with_encrypted_payloads"] = gcp.cpu_us_per_append;
  out["cpu_us_per_append_16_in_flight"] = piped.cpu_us_per_append;
  out["baseline_naive_cpu_us_per_append"] = naive.cpu_us_per_append;
  out["baseline_naive_tx_per_record_appends_per_s"] = static_cast<int64_t>(naive.per_s);
  out["group_commit_vs_naive_ratio"] = naive.per_s > 0 ? gc.per_s / naive.per_s : 0.0;
  // What the closed loop's commits left on disk (leaves in blocks of the
  // commit's size, at most 64).
  const LeafLayoutStats gc_layout = LayoutOf(base + "/gc/steward.db");
  out["appends_block_bytes_per_leaf"] = gc_layout.block_bytes_per_leaf;
  out["appends_leaves_per_block"] = gc_layout.leaves_per_block;
  out["appends_store_bytes_per_leaf"] = gc_layout.file_bytes_per_leaf;
  }
  out["leaf_bytes"] = static_cast<int64_t>(SampleLeaf(1, "s_0123456789abcdef0123456789abcdef", false).leaf.size());

  // 2. audit verify, on the layout of this version (leaves in compressed
  // blocks, migration 11) and, as the baseline, on the same records stored a
  // row per leaf the way stores written before migration 11 hold them.
  if (want("verify")) {
    std::filesystem::remove_all(base + "/verify");  // before this round: other records, kept
    struct Layout {
      std::string name, prefix;
      bool legacy;
    };
    for (const Layout& layout : {Layout{"verify_blocks", "verify_", false},
                                 Layout{"verify_rows", "verify_rows_", true}}) {
      const std::string dir = base + "/" + layout.name;
      std::filesystem::create_directories(dir);
      auto db = OpenDatabase("sqlite:" + dir + "/steward.db");
      if (!db.ok()) return 1;
      auto have = StoredTreeSize(Sql(db->get()));
      if (!have.ok() || *have != verify_leaves) {  // (re)built when the size asked for changed
        db->reset();
        std::filesystem::remove_all(dir);
        std::filesystem::create_directories(dir);
        db = OpenDatabase("sqlite:" + dir + "/steward.db");
        if (!db.ok()) return 1;
        std::cerr << "filling " << verify_leaves << " realistic leaves for verify ("
                  << (layout.legacy ? "a row per leaf" : "blocks") << ")...\n";
        Status s = Status::Ok();
        if (layout.legacy) {
          s = (*db)->Migrate(testing::AuditMigrationsUpTo(10));
          Frontier frontier;
          for (int64_t at = 0; s.ok() && at < verify_leaves; at += 50'000) {
            std::vector<LeafToAppend> leaves;
            for (int64_t i = at; i < std::min(verify_leaves, at + 50'000); ++i) leaves.push_back(RealisticLeaf(i));
            s = testing::AppendLegacyLeaves(**db, frontier, leaves);
          }
          if (s.ok()) s = (*db)->Migrate(AuditMigrations());
        } else {
          s = (*db)->Migrate(AuditMigrations());
          // Big transactions; blocks still hold at most 64 leaves, as the
          // 64-writer closed loop's commits make them.
          if (s.ok()) s = BulkFill(**db, verify_leaves, 50'000, RealisticLeaf);
        }
        if (!s.ok()) {
          std::cerr << s.ToString() << "\n";
          return 1;
        }
      }
      if (!(*db)->Migrate(AuditMigrations()).ok()) return 1;
      auto key = LoadSigningKey(dir, true);
      auto heads = LoadTreeHeads(Sql(db->get()));
      if (heads.ok() && heads->empty()) (void)PublishTreeHead(**db, *key, 1'790'000'000'000);
      // An auditor verifies a store at rest: write back every dirty page (this
      // fill's and the appends part's) first, so the kernel's writeback is not
      // timed as part of verify on a 2-core machine.
      ::sync();
      // Twice: first with the store's files evicted from the OS page cache (a
      // store at rest: the run is bound by the disk), then with its pages
      // cached (the verifier's own work).
      for (const char* f : {"/steward.db", "/steward.db-wal"}) EvictFromPageCache(dir + f);
      for (const std::string kind : {"cold_", ""}) {
        const std::string prefix = layout.prefix + kind;
        std::cerr << "verifying " << layout.name << " (" << (kind.empty() ? "pages cached" : "files evicted")
                  << ")...\n";
        auto t0 = Steady::now();
        const double cpu0 = ProcessCpuUs();
        auto second = OpenDatabase("sqlite:" + dir + "/steward.db");  // as `audit verify` does
        auto v = VerifyStore(**db, key->public_key, second.ok() ? second->get() : nullptr);
        double el = Seconds(Steady::now() - t0);
        const double cpu_s = (ProcessCpuUs() - cpu0) / 1e6;
        if (!v.ok() || !v->ok) {
          std::cerr << "verify failed: " << (v.ok() ? v->problem : v.status().ToString()) << "\n";
          return 1;
        }
        out[prefix + "leaves"] = v->tree_size;
        out[prefix + "seconds"] = el;
        out[prefix + "leaves_per_s"] = static_cast<int64_t>(v->tree_size / el);
        out[prefix + "cpu_seconds"] = cpu_s;
        out[prefix + "leaves_per_cpu_s"] = static_cast<int64_t>(v->tree_size / cpu_s);
      }
      // A leaf read by index (DSAR, ReadCallPrompt, export of one record):
      // with blocks it decompresses the leaf's whole block. Pages cached.
      {
        std::mt19937_64 rng(7);
        std::vector<double> us;
        for (int i = 0; i < 2000; ++i) {
          const int64_t idx = static_cast<int64_t>(rng() % static_cast<uint64_t>(verify_leaves));
          auto r0 = Steady::now();
          auto leaf = ReadStoredLeaf(Sql(db->get()), idx);
          us.push_back(Seconds(Steady::now() - r0) * 1e6);
          if (!leaf.ok() || !*leaf) return 1;
        }
        out[layout.prefix + "read_leaf_by_index_us_p50"] = Percentile(us, 0.5);
      }
      db->reset();
      const LeafLayoutStats st = LayoutOf(dir + "/steward.db");
      out[layout.prefix + "store_bytes_per_leaf"] = st.file_bytes_per_leaf;
      if (!layout.legacy) {
        out["verify_block_bytes_per_leaf"] = st.block_bytes_per_leaf;
        out["verify_leaves_per_block"] = st.leaves_per_block;
      }
    }
    for (const char* kind : {"cold_", ""}) {
      const auto rows = out.if_contains(std::string("verify_rows_") + kind + "leaves_per_s");
      const auto blocks = out.if_contains(std::string("verify_") + kind + "leaves_per_s");
      if (rows && blocks && rows->as_int64() > 0) {
        out[std::string("verify_") + kind + "blocks_vs_rows_ratio"] =
            static_cast<double>(blocks->as_int64()) / static_cast<double>(rows->as_int64());
      }
    }
    out["verify_leaves_per_s_target"] = 1000000;
    out["verify_note"] =
        "verify_*: leaves in zstd blocks (migration 11), verify_rows_*: the same records a row "
        "per leaf (stores before migration 11); *_cold_*: the store's files evicted first "
        "(posix_fadvise DONTNEED), so every page comes off the disk; else its pages cached";
  }

  // 3. Inclusion proofs at 10M leaves.
  if (want("proof")) {
    std::string dir = base + "/proof";
    std::filesystem::create_directories(dir);
    auto db = OpenDatabase("sqlite:" + dir + "/steward.db");
    if (!db.ok() || !(*db)->Migrate(AuditMigrations()).ok()) return 1;
    if (auto from = LeafBlocksFrom(Sql(db->get())); !from.ok() || *from != 0) {
      // Written before migration 11 (a row per leaf): proofs are timed on
      // the current layout, so the store is built again.
      std::cerr << "rebuilding the proof store in the current layout...\n";
      db->reset();
      std::filesystem::remove_all(dir);
      std::filesystem::create_directories(dir);
      db = OpenDatabase("sqlite:" + dir + "/steward.db");
      if (!db.ok() || !(*db)->Migrate(AuditMigrations()).ok()) return 1;
    }
    auto t0 = Steady::now();
    int64_t have = *StoredTreeSize(Sql(db->get()));
    std::cerr << "building the " << proof_leaves << "-leaf store (have " << have << ")...\n";
    Status s = BulkFill(**db, proof_leaves, 100'000, [](int64_t i) {
      return LeafToAppend{"{\"kind\":\"synthetic\",\"n\":" + std::to_string(i) + "}", "synthetic",
                          "", 1'790'000'000'000 + i, "", "", {}};
    });
    if (!s.ok()) {
      std::cerr << s.ToString() << "\n";
      return 1;
    }
    double build_s = Seconds(Steady::now() - t0);
    int64_t size = *StoredTreeSize(Sql(db->get()));
    std::mt19937_64 rng(42);
    std::vector<double> us, cpu_us, cold_us;
    // The root from the stored right edge, independent of the proof code.
    StoreSubtreeSource edge(Sql(db->get()));
    const Hash root = *RangeHash(edge, 0, size);
    auto prove_checked = [&](Database& d, int64_t idx) {
      auto p = ProveInclusion(d, idx, size);
      if (!p.ok() || p->root_hash != root ||
          !VerifyInclusion(idx, size, p->leaf_hash, p->audit_path, root).ok()) {
        std::cerr << "proof failed\n";
        std::exit(1);
      }
    };
    // Warm: the store's pages are in the OS page cache (a running gateway):
    // read the file once first, other work may have pushed it out.
    {
      std::ifstream whole(dir + "/steward.db", std::ios::binary);
      std::vector<char> buf(1 << 20);
      while (whole.read(buf.data(), static_cast<std::streamsize>(buf.size())) || whole.gcount()) {
      }
    }
    for (int i = 0; i < 2000; ++i) {
      int64_t idx = static_cast<int64_t>(rng() % static_cast<uint64_t>(size));
      if (std::getenv("AUDIT_BENCH_SKIP_WARM") && i > 0) break;  // profiling the cold cases
      const double c0 = ThreadCpuUs();
      auto p0 = Steady::now();
      prove_checked(**db, idx);
      us.push_back(std::chrono::duration<double, std::micro>(Steady::now() - p0).count());
      cpu_us.push_back(ThreadCpuUs() - c0);
    }
    // Cold: a fresh connection, and the database file's pages dropped from
    // the OS page cache before each proof, so every node comes off the disk.
    // Split in two to tell a one-off cost from per-proof I/O: a fresh
    // connection with the pages still in the OS cache (what a new process
    // pays: statements prepared, SQLite's own page cache empty), and the
    // pages dropped under a connection that stays open (a serving gateway
    // after its cache was pushed out: disk reads only). Read syscalls and
    // bytes read from the disk (/proc/self/io) are counted per proof.
    const std::string db_path = dir + "/steward.db";
    auto evict = [&db_path] { EvictFromPageCache(db_path); };
    auto io_counter = [](const char* name) -> int64_t {
      std::ifstream io("/proc/self/io");
      std::string key;
      int64_t value = 0;
      while (io >> key >> value) {
        if (key == name) return value;
      }
      return 0;
    };
    std::vector<double> fresh_us, evicted_us;
    int64_t cold_reads = 0, cold_disk_bytes = 0, evicted_reads = 0, evicted_disk_bytes = 0;
    // First, while every page is still in the OS cache (the cold loops below
    // evict the file).
    for (int i = 0; i < 100; ++i) {
      int64_t idx = static_cast<int64_t>(rng() % static_cast<uint64_t>(size));
      auto fresh = OpenDatabase("sqlite:" + db_path);
      if (!fresh.ok()) return 1;
      (void)StoredTreeSize(Sql(fresh->get()));
      auto p0 = Steady::now();
      prove_checked(**fresh, idx);
      fresh_us.push_back(std::chrono::duration<double, std::micro>(Steady::now() - p0).count());
    }
    for (int i = 0; i < 100; ++i) {
      int64_t idx = static_cast<int64_t>(rng() % static_cast<uint64_t>(size));
      auto fresh = OpenDatabase("sqlite:" + db_path);
      if (!fresh.ok()) return 1;
      (void)StoredTreeSize(Sql(fresh->get()));  // schema read outside the timing
      evict();
      const int64_t reads0 = io_counter("syscr:"), bytes0 = io_counter("read_bytes:");
      auto p0 = Steady::now();
      prove_checked(**fresh, idx);
      cold_us.push_back(std::chrono::duration<double, std::micro>(Steady::now() - p0).count());
      cold_reads += io_counter("syscr:") - reads0;
      cold_disk_bytes += io_counter("read_bytes:") - bytes0;
    }
    {
      auto kept = OpenDatabase("sqlite:" + db_path);
      if (!kept.ok()) return 1;
      // A serving process: statements prepared and the b-trees' upper pages
      // in its own cache after earlier proofs.
      for (int i = 0; i < 200; ++i) {
        prove_checked(**kept, static_cast<int64_t>(rng() % static_cast<uint64_t>(size)));
      }
      for (int i = 0; i < 100; ++i) {
        int64_t idx = static_cast<int64_t>(rng() % static_cast<uint64_t>(size));
        evict();
        const int64_t reads0 = io_counter("syscr:"), bytes0 = io_counter("read_bytes:");
        auto p0 = Steady::now();
        prove_checked(**kept, idx);
        evicted_us.push_back(std::chrono::duration<double, std::micro>(Steady::now() - p0).count());
        evicted_reads += io_counter("syscr:") - reads0;
        evicted_disk_bytes += io_counter("read_bytes:") - bytes0;
      }
    }
    out["proof_tree_size"] = size;
    out["proof_store_build_seconds"] = build_s;
    out["proof_store_built_by"] =
        have >= proof_leaves ? "reused cached store"
                             : "AppendLeavesInTx, 100k synthetic leaves per transaction";
    out["inclusion_proof_us_p50"] = Percentile(us, 0.5);
    out["inclusion_proof_us_p99"] = Percentile(us, 0.99);
    out["inclusion_proof_cpu_us_p50"] = Percentile(cpu_us, 0.5);
    out["inclusion_proof_cpu_us_p99"] = Percentile(cpu_us, 0.99);
    out["inclusion_proof_cold_us_p50"] = Percentile(cold_us, 0.5);
    out["inclusion_proof_cold_us_p99"] = Percentile(cold_us, 0.99);
    out["inclusion_proof_cold_reads_per_proof"] = cold_reads / 100.0;
    out["inclusion_proof_cold_disk_kib_per_proof"] = cold_disk_bytes / 1024.0 / 100;
    out["inclusion_proof_fresh_connection_us_p50"] = Percentile(fresh_us, 0.5);
    out["inclusion_proof_fresh_connection_us_p99"] = Percentile(fresh_us, 0.99);
    out["inclusion_proof_evicted_us_p50"] = Percentile(evicted_us, 0.5);
    out["inclusion_proof_evicted_us_p99"] = Percentile(evicted_us, 0.99);
    out["inclusion_proof_evicted_reads_per_proof"] = evicted_reads / 100.0;
    out["inclusion_proof_evicted_disk_kib_per_proof"] = evicted_disk_bytes / 1024.0 / 100;
    out["inclusion_proof_note"] =
        "warm: pages in the OS cache, 2000 random leaves; cold: fresh connection and the db "
        "file evicted (posix_fadvise DONTNEED) before each of 100 proofs; fresh_connection: "
        "a new connection per proof, pages in the OS cache; evicted: the db file evicted before "
        "each proof under one open connection (disk reads only); reads = read syscalls";
    out["inclusion_proof_ms_target"] = 1.0;
    if (!steward_bin.empty() && std::filesystem::exists(steward_bin)) {
      ServedProofs served = ServedProofLatency(steward_bin, dir, size, ToHex(root), rng, evict);
      if (!served.error.empty()) {
        out["inclusion_proof_served_error"] = served.error;
      } else {
        out["inclusion_proof_served_us_p50"] = Percentile(served.warm_us, 0.5);
        out["inclusion_proof_served_us_p99"] = Percentile(served.warm_us, 0.99);
        out["inclusion_proof_served_evicted_us_p50"] = Percentile(served.evicted_us, 0.5);
        out["inclusion_proof_served_evicted_us_p99"] = Percentile(served.evicted_us, 0.99);
        out["inclusion_proof_served_note"] =
            "steward serve on the proof store: GET /admin/audit/proof/I?size=N over a fresh "
            "loopback connection per proof, answer checked; 500 warm, then 100 with the db file "
            "evicted before each. The gateway is otherwise idle: under traffic every commit "
            "empties the admin reader's SQLite page cache (WAL change), so a busy gateway's proof "
            "reads like fresh_connection (pages in the OS cache) or cold (evicted) plus HTTP";
      }
    }
  }

  // 4. The audit stage per call.
  if (want("stage")) {
    std::string dir = FreshDir(base, "stage");
    YAML::Node root = YAML::Load("audit:\n  payloads: full\n");
    ServiceRegistry services;
    StageEnv env;
    env.clock = &SystemClock::Instance();
    env.data_dir = dir;
    env.root_config = &root;
    env.services = &services;
    const StageFactory* f = pipeline::StageRegistry::Global().Find("audit");
    auto stage = (*f)(YAML::Node(), env);
    if (!stage.ok()) return 1;
    std::vector<std::vector<double>> lat(writers);
    std::vector<double> inline_cpu_us(writers, 0.0);
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    const double cpu0 = ProcessCpuUs();
    std::atomic<double> setup_cpu_us{0};
    for (int t = 0; t < writers; ++t) {
      threads.emplace_back([&, t] {
        int n = t * 1'000'000;
        double setup = 0;
        while (!stop.load(std::memory_order_relaxed)) {
          // Building the sample request and response stands in for the rest
          // of the gateway: its CPU is subtracted from the process total.
          const double s0 = ThreadCpuUs();
          RequestContext ctx = SampleContext(n++);
          boost::json::array msgs;
          msgs.push_back(boost::json::object{{"role", "user"}, {"content", kPrompt}});
          ctx.body["messages"] = std::move(msgs);
          ResponseView view;
          view.status = 200;
          view.body = boost::json::object{
              {"choices", boost::json::array{boost::json::object{
                              {"message", boost::json::object{{"content", kCompletion}}}}}}};
          const double s1 = ThreadCpuUs();
          setup += s1 - s0;
          auto p0 = Steady::now();
          (*stage)->OnRequest(ctx);
          (*stage)->OnResponse(ctx, view);
          (*stage)->OnFinish(ctx);
          inline_cpu_us[t] += ThreadCpuUs() - s1;
          for (auto& b : ctx.barriers) {
            std::promise<void> done;
            b->Wait([&done](Status) { done.set_value(); });
            done.get_future().wait();
          }
          lat[t].push_back(std::chrono::duration<double, std::micro>(Steady::now() - p0).count());
        }
        double prev = setup_cpu_us.load();
        while (!setup_cpu_us.compare_exchange_weak(prev, prev + setup)) {
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds / 2));
    stop = true;
    for (auto& th : threads) th.join();
    const double process_cpu = ProcessCpuUs() - cpu0;
    std::vector<double> all;
    for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
    double inline_total = 0;
    for (double c : inline_cpu_us) inline_total += c;
    const double calls = all.empty() ? 1.0 : static_cast<double>(all.size());
    out["stage_calls"] = static_cast<int64_t>(all.size());
    // On the request's own thread: OnRequest + OnResponse + OnFinish
    // (prompt/completion hashing, pseudonym, record JSON, queueing).
    out["stage_cpu_us_per_call_inline"] = inline_total / calls;
    // Everything the audit stage costs per call, the writer thread's share
    // (payload encryption, leaf hash, SQLite inserts, commit) included.
    out["stage_cpu_us_per_call_total"] = (process_cpu - setup_cpu_us.load()) / calls;
    out["stage_latency_us_p50"] = Percentile(all, 0.5);
    out["stage_latency_us_p99"] = Percentile(all, 0.99);
  }

  // 5. Through the gateway: the same load with and without the audit stage.
  if (want("proxy") && !steward_bin.empty() && !sim_bin.empty() && std::filesystem::exists(steward_bin) &&
      std::filesystem::exists(sim_bin)) {
    const uint16_t sim_port = FreePort();
    pid_t sim = Spawn({sim_bin, "--listen", "127.0.0.1:" + std::to_string(sim_port)},
                      base + "/sim.log");
    if (WaitPort(sim_port)) {
      std::cerr << "proxy latency with and without the audit stage...\n";
      std::vector<std::string> stages = {"auth",      "rate_limit", "route",  "registry",
                                         "scan_input", "injection", "policy", "review",
                                         "scan_output"};
      // Twice with audit: the first run settles the stage list.
      (void)ProxyLatency(steward_bin, sim_port, base + "/proxy_audit", true, 16, 0.5, stages);
      ProxyRun with =
          ProxyLatency(steward_bin, sim_port, base + "/proxy_audit", true, 16, seconds, stages);
      ProxyRun without =
          ProxyLatency(steward_bin, sim_port, base + "/proxy_noaudit", false, 16, seconds, stages);
      std::string list;
      for (const auto& st : stages) list += (list.empty() ? "" : ",") + st;
      out["proxy_pipeline_without_audit"] = list;
      out["proxy_clients"] = 16;
      out["proxy_p50_us_with_audit"] = with.p50_us;
      out["proxy_p50_us_without_audit"] = without.p50_us;
      out["proxy_ok_with_audit"] = with.ok;
      out["proxy_ok_without_audit"] = without.ok;
      out["proxy_requests_with_audit"] = with.total;
      out["proxy_requests_without_audit"] = without.total;
      out["stage_share_of_proxy_latency"] =
          with.p50_us > 0 ? (with.p50_us - without.p50_us) / with.p50_us : 0.0;
      // Wall latency on a shared 2-core box swings with other load; the
      // gateway's own CPU per request does not.
      out["proxy_gateway_cpu_us_per_request_with_audit"] = with.gateway_cpu_us_per_request;
      out["proxy_gateway_cpu_us_per_request_without_audit"] =
          without.gateway_cpu_us_per_request;
      out["audit_stage_cpu_us_per_request_in_gateway"] =
          with.gateway_cpu_us_per_request - without.gateway_cpu_us_per_request;
      // Of that: the audit writer thread (SQLite inserts, commit, payload
      // encryption, completing the barriers), from the gateway's /metrics.
      out["proxy_audit_writer_cpu_us_per_request"] = with.audit_writer_cpu_us_per_request;
      out["proxy_audit_leaves_per_commit"] = with.audit_leaves_per_commit;
      // The gateway's small commits on disk (this run's store).
      const LeafLayoutStats proxy_layout = LayoutOf(base + "/proxy_audit/var/steward.db");
      out["proxy_block_bytes_per_leaf"] = proxy_layout.block_bytes_per_leaf;
      out["proxy_leaves_per_block"] = proxy_layout.leaves_per_block;
    }
    ::kill(sim, SIGTERM);
    ::waitpid(sim, nullptr, 0);
  } else {
    out["stage_share_of_proxy_latency"] = nullptr;
    out["stage_share_note"] = "pass --steward and --sim (bench/audit.sh does when they are built)";
  }
  std::cout << boost::json::serialize(out) << std::endl;
  return 0;
}
