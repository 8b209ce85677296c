// Checksums and range checks the recognizers run on candidate spans only.
// Every function is linear in its input and never allocates more than a
// copy of it.
#pragma once

#include <string_view>

namespace steward::scan {

// Luhn mod-10 over the digits of `s` (non-digits ignored).
bool LuhnValid(std::string_view s);
// Card number (digits only) has a known issuer prefix for its length.
bool CardIssuerValid(std::string_view digits);
// IBAN (spaces allowed): known country, that country's length, mod-97 == 1.
bool IbanValid(std::string_view s);
// US SSN digits (9): area not 000/666/9xx, group not 00, serial not 0000,
// and not one of the publicly burned numbers.
bool SsnValid(std::string_view digits);
// UK NHS number digits (10), mod-11 check digit.
bool NhsValid(std::string_view digits);
// Dotted-quad IPv4, each octet <= 255, no leading zeros.
bool Ipv4Valid(std::string_view s);
// Textual IPv6 (RFC 4291 forms incl. :: and embedded IPv4).
bool Ipv6Valid(std::string_view s);
// Bitcoin legacy (base58check, version 0x00/0x05) or bech32/bech32m (bc1).
bool BitcoinAddressValid(std::string_view s);
// DEA registration number checksum (MEDICAL_LICENSE).
bool DeaValid(std::string_view s);
// Shannon entropy in bits per character.
double ShannonEntropy(std::string_view s);
// Decodes base64url (no padding needed); false if malformed.
bool Base64UrlDecode(std::string_view in, std::string* out);

}  // namespace steward::scan
