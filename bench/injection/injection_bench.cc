// Injection screening cost per 4 KB prompt on one thread: the signature path
// alone (normalise + Vectorscan signatures), the full detector (plus the
// linear model), the normaliser alone, and a naive baseline (lower-case +
// std::string::find over a phrase list, what a hand-rolled filter does).
// Prompts are built from the repository's own example texts (benign and
// malicious mixed), 4096 bytes each. Prints one JSON object.
#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <string>
#include <vector>

#include "injection/detector.h"
#include "injection/normalize.h"

using namespace steward::injection;
// Thread CPU time, not wall time: the figure is the work per prompt on one
// core, unaffected by other processes competing for the CPU.
static double CpuMicros() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

// Resident set size of this process in KiB (VmRSS), 0 if unknown.
static long RssKb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return 0;
}

static std::vector<std::string> LoadTexts(const char* path) {
  std::vector<std::string> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    boost::system::error_code ec;
    auto v = boost::json::parse(line, ec);
    if (ec || !v.is_object()) continue;
    if (auto* t = v.as_object().if_contains("text"); t && t->is_string()) {
      out.emplace_back(t->as_string());
    }
  }
  return out;
}

static std::vector<std::string> MakePrompts(size_t count, size_t bytes) {
  std::vector<std::string> texts;
  for (const char* p :
       {"data/injection/extra_train.jsonl", "test/data/injection/indirect_heldout.jsonl",
        "test/data/injection/overrefusal.jsonl"}) {
    auto t = LoadTexts(p);
    texts.insert(texts.end(), t.begin(), t.end());
  }
  if (texts.empty()) texts.push_back("The quick brown fox jumps over the lazy dog. ");
  std::vector<std::string> prompts;
  size_t k = 0;
  for (size_t i = 0; i < count; ++i) {
    std::string p;
    while (p.size() < bytes) {
      p += texts[(k * 7919) % texts.size()];
      p += "\n";
      ++k;
    }
    p.resize(bytes);
    // Do not cut a UTF-8 sequence in half.
    while (!p.empty() && (static_cast<unsigned char>(p.back()) & 0xC0) == 0x80) p.pop_back();
    if (!p.empty() && static_cast<unsigned char>(p.back()) >= 0xC0) p.pop_back();
    prompts.push_back(std::move(p));
  }
  return prompts;
}

template <typename F>
static double MicrosPerPrompt(const std::vector<std::string>& prompts, F&& f, double* checksum) {
  // Warm up, then the best of 5 rounds (least disturbed by other processes).
  for (const auto& p : prompts) *checksum += f(p);
  double best = 1e300;
  for (int round = 0; round < 5; ++round) {
    double t0 = CpuMicros();
    int reps = 0;
    do {
      for (const auto& p : prompts) *checksum += f(p);
      ++reps;
    } while (CpuMicros() - t0 < 300000);
    double us = CpuMicros() - t0;
    best = std::min(best, us / (reps * prompts.size()));
  }
  return best;
}

// Short chat turns (~100 bytes): the per-request cost on small requests,
// where fixed overheads (allocations, tables, scratch) dominate.
static std::vector<std::string> MakeChatTurns(size_t count, size_t bytes) {
  std::vector<std::string> turns;
  for (const std::string& p : MakePrompts(count, bytes * 8)) {
    std::string t = p.substr(bytes * 3, bytes);  // mid-text, not always a text start
    while (!t.empty() && (static_cast<unsigned char>(t.back()) & 0xC0) == 0x80) t.pop_back();
    if (!t.empty() && static_cast<unsigned char>(t.back()) >= 0xC0) t.pop_back();
    turns.push_back(std::move(t));
  }
  return turns;
}

int main(int argc, char** argv) {
  // Before anything touches the detector: the model's share of the RSS.
  long rss_before = RssKb();
  (void)Detector::Default().Screen("warm up");
  long rss_after = RssKb();
  const size_t kBytes = 4096;
  std::vector<std::string> prompts = MakePrompts(64, kBytes);
  if (argc > 1 && std::string(argv[1]) == "--leave-one-out") {
    // Diagnostic: whole-set scan cost without each signature in turn.
    std::vector<std::string> folded;
    for (const auto& p : prompts) folded.push_back(Normalize(p).text);
    double sink = 0;
    const auto& all = BuiltinSignatures();
    for (size_t skip = 0; skip <= all.size(); ++skip) {
      std::vector<Signature> subset;
      for (size_t i = 0; i < all.size(); ++i) {
        if (i != skip) subset.push_back(all[i]);
      }
      auto set = SignatureSet::Compile(subset);
      if (!set.ok()) continue;
      double us = MicrosPerPrompt(
          folded,
          [&](const std::string& p) {
            SignatureHits hits;
            (*set)->Scan(p, hits);
            return double(hits[0]);
          },
          &sink);
      std::printf("%8.2f us  without %s\n", us,
                  skip < all.size() ? all[skip].name.c_str() : "(none)");
    }
    return 0;
  }
  if (argc > 1 && std::string(argv[1]) == "--per-signature") {
    // Diagnostic: the scan cost of each signature compiled alone.
    std::vector<std::string> folded;
    for (const auto& p : prompts) folded.push_back(Normalize(p).text);
    double sink = 0;
    for (const Signature& sig : BuiltinSignatures()) {
      auto one = SignatureSet::Compile({sig});
      if (!one.ok()) continue;
      double us = MicrosPerPrompt(
          folded,
          [&](const std::string& p) {
            SignatureHits hits;
            (*one)->Scan(p, hits);
            return double(hits[0]);
          },
          &sink);
      std::printf("%8.2f us  %s\n", us, sig.name.c_str());
    }
    return 0;
  }
  double avg_bytes = 0;
  for (const auto& p : prompts) avg_bytes += p.size();
  avg_bytes /= prompts.size();
  const Detector& detector = Detector::Default();
  double sink = 0;
  static const char* kPhrases[] = {"ignore previous instructions",
                                   "ignore all previous",
                                   "disregard",
                                   "system prompt",
                                   "do anything now",
                                   "jailbreak",
                                   "developer mode",
                                   "<|im_start|>",
                                   "you are now",
                                   "reveal your",
                                   "forget everything",
                                   "new instructions",
                                   "pretend you are",
                                   "no restrictions",
                                   "act as",
                                   "bypass",
                                   "override",
                                   "dan",
                                   "unfiltered",
                                   "verbatim"};
  // The baseline a hand-written filter would be: lower-case, then substring search.
  auto naive_find = [&](const std::string& p) {
    std::string lower(p);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    int hits = 0;
    for (const char* ph : kPhrases) hits += lower.find(ph) != std::string::npos;
    return double(hits);
  };
  double naive = MicrosPerPrompt(prompts, naive_find, &sink);
  double norm = MicrosPerPrompt(
      prompts, [&](const std::string& p) { return double(Normalize(p).text.size()); }, &sink);
  std::vector<std::string> folded;
  for (const auto& p : prompts) folded.push_back(Normalize(p).text);
  const SignatureSet& sigs = SignatureSet::Builtin();
  double scan = MicrosPerPrompt(
      folded,
      [&](const std::string& p) {
        SignatureHits hits;
        sigs.Scan(p, hits);
        return double(std::count(hits.begin(), hits.end(), 1));
      },
      &sink);
  double sig = MicrosPerPrompt(
      prompts, [&](const std::string& p) { return detector.ScreenSignatures(p).score; }, &sink);
  double full = MicrosPerPrompt(
      prompts, [&](const std::string& p) { return detector.Screen(p).score; }, &sink);
  std::vector<std::string> turns = MakeChatTurns(64, 100);
  double chat = MicrosPerPrompt(
      turns, [&](const std::string& p) { return detector.Screen(p).score; }, &sink);
  double chat_naive = MicrosPerPrompt(turns, naive_find, &sink);
  const LinearModel* model = detector.model();
  size_t weight_kb = model ? model->weights.size() * sizeof(float) / 1024 : 0;
  auto mbps = [&](double us) { return avg_bytes / us; };  // bytes per microsecond = MB/s
  std::printf(
      "{\"bench\":\"injection\",\"prompt_bytes\":%.0f,\"prompts\":%zu,\"threads\":1,"
      "\"model\":\"%s\",\"full_us_per_prompt\":%.2f,\"full_mb_per_s\":%.1f,"
      "\"signatures_us_per_prompt\":%.2f,\"signatures_mb_per_s\":%.1f,"
      "\"normalize_us_per_prompt\":%.2f,\"vectorscan_scan_us_per_prompt\":%.2f,\"naive_find_us_per_"
      "prompt\":%.2f,"
      "\"ratio_full_vs_signatures\":%.2f,\"ratio_full_vs_naive_find\":%.2f,"
      "\"chat_100b_us_per_request\":%.2f,\"chat_100b_naive_find_us\":%.2f,"
      "\"ratio_chat_vs_naive_find\":%.2f,"
      "\"model_rss_kb\":%ld,\"model_weights_kb\":%zu,\"process_rss_kb\":%ld,"
      "\"target_us_per_4kb\":100,\"meets_target\":%s,\"checksum\":%.3f}\n",
      avg_bytes, prompts.size(), Detector::DefaultModelSource().c_str(), full, mbps(full), sig,
      mbps(sig), norm, scan, naive, full / sig, full / naive, chat, chat_naive, chat / chat_naive,
      rss_after - rss_before, weight_kb, RssKb(), full <= 100.0 ? "true" : "false",
      sink > 0 ? 1.0 : 0.0);
  return 0;
}
