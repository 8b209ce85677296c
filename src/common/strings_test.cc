#include "common/strings.h"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace steward {
namespace {

TEST(StringsTest, HexRoundTrip) {
  std::string out;
  EXPECT_EQ(HexEncode("\x01\xab"), "01ab");
  ASSERT_TRUE(HexDecode("01AB", &out));
  EXPECT_EQ(out, "\x01\xab");
  EXPECT_FALSE(HexDecode("0", &out));
  EXPECT_FALSE(HexDecode("zz", &out));
}

TEST(StringsTest, Base64RoundTrip) {
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    std::string out;
    ASSERT_TRUE(Base64Decode(Base64Encode(s), &out));
    EXPECT_EQ(out, s);
  }
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  std::string out;
  EXPECT_FALSE(Base64Decode("Zm9v!", &out));
}

TEST(StringsTest, Utf8Validation) {
  EXPECT_TRUE(IsValidUtf8("héllo ✓ 😀"));
  EXPECT_FALSE(IsValidUtf8("\xc3"));          // truncated
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));      // overlong
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));  // surrogate
  EXPECT_FALSE(IsValidUtf8("\xff"));
}

TEST(StringsTest, Sha256KnownAnswer) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(StringsTest, JsonStringsParseBackToTheirText) {
  for (std::string text : {std::string("plain"), std::string("q\"uo\\te\n\t\x01"), std::string("héllo ✓")}) {
    std::string out;
    AppendJsonString(out, text);
    EXPECT_EQ(boost::json::parse(out).as_string(), text) << out;
  }
  std::string out;
  AppendJsonString(out, "a\xff/b");  // not UTF-8: bytes are escaped, JSON stays valid
  EXPECT_EQ(out, "\"a\\u00ff/b\"");
  EXPECT_EQ(boost::json::parse(out).as_string(), "a\xc3\xbf/b");
}

}  // namespace
}  // namespace steward