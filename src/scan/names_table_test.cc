// The names recognizer's packed tables: a frozen word table reads every
// member's value and nothing for other words; a loaded model (bitmap-ranked
// rows) scores exactly like the dense weights it was saved from.
#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "scan/names.h"

namespace steward::scan {
namespace {

TEST(WordHashTable, FrozenTableReadsMembersAndNothingElse) {
  std::mt19937_64 rng(11);
  std::unordered_map<uint64_t, uint16_t> members;
  WordHashTable t;
  for (int i = 0; i < 50000; ++i) {
    uint64_t key = rng();
    if (i == 0) key = 0;  // the "empty" key is a word too
    uint16_t bits = static_cast<uint16_t>(1u << (rng() % 15));
    t.Or(key, bits);
    members[key] |= bits;
  }
  size_t unpacked_bytes = t.bytes();
  t.Freeze();
  EXPECT_LT(t.bytes(), unpacked_bytes / 2);
  for (const auto& [key, bits] : members) ASSERT_EQ(t.Get(key), bits) << key;
  size_t false_hits = 0;
  for (int i = 0; i < 200000; ++i) {
    uint64_t key = rng();
    if (!members.count(key)) false_hits += t.Get(key) != 0;
  }
  EXPECT_EQ(false_hits, 0u);
}

TEST(NameModel, LoadedRowsScoreLikeDenseWeights) {
  std::mt19937 rng(5);
  std::vector<float> dense((size_t{1} << kFeatureBits) * kNumLabels, 0.0f);
  std::vector<uint32_t> used;
  for (int i = 0; i < 3000; ++i) {
    uint32_t id = rng() & kFeatureMask;
    if (i < 2) id = i == 0 ? 0 : kFeatureMask;  // both ends of the id range
    used.push_back(id);
    for (int l = 0; l < kNumLabels; ++l)
      dense[size_t{id} * kNumLabels + l] = static_cast<float>(rng() % 2001) / 100.0f - 10.0f;
  }
  NameModel trained;
  trained.SetDense(dense);
  std::string path = ::testing::TempDir() + "names_table_test.model";
  ASSERT_TRUE(trained.Save(path).ok());
  NameModel loaded;
  ASSERT_TRUE(loaded.Load(path).ok());
  std::remove(path.c_str());
  EXPECT_LT(loaded.bytes(), size_t{1} << 20);
  for (int trial = 0; trial < 4000; ++trial) {
    // Both row lookups: the AVX-512 one (where the CPU has it) and the
    // portable one; 1..70 features (partial vectors, more than one batch).
    SetNamesPortableOnly(trial % 2 == 1);
    std::vector<uint32_t> feats;
    for (int k = 0, n = 1 + trial % 70; k < n; ++k)
      feats.push_back(k % 2 ? used[rng() % used.size()] : (rng() & kFeatureMask));
    float a[kNumLabels], b[kNumLabels];
    trained.Score(feats, a);
    loaded.Score(feats, b);
    for (int l = 0; l < kNumLabels; ++l) ASSERT_EQ(a[l], b[l]) << trial;
  }
  SetNamesPortableOnly(false);
}

}  // namespace
}  // namespace steward::scan

namespace steward::scan {
namespace {

// The byte-at-a-time lower-casing LowerUtf8 had before its 16-byte ASCII
// path: the reference the fast one must equal.
std::string ReferenceLower(std::string out) {
  for (size_t i = 0; i < out.size(); ++i) {
    unsigned char c = out[i];
    if (c >= 'A' && c <= 'Z') {
      out[i] = static_cast<char>(c + 32);
    } else if (c == 0xC3 && i + 1 < out.size()) {
      unsigned char d = out[i + 1];
      if (d >= 0x80 && d <= 0x9E && d != 0x97) out[i + 1] = static_cast<char>(d + 0x20);
      ++i;
    } else if (c == 0xD0 && i + 1 < out.size()) {
      unsigned char d = out[i + 1];
      if (d >= 0x90 && d <= 0x9F)
        out[i + 1] = static_cast<char>(d + 0x20);
      else if (d >= 0xA0 && d <= 0xAF) {
        out[i] = static_cast<char>(0xD1);
        out[i + 1] = static_cast<char>(d - 0x20);
      }
      ++i;
    } else if (c == 0xCE && i + 1 < out.size()) {
      unsigned char d = out[i + 1];
      if (d >= 0x91 && d <= 0x9F)
        out[i + 1] = static_cast<char>(d + 0x20);
      else if (d >= 0xA0 && d <= 0xA9) {
        out[i] = static_cast<char>(0xCF);
        out[i + 1] = static_cast<char>(d - 0x20);
      }
      ++i;
    }
  }
  return out;
}

TEST(LowerUtf8, SixteenByteAsciiPathEqualsByteLoop) {
  std::mt19937 rng(3);
  const std::string bytes = "AZaz09 _.@[`{\x7f\xc3\xd0\xce\x80\x90\x97\x9e\x9f\xa0\xa9\xaf\xbf";
  for (int i = 0; i < 20000; ++i) {
    std::string s;
    size_t n = rng() % 70;
    bool ascii = rng() % 2;
    for (size_t k = 0; k < n; ++k) {
      char c = bytes[rng() % bytes.size()];
      s.push_back(ascii && static_cast<unsigned char>(c) >= 0x80 ? 'Q' : c);
    }
    ASSERT_EQ(LowerUtf8(s), ReferenceLower(s)) << i;
  }
}

}  // namespace
}  // namespace steward::scan

namespace steward::scan {
namespace {

// Everything the featurizer hands the model for `text`: tokens, hashes,
// gazetteer bits, keyword flags, which tokens are looked at, and the
// feature ids under a few previous labels.
std::vector<uint64_t> FeaturizerView(Featurizer& fz, const std::string& text) {
  fz.PrepareText(text);
  std::vector<uint64_t> v;
  std::vector<uint32_t> feats;
  const auto tokens = fz.tokens();
  v.push_back(tokens.size());
  for (size_t i = 0; i < tokens.size(); ++i) {
    v.insert(v.end(),
             {tokens[i].start, tokens[i].end, uint64_t{tokens[i].newline_before}, fz.WordHash(i),
              fz.GazBits(i), uint64_t{fz.MaybeKeyword(i)}, uint64_t{fz.Considered(i, kO)},
              uint64_t{fz.Considered(i, kBPer)}, fz.NextConsideredAfterO(i)});
    for (auto [prev, prev2] : {std::pair{kO, kO}, {kBPer, kO}, {kILoc, kBLoc}}) {
      fz.Features(i, prev, prev2, &feats);
      v.push_back(feats.size());
      v.insert(v.end(), feats.begin(), feats.end());
    }
  }
  return v;
}

TEST(Featurizer, VectorPathsEqualPortable) {
  // Words crossing 64-byte blocks, words longer than a block, punctuation
  // runs, line breaks, UTF-8 capitals and invalid bytes, joiners at edges.
  Gazetteers gaz;
  for (const char* w : {"paris", "maria", "garcia", "berlin", "street", "the", "of"})
    gaz.Add(Gazetteers::kCity, w);
  gaz.Add(Gazetteers::kFirst, "maria");
  gaz.Add(Gazetteers::kWord, "the");
  // clang-format off
  const std::vector<std::string> pieces = {
      "Maria", "Garcia", "paris", "Berlin", "the", "of", "Mr", "hi", "dear", "corner", "St.",
      "12", "2019", "a1b2", "McDonald", "IBAN", "A", "O'Brien", "Mayo-Walters", "-x", "x-",
      "\xC3\x89mile", "\xD0\x9F\xD0\xB5\xD1\x82\xD1\x80", "\xCE\x91\xCE\xB8", "\xC3", "\xFF",
      std::string(70, 'a'), std::string(130, 'Z'), std::string(65, '7'), "...", ",", "(", ")",
      "\"", "'"};
  // clang-format on
  const char* seps[] = {" ", " ", "  ", "\n", "\n\n", "\t", "", ", ", ". ", "\r\n"};
  const std::string wide_gap = std::string(40, ' ') + "\n" + std::string(40, ' ');
  std::mt19937 rng(17);
  Featurizer vec(&gaz), portable(&gaz);
  for (int n = 0; n < 3000; ++n) {
    std::string t;
    size_t len = rng() % 700;
    while (t.size() < len) {
      t += pieces[rng() % pieces.size()];
      size_t k = rng() % (std::size(seps) + 1);
      t += k == std::size(seps) ? wide_gap : std::string(seps[k]);
    }
    if (rng() % 4 == 0) t.resize(rng() % (t.size() + 1));  // cut anywhere, mid-character too
    SetNamesPortableOnly(false);
    std::vector<uint64_t> a = FeaturizerView(vec, t);
    SetNamesPortableOnly(true);
    std::vector<uint64_t> b = FeaturizerView(portable, t);
    SetNamesPortableOnly(false);
    ASSERT_EQ(a, b) << "text " << n << ": " << t;
  }
}

// JoinNameParticles on labels as a model might leave them: "Name" is B-PER,
// "Name+" I-PER, "Loc" B-LOC, "Loc+" I-LOC, anything else O. Returns the
// labels after the convention, in the same notation.
std::string JoinParticles(const Gazetteers& gaz, const std::string& text,
                          const std::vector<std::string>& model_labels) {
  Featurizer fz(&gaz);
  fz.PrepareText(text);
  std::span<const Token> tokens = fz.tokens();
  EXPECT_EQ(tokens.size(), model_labels.size()) << text;
  std::vector<int> labels(tokens.size(), kO);
  std::vector<float> margins(tokens.size(), 0.0f);
  const std::pair<const char*, int> kNames[] = {
      {"Name", kBPer}, {"Name+", kIPer}, {"Loc", kBLoc}, {"Loc+", kILoc}};
  for (size_t i = 0; i < tokens.size() && i < model_labels.size(); ++i) {
    for (auto [name, label] : kNames)
      if (model_labels[i] == name) labels[i] = label;
    margins[i] = labels[i] == kO ? 0.0f : 2.0f;
  }
  NameRecognizer::JoinNameParticles(text, tokens, fz, &labels, &margins);
  std::string out;
  for (int l : labels) {
    const char* name = "O";
    for (auto [n, label] : kNames)
      if (l == label) name = n;
    out += std::string(out.empty() ? "" : " ") + name;
  }
  return out;
}

TEST(JoinNameParticles, ParticlesBetweenNamePartsJoinTheName) {
  Gazetteers gaz;
  gaz.Add(Gazetteers::kCountry, "france");
  gaz.Add(Gazetteers::kWord, "table");
  // The part after the particles began as a second person, a lone place or nothing.
  EXPECT_EQ(JoinParticles(gaz, "Guido van Rossum created", {"Name", "O", "Name", "O"}),
            "Name Name+ Name+ O");
  EXPECT_EQ(JoinParticles(gaz, "Ludwig van Beethoven was", {"Name", "O", "Loc", "O"}),
            "Name Name+ Name+ O");
  EXPECT_EQ(JoinParticles(gaz, "for Juan de la Cruz today", {"O", "Name", "O", "O", "O", "O"}),
            "O Name Name+ Name+ Name+ O");
  EXPECT_EQ(JoinParticles(gaz, "Ursula von der Leyen said", {"Name", "O", "O", "Name", "O"}),
            "Name Name+ Name+ Name+ O");
  EXPECT_EQ(JoinParticles(gaz, "Khalid bin Salman starts", {"Name", "O", "Loc", "O"}),
            "Name Name+ Name+ O");
  // An article glued to the family name.
  EXPECT_EQ(JoinParticles(gaz, "for Omar al-Farsi at", {"O", "Name", "O", "O"}), "O Name Name+ O");
}

TEST(JoinNameParticles, NoJoinWithoutANamePartAfterTheParticles) {
  Gazetteers gaz;
  gaz.Add(Gazetteers::kCountry, "france");
  gaz.Add(Gazetteers::kWord, "table");
  // A country, a common word, a lower-case word, a second line, a place of
  // more than one word, more than three particles, a capitalised particle.
  EXPECT_EQ(JoinParticles(gaz, "Anna de France wrote", {"Name", "O", "Loc", "O"}), "Name O Loc O");
  EXPECT_EQ(JoinParticles(gaz, "Anna de Table wrote", {"Name", "O", "O", "O"}), "Name O O O");
  EXPECT_EQ(JoinParticles(gaz, "Anna de la casa", {"Name", "O", "O", "O"}), "Name O O O");
  EXPECT_EQ(JoinParticles(gaz, "Anna van\nRossum", {"Name", "O", "Name"}), "Name O Name");
  EXPECT_EQ(JoinParticles(gaz, "Anna da Nova Scotia", {"Name", "O", "Loc", "Loc+"}),
            "Name O Loc Loc+");
  EXPECT_EQ(JoinParticles(gaz, "Anna de la van der Berg", {"Name", "O", "O", "O", "O", "Name"}),
            "Name O O O O Name");
  EXPECT_EQ(JoinParticles(gaz, "Anna Van Halen", {"Name", "O", "Name"}), "Name O Name");
  // A conjunction is no particle: two people.
  EXPECT_EQ(JoinParticles(gaz, "Anna and Rossum", {"Name", "O", "Name"}), "Name O Name");
}

TEST(JoinNameParticles, MultiWordPlacesOfTheGazetteersWin) {
  Gazetteers gaz;
  gaz.Add(Gazetteers::kRegion, "rio de janeiro");
  gaz.Add(Gazetteers::kCity, "santiago de compostela");
  gaz.Add(Gazetteers::kFirst, "rio");
  gaz.Add(Gazetteers::kName, "janeiro");
  // The model began a person at the first word, with the particle O or
  // inside; or a place of one word: the whole phrase is the place.
  EXPECT_EQ(JoinParticles(gaz, "is Rio de Janeiro near", {"O", "Name", "O", "Name", "O"}),
            "O Loc Loc+ Loc+ O");
  EXPECT_EQ(JoinParticles(gaz, "is Rio de Janeiro near", {"O", "Name", "Name+", "Name+", "O"}),
            "O Loc Loc+ Loc+ O");
  EXPECT_EQ(JoinParticles(gaz, "in Santiago de Compostela.", {"O", "Loc", "O", "O", "O"}),
            "O Loc Loc+ Loc+ O");
  // A person's name before it ends the person there ("Ana" stays a person
  // only where the model said so; the phrase starts at the place).
  EXPECT_EQ(JoinParticles(gaz, "Ana Rio de Janeiro", {"Name", "Name+", "O", "Name"}),
            "Name Loc Loc+ Loc+");
  // A city of that name only (cities are named after people): the person
  // the model began stays; a place the model began grows into the city.
  gaz.Add(Gazetteers::kCity, "charles de gaulle");
  EXPECT_EQ(JoinParticles(gaz, "did Charles de Gaulle say", {"O", "Name", "O", "Name", "O"}),
            "O Name Name+ Name+ O");
  EXPECT_EQ(JoinParticles(gaz, "at Charles de Gaulle airport", {"O", "Loc", "O", "O", "O"}),
            "O Loc Loc+ Loc+ O");
  // No such place: the particle rule as before.
  EXPECT_EQ(JoinParticles(gaz, "Rio de Souza said", {"Name", "O", "Name", "O"}),
            "Name Name+ Name+ O");
}

TEST(JoinNameParticles, AWellKnownPlaceAloneTakesNoParticles) {
  Gazetteers gaz;
  gaz.Add(Gazetteers::kMajorPlace, "florence");
  gaz.Add(Gazetteers::kFirst, "florence");
  // A one-word person that is a well-known place: the particles and the
  // word after them join only where the model began a name there too.
  EXPECT_EQ(JoinParticles(gaz, "Florence de Medici said", {"Name", "O", "Loc", "O"}),
            "Name O Loc O");
  EXPECT_EQ(JoinParticles(gaz, "Florence de Medici said", {"Name", "O", "O", "O"}),
            "Name O O O");
  EXPECT_EQ(JoinParticles(gaz, "Florence van Dijk said", {"Name", "O", "Name", "O"}),
            "Name Name+ Name+ O");
  // Not alone: "Anna Florence" is a person of two parts already.
  EXPECT_EQ(JoinParticles(gaz, "Anna Florence de Vries", {"Name", "Name+", "O", "Loc"}),
            "Name Name+ Name+ Name+");
}

TEST(JoinNameParticles, AGivenNameBeforeParticlesBeginsTheName) {
  Gazetteers gaz;
  gaz.Add(Gazetteers::kFirst, "khalid");
  gaz.Add(Gazetteers::kFirst, "paris");
  gaz.Add(Gazetteers::kMajorPlace, "paris");
  gaz.Add(Gazetteers::kWord, "table");
  EXPECT_EQ(JoinParticles(gaz, "colleague Khalid bin Salman starts", {"O", "O", "O", "Name", "O"}),
            "O Name Name+ Name+ O");
  // Not a given name, a well-known place, or no particle between: as the model read it.
  EXPECT_EQ(JoinParticles(gaz, "colleague Omar bin Salman starts", {"O", "O", "O", "Name", "O"}),
            "O O O Name O");
  EXPECT_EQ(JoinParticles(gaz, "in Paris de Vries said", {"O", "O", "O", "Name", "O"}),
            "O O O Name O");
  EXPECT_EQ(JoinParticles(gaz, "colleague Khalid and Salman", {"O", "O", "O", "Name"}),
            "O O O Name");
}

TEST(JoinNameParticles, AGivenNameTakesTheCapitalisedWordAfterIt) {
  Gazetteers gaz;
  gaz.Add(Gazetteers::kFirst, "james");
  gaz.Add(Gazetteers::kWord, "gosling");
  gaz.Add(Gazetteers::kWord, "monday");
  gaz.Add(Gazetteers::kCity, "london");
  EXPECT_EQ(JoinParticles(gaz, "and James Gosling created", {"O", "Name", "O", "O"}),
            "O Name Name+ O");
  // A calendar word, a place, a lower-case word, an acronym, a second line,
  // a person of two parts already: no join.
  EXPECT_EQ(JoinParticles(gaz, "tell James Monday works", {"O", "Name", "O", "O"}),
            "O Name O O");
  EXPECT_EQ(JoinParticles(gaz, "tell James London is", {"O", "Name", "O", "O"}), "O Name O O");
  EXPECT_EQ(JoinParticles(gaz, "tell James about it", {"O", "Name", "O", "O"}), "O Name O O");
  EXPECT_EQ(JoinParticles(gaz, "tell James NASA said", {"O", "Name", "O", "O"}), "O Name O O");
  EXPECT_EQ(JoinParticles(gaz, "tell James\nGosling", {"O", "Name", "O"}), "O Name O");
  EXPECT_EQ(JoinParticles(gaz, "Ann James Gosling", {"Name", "Name+", "O"}), "Name Name+ O");
  // Not a given name.
  EXPECT_EQ(JoinParticles(gaz, "and Gosling Monday", {"O", "Name", "O"}), "O Name O");
}

TEST(JoinNameParticles, TitlesAreNoPartOfTheName) {
  Gazetteers gaz;
  gaz.Add(Gazetteers::kWord, "flowers");
  // The model put the title in and left the name out, or put both in.
  EXPECT_EQ(JoinParticles(gaz, "thank Mrs. Okafor for", {"O", "Name", "Name+", "O", "O"}),
            "O O O Name O");
  EXPECT_EQ(JoinParticles(gaz, "and Dr Ana Torres co", {"O", "Name", "Name+", "Name+", "O"}),
            "O O Name Name+ O");
  // After the title comes a common word: no name.
  EXPECT_EQ(JoinParticles(gaz, "Dr. Flowers", {"Name", "Name+", "O"}), "O O O");
}

}  // namespace
}  // namespace steward::scan
