// PERSON and LOCATION: a statistical token classifier (averaged perceptron
// over hashed features: word, shape, affixes, neighbours, gazetteer hits,
// previous label) with greedy left-to-right BIO decoding.
//
// Data files (in the scan data folder, produced by tools/scan/):
//   names.model          weights (binary, see docs/scan.md for the layout)
//   gaz_first.txt, gaz_last.txt, gaz_city.txt, gaz_country.txt,
//   gaz_region.txt, gaz_street.txt, gaz_words.txt (common lower-case English
//   words), gaz_names.txt (any given/family name)   one lower-case entry per line
// Training (tools/scan/train_names) uses the same Featurizer, so features at
// training and run time cannot drift apart.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "scan/finding.h"
#include "steward/status.h"

namespace steward::scan {

enum NameLabel : int { kO = 0, kBPer, kIPer, kBLoc, kILoc, kNumLabels };

// Allocator for the big tables (gazetteer words, model rows) and their
// load-time temporaries: blocks of 256 KiB or more come straight from mmap
// and go back with munmap. A general-purpose allocator such as mimalloc
// (the gateway links it) keeps freed large blocks resident, which left
// ~16 MB of load-time garbage resident; page-mapped blocks cost their size.
void* AllocatePages(size_t bytes);
void FreePages(void* p, size_t bytes);
template <class T>
struct PageAllocator {
  using value_type = T;
  PageAllocator() = default;
  template <class U>
  PageAllocator(const PageAllocator<U>&) {}
  T* allocate(size_t n) { return static_cast<T*>(AllocatePages(n * sizeof(T))); }
  void deallocate(T* p, size_t n) { FreePages(p, n * sizeof(T)); }
  template <class U>
  bool operator==(const PageAllocator<U>&) const { return true; }
};
template <class T>
using PageVector = std::vector<T, PageAllocator<T>>;

struct Token {
  size_t start = 0;
  size_t end = 0;
  bool newline_before = false;  // a line break between this and the previous token
};

// Splits text into word and punctuation tokens (bytes >= 0x80 count as
// letters, so any UTF-8 script forms words). Linear, never fails.
std::vector<Token> Tokenize(std::string_view text);
// The same, into `out` (cleared first; its capacity is reused).
void TokenizeInto(std::string_view text, std::vector<Token>* out);

// A set/map of 64-bit word hashes with 16-bit values. Built with full keys
// (open addressing in two flat arrays); Freeze() then packs it into
// 64-byte buckets of ten {32-bit fingerprint, 16-bit value} at load <= 0.8
// (~8 bytes a word instead of ~20, and one cache line per lookup instead
// of two), after checking that every member still reads its own value. A
// word that is no member reads a member's value only when its 32-bit
// fingerprint equals one in its bucket run (~1e-9 per lookup).
class WordHashTable {
 public:
  // value |= bits for `key` (inserted with 0 if new). Not after Freeze().
  void Or(uint64_t key, uint16_t bits);
  // Sizes an empty table for `n` keys (saves the rehashing while it grows).
  void Reserve(size_t n);
  // Packs the table (see above); keeps the full keys if packing would
  // change any member's value.
  void Freeze();
  uint16_t Get(uint64_t key) const {
    if (key == kEmpty) key = kZeroKey;
    if (!buckets_.empty()) {
      uint32_t fp = Fingerprint(key);
      for (size_t b = BucketOf(key);;) {
        const Bucket& bucket = buckets_[b];
        for (int k = 0; k < kBucketSlots; ++k) {
          if (bucket.fp[k] == fp) return bucket.value[k];
          if (bucket.fp[k] == 0) return 0;
        }
        if (++b == buckets_.size()) b = 0;
      }
    }
    if (keys_.empty()) return 0;
    size_t mask = keys_.size() - 1;
    for (size_t i = Slot(key) & mask;; i = (i + 1) & mask) {
      if (keys_[i] == key) return vals_[i];
      if (keys_[i] == kEmpty) return 0;
    }
  }
  // Starts loading the slot `key` hashes to (lookups miss the cache).
  void Prefetch(uint64_t key) const {
    if (key == kEmpty) key = kZeroKey;
    if (!buckets_.empty()) {
      __builtin_prefetch(&buckets_[BucketOf(key)]);
      return;
    }
    if (keys_.empty()) return;
    size_t i = Slot(key) & (keys_.size() - 1);
    __builtin_prefetch(&keys_[i]);
    __builtin_prefetch(&vals_[i]);
  }
  size_t size() const { return count_; }
  size_t bytes() const {
    return buckets_.size() * sizeof(Bucket) +
           keys_.size() * (sizeof(uint64_t) + sizeof(uint16_t));
  }

 private:
  static constexpr uint64_t kEmpty = 0;  // key 0 is stored as kZeroKey
  static constexpr uint64_t kZeroKey = 0x9e3779b97f4a7c15ull;
  static size_t Slot(uint64_t k) { return static_cast<size_t>((k ^ (k >> 31)) * 0xbf58476d1ce4e5b9ull >> 20); }
  // Packed form: fingerprint from the key's bits (0 is "empty", so 1),
  // bucket from a different mix of them, reduced to any table size.
  static uint32_t Fingerprint(uint64_t k) {
    uint32_t fp = static_cast<uint32_t>(k >> 32) ^ static_cast<uint32_t>(k);
    return fp == 0 ? 1 : fp;
  }
  size_t BucketOf(uint64_t k) const {
    uint64_t m = (k ^ (k >> 29)) * 0xbf58476d1ce4e5b9ull;
    return static_cast<size_t>(((m >> 32) * buckets_.size()) >> 32);
  }
  static constexpr int kBucketSlots = 10;
  struct alignas(64) Bucket {
    uint32_t fp[kBucketSlots] = {};  // 0: empty (slots fill from the front)
    uint16_t value[kBucketSlots] = {};
  };
  void Grow();
  PageVector<uint64_t> keys_;
  PageVector<uint16_t> vals_;
  PageVector<Bucket> buckets_;
  size_t count_ = 0;
};

class Gazetteers {
 public:
  // kName: any given or family name (a larger list without first/last roles).
  // kMajorPlace: a place most readers know (a city of 200,000 or more, a
  // capital, a country, a state or province): "Paris", "Austin", "Jordan"
  // are given names too, and alone at a sentence start they are mostly the
  // place.
  enum Kind {
    kFirst,
    kLast,
    kCity,
    kCityPart,
    kCountry,
    kRegion,
    kStreet,
    kWord,
    kName,
    kMajorPlace,
    kNumKinds
  };
  // Set on the whole lower-case phrase of a multi-word city, region or
  // country ("rio de janeiro", words joined by one space; never a token's
  // hash, tokens have no spaces), for the span rules. Not set by Load
  // without `major_places` (the frozen reference's table stays as it was).
  static constexpr uint16_t kPlacePhraseBit = 1u << 13;  // a region or country
  // The same for a multi-word city: many are named after a person ("Charles
  // de Gaulle", "Benito Juárez"), so this is weaker evidence.
  static constexpr uint16_t kCityPhraseBit = 1u << 12;
  Gazetteers();
  // Loads gaz_*.txt from `dir`; missing files are errors. Without
  // `major_places`, gaz_major.txt is not read (the frozen reference's lists).
  Status Load(const std::string& dir, bool major_places = true);
  // Differs between gazetteer objects and after every change of contents
  // (what a cache of lookups is keyed by).
  uint64_t id() const { return id_; }
  bool Has(Kind kind, uint64_t lower_hash) const;
  // Bit k set when the word is in list k (one lookup for all lists).
  uint16_t Bits(uint64_t lower_hash) const;
  void Prefetch(uint64_t lower_hash) const;
  void Add(Kind kind, std::string_view lower_entry);

 private:
  void AddEntry(Kind kind, std::string_view entry, std::string* lower_buf,
                std::vector<Token>* toks_buf);
  WordHashTable bits_;
  uint64_t id_ = 0;
  bool place_phrases_ = true;
};

// Lower-cases ASCII and Latin-1 letters of UTF-8 text.
std::string LowerUtf8(std::string_view s);
uint64_t HashBytes(std::string_view s, uint64_t seed = 1469598103934665603ull);

// Set bits of `x`, without a libgcc call (the build targets baseline
// x86-64, which has no popcnt instruction).
inline int Popcount64(uint64_t x) {
  x = x - ((x >> 1) & 0x5555555555555555ull);
  x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
  x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
  return static_cast<int>((x * 0x0101010101010101ull) >> 56);
}

// Where the CPU has AVX-512 the tokenizer, the byte classes, feature ids
// and model row lookups run vector code with the same results as the
// portable code; tests compare the two by switching to the portable one.
void SetNamesPortableOnly(bool portable);

constexpr int kFeatureBits = 20;
constexpr uint32_t kFeatureMask = (1u << kFeatureBits) - 1;

// Computes the hashed feature ids of token `i` given the previous label.
class Featurizer {
 public:
  // Features one token can have (Features() writes at most this many).
  static constexpr size_t kMaxFeatures = 64;

  explicit Featurizer(const Gazetteers* gaz) : gaz_(gaz) {}
  void set_gazetteers(const Gazetteers* gaz) { gaz_ = gaz; }
  // Tokenizes `text` (exactly as TokenizeInto) and prepares it: one pass
  // of byte-class masks serves the tokens, their shapes and newlines.
  void PrepareText(std::string_view text);
  // Per-text precomputation for tokens of `text` made elsewhere (the
  // trainer's); `tokens` must outlive the featurizer's use.
  void Prepare(std::string_view text, const std::vector<Token>& tokens);
  std::span<const Token> tokens() const { return {toks_, ntokens_}; }
  // Tokens the model looks at; all others are O. Depends on the text and
  // the label just decided for the previous token: a word right after a
  // name or place is scored too, so lower-case and numeric parts of an
  // address ("Árpád fejedelem útja 62", "Tujetsch\n nan\n 7188") can
  // continue it.
  bool Considered(size_t i, int prev_label) const;
  // The next token at or after `i` that Considered(., kO) accepts (the
  // size when none): a decoder skips the O run before it.
  size_t NextConsideredAfterO(size_t i) const;
  void Features(size_t i, int prev_label, int prev2_label, std::vector<uint32_t>* out) const;
  // The (tag, value) pairs the ids are hashed from (kMaxFeatures each);
  // returns how many. NameModel::ScoreValues takes them directly.
  size_t FeatureValues(size_t i, int prev_label, int prev2_label, uint64_t* tags,
                       uint64_t* values) const;
  // The same into `out` (kMaxFeatures ids); returns how many.
  size_t Features(size_t i, int prev_label, int prev2_label, uint32_t* out) const;
  // Gazetteer membership of token i (bit k: list Gazetteers::Kind k).
  uint16_t GazBits(size_t i) const { return gazbits_[i]; }
  const Gazetteers* gazetteers() const { return gaz_; }
  // Hash of token i lower-cased (HashBytes(LowerUtf8(token))).
  uint64_t WordHash(size_t i) const { return HashOf(i); }
  // False when token i is surely none of the words JoinNameParts looks for
  // at an O token (an honorific, a greeting, "corner").
  static constexpr uint8_t kKeywordClass = 128;
  bool MaybeKeyword(size_t i) const { return classes_[i + 2] & kKeywordClass; }
  // MaybeKeyword of any of tokens i..i+7 (all must exist).
  bool AnyKeyword8(size_t i) const {
    uint64_t v;
    std::memcpy(&v, classes_.data() + i + 2, 8);
    return (v & 0x8080808080808080ull * (kKeywordClass >> 7)) != 0;
  }

 private:
  // Byte classes of 64 text bytes, one bit per byte (a cache line).
  struct MaskWord {
    uint64_t upper, lower, digit, high;  // A-Z, a-z, 0-9, >= 0x80
    uint64_t space, newline, joiner;     // \t\n\v\f\r and ' ', \n, ' and -
    uint64_t in_word;                    // bytes inside word tokens
  };
  void BuildMasks(std::string_view text);
  void TokenizeFromMasks();
  // The token loop of TokenizeFromMasks, portable and AVX-512 (eight
  // tokens' shapes and classes at a time; the same results): fill the
  // per-token arrays and the word list, return the token count.
  size_t TokenizeScalar(size_t* nwords);
  size_t TokenizeAvx512(size_t* nwords);
  // Writes token `count` (shape and class from its bytes) the way both
  // loops do for the tokens they hand to the byte-by-byte reading.
  void EmitSlow(size_t count, size_t* nwords, size_t s, size_t e, bool newline);
  bool NewlineBetween(size_t from, size_t to) const {
    return to - from <= 64 ? MaskBits(&MaskWord::newline, from, to - from) != 0
                           : AnyBit(&MaskWord::newline, from, to);
  }
  void StartText();
  // Sizes the per-token arrays for up to `n` tokens (they only grow).
  void ReserveTokens(size_t n);
  static constexpr size_t kTokenPadding = 80;
  // Hash, gazetteer bits and keyword class of token i when it is a word
  // (not punctuation or digits); records the word-cache misses.
  uint8_t Probe(size_t i, size_t start, size_t len);
  // Token i's word hash: digit and punctuation tokens are hashed only when
  // a feature asks (they have no gazetteer bits and no keyword, and most
  // are never a neighbour of a scored token); words have it stored.
  uint64_t HashOf(size_t i) const {
    return shape_[i] == kDigitsShape || shape_[i] == kPunctShape ? LazyHash(i) : hash_[i];
  }
  uint64_t LazyHash(size_t i) const;

 public:
  static constexpr uint8_t kDigitsShape = 3;  // kShapeDigits in names.cc
  static constexpr uint8_t kPunctShape = 5;   // kShapePunct

 private:
  void FinishTokens();
  uint8_t ShapeFromBits(size_t start, size_t len, uint64_t up, uint64_t lo, uint64_t dg,
                        uint64_t hi) const;
  uint8_t ShapeAt(size_t start, size_t len) const;
  bool ConsideredImpl(size_t i, int prev_label) const;
  // Bits of `field` for bytes [start, start + len), len <= 64.
  uint64_t MaskBits(uint64_t MaskWord::*field, size_t start, size_t len) const;
  bool AnyBit(uint64_t MaskWord::*field, size_t start, size_t end) const;

  const Gazetteers* gaz_;
  std::string_view text_;
  // The tokens (PrepareText's own, or the caller's for Prepare). The
  // per-token arrays below are grow-only buffers of at least ntokens_
  // (+ zero padding) entries, written through pointers as tokens are made.
  const Token* toks_ = nullptr;
  size_t ntokens_ = 0;
  std::unique_ptr<Token[]> own_tokens_;  // PrepareText's tokens
  size_t own_capacity_ = 0;
  std::vector<uint32_t> words_;         // tokens that are words (probed), in order
  std::vector<MaskWord> masks_;         // one per 64 text bytes, plus a zero one
  std::string lower_text_;              // the whole text lower-cased, 16 zero bytes after it
  std::vector<uint64_t> hash_;
  std::vector<uint8_t> shape_;  // see kShape* in names.cc
  std::vector<uint16_t> gazbits_;
  std::vector<uint8_t> static_considered_;  // Considered(i, kO), with a 1 after the end
  std::vector<uint8_t> classes_;            // per token: capitalised, digits, initial
  std::vector<uint32_t> misses_;            // tokens the word cache did not answer
  // Recent words (lower-cased bytes, up to 16) -> their hash and gazetteer
  // bits incl. the common-word bit, direct-mapped; exact (the whole key is
  // compared) and for the gazetteers with id cache_gaz_id_.
  struct alignas(32) CachedWord {
    uint64_t key[2] = {0, 0};
    uint64_t hash = 0;
    uint16_t bits = 0;
    uint8_t len = 0;  // 0: empty
    uint8_t keyword = 0;  // the token class bit Featurizer::MaybeKeyword reads
  };
  static constexpr int kCacheBits = 12;
  std::vector<CachedWord> cache_;
  uint64_t cache_gaz_id_ = ~uint64_t{0};
};

// Sparse weights: feature id -> kNumLabels floats.
class NameModel {
 public:
  Status Load(const std::string& path);
  Status Save(const std::string& path) const;
  void Score(const std::vector<uint32_t>& feats, float out[kNumLabels]) const {
    Score(feats.data(), feats.size(), out);
  }
  void Score(const uint32_t* feats, size_t n, float out[kNumLabels]) const;
  // The same for features given as Featurizer::FeatureValues pairs (the
  // ids hashed on the way to the rows, not stored and reloaded).
  void ScoreValues(const uint64_t* tags, const uint64_t* values, size_t n,
                   float out[kNumLabels]) const;
  // Training access (a loaded model is compact; dense() expands it).
  std::vector<float>& dense();
  void SetDense(std::vector<float> w) {
    dense_ = std::move(w);
    arena_.reset();
    index_ = nullptr;
    weights_ = nullptr;
    arena_bytes_ = 0;
  }
  // Bytes the weights take in memory.
  size_t bytes() const { return dense_.size() * sizeof(float) + arena_bytes_; }

  // A loaded model keeps only its non-zero rows, packed in feature-id
  // order (kNumLabels floats each); a bitmap of the ids that have a row,
  // with a running count per 64-bit word, gives a row's index (2.9 MB for
  // ~140K rows instead of a 6 MB hash table, and an absent feature costs
  // one bit test instead of a probe). Each bitmap word sits next to its
  // count (one cache line answers both), and index and rows share one
  // allocation.
  struct IndexWord {
    uint64_t present;  // bit per feature id
    uint32_t rank;     // rows before this word
    uint32_t unused;
  };

 private:
  const float* Find(uint32_t id) const {
    const IndexWord& w = index_[id >> 6];
    uint64_t bit = uint64_t{1} << (id & 63);
    if (!(w.present & bit)) return nullptr;
    size_t row = w.rank + static_cast<size_t>(Popcount64(w.present & (bit - 1)));
    return &weights_[row * kNumLabels];
  }
  std::vector<float> dense_;  // training: (1<<kFeatureBits) * kNumLabels
  struct PagesDeleter {
    PagesDeleter() : bytes(0) {}
    explicit PagesDeleter(size_t n) : bytes(n) {}
    void operator()(uint64_t* p) const { FreePages(p, bytes); }
    size_t bytes;
  };
  std::unique_ptr<uint64_t[], PagesDeleter> arena_;  // loaded: index, then rows
  size_t arena_bytes_ = 0;
  const IndexWord* index_ = nullptr;
  const float* weights_ = nullptr;
};

// What the recognizer applies around the model. kFrozenReference reads the
// gazetteers and applies the span conventions of testing/names_v1 (no
// major-place list, no name particles, no trimmed "in 1938"), so that
// scan_names_diff_test can hold the optimized runtime to that reference
// with the same model file; everything else uses kCurrent.
enum class NameConventions { kCurrent, kFrozenReference };

class NameRecognizer {
 public:
  static Result<std::unique_ptr<NameRecognizer>> Load(
      const std::string& dir, NameConventions conventions = NameConventions::kCurrent);
  // Appends PERSON/LOCATION findings; returns the number of tokens scored.
  uint64_t Recognize(std::string_view text, std::vector<Finding>* out) const;

  // Decodes labels for tokens (used by the trainer's evaluation too).
  static void Decode(const NameModel& model, const Featurizer& fz, size_t ntokens,
                     std::vector<int>* labels, std::vector<float>* margins, uint64_t* scored);
  // Span conventions applied to decoded labels (middle initials join a
  // name, "the corner of A and B" is one place).
  static void JoinNameParts(std::string_view text, std::span<const Token> tokens,
                            const Featurizer& fz, std::vector<int>* labels,
                            std::vector<float>* margins);
  // Lower-case particles between two name parts belong to the name ("Guido
  // van Rossum", "Juan de la Cruz", "Khalid bin Salman"), whatever the model
  // read the part after them as (a second person, a lone place, nothing),
  // unless that part is a common word or a country. A person or place whose
  // words with the particles and the part after them are a multi-word place
  // of the gazetteers is that place ("Rio de Janeiro"); a well-known place
  // read as a one-word person takes no particles unless the model began a
  // name after them.
  static void JoinNameParticles(std::string_view text, std::span<const Token> tokens,
                                const Featurizer& fz, std::vector<int>* labels,
                                std::vector<float>* margins);

 private:
  Gazetteers gaz_;
  NameModel model_;
  NameConventions conventions_ = NameConventions::kCurrent;
};

}  // namespace steward::scan
