// The engine's fast paths (EngineOptions::fast_paths: PHONE_NUMBER in a
// database of its own, years matched by hand from digit runs, digit-count
// pre-filters before validation, context words looked up only around the
// candidates that need them) against the plain engine they replace:
// every finding must be identical — type, span and score — on the labelled
// evaluation set, Presidio's synthetic and recognizer cases, a sample of the
// benchmark's kind of text, and random digit-heavy strings that stress the
// edges the hand matchers decide (word boundaries, run lengths, prefixes),
// random strings of URL pieces (the URL run's ends added by hand) and of
// low-scoring phone numbers among context words (dropped early when no
// context word can be in their window).
#include <gtest/gtest.h>
#include <hs/hs.h>

#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "common/vectorscan.h"
#include "scan/scanner.h"
#include "scan/testing/jsonl_texts.h"

namespace steward::scan {
namespace {

using testing::JsonlTexts;

// Text shaped like the benchmark corpus: prose, chat, code and log lines
// with phone numbers, cards, IBANs, SSNs, addresses, dates and years.
std::vector<std::string> BenchLikeTexts(size_t count) {
  std::mt19937 rng(7);
  auto digits = [&](int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s.push_back(static_cast<char>('0' + rng() % 10));
    return s;
  };
  const char* pieces[] = {"The committee met in ",
                          "Call me at ",
                          "order #",
                          "since ",
                          "Invoice ",
                          "founded in ",
                          "v",
                          "port ",
                          "id=",
                          "bytes=",
                          "card: ",
                          "ssn ",
                          "phone: +",
                          "tel (",
                          "born ",
                          "in the "};
  std::vector<std::string> out;
  for (size_t i = 0; i < count; ++i) {
    std::string t;
    while (t.size() < 600) {
      t += pieces[rng() % (sizeof(pieces) / sizeof(pieces[0]))];
      switch (rng() % 10) {
        case 0:
          t += digits(4);
          break;
        case 1:
          t += "1" + digits(3);
          break;
        case 2:
          t += "20" + digits(2);
          break;
        case 3:
          t += digits(3) + "-" + digits(3) + "-" + digits(4);
          break;
        case 4:
          t += "44 20 " + digits(4) + " " + digits(4);
          break;
        case 5:
          t += "4111 1111 1111 1111";
          break;
        case 6:
          t += "2024-0" + digits(1) + "-1" + digits(1) + "T10:" + digits(2) + ":00Z";
          break;
        case 7:
          t += digits(3) + "-" + digits(2) + "-" + digits(4);
          break;
        case 8:
          t += digits(1 + rng() % 12);
          break;
        default:
          t += digits(2) + "." + digits(1) + "." + digits(3) + "." + digits(2);
          break;
      }
      t += " \n,.;)x_a"[rng() % 9];
      t += ' ';
    }
    out.push_back(std::move(t));
  }
  return out;
}

// Short strings over digits, separators and the letters the numeric
// patterns care about: every word-boundary and run-length case of the hand
// matchers comes up many times.
std::vector<std::string> RandomDigitStrings(size_t count) {
  std::mt19937 rng(20261127);
  const std::string alphabet =
      "0123456789012345678901234567890123456789 -./()+:_xXeatTpmZ\n,\xc3\xa9";
  std::vector<std::string> out;
  for (size_t i = 0; i < count; ++i) {
    std::string s;
    size_t n = 1 + rng() % 40;
    for (size_t k = 0; k < n; ++k) s.push_back(alphabet[rng() % alphabet.size()]);
    out.push_back(std::move(s));
  }
  return out;
}

// Strings of URL pieces (schemes in both cases, nested and glued ones,
// run bytes, bytes that end a run, line breaks, e-mail and path bytes):
// the fast engine has the database report only a URL's prefix and adds the
// run's ends by hand, the plain engine has Vectorscan report every end.
std::vector<std::string> RandomUrlStrings(size_t count) {
  std::mt19937 rng(4242);
  const char* pieces[] = {
      "http://", "https://", "HTTPS://", "ftp://", "ws://", "wss://",   "xhttp://", "_https://",
      "a",       "b.com",    ".",        "/",      "?u=",   "#",        ":",        "@",
      ")",       "(",        " ",        "\n",     "\t",    "<",        ">",        "\"",
      "'",       "`",        "\\",       "\x01",   "\x7f",  "\xc3\xa9", "www.",     "example.org",
      "-",       "_",        "0",        "9",      ",",     ";"};
  std::vector<std::string> out;
  for (size_t i = 0; i < count; ++i) {
    std::string s;
    size_t n = 1 + rng() % 24;
    for (size_t k = 0; k < n; ++k) s += pieces[rng() % (sizeof(pieces) / sizeof(pieces[0]))];
    // Some runs longer than the ends a candidate keeps (and than 64 bytes).
    if (rng() % 8 == 0) s += std::string(1 + rng() % 90, 'x');
    if (rng() % 4 == 0) s += pieces[rng() % (sizeof(pieces) / sizeof(pieces[0]))];
    out.push_back(std::move(s));
  }
  return out;
}

// Phone numbers that score below the threshold without a context word
// (plain 7-11 digit runs), with context words near them at every distance
// from the window's edges (64 bytes before, 40 after), cut by an edge
// ("xphone"), glued to other words, in any case, split around the number
// ("text 5551234567 me"), and negative words: the fast engine drops such a
// phone when none of its context words' first words lies in its window.
std::vector<std::string> RandomPhoneContextStrings(size_t count) {
  std::mt19937 rng(31337);
  const char* words[] = {"phone", "Tel",    "telephone", "CELL",   "call",     "text",
                         "me",    "ph",     "xphone",    "phones", "telx",     "office",
                         "Desk",  "sms",    "ring",      "string", "WhatsApp", "number",
                         "id",    "order",  "contact",   "reach",  "landline", "dial",
                         "fax",   "mobile", "abc",       "the",    "x",        "_"};
  const char* seps[] = {" ", " ", " ", "  ", "\n", ": ", ", ", "=", "-", ".", "/", "(", ")"};
  std::vector<std::string> out;
  for (size_t i = 0; i < count; ++i) {
    std::string s;
    size_t parts = 1 + rng() % 8;
    for (size_t k = 0; k < parts; ++k) {
      switch (rng() % 4) {
        case 0:
          s += std::string(rng() % 70, "ab "[rng() % 3]);
          break;
        case 1:
        case 2:
          s += words[rng() % (sizeof(words) / sizeof(words[0]))];
          break;
        default: {
          size_t n = 7 + rng() % 5;
          for (size_t d = 0; d < n; ++d) s.push_back(static_cast<char>('0' + rng() % 10));
        }
      }
      s += seps[rng() % (sizeof(seps) / sizeof(seps[0]))];
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::string Describe(const std::vector<Finding>& fs) {
  std::string s;
  for (const Finding& f : fs) {
    char buf[160];
    std::snprintf(buf, sizeof(buf), " %.*s[%zu,%zu)@%.3f", static_cast<int>(f.type.size()),
                  f.type.data(), f.start, f.end, f.score);
    s += buf;
  }
  return s;
}

bool Same(const std::vector<Finding>& a, const std::vector<Finding>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].type != b[i].type || a[i].start != b[i].start || a[i].end != b[i].end ||
        a[i].score != b[i].score)
      return false;
  return true;
}

class EngineDiffTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // Pattern recognizers only: the fast paths do not touch PERSON/LOCATION.
    auto fast = Scanner::Create("", EngineOptions{true});
    auto plain = Scanner::Create("", EngineOptions{false});
    ASSERT_TRUE(fast.ok()) << fast.status().ToString();
    ASSERT_TRUE(plain.ok()) << plain.status().ToString();
    fast_ = fast->release();
    plain_ = plain->release();
  }
  static void TearDownTestSuite() {
    delete fast_;
    delete plain_;
  }

  // Compares both engines on every text at the default threshold, at a
  // low one (context-only recognizers report without their words there)
  // and at a high one (every recognizer with context words then needs one
  // somewhere in the text: the fast engine's whole-text word pass).
  // SCAN_DIFF_DUMP=FILE appends every finding of the fast engine to FILE,
  // so a change to validators (which both engines share) can be checked
  // against the findings from before it.
  void ExpectIdentical(const std::vector<std::string>& texts, const char* what) {
    size_t differing = 0, findings = 0;
    std::FILE* dump = nullptr;
    if (const char* path = std::getenv("SCAN_DIFF_DUMP"); path && *path)
      dump = std::fopen(path, "a");
    for (double min_score : {0.5, 0.05, 0.9}) {
      ScanOptions o;
      o.min_score = min_score;
      size_t index = 0;
      for (const std::string& t : texts) {
        std::vector<Finding> a = fast_->Scan(t, o), b = plain_->Scan(t, o);
        if (dump)
          std::fprintf(dump, "%s %.2f %zu%s\n", what, min_score, index, Describe(a).c_str());
        ++index;
        findings += b.size();
        if (Same(a, b)) continue;
        if (++differing <= 5)
          ADD_FAILURE() << what << " min_score " << min_score << ": \"" << t
                        << "\"\n  fast: " << Describe(a) << "\n  plain:" << Describe(b);
      }
    }
    if (dump) std::fclose(dump);
    std::printf("%s: %zu texts, %zu findings (all thresholds), %zu differing\n", what,
                texts.size(), findings, differing);
    EXPECT_EQ(differing, 0u) << what;
  }

  static Scanner* fast_;
  static Scanner* plain_;
};

Scanner* EngineDiffTest::fast_ = nullptr;
Scanner* EngineDiffTest::plain_ = nullptr;

TEST_F(EngineDiffTest, EvaluationSet) {
  auto texts = JsonlTexts("test/data/scan/eval.jsonl");
  ASSERT_GE(texts.size(), 2000u) << "run from the repository root";
  ExpectIdentical(texts, "eval.jsonl");
}

TEST_F(EngineDiffTest, PresidioSets) {
  auto synth = JsonlTexts("../shared/datasets/pii/synth_dev.jsonl");
  auto cases = JsonlTexts("../shared/datasets/pii/recognizer_cases.jsonl");
  if (synth.empty() && cases.empty()) GTEST_SKIP() << "../shared/datasets/pii not present";
  ExpectIdentical(synth, "synth_dev.jsonl");
  ExpectIdentical(cases, "recognizer_cases.jsonl");
}

TEST_F(EngineDiffTest, BenchmarkLikeText) { ExpectIdentical(BenchLikeTexts(3000), "bench-like"); }

TEST_F(EngineDiffTest, RandomDigitStrings) {
  ExpectIdentical(RandomDigitStrings(200000), "random digit strings");
}

TEST_F(EngineDiffTest, RandomUrlStrings) {
  ExpectIdentical(RandomUrlStrings(100000), "random URL strings");
}

TEST_F(EngineDiffTest, RandomPhoneContextStrings) {
  ExpectIdentical(RandomPhoneContextStrings(100000), "random phone context strings");
}

TEST_F(EngineDiffTest, WholeTextsAtOnce) {
  // One long text (candidates from both databases and the hand matcher
  // interleave over many lines; one block scan).
  std::string joined;
  for (const std::string& t : BenchLikeTexts(400)) joined += t + "\n";
  ExpectIdentical({joined}, "one 250 KB text");
}

// Serialised databases (what the build writes) load instead of compiling
// and scan exactly like compiled ones; a corrupt file is ignored.
TEST(SerializedPatterns, RoundTripAndCorruptFile) {
  std::string dir = ::testing::TempDir() + "scan_hsdb_test";
  std::filesystem::create_directories(dir);
  std::string file = dir + "/scan_patterns.hsdb";
  ASSERT_TRUE(WritePatternDatabases(file).ok());
  const char* old_env = std::getenv("STEWARD_DATA_DIR");
  std::string saved = old_env ? old_env : "";
  setenv("STEWARD_DATA_DIR", dir.c_str(), 1);
  auto loaded = Scanner::Create("", EngineOptions{});
  EngineOptions compile_only;
  compile_only.use_serialized = false;
  auto compiled = Scanner::Create("", compile_only);
  ASSERT_TRUE(loaded.ok() && compiled.ok());
  EXPECT_GT((*loaded)->deserialized_databases(), 10u);
  EXPECT_EQ((*compiled)->deserialized_databases(), 0u);
  size_t n = 0;
  for (const std::string& t : JsonlTexts("test/data/scan/eval.jsonl")) {
    ScanOptions o;
    auto a = (*loaded)->Scan(t, o), b = (*compiled)->Scan(t, o);
    EXPECT_TRUE(Same(a, b)) << t << "\n  loaded:" << Describe(a) << "\n  compiled:" << Describe(b);
    n += a.size();
  }
  EXPECT_GT(n, 1000u);
  // Truncated and garbage files: compiled instead, still correct.
  for (std::string junk : {std::string("STWHSDB1\xff\xff\xff\x7f", 12), std::string(4096, 'x')}) {
    {
      std::ofstream f(file, std::ios::binary | std::ios::trunc);
      f << junk;
    }
    auto s = Scanner::Create("", EngineOptions{});
    ASSERT_TRUE(s.ok());
    EXPECT_EQ((*s)->deserialized_databases(), 0u);
    EXPECT_EQ((*s)->Scan("card 4111 1111 1111 1111").size(), 1u);
  }
  if (old_env)
    setenv("STEWARD_DATA_DIR", saved.c_str(), 1);
  else
    unsetenv("STEWARD_DATA_DIR");
  std::filesystem::remove_all(dir);
}

// The hand-written phone matcher reports exactly Vectorscan's match ends of
// the phone pattern, on strings built from the pieces the pattern cares
// about (digit groups, separators, parentheses, "+", "00", "(0)",
// extension words in any case) and word bytes that break boundaries.
TEST(PhonePattern, EndsEqualVectorscan) {
  hs_database_t* db = nullptr;
  hs_compile_error_t* err = nullptr;
  std::string regex(PhonePatternRegex());
  ASSERT_EQ(hs_compile(regex.c_str(), HS_FLAG_CASELESS, HS_MODE_BLOCK, nullptr, &db, &err),
            HS_SUCCESS);
  hs_scratch_t* scratch = nullptr;
  ASSERT_EQ(hs_alloc_scratch(db, &scratch), HS_SUCCESS);
  const char* pieces[] = {
      "1",         "2",   "12", "123", "1234", "12345", "123456", "0",    "00",
      "44",        " ",   " ",  "-",   ".",    "\t",    "\n",     "\v",   "(",
      ")",         "(0)", "+",  "x",   "X",    "ext",   "Ext.",   "ext.", "extension",
      "EXTENSION", "a",   "_",  "/",   ",",    "\xc3",  "e",      "t",    "n"};
  std::mt19937 rng(99);
  size_t ends = 0;
  // Short strings, and (every 16th) strings of up to ~600 bytes whose
  // digit runs cross the digit pass's 64-byte blocks.
  for (int i = 0; i < 300000; ++i) {
    std::string s;
    int n = 1 + static_cast<int>(i % 16 == 0 ? rng() % 160 : rng() % 14);
    for (int k = 0; k < n; ++k) s += pieces[rng() % (sizeof(pieces) / sizeof(pieces[0]))];
    std::vector<size_t> expected;
    hs_scan(
        db, s.data(), static_cast<unsigned>(s.size()), 0, scratch,
        [](unsigned, unsigned long long, unsigned long long to, unsigned, void* ctx) {
          auto* v = static_cast<std::vector<size_t>*>(ctx);
          if (v->empty() || v->back() != to) v->push_back(to);
          return 0;
        },
        &expected);
    std::vector<size_t> got = PhonePatternEnds(s);
    ends += expected.size();
    ASSERT_EQ(got, expected) << "\"" << s << "\"";
  }
  EXPECT_GT(ends, 100000u);
  // Digit runs longer than a 64-byte block, at every offset in a block.
  for (size_t len : {1, 2, 3, 63, 64, 65, 127, 128, 129, 200})
    for (size_t offset = 0; offset < 70; ++offset)
      for (const char* sep : {" ", "a"}) {
        std::string s;
        for (size_t k = 0; k < offset; ++k) s += k % 3 ? " " : "7";
        s += sep;
        for (size_t k = 0; k < len; ++k) s += static_cast<char>('0' + k % 10);
        s += " x 12";
        std::vector<size_t> expected;
        hs_scan(
            db, s.data(), static_cast<unsigned>(s.size()), 0, scratch,
            [](unsigned, unsigned long long, unsigned long long to, unsigned, void* ctx) {
              auto* v = static_cast<std::vector<size_t>*>(ctx);
              if (v->empty() || v->back() != to) v->push_back(to);
              return 0;
            },
            &expected);
        ASSERT_EQ(PhonePatternEnds(s), expected) << "\"" << s << "\"";
      }
  hs_free_scratch(scratch);
  hs_free_database(db);
}

// The digit-led patterns matched by hand from the digit runs (cards, SSN,
// ITIN, NHS, IPv4, ISO and numeric dates) end exactly where Vectorscan
// reports their matches ending, on strings of digit groups of every length
// that matters, every separator any of them takes or refuses (also two in a
// row), 'T', 'Z', zones, ", " before a time, and word bytes that break
// boundaries; every 16th string is long enough that runs cross the digit
// pass's 64-byte blocks and the ring of recent runs wraps. Vectorscan as
// the scanner runs it (HsPlatform, HsScan: its AVX-512 runtime loses
// matches, see common/vectorscan.h).
TEST(DigitPatterns, EndsEqualVectorscan) {
  // Digit groups alternate with separators, mostly those of the pattern
  // under test (so near-misses of every shape come up), sometimes any
  // other piece: two separators, word bytes, 'T', 'Z', zones, ", ".
  const char* others[] = {" ",    "-",   ".",    "/",  ":",   "T",    "Z",   "+",
                          ",",    ", ",  "\t",   "\n", "a",   "_",    "x",   "\xc3\xa9",
                          "--",   "  ",  "T1",   "Z ", ",\n", "v",    "am",  "PM",
                          "a.m.", "p.m", " am.", "m",  "pma", " PM ", "a m", "p"};
  const char* seps[] = {" -", " -.", " -", " -", ".", "-/.T:Z+", "-/.:, ", "::: ", " "};
  const size_t lengths[] = {1, 1, 2, 2, 2, 3, 3, 4, 4, 4, 5, 6, 7, 9, 10, 12};
  std::mt19937 rng(2027);
  const auto& regexes = DigitPatternRegexes();
  ASSERT_EQ(regexes.size(), 9u);
  for (size_t kind = 0; kind < regexes.size(); ++kind) {
    hs_database_t* db = nullptr;
    hs_compile_error_t* err = nullptr;
    std::string regex(regexes[kind]);
    unsigned flags = DigitPatternCaseless(kind) ? HS_FLAG_CASELESS : 0;
    ASSERT_EQ(hs_compile(regex.c_str(), flags, HS_MODE_BLOCK, HsPlatform(), &db, &err), HS_SUCCESS)
        << regex;
    hs_scratch_t* scratch = nullptr;
    ASSERT_EQ(hs_alloc_scratch(db, &scratch), HS_SUCCESS);
    std::string own = seps[kind];
    size_t ends = 0;
    for (int i = 0; i < 200000; ++i) {
      std::string s;
      if (rng() % 4 == 0) s += others[rng() % (sizeof(others) / sizeof(others[0]))];
      if (i % 2 == 0) {
        // Dates and timestamps piece by piece, each piece sometimes
        // replaced by another (a wrong length, separator or word byte).
        auto digits = [&](size_t n) {
          for (size_t d = 0; d < n; ++d) s += static_cast<char>('0' + rng() % 10);
        };
        auto piece = [&](const char* usual, const char* alternatives) {
          const char* from = rng() % 8 == 0 ? alternatives : usual;
          s += from[rng() % std::strlen(from)];
        };
        for (int stamps = 1 + static_cast<int>(rng() % 3); stamps > 0; --stamps) {
          bool iso = rng() % 2;
          digits(iso ? (rng() % 8 ? 4 : 3 + rng() % 3) : 1 + rng() % 3);
          piece("-/.", " :T_a");
          digits(1 + rng() % 3);
          piece("-/.", " :T_a");
          digits(iso ? 1 + rng() % 3 : (rng() % 2 ? 4 : 1 + rng() % 5));
          if (rng() % 3 == 0) continue;
          if (iso)
            piece("T ", ",\t-a");
          else
            s += rng() % 2 ? ", " : (rng() % 2 ? " " : "\n");
          digits(1 + rng() % 3);
          piece(":", ".-T");
          digits(rng() % 8 ? 2 : 1 + rng() % 3);
          if (rng() % 2) {
            piece(":", ".-");
            digits(rng() % 8 ? 2 : 1 + rng() % 3);
            if (rng() % 2) {
              piece(".", ":,");
              digits(1 + rng() % 11);
            }
          }
          switch (rng() % 4) {
            case 0:
              piece("Z", "za");
              break;
            case 1:
              piece("+-", "Z:");
              digits(rng() % 8 ? 2 : 1 + rng() % 3);
              if (rng() % 2) s += ':';
              digits(rng() % 8 ? 2 : 1 + rng() % 3);
              break;
            default:
              break;
          }
          s += others[rng() % (sizeof(others) / sizeof(others[0]))];
        }
        if (rng() % 2) s.pop_back();
      }
      int groups = i % 2 == 0 ? 0 : 1 + static_cast<int>(i % 16 == 1 ? rng() % 60 : rng() % 9);
      for (int g = 0; g < groups; ++g) {
        size_t len = lengths[rng() % (sizeof(lengths) / sizeof(lengths[0]))];
        for (size_t d = 0; d < len; ++d) {
          // '9' first and ITIN's middle digits come up often.
          const char* digits = d == 0 && rng() % 3 == 0 ? "9" : "0123456789";
          s += digits[rng() % std::strlen(digits)];
        }
        if (rng() % 6 == 0)
          s += others[rng() % (sizeof(others) / sizeof(others[0]))];
        else
          s += own[rng() % own.size()];
      }
      if (groups && rng() % 2) s.pop_back();  // end on digits half the time
      std::vector<size_t> expected;
      HsScan(
          db, s.data(), static_cast<unsigned>(s.size()), scratch,
          [](unsigned, unsigned long long, unsigned long long to, unsigned, void* ctx) {
            auto* v = static_cast<std::vector<size_t>*>(ctx);
            if (v->empty() || v->back() != to) v->push_back(to);
            return 0;
          },
          &expected);
      ends += expected.size();
      ASSERT_EQ(DigitPatternEnds(kind, s), expected) << regex << " on \"" << s << "\"";
    }
    std::printf("%s: %zu ends\n", regex.c_str(), ends);
    EXPECT_GT(ends, 5000u) << regex;
    hs_free_scratch(scratch);
    hs_free_database(db);
  }
}

// Strings of clock-time pieces: hours, minutes, colons, am/pm in any case
// and with dots, and bytes around them.
std::vector<std::string> RandomTimeStrings(size_t count) {
  const char* pieces[] = {"1",   "2",   "12",  "123", ":",   ":",  "00",   "59",  "am",
                          "PM",  "a",   "p",   "m",   "M",   ".",  ".m",   " ",   "\t",
                          "\n",  "x",   "_",   "9:",  "-",   "A.M.", "p.m", "ma", "\xc3\xa9",
                          ",",   "10:", "7:",  ":30", ":05", "23:", ":4",  " am", "pm."};
  std::mt19937 rng(4242);
  std::vector<std::string> out;
  for (size_t i = 0; i < count; ++i) {
    std::string s;
    int n = 1 + static_cast<int>(rng() % 12);
    for (int k = 0; k < n; ++k) s += pieces[rng() % (sizeof(pieces) / sizeof(pieces[0]))];
    out.push_back(std::move(s));
  }
  return out;
}

// Random ascending sets of 1-7 ends of `s` and, for each, the smallest of
// `expected` over it (the start a candidate with those ends gets), checked
// against `of_ends`: what the scanner calls with a candidate's ends.
void CheckEndSets(const std::string& s, const std::vector<size_t>& expected, std::mt19937& rng,
                  size_t (*of_ends)(std::string_view, const size_t*, size_t)) {
  for (int round = 0; round < 3; ++round) {
    std::vector<size_t> ends;
    for (size_t e = 1; e <= s.size(); ++e)
      if (rng() % 4 == 0) ends.push_back(e);
    if (ends.empty()) continue;
    if (ends.size() > 7) ends.erase(ends.begin(), ends.end() - 7);
    size_t want = SIZE_MAX;
    for (size_t e : ends) want = std::min(want, expected[e]);
    ASSERT_EQ(of_ends(s, ends.data(), ends.size()), want) << "\"" << s << "\" ends " << ends.size();
  }
}

// A pattern whose start the scanner recovers by hand instead of re-scanning
// with Vectorscan: for every end offset of each string, `start_at` must
// equal the leftmost start a leftmost-start scan of the same buffer reports
// at that end (SIZE_MAX where no match ends), and `of_ends`, when given,
// the smallest of those over random sets of ends. Expects more than
// `min_starts` starts, more than `min_away` of them past the buffer's start
// (windows begin anywhere in a run).
struct LeftmostStartCase {
  const char* name;
  std::string regex;
  unsigned flags;  // besides HS_FLAG_SOM_LEFTMOST
  std::vector<std::string> strings;
  size_t (*start_at)(std::string_view, size_t);
  size_t (*of_ends)(std::string_view, const size_t*, size_t) = nullptr;
  size_t min_starts = 0, min_away = 0;
  uint32_t seed = 1;
};

void ExpectLeftmostStartsEqualVectorscan(const LeftmostStartCase& c) {
  hs_database_t* db = nullptr;
  hs_compile_error_t* err = nullptr;
  ASSERT_EQ(hs_compile(c.regex.c_str(), c.flags | HS_FLAG_SOM_LEFTMOST, HS_MODE_BLOCK, HsPlatform(),
                       &db, &err),
            HS_SUCCESS);
  hs_scratch_t* scratch = nullptr;
  ASSERT_EQ(hs_alloc_scratch(db, &scratch), HS_SUCCESS);
  size_t starts = 0, away = 0;
  std::mt19937 rng(c.seed);
  for (const std::string& s : c.strings) {
    std::vector<size_t> expected(s.size() + 1, SIZE_MAX);
    HsScan(
        db, s.data(), static_cast<unsigned>(s.size()), scratch,
        [](unsigned, unsigned long long from, unsigned long long to, unsigned, void* ctx) {
          auto* v = static_cast<std::vector<size_t>*>(ctx);
          (*v)[to] = std::min<size_t>((*v)[to], from);
          return 0;
        },
        &expected);
    for (size_t e = 0; e <= s.size(); ++e) {
      starts += expected[e] != SIZE_MAX;
      away += expected[e] != SIZE_MAX && expected[e] > 0;
      ASSERT_EQ(c.start_at(s, e), expected[e]) << c.name << ": \"" << s << "\" end " << e;
    }
    if (c.of_ends) CheckEndSets(s, expected, rng, c.of_ends);
  }
  std::printf("%s pattern: %zu starts (%zu not at the buffer's start)\n", c.name, starts, away);
  EXPECT_GT(starts, c.min_starts) << c.name;
  EXPECT_GT(away, c.min_away) << c.name;
  hs_free_scratch(scratch);
  hs_free_database(db);
}

// The hand-written start recovery of the clock-time pattern.
TEST(TimePattern, LeftmostStartsEqualVectorscan) {
  ExpectLeftmostStartsEqualVectorscan({.name = "time",
                                       .regex = std::string(TimePatternRegex()),
                                       .flags = HS_FLAG_CASELESS,
                                       .strings = RandomTimeStrings(300000),
                                       .start_at = TimeLeftmostStart,
                                       .min_starts = 30000});
}

// The same for the URL pattern: its start is recovered by hand
// (UrlLeftmostStart), the plain engine re-scans a window with Vectorscan.
// Strings of URL pieces begin anywhere in a run, as windows do.
TEST(UrlPattern, LeftmostStartsEqualVectorscan) {
  ExpectLeftmostStartsEqualVectorscan({.name = "URL",
                                       .regex = std::string(UrlPatternRegex()),
                                       .flags = HS_FLAG_CASELESS,
                                       .strings = RandomUrlStrings(200000),
                                       .start_at = UrlLeftmostStart,
                                       .of_ends = UrlLeftmostStartOfEnds,
                                       .min_away = 100000,
                                       .seed = 77});
}

// Strings of bare-domain pieces: labels in both cases, listed and unlisted
// TLDs (and listed ones in upper case, which do not match), dots, double
// dots, hyphens, '_', paths, e-mail and URL bytes, bytes that end a path.
std::vector<std::string> RandomDomainStrings(size_t count) {
  std::mt19937 rng(5150);
  const char* pieces[] = {"a",   "Ab",  "x9",    "0",    "-",    ".",     "..",  "_",    "com",
                          "org", "io",  "co",    "uk",   "info", "COM",   "cm",  "xyz",  ".com",
                          ".co", ".uk", ".info", ".de",  "/",    "/p",    "?q=", "@",    ":",
                          "://", " ",   "\n",    "\"",   "'",    "<",     "`",   "\x1f", "\x7f",
                          "\\", "\xc3\xa9", "#", "%",  "example", "mail.", "www.", "https://"};
  std::vector<std::string> out;
  for (size_t i = 0; i < count; ++i) {
    std::string s;
    size_t n = 1 + rng() % 20;
    for (size_t k = 0; k < n; ++k) s += pieces[rng() % (sizeof(pieces) / sizeof(pieces[0]))];
    out.push_back(std::move(s));
  }
  return out;
}

// The bare-domain pattern's start is recovered by hand too
// (DomainLeftmostStart): equal to Vectorscan's leftmost starts at every end.
TEST(DomainPattern, LeftmostStartsEqualVectorscan) {
  ExpectLeftmostStartsEqualVectorscan({.name = "domain",
                                       .regex = std::string(DomainPatternRegex()),
                                       .flags = 0,
                                       .strings = RandomDomainStrings(300000),
                                       .start_at = DomainLeftmostStart,
                                       .of_ends = DomainLeftmostStartOfEnds,
                                       .min_away = 100000,
                                       .seed = 78});
}

// Strings of secret-assignment pieces: key words in any case and with
// '_' or '-', name bytes around them, quotes, spaces, every operator and
// its near misses, value bytes and bytes that are none of these.
std::vector<std::string> RandomSecretStrings(size_t count) {
  std::mt19937 rng(6160);
  const char* pieces[] = {"secret", "TOKEN",  "api_key", "Api-Key", "apikey", "apiKey", "access",
                          "key",    "auth_",  "client",  "_secret", "webhook", "Credential",
                          "session-key", "x",  "9",      "_",       ".",      "-",       "=",
                          ":",      ":=",     "=>",     " ",       "\t",     "\n",     "\"",
                          "'",      "''",     "+",      "/",       "~",      ">",       ",",
                          "(",      "$",      "\xc3\xa9", "ab",  "Z"};
  std::vector<std::string> out;
  for (size_t i = 0; i < count; ++i) {
    std::string s;
    size_t n = 1 + rng() % 14;
    for (size_t k = 0; k < n; ++k) s += pieces[rng() % (sizeof(pieces) / sizeof(pieces[0]))];
    out.push_back(std::move(s));
  }
  return out;
}

// GENERIC_SECRET's assignment pattern's start is recovered by hand
// (SecretLeftmostStart): equal to Vectorscan's leftmost starts at every end.
TEST(SecretPattern, LeftmostStartsEqualVectorscan) {
  ExpectLeftmostStartsEqualVectorscan({.name = "secret",
                                       .regex = std::string(SecretPatternRegex()),
                                       .flags = HS_FLAG_CASELESS,
                                       .strings = RandomSecretStrings(300000),
                                       .start_at = SecretLeftmostStart,
                                       .min_away = 30000});
}

TEST_F(EngineDiffTest, RandomSecretStrings) {
  ExpectIdentical(RandomSecretStrings(100000), "random secret strings");
}

// Strings of e-mail pieces: local and domain bytes, '@'s, dots and double
// dots, hyphens, TLDs of every length (and 25+ letters), case, bytes that
// end a word and bytes >= 0x80.
std::vector<std::string> RandomEmailStrings(size_t count) {
  std::mt19937 rng(7170);
  const char* local[] = {"a", "B9", "x.y", "_", "%", "+", "-", ".", "..", "maria", "\xc3\xa9", "@"};
  const char* label[] = {"b", "Ex-1", "mail.", ".", "..", "-", "9", "example", "@", "_"};
  const char* tld[] = {".com", ".IO", ".de", ".c", ".org", ".info", "com", ".x9",
                       ".abcdefghijklmnopqrstuvwxy", ".abcdefghijklmnopqrstuvwx"};
  const char* other[] = {"", "", " ", ":", "/", "<", "\n", "'", "(", "a", "_", "9", ".", "-", "@"};
  auto pick = [&](const auto& list) { return list[rng() % std::size(list)]; };
  std::vector<std::string> out;
  for (size_t i = 0; i < count; ++i) {
    std::string s;
    for (size_t chunk = 1 + rng() % 3; chunk > 0; --chunk) {
      s += pick(other);
      for (size_t k = rng() % 3; k > 0; --k) s += pick(local);
      if (rng() % 5) s += "@";
      for (size_t k = rng() % 3; k > 0; --k) s += pick(label);
      s += pick(tld);
      s += pick(other);
    }
    out.push_back(std::move(s));
  }
  return out;
}

// The e-mail pattern's start is recovered by hand (EmailLeftmostStart):
// equal to Vectorscan's leftmost starts at every end.
TEST(EmailPattern, LeftmostStartsEqualVectorscan) {
  ExpectLeftmostStartsEqualVectorscan({.name = "e-mail",
                                       .regex = std::string(EmailPatternRegex()),
                                       .flags = 0,
                                       .strings = RandomEmailStrings(300000),
                                       .start_at = EmailLeftmostStart,
                                       .min_away = 30000});
}

TEST_F(EngineDiffTest, RandomEmailStrings) {
  ExpectIdentical(RandomEmailStrings(100000), "random e-mail strings");
}

TEST_F(EngineDiffTest, RandomDomainStrings) {
  ExpectIdentical(RandomDomainStrings(100000), "random domain strings");
}

}  // namespace
}  // namespace steward::scan
