#include "scan/transform.h"

#include <gtest/gtest.h>

#include <random>

#include "scan/stream.h"
#include "scan/scanner.h"

namespace steward::scan {
namespace {

TEST(Transform, MaskRedactHash) {
  EXPECT_EQ(MaskValue("4111 1111 1111 1234"), "****1234");
  EXPECT_EQ(MaskValue("a@example.org"), "****@example.org");
  EXPECT_EQ(MaskValue("abc"), "****");
  EXPECT_EQ(RedactToken("US_SSN"), "<US_SSN>");
  std::string h1 = HashToken("EMAIL_ADDRESS", "a@b.io", "key1");
  EXPECT_EQ(h1, HashToken("EMAIL_ADDRESS", "a@b.io", "key1"));  // deterministic
  EXPECT_NE(h1, HashToken("EMAIL_ADDRESS", "a@b.io", "key2"));  // keyed
  EXPECT_NE(h1, HashToken("EMAIL_ADDRESS", "c@b.io", "key1"));
  EXPECT_EQ(h1.rfind("<EMAIL_ADDRESS:", 0), 0u);
}

TEST(Transform, VaultIsStableAndAvoidsPromptText) {
  Vault v(42);
  std::string a(v.Pseudonymize("EMAIL_ADDRESS", "x@y.io"));
  EXPECT_EQ(a, v.Pseudonymize("EMAIL_ADDRESS", "x@y.io"));
  EXPECT_NE(a, v.Pseudonymize("EMAIL_ADDRESS", "z@y.io"));
  EXPECT_NE(a.find("@example.com"), std::string::npos);
  std::string ssn(v.Pseudonymize("US_SSN", "536-90-4567"));
  EXPECT_EQ(ssn.substr(0, 4), "666-");  // never-issued area: realistic but not real
  std::string card(v.Pseudonymize("CREDIT_CARD", "4111111111111111"));
  auto s = Scanner::Create("");
  ASSERT_TRUE(s.ok());
  auto f = (*s)->Scan("card " + card);
  ASSERT_EQ(f.size(), 1u);  // the placeholder is itself a valid card number
  EXPECT_EQ(f[0].type, "CREDIT_CARD");
  EXPECT_EQ(v.Restore("x " + a + " y " + ssn), "x x@y.io y 536-90-4567");
}

TEST(Transform, StreamRestorerEverySplitPoint) {
  Vault v(7);
  std::string p1(v.Pseudonymize("PERSON", "Ada Lovelace"));
  std::string p2(v.Pseudonymize("PHONE_NUMBER", "+44 20 7946 0958"));
  std::string reply = "Dear " + p1 + ", call " + p2 + " or " + p1 + ".";
  std::string want = "Dear Ada Lovelace, call +44 20 7946 0958 or Ada Lovelace.";
  for (size_t a = 0; a <= reply.size(); ++a) {
    for (size_t b = a; b <= reply.size(); b += 3) {
      StreamRestorer r(&v);
      std::string got = r.Push(reply.substr(0, a));
      got += r.Push(reply.substr(a, b - a));
      got += r.Push(reply.substr(b));
      EXPECT_LE(r.held(), v.max_placeholder_length());
      got += r.Flush();
      ASSERT_EQ(got, want) << a << "," << b;
    }
  }
}

// Found by scan_restore_fuzzer: the value "1" got the placeholder "6", a
// prefix of the SSN placeholder "666-67-3671". A piece ending after the
// first "6" restored it as "1" ("111-17-3171") instead of waiting for the
// longer placeholder to complete.
TEST(StreamRestorer, ShorterPlaceholderWaitsForALongerOneItBegins) {
  // The fuzzer's input: the prompt the placeholders avoid.
  const std::string input(
      "\x87\x41\x0a\xec\x87\x0a\xec\x0a\xec\x87\x0a\xec"
      "\x11\x0a\x31\x00\x17\x17\x17\xdf\x00\x00\x7c\xdf"
      "\x0a\x30\x00\x30\x3d\x7c\x7c\x17\x17\x7c\x7c\xc8"
      "\x37\xec\x0a\xec",
      40);
  Vault vault(1234);
  const char* types[] = {"EMAIL_ADDRESS", "PERSON",      "PHONE_NUMBER",
                         "US_SSN",        "CREDIT_CARD", "US_PASSPORT"};
  const char* values[] = {
      "\x87"
      "A",
      "\xec\x87",
      "\xec",
      "\xec\x87",
      "\xec\x11",
      "1"};
  std::string placeholder[6];
  for (int i = 0; i < 6; ++i)
    placeholder[i] = std::string(vault.Pseudonymize(types[i], values[i], input));
  ASSERT_EQ(placeholder[3].rfind(placeholder[5], 0), 0u)
      << placeholder[5] << " no longer begins " << placeholder[3] << ": the test needs new values";
  const std::string text = "a|" + placeholder[3] + "|" + placeholder[5] + ".";
  const std::string want = "a|\xec\x87|1.";
  for (size_t chunk = 1; chunk <= 4; ++chunk) {
    StreamRestorer r(&vault);
    std::string got;
    for (size_t i = 0; i < text.size(); i += chunk) got += r.Push(text.substr(i, chunk));
    got += r.Flush();
    EXPECT_EQ(got, want) << "chunk " << chunk;
  }
}

TEST(Transform, ApplyActionsRewritesOnlyRewritingActions) {
  std::string text = "a@b.io and 10.0.0.1";
  std::vector<Finding> f = {{"EMAIL_ADDRESS", 0, 6, 1.0}, {"IP_ADDRESS", 11, 19, 0.9}};
  Vault v(1);
  TransformContext ctx{&v, "k", text};
  auto out = ApplyActions(
      text, f,
      [](const Finding& found) {
        return found.type == "EMAIL_ADDRESS" ? Action::kRedact : Action::kFlag;
      },
      ctx);
  EXPECT_EQ(out, "<EMAIL_ADDRESS> and 10.0.0.1");
}

TEST(StreamScanner, FindsEntitySplitAcrossChunksWithBoundedHold) {
  auto s = Scanner::Create("");
  ASSERT_TRUE(s.ok());
  std::string text = "Contact me at jane.doe@example.com or 4111-1111-1111-1111 please. ";
  for (size_t chunk = 1; chunk <= 9; ++chunk) {
    StreamScanner ss(s->get(), {}, [](const Finding&) { return Action::kRedact; }, {});
    std::string out;
    for (size_t i = 0; i < text.size(); i += chunk) {
      out += ss.Push(text.substr(i, chunk));
      EXPECT_LE(ss.held(), 64u);
    }
    out += ss.Flush();
    EXPECT_EQ(out, "Contact me at <EMAIL_ADDRESS> or <CREDIT_CARD> please. ") << chunk;
    EXPECT_EQ(ss.findings().size(), 2u);
  }
}

}  // namespace
}  // namespace steward::scan

namespace steward::scan {
namespace {

// Placeholders never occur in the prompt they must avoid, also when the
// prompt is long enough for the 4-byte-window filter, and whatever the
// filter says, the answer equals a plain search.
TEST(Vault, PlaceholdersAvoidLongPrompts) {
  std::string prompt;
  for (int i = 0; i < 400; ++i)
    prompt += "call +1 415 555 " + std::to_string(1000 + i) + " or mail user" +
              std::to_string(i) + "@example.com; ";
  Vault vault(7);
  for (int i = 0; i < 300; ++i) {
    std::string p(
        vault.Pseudonymize("PHONE_NUMBER", "+1 212 555 " + std::to_string(2000 + i), prompt));
    ASSERT_EQ(prompt.find(p), std::string::npos) << p;
    std::string e(
        vault.Pseudonymize("EMAIL_ADDRESS", "x" + std::to_string(i) + "@corp.example", prompt));
    ASSERT_EQ(prompt.find(e), std::string::npos) << e;
  }
  // A prompt that holds the only realistic candidates forces the fallback
  // token, which must not occur either.
  Vault small(1);
  std::string p(small.Pseudonymize("US_SSN", "536-90-1234", std::string(300, 'a')));
  EXPECT_FALSE(p.empty());
}


// Occurs() equals a plain search: substrings taken at every offset and
// alignment of long prompts are found, near misses (one byte changed) are
// not, and short placeholders and short prompts take the plain path.
TEST(Vault, OccursEqualsPlainSearch) {
  std::mt19937 rng(17);
  const std::string alphabet = "ab.-@ 0123";
  for (int round = 0; round < 40; ++round) {
    std::string prompt(200 + rng() % 3000, ' ');
    for (char& c : prompt) c = alphabet[rng() % alphabet.size()];
    Vault vault(3);
    for (int k = 0; k < 300; ++k) {
      size_t len = 1 + rng() % 24;
      size_t at = rng() % (prompt.size() - len);
      std::string p = prompt.substr(at, len);
      if (k % 3 == 1) p[rng() % len] = "xyz"[rng() % 3];  // cannot occur
      if (k % 3 == 2) p = std::string(len, alphabet[rng() % alphabet.size()]);
      ASSERT_EQ(vault.Occurs(prompt, p), prompt.find(p) != std::string::npos)
          << round << " " << k << " [" << p << "]";
    }
  }
}

}  // namespace
}  // namespace steward::scan
