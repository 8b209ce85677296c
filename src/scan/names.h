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
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "scan/finding.h"
#include "steward/status.h"

namespace steward::scan {

enum NameLabel : int { kO = 0, kBPer, kIPer, kBLoc, kILoc, kNumLabels };

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

// A set/map of 64-bit word hashes with 16-bit values: open addressing in
// two flat arrays (about 10 bytes a word instead of ~40 for a node-based
// map, and one cache line per lookup).
class WordHashTable {
 public:
  // value |= bits for `key` (inserted with 0 if new).
  void Or(uint64_t key, uint16_t bits);
  uint16_t Get(uint64_t key) const {
    if (keys_.empty()) return 0;
    if (key == kEmpty) key = kZeroKey;
    size_t mask = keys_.size() - 1;
    for (size_t i = Slot(key) & mask;; i = (i + 1) & mask) {
      if (keys_[i] == key) return vals_[i];
      if (keys_[i] == kEmpty) return 0;
    }
  }
  // Starts loading the slot `key` hashes to (lookups miss the cache).
  void Prefetch(uint64_t key) const {
    if (keys_.empty()) return;
    if (key == kEmpty) key = kZeroKey;
    size_t i = Slot(key) & (keys_.size() - 1);
    __builtin_prefetch(&keys_[i]);
    __builtin_prefetch(&vals_[i]);
  }
  size_t size() const { return count_; }
  size_t bytes() const { return keys_.size() * (sizeof(uint64_t) + sizeof(uint16_t)); }

 private:
  static constexpr uint64_t kEmpty = 0;  // key 0 is stored as kZeroKey
  static constexpr uint64_t kZeroKey = 0x9e3779b97f4a7c15ull;
  static size_t Slot(uint64_t k) { return static_cast<size_t>((k ^ (k >> 31)) * 0xbf58476d1ce4e5b9ull >> 20); }
  void Grow();
  std::vector<uint64_t> keys_;
  std::vector<uint16_t> vals_;
  size_t count_ = 0;
};

class Gazetteers {
 public:
  // kName: any given or family name (a larger list without first/last roles).
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
    kNumKinds
  };
  // Loads gaz_*.txt from `dir`; missing files are errors.
  Status Load(const std::string& dir);
  bool Has(Kind kind, uint64_t lower_hash) const;
  // Bit k set when the word is in list k (one lookup for all lists).
  uint16_t Bits(uint64_t lower_hash) const;
  void Prefetch(uint64_t lower_hash) const;
  void Add(Kind kind, std::string_view lower_entry);

 private:
  WordHashTable bits_;
};

// Lower-cases ASCII and Latin-1 letters of UTF-8 text.
std::string LowerUtf8(std::string_view s);
uint64_t HashBytes(std::string_view s, uint64_t seed = 1469598103934665603ull);

constexpr int kFeatureBits = 20;
constexpr uint32_t kFeatureMask = (1u << kFeatureBits) - 1;

// Computes the hashed feature ids of token `i` given the previous label.
class Featurizer {
 public:
  explicit Featurizer(const Gazetteers* gaz) : gaz_(gaz) {}
  void set_gazetteers(const Gazetteers* gaz) { gaz_ = gaz; }
  // Per-text precomputation (lower-cased tokens and their hashes).
  void Prepare(std::string_view text, const std::vector<Token>& tokens);
  // Tokens the model looks at; all others are O. Depends on the text and
  // the label just decided for the previous token: a word right after a
  // name or place is scored too, so lower-case and numeric parts of an
  // address ("Árpád fejedelem útja 62", "Tujetsch\n nan\n 7188") can
  // continue it.
  bool Considered(size_t i, int prev_label) const;
  void Features(size_t i, int prev_label, int prev2_label, std::vector<uint32_t>* out) const;

 private:
  const Gazetteers* gaz_;
  std::string_view text_;
  const std::vector<Token>* tokens_ = nullptr;
  std::string lower_text_;              // the whole text lower-cased (same length)
  std::vector<std::string_view> lower_;  // per token, views into lower_text_
  std::vector<uint64_t> hash_;
  std::vector<uint8_t> shape_;  // see kShape* in names.cc
  std::vector<uint16_t> gazbits_;
};

// Sparse weights: feature id -> kNumLabels floats.
class NameModel {
 public:
  Status Load(const std::string& path);
  Status Save(const std::string& path) const;
  void Score(const std::vector<uint32_t>& feats, float out[kNumLabels]) const;
  // Training access (a loaded model is compact; dense() expands it).
  std::vector<float>& dense();
  void SetDense(std::vector<float> w) {
    dense_ = std::move(w);
    rows_.clear();
  }
  // Bytes the weights take in memory.
  size_t bytes() const {
    return dense_.size() * sizeof(float) + rows_.size() * sizeof(Row);
  }

 private:
  // A loaded model keeps only its non-zero rows, in an open-addressing
  // table keyed by feature id (a few MB instead of the 20 MB dense array).
  struct Row {
    uint32_t id_plus1 = 0;  // 0: empty
    float w[kNumLabels];
  };
  const float* Find(uint32_t id) const {
    size_t mask = rows_.size() - 1;
    for (size_t i = (id * 0x9E3779B1u) & mask;; i = (i + 1) & mask) {
      if (rows_[i].id_plus1 == id + 1) return rows_[i].w;
      if (rows_[i].id_plus1 == 0) return nullptr;
    }
  }
  std::vector<float> dense_;  // training: (1<<kFeatureBits) * kNumLabels
  std::vector<Row> rows_;     // loaded: power-of-two table
};

class NameRecognizer {
 public:
  static Result<std::unique_ptr<NameRecognizer>> Load(const std::string& dir);
  // Appends PERSON/LOCATION findings; returns the number of tokens scored.
  uint64_t Recognize(std::string_view text, std::vector<Finding>* out) const;

  // Decodes labels for tokens (used by the trainer's evaluation too).
  static void Decode(const NameModel& model, const Featurizer& fz, size_t ntokens,
                     std::vector<int>* labels, std::vector<float>* margins, uint64_t* scored);
  // Span conventions applied to decoded labels (middle initials join a
  // name, "the corner of A and B" is one place).
  static void JoinNameParts(std::string_view text, const std::vector<Token>& tokens,
                            std::vector<int>* labels, std::vector<float>* margins);

 private:
  Gazetteers gaz_;
  NameModel model_;
};

}  // namespace steward::scan
