#include "scan/scanner.h"

#include <gtest/gtest.h>

#include <string>

#include "scan/recognizers.h"

namespace steward::scan {
namespace {

const Scanner& Patterns() {
  static auto s = Scanner::Create("");
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return **s;
}

// The (type, text) pairs found in `text`.
std::vector<std::pair<std::string, std::string>> Found(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const Finding& f : Patterns().Scan(text))
    out.emplace_back(std::string(f.type), std::string(text.substr(f.start, f.end - f.start)));
  return out;
}

bool Has(std::string_view text, std::string_view type, std::string_view value) {
  for (auto& [t, v] : Found(text))
    if (t == type && v == value) return true;
  return false;
}

bool HasType(std::string_view text, std::string_view type) {
  for (auto& [t, v] : Found(text))
    if (t == type) return true;
  return false;
}

TEST(Scanner, Email) {
  std::string t = "write to john.doe+x@mail.example.co.uk, thanks";
  auto f = Patterns().Scan(t);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].type, "EMAIL_ADDRESS");
  EXPECT_EQ(t.substr(f[0].start, f[0].end - f[0].start), "john.doe+x@mail.example.co.uk");
  EXPECT_FALSE(HasType("user@localhost is not routable", "EMAIL_ADDRESS"));
}

TEST(Scanner, CreditCard) {
  EXPECT_TRUE(Has("my card 4111 1111 1111 1111 expires", "CREDIT_CARD", "4111 1111 1111 1111"));
  EXPECT_TRUE(Has("amex 3782-822463-10005 ok", "CREDIT_CARD", "3782-822463-10005"));
  EXPECT_TRUE(Has("card number: 5555555555554444", "CREDIT_CARD", "5555555555554444"));
  EXPECT_FALSE(HasType("card 4111 1111 1111 1112", "CREDIT_CARD"));  // Luhn
  EXPECT_FALSE(HasType("card 4111 1111 1111 1234", "CREDIT_CARD"));  // no Luhn-valid sub-span either
  // Luhn-valid order number without a card issuer or card context.
  EXPECT_FALSE(HasType("Order number 1234567812345670 shipped", "CREDIT_CARD"));
  EXPECT_FALSE(HasType("order #4111111111111111 was shipped", "CREDIT_CARD"));
}

TEST(Scanner, Iban) {
  EXPECT_TRUE(Has("IBAN: GB82 WEST 1234 5698 7654 32 please", "IBAN_CODE",
                  "GB82 WEST 1234 5698 7654 32"));
  EXPECT_TRUE(Has("send to DE89370400440532013000.", "IBAN_CODE", "DE89370400440532013000"));
  EXPECT_FALSE(HasType("GB82 WEST 1234 5698 7654 33", "IBAN_CODE"));
}

TEST(Scanner, Ssn) {
  EXPECT_TRUE(Has("SSN 536-90-4567", "US_SSN", "536-90-4567"));
  EXPECT_TRUE(Has("my social security number is 536904567", "US_SSN", "536904567"));
  EXPECT_FALSE(HasType("SSN 666-90-4567", "US_SSN"));
  EXPECT_FALSE(HasType("SSN 536-90-0000", "US_SSN"));
  EXPECT_FALSE(HasType("SSN 536-90 4567", "US_SSN"));  // mixed separators
}

TEST(Scanner, Phone) {
  EXPECT_TRUE(Has("call (415) 555-0132 now", "PHONE_NUMBER", "(415) 555-0132"));
  EXPECT_TRUE(Has("call +44 20 7946 0958.", "PHONE_NUMBER", "+44 20 7946 0958"));
  EXPECT_TRUE(Has("tel: +1-903-140-4508x769", "PHONE_NUMBER", "+1-903-140-4508x769"));
  EXPECT_TRUE(Has("Room 12 415-555-0132", "PHONE_NUMBER", "415-555-0132"));
  EXPECT_FALSE(HasType("version 2.3.4 released", "PHONE_NUMBER"));
  EXPECT_FALSE(HasType("between 2019 and 2020", "PHONE_NUMBER"));
}

TEST(Scanner, Ip) {
  EXPECT_TRUE(Has("server at 192.168.10.4 is down", "IP_ADDRESS", "192.168.10.4"));
  EXPECT_TRUE(Has("ping 2001:db8::8a2e:370:7334 now", "IP_ADDRESS", "2001:db8::8a2e:370:7334"));
  EXPECT_FALSE(HasType("upgrade to version 1.2.3.4 today", "IP_ADDRESS"));
  EXPECT_FALSE(HasType("release v1.2.3.4", "IP_ADDRESS"));
  EXPECT_FALSE(HasType("oid 1.3.6.1.4.1", "IP_ADDRESS"));
  EXPECT_FALSE(HasType("at 12:30:45 we met", "IP_ADDRESS"));
}

// Configs and logs write addresses with a port or a CIDR prefix; only the
// address is reported. Other continuations make a longer number.
TEST(Scanner, IpWithPortOrPrefix) {
  EXPECT_TRUE(Has("proxy_pass to 10.0.0.5:8080;", "IP_ADDRESS", "10.0.0.5"));
  EXPECT_TRUE(Has("listen 127.0.0.1:8080 now", "IP_ADDRESS", "127.0.0.1"));
  EXPECT_TRUE(Has("allow 192.168.1.0/24;", "IP_ADDRESS", "192.168.1.0"));
  EXPECT_TRUE(Has("at 10.0.0.5:22, then", "IP_ADDRESS", "10.0.0.5"));
  EXPECT_FALSE(HasType("build 1.2.3.4:99999 done", "IP_ADDRESS"));  // not a port
  EXPECT_FALSE(HasType("net 10.0.0.0/33 here", "IP_ADDRESS"));      // not a prefix
  EXPECT_FALSE(HasType("path 1.2.3.4/24/5 here", "IP_ADDRESS"));
  EXPECT_FALSE(HasType("ver 10.1.2.3:80.5 here", "IP_ADDRESS"));
  EXPECT_FALSE(HasType("release 1.2.3.4-2 here", "IP_ADDRESS"));
  EXPECT_FALSE(HasType("upgrade to version 1.2.3.4.5", "IP_ADDRESS"));
}

TEST(Scanner, MacUrlDate) {
  EXPECT_TRUE(Has("mac 00:1A:2B:3C:4D:5E", "MAC_ADDRESS", "00:1A:2B:3C:4D:5E"));
  EXPECT_TRUE(Has("see https://example.com/a?b=1).", "URL", "https://example.com/a?b=1"));
  EXPECT_TRUE(Has("visit www.example.org today", "URL", "www.example.org"));
  EXPECT_TRUE(Has("born on 2000-04-16 11:34:35 in", "DATE_TIME", "2000-04-16 11:34:35"));
  EXPECT_TRUE(Has("due March 3rd, 2024 ok", "DATE_TIME", "March 3rd, 2024"));
  EXPECT_TRUE(Has("on 8/12/1991 we", "DATE_TIME", "8/12/1991"));
  EXPECT_FALSE(HasType("ratio 45/99/77", "DATE_TIME"));
}

TEST(Scanner, Crypto) {
  EXPECT_TRUE(Has("send to 1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2 now", "CRYPTO",
                  "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"));
  EXPECT_FALSE(HasType("send to 1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3 now", "CRYPTO"));
}

TEST(Scanner, Secrets) {
  EXPECT_TRUE(Has("key AKIAIOSFODNN7EXAMPLE in", "AWS_ACCESS_KEY", "AKIAIOSFODNN7EXAMPLE"));
  EXPECT_TRUE(Has("aws_secret_access_key=\"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\"",
                  "AWS_SECRET_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"));
  EXPECT_TRUE(Has("My github token is: 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", "GITHUB_TOKEN",
                  "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"));
  EXPECT_TRUE(HasType("token glpat-Abcdefghij1234567890", "GITLAB_TOKEN"));
  EXPECT_TRUE(HasType("xoxb-1234567890-abcdefghijklmnop", "SLACK_TOKEN"));
  EXPECT_TRUE(HasType("stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc", "STRIPE_KEY"));
  EXPECT_TRUE(HasType("AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe", "GOOGLE_API_KEY"));
  EXPECT_TRUE(HasType("sk-proj-abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV", "OPENAI_API_KEY"));
  EXPECT_TRUE(HasType("-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----",
                      "PRIVATE_KEY"));
  EXPECT_TRUE(HasType(
      "My JWT token is: eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
      "JWT"));
  EXPECT_TRUE(Has("db password=Hunter2!x", "PASSWORD", "Hunter2!x"));
  EXPECT_TRUE(Has("Use this URL: https://username:s3cr3tpw@llm-guard.com", "PASSWORD", "s3cr3tpw"));
  EXPECT_TRUE(HasType("client_secret = \"q8Zr4TkP1vXw9YbN2mLs7HcJ\"", "GENERIC_SECRET"));
  EXPECT_FALSE(HasType("password = os.environ['DB_PASSWORD']", "PASSWORD"));
  EXPECT_FALSE(HasType("token = \"${GITHUB_TOKEN}\"", "GENERIC_SECRET"));
  EXPECT_FALSE(HasType("commit 3f786850e387550fdab836ed7e6dc881de23001b merged", "GENERIC_SECRET"));
}

TEST(Scanner, InternationalEmailLocalPart) {
  EXPECT_TRUE(Has("Mail jürgen@example.org now", "EMAIL_ADDRESS", "jürgen@example.org"));
}

TEST(Scanner, OffsetsAreBytes) {
  std::string t = "héllo wörld: a@b.io";
  auto f = Patterns().Scan(t);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].start, t.find("a@b.io"));
  EXPECT_EQ(f[0].end, t.size());
}

TEST(Scanner, OverlapsResolvedByScoreThenLength) {
  std::vector<Finding> in = {{"URL", 0, 20, 0.6}, {"PASSWORD", 5, 10, 0.9}, {"DATE_TIME", 30, 35, 0.5},
                             {"PHONE_NUMBER", 30, 40, 0.5}};
  auto out = ResolveOverlaps(in);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].type, "PASSWORD");
  EXPECT_EQ(out[1].type, "PHONE_NUMBER");
}

TEST(Scanner, PatternAlphabet) {
  std::array<bool, 256> a{};
  ASSERT_TRUE(PatternAlphabet(R"(\b[a-c]{2,3}x?\b)", false, &a));
  EXPECT_TRUE(a['a'] && a['b'] && a['c'] && a['x']);
  EXPECT_FALSE(a['A'] || a['d'] || a[' '] || a['{'] || a['2']);
  ASSERT_TRUE(PatternAlphabet(R"([a-c]+)", true, &a));
  EXPECT_TRUE(a['B'] && a['b']);
  ASSERT_TRUE(PatternAlphabet(R"([^\s<>"'\x00-\x1f]+@x)", false, &a));
  EXPECT_FALSE(a[' '] || a['\t'] || a['\n'] || a['<'] || a['"'] || a[0x01]);
  EXPECT_TRUE(a['@'] && a['z'] && a[0x80]);
  ASSERT_TRUE(PatternAlphabet(R"(\d+\s?(?:ext\.?)\-)", false, &a));
  EXPECT_TRUE(a['7'] && a[' '] && a['\n'] && a['e'] && a['.'] && a['-']);
  EXPECT_FALSE(a['E'] || a['('] || a['?'] || a[':']);
  ASSERT_TRUE(PatternAlphabet(R"([\x80-\xff\-]a{2})", false, &a));
  EXPECT_TRUE(a[0xC3] && a['-'] && a['a']);
  EXPECT_FALSE(a['{'] || a['2']);
  // Not modelled, or any byte: no alphabet.
  EXPECT_FALSE(PatternAlphabet("a.b", false, &a));
  EXPECT_FALSE(PatternAlphabet("(?i)ab", false, &a));
  EXPECT_FALSE(PatternAlphabet("[[:alpha:]]", false, &a));
  EXPECT_FALSE(PatternAlphabet(R"(\S\s)", false, &a));
  // The scanner's own patterns: every one the windows use must parse.
  size_t with = 0;
  for (const Recognizer& r : Recognizers())
    if (r.start == StartRule::kSomWindow) with += PatternAlphabet(r.regex, r.caseless, &a);
  EXPECT_GT(with, 10u);
}

// Two entities of one kind a few bytes apart on a line are two findings:
// match ends with a byte between them that no match of the pattern
// contains (a space in an e-mail or URL), or a clock time that begins
// after the earlier one ends, start a new candidate instead of stretching
// the earlier one over both (which found "a@b.com and c@d.com" as one
// address and lost the second of two Bitcoin addresses).
TEST(Scanner, NeighbouringEntitiesAreSeparateFindings) {
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(Found("mail a@b.com and c@d.com now"),
            (Pairs{{"EMAIL_ADDRESS", "a@b.com"}, {"EMAIL_ADDRESS", "c@d.com"}}));
  EXPECT_EQ(Found("see http://a.com http://b.com/x ok"),
            (Pairs{{"URL", "http://a.com"}, {"URL", "http://b.com/x"}}));
  EXPECT_EQ(Found("from 10:30 to 11:45 and 12:00 pm"),
            (Pairs{{"DATE_TIME", "10:30"}, {"DATE_TIME", "11:45"}, {"DATE_TIME", "12:00 pm"}}));
  EXPECT_EQ(Found("x 10:30 11:45 y"), (Pairs{{"DATE_TIME", "10:30"}, {"DATE_TIME", "11:45"}}));
  EXPECT_EQ(Found("1BoatSLRHtKNngkdXEeobR76b53LETtpyT 3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"),
            (Pairs{{"CRYPTO", "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"},
                   {"CRYPTO", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"}}));
  // One address with several match ends stays one finding.
  EXPECT_EQ(Found("to a@b.co.uk."), (Pairs{{"EMAIL_ADDRESS", "a@b.co.uk"}}));
}

TEST(Scanner, StartWindowsFindStartsAfterLongRuns) {
  // Long runs before a match must not hide its start.
  std::string pad(300, 'x');
  EXPECT_TRUE(Has(pad + " mail john@example.com now", "EMAIL_ADDRESS", "john@example.com"));
  EXPECT_TRUE(Has(pad + ":john@example.com", "EMAIL_ADDRESS", "john@example.com"));
  EXPECT_TRUE(Has("see https://example.com/a/b?c=1 and " + pad, "URL", "https://example.com/a/b?c=1"));
  EXPECT_TRUE(Has("IBAN:GB82 WEST 1234 5698 7654 32", "IBAN_CODE", "GB82 WEST 1234 5698 7654 32"));
  EXPECT_TRUE(Has("bytes=6690 client=AKIAIOSFODNN7EXAMPLE 2024", "AWS_ACCESS_KEY",
                  "AKIAIOSFODNN7EXAMPLE"));
}

TEST(Scanner, ContextOnlyRecognizersNeedTheirWords) {
  // Their patterns live in a second database, scanned only when one of
  // their words occurs (or the threshold lets them report without one).
  EXPECT_TRUE(Has("checking account 12345678901234567", "US_BANK_NUMBER", "12345678901234567"));
  EXPECT_TRUE(Has("Passport: 912803456", "US_PASSPORT", "912803456"));
  EXPECT_TRUE(Has("my bank: 123456789012", "US_BANK_NUMBER", "123456789012"));
  const std::string plain = "build 12345678901234567 finished";
  EXPECT_FALSE(HasType(plain, "US_BANK_NUMBER"));
  ScanOptions low;
  low.min_score = 0.01;
  auto f = Patterns().Scan(plain, low);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].type, "US_BANK_NUMBER");
  EXPECT_DOUBLE_EQ(f[0].score, 0.05);
}

TEST(Scanner, PatternFindingWinsTieWithName) {
  std::vector<Finding> in = {{"PASSWORD", 18, 28, 0.85}, {"LOCATION", 18, 28, 0.85}};
  auto out = ResolveOverlaps(in);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].type, "PASSWORD");
}

}  // namespace
}  // namespace steward::scan

namespace steward::scan {
namespace {

// Context words are found wherever the 64-byte blocks of the word-run pass
// cut them: at every offset, after long word runs, at the end of the text.
TEST(Scanner, ContextWordsAcrossBlockBoundaries) {
  const std::string number = "536 90 1234";  // an SSN shape: the word "ssn" raises it
  auto score_of = [](std::string_view text, size_t start) {
    for (const Finding& f : Patterns().Scan(text))
      if (f.type == "US_SSN" && f.start == start) return f.score;
    return -1.0;
  };
  for (const std::string& filler : {std::string(" "), std::string("a"), std::string("_")}) {
    for (size_t pad = 0; pad < 140; ++pad) {
      std::string lead = pad ? std::string(pad - 1, filler[0]) + " " : "";
      std::string with = lead + "ssn " + number;
      std::string without = lead + "abc " + number;
      double a = score_of(with, with.size() - number.size());
      double b = score_of(without, without.size() - number.size());
      ASSERT_GT(a, b) << "pad " << pad << " filler '" << filler << "'";
      // The context word after the number, ending the text.
      std::string after = lead + number + " ssn";
      ASSERT_EQ(score_of(after, lead.size()), a) << "pad " << pad;
    }
  }
}

}  // namespace
}  // namespace steward::scan
