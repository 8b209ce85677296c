#include "audit/canonical_json.h"

#include <gtest/gtest.h>

#include <cmath>

namespace steward::audit {
namespace {

TEST(CanonicalJson, SortsKeysAndDropsSpaces) {
  auto v = boost::json::parse(R"({"b": 1, "a": [true, null, "x"], "A": {"z": 0, "y": -3}})");
  EXPECT_EQ(*CanonicalJson(v), R"({"A":{"y":-3,"z":0},"a":[true,null,"x"],"b":1})");
}

TEST(CanonicalJson, SortsByUtf8Bytes) {
  boost::json::object o;
  o["\xc3\xa9"] = 1;  // é (0xC3 0xA9) sorts after ASCII
  o["z"] = 2;
  EXPECT_EQ(*CanonicalJson(o), "{\"z\":2,\"\xc3\xa9\":1}");
}

TEST(CanonicalJson, EscapesOnlyWhatItMust) {
  boost::json::value v(boost::json::string_view("q\"b\\n\n\x01/\xe2\x82\xac"));
  EXPECT_EQ(*CanonicalJson(v), "\"q\\\"b\\\\n\\n\\u0001/\xe2\x82\xac\"");
}

TEST(CanonicalJson, Numbers) {
  EXPECT_EQ(*CanonicalJson(boost::json::value(2.0)), "2");
  EXPECT_EQ(*CanonicalJson(boost::json::value(0.25)), "0.25");
  EXPECT_EQ(*CanonicalJson(boost::json::value(0.1)), "0.1");
  EXPECT_EQ(*CanonicalJson(boost::json::value(-0.0)), "0");
  EXPECT_FALSE(CanonicalJson(boost::json::value(std::nan(""))).ok());
  EXPECT_FALSE(CanonicalJson(boost::json::value(INFINITY)).ok());
}

TEST(CanonicalJson, RejectsInvalidUtf8) {
  boost::json::value v(boost::json::string_view("\xff"));
  EXPECT_FALSE(CanonicalJson(v).ok());
}

TEST(CanonicalJson, ParseAcceptsOnlyCanonical) {
  EXPECT_TRUE(ParseCanonicalJson(R"({"a":1,"b":[0.5,"x"]})").ok());
  EXPECT_FALSE(ParseCanonicalJson(R"({"b":1,"a":1})").ok());
  EXPECT_FALSE(ParseCanonicalJson(R"({"a": 1})").ok());
  EXPECT_FALSE(ParseCanonicalJson(R"({"a":1,"a":2})").ok());
  EXPECT_FALSE(ParseCanonicalJson(R"({"a":1.0})").ok());
  EXPECT_FALSE(ParseCanonicalJson(R"({"a":"\u0041"})").ok());
  EXPECT_FALSE(ParseCanonicalJson("not json").ok());
  EXPECT_FALSE(ParseCanonicalJson("").ok());
}

}  // namespace
}  // namespace steward::audit
