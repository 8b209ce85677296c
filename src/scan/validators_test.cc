#include "scan/validators.h"

#include <gtest/gtest.h>

namespace steward::scan {
namespace {

TEST(Validators, Luhn) {
  EXPECT_TRUE(LuhnValid("4111 1111 1111 1111"));
  EXPECT_FALSE(LuhnValid("4111 1111 1111 1112"));
  EXPECT_TRUE(LuhnValid("378282246310005"));
}

TEST(Validators, CardIssuer) {
  EXPECT_TRUE(CardIssuerValid("4111111111111111"));
  EXPECT_TRUE(CardIssuerValid("378282246310005"));
  EXPECT_TRUE(CardIssuerValid("5555555555554444"));
  EXPECT_FALSE(CardIssuerValid("1234567812345670"));
  EXPECT_FALSE(CardIssuerValid("41111111111111"));  // Visa with 14 digits
}

TEST(Validators, Iban) {
  EXPECT_TRUE(IbanValid("GB82 WEST 1234 5698 7654 32"));
  EXPECT_TRUE(IbanValid("DE89370400440532013000"));
  EXPECT_TRUE(IbanValid("gb82west12345698765432"));
  EXPECT_FALSE(IbanValid("GB82 WEST 1234 5698 7654 33"));
  EXPECT_FALSE(IbanValid("DE8937040044053201300"));  // wrong length
  EXPECT_FALSE(IbanValid("XX89370400440532013000"));
}

TEST(Validators, Ssn) {
  EXPECT_TRUE(SsnValid("536904567"));
  EXPECT_FALSE(SsnValid("000123456"));
  EXPECT_FALSE(SsnValid("666123456"));
  EXPECT_FALSE(SsnValid("912345678"));
  EXPECT_FALSE(SsnValid("123004567"));
  EXPECT_FALSE(SsnValid("123450000"));
  EXPECT_FALSE(SsnValid("078051120"));
}

TEST(Validators, Nhs) {
  EXPECT_TRUE(NhsValid("4010232137"));
  EXPECT_FALSE(NhsValid("4010232138"));
}

TEST(Validators, Ip) {
  EXPECT_TRUE(Ipv4Valid("192.168.0.1"));
  EXPECT_FALSE(Ipv4Valid("256.1.1.1"));
  EXPECT_FALSE(Ipv4Valid("01.1.1.1"));
  EXPECT_FALSE(Ipv4Valid("1.1.1"));
  EXPECT_TRUE(Ipv6Valid("2001:db8::1"));
  EXPECT_TRUE(Ipv6Valid("::ffff:192.0.2.1"));
  EXPECT_FALSE(Ipv6Valid("12:30:45"));
  EXPECT_FALSE(Ipv6Valid("1:2:3:4:5:6:7:8:9"));
}

TEST(Validators, Bitcoin) {
  EXPECT_TRUE(BitcoinAddressValid("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"));
  EXPECT_TRUE(BitcoinAddressValid("3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"));
  EXPECT_TRUE(BitcoinAddressValid("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"));
  EXPECT_FALSE(BitcoinAddressValid("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3"));
  EXPECT_FALSE(BitcoinAddressValid("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdx"));
}

TEST(Validators, Dea) {
  EXPECT_TRUE(DeaValid("AB1234563"));
  EXPECT_FALSE(DeaValid("AB1234564"));
}

TEST(Validators, Entropy) {
  EXPECT_DOUBLE_EQ(ShannonEntropy("aaaa"), 0.0);
  EXPECT_NEAR(ShannonEntropy("abcd"), 2.0, 1e-9);
}

}  // namespace
}  // namespace steward::scan
