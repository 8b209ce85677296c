#include "scan/validators.h"

#include <arpa/inet.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "common/strings.h"

namespace steward::scan {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

std::string DigitsOf(std::string_view s) {
  std::string d;
  d.reserve(s.size());
  for (char c : s)
    if (IsDigit(c)) d.push_back(c);
  return d;
}

bool HasPrefix(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

int PrefixNumber(std::string_view digits, size_t n) {
  if (digits.size() < n) return -1;
  int v = 0;
  for (size_t i = 0; i < n; ++i) v = v * 10 + (digits[i] - '0');
  return v;
}

}  // namespace

bool LuhnValid(std::string_view s) {
  std::string d = DigitsOf(s);
  if (d.size() < 2) return false;
  int sum = 0;
  bool dbl = false;
  for (size_t i = d.size(); i-- > 0;) {
    int v = d[i] - '0';
    if (dbl) {
      v *= 2;
      if (v > 9) v -= 9;
    }
    sum += v;
    dbl = !dbl;
  }
  return sum % 10 == 0;
}

bool CardIssuerValid(std::string_view d) {
  size_t n = d.size();
  int p2 = PrefixNumber(d, 2), p3 = PrefixNumber(d, 3), p4 = PrefixNumber(d, 4),
      p6 = PrefixNumber(d, 6);
  if (d[0] == '4') return n == 13 || n == 16 || n == 19;                       // Visa
  if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return n == 16;   // Mastercard
  if (p2 == 34 || p2 == 37) return n == 15;                                   // Amex
  if (p2 == 36 || (p3 >= 300 && p3 <= 305) || p2 == 38 || p2 == 39 || p3 == 309)
    return n >= 14 && n <= 19;                                                // Diners
  if (p4 == 6011 || p2 == 65 || (p3 >= 644 && p3 <= 649) || (p6 >= 622126 && p6 <= 622925))
    return n >= 16 && n <= 19;                                                // Discover
  if (p4 >= 3528 && p4 <= 3589) return n >= 16 && n <= 19;                    // JCB
  if (p2 == 62) return n >= 16 && n <= 19;                                    // UnionPay
  if (p2 == 50 || (p2 >= 56 && p2 <= 69)) return n >= 12 && n <= 19;         // Maestro
  if (p4 == 2131 || p4 == 1800) return n == 15;                               // JCB (old)
  return false;
}

namespace {
struct IbanCountry {
  const char* code;
  int length;
};
constexpr IbanCountry kIbanCountries[] = {
    {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16},
    {"BG", 22}, {"BH", 22}, {"BI", 27}, {"BR", 29}, {"BY", 28}, {"CH", 21}, {"CR", 22},
    {"CY", 28}, {"CZ", 24}, {"DE", 22}, {"DJ", 27}, {"DK", 18}, {"DO", 28}, {"EE", 20},
    {"EG", 29}, {"ES", 24}, {"FI", 18}, {"FK", 18}, {"FO", 18}, {"FR", 27}, {"GB", 22},
    {"GE", 22}, {"GI", 23}, {"GL", 18}, {"GR", 27}, {"GT", 28}, {"HR", 21}, {"HU", 28},
    {"IE", 22}, {"IL", 23}, {"IQ", 23}, {"IS", 26}, {"IT", 27}, {"JO", 30}, {"KW", 30},
    {"KZ", 20}, {"LB", 28}, {"LC", 32}, {"LI", 21}, {"LT", 20}, {"LU", 20}, {"LV", 21},
    {"LY", 25}, {"MC", 27}, {"MD", 24}, {"ME", 22}, {"MK", 19}, {"MN", 20}, {"MR", 27},
    {"MT", 31}, {"MU", 30}, {"NI", 28}, {"NL", 18}, {"NO", 15}, {"OM", 23}, {"PK", 24},
    {"PL", 28}, {"PS", 29}, {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22}, {"RU", 33},
    {"SA", 24}, {"SC", 31}, {"SD", 18}, {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27},
    {"SO", 23}, {"ST", 25}, {"SV", 28}, {"TL", 23}, {"TN", 24}, {"TR", 26}, {"UA", 29},
    {"VA", 22}, {"VG", 24}, {"XK", 20}, {"YE", 30},
};
}  // namespace

bool IbanValid(std::string_view s) {
  std::string c;
  c.reserve(s.size());
  for (char ch : s) {
    if (ch == ' ' || ch == '-') continue;
    if (ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 'a' + 'A');
    if (!((ch >= 'A' && ch <= 'Z') || IsDigit(ch))) return false;
    c.push_back(ch);
  }
  if (c.size() < 15 || c.size() > 34) return false;
  int want = 0;
  for (const auto& country : kIbanCountries)
    if (c[0] == country.code[0] && c[1] == country.code[1]) want = country.length;
  if (want == 0 || static_cast<int>(c.size()) != want) return false;
  if (!IsDigit(c[2]) || !IsDigit(c[3])) return false;
  std::string r = c.substr(4) + c.substr(0, 4);
  int mod = 0;
  for (char ch : r) {
    if (IsDigit(ch)) {
      mod = (mod * 10 + (ch - '0')) % 97;
    } else {
      int v = ch - 'A' + 10;
      mod = (mod * 100 + v) % 97;
    }
  }
  return mod == 1;
}

bool SsnValid(std::string_view d) {
  if (d.size() != 9) return false;
  int area = PrefixNumber(d, 3);
  int group = PrefixNumber(d.substr(3), 2);
  int serial = PrefixNumber(d.substr(5), 4);
  if (area == 0 || area == 666 || area >= 900) return false;
  if (group == 0 || serial == 0) return false;
  // Numbers published in advertising or used as examples (SSA list).
  static constexpr const char* kBurned[] = {"078051120", "219099999", "123456789", "111111111",
                                            "222222222", "333333333", "444444444", "555555555",
                                            "777777777", "888888888", "987654320"};
  for (const char* b : kBurned)
    if (d == b) return false;
  return true;
}

bool NhsValid(std::string_view d) {
  if (d.size() != 10) return false;
  int sum = 0;
  for (int i = 0; i < 9; ++i) sum += (d[i] - '0') * (10 - i);
  int check = 11 - sum % 11;
  if (check == 11) check = 0;
  if (check == 10) return false;
  return check == d[9] - '0';
}

bool Ipv4Valid(std::string_view s) {
  int parts = 0;
  size_t i = 0;
  while (i <= s.size()) {
    size_t j = i;
    while (j < s.size() && IsDigit(s[j])) ++j;
    size_t len = j - i;
    if (len == 0 || len > 3) return false;
    if (len > 1 && s[i] == '0') return false;
    int v = 0;
    for (size_t k = i; k < j; ++k) v = v * 10 + (s[k] - '0');
    if (v > 255) return false;
    ++parts;
    if (j == s.size()) break;
    if (s[j] != '.') return false;
    i = j + 1;
  }
  return parts == 4;
}

bool Ipv6Valid(std::string_view s) {
  if (s.size() < 2 || s.size() > 45) return false;
  char buf[64];
  std::memcpy(buf, s.data(), s.size());
  buf[s.size()] = 0;
  unsigned char out[16];
  return inet_pton(AF_INET6, buf, out) == 1;
}

namespace {

constexpr char kBase58[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

bool Base58Decode(std::string_view s, std::string* out) {
  std::string b256;  // big-endian bytes
  for (char c : s) {
    const char* p = std::strchr(kBase58, c);
    if (!p || c == 0) return false;
    int carry = static_cast<int>(p - kBase58);
    for (size_t i = b256.size(); i-- > 0;) {
      carry += 58 * static_cast<unsigned char>(b256[i]);
      b256[i] = static_cast<char>(carry & 0xff);
      carry >>= 8;
    }
    while (carry) {
      b256.insert(b256.begin(), static_cast<char>(carry & 0xff));
      carry >>= 8;
    }
  }
  size_t zeros = 0;
  while (zeros < s.size() && s[zeros] == '1') ++zeros;
  *out = std::string(zeros, '\0') + b256;
  return true;
}

uint32_t Bech32Polymod(const std::vector<int>& values) {
  static constexpr uint32_t kGen[] = {0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3};
  uint32_t chk = 1;
  for (int v : values) {
    uint32_t top = chk >> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ static_cast<uint32_t>(v);
    for (int i = 0; i < 5; ++i)
      if ((top >> i) & 1) chk ^= kGen[i];
  }
  return chk;
}

bool Bech32Valid(std::string_view s) {
  static constexpr char kCharset[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
  std::string lower = ToLower(s);
  bool has_lower = false, has_upper = false;
  for (char c : s) {
    if (c >= 'a' && c <= 'z') has_lower = true;
    if (c >= 'A' && c <= 'Z') has_upper = true;
  }
  if (has_lower && has_upper) return false;
  size_t sep = lower.rfind('1');
  if (sep == std::string::npos || sep == 0 || sep + 7 > lower.size() || lower.size() > 90)
    return false;
  std::vector<int> values;
  for (size_t i = 0; i < sep; ++i) values.push_back(lower[i] >> 5);
  values.push_back(0);
  for (size_t i = 0; i < sep; ++i) values.push_back(lower[i] & 31);
  for (size_t i = sep + 1; i < lower.size(); ++i) {
    const char* p = std::strchr(kCharset, lower[i]);
    if (!p || lower[i] == 0) return false;
    values.push_back(static_cast<int>(p - kCharset));
  }
  uint32_t pm = Bech32Polymod(values);
  return pm == 1 || pm == 0x2bc830a3;  // bech32 / bech32m
}

}  // namespace

bool BitcoinAddressValid(std::string_view s) {
  if (s.size() >= 3 && (HasPrefix(s, "bc1") || HasPrefix(s, "BC1"))) return Bech32Valid(s);
  if (s.size() < 25 || s.size() > 35) return false;
  std::string raw;
  if (!Base58Decode(s, &raw) || raw.size() != 25) return false;
  if (raw[0] != 0x00 && raw[0] != 0x05) return false;
  std::string h = Sha256(Sha256(raw.substr(0, 21)));
  return h.compare(0, 4, raw, 21, 4) == 0;
}

bool DeaValid(std::string_view s) {
  if (s.size() != 9) return false;
  for (int i = 2; i < 9; ++i)
    if (!IsDigit(s[i])) return false;
  int d[7];
  for (int i = 0; i < 7; ++i) d[i] = s[2 + i] - '0';
  int sum = d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5]);
  return sum % 10 == d[6];
}

double ShannonEntropy(std::string_view s) {
  if (s.empty()) return 0.0;
  std::array<int, 256> counts{};
  for (unsigned char c : s) ++counts[c];
  double h = 0.0;
  for (int c : counts) {
    if (!c) continue;
    double p = static_cast<double>(c) / s.size();
    h -= p * std::log2(p);
  }
  return h;
}

bool Base64UrlDecode(std::string_view in, std::string* out) {
  out->clear();
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '-' || c == '+') v = 62;
    else if (c == '_' || c == '/') v = 63;
    else if (c == '=') break;
    else return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return true;
}

}  // namespace steward::scan
