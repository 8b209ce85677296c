// Renderings of a Decision: the x-steward-policy header, the JSON the CLI
// and audit use, and a readable explanation.
#pragma once

#include <boost/json.hpp>
#include <string>

#include "policy/authorizer.h"

namespace steward::policy {

// "permit; rules=a,b; obligations=redact(EMAIL_ADDRESS,mask); bundle=<12 hex>"
// (header-safe: printable ASCII only).
std::string HeaderValue(const Decision& d);

// {"decision","reasons","obligations","errors","bundle_hash","message"}
boost::json::object DecisionToJson(const Decision& d);

// Multi-line text for `steward policy eval`.
std::string ExplainText(const Decision& d, const Bundle& bundle);

}  // namespace steward::policy
