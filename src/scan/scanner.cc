#include "scan/scanner.h"

#include <hs/hs.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>

#include "scan/names.h"
#include "scan/recognizers.h"

namespace steward::scan {
namespace {

constexpr int kMaxEnds = 6;           // match ends remembered per candidate
constexpr size_t kContextBefore = 64; // bytes of look-behind for context words
constexpr size_t kContextAfter = 40;
constexpr size_t kJoinGap = 64;       // max gap between ends of one window candidate

struct Candidate {
  uint32_t id = 0;
  int nends = 0;
  size_t start = 0;
  size_t first_end = 0;
  size_t ends[kMaxEnds];
};

struct MatchState {
  std::string_view text;
  const std::vector<Recognizer>* recs;
  const std::vector<std::array<bool, 256>>* charsets;
  std::vector<Candidate>* candidates;
  std::vector<int64_t>* open;  // per pattern: index of its latest candidate, -1 none
  uint64_t matches = 0;
  uint64_t join_bytes = 0;
};

// Whether a match ending at `to` continues the candidate whose last end is
// `last` (same pattern, nothing in between that the match cannot contain).
bool Joins(const MatchState& st, uint32_t id, size_t last, size_t to) {
  const Recognizer& r = (*st.recs)[id];
  if (to <= last) return true;
  if (r.start == StartRule::kFixed) return false;
  if (r.start == StartRule::kCharset) {
    const auto& cs = (*st.charsets)[id];
    for (size_t i = last; i < to; ++i)
      if (!cs[static_cast<unsigned char>(st.text[i])]) return false;
    return true;
  }
  if (to - last > kJoinGap) return false;
  for (size_t i = last; i < to; ++i)
    if (st.text[i] == '\n') return false;
  return true;
}

int OnMatch(unsigned int id, unsigned long long, unsigned long long to, unsigned int,
            void* ctx) {
  auto* st = static_cast<MatchState*>(ctx);
  ++st->matches;
  int64_t& open = (*st->open)[id];
  if (open >= 0) {
    Candidate& c = (*st->candidates)[open];
    size_t last = c.ends[c.nends - 1];
    st->join_bytes += to > last ? to - last : 0;
    if (Joins(*st, id, last, to)) {
      if (to == last) return 0;
      if (c.nends == kMaxEnds) {
        std::copy(c.ends + 1, c.ends + kMaxEnds, c.ends);
        --c.nends;
      }
      c.ends[c.nends++] = to;
      return 0;
    }
  }
  Candidate c;
  c.id = id;
  c.first_end = to;
  c.ends[0] = to;
  c.nends = 1;
  open = static_cast<int64_t>(st->candidates->size());
  st->candidates->push_back(c);
  return 0;
}

struct WindowState {
  size_t base;
  const Candidate* cand;
  size_t best = SIZE_MAX;
};

int OnWindowMatch(unsigned int, unsigned long long from, unsigned long long to, unsigned int,
                  void* ctx) {
  auto* w = static_cast<WindowState*>(ctx);
  size_t end = w->base + to;
  for (int i = 0; i < w->cand->nends; ++i) {
    if (w->cand->ends[i] == end || end == w->cand->first_end) {
      w->best = std::min<size_t>(w->best, w->base + from);
      break;
    }
  }
  return 0;
}

char LowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
bool IsWordByte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// True if one of `terms` occurs as a whole word (or phrase) in `window`
// (already lower-cased).
bool HasTerm(std::string_view window, const std::vector<std::string_view>& terms) {
  for (std::string_view t : terms) {
    size_t pos = 0;
    while ((pos = window.find(t, pos)) != std::string_view::npos) {
      bool left = pos == 0 || !IsWordByte(window[pos - 1]);
      size_t e = pos + t.size();
      bool right = e >= window.size() || !IsWordByte(window[e]) || !IsWordByte(t.back());
      if (left && right) return true;
      pos += 1;
    }
  }
  return false;
}

}  // namespace

struct Scanner::Impl {
  hs_database_t* db = nullptr;                // every pattern, match ends only
  std::vector<hs_database_t*> som;            // per pattern (kSomWindow): leftmost starts
  std::vector<std::array<bool, 256>> charsets;  // per pattern (kCharset)
  std::mutex pool_mu;
  std::vector<hs_scratch_t*> pool;
  hs_scratch_t* prototype = nullptr;

  ~Impl() {
    for (hs_scratch_t* s : pool) hs_free_scratch(s);
    if (prototype) hs_free_scratch(prototype);
    if (db) hs_free_database(db);
    for (hs_database_t* d : som)
      if (d) hs_free_database(d);
  }

  hs_scratch_t* Acquire() {
    {
      std::lock_guard<std::mutex> lock(pool_mu);
      if (!pool.empty()) {
        hs_scratch_t* s = pool.back();
        pool.pop_back();
        return s;
      }
    }
    hs_scratch_t* s = nullptr;
    if (hs_clone_scratch(prototype, &s) != HS_SUCCESS) return nullptr;
    return s;
  }
  void Release(hs_scratch_t* s) {
    std::lock_guard<std::mutex> lock(pool_mu);
    pool.push_back(s);
  }
};

Scanner::Scanner() : impl_(std::make_unique<Impl>()) {}
Scanner::~Scanner() = default;

Result<std::unique_ptr<Scanner>> Scanner::Create(const std::string& data_dir) {
  std::unique_ptr<Scanner> s(new Scanner());
  const auto& recs = Recognizers();
  std::vector<const char*> exprs;
  std::vector<unsigned> flags, ids;
  for (size_t i = 0; i < recs.size(); ++i) {
    exprs.push_back(recs[i].regex);
    unsigned f = 0;
    if (recs[i].caseless) f |= HS_FLAG_CASELESS;
    flags.push_back(f);
    ids.push_back(static_cast<unsigned>(i));
  }
  hs_compile_error_t* err = nullptr;
  if (hs_compile_multi(exprs.data(), flags.data(), ids.data(), static_cast<unsigned>(exprs.size()),
                       HS_MODE_BLOCK, nullptr, &s->impl_->db, &err) != HS_SUCCESS) {
    std::string msg = "scan: pattern database: ";
    if (err) {
      msg += err->message;
      if (err->expression >= 0 && static_cast<size_t>(err->expression) < recs.size())
        msg += std::string(" (") + std::string(recs[err->expression].type) + " pattern #" +
               std::to_string(err->expression) + ")";
      hs_free_compile_error(err);
    }
    return Internal(msg);
  }
  if (hs_alloc_scratch(s->impl_->db, &s->impl_->prototype) != HS_SUCCESS)
    return Internal("scan: cannot allocate Vectorscan scratch");
  s->impl_->som.assign(recs.size(), nullptr);
  s->impl_->charsets.resize(recs.size());
  for (size_t i = 0; i < recs.size(); ++i) {
    auto& cs = s->impl_->charsets[i];
    cs.fill(false);
    for (const char* c = recs[i].charset; *c; ++c) cs[static_cast<unsigned char>(*c)] = true;
    if (recs[i].start != StartRule::kSomWindow) continue;
    unsigned f = HS_FLAG_SOM_LEFTMOST | (recs[i].caseless ? HS_FLAG_CASELESS : 0);
    hs_compile_error_t* e = nullptr;
    if (hs_compile(recs[i].regex, f, HS_MODE_BLOCK, nullptr, &s->impl_->som[i], &e) != HS_SUCCESS) {
      std::string msg = std::string("scan: ") + std::string(recs[i].type) + " pattern #" +
                        std::to_string(i) + ": " + (e ? e->message : "compile failed");
      if (e) hs_free_compile_error(e);
      return Internal(msg);
    }
    if (hs_alloc_scratch(s->impl_->som[i], &s->impl_->prototype) != HS_SUCCESS)
      return Internal("scan: cannot allocate Vectorscan scratch");
  }
  if (!data_dir.empty()) {
    STEWARD_ASSIGN_OR_RETURN(s->names_, NameRecognizer::Load(data_dir));
  }
  return s;
}

const Scanner& Scanner::Default() {
  static const Scanner* instance = [] {
    std::string dir = FindScanDataDir();
    Result<std::unique_ptr<Scanner>> r = Create(dir);
    if (!r.ok() && !dir.empty()) {
      std::fprintf(stderr, "steward: warning: %s; PERSON/LOCATION detection is off\n",
                   r.status().message().c_str());
      r = Create("");
    } else if (dir.empty()) {
      std::fprintf(stderr,
                   "steward: warning: scan data (data/scan) not found; set STEWARD_DATA_DIR. "
                   "PERSON/LOCATION detection is off\n");
    }
    if (!r.ok()) {
      std::fprintf(stderr, "steward: fatal: %s\n", r.status().message().c_str());
      std::abort();
    }
    return r->release();
  }();
  return *instance;
}

std::vector<Finding> Scanner::Scan(std::string_view text, const ScanOptions& options,
                                   ScanStats* stats) const {
  const auto& recs = Recognizers();
  std::vector<Candidate> candidates;
  std::vector<int64_t> open(recs.size(), -1);
  MatchState st{text, &recs, &impl_->charsets, &candidates, &open};
  uint64_t window_bytes = 0;
  hs_scratch_t* scratch = text.empty() ? nullptr : impl_->Acquire();
  if (scratch) {
    // Vectorscan takes an unsigned int length: scan huge inputs in
    // overlapping blocks (entities are far shorter than the overlap).
    constexpr size_t kBlock = size_t{1} << 30;
    constexpr size_t kOverlap = size_t{1} << 16;
    size_t pos = 0;
    while (pos < text.size()) {
      size_t len = std::min(kBlock, text.size() - pos);
      std::vector<Candidate> block;
      std::vector<int64_t> bopen(recs.size(), -1);
      MatchState bst{text.substr(pos, len), &recs, &impl_->charsets, &block, &bopen};
      MatchState* use = pos == 0 ? &st : &bst;
      hs_scan(impl_->db, text.data() + pos, static_cast<unsigned>(len), 0, scratch, OnMatch, use);
      if (pos != 0) {
        st.matches += bst.matches;
        for (Candidate c : block) {
          c.first_end += pos;
          for (int i = 0; i < c.nends; ++i) c.ends[i] += pos;
          candidates.push_back(c);
        }
      }
      if (pos + len >= text.size()) break;
      pos += len - kOverlap;
    }
  }
  // Recover start offsets.
  for (Candidate& c : candidates) {
    const Recognizer& r = recs[c.id];
    if (r.start == StartRule::kFixed) {
      c.start = c.first_end >= r.max_len ? c.first_end - r.max_len : 0;
    } else if (r.start == StartRule::kCharset) {
      const auto& cs = impl_->charsets[c.id];
      size_t p = c.first_end;
      while (p > 0 && c.first_end - p < r.max_len && cs[static_cast<unsigned char>(text[p - 1])]) --p;
      // A match never starts on a separator.
      while (p < c.first_end && (text[p] == ' ' || text[p] == '-' || text[p] == '.' ||
                                 text[p] == '/' || text[p] == ')'))
        ++p;
      c.start = p;
      window_bytes += c.first_end - p;
    } else if (scratch) {
      size_t ws = c.first_end > r.max_len ? c.first_end - r.max_len : 0;
      // Begin the window after a space so \b anchors mean what they mean
      // in the full text.
      for (size_t back = 0; ws > 0 && back < 64 && !std::isspace(static_cast<unsigned char>(text[ws - 1])); ++back) --ws;
      size_t we = c.ends[c.nends - 1];
      WindowState w{ws, &c};
      hs_scan(impl_->som[c.id], text.data() + ws, static_cast<unsigned>(we - ws), 0, scratch,
              OnWindowMatch, &w);
      window_bytes += we - ws;
      c.start = w.best == SIZE_MAX ? c.first_end : w.best;
    }
  }
  if (scratch) impl_->Release(scratch);

  std::vector<Finding> found;
  std::string window;
  uint64_t validated = 0;
  // Recognizers that only report with a context word nearby (base score
  // below the threshold) are skipped outright when none of their words
  // occurs anywhere in the text: one lower-cased copy and a few searches
  // per text instead of a context window per candidate (8+ digit runs are
  // everywhere in logs).
  std::string lowered;
  std::vector<int8_t> has_context(recs.size(), -1);
  auto context_anywhere = [&](uint32_t id) {
    int8_t& h = has_context[id];
    if (h < 0) {
      if (lowered.empty()) {
        lowered.assign(text);
        for (char& ch : lowered) ch = LowerAscii(ch);
      }
      h = HasTerm(lowered, recs[id].context) ? 1 : 0;
    }
    return h == 1;
  };
  uint64_t work_before = g_validator_work;
  ++g_scan_generation;
  for (const Candidate& c : candidates) {
    const Recognizer& r = recs[c.id];
    // Cheap pre-filter: a recognizer whose best possible score is below
    // the threshold cannot produce a finding.
    double best = std::max(r.score, r.context_score) + 0.2;
    if (best < options.min_score || c.start >= c.first_end) continue;
    if (r.score + 0.2 < options.min_score && !context_anywhere(c.id)) continue;
    size_t start = c.start;
    bool done = false;
    for (int attempt = 0; attempt < 3 && !done; ++attempt) {
      for (int e = c.nends - 1; e >= 0; --e) {
        if (c.ends[e] <= start) continue;
        Span span{start, c.ends[e]};
        double score = r.score;
        validated += span.end - span.start;
        if (r.validate && !r.validate(text, &span, &score)) continue;
        if (span.end <= span.start || span.end > text.size()) break;
        if (!r.context.empty() || !r.negative.empty()) {
          size_t ws = span.start > kContextBefore ? span.start - kContextBefore : 0;
          size_t we = std::min(text.size(), span.end + kContextAfter);
          window.assign(text.substr(ws, span.start - ws));
          window.push_back(' ');
          window.append(text.substr(span.end, we - span.end));
          for (char& ch : window) ch = LowerAscii(ch);
          if (!r.context.empty() && HasTerm(window, r.context))
            score = std::max(score, r.context_score > 0 ? r.context_score : score);
          if (!r.negative.empty()) {
            // Negative words count only before the span ("order 4111...").
            std::string_view before(window.data(), span.start - ws);
            if (HasTerm(before, r.negative)) score -= 0.45;
          }
        }
        if (score >= options.min_score)
          found.push_back({r.type, span.start, span.end, std::min(score, 1.0)});
        done = true;
        break;
      }
      // Checksummed numbers are never retried on a sub-span: a suffix of an
      // invalid card number can pass Luhn by chance.
      if (done || r.start != StartRule::kCharset || r.type == "CREDIT_CARD") break;
      // The start walked back over a preceding number ("qty 2 4111 ..."):
      // retry without the first group.
      size_t p = start;
      while (p < c.first_end && std::isalnum(static_cast<unsigned char>(text[p]))) ++p;
      while (p < c.first_end && !std::isalnum(static_cast<unsigned char>(text[p]))) ++p;
      if (p >= c.first_end) break;
      start = p;
    }
  }
  if (options.names && names_) {
    std::vector<Finding> names;
    uint64_t tokens = names_->Recognize(text, &names);
    if (stats) stats->name_tokens += tokens;
    for (const Finding& f : names)
      if (f.score >= options.min_score) found.push_back(f);
  }
  if (stats) {
    stats->pattern_matches += st.matches;
    stats->candidates += candidates.size();
    stats->validated_bytes += validated + (g_validator_work - work_before) + window_bytes + st.join_bytes;
  }
  return ResolveOverlaps(std::move(found));
}

std::vector<Finding> ResolveOverlaps(std::vector<Finding> findings) {
  std::sort(findings.begin(), findings.end(), [](const Finding& a, const Finding& b) {
    if (a.score != b.score) return a.score > b.score;
    size_t la = a.end - a.start, lb = b.end - b.start;
    if (la != lb) return la > lb;
    return a.start < b.start;
  });
  std::map<size_t, size_t> kept;  // start -> end
  std::vector<Finding> out;
  for (const Finding& f : findings) {
    auto next = kept.lower_bound(f.start);
    if (next != kept.end() && next->first < f.end) continue;
    if (next != kept.begin()) {
      auto prev = std::prev(next);
      if (prev->second > f.start) continue;
    }
    kept.emplace(f.start, f.end);
    out.push_back(f);
  }
  std::sort(out.begin(), out.end(),
            [](const Finding& a, const Finding& b) { return a.start < b.start; });
  return out;
}

std::string FindScanDataDir() {
  namespace fs = std::filesystem;
  std::error_code ec;
  auto usable = [&](const fs::path& p) { return fs::exists(p / "names.model", ec); };
  if (const char* env = std::getenv("STEWARD_DATA_DIR"); env && *env) {
    fs::path p(env);
    if (usable(p / "scan")) return (p / "scan").string();
    if (usable(p)) return p.string();
  }
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n > 0) {
    fs::path exe_dir = fs::path(std::string(buf, n)).parent_path();
    fs::path up = exe_dir;
    for (int i = 0; i < 4; ++i) {
      up = up.parent_path();
      if (usable(up / "data" / "scan")) return (up / "data" / "scan").string();
    }
  }
  if (usable(fs::path("data") / "scan")) return (fs::current_path(ec) / "data" / "scan").string();
  return "";
}

}  // namespace steward::scan
