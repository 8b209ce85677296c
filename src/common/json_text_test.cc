#include "common/json_text.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <limits>
#include <string>

namespace steward {
namespace {

namespace json = boost::json;

TEST(JsonText, DoublesReadAsPeopleWriteThem) {
  EXPECT_EQ(JsonText(json::value(0.85)), "0.85");
  EXPECT_EQ(JsonText(json::value(4.762)), "4.762");
  EXPECT_EQ(JsonText(json::value(1.0)), "1");
  EXPECT_EQ(JsonText(json::value(-0.5)), "-0.5");
  EXPECT_EQ(JsonText(json::value(1e-7)), "1e-07");
  EXPECT_EQ(JsonText(json::value(1e300)), "1e+300");
  EXPECT_EQ(JsonText(json::value(std::numeric_limits<double>::quiet_NaN())), "null");
}

TEST(JsonText, KeepsKeyOrderAndEscapesStrings) {
  json::object o;
  o["z"] = 1;
  o["a"] = json::array{0.25, "q\"uote\n", nullptr, true, -3, json::object{}};
  o["é"] = std::numeric_limits<uint64_t>::max();
  EXPECT_EQ(JsonText(o),
            "{\"z\":1,\"a\":[0.25,\"q\\\"uote\\n\",null,true,-3,{}],\"é\":18446744073709551615}");
}

// Shortest form that reads back as the same double (std::strtod is exact;
// Boost.JSON 1.81's own parser is not for extreme exponents).
TEST(JsonText, RoundTripsExactly) {
  for (double d : {0.1, 1.0 / 3.0, 123456.789, 2.5e-300, -9007199254740993.0, 5e-324}) {
    std::string text = JsonText(json::value(d));
    EXPECT_EQ(std::strtod(text.c_str(), nullptr), d) << text;
    EXPECT_TRUE(json::parse(text).is_number()) << text;
  }
}

}  // namespace
}  // namespace steward
