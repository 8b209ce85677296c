// make bench-policy: decisions/s and p50/p99 latency per decision for the
// example bundle (examples/policies) and a generated 1,000-rule bundle, each
// against the same bundle evaluated without the rule index (the linear-scan
// baseline). Also the cost of building the policy request from a
// RequestContext plus deciding, as the policy stage does per call.
// Prints one JSON object as its last stdout line.
#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "policy/authorizer.h"
#include "policy/request.h"

namespace {

using namespace steward::policy;
using Clock = std::chrono::steady_clock;

struct Stats {
  double decisions_per_s = 0;
  double p50_ns = 0;
  double p99_ns = 0;
  double mean_ns = 0;
};

// Times each call individually (minus the measured cost of reading the
// clock) for `seconds`, cycling through `requests`.
template <typename F>
Stats Measure(const std::vector<Request>& requests, double seconds, F&& decide) {
  // Clock overhead: the median of back-to-back reads.
  std::vector<int64_t> empty(20000);
  for (auto& e : empty) {
    auto a = Clock::now();
    auto b = Clock::now();
    e = (b - a).count();
  }
  std::nth_element(empty.begin(), empty.begin() + empty.size() / 2, empty.end());
  int64_t overhead = empty[empty.size() / 2];

  for (int i = 0; i < 2000; ++i) decide(requests[i % requests.size()]);  // warm up
  std::vector<int64_t> samples;
  samples.reserve(4'000'000);
  size_t sink = 0;
  auto start = Clock::now();
  auto deadline = start + std::chrono::duration<double>(seconds);
  size_t i = 0;
  while (true) {
    for (int k = 0; k < 256; ++k, ++i) {
      const Request& r = requests[i % requests.size()];
      auto a = Clock::now();
      Decision d = decide(r);
      auto b = Clock::now();
      sink += d.reasons.size();
      samples.push_back(std::max<int64_t>(0, (b - a).count() - overhead));
    }
    if (Clock::now() >= deadline || samples.size() >= 3'900'000) break;
  }
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  if (sink == 42) std::fprintf(stderr, " ");
  Stats s;
  double total = 0;
  for (auto v : samples) total += static_cast<double>(v);
  s.mean_ns = total / static_cast<double>(samples.size());
  std::sort(samples.begin(), samples.end());
  s.p50_ns = static_cast<double>(samples[samples.size() / 2]);
  s.p99_ns = static_cast<double>(samples[samples.size() * 99 / 100]);
  // Throughput from the total time spent deciding (excludes clock reads).
  s.decisions_per_s = 1e9 / s.mean_ns;
  (void)elapsed;
  return s;
}

Request FromJson(const char* json) {
  auto r = RequestFromJsonText(json);
  if (!r.ok()) {
    std::fprintf(stderr, "bad bench request: %s\n", r.status().message().c_str());
    std::exit(2);
  }
  return *r;
}

// A realistic mix for the regulated example bundle.
std::vector<Request> ExampleRequests() {
  return {
      FromJson(R"({"principal":{"role":"user","key_id":"k1"},"action":"chat.completions",
                  "resource":{"name":"llama-3-8b","license":"Apache-2.0","commercial_use":true},
                  "context":{"injection_score":0.02,"tokens":{"prompt":120},"request_bytes":900}})"),
      FromJson(R"({"principal":{"role":"analyst"},"action":"chat.completions",
                  "resource":{"name":"llama-3-8b"},
                  "context":{"findings":{"EMAIL_ADDRESS":{"count":1,"max_score":0.99},
                                         "PERSON":{"count":2,"max_score":0.8}}}})"),
      FromJson(R"({"principal":{"role":"user"},"action":"chat.completions",
                  "context":{"findings":{"AWS_ACCESS_KEY":{"count":1,"max_score":1.0}}}})"),
      FromJson(R"({"principal":{"role":"user"},"action":"completions",
                  "context":{"injection_score":0.93,"subject_flags":["no-store"]}})"),
      FromJson(R"({"principal":{"role":"admin"},"action":"subjects.erase",
                  "context":{"plane":"admin"}})"),
      FromJson(R"({"principal":{"role":"guest"},"action":"embeddings"})"),
      FromJson(R"({"principal":{"role":"user"},"action":"chat.completions",
                  "resource":{"name":"nc-model","license":"CC-BY-NC-4.0","commercial_use":false},
                  "context":{"deployment":{"commercial":true}}})"),
  };
}

const char* kRoles[] = {"user",    "admin", "analyst", "support", "research",
                        "finance", "legal", "ops",     "sales",   "hr"};
const char* kActions[] = {"chat.completions", "completions", "embeddings", "models"};

// 1,000 rules: 880 permits scoped to a role and a model (of 200) with a
// residual condition, 60 obligations and 60 forbids on content (some
// scoped, some global, a few using `matches`).
std::string GeneratedBundle() {
  std::string t = "const SECRETS = [\"AWS_ACCESS_KEY\", \"PRIVATE_KEY\", \"GITHUB_TOKEN\"];\n";
  int n = 0;
  for (int i = 0; i < 880; ++i, ++n) {
    t += "@id(\"permit-" + std::to_string(i) + "\") permit (principal.role == \"" + kRoles[i % 10] +
         "\", action in [\"chat.completions\", \"completions\"], resource.name == \"model-" +
         std::to_string(i % 200) +
         "\") when { context.tokens.total <= " + std::to_string(1000 + i) +
         " && context.injection_score < 0.9 };\n";
  }
  for (int i = 0; i < 60; ++i, ++n) {
    t += "@id(\"obligate-" + std::to_string(i) + "\") obligate (principal.role == \"" +
         kRoles[i % 10] + "\") when { context.findings.EMAIL_ADDRESS.count > " +
         std::to_string(i % 3) +
         " } with redact([\"EMAIL_ADDRESS\", \"PERSON\"], \"mask\"), limit(\"max_tokens\", " +
         std::to_string(500 + i) + ");\n";
  }
  for (int i = 0; i < 60; ++i, ++n) {
    if (i % 3 == 0) {
      t += "@id(\"forbid-" + std::to_string(i) + "\") forbid (resource.name == \"model-" +
           std::to_string(i) +
           "\") when { context.time.hour < 6 || context.subject.matches(\"^blocked-[0-9]+$\") };\n";
    } else if (i % 3 == 1) {
      t += "@id(\"forbid-" + std::to_string(i) + "\") forbid (principal.role == \"" +
           kRoles[i % 10] +
           "\") when { context.finding_types.containsAny(SECRETS) && context.request_bytes > " +
           std::to_string(i) + " };\n";
    } else {
      t += "@id(\"forbid-" + std::to_string(i) + "\") forbid when { context.injection_score >= 0." +
           std::to_string(90 + i % 10) + " && context.findings_total > " + std::to_string(i) +
           " };\n";
    }
  }
  return t;
}

std::vector<Request> GeneratedRequests() {
  std::vector<Request> out;
  unsigned seed = 12345;
  auto next = [&seed] { return seed = seed * 1103515245u + 12345u, (seed >> 8) & 0xffffff; };
  for (int i = 0; i < 4096; ++i) {
    Request r;
    r.SetString(Attr::kPrincipalRole, kRoles[next() % 10]);
    r.SetString(Attr::kAction, kActions[next() % 4]);
    r.SetString(Attr::kResourceName, "model-" + std::to_string(next() % 200));
    r.SetString(Attr::kContextSubject, "subject-" + std::to_string(next() % 1000));
    r.SetLong(Attr::kContextTimeUnixMs, 1'764'000'000'000 + static_cast<int64_t>(next()) * 1000);
    r.SetLong(Attr::kContextTokensPrompt, next() % 2000);
    r.SetLong(Attr::kContextRequestBytes, next() % 50000);
    r.SetDouble(Attr::kContextInjectionScore, (next() % 1000) / 1000.0);
    if (next() % 4 == 0) r.AddFinding("EMAIL_ADDRESS", next() % 3, 0.9);
    if (next() % 20 == 0) r.AddFinding("PRIVATE_KEY", 1, 1.0);
    r.Finish();
    out.push_back(std::move(r));
  }
  return out;
}

boost::json::object ToJson(const Stats& s) {
  return {{"decisions_per_s", static_cast<int64_t>(s.decisions_per_s)},
          {"p50_us", s.p50_ns / 1000.0},
          {"p99_us", s.p99_ns / 1000.0},
          {"mean_us", s.mean_ns / 1000.0}};
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 2.0;
  std::string example_dir = "examples/policies";
  for (int i = 1; i + 1 < argc; ++i) {
    std::string a = argv[i];
    if (a == "--seconds")
      seconds = std::atof(argv[++i]);
    else if (a == "--example")
      example_dir = argv[++i];
  }
  auto example = LoadBundle({example_dir});
  if (!example.ok()) {
    std::fprintf(stderr, "example bundle: %s\n", example.status().message().c_str());
    return 2;
  }
  auto generated = Bundle::Compile({{"generated.policy", GeneratedBundle()}});
  if (!generated.ok()) {
    std::fprintf(stderr, "generated bundle: %s\n", generated.status().message().c_str());
    return 2;
  }
  const Bundle& ex = **example;
  const Bundle& gen = **generated;
  auto ex_requests = ExampleRequests();
  auto gen_requests = GeneratedRequests();

  // Sanity: indexed and linear decisions agree on every bench request.
  for (const auto* set : {&ex_requests, &gen_requests}) {
    const Bundle& b = set == &ex_requests ? ex : gen;
    for (const auto& r : *set) {
      Decision a = b.Authorize(r), u = b.AuthorizeUnindexed(r);
      if (a.verdict != u.verdict || a.reasons != u.reasons) {
        std::fprintf(stderr, "index and linear scan disagree\n");
        return 1;
      }
    }
  }

  Stats ex_idx = Measure(ex_requests, seconds, [&](const Request& r) { return ex.Authorize(r); });
  Stats ex_lin =
      Measure(ex_requests, seconds / 2, [&](const Request& r) { return ex.AuthorizeUnindexed(r); });
  Stats gen_idx =
      Measure(gen_requests, seconds, [&](const Request& r) { return gen.Authorize(r); });
  Stats gen_lin = Measure(gen_requests, seconds / 2,
                          [&](const Request& r) { return gen.AuthorizeUnindexed(r); });

  // Stage path: RequestContext -> Request -> decision (example bundle).
  steward::RequestContext ctx;
  ctx.endpoint = steward::Endpoint::kChatCompletions;
  ctx.principal = {true, "k1", "alice", "analyst", "risk"};
  ctx.model = "llama-3-8b";
  ctx.model_license = "Apache-2.0";
  ctx.findings.push_back({"EMAIL_ADDRESS", "input", 1, 0.99, "pseudonymize"});
  ctx.injection_score = 0.05;
  ctx.start_unix_ms = 1'764'000'000'000;
  std::vector<Request> one = {Request()};
  Stats stage = Measure(one, seconds / 2, [&](const Request&) {
    return ex.Authorize(RequestFromContext(ctx, RequestDefaults{}));
  });

  std::printf(
      "example bundle (%zu rules): p50 %.2f us, p99 %.2f us, %.0f decisions/s (linear %.2f us "
      "p50)\n",
      ex.rules().size(), ex_idx.p50_ns / 1000, ex_idx.p99_ns / 1000, ex_idx.decisions_per_s,
      ex_lin.p50_ns / 1000);
  std::printf(
      "generated bundle (%zu rules): p50 %.2f us, p99 %.2f us, %.0f decisions/s (linear %.2f us "
      "p50)\n",
      gen.rules().size(), gen_idx.p50_ns / 1000, gen_idx.p99_ns / 1000, gen_idx.decisions_per_s,
      gen_lin.p50_ns / 1000);
  boost::json::object out;
  boost::json::object e = ToJson(ex_idx);
  e["rules"] = ex.rules().size();
  e["linear_scan"] = ToJson(ex_lin);
  e["speedup_vs_linear_p50"] = ex_lin.p50_ns / std::max(1.0, ex_idx.p50_ns);
  e["target_p50_us"] = 2.0;
  e["p50_vs_target"] = ex_idx.p50_ns / 1000.0 / 2.0;
  boost::json::object g = ToJson(gen_idx);
  g["rules"] = gen.rules().size();
  g["linear_scan"] = ToJson(gen_lin);
  g["speedup_vs_linear_p50"] = gen_lin.p50_ns / std::max(1.0, gen_idx.p50_ns);
  g["target_p50_us"] = 20.0;
  g["p50_vs_target"] = gen_idx.p50_ns / 1000.0 / 20.0;
  g["growth_p50_vs_example"] = gen_idx.p50_ns / std::max(1.0, ex_idx.p50_ns);
  out["bench"] = "policy";
  out["example_bundle"] = std::move(e);
  out["generated_1000_rules"] = std::move(g);
  out["stage_path_request_build_plus_decision"] = ToJson(stage);
  std::printf("%s\n", boost::json::serialize(out).c_str());
  return 0;
}
