// Small string helpers shared by every module.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace steward {

std::string ToLower(std::string_view s);
std::string_view Trim(std::string_view s);
std::vector<std::string_view> Split(std::string_view s, char sep);

std::string HexEncode(std::string_view bytes);
// Returns false on odd length or a non-hex digit.
bool HexDecode(std::string_view hex, std::string* out);
std::string Base64Encode(std::string_view bytes);
bool Base64Decode(std::string_view b64, std::string* out);

// True if `s` is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool IsValidUtf8(std::string_view s);

// Appends `s` as a JSON string literal. Bytes of invalid UTF-8 are written as
// \u00XX escapes (read as Latin-1), so the output is always valid JSON.
void AppendJsonString(std::string& out, std::string_view s);

// SHA-256 of `data` as 32 raw bytes / as lowercase hex.
std::string Sha256(std::string_view data);
std::string Sha256Hex(std::string_view data);

// `n` cryptographically random bytes, hex encoded (2n chars).
std::string RandomHex(size_t n);

}  // namespace steward
