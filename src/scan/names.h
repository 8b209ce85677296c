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
  void Add(Kind kind, std::string_view lower_entry);

 private:
  std::unordered_map<uint64_t, uint16_t> bits_;
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
  // Per-text precomputation (lower-cased tokens and their hashes).
  void Prepare(std::string_view text, const std::vector<Token>& tokens);
  // Tokens the model looks at; all others are O. Depends only on the text.
  bool Considered(size_t i) const;
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
  // Training access.
  std::vector<float>& dense() { return dense_; }
  void SetDense(std::vector<float> w) { dense_ = std::move(w); }

 private:
  std::vector<float> dense_;  // (1<<kFeatureBits) * kNumLabels
};

class NameRecognizer {
 public:
  static Result<std::unique_ptr<NameRecognizer>> Load(const std::string& dir);
  // Appends PERSON/LOCATION findings; returns the number of tokens scored.
  uint64_t Recognize(std::string_view text, std::vector<Finding>* out) const;

  // Decodes labels for tokens (used by the trainer's evaluation too).
  static void Decode(const NameModel& model, const Featurizer& fz, size_t ntokens,
                     std::vector<int>* labels, std::vector<float>* margins, uint64_t* scored);

 private:
  Gazetteers gaz_;
  NameModel model_;
};

}  // namespace steward::scan
