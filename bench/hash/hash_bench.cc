// bench_hash genfile PATH MB   writes MB mebibytes of pseudo-random bytes (not sparse)
// bench_hash hash PATH         streams PATH through registry::Sha256File; prints JSON
// bench_hash lookup            registry lookup cost on the request path; prints JSON
#include <benchmark/benchmark.h>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "registry/hash.h"
#include "registry/snapshot.h"
#include "stages/registry/registry_stage.h"
#include "steward/clock.h"
#include "steward/store.h"

namespace {

using Clock = std::chrono::steady_clock;

int GenFile(const std::string& path, long mb) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  std::vector<uint64_t> buf((4u << 20) / 8);
  uint64_t x = 0x9E3779B97F4A7C15ull;
  for (long written = 0; written < mb; written += 4) {
    for (auto& w : buf) {  // xorshift64: incompressible, cheap
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      w = x;
    }
    size_t bytes = std::min<long>(4, mb - written) << 20;
    out.write(reinterpret_cast<const char*>(buf.data()), static_cast<std::streamsize>(bytes));
  }
  return out ? 0 : 1;
}

int Hash(const std::string& path) {
  auto t0 = Clock::now();
  uint64_t size = 0;
  auto digest = steward::registry::Sha256File(path, &size);
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  if (!digest.ok()) {
    std::fprintf(stderr, "%s\n", digest.status().ToString().c_str());
    return 1;
  }
  std::printf("{\"bytes\":%llu,\"seconds\":%.4f,\"sha256\":\"%s\"}\n",
              static_cast<unsigned long long>(size), secs, digest->c_str());
  return 0;
}

std::vector<steward::registry::ModelVersion> FakeRegistry(int models) {
  std::vector<steward::registry::ModelVersion> versions;
  int64_t seq = 0;
  for (int i = 0; i < models; ++i) {
    for (int v = 1; v <= 3; ++v) {
      steward::registry::ModelVersion m;
      m.name = "org/model-" + std::to_string(i);
      m.version = std::to_string(v);
      m.state = v == 3 ? "registered" : "deployed";
      m.deploy_role = v == 1 ? "primary" : v == 2 ? "canary" : "";
      m.canary_percent = v == 2 ? 10 : 0;
      m.manifest_digest = std::string(64, 'a' + v);
      m.license = "Apache-2.0";
      m.tags = {"chat", "prod"};
      m.attrs = {{"residency", "eu"}};
      m.seq = ++seq;
      versions.push_back(std::move(m));
    }
  }
  return versions;
}

int Lookup() {
  constexpr int kModels = 500;
  constexpr int kIters = 2'000'000;
  steward::registry::Snapshot snapshot(FakeRegistry(kModels), 1);
  std::vector<std::string> names, subjects;
  for (int i = 0; i < 64; ++i) {
    names.push_back("org/model-" + std::to_string((i * 37) % kModels));
    subjects.push_back("user-" + std::to_string(i * 7919));
  }
  auto t0 = Clock::now();
  for (int i = 0; i < kIters; ++i) {
    auto r = snapshot.Resolve(names[i & 63], subjects[i & 63]);
    benchmark::DoNotOptimize(r.entry);
  }
  double resolve_ns = std::chrono::duration<double, std::nano>(Clock::now() - t0).count() / kIters;

  // The whole stage hook as the gateway runs it: snapshot load, resolve,
  // filling the request context.
  std::string dir = "/tmp/steward-bench-lookup-" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  auto db = steward::OpenDatabase("sqlite:" + dir + "/steward.db");
  if (!db.ok()) return 1;
  steward::FakeClock clock;
  steward::StageEnv env;
  env.db = db->get();
  env.clock = &clock;
  env.data_dir = dir;
  YAML::Node root = YAML::Load("registry: {enforce: true}");
  auto service = steward::stages::MakeRegistryService(root, env, false);
  if (!service.ok()) return 1;
  // Load the same fake registry through the store so the stage sees it.
  steward::registry::Registry& reg = (*service)->registry();
  (void)reg;
  std::string model_file = dir + "/m.bin";
  std::ofstream(model_file) << "weights";
  for (int i = 0; i < kModels; ++i) {
    steward::registry::RegisterRequest req{model_file, "org/model-" + std::to_string(i), "1"};
    req.license = "apache-2.0";
    req.tags = {"chat", "prod"};
    req.attrs = {{"residency", "eu"}};
    if (!reg.Register(req).ok() || !reg.Approve(req.name, "1", "bench", false).ok() ||
        !reg.Deploy(req.name, "1", 0, "bench").ok()) {
      std::fprintf(stderr, "setup failed\n");
      return 1;
    }
  }
  if (!(*service)->RefreshNow().ok()) return 1;
  steward::stages::RegistryStage stage(*service);
  std::vector<steward::RequestContext> contexts(64);
  for (int i = 0; i < 64; ++i) {
    contexts[i].endpoint = steward::Endpoint::kChatCompletions;
    contexts[i].model = names[i];
    contexts[i].subject = subjects[i];
  }
  constexpr int kStageIters = 1'000'000;
  t0 = Clock::now();
  for (int i = 0; i < kStageIters; ++i) {
    auto result = stage.OnRequest(contexts[i & 63]);
    benchmark::DoNotOptimize(result.action);
  }
  double stage_ns =
      std::chrono::duration<double, std::nano>(Clock::now() - t0).count() / kStageIters;
  if (contexts[0].model_version != "1") {
    std::fprintf(stderr, "stage did not resolve the model\n");
    return 1;
  }
  service->reset();
  std::filesystem::remove_all(dir);
  std::printf("{\"models\":%d,\"resolve_ns\":%.1f,\"stage_on_request_ns\":%.1f}\n", kModels,
              resolve_ns, stage_ns);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "genfile" && argc == 4) return GenFile(argv[2], std::atol(argv[3]));
  if (mode == "hash" && argc == 3) return Hash(argv[2]);
  if (mode == "lookup") return Lookup();
  std::fprintf(stderr, "usage: bench_hash genfile PATH MB | hash PATH | lookup\n");
  return 2;
}
