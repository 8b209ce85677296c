// What the scanner reports: typed spans of a text, with byte offsets.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace steward::scan {

// One detected entity. `start`/`end` are byte offsets into the scanned text
// (UTF-8 for valid input), `end` exclusive. `type` points at a static string
// (the entity type name, Presidio's where Presidio has one).
struct Finding {
  std::string_view type;
  size_t start = 0;
  size_t end = 0;
  double score = 0.0;
  // LOCATION only: the span names a street or holds a number (house, unit,
  // postcode): an address rather than the name of a place.
  bool postal_address = false;
};

// True for credential types (key formats, PRIVATE_KEY, PASSWORD,
// GENERIC_SECRET): the default policy blocks them instead of pseudonymizing.
bool IsSecretType(std::string_view type);

// Every entity type the scanner can report, in a stable order.
const std::vector<std::string_view>& AllEntityTypes();

// Interns a type name: returns the static string_view for a known type, or
// an empty view if `type` is not a known entity type.
std::string_view CanonicalType(std::string_view type);

}  // namespace steward::scan
