#include "scan/names.h"

#include <emmintrin.h>
#include <immintrin.h>
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>

namespace steward::scan {
namespace {

bool IsWordByte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}
bool IsSpaceByte(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

enum Shape : uint8_t {
  kShapeLower = 0,   // abc
  kShapeCap,         // Abc
  kShapeUpper,       // ABC
  kShapeDigits,      // 123
  kShapeMixedDigit,  // a1b2
  kShapePunct,       // , . ( )
  kShapeOther,       // McDonald, iPhone
  kShapeInitial,     // A (single capital)
};

inline bool IsUpperStart(std::string_view t) {
  unsigned char c = t[0];
  if (c >= 'A' && c <= 'Z') return true;
  // Latin-1 supplement capitals (C3 80..9E), Greek (CE 86..AB), Cyrillic (D0 80..AF).
  if (t.size() >= 2) {
    unsigned char d = t[1];
    if (c == 0xC3 && d >= 0x80 && d <= 0x9E && d != 0x97) return true;
    if (c == 0xCE && d >= 0x86 && d <= 0xAB) return true;
    if (c == 0xD0 && d >= 0x80 && d <= 0xAF) return true;
    if (c == 0xC5 && (d == 0x81 || d == 0xA0 || d == 0xBD || d == 0x9A || d == 0xB9)) return true;
    if (c == 0xC4 && (d == 0x8C || d == 0x8E || d == 0x98)) return true;
  }
  return false;
}

// Frequent English and chat/tech words: capitalised at a sentence start or
// in a heading they are still not names. The model sees membership as a
// feature (it can still learn "Rose", "Bay" in context).
const WordHashTable& CommonWords() {
  static const WordHashTable kSet = [] {
    static constexpr const char* kWords[] = {
    "a",
    "about",
    "above",
    "accept",
    "account",
    "address",
    "admin",
    "after",
    "again",
    "against",
    "all",
    "also",
    "am",
    "amazon",
    "amount",
    "an",
    "and",
    "android",
    "any",
    "api",
    "apple",
    "april",
    "are",
    "as",
    "assistant",
    "at",
    "attached",
    "attachment",
    "august",
    "authorization",
    "autumn",
    "aws",
    "azure",
    "back",
    "bank",
    "basic",
    "bay",
    "bcc",
    "be",
    "bearer",
    "because",
    "been",
    "before",
    "being",
    "below",
    "best",
    "between",
    "bic",
    "both",
    "build",
    "but",
    "by",
    "can",
    "card",
    "cc",
    "central",
    "chapter",
    "chrome",
    "city",
    "class",
    "client",
    "config",
    "const",
    "content",
    "cookie",
    "could",
    "country",
    "customer",
    "cvv",
    "database",
    "date",
    "day",
    "db",
    "dea",
    "dear",
    "debug",
    "december",
    "delete",
    "dev",
    "did",
    "dns",
    "do",
    "dob",
    "docker",
    "does",
    "doing",
    "down",
    "during",
    "each",
    "east",
    "email",
    "error",
    "even",
    "evening",
    "every",
    "export",
    "fall",
    "false",
    "fatal",
    "february",
    "few",
    "figure",
    "file",
    "firefox",
    "first",
    "folder",
    "for",
    "friday",
    "from",
    "function",
    "further",
    "fw",
    "fwd",
    "gcp",
    "get",
    "github",
    "gitlab",
    "give",
    "go",
    "good",
    "google",
    "great",
    "had",
    "has",
    "have",
    "having",
    "he",
    "head",
    "hello",
    "her",
    "here",
    "hers",
    "herself",
    "hey",
    "hi",
    "hill",
    "him",
    "himself",
    "his",
    "host",
    "how",
    "html",
    "http",
    "https",
    "i",
    "iban",
    "id",
    "if",
    "import",
    "in",
    "info",
    "into",
    "invoice",
    "ios",
    "ip",
    "is",
    "it",
    "item",
    "items",
    "itin",
    "its",
    "itself",
    "january",
    "java",
    "json",
    "july",
    "june",
    "just",
    "key",
    "know",
    "kubernetes",
    "lake",
    "last",
    "let",
    "like",
    "linux",
    "list",
    "little",
    "log",
    "login",
    "logout",
    "long",
    "lower",
    "mac",
    "make",
    "manager",
    "many",
    "march",
    "may",
    "maybe",
    "me",
    "message",
    "microsoft",
    "monday",
    "month",
    "more",
    "morning",
    "most",
    "mount",
    "mrn",
    "much",
    "must",
    "my",
    "myself",
    "name",
    "new",
    "next",
    "nhs",
    "night",
    "no",
    "node",
    "none",
    "nor",
    "north",
    "not",
    "note",
    "notes",
    "november",
    "now",
    "null",
    "number",
    "october",
    "of",
    "off",
    "office",
    "ok",
    "okay",
    "old",
    "on",
    "once",
    "one",
    "only",
    "openai",
    "options",
    "or",
    "order",
    "other",
    "our",
    "ours",
    "out",
    "over",
    "own",
    "page",
    "park",
    "password",
    "patch",
    "path",
    "payment",
    "people",
    "phone",
    "pin",
    "please",
    "port",
    "post",
    "prod",
    "put",
    "python",
    "re",
    "regards",
    "release",
    "reminder",
    "request",
    "response",
    "return",
    "river",
    "rust",
    "safari",
    "saint",
    "same",
    "saturday",
    "say",
    "sdk",
    "secret",
    "section",
    "see",
    "sent",
    "september",
    "server",
    "service",
    "session",
    "settings",
    "she",
    "should",
    "sincerely",
    "slack",
    "so",
    "some",
    "south",
    "spring",
    "sql",
    "ssh",
    "ssl",
    "ssn",
    "staging",
    "state",
    "step",
    "still",
    "street",
    "stripe",
    "subject",
    "such",
    "summary",
    "summer",
    "sunday",
    "support",
    "sure",
    "swift",
    "system",
    "table",
    "take",
    "tax",
    "tcp",
    "team",
    "test",
    "than",
    "thank",
    "thanks",
    "that",
    "the",
    "their",
    "theirs",
    "them",
    "then",
    "there",
    "these",
    "they",
    "thing",
    "think",
    "this",
    "those",
    "through",
    "thursday",
    "time",
    "tls",
    "to",
    "today",
    "token",
    "tomorrow",
    "too",
    "total",
    "trace",
    "true",
    "tuesday",
    "two",
    "type",
    "udp",
    "under",
    "until",
    "up",
    "update",
    "upper",
    "url",
    "us",
    "use",
    "user",
    "uuid",
    "valley",
    "var",
    "vat",
    "version",
    "very",
    "want",
    "warning",
    "was",
    "way",
    "we",
    "wednesday",
    "week",
    "weekend",
    "welcome",
    "well",
    "were",
    "west",
    "what",
    "when",
    "where",
    "which",
    "while",
    "who",
    "whom",
    "why",
    "will",
    "windows",
    "winter",
    "with",
    "work",
    "would",
    "xml",
    "yaml",
    "year",
    "yes",
    "yet",
    "you",
    "your",
    "yours",
    "yourself"};
    WordHashTable s;
    for (const char* w : kWords) s.Or(HashBytes(w), 1);
    return s;
  }();
  return kSet;
}

uint32_t Feat(uint64_t h) { return static_cast<uint32_t>((h ^ (h >> 29)) & kFeatureMask); }

// The AVX-512 paths (model rows, feature ids) compute exactly what the
// portable ones do; this says whether the CPU can run them.
std::atomic<bool> g_portable_only{false};
bool PortableOnly() { return g_portable_only.load(std::memory_order_relaxed); }

bool CpuHasAvx512() {
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vpopcntdq");
}
bool CpuHasAvx512Tokenizer() {
  return CpuHasAvx512() && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("avx512vbmi2") &&
         __builtin_cpu_supports("popcnt");
}

uint64_t Mix(uint64_t a, uint64_t b) {
  uint64_t h = a ^ (b + 0x9e3779b97f4a7c15ull + (a << 6) + (a >> 2));
  return h * 0xff51afd7ed558ccdull;
}

}  // namespace

namespace {
constexpr size_t kPageAllocMin = size_t{256} << 10;
}  // namespace

void* AllocatePages(size_t bytes) {
  if (bytes < kPageAllocMin) return ::operator new(bytes);
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  return p;
}

void FreePages(void* p, size_t bytes) {
  if (!p) return;
  if (bytes < kPageAllocMin) {
    ::operator delete(p);
    return;
  }
  munmap(p, bytes);
}

uint64_t HashBytes(std::string_view s, uint64_t seed) {
  uint64_t h = seed;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

namespace {
// Lower-cases the character at out[i] (advancing i over a 2-byte letter).
void LowerUtf8At(std::string& out, size_t& i) {
  {
    unsigned char c = out[i];
    if (c >= 'A' && c <= 'Z') {
      out[i] = static_cast<char>(c + 32);
    } else if (c == 0xC3 && i + 1 < out.size()) {
      unsigned char d = out[i + 1];
      if (d >= 0x80 && d <= 0x9E && d != 0x97) out[i + 1] = static_cast<char>(d + 0x20);
      ++i;
    } else if (c == 0xD0 && i + 1 < out.size()) {  // Cyrillic А..Я -> а..я
      unsigned char d = out[i + 1];
      if (d >= 0x90 && d <= 0x9F) out[i + 1] = static_cast<char>(d + 0x20);
      else if (d >= 0xA0 && d <= 0xAF) {
        out[i] = static_cast<char>(0xD1);
        out[i + 1] = static_cast<char>(d - 0x20);
      }
      ++i;
    } else if (c == 0xCE && i + 1 < out.size()) {  // Greek Α..Ο -> α..ο
      unsigned char d = out[i + 1];
      if (d >= 0x91 && d <= 0x9F) out[i + 1] = static_cast<char>(d + 0x20);
      else if (d >= 0xA0 && d <= 0xA9) {
        out[i] = static_cast<char>(0xCF);
        out[i + 1] = static_cast<char>(d - 0x20);
      }
      ++i;
    }
  }
}

void LowerUtf8InPlace(std::string& out) {
  size_t i = 0;
  const size_t n = out.size();
  while (i < n) {
    // 16 ASCII bytes at a time (every byte independent: A-Z -> a-z); a
    // block with a byte >= 0x80 goes through the byte loop below.
    while (i + 16 <= n) {
      __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(out.data() + i));
      if (_mm_movemask_epi8(v)) break;
      __m128i d = _mm_sub_epi8(v, _mm_set1_epi8('A'));
      __m128i upper = _mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8(25)), d);
      v = _mm_add_epi8(v, _mm_and_si128(upper, _mm_set1_epi8(0x20)));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out.data() + i), v);
      i += 16;
    }
    size_t stop = std::min(n, i + 16);
    for (; i < stop; ++i) LowerUtf8At(out, i);
  }
}

// LowerUtf8InPlace of a copy of `text` into `out`, followed by 16 zero
// bytes, in one pass: 64 bytes at a time while they hold no byte >= 0x80
// (each ASCII byte is lowered alone, as the byte loop does), else the next
// up to 64 bytes copied and lowered by LowerUtf8At from the same position
// the in-place loop would be at (a two-byte letter may take the first
// byte of the next block, which is then left to the byte loop too).
__attribute__((target("avx512f,avx512bw"))) void LowerUtf8CopyAvx512(std::string_view text,
                                                                      std::string* out) {
  const size_t n = text.size();
  out->resize(n + 16);
  std::memset(out->data() + n, 0, 16);
  char* const o = out->data();
  const char* const t = text.data();
  const __m512i a = _mm512_set1_epi8('A'), span = _mm512_set1_epi8(25),
                bit = _mm512_set1_epi8(0x20);
  size_t i = 0;
  while (i < n) {
    while (i + 64 <= n) {
      const __m512i v = _mm512_loadu_si512(t + i);
      if (_mm512_movepi8_mask(v)) break;
      const __mmask64 upper = _mm512_cmple_epu8_mask(_mm512_sub_epi8(v, a), span);
      _mm512_storeu_si512(o + i, _mm512_mask_add_epi8(v, upper, v, bit));
      i += 64;
    }
    if (i >= n) break;
    const size_t stop = std::min(n, i + 64);
    // The bytes LowerUtf8At may read: the chunk and the one after it.
    std::memcpy(o + i, t + i, std::min(n, stop + 1) - i);
    // (Its `i + 1 < size` test now sees the zero padding after the last
    // byte, which no two-byte letter takes: the same result.)
    for (; i < stop; ++i) LowerUtf8At(*out, i);
  }
}

}  // namespace

std::string LowerUtf8(std::string_view s) {
  std::string out(s);
  LowerUtf8InPlace(out);
  return out;
}

std::vector<Token> Tokenize(std::string_view text) {
  std::vector<Token> tokens;
  TokenizeInto(text, &tokens);
  return tokens;
}

void TokenizeInto(std::string_view text, std::vector<Token>* out) {
  std::vector<Token>& tokens = *out;
  tokens.clear();
  size_t i = 0;
  bool newline = false;
  while (i < text.size()) {
    char c = text[i];
    if (IsSpaceByte(c)) {
      if (c == '\n') newline = true;
      ++i;
      continue;
    }
    size_t start = i;
    if (IsWordByte(static_cast<unsigned char>(c))) {
      while (i < text.size()) {
        unsigned char d = text[i];
        if (IsWordByte(d)) {
          ++i;
        } else if ((d == '\'' || d == '-') && i + 1 < text.size() &&
                   IsWordByte(static_cast<unsigned char>(text[i + 1])) && i > start) {
          ++i;  // O'Brien, Mayo-Walters
        } else {
          break;
        }
      }
    } else {
      ++i;
    }
    tokens.push_back({start, i, newline});
    newline = false;
  }
}

void WordHashTable::Or(uint64_t key, uint16_t bits) {
  if (!buckets_.empty()) std::abort();  // frozen tables are read-only
  if (key == kEmpty) key = kZeroKey;
  if ((count_ + 1) * 4 > keys_.size() * 3) Grow();  // load <= 0.75
  size_t mask = keys_.size() - 1;
  for (size_t i = Slot(key) & mask;; i = (i + 1) & mask) {
    if (keys_[i] == key) {
      vals_[i] |= bits;
      return;
    }
    if (keys_[i] == kEmpty) {
      keys_[i] = key;
      vals_[i] = bits;
      ++count_;
      return;
    }
  }
}

void WordHashTable::Grow() {
  PageVector<uint64_t> keys = std::move(keys_);
  PageVector<uint16_t> vals = std::move(vals_);
  keys_.assign(keys.empty() ? 1024 : keys.size() * 2, kEmpty);
  vals_.assign(keys_.size(), 0);
  count_ = 0;
  for (size_t i = 0; i < keys.size(); ++i)
    if (keys[i] != kEmpty) Or(keys[i], vals[i]);
}

void WordHashTable::Freeze() {
  if (!buckets_.empty() || count_ == 0) return;
  buckets_.assign(count_ * 10 / (8 * kBucketSlots) + 1, Bucket{});
  bool exact = true;
  for (size_t i = 0; i < keys_.size() && exact; ++i) {
    if (keys_[i] == kEmpty) continue;
    uint32_t fp = Fingerprint(keys_[i]);
    bool placed = false;
    for (size_t b = BucketOf(keys_[i]); !placed && exact;) {
      Bucket& bucket = buckets_[b];
      for (int k = 0; k < kBucketSlots; ++k) {
        if (bucket.fp[k] == fp) {  // two members share a fingerprint: keep the full keys
          exact = false;
          break;
        }
        if (bucket.fp[k] == 0) {
          bucket.fp[k] = fp;
          bucket.value[k] = vals_[i];
          placed = true;
          break;
        }
      }
      if (++b == buckets_.size()) b = 0;
    }
  }
  if (!exact) {
    buckets_.clear();
    buckets_.shrink_to_fit();
    return;
  }
  keys_.clear();
  keys_.shrink_to_fit();
  vals_.clear();
  vals_.shrink_to_fit();
}

void WordHashTable::Reserve(size_t n) {
  if (!keys_.empty() || !buckets_.empty()) return;
  size_t slots = 1024;
  while (slots * 3 < n * 4) slots *= 2;  // load <= 0.75, as Or keeps it
  keys_.assign(slots, kEmpty);
  vals_.assign(slots, 0);
}

namespace {
std::atomic<uint64_t> g_gazetteer_ids{0};
}  // namespace

Gazetteers::Gazetteers() : id_(++g_gazetteer_ids) {}

Status Gazetteers::Load(const std::string& dir, bool major_places) {
  id_ = ++g_gazetteer_ids;  // new contents: featurizer caches start over
  static constexpr const char* kFiles[] = {"gaz_first.txt",   "gaz_last.txt",   "gaz_city.txt",
                                           "gaz_country.txt", "gaz_region.txt", "gaz_street.txt",
                                           "gaz_words.txt",   "gaz_names.txt",  "gaz_major.txt"};
  static constexpr Kind kKinds[] = {kFirst,  kLast, kCity, kCountry,   kRegion,
                                    kStreet, kWord, kName, kMajorPlace};
  static_assert(std::size(kFiles) == std::size(kKinds));
  static_assert(kKinds[std::size(kKinds) - 1] == kMajorPlace);
  const size_t files = std::size(kFiles) - (major_places ? 0 : 1);
  place_phrases_ = major_places;
  // Whole files, then line by line (as getline splits them) through reused
  // buffers: no allocation per entry, and the table sized once.
  std::vector<PageVector<char>> contents(files);
  size_t lines = 0;
  for (size_t f = 0; f < files; ++f) {
    std::string path = dir + "/" + kFiles[f];
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    if (!in) return NotFound("scan: cannot read " + path);
    std::streamoff size = in.tellg();
    in.seekg(0);
    if (size < 0) return NotFound("scan: cannot read " + path);
    contents[f].resize(static_cast<size_t>(size));
    if (size > 0 && !in.read(contents[f].data(), size)) return NotFound("scan: cannot read " + path);
    lines += static_cast<size_t>(std::count(contents[f].begin(), contents[f].end(), '\n')) + 1;
  }
  bits_.Reserve(lines + lines / 4);  // multi-word entries add their words
  std::string lower;
  std::vector<Token> tokens;
  for (size_t f = 0; f < files; ++f) {
    std::string_view rest(contents[f].data(), contents[f].size());
    while (!rest.empty()) {
      size_t nl = rest.find('\n');
      std::string_view line = rest.substr(0, nl);
      rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
      if (line.empty() || line[0] == '#') continue;
      AddEntry(kKinds[f], line, &lower, &tokens);
    }
    PageVector<char>().swap(contents[f]);
  }
  bits_.Freeze();
  return Status::Ok();
}

void Gazetteers::Add(Kind kind, std::string_view entry) {
  id_ = ++g_gazetteer_ids;
  std::string lower;
  std::vector<Token> tokens;
  AddEntry(kind, entry, &lower, &tokens);
}

void Gazetteers::AddEntry(Kind kind, std::string_view entry, std::string* lower_buf,
                          std::vector<Token>* toks_buf) {
  std::string& lower = *lower_buf;
  lower.assign(entry);
  LowerUtf8InPlace(lower);
  std::vector<Token>& toks = *toks_buf;
  TokenizeInto(lower, &toks);
  size_t words = 0;
  for (const Token& t : toks) words += IsWordByte(static_cast<unsigned char>(lower[t.start]));
  if (words <= 1 || kind != kCity) bits_.Or(HashBytes(lower), static_cast<uint16_t>(1u << kind));
  if (words > 1 && place_phrases_ && (kind == kCity || kind == kRegion || kind == kCountry)) {
    // The phrase as the span rules spell it: words, one space between.
    std::string phrase;
    for (const Token& t : toks) {
      if (!IsWordByte(static_cast<unsigned char>(lower[t.start]))) continue;
      if (!phrase.empty()) phrase += ' ';
      phrase.append(lower, t.start, t.end - t.start);
    }
    bits_.Or(HashBytes(phrase), kind == kCity ? kCityPhraseBit : kPlacePhraseBit);
  }
  // Multi-word entries: each word is also a member (city parts get their own
  // kind so "New" in "New York" is weaker evidence than "Lyon").
  if (words > 1) {
    Kind part = kind == kCity ? kCityPart : kind;
    for (const Token& t : toks) {
      std::string_view w(lower.data() + t.start, t.end - t.start);
      if (w.size() >= 2 && IsWordByte(static_cast<unsigned char>(w[0])))
        bits_.Or(HashBytes(w), static_cast<uint16_t>(1u << part));
    }
  }
}

bool Gazetteers::Has(Kind kind, uint64_t h) const { return (Bits(h) >> kind) & 1; }

uint16_t Gazetteers::Bits(uint64_t h) const { return bits_.Get(h); }
void Gazetteers::Prefetch(uint64_t h) const { bits_.Prefetch(h); }

namespace {

inline int CountTrailingZeros(uint64_t x) { return __builtin_ctzll(x); }

// Bits of the bytes of one 16-byte block that pass `pred` (a vector of
// 0xFF/0x00 per byte).
inline uint64_t Bits16(__m128i pred) {
  return static_cast<uint64_t>(static_cast<uint32_t>(_mm_movemask_epi8(pred)));
}
// Bytes of v in [lo, lo + span] (unsigned).
inline __m128i InRange(__m128i v, char lo, char span) {
  __m128i d = _mm_sub_epi8(v, _mm_set1_epi8(lo));
  return _mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8(span)), d);
}

// 0xFF for the first 16 bytes, then 0x00: loading 16 bytes at 16 - len
// gives a mask that keeps the first `len` bytes of a word.
alignas(16) constexpr unsigned char kKeepFirst[32] = {
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0};

constexpr uint16_t kCommonBit = 1u << 14;
constexpr uint16_t kMajorPlaceBit = 1u << Gazetteers::kMajorPlace;
// A word of a listed country, region, city (or a city's name part) or well-known place.
constexpr uint16_t kListedPlace = (1u << Gazetteers::kCountry) | (1u << Gazetteers::kRegion) |
                                  (1u << Gazetteers::kCity) | (1u << Gazetteers::kCityPart) |
                                  kMajorPlaceBit;

// Per-token bits the rule "which tokens the model looks at after an O"
// reads (Featurizer::FinishTokens), about the token and its neighbours.
enum : uint8_t {
  kClsCapLike = 1,     // Abc, ABC
  kClsDigits = 2,      // 123
  kClsInitial = 4,     // A
  kClsLowerShort = 8,  // abc, at most 3 bytes
  kClsDotComma = 16,   // . or ,
  kClsLowerLong = 32,  // abcd...
  kClsAlways = 64,     // Abc, ABC, McDonald, A: always looked at
  kClsKeyword = 128,   // may be a word JoinNameParts looks for (see there)
};
static_assert(kClsKeyword == Featurizer::kKeywordClass);
constexpr uint8_t kClassByShape[8] = {0,  // kShapeLower (short or long, below)
                                      kClsCapLike | kClsAlways,   // kShapeCap
                                      kClsCapLike | kClsAlways,   // kShapeUpper
                                      kClsDigits,                 // kShapeDigits
                                      0,                          // kShapeMixedDigit
                                      0,                          // kShapePunct
                                      kClsAlways,                 // kShapeOther
                                      kClsInitial | kClsAlways};  // kShapeInitial
inline uint8_t ClassBits(uint8_t shape, size_t len, char first) {
  uint8_t lower = len <= 3 ? kClsLowerShort : kClsLowerLong;
  return static_cast<uint8_t>(kClassByShape[shape] | (shape == kShapeLower) * lower |
                              ((first == '.') | (first == ',')) * kClsDotComma);
}

// The words JoinNameParts's rules look for at an O token (an honorific or
// greeting, "corner"). Their hashes (HashBytes of the lower-cased word,
// which TokenIs's ASCII match implies) tell the rest apart without
// comparing text; the featurizer flags tokens that may be one.
struct JoinKeywords {
  uint64_t hash[11];
  uint64_t filter[64] = {};  // bit (hash >> 52) of each (4096 bits)
  JoinKeywords() {
    const char* words[] = {"mr", "mrs", "ms",  "dr",   "prof",  "mx",
                           "hi", "hello", "hey", "dear", "corner"};
    for (int k = 0; k < 11; ++k) {
      hash[k] = HashBytes(words[k]);
      filter[hash[k] >> 58] |= uint64_t{1} << (hash[k] >> 52 & 63);
    }
  }
  bool MayBe(uint64_t h) const {
    if (!(filter[h >> 58] >> (h >> 52 & 63) & 1)) return false;
    for (uint64_t k : hash)
      if (k == h) return true;
    return false;
  }
};
const JoinKeywords& Keywords() {
  static const JoinKeywords kKeywords;
  return kKeywords;
}

}  // namespace

namespace {

// The byte-class masks of BuildMasks for the 64 bytes at p (only the
// `valid` ones; the others belong to no class), one compare a class.
struct ByteClasses {
  uint64_t upper, lower, digit, high, space, newline, joiner;
};
__attribute__((target("avx512f,avx512bw"))) inline uint64_t InRange64(__m512i x, char lo,
                                                                      char span) {
  return _mm512_cmple_epu8_mask(_mm512_sub_epi8(x, _mm512_set1_epi8(lo)), _mm512_set1_epi8(span));
}
__attribute__((target("avx512f,avx512bw"))) ByteClasses ClassifyAvx512(const char* p,
                                                                       uint64_t valid) {
  const __m512i v = _mm512_maskz_loadu_epi8(valid, p);
  ByteClasses c;
  c.high = _mm512_movepi8_mask(v);
  c.upper = InRange64(v, 'A', 25);
  c.lower = InRange64(v, 'a', 25);
  c.digit = InRange64(v, '0', 9);
  c.space = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(' ')) | InRange64(v, '\t', 4);
  c.newline = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('\n'));
  c.joiner = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('\'')) |
             _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('-'));
  return c;
}

}  // namespace

void Featurizer::BuildMasks(std::string_view text) {
  size_t words = text.size() / 64 + 1;  // + a zero word after the last byte
  masks_.assign(words + 1, MaskWord{});
  static const bool kHasAvx512 =
      __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
  const bool kAvx512 = kHasAvx512 && !PortableOnly();
  if (kAvx512) {
    for (size_t w = 0; w * 64 < text.size(); ++w) {
      const size_t left = text.size() - w * 64;
      ByteClasses c = ClassifyAvx512(text.data() + w * 64,
                                     left >= 64 ? ~uint64_t{0} : (uint64_t{1} << left) - 1);
      MaskWord& m = masks_[w];
      m.upper = c.upper;
      m.lower = c.lower;
      m.digit = c.digit;
      m.high = c.high;
      m.space = c.space;
      m.newline = c.newline;
      m.joiner = c.joiner;
    }
  }
  const __m128i quote = _mm_set1_epi8('\''), dash = _mm_set1_epi8('-'),
                blank = _mm_set1_epi8(' '), nl = _mm_set1_epi8('\n');
  alignas(16) char tail[64];
  for (size_t w = 0; !kAvx512 && w * 64 < text.size(); ++w) {
    const char* p = text.data() + w * 64;
    if (text.size() - w * 64 < 64) {  // last partial block: zero bytes belong to no class
      std::memset(tail, 0, sizeof(tail));
      std::memcpy(tail, p, text.size() - w * 64);
      p = tail;
    }
    MaskWord& m = masks_[w];
    for (int k = 0; k < 4; ++k) {
      __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * k));
      int shift = 16 * k;
      m.high |= Bits16(v) << shift;
      m.upper |= Bits16(InRange(v, 'A', 25)) << shift;
      m.lower |= Bits16(InRange(v, 'a', 25)) << shift;
      m.digit |= Bits16(InRange(v, '0', 9)) << shift;
      m.space |= Bits16(_mm_or_si128(_mm_cmpeq_epi8(v, blank), InRange(v, '\t', 4))) << shift;
      m.newline |= Bits16(_mm_cmpeq_epi8(v, nl)) << shift;
      m.joiner |= Bits16(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, dash))) << shift;
    }
  }
  // Word tokens: runs of word bytes, with a ' or - between two word bytes
  // ("O'Brien", "Mayo-Walters") inside the run.
  auto word_bits = [&](size_t w) {
    const MaskWord& m = masks_[w];
    return m.upper | m.lower | m.digit | m.high;
  };
  uint64_t prev_word = 0;
  for (size_t w = 0; w < words; ++w) {
    uint64_t cur = word_bits(w), next = word_bits(w + 1);
    uint64_t before = (cur << 1) | (prev_word >> 63);  // bit i: byte i-1 is a word byte
    uint64_t after = (cur >> 1) | (next << 63);        // bit i: byte i+1 is a word byte
    masks_[w].in_word = cur | (masks_[w].joiner & before & after);
    prev_word = cur;
  }
}

inline uint64_t Featurizer::MaskBits(uint64_t MaskWord::*field, size_t start, size_t len) const {
  size_t w = start >> 6, off = start & 63;
  // (x << 1) << (63 - off): the next word's bits above, and nothing when
  // off is 0 (a shift by 64 would be undefined).
  uint64_t v = (masks_[w].*field >> off) | ((masks_[w + 1].*field << 1) << (63 - off));
  return len >= 64 ? v : v & ((uint64_t{1} << len) - 1);
}

inline bool Featurizer::AnyBit(uint64_t MaskWord::*field, size_t start, size_t end) const {
  for (; start < end; start += 64) {
    if (MaskBits(field, start, std::min<size_t>(64, end - start))) return true;
  }
  return false;
}

namespace {

// Shapes (see ShapeOf in testing/names_v1.cc, the byte-by-byte reading) by
// the token's byte classes: bit 0 the first byte is A-Z, 1 a later byte is
// A-Z, 2 any a-z, 3 any digit, 4 any byte >= 0x80, 5 one byte long, 6 the
// first character is a non-ASCII capital.
struct ShapeTable {
  uint8_t shape[128];
  ShapeTable() {
    for (int k = 0; k < 128; ++k) {
      bool first_upper = k & 1, later_upper = k & 2, lower = k & 4, digit = k & 8, high = k & 16,
           one = k & 32, cap_high = k & 64;
      bool alpha = first_upper || later_upper || lower || high;
      uint8_t v;
      if (!alpha) v = digit ? kShapeDigits : kShapePunct;
      else if (digit) v = kShapeMixedDigit;
      else if (first_upper || cap_high)
        v = one ? kShapeInitial : (!lower && !high) ? kShapeUpper : later_upper ? kShapeOther : kShapeCap;
      else v = (first_upper || later_upper) ? kShapeOther : kShapeLower;
      shape[k] = v;
    }
  }
};
const ShapeTable& Shapes() {
  static const ShapeTable kTable;
  return kTable;
}

}  // namespace

// The shape of the token [start, start + len) from its byte classes (bits
// of the token's bytes, first byte at bit 0).
inline uint8_t Featurizer::ShapeFromBits(size_t start, size_t len, uint64_t up, uint64_t lo,
                                         uint64_t dg, uint64_t hi) const {
  unsigned k = static_cast<unsigned>(up & 1) | static_cast<unsigned>((up >> 1) != 0) << 1 |
               static_cast<unsigned>(lo != 0) << 2 | static_cast<unsigned>(dg != 0) << 3 |
               static_cast<unsigned>(hi != 0) << 4 | static_cast<unsigned>(len == 1) << 5;
  if (hi & 1)  // a non-ASCII first character: a capital?
    k |= static_cast<unsigned>(IsUpperStart(text_.substr(start, std::min<size_t>(len, 2)))) << 6;
  return Shapes().shape[k];
}

uint8_t Featurizer::ShapeAt(size_t start, size_t len) const {
  uint64_t up = 0, lo = 0, dg = 0, hi = 0;
  for (size_t off = 0; off < len; off += 64) {
    size_t part = std::min<size_t>(64, len - off);
    uint64_t u = MaskBits(&MaskWord::upper, start + off, part);
    up |= off == 0 ? u : (u & ~uint64_t{1}) | ((u & 1) << 1);  // keep bit 0 for byte 0 only
    lo |= MaskBits(&MaskWord::lower, start + off, part);
    dg |= MaskBits(&MaskWord::digit, start + off, part);
    hi |= MaskBits(&MaskWord::high, start + off, part);
  }
  return ShapeFromBits(start, len, up, lo, dg, hi);
}

static_assert(Featurizer::kDigitsShape == kShapeDigits);

void Featurizer::ReserveTokens(size_t n) {
  // + 2 zero neighbours before the first token's class, + kTokenPadding
  // zero entries after the last (FinishTokens reads blocks of up to 64
  // tokens and two beyond).
  if (hash_.size() < n + kTokenPadding) {
    size_t cap = std::max(n + kTokenPadding, hash_.size() * 2);
    hash_.resize(cap);
    shape_.resize(cap);
    gazbits_.resize(cap);
    static_considered_.resize(cap);
    classes_.resize(cap + 2 + kTokenPadding);
    words_.resize(cap);
  }
}

static_assert(Featurizer::kPunctShape == kShapePunct);
// TokenizeAvx512 writes Tokens as three qwords each.
static_assert(sizeof(Token) == 24 && offsetof(Token, start) == 0 && offsetof(Token, end) == 8 &&
              offsetof(Token, newline_before) == 16);

uint64_t Featurizer::LazyHash(size_t i) const {
  // Digits and punctuation are their own lower case.
  return HashBytes(text_.substr(toks_[i].start, toks_[i].end - toks_[i].start));
}

void Featurizer::TokenizeFromMasks() {
  // Token starts: the first byte of a word run, and every byte that is
  // neither space nor inside a word (punctuation is one token a byte).
  // At most one token a byte: the arrays are sized for that once (they
  // only grow) and written through local pointers, no bookkeeping per
  // token. Words are probed in a second pass over their indices, so the
  // token loop has no branch on the token's kind.
  const size_t n = text_.size();
  if (own_capacity_ < n + 1) {
    own_capacity_ = std::max(n + 1, own_capacity_ * 2);
    own_tokens_.reset(new Token[own_capacity_]);
  }
  ReserveTokens(n + 1);
  classes_[0] = classes_[1] = 0;  // two zero neighbours before the first token
  static const bool kVector = CpuHasAvx512Tokenizer();
  size_t nwords = 0;
  const size_t count =
      kVector && !PortableOnly() ? TokenizeAvx512(&nwords) : TokenizeScalar(&nwords);
  const Token* const tok = own_tokens_.get();
  toks_ = tok;
  ntokens_ = count;
  uint8_t* const cls = classes_.data() + 2;
  const uint32_t* const words = words_.data();
  for (size_t k = 0; k < nwords; ++k) {
    const size_t i = words[k];
    cls[i] |= Probe(i, tok[i].start, tok[i].end - tok[i].start);
  }
}

void Featurizer::EmitSlow(size_t count, size_t* nwords, size_t s, size_t e, bool newline) {
  const uint8_t shape = ShapeAt(s, e - s);
  own_tokens_[count] = {s, e, newline};
  shape_[count] = shape;
  gazbits_[count] = 0;
  classes_[count + 2] = ClassBits(shape, e - s, text_[s]);
  words_[*nwords] = static_cast<uint32_t>(count);
  *nwords += shape != kShapePunct && shape != kShapeDigits;
}

size_t Featurizer::TokenizeScalar(size_t* nwords_out) {
  const size_t n = text_.size();
  Token* const tok = own_tokens_.get();
  uint8_t* const shp = shape_.data();
  uint16_t* const gzb = gazbits_.data();
  uint8_t* const cls = classes_.data() + 2;
  uint32_t* const words = words_.data();
  const uint8_t* const shape_of = Shapes().shape;
  size_t count = 0, nwords = 0;
  size_t prev_end = 0;
  uint64_t prev_in_word = 0;
  for (size_t w = 0; w * 64 < n; ++w) {
    const MaskWord& m = masks_[w];
    uint64_t starts = (m.in_word & ~((m.in_word << 1) | (prev_in_word >> 63))) |
                      (~m.in_word & ~m.space);
    prev_in_word = m.in_word;
    if (n - w * 64 < 64) starts &= (uint64_t{1} << (n - w * 64)) - 1;
    while (starts) {
      const unsigned p = static_cast<unsigned>(CountTrailingZeros(starts));
      const size_t s = w * 64 + p;
      starts &= starts - 1;
      // The token ends at the first byte from s on that is not in a word
      // (s itself for punctuation, which is one byte long).
      uint64_t out = ~m.in_word & (~uint64_t{0} << p);
      size_t e;
      uint8_t shape;
      if (out) {
        e = std::max(w * 64 + static_cast<size_t>(CountTrailingZeros(out)), s + 1);
        const size_t len = e - s;
        const uint64_t keep = ~uint64_t{0} >> (64 - len);
        uint64_t up = (m.upper >> p) & keep, lo = (m.lower >> p) & keep,
                 dg = (m.digit >> p) & keep, hi = (m.high >> p) & keep;
        if (hi & 1) {
          shape = ShapeFromBits(s, len, up, lo, dg, hi);
        } else {
          unsigned k = static_cast<unsigned>(up & 1) | static_cast<unsigned>((up >> 1) != 0) << 1 |
                       static_cast<unsigned>(lo != 0) << 2 | static_cast<unsigned>(dg != 0) << 3 |
                       static_cast<unsigned>(hi != 0) << 4 | static_cast<unsigned>(len == 1) << 5;
          shape = shape_of[k];
        }
      } else {  // the word runs into the next 64 bytes
        size_t cw = w;
        while (!out) out = ~masks_[++cw].in_word;  // the zero word stops it
        e = cw * 64 + static_cast<size_t>(CountTrailingZeros(out));
        shape = ShapeAt(s, e - s);
      }
      // Spaces only since the last token: a newline among them?
      const bool newline = NewlineBetween(prev_end, s);
      const unsigned char first = static_cast<unsigned char>(text_[s]);
      tok[count] = {s, e, newline};
      shp[count] = shape;
      // Punctuation and digits have their hashes computed when asked
      // (HashOf); words get theirs from the probe pass.
      gzb[count] = 0;
      cls[count] = ClassBits(shape, e - s, static_cast<char>(first));
      words[nwords] = static_cast<uint32_t>(count);
      nwords += shape != kShapePunct && shape != kShapeDigits;
      ++count;
      prev_end = e;
    }
  }
  *nwords_out = nwords;
  return count;
}

// Per 64-byte block: token starts S and last bytes E (a word run's last
// byte, or the punctuation byte) pair up in order, except a word that runs
// on into the next block (its start waits as `pending` and is read byte by
// byte when its end comes). The paired tokens' starts and last bytes come
// from compressing the byte offsets by S and E; eight tokens at a time
// then get their shape index (first byte A-Z, a later A-Z, any a-z, digit,
// byte >= 0x80, one byte long: the bits ShapeFromBits reads) from the
// block's class masks shifted by their starts, shape and class bits by
// table, and the newline flag from the newline mask between the previous
// token's end and their start. A token whose first byte is >= 0x80 is
// re-read byte by byte (a non-ASCII capital, IsUpperStart).
__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vbmi,avx512vbmi2,popcnt"))) size_t
Featurizer::TokenizeAvx512(size_t* nwords_out) {
  const size_t n = text_.size();
  Token* const tok = own_tokens_.get();
  uint8_t* const shp = shape_.data();
  uint8_t* const cls = classes_.data() + 2;
  uint32_t* const words = words_.data();
  // Gazetteer bits start at zero for every token (words get theirs from
  // the probes after this loop): written per group below, not cleared for
  // every byte of the text beforehand.
  uint16_t* const gz = gazbits_.data();
  alignas(64) uint8_t iota_bytes[64], shape_bytes[64] = {}, class_bytes[64] = {};
  for (int k = 0; k < 64; ++k) {
    iota_bytes[k] = static_cast<uint8_t>(k);
    shape_bytes[k] = Shapes().shape[k];
  }
  for (int k = 0; k < 8; ++k) class_bytes[k] = kClassByShape[k];
  const __m512i iota = _mm512_load_si512(iota_bytes), shape_table = _mm512_load_si512(shape_bytes),
                class_table = _mm512_load_si512(class_bytes);
  const __m512i one = _mm512_set1_epi64(1), not_one = _mm512_set1_epi64(~1ll),
                three = _mm512_set1_epi64(3);
  const __m256i lane_index = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  alignas(64) uint8_t sb[64], eb[64];
  size_t count = 0, nwords = 0, prev_end = 0;
  size_t pending = SIZE_MAX;  // start of a word that runs on past its block
  uint64_t prev_in_word = 0;
  for (size_t w = 0; w * 64 < n; ++w) {
    const MaskWord& m = masks_[w];
    const size_t base = w * 64;
    const uint64_t valid = n - base >= 64 ? ~uint64_t{0} : (uint64_t{1} << (n - base)) - 1;
    const uint64_t in = m.in_word;
    const uint64_t punct = ~in & ~m.space & valid;
    uint64_t starts = ((in & ~((in << 1) | (prev_in_word >> 63))) & valid) | punct;
    uint64_t lasts = (in & ~((in >> 1) | (masks_[w + 1].in_word << 63))) | punct;
    prev_in_word = in;
    if (pending != SIZE_MAX) {
      // The bytes before the first last byte are all in the pending word.
      if (!(lasts & in)) continue;  // it runs through this whole block
      const size_t e = base + static_cast<size_t>(CountTrailingZeros(lasts)) + 1;
      EmitSlow(count++, &nwords, pending, e, NewlineBetween(prev_end, pending));
      prev_end = e;
      pending = SIZE_MAX;
      lasts &= lasts - 1;
    }
    const int paired = __builtin_popcountll(lasts);
    if (__builtin_popcountll(starts) > paired)  // the last start's word runs on
      pending = base + 63 - static_cast<size_t>(__builtin_clzll(starts));
    if (paired == 0) continue;
    _mm512_store_si512(sb, _mm512_maskz_compress_epi8(starts, iota));
    _mm512_store_si512(eb, _mm512_maskz_compress_epi8(lasts, iota));
    const __m512i bytes = _mm512_maskz_loadu_epi8(valid, text_.data() + base);
    const uint64_t dot_comma = _mm512_cmpeq_epi8_mask(bytes, _mm512_set1_epi8('.')) |
                               _mm512_cmpeq_epi8_mask(bytes, _mm512_set1_epi8(','));
    const __m512i up_all = _mm512_set1_epi64(static_cast<long long>(m.upper)),
                  lo_all = _mm512_set1_epi64(static_cast<long long>(m.lower)),
                  dg_all = _mm512_set1_epi64(static_cast<long long>(m.digit)),
                  hi_all = _mm512_set1_epi64(static_cast<long long>(m.high)),
                  nl_all = _mm512_set1_epi64(static_cast<long long>(m.newline)),
                  dc_all = _mm512_set1_epi64(static_cast<long long>(dot_comma));
    // The previous token's end, in block offsets (0 when it is earlier).
    size_t prev_rel = prev_end > base ? prev_end - base : 0;
    const bool newline_before_block = prev_end < base && NewlineBetween(prev_end, base);
    for (int g = 0; g < paired; g += 8) {
      const int cnt = std::min(8, paired - g);
      const __mmask8 lanes = static_cast<__mmask8>((1u << cnt) - 1);
      const __m512i s =
          _mm512_cvtepu8_epi64(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(sb + g)));
      const __m512i last =
          _mm512_cvtepu8_epi64(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(eb + g)));
      const __m512i len = _mm512_add_epi64(_mm512_sub_epi64(last, s), one);
      const __m512i keep = _mm512_sub_epi64(_mm512_sllv_epi64(one, len), one);  // len 64: all
      const __m512i up = _mm512_and_si512(_mm512_srlv_epi64(up_all, s), keep);
      const __m512i lo = _mm512_and_si512(_mm512_srlv_epi64(lo_all, s), keep);
      const __m512i dg = _mm512_and_si512(_mm512_srlv_epi64(dg_all, s), keep);
      const __m512i hi = _mm512_and_si512(_mm512_srlv_epi64(hi_all, s), keep);
      __m512i k = _mm512_maskz_mov_epi64(_mm512_test_epi64_mask(up, one), one);
      k = _mm512_mask_or_epi64(k, _mm512_test_epi64_mask(up, not_one), k, _mm512_set1_epi64(2));
      k = _mm512_mask_or_epi64(k, _mm512_test_epi64_mask(lo, lo), k, _mm512_set1_epi64(4));
      k = _mm512_mask_or_epi64(k, _mm512_test_epi64_mask(dg, dg), k, _mm512_set1_epi64(8));
      k = _mm512_mask_or_epi64(k, _mm512_test_epi64_mask(hi, hi), k, _mm512_set1_epi64(16));
      k = _mm512_mask_or_epi64(k, _mm512_cmpeq_epi64_mask(len, one), k, _mm512_set1_epi64(32));
      const __mmask8 high_first = _mm512_mask_test_epi64_mask(lanes, hi, one);
      const __m128i shape8 = _mm512_castsi512_si128(
          _mm512_permutexvar_epi8(_mm512_castsi128_si512(_mm512_cvtepi64_epi8(k)), shape_table));
      __m128i class8 = _mm512_castsi512_si128(
          _mm512_permutexvar_epi8(_mm512_castsi128_si512(shape8), class_table));
      const __mmask16 lower = _mm_cmpeq_epi8_mask(shape8, _mm_setzero_si128());
      const __mmask16 short_len = _mm512_cmple_epu64_mask(len, three);
      class8 = _mm_mask_mov_epi8(class8, lower & short_len,
                                 _mm_or_si128(class8, _mm_set1_epi8(kClsLowerShort)));
      class8 = _mm_mask_mov_epi8(class8, lower & ~short_len,
                                 _mm_or_si128(class8, _mm_set1_epi8(kClsLowerLong)));
      const __mmask16 dc = _mm512_test_epi64_mask(_mm512_srlv_epi64(dc_all, s), one);
      class8 = _mm_mask_mov_epi8(class8, dc, _mm_or_si128(class8, _mm_set1_epi8(kClsDotComma)));
      // Newlines between each token and the one before it.
      const __m512i ends = _mm512_add_epi64(last, one);
      const __m512i prev =
          _mm512_alignr_epi64(ends, _mm512_set1_epi64(static_cast<long long>(prev_rel)), 7);
      const __m512i range = _mm512_andnot_si512(_mm512_sub_epi64(_mm512_sllv_epi64(one, prev), one),
                                                _mm512_sub_epi64(_mm512_sllv_epi64(one, s), one));
      __mmask8 newline = _mm512_test_epi64_mask(nl_all, range);
      if (g == 0 && newline_before_block) newline |= 1;
      const __mmask16 is_word = lanes & ~(_mm_cmpeq_epi8_mask(shape8, _mm_set1_epi8(kShapePunct)) |
                                          _mm_cmpeq_epi8_mask(shape8, _mm_set1_epi8(kShapeDigits)));
      _mm_mask_storeu_epi8(shp + count, lanes, shape8);
      _mm_mask_storeu_epi8(cls + count, lanes, class8);
      _mm_mask_storeu_epi16(gz + count, lanes, _mm_setzero_si128());
      _mm256_mask_compressstoreu_epi32(
          words + nwords, static_cast<__mmask8>(is_word),
          _mm256_add_epi32(lane_index, _mm256_set1_epi32(static_cast<int>(count))));
      nwords += static_cast<size_t>(__builtin_popcount(is_word & 0xFF));
      // Eight Tokens {start, end, newline} are 24 qwords: the three
      // vectors interleaved into three stores (only the tokens that exist).
      {
        const __m512i start_abs =
            _mm512_add_epi64(s, _mm512_set1_epi64(static_cast<long long>(base)));
        const __m512i end_abs =
            _mm512_add_epi64(ends, _mm512_set1_epi64(static_cast<long long>(base)));
        const __m512i flag = _mm512_maskz_mov_epi64(newline, one);
        const __m512i out0 = _mm512_mask_permutexvar_epi64(
            _mm512_permutex2var_epi64(start_abs, _mm512_setr_epi64(0, 8, 0, 1, 9, 0, 2, 10),
                                      end_abs),
            0x24, _mm512_setr_epi64(0, 0, 0, 0, 0, 1, 0, 0), flag);
        const __m512i out1 = _mm512_mask_permutexvar_epi64(
            _mm512_permutex2var_epi64(start_abs, _mm512_setr_epi64(0, 3, 11, 0, 4, 12, 0, 5),
                                      end_abs),
            0x49, _mm512_setr_epi64(2, 0, 0, 3, 0, 0, 4, 0), flag);
        const __m512i out2 = _mm512_mask_permutexvar_epi64(
            _mm512_permutex2var_epi64(start_abs, _mm512_setr_epi64(13, 0, 6, 14, 0, 7, 15, 0),
                                      end_abs),
            0x92, _mm512_setr_epi64(0, 5, 0, 0, 6, 0, 0, 7), flag);
        const int qwords = 3 * cnt;
        auto* dst = reinterpret_cast<long long*>(tok + count);
        _mm512_mask_storeu_epi64(
            dst, static_cast<__mmask8>(qwords >= 8 ? 0xFF : (1u << qwords) - 1), out0);
        if (qwords > 8)
          _mm512_mask_storeu_epi64(
              dst + 8, static_cast<__mmask8>(qwords >= 16 ? 0xFF : (1u << (qwords - 8)) - 1), out1);
        if (qwords > 16)
          _mm512_mask_storeu_epi64(dst + 16, static_cast<__mmask8>((1u << (qwords - 16)) - 1),
                                   out2);
      }
      for (__mmask8 f = high_first; f; f &= static_cast<__mmask8>(f - 1)) {
        const int j = CountTrailingZeros(f);
        const size_t ts = base + sb[g + j], len_j = eb[g + j] + 1u - sb[g + j];
        shp[count + j] = ShapeAt(ts, len_j);
        cls[count + j] = ClassBits(shp[count + j], len_j, text_[ts]);
      }
      count += static_cast<size_t>(cnt);
      prev_rel = eb[g + cnt - 1] + 1u;
      prev_end = base + prev_rel;
    }
  }
  *nwords_out = nwords;
  return count;
}

void Featurizer::PrepareText(std::string_view text) {
  text_ = text;
  BuildMasks(text);
  StartText();
  TokenizeFromMasks();
  FinishTokens();
}

void Featurizer::Prepare(std::string_view text, const std::vector<Token>& tokens) {
  text_ = text;
  BuildMasks(text);
  StartText();
  toks_ = tokens.data();
  const size_t n = ntokens_ = tokens.size();
  ReserveTokens(n);
  classes_[0] = classes_[1] = 0;
  for (size_t i = 0; i < n; ++i) {
    const size_t start = tokens[i].start, len = tokens[i].end - tokens[i].start;
    shape_[i] = ShapeAt(start, len);
    hash_[i] = 0;  // words: Probe; digits and punctuation: HashOf
    gazbits_[i] = 0;
    uint8_t keyword =
        shape_[i] != kShapePunct && shape_[i] != kShapeDigits ? Probe(i, start, len) : 0;
    classes_[i + 2] = ClassBits(shape_[i], len, text_[start]) | keyword;
  }
  FinishTokens();
}

inline bool Featurizer::ConsideredImpl(size_t i, int prev_label) const {
  uint8_t s = shape_[i];
  if (s == kShapeCap || s == kShapeUpper || s == kShapeOther || s == kShapeInitial) return true;
  const std::span<const Token> toks = tokens();
  const size_t len = toks[i].end - toks[i].start;
  // After a name or place: numbers, short particles ("de", "do") and words
  // that are no common English word ("fejedelem útja") may continue it.
  // A number that begins a new line is judged by the rules below (the
  // phone or postcode line under an address is not the address).
  if (prev_label != kO && s != kShapePunct && !(s == kShapeDigits && toks[i].newline_before)) {
    constexpr uint16_t kCommon = (1u << Gazetteers::kWord) | kCommonBit;
    return s != kShapeLower || len <= 3 || !(gazbits_[i] & kCommon);
  }
  auto cap = [&](size_t j) {
    return j < toks.size() && (shape_[j] == kShapeCap || shape_[j] == kShapeUpper);
  };
  // House numbers and "Apt. 595" belong to addresses next to capitalised
  // words, also behind a unit number ("638 2229 Wolmarans St").
  if (s == kShapeDigits)
    return cap(i + 1) || (i > 0 && cap(i - 1)) || (i > 1 && cap(i - 2)) ||
           (i + 2 < toks.size() && shape_[i + 1] == kShapeDigits && cap(i + 2));
  // Lower-case words inside a capitalised run ("Quinta de São Tiago").
  if (s == kShapeLower && len <= 3) return i > 0 && cap(i - 1) && cap(i + 1);
  // Lower-case names/places from the gazetteers ("patricia", "københavn");
  // common-word and dictionary hits alone do not qualify.
  constexpr uint16_t kNameBits = (1u << Gazetteers::kWord) - 1;
  if (s == kShapeLower && (gazbits_[i] & kNameBits) != 0 &&
      !(gazbits_[i] & (1u << Gazetteers::kWord)))
    return true;
  // Punctuation inside names/addresses ("Apt." ".", "St.").
  if (s == kShapePunct) {
    char c = text_[toks[i].start];
    if (c != '.' && c != ',') return false;
    if (i > 0 && (cap(i - 1) || shape_[i - 1] == kShapeInitial)) return true;
    // After an address number: "PSC 1437, Box 3833", "Igreja 25, Apt. 236".
    return i > 1 && shape_[i - 1] == kShapeDigits && (cap(i - 2) || cap(i + 1));
  }
  return false;
}

void Featurizer::StartText() {
  // One lower-casing pass over the text (LowerUtf8 keeps byte lengths), so
  // tokens are views, not allocations; 16 zero bytes after it let a word
  // of up to 16 bytes be loaded whole.
  static const bool kAvx512 =
      __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
  if (kAvx512 && !PortableOnly()) {
    LowerUtf8CopyAvx512(text_, &lower_text_);
  } else {
    lower_text_.assign(text_);
    LowerUtf8InPlace(lower_text_);
    lower_text_.append(16, '\0');
  }
  uint64_t want_id = gaz_ ? gaz_->id() : 0;
  if (cache_.empty() || cache_gaz_id_ != want_id) {
    cache_.assign(size_t{1} << kCacheBits, CachedWord{});
    cache_gaz_id_ = want_id;
  }
  misses_.clear();
}

// Hash and gazetteer bits of word token i from the word cache; a word it
// does not hold is hashed, and its gazetteer lookup started and left to
// FinishTokens (misses_). Punctuation and digits never come here: they
// have no gazetteer bits and are no keyword.
__attribute__((always_inline)) inline uint8_t Featurizer::Probe(size_t i, size_t start,
                                                                size_t len) {
  const char* word = lower_text_.data() + start;
  uint64_t h;
  if (len <= 16) {
    // The lower-cased bytes are the key.
    __m128i key = _mm_and_si128(
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(word)),
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(kKeepFirst + 16 - len)));
    uint64_t k0 = static_cast<uint64_t>(_mm_cvtsi128_si64(key));
    uint64_t k1 = static_cast<uint64_t>(_mm_cvtsi128_si64(_mm_unpackhi_epi64(key, key)));
    uint64_t mix = (k0 * 0x9E3779B97F4A7C15ull) ^ ((k1 + len) * 0xC2B2AE3D27D4EB4Full);
    const CachedWord& c = cache_[mix >> (64 - kCacheBits)];
    if (c.len == len && c.key[0] == k0 && c.key[1] == k1) {
      hash_[i] = c.hash;
      gazbits_[i] = c.bits;
      return c.keyword;
    }
  }
  h = HashBytes(std::string_view(word, len));
  hash_[i] = h;
  // Gazetteer lookups miss the cache (the table is megabytes): start them
  // all, then read them (FinishTokens also flags keywords for them).
  if (gaz_) gaz_->Prefetch(h);
  misses_.push_back(static_cast<uint32_t>(i));
  return 0;
}

namespace {

__attribute__((target("avx512f,avx512bw"))) inline __mmask64 Has64(__m512i v, uint8_t bit) {
  return _mm512_test_epi8_mask(v, _mm512_set1_epi8(static_cast<char>(bit)));
}

// FinishTokens' rule for 64 tokens at a time (the same tests on byte
// masks): see the portable loop there.
__attribute__((target("avx512f,avx512bw"))) void ConsideredAfterOAvx512(const uint8_t* cls,
                                                                        const uint16_t* gz,
                                                                        size_t n, uint8_t* out) {
  static_assert(Gazetteers::kWord == 7, "name bits are the low 7, the word bit the 8th");
  for (size_t i = 0; i < n; i += 64) {
    const __m512i c = _mm512_loadu_si512(cls + i), p1 = _mm512_loadu_si512(cls + i - 1),
                  p2 = _mm512_loadu_si512(cls + i - 2), n1 = _mm512_loadu_si512(cls + i + 1),
                  n2 = _mm512_loadu_si512(cls + i + 2);
    const __mmask64 cap_prev = Has64(p1, kClsCapLike), cap_next = Has64(n1, kClsCapLike),
                    cap_prev2 = Has64(p2, kClsCapLike), cap_next2 = Has64(n2, kClsCapLike);
    const __m512i low =
        _mm512_inserti64x4(_mm512_castsi256_si512(_mm512_cvtepi16_epi8(_mm512_loadu_si512(gz + i))),
                           _mm512_cvtepi16_epi8(_mm512_loadu_si512(gz + i + 32)), 1);
    const __mmask64 name_word = Has64(low, 0x7F) & ~Has64(low, 0x80);
    __mmask64 r = Has64(c, kClsAlways);
    r |= Has64(c, kClsLowerShort) & cap_prev & cap_next;
    r |= Has64(c, kClsLowerLong) & name_word;
    r |= Has64(c, kClsDigits) &
         (cap_next | cap_prev | cap_prev2 | (Has64(n1, kClsDigits) & cap_next2));
    r |= Has64(c, kClsDotComma) &
         (cap_prev | Has64(p1, kClsInitial) | (Has64(p1, kClsDigits) & (cap_prev2 | cap_next)));
    _mm512_storeu_si512(out + i, _mm512_maskz_set1_epi8(r, 1));
  }
}

}  // namespace

void Featurizer::FinishTokens() {
  const std::span<const Token> tokens = this->tokens();
  const size_t n = tokens.size();
  for (uint32_t i : misses_) {
    uint64_t h = hash_[i];
    uint16_t bits = gaz_ ? gaz_->Bits(h) : 0;
    if (CommonWords().Get(h)) bits |= kCommonBit;
    gazbits_[i] = bits;
    uint8_t keyword = Keywords().MayBe(h) ? kClsKeyword : 0;
    classes_[i + 2] |= keyword;
    size_t len = tokens[i].end - tokens[i].start;
    if (len > 16) continue;
    const char* p = lower_text_.data() + tokens[i].start;
    __m128i key = _mm_and_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)),
                                _mm_loadu_si128(reinterpret_cast<const __m128i*>(kKeepFirst + 16 - len)));
    uint64_t k0 = static_cast<uint64_t>(_mm_cvtsi128_si64(key));
    uint64_t k1 = static_cast<uint64_t>(_mm_cvtsi128_si64(_mm_unpackhi_epi64(key, key)));
    uint64_t mix = (k0 * 0x9E3779B97F4A7C15ull) ^ ((k1 + len) * 0xC2B2AE3D27D4EB4Full);
    CachedWord& c = cache_[mix >> (64 - kCacheBits)];
    c.key[0] = k0;
    c.key[1] = k1;
    c.hash = h;
    c.bits = bits;
    c.len = static_cast<uint8_t>(len);
    c.keyword = keyword;
  }
  // Considered(i, kO) for every token, 16 tokens at a time, without a
  // branch per shape: from the class bits of the token and its neighbours
  // (two zero entries before the first token and zeros after the last, so
  // no bounds checks) and, for a lower-case word, whether the gazetteers
  // list it as a name or place but not as a dictionary word. The first two
  // tokens take the plain path: the punctuation rule looks back two tokens
  // only when there are two.
  // (The arrays are grow-only buffers: zero the padding these blocks read.)
  std::memset(classes_.data() + 2 + n, 0, kTokenPadding);
  std::memset(gazbits_.data() + n, 0, kTokenPadding * sizeof(uint16_t));
  const uint8_t* cls = classes_.data() + 2;
  const uint16_t* gz = gazbits_.data();
  static const bool kAvx512 =
      __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
  if (kAvx512 && !PortableOnly()) {
    ConsideredAfterOAvx512(cls, gz, n, static_considered_.data());
    for (size_t i = 0; i < std::min<size_t>(n, 2); ++i)
      static_considered_[i] = ConsideredImpl(i, kO);
    static_considered_[n] = 1;
    return;
  }
  const __m128i zero = _mm_setzero_si128(), ones = _mm_set1_epi8(-1);
  auto has = [](__m128i v, uint8_t bit) {
    const __m128i b = _mm_set1_epi8(static_cast<char>(bit));
    return _mm_cmpeq_epi8(_mm_and_si128(v, b), b);
  };
  auto load = [](const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); };
  static_assert(Gazetteers::kWord == 7, "name bits are the low 7, the word bit the 8th");
  for (size_t i = 0; i < n; i += 16) {
    const __m128i c = load(cls + i), p1 = load(cls + i - 1), p2 = load(cls + i - 2),
                  n1 = load(cls + i + 1), n2 = load(cls + i + 2);
    const __m128i cap_prev = has(p1, kClsCapLike), cap_next = has(n1, kClsCapLike),
                  cap_prev2 = has(p2, kClsCapLike), cap_next2 = has(n2, kClsCapLike);
    const __m128i low = _mm_packus_epi16(_mm_and_si128(load(gz + i), _mm_set1_epi16(0xFF)),
                                         _mm_and_si128(load(gz + i + 8), _mm_set1_epi16(0xFF)));
    const __m128i not_name =
        _mm_or_si128(_mm_cmpeq_epi8(_mm_and_si128(low, _mm_set1_epi8(0x7F)), zero), has(low, 0x80));
    const __m128i name_word = _mm_andnot_si128(not_name, ones);
    __m128i r = has(c, kClsAlways);
    r = _mm_or_si128(r, _mm_and_si128(has(c, kClsLowerShort), _mm_and_si128(cap_prev, cap_next)));
    r = _mm_or_si128(r, _mm_and_si128(has(c, kClsLowerLong), name_word));
    __m128i digits_ok = _mm_or_si128(_mm_or_si128(cap_next, cap_prev),
                                     _mm_or_si128(cap_prev2, _mm_and_si128(has(n1, kClsDigits), cap_next2)));
    r = _mm_or_si128(r, _mm_and_si128(has(c, kClsDigits), digits_ok));
    __m128i punct_ok =
        _mm_or_si128(_mm_or_si128(cap_prev, has(p1, kClsInitial)),
                     _mm_and_si128(has(p1, kClsDigits), _mm_or_si128(cap_prev2, cap_next)));
    r = _mm_or_si128(r, _mm_and_si128(has(c, kClsDotComma), punct_ok));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(static_considered_.data() + i),
                     _mm_and_si128(r, _mm_set1_epi8(1)));
  }
  for (size_t i = 0; i < std::min<size_t>(n, 2); ++i) static_considered_[i] = ConsideredImpl(i, kO);
  static_considered_[n] = 1;
}

bool Featurizer::Considered(size_t i, int prev_label) const { return ConsideredImpl(i, prev_label); }

size_t Featurizer::NextConsideredAfterO(size_t i) const {
  // Eight tokens a step: the entries are 0 or 1, the one after the last
  // token is 1 and the buffer runs kTokenPadding entries beyond it, so the
  // first set byte of a word at or before that entry is the answer.
  const uint8_t* considered = static_considered_.data();
  for (;; i += 8) {
    uint64_t v;
    std::memcpy(&v, considered + i, 8);
    if (v) return i + static_cast<size_t>(CountTrailingZeros(v)) / 8;
  }
}

void Featurizer::Features(size_t i, int prev, int prev2, std::vector<uint32_t>* out) const {
  out->resize(kMaxFeatures);
  out->resize(Features(i, prev, prev2, out->data()));
}

namespace {

// Feat(Mix(tag, value)) of n (tag, value) pairs into out.
void FeatureIdsPortable(const uint64_t* tags, const uint64_t* values, size_t n, uint32_t* out) {
  for (size_t k = 0; k < n; ++k) out[k] = Feat(Mix(tags[k], values[k]));
}

// Feat(Mix(tag, value)) of the pairs at k .. k+7 (those of n that exist; the
// other lanes are zero) in 64-bit lanes: the same integer arithmetic as the
// scalar Mix and Feat, so the same ids.
__attribute__((target("avx512f,avx512dq,avx512vl"), always_inline)) inline __m512i FeatureIds8(
    const uint64_t* tags, const uint64_t* values, size_t k, size_t n, __mmask8* lanes) {
  const __m512i golden = _mm512_set1_epi64(static_cast<long long>(0x9e3779b97f4a7c15ull)),
                mul = _mm512_set1_epi64(static_cast<long long>(0xff51afd7ed558ccdull)),
                mask = _mm512_set1_epi64(kFeatureMask);
  *lanes = n - k >= 8 ? __mmask8{0xFF} : static_cast<__mmask8>((1u << (n - k)) - 1);
  const __m512i a = _mm512_maskz_loadu_epi64(*lanes, tags + k);
  const __m512i b = _mm512_maskz_loadu_epi64(*lanes, values + k);
  // Mix: (a ^ (b + golden + (a << 6) + (a >> 2))) * mul
  const __m512i sum =
      _mm512_add_epi64(_mm512_add_epi64(b, golden),
                       _mm512_add_epi64(_mm512_slli_epi64(a, 6), _mm512_srli_epi64(a, 2)));
  const __m512i h = _mm512_mullo_epi64(_mm512_xor_si512(a, sum), mul);
  // Feat: (h ^ (h >> 29)) & mask
  return _mm512_and_si512(_mm512_xor_si512(h, _mm512_srli_epi64(h, 29)), mask);
}

// FeatureIdsPortable eight at a time (64-bit multiplies in AVX-512DQ).
__attribute__((target("avx512f,avx512dq,avx512vl"))) void FeatureIdsAvx512(const uint64_t* tags,
                                                                           const uint64_t* values,
                                                                           size_t n,
                                                                           uint32_t* out) {
  for (size_t k = 0; k < n; k += 8) {
    __mmask8 lanes;
    const __m512i id = FeatureIds8(tags, values, k, n, &lanes);
    _mm512_mask_cvtepi64_storeu_epi32(out + k, lanes, id);
  }
}

}  // namespace

size_t Featurizer::Features(size_t i, int prev, int prev2, uint32_t* out) const {
  // The (tag, value) pairs first, then their ids in one pass.
  uint64_t tags[kMaxFeatures], values[kMaxFeatures];
  const size_t count = FeatureValues(i, prev, prev2, tags, values);
  static const bool kHasAvx512 = CpuHasAvx512();
  if (kHasAvx512 && !PortableOnly())
    FeatureIdsAvx512(tags, values, count, out);
  else
    FeatureIdsPortable(tags, values, count, out);
  return count;
}

size_t Featurizer::FeatureValues(size_t i, int prev, int prev2, uint64_t* tags,
                                 uint64_t* values) const {
  size_t count = 0;
  const std::span<const Token> toks = tokens();
  size_t n = toks.size();
  auto add = [&](uint64_t tag, uint64_t v) {
    tags[count] = tag;
    values[count] = v;
    ++count;
  };
  // The neighbours' words, shapes and gazetteer bits, read once (a digit
  // or punctuation neighbour's hash is computed on demand).
  const ptrdiff_t k = static_cast<ptrdiff_t>(i);
  uint64_t words_near[5], shapes_near[5], gaz_near[5];
  for (ptrdiff_t d = -2; d <= 2; ++d) {
    const ptrdiff_t j = k + d;
    const bool inside = j >= 0 && static_cast<size_t>(j) < n;
    words_near[d + 2] = inside ? HashOf(static_cast<size_t>(j)) : j < 0 ? 0x5151 : 0x6161;
    shapes_near[d + 2] = inside ? shape_[j] : 99;
    // The major-place bit is left out of the combined list features (they
    // keep the statistics of the other lists) and has its own below.
    gaz_near[d + 2] = inside ? gazbits_[j] & ~kMajorPlaceBit : 0xffff;
  }
  auto word = [&](ptrdiff_t j) -> uint64_t { return words_near[j - k + 2]; };
  auto shape = [&](ptrdiff_t j) -> uint64_t { return shapes_near[j - k + 2]; };
  auto gaz = [&](ptrdiff_t j) -> uint64_t { return gaz_near[j - k + 2]; };
  add(1, 0);  // bias
  add(2, word(k));
  add(3, shape(k));
  add(4, Mix(shape(k), prev));
  add(5, prev);
  add(6, Mix(prev, prev2));
  add(7, word(k - 1));
  add(8, word(k + 1));
  add(9, Mix(word(k - 1), shape(k)));
  add(10, Mix(word(k + 1), shape(k)));
  add(11, word(k - 2));
  add(12, shape(k - 1));
  add(13, shape(k + 1));
  add(14, Mix(shape(k - 1), shape(k + 1)));
  add(15, gaz(k));
  add(16, gaz(k - 1));
  add(17, gaz(k + 1));
  add(18, Mix(gaz(k), prev));
  add(19, Mix(gaz(k), shape(k)));
  for (uint32_t bits = gazbits_[i] & ((1u << Gazetteers::kNumKinds) - 1); bits; bits &= bits - 1)
    add(20 + CountTrailingZeros(bits), Mix(shape(k), prev));
  bool common = gazbits_[i] & kCommonBit;
  if (common) {
    add(41, Mix(shape(k), prev));
    add(42, Mix(word(k - 1), 1));
  }
  const size_t len = toks[i].end - toks[i].start;
  // Acronyms and code identifiers (IBAN, ERROR, X-Api-Key, fromSet).
  add(43, Mix(shape(k), std::min<size_t>(len, 6)));
  if (static_cast<size_t>(k + 1) < n) {
    char next = text_[toks[i + 1].start];
    if (next == '(' || next == '=' || next == '_' || next == ':') add(44, Mix(next, shape(k)));
  }
  if (i > 0) {
    char before = text_[toks[i - 1].start];
    if (before == '.' || before == '=' || before == '_' || before == '(' || before == '[')
      add(45, Mix(before, shape(k)));
  }
  std::string_view w(lower_text_.data() + toks[i].start, len);
  if (w.size() >= 3) {
    add(30, HashBytes(w.substr(w.size() - 3)));
    add(31, HashBytes(w.substr(0, 3)));
  }
  if (w.size() >= 2) add(32, HashBytes(w.substr(w.size() - 2)));
  add(33, std::min<size_t>(w.size(), 12));
  bool line_start = i == 0 || toks[i].newline_before;
  bool sent_start = line_start;
  if (!sent_start && toks[i - 1].end - toks[i - 1].start == 1) {
    char c = text_[toks[i - 1].start];  // one byte: lower-casing leaves these alone
    sent_start = c == '.' || c == '!' || c == '?' || c == ':' || c == '"';
  }
  add(34, Mix(sent_start, shape(k)));
  add(35, Mix(line_start, prev));
  add(36, Mix(word(k - 1), prev));
  add(37, Mix(word(k - 1), word(k - 2)));
  add(38, Mix(gaz(k - 1), gaz(k + 1)));
  add(39, Mix(word(k + 1), word(k + 2)));
  if (static_cast<size_t>(k + 1) < n && toks[i + 1].newline_before) add(40, shape(k));
  // Look-ahead shapes: a house number is decided before the street it
  // precedes ("28245 Puruntie 82" is digits-Cap-digits, "in 2019 Paris
  // hosted" is not).
  add(46, Mix(Mix(shape(k), shape(k + 1)), shape(k + 2)));
  add(47, Mix(Mix(shape(k), gaz(k + 1)), shape(k + 2)));
  // A well-known place or a given name: the words around it tell ("Paris
  // is lovely", "Paris Hilton", "to Jordan", "Jordan said").
  if (gazbits_[i] & kMajorPlaceBit) {
    add(48, Mix(word(k + 1), shape(k + 1)));
    add(49, Mix(word(k - 1), sent_start));
    // The neighbours' roles, not only their words: a surname right after it
    // makes a person ("Sofia Lima", "Austin Butler"); a place two words on
    // makes a list or a border ("Sydney and Melbourne", "Jordan borders
    // Syria", "Pune and Austin").
    constexpr uint64_t kPersonRoles =
        (1u << Gazetteers::kFirst) | (1u << Gazetteers::kLast) | (1u << Gazetteers::kName);
    constexpr uint64_t kPlaceRoles = (1u << Gazetteers::kCity) | (1u << Gazetteers::kCountry) |
                                     (1u << Gazetteers::kRegion) | kMajorPlaceBit;
    auto roles = [&](ptrdiff_t j) -> uint64_t {
      if (j < 0 || static_cast<size_t>(j) >= n) return 0xffff;
      return gazbits_[j] & (kPersonRoles | kPlaceRoles | kCommonBit | (1u << Gazetteers::kWord));
    };
    add(50, Mix(Mix(roles(k + 1), shape(k + 1)), prev));
    add(51, Mix(word(k + 1), roles(k + 2) & (kPlaceRoles | 0x8000)));
    add(52, Mix(word(k - 1), roles(k - 2) & (kPlaceRoles | 0x8000)));
  }
  return count;
}

Status NameModel::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("scan: cannot read " + path);
  char magic[8];
  uint32_t header[3];
  in.read(magic, 8);
  in.read(reinterpret_cast<char*>(header), sizeof(header));
  if (!in || std::memcmp(magic, "STWNAME2", 8) != 0 || header[0] != kFeatureBits ||
      header[1] != kNumLabels)
    return DataLoss("scan: " + path + " is not a names model of this version");
  uint32_t count = header[2];
  if (count > (1u << kFeatureBits)) return DataLoss("scan: " + path + " is truncated or corrupt");
  struct FileRow {
    uint32_t id;
    float w[kNumLabels];
  };
  PageVector<FileRow> rows(count);
  for (FileRow& row : rows) {
    in.read(reinterpret_cast<char*>(&row.id), 4);
    in.read(reinterpret_cast<char*>(row.w), sizeof(row.w));
    if (!in || row.id > kFeatureMask) return DataLoss("scan: " + path + " is truncated or corrupt");
    for (int l = 0; l < kNumLabels; ++l)
      if (!std::isfinite(row.w[l])) return DataLoss("scan: " + path + " has a non-finite weight");
  }
  // A repeated id: the last row wins, as before.
  std::stable_sort(rows.begin(), rows.end(),
                   [](const FileRow& a, const FileRow& b) { return a.id < b.id; });
  size_t unique = 0;
  for (size_t r = 0; r < rows.size(); ++r)
    unique += !(r + 1 < rows.size() && rows[r + 1].id == rows[r].id);
  // One allocation: the index words, then the rows.
  constexpr size_t kIndexWords = (size_t{1} << kFeatureBits) / 64;
  size_t index_bytes = kIndexWords * sizeof(IndexWord);
  size_t bytes = index_bytes + unique * kNumLabels * sizeof(float);
  size_t arena_bytes = (bytes + 7) / 8 * 8;
  std::unique_ptr<uint64_t[], PagesDeleter> arena(
      static_cast<uint64_t*>(AllocatePages(arena_bytes)), PagesDeleter(arena_bytes));
  std::memset(arena.get(), 0, arena_bytes);
  auto* index = reinterpret_cast<IndexWord*>(arena.get());
  auto* weights = reinterpret_cast<float*>(reinterpret_cast<char*>(arena.get()) + index_bytes);
  size_t row_count = 0;
  for (size_t r = 0; r < rows.size(); ++r) {
    if (r + 1 < rows.size() && rows[r + 1].id == rows[r].id) continue;
    index[rows[r].id >> 6].present |= uint64_t{1} << (rows[r].id & 63);
    std::memcpy(weights + row_count * kNumLabels, rows[r].w, sizeof(rows[r].w));
    ++row_count;
  }
  uint32_t before = 0;
  for (size_t w = 0; w < kIndexWords; ++w) {
    index[w].rank = before;
    before += static_cast<uint32_t>(Popcount64(index[w].present));
  }
  dense_.clear();
  dense_.shrink_to_fit();
  arena_ = std::move(arena);
  arena_bytes_ = bytes;
  index_ = index;
  weights_ = weights;
  return Status::Ok();
}

std::vector<float>& NameModel::dense() {
  if (dense_.empty()) {
    dense_.assign((size_t{1} << kFeatureBits) * kNumLabels, 0.0f);
    for (uint32_t id = 0; index_ && id <= kFeatureMask; ++id)
      if (const float* w = Find(id))
        std::memcpy(&dense_[size_t{id} * kNumLabels], w, kNumLabels * sizeof(float));
    arena_.reset();
    arena_bytes_ = 0;
    index_ = nullptr;
    weights_ = nullptr;
  }
  return dense_;
}

Status NameModel::Save(const std::string& path) const {
  auto row = [&](uint32_t id) -> const float* {
    if (!dense_.empty()) return &dense_[size_t{id} * kNumLabels];
    return index_ ? Find(id) : nullptr;
  };
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Internal("scan: cannot write " + path);
  std::vector<uint32_t> ids;
  for (uint32_t id = 0; id <= kFeatureMask; ++id) {
    const float* w = row(id);
    for (int l = 0; w && l < kNumLabels; ++l) {
      // Weights this small never change a decision; dropping them keeps
      // the file small.
      if (std::fabs(w[l]) >= 1e-3f) {
        ids.push_back(id);
        break;
      }
    }
  }
  out.write("STWNAME2", 8);
  uint32_t header[3] = {kFeatureBits, kNumLabels, static_cast<uint32_t>(ids.size())};
  out.write(reinterpret_cast<const char*>(header), sizeof(header));
  for (uint32_t id : ids) {
    float q[kNumLabels];
    std::memcpy(q, row(id), sizeof(q));
    out.write(reinterpret_cast<const char*>(&id), 4);
    out.write(reinterpret_cast<const char*>(q), sizeof(q));
  }
  return out ? Status::Ok() : Internal("scan: write failed: " + path);
}

namespace {

// The rows of the features that have one, in feature order (see
// NameModel::Find), each prefetched. Instantiated twice: the build targets
// baseline x86-64, whose popcount is a dozen instructions, so a copy
// compiled for the popcnt instruction runs where the CPU has it.
template <bool kHwPopcount>
__attribute__((always_inline)) inline size_t GatherRows(const NameModel::IndexWord* index,
                                                        const float* weights,
                                                        const uint32_t* feats, size_t n,
                                                        const float** rows) {
  size_t count = 0;
  for (size_t k = 0; k < n; ++k) {
    uint32_t id = feats[k];
    const NameModel::IndexWord& w = index[id >> 6];
    uint64_t bit = uint64_t{1} << (id & 63);
    uint64_t below = w.present & (bit - 1);
    size_t row = w.rank + static_cast<size_t>(kHwPopcount ? __builtin_popcountll(below)
                                                          : Popcount64(below));
    const float* r = weights + row * kNumLabels;
    // Written always, kept only when the feature has a row (no branch: a
    // token's features are present or absent in no pattern a predictor
    // learns). An absent feature's address is never read, only
    // prefetched (harmless even one past the last row).
    __builtin_prefetch(r);
    rows[count] = r;
    count += (w.present & bit) != 0;
  }
  return count;
}

__attribute__((target("popcnt"))) size_t GatherRowsPopcnt(const NameModel::IndexWord* index,
                                                          const float* weights,
                                                          const uint32_t* feats, size_t n,
                                                          const float** rows) {
  return GatherRows<true>(index, weights, feats, n, rows);
}

size_t GatherRowsPortable(const NameModel::IndexWord* index, const float* weights,
                          const uint32_t* feats, size_t n, const float** rows) {
  return GatherRows<false>(index, weights, feats, n, rows);
}

// The same eight features at a time where the CPU has AVX-512 (gathered
// index words, vector popcount, rows compressed in feature order): the
// same integer arithmetic, so the same rows in the same order.
static_assert(sizeof(NameModel::IndexWord) == 16);
// Appends the weight rows of the feature ids in `id` (the lanes of `lanes`)
// that the model has to rows; returns how many.
__attribute__((target("avx512f,avx512dq,avx512vl,avx512vpopcntdq"), always_inline)) inline size_t
AppendRows8(const NameModel::IndexWord* index, const float* weights, __m512i id, __mmask8 lanes,
            const float** rows) {
  const __m512i one = _mm512_set1_epi64(1), low6 = _mm512_set1_epi64(63),
                low32 = _mm512_set1_epi64(0xFFFFFFFFll), zero = _mm512_setzero_si512();
  const __m512i base =
      _mm512_set1_epi64(static_cast<long long>(reinterpret_cast<uintptr_t>(weights)));
  const __m512i offset = _mm512_slli_epi64(_mm512_srli_epi64(id, 6), 4);  // IndexWord bytes
  const __m512i present = _mm512_mask_i64gather_epi64(zero, lanes, offset, index, 1);
  const __m512i rank = _mm512_and_si512(
      _mm512_mask_i64gather_epi64(zero, lanes, offset, reinterpret_cast<const char*>(index) + 8, 1),
      low32);
  const __m512i bit = _mm512_sllv_epi64(one, _mm512_and_si512(id, low6));
  const __mmask8 has = _mm512_mask_test_epi64_mask(lanes, present, bit);
  const __m512i below = _mm512_and_si512(present, _mm512_sub_epi64(bit, one));
  const __m512i row = _mm512_add_epi64(rank, _mm512_popcnt_epi64(below));
  // weights + row * kNumLabels floats: row * 20 bytes.
  static_assert(kNumLabels * sizeof(float) == 20);
  const __m512i bytes = _mm512_add_epi64(_mm512_slli_epi64(row, 4), _mm512_slli_epi64(row, 2));
  _mm512_mask_compressstoreu_epi64(rows, has, _mm512_add_epi64(base, bytes));
  return static_cast<size_t>(__builtin_popcount(has));
}

__attribute__((target("avx512f,avx512dq,avx512vl,avx512vpopcntdq"))) size_t GatherRowsAvx512(
    const NameModel::IndexWord* index, const float* weights, const uint32_t* feats, size_t n,
    const float** rows) {
  size_t count = 0;
  for (size_t k = 0; k < n; k += 8) {
    const __mmask8 lanes = n - k >= 8 ? __mmask8{0xFF} : static_cast<__mmask8>((1u << (n - k)) - 1);
    const __m512i id = _mm512_cvtepu32_epi64(_mm256_maskz_loadu_epi32(lanes, feats + k));
    count += AppendRows8(index, weights, id, lanes, rows + count);
  }
  for (size_t k = 0; k < count; ++k) __builtin_prefetch(rows[k]);
  return count;
}

}  // namespace

namespace {

// GatherRowsAvx512 for features given as (tag, value) pairs: each id is
// hashed (as FeatureIdsAvx512) on the way to its index word.
__attribute__((target("avx512f,avx512dq,avx512vl,avx512vpopcntdq"))) size_t
GatherRowsFromValuesAvx512(const NameModel::IndexWord* index, const float* weights,
                           const uint64_t* tags, const uint64_t* values, size_t n,
                           const float** rows) {
  size_t count = 0;
  for (size_t k = 0; k < n; k += 8) {
    __mmask8 lanes;
    const __m512i id = FeatureIds8(tags, values, k, n, &lanes);
    count += AppendRows8(index, weights, id, lanes, rows + count);
  }
  // (No prefetch of the rows here: they are summed right after, and a
  // loop over the pointers just stored only delayed that, 5% of the names
  // time on the bench prompt.)
  return count;
}

// Adds rows to out in order: labels 0-3 in one SSE register (lane by lane
// the same additions as one at a time), label 4 alone.
inline void SumRows(const float* const* rows, size_t count, float out[kNumLabels]) {
  static_assert(kNumLabels == 5);
  __m128 acc = _mm_loadu_ps(out);
  float last = out[4];
  for (size_t k = 0; k < count; ++k) {
    acc = _mm_add_ps(acc, _mm_loadu_ps(rows[k]));
    last += rows[k][4];
  }
  _mm_storeu_ps(out, acc);
  out[4] = last;
}

}  // namespace

void NameModel::ScoreValues(const uint64_t* tags, const uint64_t* values, size_t n,
                            float out[kNumLabels]) const {
  static const bool kHasAvx512 = CpuHasAvx512();
  if (index_ && kHasAvx512 && !PortableOnly() && n <= Featurizer::kMaxFeatures) {
    for (int l = 0; l < kNumLabels; ++l) out[l] = 0;
    const float* rows[Featurizer::kMaxFeatures];
    SumRows(rows, GatherRowsFromValuesAvx512(index_, weights_, tags, values, n, rows), out);
    return;
  }
  if (n > Featurizer::kMaxFeatures) {  // never from the featurizer
    std::vector<uint32_t> ids(n);
    FeatureIdsPortable(tags, values, n, ids.data());
    Score(ids.data(), n, out);
    return;
  }
  uint32_t ids[Featurizer::kMaxFeatures];
  FeatureIdsPortable(tags, values, n, ids);
  Score(ids, n, out);
}

void NameModel::Score(const uint32_t* feats, size_t n, float out[kNumLabels]) const {
  for (int l = 0; l < kNumLabels; ++l) out[l] = 0;
  if (index_) {
    static const bool kHasPopcnt = __builtin_cpu_supports("popcnt");
    static const bool kHasAvx512 = CpuHasAvx512();
    // Rows are scattered over megabytes: find and fetch the present ones,
    // then add them in feature order (absent rows are all-zero weights, so
    // skipping them adds nothing).
    const float* rows[Featurizer::kMaxFeatures];
    for (size_t done = 0; done < n;) {
      size_t part = std::min(n - done, Featurizer::kMaxFeatures);
      size_t count = kHasAvx512 && !PortableOnly()
                         ? GatherRowsAvx512(index_, weights_, feats + done, part, rows)
                     : kHasPopcnt ? GatherRowsPopcnt(index_, weights_, feats + done, part, rows)
                                  : GatherRowsPortable(index_, weights_, feats + done, part, rows);
      done += part;
      SumRows(rows, count, out);  // in feature order, as before
    }
    return;
  }
  if (dense_.empty()) return;
  for (size_t k = 0; k < n; ++k) {
    const float* w = &dense_[size_t{feats[k]} * kNumLabels];
    for (int l = 0; l < kNumLabels; ++l) out[l] += w[l];
  }
}

Result<std::unique_ptr<NameRecognizer>> NameRecognizer::Load(const std::string& dir,
                                                             NameConventions conventions) {
  auto r = std::make_unique<NameRecognizer>();
  r->conventions_ = conventions;
  STEWARD_RETURN_IF_ERROR(
      r->gaz_.Load(dir, /*major_places=*/conventions == NameConventions::kCurrent));
  STEWARD_RETURN_IF_ERROR(r->model_.Load(dir + "/names.model"));
  return r;
}

void NameRecognizer::Decode(const NameModel& model, const Featurizer& fz, size_t n,
                            std::vector<int>* labels_io, std::vector<float>* margins_io,
                            uint64_t* scored) {
  labels_io->assign(n, kO);
  margins_io->assign(n, 0.0f);
  int* labels = labels_io->data();
  float* margins = margins_io->data();
  for (size_t i = 0; i < n;) {
    // After an O, the next token the model looks at is known in advance
    // (the tokens in between stay O).
    int prev = i > 0 ? labels[i - 1] : kO;
    if (prev == kO) {
      i = fz.NextConsideredAfterO(i);
      if (i >= n) break;
    } else if (!fz.Considered(i, prev)) {
      ++i;
      continue;
    }
    int prev2 = i > 1 ? labels[i - 2] : kO;
    ++*scored;
    uint64_t tags[Featurizer::kMaxFeatures], values[Featurizer::kMaxFeatures];
    size_t count = fz.FeatureValues(i, prev, prev2, tags, values);
    float s[kNumLabels];
    model.ScoreValues(tags, values, count, s);
    // I- labels only continue an entity of the same kind.
    if (prev != kBPer && prev != kIPer) s[kIPer] = -1e30f;
    if (prev != kBLoc && prev != kILoc) s[kILoc] = -1e30f;
    int best = kO;
    for (int l = 1; l < kNumLabels; ++l)
      if (s[l] > s[best]) best = l;
    float second = -1e30f;
    for (int l = 0; l < kNumLabels; ++l)
      if (l != best && s[l] > second) second = s[l];
    margins[i] = s[best] - second;
    labels[i] = best;
    ++i;
  }
}

namespace {

bool TokenIs(std::string_view text, const Token& t, std::string_view lower_word) {
  if (t.end - t.start != lower_word.size()) return false;
  for (size_t k = 0; k < lower_word.size(); ++k) {
    char c = text[t.start + k];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    if (c != lower_word[k]) return false;
  }
  return true;
}

bool IsPer(int l) { return l == kBPer || l == kIPer; }

// Legal-form and company words: a capitalised run that ends in one names
// an organisation.
bool IsCompanyWord(std::string_view text, const Token& t) {
  static constexpr std::string_view kWords[] = {
      "inc", "incorporated", "corp", "corporation", "ltd", "limited", "llc", "llp", "plc", "gmbh",
      "ag", "sa", "sarl", "bv", "nv", "oy", "ab", "as", "spa", "srl", "pty", "company",
      "group", "holdings", "partners", "associates", "consulting", "technologies", "agency",
      "enterprises", "industries", "solutions", "systems", "labs", "software"};
  for (std::string_view w : kWords)
    if (TokenIs(text, t, w)) return true;
  return false;
}

// Where an organisation begins in tokens [first, last]: `first` when the
// span heads a company (a company word in it, or in the capitalised run
// right after it on the same line, up to 4 tokens), the connector after
// the name when a company follows one inside the span ("Vidica Zakoč of
// Fernandez Inc" -> the "of"), SIZE_MAX when there is none.
size_t OrganisationStart(std::string_view text, std::span<const Token> tokens, size_t first,
                         size_t last) {
  for (size_t t = first + 1; t <= last; ++t) {
    if (!IsCompanyWord(text, tokens[t])) continue;
    for (size_t k = t - 1; k > first; --k) {
      unsigned char c = text[tokens[k].start];
      if (c >= 'a' && c <= 'z') return k;
    }
    return first;
  }
  for (size_t t = last + 1; t < tokens.size() && t <= last + 4 && !tokens[t].newline_before; ++t) {
    unsigned char c = text[tokens[t].start];
    if (!(c >= 'A' && c <= 'Z') && !(c >= '0' && c <= '9')) break;
    if (IsCompanyWord(text, tokens[t])) return first;
  }
  return SIZE_MAX;
}

// Street-type words of the common address formats (English, German,
// Romance, Nordic, Central European): evidence that a number before them
// is a house number, not a year or a count. (The street gazetteer holds
// every word of every street name — "Paris" from "Rue de Paris" — so it
// cannot serve here.)
bool IsStreetWord(std::string_view text, const Token& t) {
  static constexpr std::string_view kWords[] = {
      "street", "st", "road", "rd", "avenue", "ave", "av", "lane", "ln", "drive", "dr",
      "boulevard", "blvd", "way", "place", "pl", "court", "ct", "square", "sq", "terrace",
      "highway", "hwy", "parkway", "pkwy", "crescent", "close", "circle", "trail", "row",
      "strasse", "straße", "str", "weg", "gasse", "platz", "allee", "ring", "rue", "chemin",
      "via", "viale", "piazza", "corso", "calle", "camino", "avenida", "rua", "praça", "carrer",
      "straat", "laan", "plein", "gracht", "vej", "gade", "gatan", "gata", "vägen", "veien",
      "katu", "tie", "kuja", "ul", "ulica", "utca", "út", "tér", "náměstí", "trg", "cesta"};
  for (std::string_view w : kWords)
    if (TokenIs(text, t, w)) return true;
  return false;
}

}  // namespace

// Conventions the greedy decoder cannot see from its window:
//  - a middle initial between two name parts belongs to the name
//    ("Stefanía K. Oddgeirsdóttir", "Csanád P Gere");
//  - an intersection is one place, with its words: "the corner of A and B"
//    (when the model found a name or place on both sides of the "and").
void NameRecognizer::JoinNameParts(std::string_view text, std::span<const Token> tokens,
                                   const Featurizer& fz, std::vector<int>* labels_io,
                                   std::vector<float>* margins_io) {
  std::vector<int>& labels = *labels_io;
  std::vector<float>& margins = *margins_io;
  size_t n = tokens.size();
  // Most tokens are O before an O: only the words the rules below test for
  // (an honorific or greeting, "corner") can start one there; the
  // featurizer flagged the tokens whose hash may be one of them.
  static_assert(kO == 0);
  for (size_t t = 0; t + 1 < n; ++t) {
    // Eight O tokens, none a possible keyword, followed by no B-LOC skip
    // at once (read from the current labels, so labels the rules below
    // set ahead are seen).
    while (t + 9 < n) {
      const int* l = labels.data() + t;
      if ((l[0] | l[1] | l[2] | l[3] | l[4] | l[5] | l[6] | l[7] | (l[8] == kBLoc)) != 0 ||
          fz.AnyKeyword8(t))
        break;
      t += 8;
    }
    if (labels[t] == kO && labels[t + 1] != kBLoc && !fz.MaybeKeyword(t)) continue;
    // Middle initials.
    // After an honorific or a greeting comes a name ("Our landlord Mr.
    // Kuvalis", "Dr Aykaç", "Hi Victor,"), whatever the model read there
    // (a common or dictionary word is no name: "Dear Customer").
    if (labels[t] == kO && (TokenIs(text, tokens[t], "mr") || TokenIs(text, tokens[t], "mrs") ||
                            TokenIs(text, tokens[t], "ms") || TokenIs(text, tokens[t], "dr") ||
                            TokenIs(text, tokens[t], "prof") || TokenIs(text, tokens[t], "mx") ||
                            TokenIs(text, tokens[t], "hi") || TokenIs(text, tokens[t], "hello") ||
                            TokenIs(text, tokens[t], "hey") || TokenIs(text, tokens[t], "dear"))) {
      size_t k = t + 1;
      if (text[tokens[k].start] == '.' && k + 1 < n) ++k;
      constexpr uint16_t kCommon = (1u << Gazetteers::kWord) | (1u << 14);
      std::string_view word = text.substr(tokens[k].start, tokens[k].end - tokens[k].start);
      // A dictionary word that is also a given name still counts ("Victor").
      uint16_t bits = fz.GazBits(k);
      bool common = (bits >> 14 & 1) ||
                    ((bits & kCommon) && !(bits >> Gazetteers::kFirst & 1));
      if (!tokens[k].newline_before && !IsPer(labels[k]) && word.size() >= 2 &&
          IsUpperStart(word) && !common) {
        labels[k] = kBPer;
        if (margins[k] == 0) margins[k] = 1;
        for (size_t m = k + 1; m < n && labels[m] == kILoc && !tokens[m].newline_before; ++m)
          labels[m] = kIPer;
      }
    }
    // A name part glued to a name is the same name: "Garth Ferry" is one
    // person where the model began a second one at "Ferry", and "Destin
    // Barton" where it read the surname alone as a place (one capitalised
    // word, no punctuation between, not a common word).
    if (IsPer(labels[t]) && !tokens[t + 1].newline_before) {
      constexpr uint16_t kCommon = (1u << Gazetteers::kWord) | (1u << 14);
      std::string_view next = text.substr(tokens[t + 1].start, tokens[t + 1].end - tokens[t + 1].start);
      bool single_place = labels[t + 1] == kBLoc &&
                          (t + 2 >= n || labels[t + 2] != kILoc ||
                           !IsWordByte(static_cast<unsigned char>(text[tokens[t + 2].start]))) &&
                          next.size() >= 2 && IsUpperStart(next) &&
                          !(fz.GazBits(t + 1) & kCommon) &&
                          !(fz.GazBits(t + 1) >> Gazetteers::kCountry & 1);
      if (labels[t + 1] == kBPer || single_place) labels[t + 1] = kIPer;
    }
    // "First X. Last" is a name even where the model read the last part
    // as a place or nothing ("Sari J. Paavolainen", "Ján M. Novák"), unless
    // that part is a common word ("John A. Then ...").
    if (t + 2 < n && IsPer(labels[t]) && labels[t + 1] != kBPer &&
        tokens[t + 1].end - tokens[t + 1].start == 1 && text[tokens[t + 1].start] >= 'A' &&
        text[tokens[t + 1].start] <= 'Z' && !tokens[t + 1].newline_before) {
      size_t k = t + 2;
      if (text[tokens[k].start] == '.' && k + 1 < n) ++k;
      constexpr uint16_t kCommon = (1u << Gazetteers::kWord) | (1u << 14);
      std::string_view word = text.substr(tokens[k].start, tokens[k].end - tokens[k].start);
      bool last_part = labels[k] == kBPer ||
                       ((labels[k] == kO || labels[k] == kBLoc) && word.size() >= 2 &&
                        IsUpperStart(word) && !(fz.GazBits(k) & kCommon));
      if (last_part && !tokens[k].newline_before && labels[k] != kIPer) {
        for (size_t m = t + 1; m <= k; ++m) {
          labels[m] = kIPer;
          margins[m] = margins[k];
        }
      }
    }
    // A house number right before a street that carries its own number,
    // unit or street word ("28245 Puruntie 82", "462 Stubengraben 80 Apt.
    // 608", "1668 E Front Street"); a number before a bare name stays out
    // ("in 2019 Paris").
    if (labels[t] == kO && labels[t + 1] == kBLoc && !tokens[t + 1].newline_before &&
        tokens[t].end - tokens[t].start <= 6) {
      bool digits = true;
      for (size_t b = tokens[t].start; b < tokens[t].end && digits; ++b)
        digits = text[b] >= '0' && text[b] <= '9';
      bool numbered = IsStreetWord(text, tokens[t + 1]);
      for (size_t m = t + 2; digits && !numbered && m < n && labels[m] == kILoc &&
                             !tokens[m].newline_before;
           ++m)
        numbered = (text[tokens[m].start] >= '0' && text[tokens[m].start] <= '9') ||
                   IsStreetWord(text, tokens[m]);
      if (digits && numbered) {
        labels[t] = kBLoc;
        labels[t + 1] = kILoc;
        margins[t] = margins[t + 1];
      }
    }
    // A postcode after the country that ends an address line ("Belgium
    // 95287", "New Zealand 34694") is part of the address.
    // A number the model began as a place of its own right after a place
    // on the same line continues it ("Puruntie 82", "Portugal 30971").
    bool loc = labels[t] == kBLoc || labels[t] == kILoc;
    if (loc && labels[t + 1] == kBLoc && !tokens[t + 1].newline_before &&
        text[tokens[t + 1].start] >= '0' && text[tokens[t + 1].start] <= '9')
      labels[t + 1] = kILoc;
    if (loc && labels[t + 1] == kO && !tokens[t + 1].newline_before &&
        (fz.GazBits(t) >> Gazetteers::kCountry & 1)) {
      size_t len = tokens[t + 1].end - tokens[t + 1].start;
      bool digits = len >= 4 && len <= 6;
      for (size_t b = tokens[t + 1].start; b < tokens[t + 1].end && digits; ++b)
        digits = text[b] >= '0' && text[b] <= '9';
      if (digits) {
        labels[t + 1] = kILoc;
        margins[t + 1] = margins[t];
      }
    }
    // Intersections.
    if (TokenIs(text, tokens[t], "corner") && TokenIs(text, tokens[t + 1], "of")) {
      size_t a = t + 2, and_at = 0;
      bool first_named = false;
      for (size_t m = a; m < n && m < a + 8 && !tokens[m].newline_before; ++m) {
        if (TokenIs(text, tokens[m], "and")) {
          and_at = m;
          break;
        }
        first_named |= labels[m] != kO;
      }
      if (!first_named || and_at == 0 || and_at + 1 >= n || labels[and_at + 1] == kO ||
          tokens[and_at + 1].newline_before)
        continue;
      size_t end = and_at + 1;
      while (end < n && labels[end] != kO && !tokens[end].newline_before) ++end;
      size_t begin = t > 0 && TokenIs(text, tokens[t - 1], "the") ? t - 1 : t;
      float margin = margins[and_at + 1];
      for (size_t m = begin; m < end; ++m) {
        labels[m] = m == begin ? kBLoc : kILoc;
        if (margins[m] == 0) margins[m] = margin;
      }
      t = end - 1;
    }
  }
}

namespace {

// Lower-case particles that stand between the parts of a name: Dutch, German,
// Romance, Scandinavian and Arabic family-name prefixes. ("y" and "e" join
// two names as often as one name's parts, "do" is a verb: left out.)
bool IsNameParticle(std::string_view text, const Token& t) {
  static constexpr std::string_view kParticles[] = {
      "van", "von", "der", "den", "de",  "del",  "della", "dei", "degli",
      "di",  "da",  "das", "dos", "du",  "des",  "la",    "le",  "ten",
      "ter", "zu",  "af",  "av",  "bin", "bint", "ibn",   "al",  "el"};
  unsigned char c = static_cast<unsigned char>(text[t.start]);
  if (c < 'a' || c > 'z') return false;  // "Van Halen", "De Niro": the model's to read
  for (std::string_view w : kParticles)
    if (TokenIs(text, t, w)) return true;
  return false;
}

// "al-Farsi", "el-Amin", "bin-Talal": an Arabic article or kinship word
// glued to a capitalised family name (one token: the hyphen joins).
bool IsPrefixedSurname(std::string_view text, const Token& t) {
  std::string_view w = text.substr(t.start, t.end - t.start);
  for (std::string_view p : {"al-", "el-", "ad-", "ash-", "abu-", "bin-", "ibn-"}) {
    if (w.size() > p.size() + 1 && w.substr(0, p.size()) == p)
      return IsUpperStart(w.substr(p.size()));
  }
  return false;
}

// Where a multi-word place of the gazetteers (Gazetteers::kPlacePhraseBit)
// begins at a labelled token at or up to two before `t` (inside the same
// span) and ends after one to three particles right after `t` and one
// capitalised word: (first << 32) | last token; else 0.
size_t PlacePhraseEnd(std::string_view text, std::span<const Token> tokens, const Featurizer& fz,
                      const std::vector<int>& labels, size_t t) {
  const size_t n = tokens.size();
  const Gazetteers* gaz = fz.gazetteers();
  if (gaz == nullptr) return 0;
  size_t k = t + 1;
  // The particles may be O or already inside the model's span.
  while (k < n && k <= t + 3 && (labels[k] == kO || labels[k] == kIPer || labels[k] == kILoc) &&
         !tokens[k].newline_before && IsNameParticle(text, tokens[k]))
    ++k;
  if (k == t + 1 || k >= n || tokens[k].newline_before) return 0;
  if (!IsUpperStart(text.substr(tokens[k].start, tokens[k].end - tokens[k].start))) return 0;
  size_t first = t;
  while (first > 0 && first + 2 > t && (labels[first] == kIPer || labels[first] == kILoc) &&
         !tokens[first].newline_before && labels[first - 1] != kO)
    --first;
  std::string phrase;
  for (size_t from = first; from <= t; ++from) {
    phrase.clear();
    for (size_t m = from; m <= k; ++m) {
      if (!IsWordByte(static_cast<unsigned char>(text[tokens[m].start]))) return 0;
      if (!phrase.empty()) phrase += ' ';
      phrase += LowerUtf8(text.substr(tokens[m].start, tokens[m].end - tokens[m].start));
    }
    // A city's name is taken over a person the model began there only when
    // it is a region's or country's too ("Rio de Janeiro"): cities are
    // often named after people.
    const uint16_t wanted = IsPer(labels[from]) ? Gazetteers::kPlacePhraseBit
                                                : Gazetteers::kPlacePhraseBit |
                                                      Gazetteers::kCityPhraseBit;
    if (gaz->Bits(HashBytes(phrase)) & wanted) return (from << 32) | k;
  }
  return 0;
}

// Days and months: "Tell James Monday works" names no "James Monday".
bool IsCalendarWord(std::string_view text, const Token& t) {
  for (std::string_view w : {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                             "sunday", "january", "february", "march", "april", "may", "june",
                             "july", "august", "september", "october", "november", "december"})
    if (TokenIs(text, t, w)) return true;
  return false;
}

bool IsHonorific(std::string_view text, const Token& t) {
  for (std::string_view w : {"mr", "mrs", "ms", "dr", "prof", "mx"})
    if (TokenIs(text, t, w)) return true;
  return false;
}

}  // namespace

void NameRecognizer::JoinNameParticles(std::string_view text, std::span<const Token> tokens,
                                       const Featurizer& fz, std::vector<int>* labels_io,
                                       std::vector<float>* margins_io) {
  std::vector<int>& labels = *labels_io;
  std::vector<float>& margins = *margins_io;
  const size_t n = tokens.size();
  constexpr uint16_t kCommon = (1u << Gazetteers::kWord) | kCommonBit;
  for (size_t t = 0; t + 1 < n; ++t) {
    // Labels are mostly O: find the next name part first, skipping eight
    // O labels (0) at a time.
    static_assert(kO == 0 && sizeof(int) == 4);
    while (t + 1 < n && labels[t] == kO) {
      uint64_t eight[4];
      if (t + 8 < n && (std::memcpy(eight, labels.data() + t, sizeof(eight)),
                        (eight[0] | eight[1] | eight[2] | eight[3]) == 0))
        t += 8;
      else
        ++t;
    }
    if (t + 1 >= n) break;
    // "Rio de Janeiro", "Santiago de Compostela": a name or place the
    // particles and a capitalised word continue into a multi-word place of
    // the gazetteers is that place, whatever the model began at its first
    // word (it often reads "Rio" as a person).
    if (size_t end = PlacePhraseEnd(text, tokens, fz, *labels_io, t); end != 0) {
      const float margin = margins[t] != 0 ? margins[t] : 1.0f;
      size_t from = end >> 32, to = end & 0xffffffff;
      for (size_t m = from; m <= to; ++m) {
        labels[m] = m == from ? kBLoc : kILoc;
        if (margins[m] == 0) margins[m] = margin;
      }
      // A name part the model ran on with is no part of the place.
      if (to + 1 < n && labels[to + 1] == kIPer) labels[to + 1] = kBPer;
      t = to;
      continue;
    }
    if (!IsPer(labels[t])) continue;
    // A title is no part of the name ("Mrs. Okafor", "Dr Ana Torres"):
    // where the model put one in, the name begins after it (with the
    // honorific rule's test for a name: capitalised, no common word).
    if (IsHonorific(text, tokens[t])) {
      labels[t] = kO;
      size_t k = t + 1;
      if (text[tokens[k].start] == '.' && k + 1 < n) {
        labels[k] = kO;
        ++k;
      }
      std::string_view word = text.substr(tokens[k].start, tokens[k].end - tokens[k].start);
      const uint16_t bits = fz.GazBits(k);
      const bool common =
          (bits >> 14 & 1) || ((bits & kCommon) && !(bits >> Gazetteers::kFirst & 1));
      if (IsPer(labels[k]) ||
          (!tokens[k].newline_before && word.size() >= 2 && IsUpperStart(word) && !common)) {
        if (margins[k] == 0) margins[k] = margins[t];
        labels[k] = kBPer;
      }
      t = k - 1;
      continue;
    }
    // "Khalid bin Salman" where the model read only the part after the
    // particles: a given name right before them begins the name.
    if (labels[t] == kBPer && t >= 2) {
      size_t p = t;
      while (p > 0 && p + 3 > t && labels[p - 1] == kO && !tokens[p].newline_before &&
             IsNameParticle(text, tokens[p - 1]))
        --p;
      if (p < t && p > 0 && labels[p - 1] == kO && !tokens[p].newline_before) {
        const size_t g = p - 1;
        const uint16_t bits = fz.GazBits(g);
        std::string_view given = text.substr(tokens[g].start, tokens[g].end - tokens[g].start);
        if (given.size() >= 2 && IsUpperStart(given) && (bits >> Gazetteers::kFirst & 1) &&
            !(bits & (kCommon | kMajorPlaceBit))) {
          labels[g] = kBPer;
          margins[g] = margins[t];
          for (size_t m = p; m <= t; ++m) {
            labels[m] = kIPer;
            if (margins[m] == 0) margins[m] = margins[t];
          }
        }
      }
    }
    // A given name alone, then a capitalised word mid-sentence that is no
    // function word, place or calendar word: given and family name, even
    // where the family name is a dictionary word ("James Gosling", "Ann
    // Little") and the model stopped before it.
    if (labels[t] == kBPer && labels[t + 1] == kO && !tokens[t + 1].newline_before &&
        (fz.GazBits(t) >> Gazetteers::kFirst & 1) && (t == 0 || !IsPer(labels[t - 1]))) {
      std::string_view next = text.substr(tokens[t + 1].start, tokens[t + 1].end - tokens[t + 1].start);
      const uint16_t bits = fz.GazBits(t + 1);
      constexpr uint16_t kPlaces = (1u << Gazetteers::kCity) | (1u << Gazetteers::kCountry) |
                                   (1u << Gazetteers::kRegion) | kMajorPlaceBit;
      if (next.size() >= 3 && IsUpperStart(next) && next[1] >= 'a' && next[1] <= 'z' &&
          !(bits & (kCommonBit | kPlaces)) && !IsCalendarWord(text, tokens[t + 1])) {
        labels[t + 1] = kIPer;
        if (margins[t + 1] == 0) margins[t + 1] = margins[t];
        continue;
      }
    }
    // "Omar al-Farsi".
    if (!tokens[t + 1].newline_before && !IsPer(labels[t + 1]) &&
        IsPrefixedSurname(text, tokens[t + 1])) {
      labels[t + 1] = kIPer;
      if (margins[t + 1] == 0) margins[t + 1] = margins[t];
      continue;
    }
    if (t + 2 >= n) break;
    // Up to three particles ("van der", "de la", "von der"), the model's O
    // (an I-PER particle is already inside the name).
    size_t k = t + 1;
    while (k < n && k <= t + 3 && labels[k] == kO && !tokens[k].newline_before &&
           IsNameParticle(text, tokens[k]))
      ++k;
    if (k == t + 1 || k >= n || tokens[k].newline_before) continue;
    std::string_view next = text.substr(tokens[k].start, tokens[k].end - tokens[k].start);
    if (next.size() < 2 || !IsUpperStart(next)) continue;
    const uint16_t bits = fz.GazBits(k);
    const bool country = bits >> Gazetteers::kCountry & 1;
    // The part after the particles: a name the model began, or a word it
    // read as one place on its own or as nothing, that is no common word
    // ("Ludwig van Beethoven" where "Beethoven" read as a place).
    const bool lone = k + 1 >= n || (labels[k + 1] != kILoc && labels[k + 1] != kIPer) ||
                      !IsWordByte(static_cast<unsigned char>(text[tokens[k + 1].start]));
    const bool part = labels[k] == kBPer || ((labels[k] == kBLoc || labels[k] == kO) && lone &&
                                             !(bits & kCommon) && !country);
    if (!part) continue;
    // A well-known place the model read as a one-word person takes the
    // particles only when the model began a name after them too.
    if (labels[t] == kBPer && (fz.GazBits(t) & kMajorPlaceBit) && labels[k] != kBPer) continue;
    const float margin = margins[k] != 0 ? margins[k] : margins[t];
    for (size_t m = t + 1; m <= k; ++m) {
      labels[m] = kIPer;
      margins[m] = margin;
    }
    t = k - 1;
  }
}

uint64_t NameRecognizer::Recognize(std::string_view text, std::vector<Finding>* out) const {
  // Per-thread scratch: a warm recognizer allocates nothing per text.
  struct Scratch {
    Featurizer fz{nullptr};
    std::vector<int> labels;
    std::vector<float> margins;
  };
  static thread_local Scratch scratch;
  Featurizer& fz = scratch.fz;
  fz.set_gazetteers(&gaz_);
  fz.PrepareText(text);
  const std::span<const Token> tokens = fz.tokens();
  std::vector<int>& labels = scratch.labels;
  std::vector<float>& margins = scratch.margins;
  uint64_t scored = 0;
  Decode(model_, fz, tokens.size(), &labels, &margins, &scored);
  JoinNameParts(text, tokens, fz, &labels, &margins);
  const bool current = conventions_ == NameConventions::kCurrent;
  if (current) JoinNameParticles(text, tokens, fz, &labels, &margins);
  for (size_t i = 0; i < tokens.size();) {
    // Labels are kO (0) .. kILoc: skip O tokens four at a time.
    static_assert(kO == 0 && sizeof(int) == 4);
    while (i + 4 <= tokens.size()) {
      uint64_t two[2];
      std::memcpy(two, labels.data() + i, sizeof(two));
      if (two[0] | two[1]) break;
      i += 4;
    }
    if (i >= tokens.size()) break;
    int l = labels[i];
    if (l != kBPer && l != kBLoc && l != kIPer && l != kILoc) {
      ++i;
      continue;
    }
    bool per = l == kBPer || l == kIPer;
    int cont = per ? kIPer : kILoc;
    size_t j = i + 1;
    float margin_sum = margins[i];
    // True when one of tokens [from, to) is a word (begins with a letter;
    // "8211-Office" is a number with a label, not a word).
    auto has_letter = [&](size_t from, size_t to) {
      for (size_t t = from; t < to; ++t) {
        unsigned char c = text[tokens[t].start];
        if (c >= 0x80 || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')) return true;
      }
      return false;
    };
    auto digit_led = [&](size_t t) {
      return text[tokens[t].start] >= '0' && text[tokens[t].start] <= '9';
    };
    while (j < tokens.size() && labels[j] == cont) {
      // "Lyon, France" is two places: a comma ends a location span.
      if (!per && text[tokens[j].start] == ',') break;
      // One finding per line: a multi-line address is redacted line by
      // line (the layout survives), and a line of numbers only under it (a
      // phone, a postcode field) becomes a span of its own that the word
      // rule below drops.
      if (tokens[j].newline_before) break;
      margin_sum += margins[j++];
    }
    // Trailing punctuation is never part of a name span.
    size_t last = j - 1;
    while (last > i && !IsWordByte(static_cast<unsigned char>(text[tokens[last].start]))) --last;
    // A year before a place name is a date, not a house number ("in 2019
    // Paris"): a leading 4-digit year stays out unless the span carries
    // another number or a street word (then it is an address: "1987 74
    // Diakou Street").
    size_t first = i;
    if (!per && tokens[i].end - tokens[i].start == 4 && last > i) {
      int v = 0;
      for (size_t b = tokens[i].start; b < tokens[i].end; ++b)
        v = text[b] >= '0' && text[b] <= '9' ? v * 10 + (text[b] - '0') : -100000;
      bool other_number = false;  // or a street word: "1668 E Front Street"
      for (size_t t = i + 1; t <= last && !other_number; ++t)
        other_number = digit_led(t) || IsStreetWord(text, tokens[t]);
      if (v >= 1500 && v <= 2099 && !other_number) first = i + 1;
    }
    // Function words never begin or end a name ("TCP and UDP" is not
    // "and UDP"); the intersection convention puts "the corner of" in on
    // purpose, so only spans without it are trimmed.
    auto function_word = [&](size_t t) {
      unsigned char c = text[tokens[t].start];
      return c >= 'a' && c <= 'z' && (fz.GazBits(t) >> 14 & 1) &&
             !TokenIs(text, tokens[t], "the") && !TokenIs(text, tokens[t], "corner");
    };
    // A contact field label ("Tel 082 490 1693", "Mobile: 0688 ...") is
    // not part of a place: the number after it is a phone.
    auto field_label = [&](size_t t) {
      for (std::string_view w : {"tel", "telephone", "phone", "fax", "mobile", "cell", "desk",
                                 "office", "email", "mail", "website", "web"})
        if (TokenIs(text, tokens[t], w)) return true;
      return false;
    };
    // A place ends before "in" and the like: "Chicago in 1938", "Denver in
    // May" are a place and a date (place names with such words inside are
    // rare; "of", "on", "upon" are not cut).
    if (current && !per) {
      for (size_t t = first + 1; t < last; ++t) {
        if (TokenIs(text, tokens[t], "in") || TokenIs(text, tokens[t], "during") ||
            TokenIs(text, tokens[t], "since") || TokenIs(text, tokens[t], "until") ||
            TokenIs(text, tokens[t], "before") || TokenIs(text, tokens[t], "after")) {
          if (text[tokens[t].start] >= 'a') last = t - 1;  // lower case only
          break;
        }
      }
      // "Syria, Iraq and Saudi Arabia": a lower-case "and"/"or" between two
      // listed places joins two places, not one, unless the whole run is a
      // place of the gazetteers ("Bosnia and Herzegovina"). The second
      // begins a span of its own.
      bool intersection = false;  // "the corner of A and B" is one place
      for (size_t t = first; t <= last && !intersection; ++t)
        intersection = TokenIs(text, tokens[t], "corner");
      for (size_t t = first + 1; t < last && !intersection; ++t) {
        if (!(TokenIs(text, tokens[t], "and") || TokenIs(text, tokens[t], "or")) ||
            text[tokens[t].start] < 'a')
          continue;
        if (!(fz.GazBits(t - 1) & kListedPlace) || !(fz.GazBits(t + 1) & kListedPlace)) break;
        std::string phrase;
        bool words = true;
        for (size_t m = first; m <= last && words; ++m) {
          words = IsWordByte(static_cast<unsigned char>(text[tokens[m].start]));
          if (!phrase.empty()) phrase += ' ';
          phrase += LowerUtf8(text.substr(tokens[m].start, tokens[m].end - tokens[m].start));
        }
        const Gazetteers* gaz = fz.gazetteers();
        if (words && gaz != nullptr &&
            (gaz->Bits(HashBytes(phrase)) &
             (Gazetteers::kPlacePhraseBit | Gazetteers::kCityPhraseBit)))
          break;
        last = t - 1;
        j = t + 1;
        labels[j] = kBLoc;
        break;
      }
    }
    while (first < last && (function_word(first) || (!per && field_label(first)))) ++first;
    if (!per && first == last && field_label(first)) {
      i = j;
      continue;
    }
    while (last > first && function_word(last)) --last;
    // A name ends in a capitalised part: lower-case words the model ran on
    // with ("Ana Torres co-authored the paper") are not the name (a name
    // written all in lower case keeps its words).
    auto lower_led = [&](size_t t) {
      return text[tokens[t].start] >= 'a' && text[tokens[t].start] <= 'z' &&
             !IsPrefixedSurname(text, tokens[t]);  // "Omar al-Farsi"
    };
    if (current && per && !lower_led(first))
      while (last > first &&
             (lower_led(last) || !IsWordByte(static_cast<unsigned char>(text[tokens[last].start]))))
        --last;
    // A word glued to "(" is a call in code ("new Octokit({"), not a name.
    if (tokens[last].end < text.size() && text[tokens[last].end] == '(') {
      i = j;
      continue;
    }
    // A number alone is no place (a year, a count): a location needs a word.
    // A name that heads a company ("Rand Corporation", "3 Round Stones
    // Inc") is an organisation, neither person nor place; a person "of
    // Fernandez Inc." keeps the name.
    // Words of the common-word list alone ("IBAN", "New", "Python 2") or a
    // contraction ("I'm", "C'mon") name nobody.
    bool only_common = true;
    for (size_t t = first; t <= last && only_common; ++t)
      only_common = !has_letter(t, t + 1) || (fz.GazBits(t) >> 14 & 1);
    bool contraction = false;
    if (first == last) {
      std::string_view w = text.substr(tokens[first].start, tokens[first].end - tokens[first].start);
      size_t apos = w.find('\'');
      std::string_view tail = apos == std::string_view::npos ? "" : w.substr(apos + 1);
      contraction = tail == "m" || tail == "re" || tail == "ve" || tail == "ll" || tail == "d" ||
                    tail == "t" || tail == "mon";
    }
    // A lone letter ("in C", "Plan B") is an initial at most.
    bool lone_letter = first == last && tokens[first].end - tokens[first].start == 1;
    // A short all-capitals word right after a number on its line is a unit
    // ("16 GB RAM", "300 MBPS"), not a person.
    bool unit = false;
    if (current && per && first > 0 && !tokens[first].newline_before && digit_led(first - 1) &&
        tokens[first].end - tokens[first].start <= 4) {
      unit = true;
      for (size_t b = tokens[first].start; b < tokens[first].end && unit; ++b)
        unit = text[b] >= 'A' && text[b] <= 'Z';
    }
    if (only_common || contraction || lone_letter || unit) {
      i = j;
      continue;
    }
    size_t org = OrganisationStart(text, tokens, first, last);
    if (org != SIZE_MAX && org > first) {
      last = org - 1;
      while (last > first && !IsWordByte(static_cast<unsigned char>(text[tokens[last].start])))
        --last;
    }
    if ((!per && !has_letter(first, last + 1)) || org == first) {
      i = j;
      continue;
    }
    float avg = margin_sum / static_cast<float>(j - i);
    // Squash the average decision margin into a confidence in [0.5, 1).
    // Capped at 0.85 so a validated pattern (a date, an address number)
    // wins an overlap against the statistical guess.
    double score = 0.5 + 0.35 * std::tanh(static_cast<double>(avg) / 3.0);
    out->push_back({per ? "PERSON" : "LOCATION", tokens[first].start, tokens[last].end, score});
    i = j;
    // Continue a location split at a comma as a new span.
    if (!per && i < tokens.size() && text[tokens[i].start] == ',') {
      ++i;
      if (i < tokens.size() && labels[i] == kILoc) labels[i] = kBLoc;
    }
  }
  // One huge input must not leave this thread holding its scratch forever.
  if (text.size() > (size_t{1} << 20)) scratch = Scratch();
  return scored;
}

void SetNamesPortableOnly(bool portable) { g_portable_only.store(portable); }

}  // namespace steward::scan
