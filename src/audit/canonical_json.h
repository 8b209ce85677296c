// Canonical JSON: the byte form of an audit leaf.
//
// Rules (docs/audit.md): UTF-8; object keys sorted by their UTF-8 bytes;
// no whitespace; strings escape only `"`, `\` and control characters below
// U+0020 (as \b \f \n \r \t or \u00xx, lower-case hex); integers in decimal;
// a double that holds an integer of magnitude below 2^53 is written as that
// integer, any other finite double in its shortest round-trip form
// (std::to_chars); NaN and infinities are rejected. Serialising the parse of
// a canonical text gives the same bytes back (IsCanonical checks that).
#pragma once

#include <boost/json.hpp>
#include <string>
#include <string_view>

#include "steward/status.h"

namespace steward::audit {

// Appends the canonical form of `value` to `out`. Fails on invalid UTF-8
// in a string or key, and on non-finite numbers.
Status AppendCanonicalJson(const boost::json::value& value, std::string* out);
Result<std::string> CanonicalJson(const boost::json::value& value);

// The pieces, for writers that emit a known record shape directly (keys in
// sorted order) instead of building a boost::json value first.
Status AppendCanonicalString(std::string_view s, std::string* out);  // fails on invalid UTF-8
Status AppendCanonicalDouble(double d, std::string* out);            // fails on NaN/Inf
void AppendCanonicalInt(int64_t i, std::string* out);

// Parses `text` as JSON; fails with a message naming the problem if it is
// not JSON or not in canonical form (e.g. unsorted keys, spaces, duplicate
// keys, non-shortest numbers).
Result<boost::json::value> ParseCanonicalJson(std::string_view text);

}  // namespace steward::audit
