#include "scan/scanner.h"

#include "common/vectorscan.h"

#include <emmintrin.h>
#include <hs/hs.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <bitset>
#include <cctype>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <unordered_map>

#include "scan/names.h"
#include "scan/recognizers.h"

namespace steward::scan {
namespace {

constexpr int kMaxEnds = 6;           // match ends remembered per candidate
constexpr size_t kContextBefore = 64; // bytes of look-behind for context words
constexpr size_t kContextAfter = 40;
constexpr size_t kJoinGap = 64;       // max gap between ends of one window candidate
// Recognizers whose base score is this far below the default threshold
// only ever report with a context word nearby: their patterns live in a
// second database that is scanned only when one of their words occurs.
constexpr double kGatedScore = 0.3;
constexpr size_t kMaxTerms = 512;
constexpr double kDefaultMinScore = ScanOptions{}.min_score;
// The year recognizer's pattern, matched by hand (FindYears) when the
// table holds exactly this one.
constexpr std::string_view kYearRegex = R"(\b(?:1[5-9]|20)\d{2}\b)";
// The phone recognizer's pattern (caseless), matched by hand the same way.
constexpr std::string_view kPhoneRegex =
    R"((?:\+\d{1,3}[\s.\-]?|\b00\d{1,3}[\s.\-]?)?(?:\(\d{1,5}\)[\s.\-]?|\b\d{1,5}[\s.\-]?)(?:\(0\)\s?)?(?:\d{1,5}[\s.\-]?){0,4}\d{2,}(?:\s?(?:x|ext\.?|extension)\s?\d{1,5})?\b)";
// The clock-time recognizer's pattern (caseless): its starts are found by
// hand (TimeLeftmostStart) instead of a leftmost-start Vectorscan re-scan
// (it was two thirds of those re-scans on the benchmark corpus).
constexpr std::string_view kTimeRegex = R"(\b\d{1,2}:\d{2}(?::\d{2})?(?:\s?[ap]\.?m\b\.?)?)";
// The URL recognizer's pattern (caseless). With the fast paths the main
// database holds only its prefix up to the first byte of the run
// (kUrlPrefixRegex) and the run's remaining ends are added by hand
// (ExtendRun): reported per byte, they were ~15% of the database's time.
constexpr std::string_view kUrlRegex = R"(\b(?:https?|ftp|wss?)://[^\s<>"'`\\\x00-\x1f\x7f]+)";
constexpr const char* kUrlPrefixRegex = R"(\b(?:https?|ftp|wss?)://[^\s<>"'`\\\x00-\x1f\x7f])";
// The bare-domain URL recognizer's pattern (case-sensitive): its starts are
// found by hand too (DomainLeftmostStart); a re-scan reported every byte
// of a path, and every e-mail address and URL makes such a candidate.
constexpr std::string_view kDomainRegex =
    R"(\b[A-Za-z0-9][A-Za-z0-9\-]*(?:\.[A-Za-z0-9\-]+)*\.(?:com|org|net|edu|gov|io|ai|co|uk|de|fr|es|it|nl|se|no|dk|fi|ch|at|be|cy|us|ca|au|jp|cn|ru|br|in|info|biz|app|dev|cloud|tech|online|site|xyz|me|tv|eu|pl|cz|gr|pt|ie|nz|za|mx|ar|hu|ro|sk|si|hr|lt|lv|ee|is|ly)\b(?:/[^\s<>"'`\x00-\x1f]*)?)";
// The e-mail recognizer's pattern (case-sensitive): starts found by hand
// (EmailLeftmostStart).
constexpr std::string_view kEmailRegex =
    R"([A-Za-z0-9._%+\-\x80-\xff]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,24}\b)";
// The assignment form of GENERIC_SECRET (caseless): its starts are found
// by hand as well (SecretLeftmostStart), and its key words, written out
// (each `[_\-]?` as its three forms).
constexpr std::string_view kSecretRegex =
    R"(\b[A-Za-z0-9_.\-]*(?:secret|token|api[_\-]?key|apikey|access[_\-]?key|auth[_\-]?key|credential|private[_\-]?key|client[_\-]?secret|signing[_\-]?key|encryption[_\-]?key|session[_\-]?key|webhook)[A-Za-z0-9_.\-]*['"]?\s*(?::=|=>|[:=])\s*['"]?[A-Za-z0-9_\-+/=.~])";
constexpr std::string_view kSecretWords[] = {
    "secret",         "token",           "webhook",         "credential",      "apikey",
    "api_key",        "api-key",         "accesskey",       "access_key",      "access-key",
    "authkey",        "auth_key",        "auth-key",        "privatekey",      "private_key",
    "private-key",    "clientsecret",    "client_secret",   "client-secret",   "signingkey",
    "signing_key",    "signing-key",     "encryptionkey",   "encryption_key",  "encryption-key",
    "sessionkey",     "session_key",     "session-key"};
// The digit-led patterns matched by hand from the digit runs (see
// DigitPatternEndsAt), each when the table holds exactly this pattern.
// The clock time and "9 am" patterns (caseless) come after them: their
// ends are found from the same runs, by other rules (ClockEnd, AmPmEnds).
enum DigitKind { kCard, kSsn, kItin, kNhs, kIpv4, kIsoDate, kNumDate, kDigitKinds };
enum { kClock = kDigitKinds, kAmPm, kHandKinds };
constexpr std::string_view kDigitRegexes[kHandKinds] = {
    R"(\b\d{4}(?:[ \-]?\d{2,7}){1,4}\b)",
    R"(\b\d{3}[\- .]?\d{2}[\- .]?\d{4}\b)",
    R"(\b9\d{2}[\- ]?(?:5\d|6[0-5]|7\d|8[0-8]|9[0-24-9])[\- ]?\d{4}\b)",
    R"(\b\d{3}[ \-]?\d{3}[ \-]?\d{4}\b)",
    R"(\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b)",
    R"(\b\d{4}[\-/.]\d{1,2}[\-/.]\d{1,2}(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+\-]\d{2}:?\d{2})?)?\b)",
    R"(\b\d{1,2}[\-/.]\d{1,2}[\-/.](?:\d{4}|\d{2})(?:,?\s\d{1,2}:\d{2}(?::\d{2})?)?\b)",
    kTimeRegex,
    R"(\b\d{1,2}\s?[ap]\.?m\b\.?)",
};

// The kind (DigitKind, kClock, kAmPm) whose pattern is `regex` with
// these flags, -1 if none.
int DigitKindOf(std::string_view regex, bool caseless) {
  for (int k = 0; k < kHandKinds; ++k)
    if (regex == kDigitRegexes[k] && caseless == (k >= kDigitKinds)) return k;
  return -1;
}

// Per-thread scratch grown by a text larger than this is released after it.
constexpr size_t kKeepScratchBytes = size_t{1} << 20;

using TermBits = std::bitset<kMaxTerms>;

struct Candidate {
  uint32_t id = 0;
  int nends = 0;
  size_t start = 0;
  size_t first_end = 0;
  size_t ends[kMaxEnds];
};

// A context/negative word occurring in the text (whole-word, caseless).
struct TermHit {
  size_t end;
  uint32_t term;
  uint32_t len;  // the term's length: it begins at end - len
};

struct MatchState {
  std::string_view text;  // the whole text
  size_t base = 0;        // offset of the scanned block in `text`
  const std::vector<Recognizer>* recs;
  const std::vector<std::array<bool, 256>>* charsets;
  std::vector<Candidate>* candidates;
  std::vector<int64_t>* open;  // per pattern: index of its latest candidate, -1 none
  uint64_t matches = 0;
  uint64_t join_bytes = 0;
  // Ids from `npatterns` on are context words (Impl::presence_terms), not
  // patterns: a match marks the word present in the text.
  size_t npatterns = SIZE_MAX;
  const std::vector<uint32_t>* presence_terms = nullptr;
  TermBits* present = nullptr;
  // Per pattern (kSomWindow): a superset of the bytes its matches contain.
  const std::vector<std::array<bool, 256>>* alphabet = nullptr;
  const std::vector<bool>* has_alphabet = nullptr;
  int time_pattern = -1;  // kTimeRegex's id, -1: none
  // kUrlRegex's id when the database reports only its prefix (-1: none),
  // the bytes its run may contain, and the end of the scanned block (the
  // run is extended no further, as a block scan would see it).
  int run_pattern = -1;
  const std::array<bool, 256>* run_bytes = nullptr;
  size_t block_end = 0;
  // Ids from `rescue_base` on are Impl::rescue_words: their occurrences
  // (end, word) go to `rescue_hits`, in end order.
  size_t rescue_base = SIZE_MAX;
  std::vector<TermHit>* rescue_hits = nullptr;
};

// The highest score a recognizer's finding can have: without a validator
// the score can only move to the context score or down; a validator may
// raise it by up to 0.2.
double BestScore(const Recognizer& r) {
  if (r.validate) return std::max(r.score, r.context_score) + 0.2;
  return std::max(r.score, r.context.empty() || r.context_score <= 0 ? r.score : r.context_score);
}

// Whether a match ending at `to` continues the candidate whose last end is
// `last` (same pattern, nothing in between that the match cannot contain).
inline __attribute__((always_inline)) bool Joins(const MatchState& st, uint32_t id, size_t last,
                                                 size_t to) {
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
  // A match ending at `to` that overlaps the candidate's (which end by
  // `last`) contains every byte between: when one of them is no byte the
  // pattern's matches contain, it is a separate match ("a@b.com and
  // c@d.com", two URLs on a line), not more ends of the same one. (No end
  // joins across a line break either: one loop checks both when the
  // alphabet has no '\n'.)
  if ((*st.has_alphabet)[id]) {
    const auto& alpha = (*st.alphabet)[id];
    bool newline_in_alphabet = alpha['\n'];
    for (size_t i = last; i < to; ++i) {
      unsigned char b = static_cast<unsigned char>(st.text[i]);
      if (!alpha[b] || (newline_in_alphabet && b == '\n')) return false;
    }
  } else if (std::memchr(st.text.data() + last, '\n', to - last) != nullptr) {
    return false;
  }
  // Clock times contain spaces ("10:30 am"), so "10:30 11:45" needs the
  // start: the later match joins only if it begins before `last`.
  if (static_cast<int>(id) == st.time_pattern) return TimeLeftmostStart(st.text, to) < last;
  return true;
}

// Starts a candidate of pattern `id` with its first end at `to`; `open` then
// names it. The vector grows out of line, rarely: the common append stays inline.
__attribute__((always_inline)) inline Candidate& OpenCandidate(std::vector<Candidate>& cands,
                                                               int64_t& open, unsigned int id,
                                                               size_t to) {
  if (__builtin_expect(cands.size() == cands.capacity(), 0)) cands.reserve(2 * cands.size() + 64);
  open = static_cast<int64_t>(cands.size());
  Candidate& c = cands.emplace_back();
  c.id = id;
  c.first_end = to;
  c.ends[0] = to;
  c.nends = 1;
  return c;
}

// Adds an end to a candidate, which keeps its last kMaxEnds.
inline void AddEnd(Candidate& c, size_t end) {
  if (c.nends == kMaxEnds) {
    std::copy(c.ends + 1, c.ends + kMaxEnds, c.ends);
    --c.nends;
  }
  c.ends[c.nends++] = end;
}

// A match of kUrlPrefixRegex ending at `to` (its first run byte): adds the
// ends kUrlRegex has there — `to` and every further byte of the run — as
// OnMatch would for them one by one. A prefix inside a run already extended
// ("http://a/?u=https://b") ends the same run: its ends are there already.
int ExtendRun(MatchState* st, unsigned int id, size_t to) {
  int64_t& open = (*st->open)[id];
  std::vector<Candidate>& cands = *st->candidates;
  // Covered first, before walking the run: each byte is walked once
  // ("https://a/https://a/..." would otherwise walk the rest per prefix).
  if (open >= 0) {
    Candidate& c = cands[open];
    size_t last = c.ends[c.nends - 1];
    if (to <= last) return 0;
    st->join_bytes += to - last;
    if (!Joins(*st, id, last, to)) open = -1;
  }
  size_t run_end = to;
  const auto& run = *st->run_bytes;
  while (run_end < st->block_end && run[static_cast<unsigned char>(st->text[run_end])]) ++run_end;
  st->matches += run_end - to;  // the ends added below, besides this one
  size_t e = to;
  if (open < 0) {
    OpenCandidate(cands, open, id, to);
    ++e;
  }
  // Every later end is one byte after the previous one, inside the run:
  // it joins (the byte is in the pattern's alphabet, no line break).
  Candidate& c = cands[open];
  if (e <= run_end && run_end - e >= static_cast<size_t>(kMaxEnds)) e = run_end - kMaxEnds + 1;
  for (; e <= run_end; ++e) AddEnd(c, e);
  st->join_bytes += run_end - to;
  return 0;
}

int OnMatch(unsigned int id, unsigned long long, unsigned long long block_to, unsigned int,
            void* ctx) {
  auto* st = static_cast<MatchState*>(ctx);
  size_t to = st->base + block_to;
  ++st->matches;
  if (id >= st->npatterns) {
    if (id >= st->rescue_base) {
      st->rescue_hits->push_back({to, static_cast<uint32_t>(id - st->rescue_base), 0});
      return 0;
    }
    st->present->set((*st->presence_terms)[id - st->npatterns]);
    return 0;
  }
  int64_t& open = (*st->open)[id];
  if (static_cast<int>(id) == st->run_pattern) return ExtendRun(st, id, to);
  if (open >= 0) {
    Candidate& c = (*st->candidates)[open];
    size_t last = c.ends[c.nends - 1];
    st->join_bytes += to > last ? to - last : 0;
    if (Joins(*st, id, last, to)) {
      if (to == last) return 0;
      AddEnd(c, to);
      return 0;
    }
  }
  OpenCandidate(*st->candidates, open, id, to);
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

// Whether text[from, to) holds at least `n` ASCII digits.
bool HasDigits(std::string_view text, size_t from, size_t to, size_t n) {
  for (size_t i = from; i < to; ++i)
    if (static_cast<unsigned>(text[i] - '0') < 10 && --n == 0) return true;
  return false;
}

// Bit k set when p[k] is a word byte ([A-Za-z0-9_]), for 16 bytes.
inline unsigned WordMask16(const unsigned char* p) {
  __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  // (x - lo) <= span, unsigned, is lo <= x <= lo + span.
  __m128i d = _mm_sub_epi8(v, _mm_set1_epi8('0'));
  __m128i digit = _mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8(9)), d);
  __m128i l = _mm_sub_epi8(_mm_or_si128(v, _mm_set1_epi8(0x20)), _mm_set1_epi8('a'));
  __m128i alpha = _mm_cmpeq_epi8(_mm_min_epu8(l, _mm_set1_epi8(25)), l);
  __m128i under = _mm_cmpeq_epi8(v, _mm_set1_epi8('_'));
  return static_cast<unsigned>(
      _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(digit, alpha), under)));
}

// Calls f(start, end) for every maximal run of member bytes in p[from, n),
// in order, where `from` is no position inside a run. Runs come from 64-byte
// masks (bit k: byte base + k; mask16 gives 16 bytes' bits, is_member one
// byte's, for the tail): run starts and run ends (last bytes) pair up in each
// block, and a run reaching a block's last byte may continue in the next,
// without a branch per byte.
template <typename Mask16, typename IsMember, typename F>
void ForEachMaskRun(const unsigned char* p, size_t from, size_t n, Mask16 mask16,
                    IsMember is_member, F&& f) {
  constexpr size_t kNone = ~size_t{0};
  size_t pending = kNone;  // start of a run reaching the previous block's end
  for (size_t base = from; base < n; base += 64) {
    uint64_t m = 0;
    if (base + 64 <= n) {
      for (int k = 0; k < 4; ++k) m |= static_cast<uint64_t>(mask16(p + base + 16 * k)) << (16 * k);
    } else {
      for (size_t k = base; k < n; ++k)
        if (is_member(p[k])) m |= uint64_t{1} << (k - base);
    }
    if (!m && pending == kNone) continue;
    uint64_t starts = m & ~(m << 1);
    uint64_t ends = m & ~(m >> 1);
    if (pending != kNone) {
      if (!(m & 1)) {
        f(pending, base);
      } else {
        unsigned e = static_cast<unsigned>(__builtin_ctzll(ends));
        if (e == 63) continue;  // the whole block continues the run
        f(pending, base + e + 1);
        starts &= ~uint64_t{1};
        ends &= ends - 1;
      }
      pending = kNone;
    }
    while (starts) {
      unsigned a = static_cast<unsigned>(__builtin_ctzll(starts));
      unsigned e = static_cast<unsigned>(__builtin_ctzll(ends));
      starts &= starts - 1;
      ends &= ends - 1;
      if (e == 63) {
        pending = base + a;
        break;
      }
      f(base + a, base + e + 1);
    }
  }
  if (pending != kNone) f(pending, n);
}

char LowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
bool IsWordByte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// `term` (lower case) equals text[p, p + term.size()) ignoring ASCII case.
bool EqualsLowered(std::string_view text, size_t p, std::string_view term) {
  if (p + term.size() > text.size()) return false;
  for (size_t i = 0; i < term.size(); ++i)
    if (LowerAscii(text[p + i]) != term[i]) return false;
  return true;
}

// A recognizer's context (or negative) words as term ids, with what the
// edge checks below need.
struct TermSet {
  TermBits bits;
  std::vector<uint32_t> ids;
  std::array<bool, 256> first{};  // first bytes of the terms
  std::array<bool, 256> last{};   // last bytes
  // The terms grouped by first and by last byte (lower case), for the
  // edge checks: the terms beginning with byte b are
  // by_first[first_begin[b], first_begin[b + 1]).
  std::vector<uint32_t> by_first, by_last;
  std::array<uint16_t, 257> first_begin{}, last_begin{};
  std::vector<uint32_t> spaced;   // terms with a space (may straddle the gap)
  bool empty() const { return ids.empty(); }
};

// Per-Scan scratch, reused by the thread so a scan allocates (almost)
// nothing once warm.
// A validated candidate waiting for its context-word look-ups.
struct Pending {
  uint32_t id;
  size_t start, end;
  double score;
};
struct Range {
  size_t lo, hi;
};

struct ScanScratch {
  std::vector<Pending> pending;
  std::vector<Range> ranges;
  std::vector<Candidate> candidates;
  std::vector<Candidate> merge_buf;
  std::vector<int64_t> open;
  std::vector<TermHit> hits;
  std::vector<TermHit> side_hits;
  std::vector<TermHit> rescue_hits;
  std::vector<Finding> found;
  std::vector<Finding> names;
};

void ResolveInto(std::vector<Finding>& findings, std::vector<Finding>* out);

ScanScratch& ThreadScratch() {
  static thread_local ScanScratch scratch;
  return scratch;
}

struct ByteTables {
  std::array<bool, 256> word{};
  std::array<bool, 256> alnum{};  // ASCII letters and digits (isalnum in the C locale)
  std::array<bool, 256> space{};  // \s: space, \t \n \v \f \r (isspace in the C locale)
  std::array<unsigned char, 256> lower{};
  ByteTables() {
    for (int c = 0; c < 256; ++c) {
      word[c] = IsWordByte(static_cast<char>(c));
      alnum[c] = word[c] && c != '_';
      space[c] = c == ' ' || (c >= '\t' && c <= '\r');
      lower[c] = static_cast<unsigned char>(LowerAscii(static_cast<char>(c)));
    }
  }
};
const ByteTables kTables;

// Finds the whole-word occurrences of the context terms in a text in one
// pass: every maximal run of word bytes is looked up (lower-cased, hashed)
// in a small open-addressing table. A term made of word bytes only occurs
// exactly where a run equals it; a term with other bytes ("ss #",
// "driver's", "american express") is verified from a run equal to its
// first word; a term starting with a non-word byte ("#") is searched for.
class TermIndex {
 public:
  void Build(const std::vector<std::string>& terms) {
    terms_ = &terms;
    slots_.assign(kSlots, Slot{});
    keys_.assign(kSlots, SlotKey{});
    for (uint32_t id = 0; id < terms.size(); ++id) {
      std::string_view t = terms[id];
      if (!IsWordByte(t.front())) {
        leading_.push_back(id);
        continue;
      }
      size_t w = 0;
      while (w < t.size() && IsWordByte(t[w])) ++w;
      Slot& slot = Insert(t.substr(0, w));
      AddLength(t.front(), t[w - 1], w);
      if (w == t.size()) slot.whole = static_cast<int32_t>(id);
      else slot.compound.push_back(id);
    }
  }

  // A word run that passed the filter: its term hits (rare; out of line).
  __attribute__((noinline)) void LookUpRun(std::string_view text, size_t a, size_t i,
                                           std::vector<TermHit>* hits,
                                           std::vector<TermHit>* side) const {
    const unsigned char* p = reinterpret_cast<const unsigned char*>(text.data());
    size_t n = text.size();
    const Slot* slot = Lookup(p + a, i - a, n - a);
    if (!slot) return;
    if (slot->whole >= 0)
      hits->push_back({i, static_cast<uint32_t>(slot->whole), static_cast<uint32_t>(i - a)});
    for (uint32_t id : slot->compound) {
      const std::string& t = (*terms_)[id];
      if (!EqualsLowered(text, a, t)) continue;
      size_t q = a + t.size();
      if (q < n && IsWordByte(t.back()) && IsWordByte(text[q])) continue;
      side->push_back({q, id, static_cast<uint32_t>(t.size())});
    }
  }

  // Appends (end, term) for every occurrence, sorted by end. `side` is
  // scratch for the out-of-order ones.
  void Find(std::string_view text, std::vector<TermHit>* hits, std::vector<TermHit>* side) const {
    FindIn(text, 0, text.size(), hits, side);
  }

  // The same for the occurrences whose first word run (or, for a term that
  // begins with a non-word byte, whose start) lies in text[from, to), where
  // `from` and `to` are no positions inside a word run (text[from - 1] and
  // text[to] are non-word bytes or the text's edges): exactly the hits of
  // Find that begin there. Appended in end order after the hits already
  // in `hits` (which may then need sorting if an earlier range's compound
  // term ends inside this one).
  void FindIn(std::string_view text, size_t from, size_t to, std::vector<TermHit>* hits,
              std::vector<TermHit>* side) const {
    const auto& terms = *terms_;
    const unsigned char* p = reinterpret_cast<const unsigned char*>(text.data());
    size_t n = to;
    side->clear();
    auto on_run = [&](size_t a, size_t i) {
      // Most words are no term: their length, first and last byte rule
      // them out before hashing.
      if (!(len_by_first_[p[a]] & len_by_last_[p[i - 1]] & LengthBit(i - a))) return;
      LookUpRun(text, a, i, hits, side);
    };
    ForEachMaskRun(p, from, n, WordMask16, [](unsigned char c) { return kTables.word[c] != 0; },
                   on_run);
    for (uint32_t id : leading_) {
      const std::string& t = terms[id];
      // Bounded by `to`: a search to the end of the text per range was
      // quadratic in the number of ranges.
      for (size_t at = from; at < to; ++at) {
        const void* hit = std::memchr(text.data() + at, t.front(), to - at);
        if (!hit) break;
        at = static_cast<size_t>(static_cast<const char*>(hit) - text.data());
        if (at > 0 && IsWordByte(text[at - 1])) continue;
        if (!EqualsLowered(text, at, t)) continue;
        size_t q = at + t.size();
        if (q < text.size() && IsWordByte(t.back()) && IsWordByte(text[q])) continue;
        side->push_back({q, id, static_cast<uint32_t>(t.size())});
      }
    }
    if (side->empty()) return;
    // Compound and leading-byte terms end out of order: merge them in
    // (from the back, `side` being the second run; ties keep hits first).
    auto by_end = [](const TermHit& x, const TermHit& y) { return x.end < y.end; };
    std::stable_sort(side->begin(), side->end(), by_end);
    std::vector<TermHit>& h = *hits;
    size_t a = h.size(), b = side->size(), out = a + b;
    h.resize(out);
    while (b > 0) {
      if (a > 0 && h[a - 1].end > (*side)[b - 1].end) {
        h[--out] = h[--a];
      } else {
        h[--out] = (*side)[--b];
      }
    }
  }

 private:
  static constexpr uint64_t kSeed = 1469598103934665603ull;
  static constexpr uint64_t kPrime = 1099511628211ull;
  static constexpr size_t kSlots = 1024;  // power of two, > 2x the words
  struct Slot {
    uint64_t hash = 0;
    std::string word;  // empty: free
    int32_t whole = -1;
    std::vector<uint32_t> compound;
  };

  // A word's key: for up to 8 bytes the bytes themselves with bit 0x20
  // set (folds ASCII case; digits keep theirs; '_' becomes 0x7f, which no
  // word byte is, so equal keys of equal length are equal words); longer
  // words hash (FNV-1a over the lower-cased bytes). `avail` is how many
  // bytes may be read from `p` (>= len).
  static uint64_t Key(const unsigned char* p, size_t len, size_t avail) {
    if (len <= 8) {
      uint64_t k = 0;
      std::memcpy(&k, p, avail >= 8 ? 8 : len);
      uint64_t mask = len == 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * len)) - 1;
      return (k & mask) | (0x2020202020202020ull & mask);
    }
    uint64_t h = kSeed;
    for (size_t k = 0; k < len; ++k) h = (h ^ kTables.lower[p[k]]) * kPrime;
    return h;
  }
  static size_t SlotOf(uint64_t key) { return (key * 0x9E3779B97F4A7C15ull) >> 54; }
  static_assert(kSlots == 1024, "SlotOf yields 10 bits");

  static uint32_t LengthBit(size_t len) { return uint32_t{1} << std::min<size_t>(len, 31); }
  void AddLength(char first, char last, size_t len) {
    for (unsigned char f : {static_cast<unsigned char>(first),
                            static_cast<unsigned char>(std::toupper(first))})
      len_by_first_[f] |= LengthBit(len);
    for (unsigned char l : {static_cast<unsigned char>(last),
                            static_cast<unsigned char>(std::toupper(last))})
      len_by_last_[l] |= LengthBit(len);
  }

  Slot& Insert(std::string_view word) {
    uint64_t h = Key(reinterpret_cast<const unsigned char*>(word.data()), word.size(), word.size());
    for (size_t k = SlotOf(h);; k = (k + 1) & (kSlots - 1)) {
      Slot& s = slots_[k];
      if (s.word.empty()) {
        s.hash = h;
        s.word = std::string(word);
        keys_[k] = {h, word.size()};
        return s;
      }
      if (s.hash == h && s.word == word) return s;
    }
  }

  const Slot* Lookup(const unsigned char* p, size_t len, size_t avail) const {
    uint64_t h = Key(p, len, avail);
    // Probe the compact keys (16 KB, cache-resident); the full slot only
    // for a match.
    for (size_t k = SlotOf(h);; k = (k + 1) & (kSlots - 1)) {
      const SlotKey& key = keys_[k];
      if (key.len == 0) return nullptr;
      if (key.hash != h || key.len != len) continue;
      const Slot& s = slots_[k];
      if (len <= 8) return &s;  // the key is the word
      if (EqualsLowered(std::string_view(reinterpret_cast<const char*>(p), len), 0, s.word))
        return &s;
    }
  }
  struct SlotKey {
    uint64_t hash = 0;
    size_t len = 0;  // 0: free
  };
  std::vector<SlotKey> keys_;  // parallel to slots_

  const std::vector<std::string>* terms_ = nullptr;
  std::vector<Slot> slots_;
  std::vector<uint32_t> leading_;
  // Per byte (either case): bit L set when a term's first word of length
  // L (bit 31: 31 or more) begins / ends with it.
  std::array<uint32_t, 256> len_by_first_{};
  std::array<uint32_t, 256> len_by_last_{};
};

}  // namespace

struct Scanner::Impl {
  EngineOptions engine;
  size_t deserialized = 0;  // databases loaded from scan_patterns.hsdb
  hs_database_t* db = nullptr;        // ungated patterns + context words, match ends only
  hs_database_t* gated_db = nullptr;  // context-only patterns (null when none)
  // Fast paths: patterns whose best possible score (BestScore) is below
  // the default min_score (relative days, 0.45) in a database scanned only
  // when the caller's min_score lets one report: in the main one they cost
  // every scan (the relative-day pattern: ~10% of the main database's time).
  hs_database_t* low_db = nullptr;
  double low_max_best = 0;  // the highest BestScore among them
  // Fast paths (EngineOptions::fast_paths): PHONE_NUMBER patterns match
  // every run of 3+ digits; in the shared database they slow down every
  // other pattern's engine (measured: all 177 MB/s; phone alone 1150 +
  // the rest 262), so they get a database of their own. The year pattern
  // (a 4-digit number from 1500 to 2099) is matched by hand from the
  // digit runs instead (the rest without it: 343 MB/s).
  hs_database_t* split_db = nullptr;
  // Fast paths: kCharset patterns with a region filter and a region byte
  // (IPv6: every clock time and "key: value" is a match, no candidate of
  // them survives) in a database scanned only when some run of their
  // charset passes the filter (RunPassesRegionFilter).
  hs_database_t* region_db = nullptr;
  std::vector<uint32_t> region_ids;
  int year_id = -1;   // pattern matched by FindPhonesAndYears, -1: none
  int phone_id = -1;  // the same for kPhoneRegex
  // The same for the digit-led patterns (kDigitRegexes, by DigitKind).
  int digit_ids[kHandKinds] = {-1, -1, -1, -1, -1, -1, -1, -1, -1};
  bool any_digit = false;
  int time_id = -1;   // kTimeRegex: starts recovered by TimeLeftmostStart
  int time_pattern = -1;  // kTimeRegex's id in either engine (joins, see Joins)
  int url_id = -1;        // kUrlRegex, prefix only in `db` (see ExtendRun)
  int domain_id = -1;     // kDomainRegex: starts recovered by DomainLeftmostStart
  int secret_id = -1;     // kSecretRegex: starts recovered by SecretLeftmostStart
  int email_id = -1;      // kEmailRegex: starts recovered by EmailLeftmostStart
  std::array<bool, 256> url_run{};    // the bytes of its run
  std::vector<hs_database_t*> som;    // per pattern (kSomWindow): leftmost starts
  std::vector<std::array<bool, 256>> charsets;  // per pattern (kCharset)
  // Per pattern: how far back the leftmost-start window reaches (the
  // recognizer's max_len, or the pattern's maximum width if smaller), and
  // the match width when every match has the same one (0 otherwise).
  std::vector<size_t> window_len;
  std::vector<size_t> fixed_width;
  // Per pattern: a superset of the bytes its matches contain, if known.
  std::vector<std::array<bool, 256>> alphabet;
  std::vector<bool> has_alphabet;
  std::vector<bool> gated;
  std::vector<double> best;  // per pattern: BestScore
  bool any_gated = false;
  std::vector<std::string> terms;  // lower case
  std::vector<TermSet> context, negative;  // per pattern
  TermIndex index;
  // Fast paths: the context words of the context-only (gated) recognizers
  // are patterns of the main database too (ids n, n + 1, ...: term ids in
  // `presence_terms`), which is all the whole-text presence the scan needs
  // while no other recognizer depends on a word anywhere in the text
  // (min_score <= windowed_max_min_score). Context and negative words are
  // then looked up only around the candidates that need them (see Scan).
  std::vector<uint32_t> presence_terms;
  bool presence_in_db = false;
  // Fast paths: the first words of the phone recognizer's context terms
  // as caseless substrings in the main database (ids rescue_base, ...). A
  // validated phone scoring below min_score is reported only if a context
  // term lies in its window, which then holds its first word: without one
  // it is dropped before any word look-up (most digit runs in logs).
  std::vector<std::string> rescue_words;
  size_t rescue_base = SIZE_MAX;
  double windowed_max_min_score = 0;
  std::mutex pool_mu;
  std::vector<hs_scratch_t*> pool;
  hs_scratch_t* prototype = nullptr;

  ~Impl() {
    for (hs_scratch_t* s : pool) hs_free_scratch(s);
    if (prototype) hs_free_scratch(prototype);
    if (db) hs_free_database(db);
    if (gated_db) hs_free_database(gated_db);
    if (low_db) hs_free_database(low_db);
    if (split_db) hs_free_database(split_db);
    if (region_db) hs_free_database(region_db);
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

  uint32_t TermId(std::string_view t) {
    for (uint32_t i = 0; i < terms.size(); ++i)
      if (terms[i] == t) return i;
    terms.emplace_back(t);
    return static_cast<uint32_t>(terms.size() - 1);
  }

  TermSet MakeSet(const std::vector<std::string_view>& words) {
    TermSet set;
    for (std::string_view w : words) {
      if (w.empty()) continue;
      uint32_t id = TermId(w);
      if (id >= kMaxTerms || set.bits[id]) continue;
      set.bits[id] = true;
      set.ids.push_back(id);
      set.first[static_cast<unsigned char>(w.front())] = true;
      set.last[static_cast<unsigned char>(w.back())] = true;

      if (w.find(' ') != std::string_view::npos) set.spaced.push_back(id);
    }
    auto group = [&](auto byte_of, std::vector<uint32_t>* out, std::array<uint16_t, 257>* begin) {
      for (int b = 0; b < 256; ++b) {
        (*begin)[b] = static_cast<uint16_t>(out->size());
        for (uint32_t id : set.ids)
          if (byte_of(terms[id]) == b) out->push_back(id);
      }
      (*begin)[256] = static_cast<uint16_t>(out->size());
    };
    group([](const std::string& t) { return static_cast<unsigned char>(t.front()); }, &set.by_first,
          &set.first_begin);
    group([](const std::string& t) { return static_cast<unsigned char>(t.back()); }, &set.by_last,
          &set.last_begin);
    return set;
  }

  // Whether a term of `set` occurs in text[lo, hi) as a search of a copy
  // of that part would see it (whole words, where the part's own edges
  // count as word boundaries) is: one of the whole-word occurrences in the
  // full text (TermIndex hits) lies in the part, or a term is whole-word
  // there only because the part cuts a word run at `lo` or `hi` — this
  // function checks the latter, at the edges directly.
  bool EdgesHaveTerm(std::string_view text, size_t lo, size_t hi, const TermSet& set) const {
    if (lo >= hi || set.empty()) return false;
    if (lo > 0 && IsWordByte(text[lo - 1]) && set.first[static_cast<unsigned char>(LowerAscii(text[lo]))]) {
      unsigned char b = static_cast<unsigned char>(LowerAscii(text[lo]));
      for (size_t k = set.first_begin[b]; k < set.first_begin[b + 1]; ++k) {
        const std::string& t = terms[set.by_first[k]];
        size_t q = lo + t.size();
        if (q > hi || !EqualsLowered(text, lo, t)) continue;
        if (q == hi || !IsWordByte(text[q]) || !IsWordByte(t.back())) return true;
      }
    }
    if (hi < text.size() && IsWordByte(text[hi]) &&
        set.last[static_cast<unsigned char>(LowerAscii(text[hi - 1]))]) {
      unsigned char b = static_cast<unsigned char>(LowerAscii(text[hi - 1]));
      for (size_t k = set.last_begin[b]; k < set.last_begin[b + 1]; ++k) {
        const std::string& t = terms[set.by_last[k]];
        if (t.size() > hi - lo) continue;
        size_t p = hi - t.size();
        if (!EqualsLowered(text, p, t)) continue;
        if (p == lo || !IsWordByte(text[p - 1])) return true;
      }
    }
    return false;
  }

  // A term with a space that straddles the gap of the context window
  // text[ws, start) + ' ' + text[end, we).
  bool StraddlesGap(std::string_view text, size_t ws, size_t start, size_t end, size_t we,
                    const TermSet& set) const {
    for (uint32_t id : set.spaced) {
      const std::string& t = terms[id];
      for (size_t k = 0; k < t.size(); ++k) {
        if (t[k] != ' ') continue;
        size_t before = k, after = t.size() - k - 1;
        if (before > start - ws || after > we - end) continue;
        size_t p = start - before;
        if (!EqualsLowered(text, p, std::string_view(t).substr(0, before)) ||
            !EqualsLowered(text, end, std::string_view(t).substr(k + 1)))
          continue;
        size_t q = end + after;
        bool left = p == ws || !IsWordByte(text[p - 1]);
        bool right = q == we || !IsWordByte(text[q]) || !IsWordByte(t.back());
        if (left && right) return true;
      }
    }
    return false;
  }
};

Scanner::Scanner() : impl_(std::make_unique<Impl>()) {}
size_t Scanner::deserialized_databases() const { return impl_->deserialized; }
Scanner::~Scanner() = default;

namespace {

using ByteSet = std::array<bool, 256>;

void AddRange(ByteSet& set, int lo, int hi) {
  for (int c = lo; c <= hi && c < 256; ++c) set[c] = true;
}

// \d \w \s and their complements.
void AddClassEscape(ByteSet& set, char cls) {
  ByteSet add{};
  char lower = static_cast<char>(cls | 0x20);
  if (lower == 'd') AddRange(add, '0', '9');
  if (lower == 'w') {
    AddRange(add, '0', '9');
    AddRange(add, 'A', 'Z');
    AddRange(add, 'a', 'z');
    add['_'] = true;
  }
  if (lower == 's') {
    AddRange(add, '\t', '\r');
    add[' '] = true;
  }
  bool complement = cls >= 'A' && cls <= 'Z';
  for (int c = 0; c < 256; ++c)
    if (add[c] != complement) set[c] = true;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Parses the escape after a backslash at *p. A single byte goes to
// *single; a class escape is added to `set` (*single = -1). False for
// anything not understood.
bool ParseEscape(const char*& p, bool in_class, ByteSet& set, int* single) {
  char c = *p;
  if (!c) return false;
  ++p;
  *single = -1;
  switch (c) {
    case 'd': case 'w': case 's': case 'D': case 'W': case 'S':
      AddClassEscape(set, c);
      return true;
    case 't': *single = '\t'; return true;
    case 'n': *single = '\n'; return true;
    case 'r': *single = '\r'; return true;
    case 'f': *single = '\f'; return true;
    case 'e': *single = 27; return true;
    case 'a': *single = 7; return true;
    case 'b':
      if (!in_class) return false;  // zero-width outside classes: caller handles
      *single = 8;
      return true;
    case 'x': {
      int hi = HexValue(p[0]), lo = hi < 0 ? -1 : HexValue(p[1]);
      if (hi < 0 || lo < 0) return false;
      p += 2;
      *single = hi * 16 + lo;
      return true;
    }
    default:
      // Escaped punctuation is itself; letters and digits mean something
      // this reader does not model.
      if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return false;
      *single = static_cast<unsigned char>(c);
      return true;
  }
}

void AddByte(ByteSet& set, int c, bool caseless) {
  set[c] = true;
  if (caseless && c >= 'a' && c <= 'z') set[c - 32] = true;
  if (caseless && c >= 'A' && c <= 'Z') set[c + 32] = true;
}

bool ParseClass(const char*& p, bool caseless, ByteSet& out) {
  // *p is just after '['.
  bool negate = *p == '^';
  if (negate) ++p;
  ByteSet set{};
  bool first = true;
  while (*p && (*p != ']' || first)) {
    first = false;
    int lo;
    if (*p == '[' && p[1] == ':') return false;  // POSIX classes: not modelled
    if (*p == '\\') {
      ++p;
      if (!ParseEscape(p, true, set, &lo)) return false;
      if (lo < 0) continue;  // \d etc.
    } else {
      lo = static_cast<unsigned char>(*p++);
    }
    if (*p == '-' && p[1] && p[1] != ']') {
      ++p;
      int hi;
      if (*p == '\\') {
        ++p;
        if (!ParseEscape(p, true, set, &hi) || hi < 0) return false;
      } else {
        hi = static_cast<unsigned char>(*p++);
      }
      if (hi < lo) return false;
      for (int c = lo; c <= hi; ++c) AddByte(set, c, caseless);
    } else {
      AddByte(set, lo, caseless);
    }
  }
  if (*p != ']') return false;
  ++p;
  for (int c = 0; c < 256; ++c)
    if (set[c] != negate) out[c] = true;
  return true;
}

Status CompileError(const char* what, hs_compile_error_t* err, const std::vector<Recognizer>& recs,
                    const std::vector<unsigned>& ids) {
  std::string msg = std::string("scan: ") + what + ": ";
  if (err) {
    msg += err->message;
    if (err->expression >= 0 && static_cast<size_t>(err->expression) < ids.size() &&
        ids[err->expression] < recs.size())
      msg += std::string(" (") + std::string(recs[ids[err->expression]].type) + " pattern #" +
             std::to_string(ids[err->expression]) + ")";
    hs_free_compile_error(err);
  }
  return Internal(msg);
}

// One Vectorscan database to build: its patterns, flags and ids.
struct DbJob {
  explicit DbJob(std::string w) : what(std::move(w)) {}
  std::string what;  // for error messages
  std::vector<const char*> exprs;
  std::vector<unsigned> flags, ids;
  void Add(const char* expr, unsigned f, size_t id) {
    exprs.push_back(expr);
    flags.push_back(f);
    ids.push_back(static_cast<unsigned>(id));
  }
};

uint64_t Fnv(uint64_t h, std::string_view bytes) {
  for (char c : bytes) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  return h;
}
uint64_t FnvU64(uint64_t h, uint64_t v) {
  return Fnv(h, std::string_view(reinterpret_cast<const char*>(&v), sizeof(v)));
}

// What a serialised database depends on besides its patterns: the
// Vectorscan version and the platform it was compiled for.
uint64_t PlatformSeed() {
  uint64_t h = Fnv(1469598103934665603ull, hs_version());
  if (const hs_platform_info_t* p = HsPlatform()) {
    h = FnvU64(h, p->tune);
    h = FnvU64(h, p->cpu_features);
  } else {
    h = Fnv(h, "host");
  }
  return h;
}

// A database's identity: every expression, flag and id, in order.
uint64_t Fingerprint(const DbJob& job) {
  uint64_t h = FnvU64(PlatformSeed(), job.exprs.size());
  for (size_t i = 0; i < job.exprs.size(); ++i) {
    h = Fnv(h, job.exprs[i]);
    h = FnvU64(h, job.flags[i]);
    h = FnvU64(h, job.ids[i]);
  }
  return h;
}
uint64_t WidthFingerprint(const char* regex, unsigned flags) {
  return FnvU64(Fnv(Fnv(PlatformSeed(), "width"), regex), flags);
}

struct PatternWidth {
  unsigned min = 0, max = UINT_MAX;
};

Result<hs_database_t*> CompileJob(const DbJob& job, const std::vector<Recognizer>& recs) {
  hs_database_t* db = nullptr;
  hs_compile_error_t* err = nullptr;
  if (hs_compile_multi(job.exprs.data(), job.flags.data(), job.ids.data(),
                       static_cast<unsigned>(job.exprs.size()), HS_MODE_BLOCK, HsPlatform(), &db,
                       &err) != HS_SUCCESS)
    return CompileError(job.what.c_str(), err, recs, job.ids);
  return db;
}

PatternWidth ExpressionWidth(const char* regex, unsigned flags) {
  PatternWidth w;
  hs_expr_info_t* info = nullptr;
  hs_compile_error_t* e = nullptr;
  if (hs_expression_info(regex, flags, &info, &e) == HS_SUCCESS && info) {
    w.min = info->min_width;
    w.max = info->max_width;
    std::free(info);
  } else if (e) {
    hs_free_compile_error(e);
  }
  return w;
}

}  // namespace

// Serialised databases (and pattern widths) by fingerprint, read from a
// scan_patterns.hsdb file: "STWHSDB1", u32 count, then count x {u64
// fingerprint, u64 size, size bytes} (a width entry's bytes are u32 min,
// u32 max). Anything not in it is compiled. Lives only while a scanner is
// created (the file's bytes are not kept).
class PatternStore {
 public:
  static constexpr std::string_view kMagic = "STWHSDB1";

  // Loads `path`; an unreadable or malformed file leaves the store empty.
  void Load(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return;
    data_.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    std::string_view d = data_;
    if (d.size() < 12 || d.substr(0, 8) != kMagic) return;
    uint32_t count;
    std::memcpy(&count, d.data() + 8, 4);
    size_t pos = 12;
    for (uint32_t k = 0; k < count; ++k) {
      if (d.size() - pos < 16) return;
      uint64_t fp, size;
      std::memcpy(&fp, d.data() + pos, 8);
      std::memcpy(&size, d.data() + pos + 8, 8);
      pos += 16;
      if (d.size() - pos < size) return;
      entries_[fp] = d.substr(pos, size);
      pos += size;
    }
  }

  // Records every database and width handed out, to be written by Save.
  void set_recording(bool on) { recording_ = on; }

  // The database for `job`: deserialised if the store has it (and it
  // deserialises), compiled otherwise.
  Status Get(const DbJob& job, hs_database_t** db, const std::vector<Recognizer>& recs) {
    uint64_t fp = Fingerprint(job);
    auto it = entries_.find(fp);
    if (it != entries_.end() &&
        hs_deserialize_database(it->second.data(), it->second.size(), db) == HS_SUCCESS) {
      ++loaded_;
      return Status();
    }
    STEWARD_ASSIGN_OR_RETURN(*db, CompileJob(job, recs));
    if (recording_) {
      char* bytes = nullptr;
      size_t size = 0;
      if (hs_serialize_database(*db, &bytes, &size) != HS_SUCCESS)
        return Internal("scan: cannot serialise " + job.what);
      record_.emplace_back(fp, std::string(bytes, size));
      std::free(bytes);
    }
    return Status();
  }

  PatternWidth Width(const char* regex, unsigned flags) {
    uint64_t fp = WidthFingerprint(regex, flags);
    PatternWidth w;
    auto it = entries_.find(fp);
    if (it != entries_.end() && it->second.size() == 8) {
      std::memcpy(&w.min, it->second.data(), 4);
      std::memcpy(&w.max, it->second.data() + 4, 4);
      return w;
    }
    w = ExpressionWidth(regex, flags);
    if (recording_) {
      std::string bytes(8, '\0');
      std::memcpy(bytes.data(), &w.min, 4);
      std::memcpy(bytes.data() + 4, &w.max, 4);
      record_.emplace_back(fp, std::move(bytes));
    }
    return w;
  }

  size_t loaded() const { return loaded_; }

  Status Save(const std::string& path) const {
    std::string out(kMagic);
    uint32_t count = static_cast<uint32_t>(record_.size());
    out.append(reinterpret_cast<const char*>(&count), 4);
    for (const auto& [fp, bytes] : record_) {
      uint64_t size = bytes.size();
      out.append(reinterpret_cast<const char*>(&fp), 8);
      out.append(reinterpret_cast<const char*>(&size), 8);
      out += bytes;
    }
    std::string tmp = path + ".tmp";
    {
      std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
      f.write(out.data(), static_cast<std::streamsize>(out.size()));
      if (!f) return Internal("scan: cannot write " + tmp);
    }
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) return Internal("scan: cannot write " + path + ": " + ec.message());
    return Status();
  }

 private:
  std::string data_;
  std::unordered_map<uint64_t, std::string_view> entries_;
  bool recording_ = false;
  std::vector<std::pair<uint64_t, std::string>> record_;
  size_t loaded_ = 0;
};

namespace {

// Where the build put scan_patterns.hsdb: $STEWARD_DATA_DIR, then the
// executable's folder and up to 4 folders above it.
std::string FindPatternFile() {
  namespace fs = std::filesystem;
  std::error_code ec;
  constexpr const char* kName = "scan_patterns.hsdb";
  if (const char* env = std::getenv("STEWARD_DATA_DIR"); env && *env) {
    if (fs::exists(fs::path(env) / kName, ec)) return (fs::path(env) / kName).string();
  }
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return "";
  fs::path dir = fs::path(std::string(buf, n)).parent_path();
  for (int i = 0; i < 5; ++i, dir = dir.parent_path()) {
    if (fs::exists(dir / kName, ec)) return (dir / kName).string();
    if (!dir.has_parent_path() || dir.parent_path() == dir) break;
  }
  return "";
}

}  // namespace

// A superset of the bytes any match of `regex` can contain, read from the
// pattern text (literals, escapes, classes; groups, alternation and
// quantifiers add nothing). False when the pattern uses something this
// reader does not model, or can match any byte: then nothing is assumed.
bool PatternAlphabet(const char* regex, bool caseless, std::array<bool, 256>* alphabet) {
  ByteSet set{};
  const char* p = regex;
  while (*p) {
    char c = *p;
    if (c == '\\') {
      ++p;
      if (*p == 'b' || *p == 'B') {  // word boundaries consume nothing
        ++p;
        continue;
      }
      int single;
      if (!ParseEscape(p, false, set, &single)) return false;
      if (single >= 0) AddByte(set, single, caseless);
    } else if (c == '[') {
      ++p;
      if (!ParseClass(p, caseless, set)) return false;
    } else if (c == '(') {
      if (p[1] == '?') {
        if (p[2] != ':') return false;  // inline options, look-around, ...
        p += 3;
      } else {
        ++p;
      }
    } else if (c == ')' || c == '|' || c == '*' || c == '+' || c == '?' || c == '^' ||
               c == '$') {
      ++p;
    } else if (c == '{') {
      const char* q = p + 1;
      while ((*q >= '0' && *q <= '9') || *q == ',') ++q;
      if (*q == '}' && q > p + 1) {
        p = q + 1;  // a quantifier
      } else {
        AddByte(set, '{', caseless);
        ++p;
      }
    } else if (c == '.') {
      return false;
    } else {
      AddByte(set, static_cast<unsigned char>(c), caseless);
      ++p;
    }
  }
  for (int c = 0; c < 256; ++c)
    if (!set[c]) {
      *alphabet = set;
      return true;
    }
  return false;  // every byte: nothing to gain
}

Result<std::unique_ptr<Scanner>> Scanner::Create(const std::string& data_dir) {
  return Create(data_dir, EngineOptions{});
}

Result<std::unique_ptr<Scanner>> Scanner::Create(const std::string& data_dir,
                                                 const EngineOptions& engine) {
  return CreateWith(data_dir, engine, nullptr);
}

Status WritePatternDatabases(const std::string& path) {
  PatternStore store;
  store.set_recording(true);
  STEWARD_ASSIGN_OR_RETURN(auto scanner, Scanner::CreateWith("", EngineOptions{}, &store));
  return store.Save(path);
}

Result<std::unique_ptr<Scanner>> Scanner::CreateWith(const std::string& data_dir,
                                                     const EngineOptions& engine,
                                                     PatternStore* store) {
  std::unique_ptr<Scanner> s(new Scanner());
  Impl& im = *s->impl_;
  im.engine = engine;
  const auto& recs = Recognizers();
  size_t n = recs.size();
  im.window_len.assign(n, 0);
  im.fixed_width.assign(n, 0);
  im.alphabet.assign(n, {});
  im.has_alphabet.assign(n, false);
  im.gated.assign(n, false);
  im.best.resize(n);
  for (size_t i = 0; i < n; ++i) im.best[i] = BestScore(recs[i]);
  im.context.resize(n);
  im.negative.resize(n);
  for (size_t i = 0; i < n; ++i) {
    im.context[i] = im.MakeSet(recs[i].context);
    im.negative[i] = im.MakeSet(recs[i].negative);
    im.gated[i] = recs[i].score < kGatedScore && !recs[i].context.empty();
    im.any_gated = im.any_gated || im.gated[i];
  }
  if (im.terms.size() > kMaxTerms || im.terms.size() * 2 > 1024)
    return Internal("scan: too many context words");
  im.index.Build(im.terms);

  // Which database each pattern goes to (see Impl).
  DbJob main_job{"pattern database"}, split_job{"phone pattern database"},
      gated_job{"context-only pattern database"}, low_job{"low-score pattern database"},
      region_job{"region-filtered pattern database"};
  for (size_t i = 0; i < n; ++i) {
    unsigned f = recs[i].caseless ? HS_FLAG_CASELESS : 0;
    if (engine.fast_paths && !im.gated[i] && im.year_id < 0 && recs[i].regex == kYearRegex &&
        !recs[i].caseless && recs[i].start == StartRule::kFixed && recs[i].max_len == 4) {
      im.year_id = static_cast<int>(i);
    } else if (engine.fast_paths && !im.gated[i] && im.phone_id < 0 &&
               recs[i].regex == kPhoneRegex && recs[i].caseless &&
               recs[i].start == StartRule::kCharset) {
      im.phone_id = static_cast<int>(i);
    } else if (int kind = DigitKindOf(recs[i].regex, recs[i].caseless);
               engine.fast_paths && !im.gated[i] && kind >= 0 && im.digit_ids[kind] < 0) {
      im.digit_ids[kind] = static_cast<int>(i);
      im.any_digit = true;
    } else if (engine.fast_paths && !im.gated[i] && recs[i].type == "PHONE_NUMBER") {
      split_job.Add(recs[i].regex, f, i);
    } else if (im.gated[i]) {
      gated_job.Add(recs[i].regex, f, i);
    } else if (engine.fast_paths && im.url_id < 0 && recs[i].regex == kUrlRegex &&
               recs[i].caseless && recs[i].start == StartRule::kSomWindow) {
      im.url_id = static_cast<int>(i);
      main_job.Add(kUrlPrefixRegex, f, i);
    } else if (engine.fast_paths && recs[i].start == StartRule::kCharset && recs[i].region_filter &&
               recs[i].region_byte && std::strchr(recs[i].charset, recs[i].region_byte)) {
      region_job.Add(recs[i].regex, f, i);
      im.region_ids.push_back(static_cast<uint32_t>(i));
    } else if (engine.fast_paths && BestScore(recs[i]) < kDefaultMinScore) {
      low_job.Add(recs[i].regex, f, i);
      im.low_max_best = std::max(im.low_max_best, BestScore(recs[i]));
    } else {
      main_job.Add(recs[i].regex, f, i);
    }
  }
  // Context words of the gated recognizers as whole-word patterns (see
  // Impl::presence_terms): `\b` + word + `\b` (no `\b` after a word ending
  // on a non-word byte, "passport#"), caseless, exactly the whole-word
  // occurrences TermIndex finds. A word beginning with a non-word byte has
  // no such pattern: then the scan keeps the whole-text word pass.
  std::vector<std::string> presence_exprs;
  if (engine.fast_paths) {
    TermBits seen;
    bool expressible = true;
    for (size_t i = 0; i < n; ++i) {
      if (!im.gated[i]) continue;
      for (uint32_t t : im.context[i].ids) {
        if (seen[t]) continue;
        seen[t] = true;
        const std::string& w = im.terms[t];
        if (!IsWordByte(w.front())) expressible = false;
        std::string e = "\\b";
        for (char c : w) {
          if (!IsWordByte(c) && c != ' ') e += '\\';
          e += c;
        }
        if (IsWordByte(w.back())) e += "\\b";
        presence_exprs.push_back(std::move(e));
        im.presence_terms.push_back(t);
      }
    }
    im.presence_in_db = expressible;
    if (!expressible) {
      presence_exprs.clear();
      im.presence_terms.clear();
    }
    // Every other recognizer with context words reports without them at
    // min_score <= its score + 0.2 (the candidate pre-filter in Scan).
    im.windowed_max_min_score = 1e9;
    for (size_t i = 0; i < n; ++i)
      if (!im.gated[i] && !im.context[i].empty())
        im.windowed_max_min_score = std::min(im.windowed_max_min_score, recs[i].score + 0.2);
    for (size_t k = 0; k < presence_exprs.size(); ++k)
      main_job.Add(presence_exprs[k].c_str(), HS_FLAG_CASELESS, n + k);
    if (im.phone_id >= 0 && im.presence_in_db) {
      bool letters_only = true;
      for (uint32_t t : im.context[im.phone_id].ids) {
        std::string w = im.terms[t].substr(0, im.terms[t].find(' '));
        for (char c : w) letters_only = letters_only && c >= 'a' && c <= 'z';
        if (std::find(im.rescue_words.begin(), im.rescue_words.end(), w) == im.rescue_words.end())
          im.rescue_words.push_back(w);
      }
      if (letters_only && !im.rescue_words.empty()) {
        im.rescue_base = n + presence_exprs.size();
        for (size_t k = 0; k < im.rescue_words.size(); ++k)
          main_job.Add(im.rescue_words[k].c_str(), HS_FLAG_CASELESS, im.rescue_base + k);
      } else {
        im.rescue_words.clear();
      }
    }
  }
  // Serialised databases from the build (scan_patterns.hsdb) replace
  // compiling when their fingerprints match; anything else is compiled.
  PatternStore local_store;
  PatternStore& cache = store ? *store : local_store;
  if (!store && engine.use_serialized) {
    std::string path = FindPatternFile();
    if (!path.empty()) cache.Load(path);
  }
  auto get = [&](const DbJob& job, hs_database_t** db) -> Status {
    STEWARD_RETURN_IF_ERROR(cache.Get(job, db, recs));
    if (hs_alloc_scratch(*db, &im.prototype) != HS_SUCCESS)
      return Internal("scan: cannot allocate Vectorscan scratch");
    return Status();
  };
  STEWARD_RETURN_IF_ERROR(get(main_job, &im.db));
  if (!split_job.exprs.empty()) STEWARD_RETURN_IF_ERROR(get(split_job, &im.split_db));
  if (!gated_job.exprs.empty()) STEWARD_RETURN_IF_ERROR(get(gated_job, &im.gated_db));
  if (!low_job.exprs.empty()) STEWARD_RETURN_IF_ERROR(get(low_job, &im.low_db));
  if (!region_job.exprs.empty()) STEWARD_RETURN_IF_ERROR(get(region_job, &im.region_db));
  im.som.assign(n, nullptr);
  im.charsets.resize(n);
  for (size_t i = 0; i < n; ++i) {
    auto& cs = im.charsets[i];
    cs.fill(false);
    for (const char* c = recs[i].charset; *c; ++c) cs[static_cast<unsigned char>(*c)] = true;
    if (recs[i].start != StartRule::kSomWindow) continue;
    unsigned f = recs[i].caseless ? HS_FLAG_CASELESS : 0;
    // Matches are never longer than the pattern's maximum width, so the
    // start window needs to reach no further back; when every match has
    // the same width the start is simply end - width.
    im.window_len[i] = recs[i].max_len;
    PatternWidth width = cache.Width(recs[i].regex, f);
    if (width.max != UINT_MAX && width.max <= recs[i].max_len) {
      im.window_len[i] = width.max;
      if (width.min == width.max && width.max > 0) im.fixed_width[i] = width.max;
    }
    if (im.fixed_width[i]) continue;
    im.has_alphabet[i] = PatternAlphabet(recs[i].regex, recs[i].caseless, &im.alphabet[i]);
    if (im.time_pattern < 0 && recs[i].regex == kTimeRegex && recs[i].caseless)
      im.time_pattern = static_cast<int>(i);
    if (engine.fast_paths && im.time_id < 0 && recs[i].regex == kTimeRegex && recs[i].caseless) {
      im.time_id = static_cast<int>(i);  // starts by hand: no leftmost-start database
      continue;
    }
    if (static_cast<int>(i) == im.url_id) continue;  // starts by hand (UrlLeftmostStart)
    if (engine.fast_paths && im.domain_id < 0 && recs[i].regex == kDomainRegex &&
        !recs[i].caseless) {
      im.domain_id = static_cast<int>(i);  // starts by hand (DomainLeftmostStart)
      continue;
    }
    if (engine.fast_paths && im.secret_id < 0 && recs[i].regex == kSecretRegex &&
        recs[i].caseless) {
      im.secret_id = static_cast<int>(i);  // starts by hand (SecretLeftmostStart)
      continue;
    }
    if (engine.fast_paths && im.email_id < 0 && recs[i].regex == kEmailRegex &&
        !recs[i].caseless) {
      im.email_id = static_cast<int>(i);  // starts by hand (EmailLeftmostStart)
      continue;
    }
    DbJob som{std::string(recs[i].type) + " pattern #" + std::to_string(i)};
    som.Add(recs[i].regex, f | HS_FLAG_SOM_LEFTMOST, i);
    STEWARD_RETURN_IF_ERROR(get(som, &im.som[i]));
  }
  if (im.url_id >= 0) {
    // The run's class, read from the pattern's last bracket expression.
    std::string_view regex = kUrlRegex;
    const char* cls = regex.data() + regex.rfind('[') + 1;
    if (!ParseClass(cls, true, im.url_run)) return Internal("scan: cannot read the URL run class");
  }
  im.deserialized = cache.loaded();
  if (!data_dir.empty()) {
    STEWARD_ASSIGN_OR_RETURN(s->names_, NameRecognizer::Load(data_dir));
  }
  return s;
}

namespace {
std::string& DefaultNamesProblem() {
  static std::string problem;
  return problem;
}
}  // namespace

const Scanner& Scanner::Default() {
  static const Scanner* instance = [] {
    std::string dir = FindScanDataDir();
    Result<std::unique_ptr<Scanner>> r = Create(dir);
    if (!r.ok() && !dir.empty()) {
      DefaultNamesProblem() = r.status().message();
      r = Create("");
    } else if (dir.empty()) {
      DefaultNamesProblem() = "scan data (data/scan) not found; set STEWARD_DATA_DIR";
    }
    if (!DefaultNamesProblem().empty()) {
      std::fprintf(stderr, "steward: warning: %s; PERSON/LOCATION detection is off\n",
                   DefaultNamesProblem().c_str());
    }
    if (!r.ok()) {
      std::fprintf(stderr, "steward: fatal: %s\n", r.status().message().c_str());
      std::abort();
    }
    return r->release();
  }();
  return *instance;
}

Result<const Scanner*> Scanner::DefaultFor(bool names_required) {
  const Scanner& scanner = Default();
  if (names_required && !scanner.has_names()) {
    std::string_view why = DefaultNamesProblem();
    if (why.starts_with("scan: ")) why.remove_prefix(6);
    return FailedPrecondition(
        "scan: PERSON/LOCATION detection is on (`scan.names`, default true) but its data could "
        "not be loaded: " +
        std::string(why) +
        "; point STEWARD_DATA_DIR at the folder holding names.model, or set `scan.names: false` "
        "to scan without it");
  }
  return &scanner;
}

namespace {

// Merges candidates[0, mid) and [mid, end), each in match-end order, by
// first end; ties keep the first range first (as std::inplace_merge, but
// through a reused buffer instead of a temporary allocation per call).
void MergeByFirstEnd(std::vector<Candidate>* candidates, size_t mid,
                     std::vector<Candidate>* buf) {
  std::vector<Candidate>& c = *candidates;
  if (mid == 0 || mid == c.size() || c[mid - 1].first_end <= c[mid].first_end) return;
  buf->assign(c.begin() + mid, c.end());
  size_t a = mid, b = buf->size(), out = c.size();
  while (b > 0) {
    if (a > 0 && c[a - 1].first_end > (*buf)[b - 1].first_end) {
      c[--out] = c[--a];
    } else {
      c[--out] = (*buf)[--b];
    }
  }
}

// Bit k set when p[k] is an ASCII digit, for 16 bytes.
inline unsigned DigitMask16(const unsigned char* p) {
  __m128i v = _mm_sub_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)),
                           _mm_set1_epi8('0'));
  // A byte is a digit when (byte - '0') <= 9 unsigned.
  return static_cast<unsigned>(
      _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(9)), v)));
}

// Calls f(start, end) for every maximal run of ASCII digits in `text`, in
// order.
template <typename F>
void ForEachDigitRun(std::string_view text, F&& f) {
  ForEachMaskRun(reinterpret_cast<const unsigned char*>(text.data()), 0, text.size(), DigitMask16,
                 [](unsigned char c) { return static_cast<unsigned>(c - '0') < 10; },
                 std::forward<F>(f));
}

bool IsRegexSpace(char c) {  // Vectorscan's \s
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}
bool IsAsciiDigit(char c) { return static_cast<unsigned>(c - '0') < 10; }

// Start of the maximal digit run that ends at `end` (text[end - 1] a digit).
size_t DigitRunStart(std::string_view text, size_t end) {
  while (end > 0 && IsAsciiDigit(text[end - 1])) --end;
  return end;
}

// "(" + 1 to 5 digits + ")" ends at `q` (text[q - 1] == ')').
bool ParenGroupEndsAt(std::string_view text, size_t q) {
  if (q < 3 || text[q - 1] != ')' || !IsAsciiDigit(text[q - 2])) return false;
  size_t d = DigitRunStart(text, q - 1);
  return q - 1 - d <= 5 && d >= 1 && text[d - 1] == '(';
}

// Whether kPhoneRegex's part before its extension — optional country
// prefix, first group (\b\d{1,5} or \(\d{1,5}\)), optional "(0)", up to
// four more groups, each with one optional separator [\s.\-], then
// \d{2,} — can end at the end of the maximal digit run [r, e). A prefix
// never makes an end possible that its first group alone does not, so:
// a run of 3+ digits needs a word boundary before it (the first group and
// the final digits split it); a run of 2 needs a first group, "(12)" or a
// digit run (of at most 25 digits: five groups) led by a word boundary,
// right before it or before one separator.
bool PhoneBodyEndsAt(std::string_view text, size_t r, size_t e) {
  const auto& word = kTables.word;
  size_t len = e - r;
  if (len < 2) return false;
  if (len >= 3) return r == 0 || !word[static_cast<unsigned char>(text[r - 1])];
  if (r == 0) return false;
  char c = text[r - 1];
  if (c == ')') return ParenGroupEndsAt(text, r);
  if (!(IsRegexSpace(c) || c == '.' || c == '-') || r < 2) return false;
  char c2 = text[r - 2];
  if (c2 == ')') return ParenGroupEndsAt(text, r - 1);
  if (!IsAsciiDigit(c2)) return false;
  size_t r2 = DigitRunStart(text, r - 1);
  return r - 1 - r2 <= 25 && (r2 == 0 || !word[static_cast<unsigned char>(text[r2 - 1])]);
}

// Whether an extension — \s?(?:x|ext\.?|extension)\s?\d{1,5} (caseless) —
// ending at the end of the digit run [r, e) follows a phone body.
bool PhoneExtensionEndsAt(std::string_view text, size_t r, size_t e) {
  if (e - r > 5 || r == 0) return false;
  // Every keyword ends on x, t, '.' or n, right before the digits or
  // before one \s: most runs have neither.
  auto keyword_end = [&](size_t q) {
    unsigned char c = kTables.lower[static_cast<unsigned char>(text[q - 1])];
    return c == 'x' || c == 't' || c == '.' || c == 'n';
  };
  if (!keyword_end(r) && !(r >= 2 && IsRegexSpace(text[r - 1]) && keyword_end(r - 1))) return false;
  auto keyword_at = [&](size_t q, std::string_view k) {  // k ends at q, caseless
    if (q < k.size()) return false;
    for (size_t i = 0; i < k.size(); ++i)
      if (kTables.lower[static_cast<unsigned char>(text[q - k.size() + i])] !=
          static_cast<unsigned char>(k[i]))
        return false;
    return true;
  };
  static constexpr std::string_view kKeywords[] = {"x", "ext", "ext.", "extension"};
  for (size_t s1 = 0; s1 < 2; ++s1) {
    if (s1 && !(r >= 1 && IsRegexSpace(text[r - 1]))) break;
    size_t q = r - s1;
    for (std::string_view k : kKeywords) {
      if (!keyword_at(q, k)) continue;
      size_t k0 = q - k.size();
      for (size_t s2 = 0; s2 < 2; ++s2) {
        if (s2 && !(k0 >= 1 && IsRegexSpace(text[k0 - 1]))) break;
        size_t f = k0 - s2;
        if (f == 0 || !IsAsciiDigit(text[f - 1])) continue;
        if (PhoneBodyEndsAt(text, DigitRunStart(text, f), f)) return true;
      }
    }
  }
  return false;
}

// ---- digit-led patterns matched by hand --------------------------------
// Every match of these patterns begins at the start of a maximal digit run
// (a `\b` before a digit) and consists of whole digit runs joined by one
// separator byte each (or `,\s` before a numeric date's time); each ends
// at the end of a digit run before a non-word byte (`\b`), or, for an ISO
// timestamp, after a 'Z' that follows one. So whether a match ends at a
// run's end is decided by the lengths of the last few runs and the bytes
// between them, read from a ring of the runs seen so far: no regex engine
// and no byte loop per pattern. The plain engine has Vectorscan match them.
// A set of ASCII bytes (separators), tested with one shift.
struct ByteSet128 {
  uint64_t bits[2] = {0, 0};
  constexpr explicit ByteSet128(const char* bytes) {
    for (; *bytes; ++bytes) {
      unsigned char c = static_cast<unsigned char>(*bytes);
      bits[c >> 6] |= uint64_t{1} << (c & 63);
    }
  }
  bool has(char c) const {
    unsigned char u = static_cast<unsigned char>(c);
    return u < 128 && (bits[u >> 6] >> (u & 63) & 1);
  }
};
constexpr ByteSet128 kSpaceDash(" -"), kSsnSeps("- ."), kDot("."), kDateSeps("-/."), kColon(":"),
    kTimeSep("T "), kSign("+-");

// The latest digit runs of a text, most recent first: run i is
// [a(i), b(i)). Runs not seen (before the text) read as far away.
class RunRing {
 public:
  static constexpr int kSize = 16;  // > the most runs one match spans (9)
  // (The slot before the first run holds an end no run follows directly.)
  explicit RunRing(std::string_view text) : text_(text) { b_[0] = SIZE_MAX - 1; }
  // What the pattern tests read of a run most is worked out once, here:
  // its length, the separator byte between it and the run before (0 when
  // the gap is not one byte) and whether `\b` holds before it. Slots not
  // yet written read as zero-length runs, which no test accepts.
  __attribute__((always_inline)) void Push(size_t a, size_t b) {
    size_t prev_b = b_[head_];
    head_ = (head_ + 1) & (kSize - 1);
    a_[head_] = a;
    b_[head_] = b;
    len_[head_] = b - a;
    char before = a > 0 ? text_[a - 1] : 0;
    sep_[head_] = a == prev_b + 1 ? before : 0;
    bound_[head_] = a == 0 || !kTables.word[static_cast<unsigned char>(before)];
  }
  size_t a(int i) const { return a_[Slot(i)]; }
  size_t b(int i) const { return b_[Slot(i)]; }
  size_t len(int i) const { return len_[Slot(i)]; }
  bool LenIn(int i, size_t lo, size_t hi) const { return len(i) - lo <= hi - lo; }
  // Run i is preceded by exactly one byte, one of `seps`, right after run i + 1.
  __attribute__((always_inline)) bool Sep(int i, const ByteSet128& seps) const {
    return seps.has(sep_[Slot(i)]);
  }
  // `\b` before run i: it starts the text or follows a non-word byte.
  bool Boundary(int i) const { return bound_[Slot(i)]; }
  // Run i is preceded by `,?\s` right after run i + 1.
  bool CommaSpace(int i) const {
    if (len(i + 1) == 0) return false;  // no run before (or not seen)
    size_t a = this->a(i), gap = a - b(i + 1);
    return IsRegexSpace(text_[a - 1]) && (gap == 1 || (gap == 2 && text_[a - 2] == ','));
  }
  // Run i is preceded by one byte right after run i + 1 (the common first
  // test of every multi-run shape); that byte is sep(i).
  char sep(int i) const { return sep_[Slot(i)]; }
  char digit(int i, size_t k) const { return text_[a(i) + k]; }

 private:
  int Slot(int i) const { return (head_ - i) & (kSize - 1); }
  std::string_view text_;
  size_t a_[kSize] = {}, b_[kSize] = {}, len_[kSize] = {};
  char sep_[kSize] = {};
  bool bound_[kSize] = {};
  int head_ = 0;
};

// `\b\d{4}(?:[ \-]?\d{2,7}){1,4}\b` ending at the end of run 0: starting at
// run j (j separators back), the digits after the first four form
// segments (the rest of run j, then each later run), each cut into groups
// of 2-7 digits; some count of groups from 1 to 4 must fit.
inline __attribute__((always_inline)) bool CardEnds(const RunRing& r) {
  size_t lo = 0, hi = 0;  // groups the runs after run j need, at least / at most
  for (int j = 0; j <= 4; ++j) {
    if (j > 0) {
      size_t m = r.len(j - 1);  // a whole run after the start run
      if (m < 2 || !r.Sep(j - 1, kSpaceDash)) return false;
      lo += (m + 6) / 7;
      hi += m / 2;
    }
    size_t l = r.len(j);
    if (l < 4 || !r.Boundary(j)) continue;
    size_t m0 = l - 4, lo0 = lo, hi0 = hi;
    if (m0 == 1) continue;
    lo0 += (m0 + 6) / 7;
    hi0 += m0 / 2;
    if (lo0 <= 4 && hi0 >= 1) return true;
  }
  return false;
}

// 3-2-4 digits, each separator optional: 9, 3+6, 5+4 or 3+2+4 digit runs.
// Returns the runs' count (0: no match).
inline __attribute__((always_inline)) int ThreeTwoFour(const RunRing& r, const ByteSet128& seps) {
  size_t l0 = r.len(0);
  if (l0 == 9) return r.Boundary(0) ? 1 : 0;
  if (!r.Sep(0, seps)) return 0;
  size_t l1 = r.len(1);
  if (l0 == 6) return l1 == 3 && r.Boundary(1) ? 2 : 0;
  if (l0 != 4) return 0;
  if (l1 == 5) return r.Boundary(1) ? 2 : 0;
  if (l1 == 2 && r.Sep(1, seps) && r.len(2) == 3 && r.Boundary(2)) return 3;
  return 0;
}

inline __attribute__((always_inline)) bool SsnEnds(const RunRing& r) {
  return ThreeTwoFour(r, kSsnSeps) != 0;
}

inline __attribute__((always_inline)) bool ItinEnds(const RunRing& r) {
  int runs = ThreeTwoFour(r, kSpaceDash);
  if (!runs) return false;
  // The nine digits: run lengths 9, (3, 6), (5, 4) or (3, 2, 4).
  auto digit = [&](size_t k) {
    int i = runs - 1;
    while (k >= r.len(i)) k -= r.len(i--);
    return r.digit(i, k);
  };
  char x = digit(3), y = digit(4);
  bool middle = x == '5' || x == '7' || (x == '6' && y <= '5') || (x == '8' && y <= '8') ||
                (x == '9' && y != '3');
  return digit(0) == '9' && middle;
}

inline __attribute__((always_inline)) bool NhsEnds(const RunRing& r) {
  const ByteSet128& seps = kSpaceDash;
  size_t l0 = r.len(0);
  if (l0 == 10) return r.Boundary(0);
  if (!r.Sep(0, seps)) return false;
  size_t l1 = r.len(1);
  if (l0 == 7) return l1 == 3 && r.Boundary(1);
  if (l0 != 4) return false;
  if (l1 == 6) return r.Boundary(1);
  return l1 == 3 && r.Sep(1, seps) && r.len(2) == 3 && r.Boundary(2);
}

inline __attribute__((always_inline)) bool Ipv4Ends(const RunRing& r) {
  for (int i = 0; i < 3; ++i)
    if (!r.LenIn(i, 1, 3) || !r.Sep(i, kDot)) return false;
  return r.LenIn(3, 1, 3) && r.Boundary(3);
}

// ISO date `\d{4}[\-/.]\d{1,2}[\-/.]\d{1,2}` with its day in run k.
inline __attribute__((always_inline)) bool IsoDateAt(const RunRing& r, int k) {
  return r.LenIn(k, 1, 2) && r.Sep(k, kDateSeps) && r.LenIn(k + 1, 1, 2) &&
         r.Sep(k + 1, kDateSeps) && r.len(k + 2) == 4 && r.Boundary(k + 2);
}

// ISO date + `[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?` with its last run k.
inline __attribute__((always_inline)) bool IsoTimeAt(const RunRing& r, int k) {
  if (r.LenIn(k, 1, 9) && r.Sep(k, kDot)) {  // fraction: seconds before it
    int s = k + 1;
    if (r.len(s) == 2 && r.Sep(s, kColon) && r.len(s + 1) == 2 && r.Sep(s + 1, kColon) &&
        r.LenIn(s + 2, 1, 2) && r.Sep(s + 2, kTimeSep) && IsoDateAt(r, s + 3))
      return true;
  }
  if (r.len(k) != 2 || !r.Sep(k, kColon)) return false;
  // HH:MM
  if (r.LenIn(k + 1, 1, 2) && r.Sep(k + 1, kTimeSep) && IsoDateAt(r, k + 2)) return true;
  // HH:MM:SS
  return r.len(k + 1) == 2 && r.Sep(k + 1, kColon) && r.LenIn(k + 2, 1, 2) &&
         r.Sep(k + 2, kTimeSep) && IsoDateAt(r, k + 3);
}

// An ISO date match ending at the end of run 0 (before a non-word byte).
inline __attribute__((always_inline)) bool IsoDateEnds(const RunRing& r) {
  if (IsoDateAt(r, 0) || IsoTimeAt(r, 0)) return true;
  // Zone +HH:MM or +HHMM after the time.
  if (r.len(0) == 2 && r.Sep(0, kColon) && r.len(1) == 2 && r.Sep(1, kSign) && IsoTimeAt(r, 2))
    return true;
  return r.len(0) == 4 && r.Sep(0, kSign) && IsoTimeAt(r, 1);
}

// Numeric date `\d{1,2}[\-/.]\d{1,2}[\-/.](?:\d{4}|\d{2})` with its year in run k.
inline __attribute__((always_inline)) bool NumDateAt(const RunRing& r, int k) {
  size_t y = r.len(k);
  return (y == 4 || y == 2) && r.Sep(k, kDateSeps) && r.LenIn(k + 1, 1, 2) &&
         r.Sep(k + 1, kDateSeps) && r.LenIn(k + 2, 1, 2) && r.Boundary(k + 2);
}

inline __attribute__((always_inline)) bool NumDateEnds(const RunRing& r) {
  if (NumDateAt(r, 0)) return true;
  // `,?\s\d{1,2}:\d{2}(?::\d{2})?` after the date.
  if (r.len(0) != 2 || !r.Sep(0, kColon)) return false;
  if (r.LenIn(1, 1, 2) && r.CommaSpace(1) && NumDateAt(r, 2)) return true;
  return r.len(1) == 2 && r.Sep(1, kColon) && r.LenIn(2, 1, 2) && r.CommaSpace(2) &&
         NumDateAt(r, 3);
}

// Whether a match of pattern `kind` ends at the end of run 0, which ends
// before a non-word byte.
inline __attribute__((always_inline)) bool DigitKindEnds(int kind, const RunRing& r) {
  switch (kind) {
    case kCard:
      return CardEnds(r);
    case kSsn:
      return SsnEnds(r);
    case kItin:
      return ItinEnds(r);
    case kNhs:
      return NhsEnds(r);
    case kIpv4:
      return Ipv4Ends(r);
    case kIsoDate:
      return IsoDateEnds(r);
    case kNumDate:
      return NumDateEnds(r);
    default:
      return false;
  }
}

// Which patterns can end at the end of run 0, by what their shapes need of
// its length (15: 15 or more) and of the byte between it and the run
// before (sep_class); most runs need no test at all, the rest one or two.
constexpr int kSepClasses = 7;  // none or other, ' ', '-', '.', '/', ':', '+'
struct DigitGuards {
  uint8_t kinds[16][kSepClasses] = {};
  uint8_t sep_class[256] = {};
  DigitGuards() {
    const char* classes = " -./:+";  // classes 1 to 6, as in `rep` below
    for (int c = 0; classes[c]; ++c)
      sep_class[static_cast<unsigned char>(classes[c])] = static_cast<uint8_t>(c + 1);
    const char rep[kSepClasses] = {0, ' ', '-', '.', '/', ':', '+'};
    for (size_t l0 = 1; l0 < 16; ++l0)
      for (int c = 0; c < kSepClasses; ++c) {
        char sep = rep[c];
        bool space_dash = sep == ' ' || sep == '-';
        bool date_sep = sep == '-' || sep == '/' || sep == '.';
        bool guards[kDigitKinds] = {
            l0 >= 6 || (l0 >= 2 && space_dash),
            l0 == 9 || ((l0 == 6 || l0 == 4) && (space_dash || sep == '.')),
            l0 == 9 || ((l0 == 6 || l0 == 4) && space_dash),
            l0 == 10 || ((l0 == 7 || l0 == 4) && space_dash),
            l0 <= 3 && sep == '.',
            l0 <= 9 && (date_sep || sep == ':' || sep == '+'),
            ((l0 == 2 || l0 == 4) && date_sep) || (l0 == 2 && sep == ':'),
        };
        for (int k = 0; k < kDigitKinds; ++k)
          if (guards[k]) kinds[l0][c] |= static_cast<uint8_t>(1u << k);
      }
  }
};
const DigitGuards kDigitGuards;

// Calls f(kind, end) for every match end of the digit-led patterns in
// `enabled` (bit k: DigitKind k), in end order (kinds in order at one end),
// from the digit run just pushed onto `ring` (`word_after`: a word byte
// follows it).
template <typename F>
inline __attribute__((always_inline)) void DigitPatternEndsAt(std::string_view text,
                                                              const RunRing& ring, unsigned enabled,
                                                              bool word_after, F&& f) {
  size_t a = ring.a(0), b = ring.b(0);
  if (word_after) {
    // Only an ISO timestamp ends after a word byte: 'Z' after its time.
    if ((enabled >> kIsoDate & 1) && text[b] == 'Z' &&
        (b + 1 == text.size() || !kTables.word[static_cast<unsigned char>(text[b + 1])]) &&
        IsoTimeAt(ring, 0))
      f(kIsoDate, b + 1);
    return;
  }
  unsigned kinds =
      kDigitGuards.kinds[std::min<size_t>(b - a, 15)]
                        [kDigitGuards.sep_class[static_cast<unsigned char>(ring.sep(0))]] &
      enabled;
  while (kinds) {
    int k = __builtin_ctz(kinds);
    kinds &= kinds - 1;
    if (DigitKindEnds(k, ring)) f(k, b);
  }
}

// kTimeRegex (`\b\d{1,2}:\d{2}(?::\d{2})?` before its suffix, no `\b`
// after the digits) ends two digits into run 0 when run 0 follows ':' and
// is the minutes after an hour or the seconds after "H:MM": at its start
// + 2; SIZE_MAX if not.
inline size_t ClockEnd(const RunRing& r) {
  if (r.sep(0) != ':' || r.len(0) < 2) return SIZE_MAX;
  bool hour_minutes = r.LenIn(1, 1, 2) && r.Boundary(1);
  bool with_seconds = r.len(1) == 2 && r.Sep(1, kColon) && r.LenIn(2, 1, 2) && r.Boundary(2);
  return hour_minutes || with_seconds ? r.a(0) + 2 : SIZE_MAX;
}

// The ends of `\s?[ap]\.?m\b\.?` (caseless) matched from `p`, in the
// order Vectorscan reports them: after a '.' that follows the m, then
// after the m (a non-word byte or the text's end next; its `\b` is
// confirmed one byte late). At most one way matches from `p`. Returns how
// many ends (0 to 2).
inline int AmPmEnds(std::string_view text, size_t p, size_t ends[2]) {
  size_t n = text.size();
  if (p < n && IsRegexSpace(text[p])) ++p;
  if (p >= n) return 0;
  unsigned char c = kTables.lower[static_cast<unsigned char>(text[p])];
  if (c != 'a' && c != 'p') return 0;
  ++p;
  if (p < n && text[p] == '.') ++p;
  if (p >= n || kTables.lower[static_cast<unsigned char>(text[p])] != 'm') return 0;
  ++p;
  if (p < n && kTables.word[static_cast<unsigned char>(text[p])]) return 0;
  if (p < n && text[p] == '.') {
    ends[0] = p + 1;
    ends[1] = p;
    return 2;
  }
  ends[0] = p;
  return 1;
}

// Calls f(kind, end) for the kClock and kAmPm ends of the digit run just
// pushed onto `ring` (of those in `enabled`), `clock` being ClockEnd's:
// at `stage` 0 a clock end inside the run (before every end at the run's
// end), at 1 one at the run's end (after the other patterns' ends there),
// at 2 the suffix ends after the run (AmPmEnds' order), kClock before
// kAmPm at each.
template <typename F>
inline __attribute__((always_inline)) void ClockEndsAt(std::string_view text, const RunRing& ring,
                                                       unsigned enabled, size_t clock, int stage,
                                                       F&& f) {
  size_t b = ring.b(0);
  if (stage == 0) {
    if (clock < b) f(kClock, clock);
    return;
  }
  if (stage == 1) {
    if (clock == b) f(kClock, b);
    return;
  }
  bool clock_suffix = clock == b;
  bool am_pm = (enabled >> kAmPm & 1) && ring.LenIn(0, 1, 2) && ring.Boundary(0);
  if (!clock_suffix && !am_pm) return;
  size_t ends[2];
  int k = AmPmEnds(text, b, ends);
  for (int i = 0; i < k; ++i) {
    if (clock_suffix) f(kClock, ends[i]);
    if (am_pm) f(kAmPm, ends[i]);
  }
}

// kYearRegex's candidate for the digit run [a, b) before a non-word byte,
// if it is a year its validator accepts. Returns 1 for a match.
uint64_t AddYearCandidate(std::string_view text, int year_id, MatchState* st, size_t a, size_t b) {
  const auto& word = kTables.word;
  if (year_id < 0 || b - a != 4) return 0;
  if (a > 0 && word[static_cast<unsigned char>(text[a - 1])]) return 0;
  bool year = (text[a] == '1' && text[a + 1] >= '5') || (text[a] == '2' && text[a + 1] == '0');
  if (!year) return 0;
  // A fixed-width candidate has one span: when the validator rejects it,
  // the candidate yields nothing, so it is not made (most 4-digit runs
  // in logs are parts of dates and numbers).
  if (Validator validate = (*st->recs)[year_id].validate) {
    Span span{a, b};
    double score = (*st->recs)[year_id].score;
    if (!validate(text, &span, &score)) return 1;
  }
  Candidate c;
  c.id = static_cast<uint32_t>(year_id);
  c.first_end = b;
  c.ends[0] = b;
  c.nends = 1;
  st->candidates->push_back(c);
  return 1;
}

// Vectorscan's match ends of kPhoneRegex and kYearRegex, from one pass over
// the digit runs (every match of either ends a digit run followed by a
// non-word byte). Phone ends go through OnMatch (candidate joining as for
// a database match), years become candidates directly (fixed width); both
// in end order, a phone before a year at the same end (the order of the
// databases they replace). Returns the number of matches.
// The digit-led patterns (DigitKind) whose `digit_ids` are >= 0 go through
// OnMatch too, between the phone and the year at one end (pattern order).
// The other hand-matched patterns (kinds with `digit_ids` >= 0) go
// through OnMatch too; all in end order, and at one end in pattern order
// (phone, digit-led, clock, year).
uint64_t FindPhonesAndYears(std::string_view text, int phone_id, int year_id, const int* digit_ids,
                            bool any_digit, MatchState* st) {
  uint64_t found = 0;
  const auto& word = kTables.word;
  RunRing ring(text);
  unsigned enabled = 0;
  for (int k = 0; k < kHandKinds; ++k)
    if (any_digit && digit_ids[k] >= 0) enabled |= 1u << k;
  const unsigned digit_kinds = enabled & ((1u << kDigitKinds) - 1);
  const unsigned clock_kinds = enabled & (1u << kClock | 1u << kAmPm);
  auto emit = [&](int kind, size_t end) {
    OnMatch(static_cast<unsigned>(digit_ids[kind]), 0, end, 0, st);
  };
  ForEachDigitRun(text, [&](size_t a, size_t b) {
    ring.Push(a, b);
    bool word_after = b < text.size() && word[static_cast<unsigned char>(text[b])];
    size_t clock = (clock_kinds >> kClock & 1) ? ClockEnd(ring) : SIZE_MAX;
    if (clock_kinds) ClockEndsAt(text, ring, clock_kinds, clock, 0, emit);
    if (!word_after && phone_id >= 0 &&
        (PhoneBodyEndsAt(text, a, b) || PhoneExtensionEndsAt(text, a, b)))
      OnMatch(static_cast<unsigned>(phone_id), 0, b, 0, st);
    if (digit_kinds && !word_after) DigitPatternEndsAt(text, ring, digit_kinds, false, emit);
    if (clock_kinds) ClockEndsAt(text, ring, clock_kinds, clock, 1, emit);
    // After a word byte only an ISO timestamp's 'Z' end (b + 1) is made.
    if (digit_kinds && word_after) DigitPatternEndsAt(text, ring, digit_kinds, true, emit);
    if (!word_after) found += AddYearCandidate(text, year_id, st, a, b);
    if (clock_kinds) ClockEndsAt(text, ring, clock_kinds, clock, 2, emit);
  });
  return found;
}

// Whether some maximal run of `charset` bytes in `text` that holds
// `region_byte` (itself in the charset) passes `filter`. A kCharset
// candidate's region lies inside one run of its charset (the start walks
// back over charset bytes only, and a later end joins only across charset
// bytes), and the filter is monotone: when this is false, no candidate of
// the pattern passes its region filter. Each run is walked once.
bool RunPassesRegionFilter(std::string_view text, const std::array<bool, 256>& charset,
                           char region_byte, bool (*filter)(std::string_view)) {
  const char* p = text.data();
  size_t n = text.size(), at = 0;
  while (at < n) {
    const void* hit = std::memchr(p + at, region_byte, n - at);
    if (!hit) return false;
    size_t i = static_cast<size_t>(static_cast<const char*>(hit) - p);
    size_t a = i, b = i + 1;
    while (a > at && charset[static_cast<unsigned char>(p[a - 1])]) --a;
    while (b < n && charset[static_cast<unsigned char>(p[b])]) ++b;
    // (A run starting before `at` was checked whole: its end is `at`.)
    if (filter(text.substr(a, b - a))) return true;
    at = b;
  }
  return false;
}

// Scans `text` with `db` in blocks Vectorscan can take (it takes an
// unsigned length), overlapping so entities on a block boundary are seen.
void ScanBlocks(hs_database_t* db, hs_scratch_t* scratch, MatchState& st) {
  constexpr size_t kBlock = size_t{1} << 30;
  constexpr size_t kOverlap = size_t{1} << 16;
  std::string_view text = st.text;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t len = std::min(kBlock, text.size() - pos);
    if (pos != 0) std::fill(st.open->begin(), st.open->end(), -1);  // no joins across blocks
    st.base = pos;
    st.block_end = pos + len;
    HsScan(db, text.data() + pos, static_cast<unsigned>(len), scratch, OnMatch, &st);
    if (pos + len >= text.size()) break;
    pos += len - kOverlap;
  }
  st.base = 0;
}

}  // namespace

std::vector<size_t> PhonePatternEnds(std::string_view text) {
  std::vector<size_t> ends;
  ForEachDigitRun(text, [&](size_t a, size_t b) {
    if (b < text.size() && kTables.word[static_cast<unsigned char>(text[b])]) return;
    if (PhoneBodyEndsAt(text, a, b) || PhoneExtensionEndsAt(text, a, b)) ends.push_back(b);
  });
  return ends;
}

std::string_view PhonePatternRegex() { return kPhoneRegex; }

bool DigitPatternCaseless(size_t kind) { return kind >= kDigitKinds; }

const std::vector<std::string_view>& DigitPatternRegexes() {
  static const std::vector<std::string_view> kRegexes(std::begin(kDigitRegexes),
                                                      std::end(kDigitRegexes));
  return kRegexes;
}

std::vector<size_t> DigitPatternEnds(size_t kind, std::string_view text) {
  std::vector<size_t> ends;
  if (kind >= kHandKinds) return ends;
  RunRing ring(text);
  auto add = [&](int, size_t end) { ends.push_back(end); };
  ForEachDigitRun(text, [&](size_t a, size_t b) {
    ring.Push(a, b);
    bool word_after = b < text.size() && kTables.word[static_cast<unsigned char>(text[b])];
    if (kind < kDigitKinds) {
      DigitPatternEndsAt(text, ring, 1u << kind, word_after, add);
      return;
    }
    size_t clock = kind == kClock ? ClockEnd(ring) : SIZE_MAX;
    for (int stage = 0; stage < 3; ++stage) ClockEndsAt(text, ring, 1u << kind, clock, stage, add);
  });
  return ends;
}
std::string_view TimePatternRegex() { return kTimeRegex; }

size_t TimeLeftmostStart(std::string_view buffer, size_t end) {
  // kTimeRegex is \b H{1,2} : MM (: SS)? (\s? [ap] \.? m \b \.?)?, caseless;
  // a match is at most 2 + 3 + 3 + 5 = 13 bytes. Every way of matching is
  // tried from each start, leftmost first. `\b` sees the buffer's edges as
  // non-word bytes, as Vectorscan does.
  const size_t n = buffer.size();
  if (end > n || end == 0) return SIZE_MAX;
  auto digit = [&](size_t i) { return i < n && IsAsciiDigit(buffer[i]); };
  auto word = [&](size_t i) { return i < n && kTables.word[static_cast<unsigned char>(buffer[i])]; };
  auto lower_is = [&](size_t i, char c) { return i < n && kTables.lower[static_cast<unsigned char>(buffer[i])] == c; };
  auto matches_from = [&](size_t s) {
    if (s > 0 && word(s - 1)) return false;  // \b before the first digit
    for (size_t h = 1; h <= 2; ++h) {
      if (!digit(s + h - 1)) break;
      size_t q = s + h;
      if (!(q < n && buffer[q] == ':' && digit(q + 1) && digit(q + 2))) continue;
      q += 3;
      for (int seconds = 0; seconds < 2; ++seconds) {
        size_t r = q;
        if (seconds) {
          if (!(r < n && buffer[r] == ':' && digit(r + 1) && digit(r + 2))) continue;
          r += 3;
        }
        if (r == end) return true;
        for (int space = 0; space < 2; ++space) {
          size_t t = r;
          if (space) {
            if (!(t < n && IsRegexSpace(buffer[t]))) continue;
            ++t;
          }
          if (!(lower_is(t, 'a') || lower_is(t, 'p'))) continue;
          ++t;
          for (int dot = 0; dot < 2; ++dot) {
            size_t u = t;
            if (dot) {
              if (!(u < n && buffer[u] == '.')) continue;
              ++u;
            }
            if (!lower_is(u, 'm')) continue;
            ++u;
            if (word(u)) continue;  // \b after the m
            if (u == end || (u + 1 == end && buffer[u] == '.')) return true;
          }
        }
      }
    }
    return false;
  };
  constexpr size_t kMaxWidth = 13;
  for (size_t s = end > kMaxWidth ? end - kMaxWidth : 0; s < end; ++s)
    if (matches_from(s)) return s;
  return SIZE_MAX;
}

std::string_view UrlPatternRegex() { return kUrlRegex; }

namespace {

// The first `\b`-led scheme and "://" at or after `from` that leaves a
// byte before `end` (every byte of [from, end) being a RUN byte), SIZE_MAX
// if none. The shortest match, "ws://x", is 6 bytes.
size_t UrlStartFrom(std::string_view buffer, size_t from, size_t end) {
  auto lower = [&](size_t i) { return kTables.lower[static_cast<unsigned char>(buffer[i])]; };
  for (size_t s = from; s + 6 <= end; ++s) {
    if (s > 0 && kTables.word[static_cast<unsigned char>(buffer[s - 1])]) continue;
    size_t q = s;
    unsigned char c = lower(q);
    if (c == 'h') {
      if (lower(q + 1) != 't' || lower(q + 2) != 't' || lower(q + 3) != 'p') continue;
      q += 4;
      if (lower(q) == 's' && q + 1 < end) ++q;  // (https:// and http:// never both match)
    } else if (c == 'f') {
      if (lower(q + 1) != 't' || lower(q + 2) != 'p') continue;
      q += 3;
    } else if (c == 'w') {
      if (lower(q + 1) != 's') continue;
      q += 2;
      if (lower(q) == 's' && q + 1 < end) ++q;
    } else {
      continue;
    }
    // q + 3 < end: "://" and at least one run byte before `end`.
    if (q + 3 < end && buffer[q] == ':' && buffer[q + 1] == '/' && buffer[q + 2] == '/') return s;
  }
  return SIZE_MAX;
}

// The leftmost start of a kUrlRegex match ending at any of `ends`
// (ascending). kUrlRegex is \b (https?|ftp|wss?) :// RUN+, caseless, and
// every byte of a match (scheme letters, ':' and '/' too) is a RUN byte:
// a match ending at `end` begins after the last non-RUN byte before it,
// at the first position from there with `\b` before it (the buffer's
// start counts as a non-word byte) where a scheme and "://" leave at
// least one byte before `end`. Ends inside one RUN share that first
// position and the largest end has every match the others have, so a run
// is walked once, for its largest end.
const std::array<bool, 256>& UrlRunBytes() {
  static const std::array<bool, 256> kRun = [] {
    std::array<bool, 256> run{};
    std::string_view regex = kUrlRegex;
    const char* cls = regex.data() + regex.rfind('[') + 1;
    if (!ParseClass(cls, true, run)) std::abort();  // kUrlRegex's own class
    return run;
  }();
  return kRun;
}

}  // namespace

size_t UrlLeftmostStartOfEnds(std::string_view buffer, const size_t* ends, size_t count) {
  const std::array<bool, 256>& run = UrlRunBytes();
  size_t best = SIZE_MAX;
  size_t run_start = SIZE_MAX;  // of the run last walked
  for (size_t k = count; k-- > 0;) {
    size_t e = ends[k];
    if (e == 0 || e > buffer.size() || (run_start != SIZE_MAX && e > run_start)) continue;
    size_t from = e;
    while (from > 0 && run[static_cast<unsigned char>(buffer[from - 1])]) --from;
    run_start = from;
    best = std::min(best, UrlStartFrom(buffer, from, e));
  }
  return best;
}

size_t UrlLeftmostStart(std::string_view buffer, size_t end) {
  return UrlLeftmostStartOfEnds(buffer, &end, 1);
}

std::string_view EmailPatternRegex() { return kEmailRegex; }

size_t EmailLeftmostStart(std::string_view buffer, size_t end) {
  // kEmailRegex is LOCAL+ @ LABEL (\. LABEL)* \. [A-Za-z]{2,24} \b, LABEL
  // being [A-Za-z0-9\-]+: one parse per end. The TLD is the whole run of
  // letters before `end` (a '.' before it), the labels the bytes from just
  // after an '@' to that '.' (no "..", none empty), and no LOCAL byte is
  // '@', so the start is where the run of LOCAL bytes before the '@' begins.
  const size_t n = buffer.size();
  if (end < 6 || end > n) return SIZE_MAX;
  auto byte = [&](size_t i) { return static_cast<unsigned char>(buffer[i]); };
  auto letter = [&](size_t i) { return ((byte(i) | 0x20) >= 'a' && (byte(i) | 0x20) <= 'z'); };
  if (end < n && kTables.word[byte(end)]) return SIZE_MAX;  // \b after the TLD
  size_t t = end;
  while (t > 0 && letter(t - 1)) --t;
  if (end - t < 2 || end - t > 24 || t < 3 || byte(t - 1) != '.') return SIZE_MAX;
  const size_t dot = t - 1;
  size_t a = dot;  // the labels are [a, dot)
  while (a > 0 && (kTables.alnum[byte(a - 1)] || byte(a - 1) == '-' ||
                   (byte(a - 1) == '.' && byte(a) != '.')))
    --a;
  if (a == dot || a < 2 || byte(a - 1) != '@' || byte(a) == '.' || byte(dot - 1) == '.')
    return SIZE_MAX;
  const size_t at = a - 1;
  size_t s = at;
  while (s > 0) {
    unsigned char c = byte(s - 1);
    if (!(kTables.alnum[c] || c == '.' || c == '_' || c == '%' || c == '+' || c == '-' ||
          c >= 0x80))
      break;
    --s;
  }
  return s < at ? s : SIZE_MAX;
}

std::string_view SecretPatternRegex() { return kSecretRegex; }

size_t SecretLeftmostStart(std::string_view buffer, size_t end) {
  // kSecretRegex is \b NAME* KEYWORD NAME* ['"]? \s* (:=|=>|:|=) \s* ['"]? V,
  // caseless, NAME being [A-Za-z0-9_.\-] and V one byte. V is the byte
  // before `end`; the bytes between it and the name (quotes, spaces, the
  // operator) are no NAME bytes, so the name ends at x, after the last NAME
  // byte before V, and that gap must read as the quotes, spaces and
  // operator. The name lies in the run of NAME bytes ending at x; its
  // start is the first `\b` position in the run (the buffer's start counts
  // as a non-word byte) at or before the start of the last key word that
  // ends by x.
  const size_t n = buffer.size();
  if (end < 3 || end > n) return SIZE_MAX;
  auto byte = [&](size_t i) { return static_cast<unsigned char>(buffer[i]); };
  auto name_byte = [&](size_t i) { return kTables.word[byte(i)] || byte(i) == '.' || byte(i) == '-'; };
  auto quote = [&](size_t i) { return byte(i) == '"' || byte(i) == '\''; };
  const unsigned char v = byte(end - 1);
  if (!(kTables.word[v] || v == '-' || v == '+' || v == '/' || v == '=' || v == '.' || v == '~'))
    return SIZE_MAX;
  size_t x = end - 1;
  while (x > 0 && !name_byte(x - 1)) --x;
  if (x == 0 || x == end - 1) return SIZE_MAX;
  // The gap [x, end - 1): ['"]? \s* (:=|=>|:|=) \s* ['"]?
  size_t g = x, ge = end - 1;
  if (g < ge && quote(g)) ++g;
  while (g < ge && kTables.space[byte(g)]) ++g;
  if (g < ge && quote(ge - 1)) --ge;
  while (ge > g && kTables.space[byte(ge - 1)]) --ge;
  std::string_view op = buffer.substr(g, ge - g);
  if (op != ":=" && op != "=>" && op != ":" && op != "=") return SIZE_MAX;
  // (A quote or space taken by one side could not be the other's: the
  // operator sits between, so the split is the only one.)
  size_t run = x;
  while (run > 0 && name_byte(run - 1)) --run;
  size_t last_word = SIZE_MAX;
  for (size_t k = x; k-- > run && last_word == SIZE_MAX;) {
    for (std::string_view w : kSecretWords) {
      if (k + w.size() > x) continue;
      size_t i = 0;
      while (i < w.size() && kTables.lower[byte(k + i)] == static_cast<unsigned char>(w[i])) ++i;
      if (i == w.size()) {
        last_word = k;
        break;
      }
    }
  }
  if (last_word == SIZE_MAX) return SIZE_MAX;
  for (size_t s = run; s <= last_word; ++s) {
    bool word_here = kTables.word[byte(s)] != 0;
    bool word_before = s > 0 && kTables.word[byte(s - 1)] != 0;
    if (word_here != word_before) return s;
  }
  return SIZE_MAX;
}

std::string_view DomainPatternRegex() { return kDomainRegex; }

namespace {

// kDomainRegex's top-level domains (its one alternation after "\.(?:"),
// packed into integers (bytes and length), sorted, for a membership test
// of a run of lower-case letters.
struct TopLevelDomains {
  std::vector<uint64_t> packed;
  static uint64_t Pack(std::string_view word) {
    uint64_t v = word.size();
    for (char c : word) v = v << 8 | static_cast<unsigned char>(c);
    return v;
  }
  TopLevelDomains() {
    std::string_view r = kDomainRegex;
    size_t from = r.find("\\.(?:") + 5, to = r.find(')', from);
    while (from < to) {
      size_t bar = std::min(r.find('|', from), to);
      std::string_view tld = r.substr(from, bar - from);
      if (tld.empty() || tld.size() > kMaxLen) std::abort();  // the pattern drifted
      packed.push_back(Pack(tld));
      from = bar + 1;
    }
    std::sort(packed.begin(), packed.end());
  }
  bool Has(std::string_view word) const {
    return word.size() <= kMaxLen && std::binary_search(packed.begin(), packed.end(), Pack(word));
  }
  static constexpr size_t kMaxLen = 7;
};

inline bool DomainByte(unsigned char c) { return kTables.alnum[c] || c == '-' || c == '.'; }
inline bool DomainPathByte(unsigned char c) {  // [^\s<>"'`\x00-\x1f]
  return c > 0x1f && c != ' ' && c != '<' && c != '>' && c != '"' && c != '\'' && c != '`';
}

// kDomainRegex is \b LABEL (\. LABEL)* \. TLD \b (/ PATH*)?, where the
// first label begins with [A-Za-z0-9] and labels are [A-Za-z0-9\-]+. A
// TLD is lower-case letters after a '.', so the TLD ending at u is the
// whole run of lower-case letters before u. For the TLD's '.' at t, the
// domain is some W[s, t) of [A-Za-z0-9.\-] bytes without "..", not ending
// on '.', with an alphanumeric first byte after a non-word byte (the
// buffer's start counts as one). Returns the leftmost such s for the TLD
// ending at u (the `\b` after it is the caller's), SIZE_MAX if none.
size_t DomainStartBeforeTldEnd(std::string_view w, size_t u) {
  static const TopLevelDomains kTlds;
  auto byte = [&](size_t i) { return static_cast<unsigned char>(w[i]); };
  size_t t = u;
  while (t > 0 && byte(t - 1) >= 'a' && byte(t - 1) <= 'z') --t;
  if (t == u || t < 2 || byte(t - 1) != '.') return SIZE_MAX;
  if (!kTlds.Has(w.substr(t, u - t))) return SIZE_MAX;
  const size_t dot = t - 1;
  if (byte(dot - 1) == '.' || !DomainByte(byte(dot - 1))) return SIZE_MAX;  // empty last label
  // Back over domain bytes, stopping inside a ".." (a '.', no start).
  size_t lo = dot - 1;
  while (lo > 0 && DomainByte(byte(lo - 1)) && !(byte(lo - 1) == '.' && byte(lo) == '.')) --lo;
  for (size_t s = lo; s < dot; ++s)
    if (kTables.alnum[byte(s)] && (s == 0 || !kTables.word[byte(s - 1)])) return s;
  return SIZE_MAX;
}

// The leftmost start of a match ending at any of `ends` (ascending).
// Without a path the TLD ends at the end, before a `\b`. With one, the
// '/' at u and every byte after it are PATH bytes, and so is every byte of
// the domain: the earliest '/' with a valid domain before it gives the
// leftmost start (a later one's domain begins after it). Ends inside one
// run of PATH bytes share the run's '/'s, the largest end all of them, so
// the run is walked once, for its largest end.
}  // namespace

size_t DomainLeftmostStartOfEnds(std::string_view w, const size_t* ends, size_t count) {
  const size_t n = w.size();
  size_t best = SIZE_MAX;
  for (size_t k = 0; k < count; ++k) {
    size_t e = ends[k];
    if (e == 0 || e > n) continue;
    if (e == n || !kTables.word[static_cast<unsigned char>(w[e])])
      best = std::min(best, DomainStartBeforeTldEnd(w, e));
  }
  size_t run_start = SIZE_MAX;  // of the PATH-byte run last walked
  for (size_t k = count; k-- > 0;) {
    size_t e = ends[k];
    if (e == 0 || e > n || (run_start != SIZE_MAX && e > run_start)) continue;
    size_t p = e;
    while (p > 0 && DomainPathByte(static_cast<unsigned char>(w[p - 1]))) --p;
    run_start = p;
    for (size_t u = p; u < e && u < best; ++u) {
      if (w[u] != '/') continue;
      size_t s = DomainStartBeforeTldEnd(w, u);
      if (s != SIZE_MAX) {
        best = std::min(best, s);
        break;
      }
    }
  }
  return best;
}

size_t DomainLeftmostStart(std::string_view buffer, size_t end) {
  return DomainLeftmostStartOfEnds(buffer, &end, 1);
}


namespace {

// Words that make a LOCATION a street ("Elm Street", "the corner of Rue
// Oberkampf and Boulevard Voltaire") rather than a town, region or country.
bool IsStreetWord(std::string_view word) {
  static constexpr std::string_view kStreetWords[] = {
      "street", "st",      "avenue", "ave",     "road",   "rd",     "boulevard", "blvd",
      "lane",   "ln",      "drive",  "dr",      "court",  "ct",     "terrace",   "highway",
      "hwy",    "parkway", "pkwy",   "corner",  "apt",    "unit",   "suite",     "box",
      "rue",    "chemin",  "allee",  "strasse", "straße", "str",    "weg",       "platz",
      "gasse",  "via",     "viale",  "piazza",  "calle",  "avenida"};
  char lower[16];
  if (word.size() > sizeof lower) return false;
  for (size_t i = 0; i < word.size(); ++i) {
    const char c = word[i];
    lower[i] = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  }
  const std::string_view w(lower, word.size());
  return std::find(std::begin(kStreetWords), std::end(kStreetWords), w) != std::end(kStreetWords);
}

// A LOCATION holding a number (house, unit, postcode) or a street word is an
// address; the rest name places.
void MarkPostalAddresses(std::string_view text, std::vector<Finding>& findings) {
  for (Finding& f : findings) {
    if (f.type != "LOCATION") continue;
    const std::string_view span = text.substr(f.start, f.end - f.start);
    bool address = false;
    size_t word_start = 0;
    for (size_t i = 0; i <= span.size() && !address; ++i) {
      const char c = i < span.size() ? span[i] : ' ';
      if (c >= '0' && c <= '9') address = true;
      const bool letter =
          (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || static_cast<unsigned char>(c) >= 0x80;
      if (!letter) {
        if (i > word_start && IsStreetWord(span.substr(word_start, i - word_start))) address = true;
        word_start = i + 1;
      }
    }
    f.postal_address = address;
  }
}

}  // namespace

std::vector<Finding> Scanner::Scan(std::string_view text, const ScanOptions& options,
                                   ScanStats* stats) const {
  const auto& recs = Recognizers();
  const Impl& im = *impl_;
  ScanScratch& sc = ThreadScratch();
  std::vector<Candidate>& candidates = sc.candidates;
  std::vector<TermHit>& hits = sc.hits;
  candidates.clear();
  hits.clear();
  sc.open.assign(recs.size(), -1);
  MatchState st{text, 0, &recs, &im.charsets, &candidates, &sc.open};
  st.alphabet = &im.alphabet;
  st.has_alphabet = &im.has_alphabet;
  st.time_pattern = im.time_pattern;
  st.run_pattern = im.url_id;
  st.run_bytes = &im.url_run;
  sc.rescue_hits.clear();
  st.rescue_base = im.rescue_base;
  st.rescue_hits = &sc.rescue_hits;
  uint64_t window_bytes = 0;
  hs_scratch_t* scratch = text.empty() ? nullptr : impl_->Acquire();
  TermBits present;
  // Context words looked up around the candidates that need them, after
  // validation, instead of over the whole text (see Impl::presence_terms).
  const bool windowed = im.presence_in_db && options.min_score <= im.windowed_max_min_score;
  st.npatterns = recs.size();
  st.presence_terms = &im.presence_terms;
  st.present = &present;
  if (scratch) {
    ScanBlocks(im.db, scratch, st);
    // Candidates stay in match-end order, as one database would report
    // them (exact ties of overlapping findings keep that order).
    auto merge_from = [&](size_t mid) { MergeByFirstEnd(&candidates, mid, &sc.merge_buf); };
    if (im.split_db) {
      size_t mid = candidates.size();
      ScanBlocks(im.split_db, scratch, st);
      merge_from(mid);
    }
    if (im.region_db) {
      bool possible = false;
      for (size_t k = 0; k < im.region_ids.size() && !possible; ++k) {
        const Recognizer& r = recs[im.region_ids[k]];
        possible = RunPassesRegionFilter(text, im.charsets[im.region_ids[k]], r.region_byte,
                                         r.region_filter);
      }
      if (possible) {
        size_t mid = candidates.size();
        ScanBlocks(im.region_db, scratch, st);
        merge_from(mid);
      }
    }
    if (im.year_id >= 0 || im.phone_id >= 0 || im.any_digit) {
      size_t mid = candidates.size();
      st.base = 0;
      st.matches +=
          FindPhonesAndYears(text, im.phone_id, im.year_id, im.digit_ids, im.any_digit, &st);
      merge_from(mid);
    }
    if (!windowed) {
      im.index.Find(text, &hits, &sc.side_hits);
      for (const TermHit& h : hits) present[h.term] = true;
    }
    if (im.low_db && options.min_score <= im.low_max_best) {
      size_t mid = candidates.size();
      ScanBlocks(im.low_db, scratch, st);
      merge_from(mid);
    }
    // Context-only recognizers: scanned only if one could report.
    bool need_gated = false;
    for (size_t i = 0; im.gated_db && i < recs.size() && !need_gated; ++i)
      need_gated = im.gated[i] && (recs[i].score + 0.2 >= options.min_score ||
                                   (present & im.context[i].bits).any());
    if (need_gated) {
      size_t ungated = candidates.size();
      ScanBlocks(im.gated_db, scratch, st);
      // Keep candidates in match order, as one database would report them.
      merge_from(ungated);
    }
  }
  // Recognizers that only report with a context word nearby (base score
  // below the threshold) are skipped outright when none of their words
  // occurs anywhere in the text (8+ digit runs are everywhere in logs).
  auto context_anywhere = [&](uint32_t id) { return (present & im.context[id].bits).any(); };
  // Recovers the start of a candidate; false if there is none.
  auto find_start = [&](Candidate& c) {
    const Recognizer& r = recs[c.id];
    if (r.start == StartRule::kFixed) {
      c.start = c.first_end >= r.max_len ? c.first_end - r.max_len : 0;
    } else if (r.start == StartRule::kCharset) {
      const auto& cs = im.charsets[c.id];
      size_t p = c.first_end;
      while (p > 0 && c.first_end - p < r.max_len && cs[static_cast<unsigned char>(text[p - 1])]) --p;
      // A match never starts on a separator.
      while (p < c.first_end && (text[p] == ' ' || text[p] == '-' || text[p] == '.' ||
                                 text[p] == '/' || text[p] == ')'))
        ++p;
      c.start = p;
      window_bytes += c.first_end - p;
    } else if (im.fixed_width[c.id]) {
      size_t w = im.fixed_width[c.id];
      c.start = c.first_end >= w ? c.first_end - w : c.first_end;
    } else if (scratch) {
      size_t wl = im.window_len[c.id];
      size_t ws = c.first_end > wl ? c.first_end - wl : 0;
      // Begin the window after a space so \b anchors mean what they mean
      // in the full text.
      for (size_t back = 0;
           ws > 0 && back < 64 && !kTables.space[static_cast<unsigned char>(text[ws - 1])]; ++back)
        --ws;
      if (im.has_alphabet[c.id]) {
        // No match contains a byte outside the pattern's alphabet, so none
        // of the matches ending at this candidate's ends starts at or
        // before the last such byte: the window can begin there (that
        // byte stays in as context for \b), which is often far shorter.
        const auto& alpha = im.alphabet[c.id];
        size_t p = c.first_end;
        while (p > ws && alpha[static_cast<unsigned char>(text[p - 1])]) --p;
        if (p > ws) ws = p - 1;
      }
      size_t we = c.ends[c.nends - 1];
      WindowState w{ws, &c};
      if (static_cast<int>(c.id) == im.time_id) {
        // What the leftmost-start re-scan of this window reports: the
        // earliest start of a match ending at one of the candidate's ends.
        std::string_view window = text.substr(ws, we - ws);
        auto consider = [&](size_t e) {
          size_t s = TimeLeftmostStart(window, e - ws);
          if (s != SIZE_MAX) w.best = std::min(w.best, ws + s);
        };
        consider(c.first_end);
        for (int i = 0; i < c.nends; ++i)
          if (c.ends[i] != c.first_end) consider(c.ends[i]);
      } else if (static_cast<int>(c.id) == im.url_id || static_cast<int>(c.id) == im.domain_id ||
                 static_cast<int>(c.id) == im.secret_id || static_cast<int>(c.id) == im.email_id) {
        // The same for URLs (a re-scan reported every byte of a URL's run
        // or a domain's path).
        std::string_view window = text.substr(ws, we - ws);
        size_t ends[kMaxEnds + 1];
        size_t count = 0;
        if (c.first_end < c.ends[0]) ends[count++] = c.first_end - ws;
        for (int i = 0; i < c.nends; ++i) ends[count++] = c.ends[i] - ws;
        size_t s = SIZE_MAX;
        if (static_cast<int>(c.id) == im.url_id) {
          s = UrlLeftmostStartOfEnds(window, ends, count);
        } else if (static_cast<int>(c.id) == im.domain_id) {
          s = DomainLeftmostStartOfEnds(window, ends, count);
        } else if (static_cast<int>(c.id) == im.email_id) {
          for (size_t k = 0; k < count; ++k) s = std::min(s, EmailLeftmostStart(window, ends[k]));
        } else {
          for (size_t k = 0; k < count; ++k) s = std::min(s, SecretLeftmostStart(window, ends[k]));
        }
        if (s != SIZE_MAX) w.best = ws + s;
      } else {
        HsScan(im.som[c.id], text.data() + ws, static_cast<unsigned>(we - ws), scratch,
               OnWindowMatch, &w);
      }
      window_bytes += we - ws;
      c.start = w.best == SIZE_MAX ? c.first_end : w.best;
    }
    return c.start < c.first_end;
  };

  std::vector<Finding>& found = sc.found;
  found.clear();
  std::vector<Pending>& pending = sc.pending;
  // The context window of a span: kContextBefore bytes before it,
  // kContextAfter after.
  auto window_of_span = [&](size_t start, size_t end) {
    return Range{start > kContextBefore ? start - kContextBefore : 0,
                 std::min(text.size(), end + kContextAfter)};
  };
  // Whether one of the rescue words (Impl::rescue_words) lies in `w`. The
  // hits are one database scan's, in end order (a text of one block).
  const bool rescuable =
      scratch && windowed && im.rescue_base != SIZE_MAX && text.size() <= (size_t{1} << 30);
  auto RescueWordIn = [&](Range w) {
    const std::vector<TermHit>& rh = sc.rescue_hits;
    auto it = std::lower_bound(rh.begin(), rh.end(), w.lo + 1,
                               [](const TermHit& h, size_t v) { return h.end < v; });
    for (; it != rh.end() && it->end <= w.hi; ++it)
      if (it->end - im.rescue_words[it->term].size() >= w.lo) return true;
    return false;
  };
  pending.clear();
  uint64_t validated = 0;
  uint64_t work_before = g_validator_work;
  ++g_scan_generation;
  for (Candidate& c : candidates) {
    const Recognizer& r = recs[c.id];
    // Cheap pre-filters: a recognizer whose best possible score is below
    // the threshold cannot produce a finding (without a validator the
    // score can only move to the context score or down).
    if (im.best[c.id] < options.min_score) continue;
    if (r.score + 0.2 < options.min_score && !context_anywhere(c.id)) continue;
    if (r.end_filter && im.engine.fast_paths) {
      bool any_end = false;
      for (int e = 0; e < c.nends && !any_end; ++e) any_end = r.end_filter(text, c.ends[e]);
      if (!any_end) continue;
    }
    if (!find_start(c)) continue;
    if (r.min_digits && im.engine.fast_paths &&
        !HasDigits(text, c.start, c.ends[c.nends - 1], r.min_digits))
      continue;
    if (r.region_filter && im.engine.fast_paths &&
        !r.region_filter(text.substr(c.start, c.ends[c.nends - 1] - c.start)))
      continue;
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
        if (static_cast<int>(c.id) == im.phone_id && score < options.min_score && rescuable &&
            !RescueWordIn(window_of_span(span.start, span.end))) {
          done = true;  // its score can only rise with a context word: none
          break;
        }
        pending.push_back({c.id, span.start, span.end, score});
        done = true;
        break;
      }
      // Checksummed numbers are never retried on a sub-span: a suffix of an
      // invalid card number can pass Luhn by chance.
      if (done || r.start != StartRule::kCharset || r.type == "CREDIT_CARD") break;
      // The start walked back over a preceding number ("qty 2 4111 ..."):
      // retry without the first group.
      size_t p = start;
      while (p < c.first_end && kTables.alnum[static_cast<unsigned char>(text[p])]) ++p;
      while (p < c.first_end && !kTables.alnum[static_cast<unsigned char>(text[p])]) ++p;
      if (p >= c.first_end) break;
      start = p;
    }
  }
  // Context and negative words. Each look-up is skipped when its answer
  // cannot change the outcome: the context word only when it would raise
  // the score, the negative word only while the finding would be kept.
  auto wants_context = [&](const Pending& f) {
    const Recognizer& r = recs[f.id];
    return !im.context[f.id].empty() && r.context_score > 0 && r.context_score > f.score;
  };
  auto wants_negative = [&](const Pending& f, bool context_possible) {
    double best = context_possible ? recs[f.id].context_score : f.score;
    return !im.negative[f.id].empty() && best >= options.min_score;
  };
  auto window_of = [&](const Pending& f) { return window_of_span(f.start, f.end); };
  if (windowed) {
    // The words of the windows that need a look-up, found once: the
    // windows widened to word-run edges (so every run is whole, as in the
    // whole text), merged, and searched in order.
    std::vector<Range>& ranges = sc.ranges;
    ranges.clear();
    for (const Pending& f : pending) {
      bool ctx = wants_context(f);
      if (!ctx && !wants_negative(f, false)) continue;
      Range w = window_of(f);
      while (w.lo > 0 && kTables.word[static_cast<unsigned char>(text[w.lo - 1])]) --w.lo;
      while (w.hi < text.size() && kTables.word[static_cast<unsigned char>(text[w.hi])]) ++w.hi;
      ranges.push_back(w);
    }
    auto by_lo = [](const Range& a, const Range& b) { return a.lo < b.lo; };
    if (!std::is_sorted(ranges.begin(), ranges.end(), by_lo))
      std::sort(ranges.begin(), ranges.end(), by_lo);
    size_t merged = 0;
    for (const Range& w : ranges) {
      if (merged > 0 && w.lo <= ranges[merged - 1].hi) {
        ranges[merged - 1].hi = std::max(ranges[merged - 1].hi, w.hi);
      } else {
        ranges[merged++] = w;
      }
    }
    ranges.resize(merged);
    for (const Range& w : ranges) im.index.FindIn(text, w.lo, w.hi, &hits, &sc.side_hits);
    auto by_end = [](const TermHit& x, const TermHit& y) { return x.end < y.end; };
    if (!std::is_sorted(hits.begin(), hits.end(), by_end))
      std::stable_sort(hits.begin(), hits.end(), by_end);
  }
  for (const Pending& f : pending) {
    const Recognizer& r = recs[f.id];
    double score = f.score;
    if (!r.context.empty() || !r.negative.empty()) {
      // Context words in the window before or after the span (or, cut by
      // the window, at its edges, or across the span), negative words
      // before it (the window's hits are walked once for all three parts; then
      // the edges, Impl::EdgesHaveTerm).
      Range w = window_of(f);
      const TermSet& ctx = im.context[f.id];
      const TermSet& neg = im.negative[f.id];
      bool want_ctx = wants_context(f);
      // Without the whole-text pass, `hits` holds every word of the
      // windows that need one: search them.
      bool ctx_hits = want_ctx && (windowed || context_anywhere(f.id));
      bool neg_hits = !neg.empty() && (windowed || (present & neg.bits).any());
      bool ctx_found = false, neg_found = false;
      if (ctx_hits || neg_hits) {
        auto it = std::lower_bound(hits.begin(), hits.end(), w.lo + 1,
                                   [](const TermHit& h, size_t v) { return h.end < v; });
        for (; it != hits.end() && it->end <= w.hi; ++it) {
          size_t begin = it->end - it->len;
          if (begin < w.lo) continue;
          bool before = it->end <= f.start, after = begin >= f.end;
          if (ctx_hits && (before || after) && ctx.bits[it->term]) ctx_found = true;
          if (neg_hits && before && neg.bits[it->term]) neg_found = true;
        }
      }
      if (want_ctx && (ctx_found || im.EdgesHaveTerm(text, w.lo, f.start, ctx) ||
                       im.EdgesHaveTerm(text, f.end, w.hi, ctx) ||
                       im.StraddlesGap(text, w.lo, f.start, f.end, w.hi, ctx)))
        score = r.context_score;
      // Negative words count only before the span ("order 4111...").
      if (score >= options.min_score &&
          (neg_found || im.EdgesHaveTerm(text, w.lo, f.start, neg)))
        score -= 0.45;
    }
    if (score >= options.min_score)
      found.push_back({r.type, f.start, f.end, std::min(score, 1.0)});
  }
  if (scratch) impl_->Release(scratch);
  if (options.names && names_) {
    std::vector<Finding>& names = sc.names;
    names.clear();
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
  std::vector<Finding> out;
  ResolveInto(found, &out);
  MarkPostalAddresses(text, out);
  // One huge input must not leave this thread holding its scratch forever.
  if (text.size() > kKeepScratchBytes) sc = ScanScratch();
  return out;
}

namespace {

// Sorts `findings` by priority (score, then length, then position; ties
// keep their order, so a pattern finding beats a PERSON/LOCATION guess of
// the same score) and writes the ones that overlap no higher-priority
// finding to `out`, sorted by start.
void ResolveInto(std::vector<Finding>& findings, std::vector<Finding>* out) {
  // Usually no two findings overlap: then every one is kept, whatever the
  // priorities, and the answer is them sorted by start (distinct starts,
  // so the order is unique). They arrive nearly sorted by start: an
  // insertion sort into `out` is about linear.
  out->assign(findings.begin(), findings.end());
  std::vector<Finding>& o = *out;
  auto by_start = [](const Finding& a, const Finding& b) { return a.start < b.start; };
  if (o.size() > 32) {
    // (PERSON/LOCATION findings come after the pattern ones: not nearly
    // sorted on a big text.)
    std::sort(o.begin(), o.end(), by_start);
  } else {
    for (size_t i = 1; i < o.size(); ++i) {
      Finding f = o[i];
      size_t j = i;
      for (; j > 0 && o[j - 1].start > f.start; --j) o[j] = o[j - 1];
      o[j] = f;
    }
  }
  // Sorted by start, any two overlapping spans make some neighbours
  // overlap (equal starts count, whatever the lengths).
  bool overlap = false;
  for (size_t i = 1; i < o.size() && !overlap; ++i)
    overlap = o[i - 1].end > o[i].start || o[i - 1].start == o[i].start;
  if (!overlap) return;
  auto before = [](const Finding& a, const Finding& b) {
    if (a.score != b.score) return a.score > b.score;
    size_t la = a.end - a.start, lb = b.end - b.start;
    if (la != lb) return la > lb;
    return a.start < b.start;
  };
  if (findings.size() <= 32) {
    // Insertion sort: stable and allocation-free for the usual handful.
    for (size_t i = 1; i < findings.size(); ++i) {
      Finding f = findings[i];
      size_t j = i;
      for (; j > 0 && before(f, findings[j - 1]); --j) findings[j] = findings[j - 1];
      findings[j] = f;
    }
  } else {
    std::stable_sort(findings.begin(), findings.end(), before);
  }
  out->clear();
  out->reserve(findings.size());
  constexpr size_t kSmall = 64;
  if (findings.size() <= kSmall) {
    // `out` itself, kept sorted by start, is the interval set.
    for (const Finding& f : findings) {
      auto next = std::lower_bound(out->begin(), out->end(), f, by_start);
      if (next != out->end() && next->start < f.end) continue;
      if (next != out->begin() && std::prev(next)->end > f.start) continue;
      out->insert(next, f);
    }
    return;
  }
  std::map<size_t, size_t> kept;  // start -> end
  for (const Finding& f : findings) {
    auto next = kept.lower_bound(f.start);
    if (next != kept.end() && next->first < f.end) continue;
    if (next != kept.begin()) {
      auto prev = std::prev(next);
      if (prev->second > f.start) continue;
    }
    kept.emplace(f.start, f.end);
    out->push_back(f);
  }
  std::sort(out->begin(), out->end(), by_start);
}

}  // namespace

std::vector<Finding> ResolveOverlaps(std::vector<Finding> findings) {
  std::vector<Finding> out;
  ResolveInto(findings, &out);
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
