// JSON text for people and other programs: Boost.JSON's serializer writes
// doubles in its own exponent form ("8.5E-1", "4.762E0"), valid JSON but not
// what anyone expects to read in a DSAR export or an API reply. JsonText
// keeps keys in their order and writes a double as an integer when it holds
// one exactly (below 2^53) and otherwise in its shortest round-trip decimal
// form ("0.85", "4.762", "1e-07"), as JavaScript and Python do.
#pragma once

#include <boost/json/value.hpp>
#include <string>

namespace steward {

std::string JsonText(const boost::json::value& value);
void AppendJsonText(const boost::json::value& value, std::string* out);

}  // namespace steward
