// The PERSON/LOCATION runtime against its frozen reference (testing/names_v1,
// the implementation before the flat tokenizer, the word cache and the merged
// model index): on every text both must report the same findings — type,
// span and score — and score the same number of tokens. Texts: the labelled
// evaluation set, Presidio's synthetic and recognizer cases, benchmark-like
// paragraphs, and random mixes of their words with odd bytes (Latin-1,
// Cyrillic, Greek capitals, invalid UTF-8, joiners at word edges, tabs and
// line breaks) that stress tokenisation, shapes and lower-casing.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "scan/names.h"
#include "scan/scanner.h"
#include "scan/testing/names_v1.h"
#include "scan/testing/jsonl_texts.h"

namespace steward::scan {
namespace {

using testing::JsonlTexts;

class NamesDiffTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string dir = FindScanDataDir();
    // The reference's gazetteers and span conventions (the same model file);
    // conventions added since are tested case by case (names_table_test,
    // scan_quality_test).
    auto now = NameRecognizer::Load(dir, NameConventions::kFrozenReference);
    auto ref = v1::NameRecognizer::Load(dir);
    ASSERT_TRUE(now.ok()) << now.status().ToString();
    ASSERT_TRUE(ref.ok()) << ref.status().ToString();
    now_ = std::move(*now).release();
    ref_ = std::move(*ref).release();
  }
  static void TearDownTestSuite() {
    delete now_;
    delete ref_;
  }

  // Returns the number of texts that differ (each reported once).
  static size_t Compare(const std::vector<std::string>& texts, const char* set) {
    size_t differ = 0, findings = 0;
    std::vector<Finding> a, b;
    for (size_t i = 0; i < texts.size(); ++i) {
      a.clear();
      b.clear();
      uint64_t scored_now = now_->Recognize(texts[i], &a);
      uint64_t scored_ref = ref_->Recognize(texts[i], &b);
      findings += b.size();
      bool same = a.size() == b.size() && scored_now == scored_ref;
      for (size_t k = 0; same && k < a.size(); ++k)
        same = a[k].type == b[k].type && a[k].start == b[k].start && a[k].end == b[k].end &&
               a[k].score == b[k].score;
      if (!same && ++differ <= 5) {
        ADD_FAILURE() << set << " text " << i << ": " << a.size() << " findings (" << scored_now
                      << " scored) vs reference " << b.size() << " (" << scored_ref
                      << " scored)\n"
                      << texts[i].substr(0, 300);
      }
    }
    std::printf("%s: %zu texts, %zu reference findings, %zu differ\n", set, texts.size(),
                findings, differ);
    return differ;
  }

  static NameRecognizer* now_;
  static v1::NameRecognizer* ref_;
};
NameRecognizer* NamesDiffTest::now_ = nullptr;
v1::NameRecognizer* NamesDiffTest::ref_ = nullptr;

TEST_F(NamesDiffTest, LabelledSetsGiveIdenticalFindings) {
  auto eval = JsonlTexts("test/data/scan/eval.jsonl");
  auto synth = JsonlTexts("../shared/datasets/pii/synth_dev.jsonl");
  auto cases = JsonlTexts("../shared/datasets/pii/recognizer_cases.jsonl");
  ASSERT_GE(eval.size(), 2000u);
  ASSERT_GE(synth.size(), 100u);
  ASSERT_GE(cases.size(), 100u);
  EXPECT_EQ(Compare(eval, "eval.jsonl"), 0u);
  EXPECT_EQ(Compare(synth, "synth_dev.jsonl"), 0u);
  EXPECT_EQ(Compare(cases, "recognizer_cases.jsonl"), 0u);
  // The same texts joined into ~4 KB prompts (long inputs, many lines).
  std::vector<std::string> joined;
  std::string cur;
  for (const auto* set : {&eval, &synth, &cases}) {
    for (const auto& t : *set) {
      cur += t;
      cur += (t.size() % 3 == 0) ? "\n" : " ";
      if (cur.size() > 4096) joined.push_back(std::move(cur)), cur.clear();
    }
  }
  EXPECT_EQ(Compare(joined, "joined 4 KB"), 0u);
}

TEST_F(NamesDiffTest, RandomMixesGiveIdenticalFindings) {
  // Words of the labelled sets, shuffled, with capitals, odd bytes and
  // separators between them.
  std::vector<std::string> words;
  for (const char* path : {"test/data/scan/eval.jsonl", "../shared/datasets/pii/synth_dev.jsonl"}) {
    for (const auto& t : JsonlTexts(path)) {
      size_t i = 0;
      while (i < t.size()) {
        size_t j = t.find(' ', i);
        if (j == std::string::npos) j = t.size();
        if (j > i) words.push_back(t.substr(i, j - i));
        i = j + 1;
      }
    }
  }
  ASSERT_GT(words.size(), 1000u);
  const char* odd[] = {"\xC3\x89mile", "\xC3\x96", "\xD0\x9F\xD0\xB5\xD1\x82\xD1\x80", "\xD0\xA8",
                       "\xCE\x91\xCE\xB8\xCE\xAE\xCE\xBD\xCE\xB1", "\xC3", "\xC3" "A", "\xD0",
                       "\xCE\xA9", "\xC5\x81\xC3\xB3" "d\xC5\xBA", "\xC4\x8C", "\xFF\xFE", "O'Brien",
                       "Mayo-Walters", "-x", "x-", "'A", "A'", "Mr.", "Dr", "Hi", "dear",
                       "corner", "of", "and", "Inc", "Street", "12", "2019", "Apt.", "PSC",
                       "\xC3\x9F", "\xC3\x97", "ABC", "McDonald", "iPhone", "a1b2", "(", ")"};
  const char* seps[] = {" ", " ", " ", " ", "\n", ", ", ". ", "\t", "\r\n", "  ", ": ", "\"", "("};
  std::mt19937 rng(11);
  std::vector<std::string> texts;
  for (int n = 0; n < 3000; ++n) {
    std::string t;
    size_t len = 20 + rng() % 1500;
    while (t.size() < len) {
      if (rng() % 5 == 0) {
        t += odd[rng() % std::size(odd)];
      } else {
        std::string w = words[rng() % words.size()];
        if (!w.empty() && rng() % 4 == 0 && w[0] >= 'a' && w[0] <= 'z') w[0] -= 32;
        t += w;
      }
      t += seps[rng() % std::size(seps)];
    }
    texts.push_back(std::move(t));
  }
  EXPECT_EQ(Compare(texts, "random mixes"), 0u);
  // Random bytes (any value), short and long.
  std::vector<std::string> bytes;
  const std::string_view common = "Ab c.\n\xC3\xD0\xCE-'9Z";
  for (int n = 0; n < 2000; ++n) {
    std::string t(1 + rng() % 300, '\0');
    for (char& c : t) {
      uint32_t r = rng();
      c = static_cast<char>(r % 4 == 0 ? (r >> 8) & 0xFF : common[(r >> 8) % common.size()]);
    }
    bytes.push_back(std::move(t));
  }
  EXPECT_EQ(Compare(bytes, "random bytes"), 0u);
}

}  // namespace
}  // namespace steward::scan
