// scan_db_groups: what each group of patterns costs the Vectorscan
// database, on the benchmark corpus. Builds the plain pattern table's
// ungated database (every recognizer but the context-only ones) without
// the `--base-drop` ids, then the same without each `--drop` group, and
// reports single-core MB/s (thread CPU time, best of `--repeat`, builds
// alternated per repeat) and match callbacks per MB on 4 KB documents of
// the corpus (five lines each). Patterns are not additive in Vectorscan:
// dropping one pattern may change nothing while dropping its whole group
// does, so groups are given as lists.
//
//   scan_bench --mb 16 --corpus-out /tmp/corpus.txt --only patterns
//   scan_db_groups --corpus /tmp/corpus.txt [--base-drop 1,29,31]
//                  [--drop 5,10,11] [--drop 18] ... [--repeat 3] [--list]
#include <hs/hs.h>
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "common/vectorscan.h"
#include "scan/recognizers.h"

namespace {

double CpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

std::set<size_t> ParseIds(const char* list) {
  std::set<size_t> ids;
  for (const char* p = list; *p;) {
    char* end = nullptr;
    unsigned long v = std::strtoul(p, &end, 10);
    if (end == p) {
      std::fprintf(stderr, "scan_db_groups: bad id list '%s'\n", list);
      std::exit(2);
    }
    ids.insert(v);
    p = *end == ',' ? end + 1 : end;
  }
  return ids;
}

int CountMatch(unsigned, unsigned long long, unsigned long long, unsigned, void* ctx) {
  ++*static_cast<unsigned long long*>(ctx);
  return 0;
}

struct Build {
  std::string name;
  hs_database_t* db = nullptr;
  hs_scratch_t* scratch = nullptr;
  double best_mbps = 0;
  unsigned long long matches = 0;
};

}  // namespace

int main(int argc, char** argv) {
  using steward::scan::Recognizers;
  std::string corpus;
  std::set<size_t> base_drop;
  std::vector<std::set<size_t>> drops;
  std::vector<std::string> drop_names;
  int repeat = 3;
  bool list = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--list") {
      list = true;
    } else if (i + 1 < argc && a == "--corpus") {
      corpus = argv[++i];
    } else if (i + 1 < argc && a == "--base-drop") {
      base_drop = ParseIds(argv[++i]);
    } else if (i + 1 < argc && a == "--drop") {
      drop_names.push_back(argv[i + 1]);
      drops.push_back(ParseIds(argv[++i]));
    } else if (i + 1 < argc && a == "--repeat") {
      repeat = std::max(1, std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr, "scan_db_groups: unknown argument '%s'\n", a.c_str());
      return 2;
    }
  }
  const auto& recs = Recognizers();
  if (list) {
    for (size_t i = 0; i < recs.size(); ++i)
      std::printf("%zu %.*s %s\n", i, static_cast<int>(recs[i].type.size()), recs[i].type.data(),
                  recs[i].regex);
    return 0;
  }
  std::ifstream in(corpus);
  if (!in) {
    std::fprintf(stderr, "scan_db_groups: cannot read --corpus '%s'\n", corpus.c_str());
    return 2;
  }
  std::vector<std::string> lines, docs;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  for (size_t i = 0; i < lines.size(); i += 5) {
    std::string d;
    for (size_t j = i; j < i + 5 && j < lines.size(); ++j) d += lines[j] + "\n";
    docs.push_back(std::move(d));
  }
  double mb = 0;
  for (const auto& d : docs) mb += d.size() / 1e6;
  if (mb == 0) {
    std::fprintf(stderr, "scan_db_groups: empty corpus\n");
    return 2;
  }

  std::vector<Build> builds;
  auto compile = [&](const std::string& name, const std::set<size_t>& drop) {
    std::vector<const char*> exprs;
    std::vector<unsigned> flags, ids;
    for (size_t i = 0; i < recs.size(); ++i) {
      bool gated = recs[i].score < 0.3 && !recs[i].context.empty();
      if (gated || base_drop.count(i) || drop.count(i)) continue;
      exprs.push_back(recs[i].regex);
      flags.push_back(recs[i].caseless ? HS_FLAG_CASELESS : 0);
      ids.push_back(static_cast<unsigned>(i));
    }
    Build b;
    b.name = name;
    hs_compile_error_t* err = nullptr;
    if (hs_compile_multi(exprs.data(), flags.data(), ids.data(),
                         static_cast<unsigned>(exprs.size()), HS_MODE_BLOCK,
                         steward::HsPlatform(), &b.db, &err) != HS_SUCCESS) {
      std::fprintf(stderr, "scan_db_groups: %s: %s\n", name.c_str(), err ? err->message : "?");
      std::exit(1);
    }
    if (hs_alloc_scratch(b.db, &b.scratch) != HS_SUCCESS) std::exit(1);
    builds.push_back(b);
  };
  compile("base", {});
  for (size_t k = 0; k < drops.size(); ++k) compile("-" + drop_names[k], drops[k]);
  for (int r = 0; r < repeat; ++r) {
    for (Build& b : builds) {
      unsigned long long matches = 0;
      double c0 = CpuSeconds();
      for (const auto& d : docs)
        steward::HsScan(b.db, d.data(), static_cast<unsigned>(d.size()), b.scratch, CountMatch,
                        &matches);
      double mbps = mb / (CpuSeconds() - c0);
      if (mbps > b.best_mbps) b.best_mbps = mbps;
      b.matches = matches;
    }
  }
  for (const Build& b : builds)
    std::printf("%-24s %8.1f MB/s %9.0f matches/MB\n", b.name.c_str(), b.best_mbps,
                b.matches / mb);
  for (Build& b : builds) {
    hs_free_scratch(b.scratch);
    hs_free_database(b.db);
  }
  return 0;
}
