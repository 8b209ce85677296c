// FROZEN REFERENCE: the names runtime as of commit 1451bf4 (before the flat
// tokenizer, word cache and merged model index), in namespace v1. Only
// names_diff_test links it, to show the current runtime finds the same
// spans. Do not edit except to keep it compiling.
#include "scan/testing/names_v1.h"

#include <emmintrin.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <fstream>
#include <sstream>

namespace steward::scan::v1 {
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

bool IsUpperStart(std::string_view t) {
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

uint8_t ShapeOf(std::string_view t) {
  if (t.empty()) return kShapeOther;
  bool digit = false, alpha = false, upper = false, lower = false, nonascii = false;
  for (unsigned char c : t) {
    if (c >= '0' && c <= '9') digit = true;
    else if (c >= 'A' && c <= 'Z') alpha = upper = true;
    else if (c >= 'a' && c <= 'z') alpha = lower = true;
    else if (c >= 0x80) nonascii = alpha = true;
  }
  if (!alpha && !digit) return kShapePunct;
  if (digit && !alpha) return kShapeDigits;
  if (digit) return kShapeMixedDigit;
  bool cap = IsUpperStart(t);
  if (cap && t.size() == 1) return kShapeInitial;
  if (cap && !lower && !nonascii) return kShapeUpper;
  if (cap) {
    // Capital followed only by lower-case (ASCII or not).
    for (size_t i = 1; i < t.size(); ++i)
      if (t[i] >= 'A' && t[i] <= 'Z') return kShapeOther;
    return kShapeCap;
  }
  if (upper) return kShapeOther;
  return kShapeLower;
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

uint64_t Mix(uint64_t a, uint64_t b) {
  uint64_t h = a ^ (b + 0x9e3779b97f4a7c15ull + (a << 6) + (a >> 2));
  return h * 0xff51afd7ed558ccdull;
}

}  // namespace

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
  std::vector<uint64_t> keys = std::move(keys_);
  std::vector<uint16_t> vals = std::move(vals_);
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

Status Gazetteers::Load(const std::string& dir) {
  id_ = ++g_gazetteer_ids;  // new contents: featurizer caches start over
  static constexpr const char* kFiles[] = {"gaz_first.txt",  "gaz_last.txt",   "gaz_city.txt",
                                           "gaz_country.txt", "gaz_region.txt", "gaz_street.txt",
                                           "gaz_words.txt",   "gaz_names.txt"};
  static constexpr Kind kKinds[] = {kFirst, kLast, kCity, kCountry, kRegion, kStreet, kWord, kName};
  static_assert(std::size(kFiles) == std::size(kKinds));
  // Whole files, then line by line (as getline splits them) through reused
  // buffers: no allocation per entry, and the table sized once.
  std::vector<std::string> contents(std::size(kFiles));
  size_t lines = 0;
  for (size_t f = 0; f < std::size(kFiles); ++f) {
    std::string path = dir + "/" + kFiles[f];
    std::ifstream in(path, std::ios::binary);
    if (!in) return NotFound("scan: cannot read " + path);
    contents[f].assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    lines += static_cast<size_t>(std::count(contents[f].begin(), contents[f].end(), '\n')) + 1;
  }
  bits_.Reserve(lines + lines / 4);  // multi-word entries add their words
  std::string lower;
  std::vector<Token> tokens;
  for (size_t f = 0; f < std::size(kFiles); ++f) {
    std::string_view rest = contents[f];
    while (!rest.empty()) {
      size_t nl = rest.find('\n');
      std::string_view line = rest.substr(0, nl);
      rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
      if (line.empty() || line[0] == '#') continue;
      AddEntry(kKinds[f], line, &lower, &tokens);
    }
    std::string().swap(contents[f]);
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

void Featurizer::Prepare(std::string_view text, const std::vector<Token>& tokens) {
  text_ = text;
  tokens_ = &tokens;
  size_t n = tokens.size();
  // One lower-casing pass over the text (LowerUtf8 keeps byte lengths), so
  // tokens are views, not allocations.
  lower_text_.assign(text);
  LowerUtf8InPlace(lower_text_);
  lower_.resize(n);
  hash_.resize(n);
  shape_.resize(n);
  gazbits_.resize(n);
  for (size_t i = 0; i < n; ++i) {
    std::string_view t = text.substr(tokens[i].start, tokens[i].end - tokens[i].start);
    shape_[i] = ShapeOf(t);
    lower_[i] = std::string_view(lower_text_).substr(tokens[i].start, tokens[i].end - tokens[i].start);
    hash_[i] = HashBytes(lower_[i]);
  }
  // Gazetteer lookups miss the cache (the table is megabytes): frequent
  // words are answered from a small per-featurizer cache of earlier
  // lookups (exact: it holds what the lookup returned, and is emptied when
  // the gazetteers change), and the rest are fetched a few tokens ahead so
  // the misses overlap.
  constexpr size_t kAhead = 8;
  auto looked_up = [&](size_t i) { return shape_[i] != kShapePunct && shape_[i] != kShapeDigits; };
  if (gaz_ && (cache_.empty() || cache_gaz_id_ != gaz_->id())) {
    cache_.assign(size_t{1} << kCacheBits, CachedBits{});
    cache_gaz_id_ = gaz_->id();
  }
  auto cached = [&](uint64_t h) -> CachedBits& {
    return cache_[(h * 0x9E3779B97F4A7C15ull) >> (64 - kCacheBits)];
  };
  auto prefetch = [&](size_t i) {
    const CachedBits& c = cached(hash_[i]);
    if (!(c.valid && c.hash == hash_[i])) gaz_->Prefetch(hash_[i]);
  };
  for (size_t i = 0; gaz_ && i < std::min(n, kAhead); ++i)
    if (looked_up(i)) prefetch(i);
  for (size_t i = 0; i < n; ++i) {
    if (gaz_ && i + kAhead < n && looked_up(i + kAhead)) prefetch(i + kAhead);
    uint16_t bits = 0;
    if (looked_up(i)) {
      if (gaz_) {
        CachedBits& c = cached(hash_[i]);
        if (c.valid && c.hash == hash_[i]) {
          gazbits_[i] = c.bits;
          continue;
        }
        bits = gaz_->Bits(hash_[i]);
        if (CommonWords().Get(hash_[i])) bits |= 1u << 14;
        c = CachedBits{hash_[i], bits, true};
      } else if (CommonWords().Get(hash_[i])) {
        bits |= 1u << 14;
      }
    }
    gazbits_[i] = bits;
  }
}

bool Featurizer::Considered(size_t i, int prev_label) const {
  uint8_t s = shape_[i];
  if (s == kShapeCap || s == kShapeUpper || s == kShapeOther || s == kShapeInitial) return true;
  const auto& toks = *tokens_;
  // After a name or place: numbers, short particles ("de", "do") and words
  // that are no common English word ("fejedelem útja") may continue it.
  // A number that begins a new line is judged by the rules below (the
  // phone or postcode line under an address is not the address).
  if (prev_label != kO && s != kShapePunct && !(s == kShapeDigits && toks[i].newline_before)) {
    constexpr uint16_t kCommon = (1u << Gazetteers::kWord) | (1u << 14);
    return s != kShapeLower || lower_[i].size() <= 3 || !(gazbits_[i] & kCommon);
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
  if (s == kShapeLower && lower_[i].size() <= 3) return i > 0 && cap(i - 1) && cap(i + 1);
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

void Featurizer::Features(size_t i, int prev, int prev2, std::vector<uint32_t>* out) const {
  out->clear();
  const auto& toks = *tokens_;
  size_t n = toks.size();
  auto add = [&](uint64_t tag, uint64_t v) { out->push_back(Feat(Mix(tag, v))); };
  auto word = [&](ptrdiff_t j) -> uint64_t {
    if (j < 0) return 0x5151;
    if (static_cast<size_t>(j) >= n) return 0x6161;
    return hash_[j];
  };
  auto shape = [&](ptrdiff_t j) -> uint64_t {
    if (j < 0 || static_cast<size_t>(j) >= n) return 99;
    return shape_[j];
  };
  auto gaz = [&](ptrdiff_t j) -> uint64_t {
    if (j < 0 || static_cast<size_t>(j) >= n) return 0xffff;
    return gazbits_[j];
  };
  ptrdiff_t k = static_cast<ptrdiff_t>(i);
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
  for (int g = 0; g < Gazetteers::kNumKinds; ++g) {
    if (gazbits_[i] & (1u << g)) add(20 + g, Mix(shape(k), prev));
  }
  bool common = gazbits_[i] & (1u << 14);
  if (common) {
    add(41, Mix(shape(k), prev));
    add(42, Mix(word(k - 1), 1));
  }
  // Acronyms and code identifiers (IBAN, ERROR, X-Api-Key, fromSet).
  add(43, Mix(shape(k), std::min<size_t>(lower_[i].size(), 6)));
  if (static_cast<size_t>(k + 1) < n) {
    char next = text_[toks[i + 1].start];
    if (next == '(' || next == '=' || next == '_' || next == ':') add(44, Mix(next, shape(k)));
  }
  if (i > 0) {
    char before = text_[toks[i - 1].start];
    if (before == '.' || before == '=' || before == '_' || before == '(' || before == '[')
      add(45, Mix(before, shape(k)));
  }
  std::string_view w = lower_[i];
  if (w.size() >= 3) {
    add(30, HashBytes(w.substr(w.size() - 3)));
    add(31, HashBytes(w.substr(0, 3)));
  }
  if (w.size() >= 2) add(32, HashBytes(w.substr(w.size() - 2)));
  add(33, std::min<size_t>(w.size(), 12));
  bool line_start = i == 0 || toks[i].newline_before;
  bool sent_start = line_start || (i > 0 && (lower_[i - 1] == "." || lower_[i - 1] == "!" ||
                                             lower_[i - 1] == "?" || lower_[i - 1] == ":" ||
                                             lower_[i - 1] == "\""));
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
  dense_.clear();
  dense_.shrink_to_fit();
  struct FileRow {
    uint32_t id;
    float w[kNumLabels];
  };
  std::vector<FileRow> rows(count);
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
  present_.assign((size_t{1} << kFeatureBits) / 64, 0);
  rank_.assign(present_.size(), 0);
  weights_.clear();
  for (size_t r = 0; r < rows.size(); ++r) {
    if (r + 1 < rows.size() && rows[r + 1].id == rows[r].id) continue;
    present_[rows[r].id >> 6] |= uint64_t{1} << (rows[r].id & 63);
    weights_.insert(weights_.end(), rows[r].w, rows[r].w + kNumLabels);
  }
  weights_.shrink_to_fit();
  uint32_t before = 0;
  for (size_t w = 0; w < present_.size(); ++w) {
    rank_[w] = before;
    before += static_cast<uint32_t>(Popcount64(present_[w]));
  }
  return Status::Ok();
}

std::vector<float>& NameModel::dense() {
  if (dense_.empty()) {
    dense_.assign((size_t{1} << kFeatureBits) * kNumLabels, 0.0f);
    for (uint32_t id = 0; !present_.empty() && id <= kFeatureMask; ++id)
      if (const float* w = Find(id))
        std::memcpy(&dense_[size_t{id} * kNumLabels], w, kNumLabels * sizeof(float));
    present_.clear();
    rank_.clear();
    weights_.clear();
  }
  return dense_;
}

Status NameModel::Save(const std::string& path) const {
  if (dense_.empty() && !present_.empty()) {
    NameModel copy = *this;
    return copy.dense(), copy.Save(path);
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Internal("scan: cannot write " + path);
  std::vector<uint32_t> ids;
  for (uint32_t id = 0; id <= kFeatureMask; ++id) {
    for (int l = 0; l < kNumLabels; ++l) {
      // Weights this small never change a decision; dropping them keeps
      // the file small.
      if (std::fabs(dense_[size_t{id} * kNumLabels + l]) >= 1e-3f) {
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
    for (int l = 0; l < kNumLabels; ++l) q[l] = dense_[size_t{id} * kNumLabels + l];
    out.write(reinterpret_cast<const char*>(&id), 4);
    out.write(reinterpret_cast<const char*>(q), sizeof(q));
  }
  return out ? Status::Ok() : Internal("scan: write failed: " + path);
}

void NameModel::Score(const std::vector<uint32_t>& feats, float out[kNumLabels]) const {
  for (int l = 0; l < kNumLabels; ++l) out[l] = 0;
  if (!present_.empty()) {
    // Rows are scattered over megabytes: fetch the present ones, then add
    // (absent rows are all-zero weights, so skipping them adds nothing).
    for (uint32_t f : feats) {
      uint64_t word = present_[f >> 6];
      uint64_t bit = uint64_t{1} << (f & 63);
      if (word & bit)
        __builtin_prefetch(&weights_[(rank_[f >> 6] + Popcount64(word & (bit - 1))) *
                                     kNumLabels]);
    }
    for (uint32_t f : feats) {
      const float* w = Find(f);
      if (!w) continue;
      for (int l = 0; l < kNumLabels; ++l) out[l] += w[l];
    }
    return;
  }
  if (dense_.empty()) return;
  for (uint32_t f : feats) {
    const float* w = &dense_[size_t{f} * kNumLabels];
    for (int l = 0; l < kNumLabels; ++l) out[l] += w[l];
  }
}

Result<std::unique_ptr<NameRecognizer>> NameRecognizer::Load(const std::string& dir) {
  auto r = std::make_unique<NameRecognizer>();
  STEWARD_RETURN_IF_ERROR(r->gaz_.Load(dir));
  STEWARD_RETURN_IF_ERROR(r->model_.Load(dir + "/names.model"));
  return r;
}

void NameRecognizer::Decode(const NameModel& model, const Featurizer& fz, size_t n,
                            std::vector<int>* labels, std::vector<float>* margins,
                            uint64_t* scored) {
  labels->assign(n, kO);
  margins->assign(n, 0.0f);
  static thread_local std::vector<uint32_t> feats;
  int prev = kO, prev2 = kO;
  for (size_t i = 0; i < n; ++i) {
    int best = kO;
    if (fz.Considered(i, prev)) {
      ++*scored;
      fz.Features(i, prev, prev2, &feats);
      float s[kNumLabels];
      model.Score(feats, s);
      // I- labels only continue an entity of the same kind.
      if (prev != kBPer && prev != kIPer) s[kIPer] = -1e30f;
      if (prev != kBLoc && prev != kILoc) s[kILoc] = -1e30f;
      for (int l = 1; l < kNumLabels; ++l)
        if (s[l] > s[best]) best = l;
      float second = -1e30f;
      for (int l = 0; l < kNumLabels; ++l)
        if (l != best && s[l] > second) second = s[l];
      (*margins)[i] = s[best] - second;
    }
    (*labels)[i] = best;
    prev2 = prev;
    prev = best;
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
size_t OrganisationStart(std::string_view text, const std::vector<Token>& tokens, size_t first,
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
void NameRecognizer::JoinNameParts(std::string_view text, const std::vector<Token>& tokens,
                                   const Featurizer& fz, std::vector<int>* labels_io,
                                   std::vector<float>* margins_io) {
  std::vector<int>& labels = *labels_io;
  std::vector<float>& margins = *margins_io;
  size_t n = tokens.size();
  for (size_t t = 0; t + 1 < n; ++t) {
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

uint64_t NameRecognizer::Recognize(std::string_view text, std::vector<Finding>* out) const {
  // Per-thread scratch: a warm recognizer allocates nothing per text.
  struct Scratch {
    std::vector<Token> tokens;
    Featurizer fz{nullptr};
    std::vector<int> labels;
    std::vector<float> margins;
  };
  static thread_local Scratch scratch;
  std::vector<Token>& tokens = scratch.tokens;
  TokenizeInto(text, &tokens);
  Featurizer& fz = scratch.fz;
  fz.set_gazetteers(&gaz_);
  fz.Prepare(text, tokens);
  std::vector<int>& labels = scratch.labels;
  std::vector<float>& margins = scratch.margins;
  uint64_t scored = 0;
  Decode(model_, fz, tokens.size(), &labels, &margins, &scored);
  JoinNameParts(text, tokens, fz, &labels, &margins);
  for (size_t i = 0; i < tokens.size();) {
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
    while (first < last && (function_word(first) || (!per && field_label(first)))) ++first;
    if (!per && first == last && field_label(first)) {
      i = j;
      continue;
    }
    while (last > first && function_word(last)) --last;
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
    if (only_common || contraction || lone_letter) {
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

}  // namespace steward::scan::v1
