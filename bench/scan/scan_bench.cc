// make bench-scan: single-core throughput of the scanner on a generated
// mixed corpus (prose, chat, code, logs with PII and secrets sprinkled in),
// pattern path alone and with PERSON/LOCATION, and the latency the
// scan_input stage adds to a 4 KB chat prompt. Writes the corpus (as
// ~0.8 KB paragraphs, one per line) for the npm baselines in bench/scan.sh.
//
//   scan_bench [--mb 64] [--corpus-out FILE] [--only patterns|names|stage|prompt]
//              [--repeat N] [--dump FILE] [--prompt-out FILE]
// Prints one JSON object on the last line. --only scans the corpus in that
// mode alone (a profiling target; --only prompt times the stage-latency
// prompt: stage and Scan(), names on and off); --dump writes every finding of both
// modes (document, type, start, end, score) so an engine change can be
// checked for identical results on the whole corpus.
#include <malloc.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "scan/scan_config.h"
#include "scan/scanner.h"
#include "scan/stream.h"
#include "stages/scan_input/scan_input_stage.h"

using namespace steward;
using SteadyClock = std::chrono::steady_clock;

namespace {

const char* kProse[] = {
    "The committee reviewed the quarterly figures and agreed to postpone the decision until more data is available.",
    "In the afternoon the team walked through the migration plan, step by step, and noted the open risks.",
    "Most of the survey answers were positive, although several respondents asked for clearer documentation.",
    "The new cache layer reduced the median response time, but the tail latency still needs work.",
    "Please keep the meeting short; we only need to agree on the rollout order and the owners.",
    "After the storm, the volunteers cleared the roads and reopened the library for the neighbourhood.",
    "She argued that the proposal was sound, yet the budget would not cover a second pilot this year.",
    "Our support queue grew last week because the billing page showed the wrong currency for some users.",
};
const char* kNames[] = {"Maria Garcia", "John Smith", "Aiko Tanaka", "Lars Johansson", "Fatima Khan",
                        "Pierre Dubois", "Olga Petrova", "Chen Wei", "Kwame Mensah", "Sofia Rossi"};
const char* kCities[] = {"Berlin", "Lisbon", "Toronto", "Nairobi", "Osaka", "Krakow", "Austin", "Lyon"};

std::string Digits(std::mt19937& rng, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s.push_back(static_cast<char>('0' + rng() % 10));
  return s;
}

std::string Pii(std::mt19937& rng) {
  switch (rng() % 9) {
    case 0: return "maria." + Digits(rng, 3) + "@example.org";
    case 1: return "+44 20 " + Digits(rng, 4) + " " + Digits(rng, 4);
    case 2: return "4111 1111 1111 1111";
    case 3: return "GB82 WEST 1234 5698 7654 32";
    case 4: return "536-90-" + Digits(rng, 4);
    case 5: return std::to_string(10 + rng() % 200) + "." + std::to_string(rng() % 255) + ".3." + std::to_string(1 + rng() % 250);
    case 6: return "https://portal.example.com/u/" + Digits(rng, 6);
    case 7: return "AKIA" + std::string("IOSFODNN7EXAMPLE");
    default: return "2024-0" + std::to_string(1 + rng() % 9) + "-1" + std::to_string(rng() % 10);
  }
}

// One ~0.8 KB paragraph of one of four kinds.
std::string Paragraph(std::mt19937& rng) {
  std::string p;
  int kind = rng() % 4;
  while (p.size() < 800) {
    switch (kind) {
      case 0:  // prose
        p += kProse[rng() % 8];
        if (rng() % 4 == 0) p += std::string(" ") + kNames[rng() % 10] + " from " + kCities[rng() % 8] + " agreed.";
        p += " ";
        break;
      case 1:  // chat
        p += std::string(kNames[rng() % 10]).substr(0, 5) + ": ";
        p += kProse[rng() % 8];
        if (rng() % 3 == 0) p += " My contact is " + Pii(rng) + ".";
        p += "\n";
        break;
      case 2:  // code
        p += "for (int i = 0; i < n; ++i) { total += values[i] * weight; }\n";
        p += "config = load_config(\"settings.yaml\")  # retries=" + Digits(rng, 1) + "\n";
        if (rng() % 5 == 0) p += "api_key = \"" + Digits(rng, 8) + "aB3xY9qLmN2pQ7rT\"\n";
        break;
      default:  // logs
        p += "2024-05-1" + Digits(rng, 1) + "T10:" + Digits(rng, 2).substr(0, 1) + "5:00Z INFO request id=" +
             Digits(rng, 8) + " path=/v1/items status=200 bytes=" + Digits(rng, 4);
        if (rng() % 3 == 0) p += " client=" + Pii(rng);
        p += "\n";
    }
  }
  return p;
}

// Resident set size of this process in MB (after returning freed heap
// pages, so compile-time garbage is not counted).
double RssMb() {
  malloc_trim(0);
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return 0;
  char line[256];
  double kb = 0;
  while (std::fgets(line, sizeof(line), f))
    if (std::sscanf(line, "VmRSS: %lf kB", &kb) == 1) break;
  std::fclose(f);
  return kb / 1024.0;
}

double Seconds(SteadyClock::time_point a, SteadyClock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// CPU time of this thread: "single-core MB/s" independent of how busy the
// machine is (wall-clock figures are reported next to it).
double CpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct Rate {
  double cpu_mbps = 0, wall_mbps = 0;
};

Rate ScanMbps(const scan::Scanner& s, const std::vector<std::string>& docs, bool names,
              size_t* findings) {
  scan::ScanOptions o;
  o.names = names;
  size_t bytes = 0, n = 0;
  auto t0 = SteadyClock::now();
  double c0 = CpuSeconds();
  for (const auto& d : docs) {
    n += s.Scan(d, o).size();
    bytes += d.size();
  }
  double cpu = CpuSeconds() - c0;
  double sec = Seconds(t0, SteadyClock::now());
  if (findings) *findings = n;
  return {bytes / 1e6 / cpu, bytes / 1e6 / sec};
}

// The scan_input stage as the gateway builds it from a config file `yaml`.
std::unique_ptr<stages::ScanInputStage> MakeInputStage(const scan::Scanner& s, const char* yaml) {
  YAML::Node root = YAML::Load(yaml);
  auto settings = scan::ParseScanSettings("bench", root["scan"]);
  return std::make_unique<stages::ScanInputStage>(
      std::make_shared<const scan::ScanSettings>(*settings), &s,
      "0123456789abcdef0123456789abcdef");
}

// CPU microseconds of the stage's OnRequest on a chat call whose one user
// message is `prompt` (the request is built before the clock starts).
double InputStageCpuUs(stages::ScanInputStage& stage, const std::string& prompt) {
  RequestContext ctx;
  ctx.endpoint = Endpoint::kChatCompletions;
  ctx.principal.role = "user";
  ctx.body["model"] = "m";
  boost::json::array msgs;
  msgs.push_back(boost::json::object{{"role", "user"}, {"content", prompt}});
  ctx.body["messages"] = std::move(msgs);
  double c0 = CpuSeconds();
  stage.OnRequest(ctx);
  return (CpuSeconds() - c0) * 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  size_t mb = 64;
  std::string corpus_out, only, dump, prompt_out;
  int repeat = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--mb")) mb = std::stoul(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--corpus-out")) corpus_out = argv[i + 1];
    else if (!std::strcmp(argv[i], "--only")) only = argv[i + 1];
    else if (!std::strcmp(argv[i], "--dump")) dump = argv[i + 1];
    else if (!std::strcmp(argv[i], "--prompt-out")) prompt_out = argv[i + 1];
    else if (!std::strcmp(argv[i], "--repeat")) repeat = std::max(1, std::atoi(argv[i + 1]));
  }
  // The scanner is created before the corpus exists: its memory is then
  // measured against a cold heap, not one warm with the corpus's garbage.
  std::string dir = scan::FindScanDataDir();
  double rss0 = RssMb();
  auto t_create = SteadyClock::now();
  auto full = scan::Scanner::Create(dir);
  double create_s = Seconds(t_create, SteadyClock::now());
  double scanner_rss_mb = RssMb() - rss0;
  if (!full.ok()) {
    std::fprintf(stderr, "%s\n", full.status().ToString().c_str());
    return 1;
  }
  const scan::Scanner& s = **full;
  std::mt19937 rng(20261127);
  std::vector<std::string> paragraphs;
  size_t total = 0;
  while (total < mb << 20) {
    paragraphs.push_back(Paragraph(rng));
    total += paragraphs.back().size();
  }
  // 4 KB documents (five paragraphs) are the unit a prompt or reply is.
  std::vector<std::string> docs;
  for (size_t i = 0; i < paragraphs.size(); i += 5) {
    std::string d;
    for (size_t j = i; j < std::min(i + 5, paragraphs.size()); ++j) d += paragraphs[j] + "\n";
    docs.push_back(std::move(d));
  }
  // The 4 KB chat prompt of the stage-latency figures (drawn right after the
  // corpus, so it depends on --mb).
  std::string prompt;
  while (prompt.size() < 4096) prompt += Paragraph(rng);
  prompt.resize(4096);
  if (!prompt_out.empty()) std::ofstream(prompt_out) << prompt;
  if (!corpus_out.empty()) {
    std::ofstream out(corpus_out);
    for (const auto& p : paragraphs) {
      std::string line = p;
      std::replace(line.begin(), line.end(), '\n', ' ');
      out << line << "\n";
    }
  }
  if (!dump.empty()) {
    std::FILE* f = std::fopen(dump.c_str(), "w");
    if (!f) {
      std::fprintf(stderr, "cannot write %s\n", dump.c_str());
      return 1;
    }
    for (bool names : {false, true}) {
      scan::ScanOptions o;
      o.names = names;
      for (size_t i = 0; i < docs.size(); ++i)
        for (const auto& x : s.Scan(docs[i], o))
          std::fprintf(f, "%d %zu %.*s %zu %zu %.6f\n", names, i, static_cast<int>(x.type.size()),
                       x.type.data(), x.start, x.end, x.score);
    }
    std::fclose(f);
    return 0;
  }
  if (only == "stage") {
    // The scan_input stage alone (names off) on 4 KB prompts, repeated: a
    // profiling target for the stage's own overhead around Scan().
    auto stage = MakeInputStage(s, "{scan: {names: false}}");
    double cpu = 0, scan_cpu = 0;
    size_t requests = 0;
    for (int k = 0; k < repeat; ++k) {
      for (size_t d = 0; d < std::min<size_t>(docs.size(), 2000); ++d) {
        cpu += InputStageCpuUs(*stage, docs[d]) / 1e6;
        ++requests;
      }
    }
    // The same documents through Scan() alone, for the stage's share.
    scan::ScanOptions o;
    o.names = false;
    double c1 = CpuSeconds();
    for (int k = 0; k < repeat; ++k)
      for (size_t d = 0; d < std::min<size_t>(docs.size(), 2000); ++d) s.Scan(docs[d], o);
    scan_cpu = CpuSeconds() - c1;
    std::printf("{\"only\":\"stage\",\"stage_4kb_us\":%.1f,\"scan_4kb_us\":%.1f}\n",
                cpu * 1e6 / requests, scan_cpu * 1e6 / requests);
    return 0;
  }
  if (only == "prompt") {
    // The stage-latency prompt alone, interleaved per round: the stage with
    // the default config (names on), Scan() with and without names, and the
    // stage with names off; p50 of each (a profiling target for the
    // stage_4kb figures, and their split).
    auto stage_names = MakeInputStage(s, "{}");
    auto stage_patterns = MakeInputStage(s, "{scan: {names: false}}");
    auto run_stage = [&](stages::ScanInputStage& st) { return InputStageCpuUs(st, prompt); };
    scan::ScanOptions with_names, patterns_only;
    patterns_only.names = false;
    std::vector<double> t[4];
    size_t n = 0;
    for (int i = 0; i < 3000 * repeat; ++i) {
      t[0].push_back(run_stage(*stage_names));
      double c0 = CpuSeconds();
      n += s.Scan(prompt, with_names).size();
      double c1 = CpuSeconds();
      n += s.Scan(prompt, patterns_only).size();
      double c2 = CpuSeconds();
      t[1].push_back((c1 - c0) * 1e6);
      t[2].push_back((c2 - c1) * 1e6);
      t[3].push_back(run_stage(*stage_patterns));
    }
    for (auto& v : t) std::sort(v.begin(), v.end());
    std::printf(
        "{\"only\":\"prompt\",\"stage_4kb_p50_us\":%.1f,\"scan_names_p50_us\":%.1f,"
        "\"scan_patterns_p50_us\":%.1f,\"stage_4kb_patterns_only_p50_us\":%.1f,\"findings\":%zu}\n",
        t[0][t[0].size() / 2], t[1][t[1].size() / 2], t[2][t[2].size() / 2],
        t[3][t[3].size() / 2], n / (3000 * repeat));
    return 0;
  }
  if (!only.empty()) {
    // --repeat scans the corpus several times so a profile is dominated by
    // scanning rather than by corpus generation and scanner start-up.
    size_t n = 0;
    Rate r;
    for (int k = 0; k < repeat; ++k) {
      Rate one = ScanMbps(s, docs, only == "names", &n);
      if (k == 0 || one.cpu_mbps > r.cpu_mbps) r = one;
    }
    std::printf("{\"only\":\"%s\",\"cpu_mbps\":%.1f,\"findings\":%zu,\"scanner_rss_mb\":%.1f}\n",
                only.c_str(), r.cpu_mbps, n, scanner_rss_mb);
    return 0;
  }
  // Warm up (page in the database and the model).
  ScanMbps(s, std::vector<std::string>(docs.begin(), docs.begin() + 200), true, nullptr);
  size_t f_patterns = 0, f_names = 0;
  Rate mbps_patterns = ScanMbps(s, docs, false, &f_patterns);
  Rate mbps_names = s.has_names() ? ScanMbps(s, docs, true, &f_names) : Rate{};
  // The plain engine (no hand-matched phone/year ends, no pre-filters,
  // compiled databases) on the same documents: the fast paths' own ratio,
  // measured in the same run. Findings must be equal.
  Rate mbps_plain{};
  size_t f_plain = 0;
  {
    scan::EngineOptions plain_options;
    plain_options.fast_paths = false;
    plain_options.use_serialized = false;
    auto plain = scan::Scanner::Create("", plain_options);
    if (plain.ok()) {
      ScanMbps(**plain, std::vector<std::string>(docs.begin(), docs.begin() + 200), false, nullptr);
      mbps_plain = ScanMbps(**plain, docs, false, &f_plain);
    }
  }
  // The same 0.8 KB paragraphs the npm baselines see.
  std::vector<std::string> small(paragraphs.begin(), paragraphs.begin() + std::min<size_t>(paragraphs.size(), 20000));
  Rate mbps_paragraphs = ScanMbps(s, small, false, nullptr);
  Rate mbps_paragraphs_names = s.has_names() ? ScanMbps(s, small, true, nullptr) : Rate{};
  // One 5 MB input in a single call (linear time on big inputs).
  std::string big;
  for (const auto& p : paragraphs) {
    if (big.size() > (5u << 20)) break;
    big += p + "\n";
  }
  double cb = CpuSeconds();
  s.Scan(big);
  double big_ms = (CpuSeconds() - cb) * 1e3;

  // scan_input stage latency on a 4 KB chat prompt (default policy:
  // pseudonymize PII), measured around OnRequest only.
  auto stage = MakeInputStage(s, "{}");
  std::vector<double> us;
  for (int i = 0; i < 3000; ++i) us.push_back(InputStageCpuUs(*stage, prompt));
  std::sort(us.begin(), us.end());
  double p50 = us[us.size() / 2], p99 = us[us.size() * 99 / 100];
  // Stage latency with PERSON/LOCATION off (pattern path only).
  auto stage2 = MakeInputStage(s, "{scan: {names: false}}");
  std::vector<double> us2;
  for (int i = 0; i < 3000; ++i) us2.push_back(InputStageCpuUs(*stage2, prompt));
  std::sort(us2.begin(), us2.end());

  // Fixed per-request cost: a ~100-byte chat message (no PII), per request
  // averaged over batches of 200 (contexts built before the clock starts;
  // the thread-CPU clock is too coarse for single calls this short).
  const std::string small_msg =
      "Hi, can you summarise the notes from Tuesday's meeting and draft a short reply to the team?";
  auto small_stage_us = [&](stages::ScanInputStage& st) {
    std::vector<double> batch_us;
    for (int b = 0; b < 30; ++b) {
      std::vector<RequestContext> ctxs(200);
      for (auto& ctx : ctxs) {
        ctx.endpoint = Endpoint::kChatCompletions;
        ctx.principal.role = "user";
        ctx.body["model"] = "m";
        boost::json::array msgs;
        msgs.push_back(boost::json::object{{"role", "user"}, {"content", small_msg}});
        ctx.body["messages"] = std::move(msgs);
      }
      double c0 = CpuSeconds();
      for (auto& ctx : ctxs) st.OnRequest(ctx);
      batch_us.push_back((CpuSeconds() - c0) * 1e6 / ctxs.size());
    }
    std::sort(batch_us.begin(), batch_us.end());
    return batch_us[batch_us.size() / 2];
  };
  double small_p50 = small_stage_us(*stage);
  double small_patterns_p50 = small_stage_us(*stage2);
  double small_scan_us = 0;
  {
    scan::ScanOptions o;
    size_t n = 0;
    double c0 = CpuSeconds();
    for (int i = 0; i < 20000; ++i) n += s.Scan(small_msg, o).size();
    small_scan_us = (CpuSeconds() - c0) * 1e6 / 20000;
    if (n == size_t(-1)) std::puts("");
  }
  // Streamed replies: a 4 KB reply in 16-byte deltas through the
  // StreamScanner scan_output uses (look-back re-scanned per delta).
  double stream_reply_us = 0;
  {
    std::string reply = prompt;
    scan::ScanOptions o;
    std::vector<double> per_reply;
    for (int r = 0; r < 30; ++r) {
      scan::StreamScanner ss(&s, o, [](const scan::Finding&) { return scan::Action::kFlag; }, {});
      double c0 = CpuSeconds();
      for (size_t i = 0; i < reply.size(); i += 16) ss.Push(std::string_view(reply).substr(i, 16));
      ss.Flush();
      per_reply.push_back((CpuSeconds() - c0) * 1e6);
    }
    std::sort(per_reply.begin(), per_reply.end());
    stream_reply_us = per_reply[per_reply.size() / 2];
  }
  std::printf(
      "{\"corpus_mb\":%.1f,\"documents\":%zu,\"doc_bytes\":4096,\"timing\":\"thread cpu time\","
      "\"patterns_mbps\":%.1f,\"with_names_mbps\":%.1f,"
      "\"patterns_wall_mbps\":%.1f,\"with_names_wall_mbps\":%.1f,"
      "\"paragraph_patterns_mbps\":%.1f,\"paragraph_with_names_mbps\":%.1f,"
      "\"findings_patterns\":%zu,\"findings_with_names\":%zu,\"single_5mb_input_ms\":%.1f,"
      "\"stage_4kb_p50_us\":%.1f,\"stage_4kb_p99_us\":%.1f,"
      "\"stage_4kb_patterns_only_p50_us\":%.1f,\"names_model\":%s,"
      "\"stage_100b_p50_us\":%.2f,\"stage_100b_patterns_only_p50_us\":%.2f,"
      "\"scan_100b_us\":%.2f,\"stream_4kb_reply_16b_deltas_us\":%.0f,\"scanner_rss_mb\":%.1f,\"scanner_create_s\":%.2f,"
      "\"plain_engine_patterns_mbps\":%.1f,\"plain_engine_findings\":%zu,\"fast_paths_x\":%.2f}\n",
      total / 1e6, docs.size(), mbps_patterns.cpu_mbps, mbps_names.cpu_mbps,
      mbps_patterns.wall_mbps, mbps_names.wall_mbps, mbps_paragraphs.cpu_mbps,
      mbps_paragraphs_names.cpu_mbps, f_patterns, f_names, big_ms, p50, p99,
      us2[us2.size() / 2], s.has_names() ? "true" : "false", small_p50, small_patterns_p50,
      small_scan_us, stream_reply_us, scanner_rss_mb, create_s, mbps_plain.cpu_mbps, f_plain,
      mbps_plain.cpu_mbps > 0 ? mbps_patterns.cpu_mbps / mbps_plain.cpu_mbps : 0.0);
  return 0;
}
