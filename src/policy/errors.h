// Source locations and the error type of each policy stage. Every error
// names file:line:col so `steward policy check` output can be jumped to.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "steward/status.h"

namespace steward::policy {

struct SourceLoc {
  std::string file;              // path as given to the loader
  int line = 0;                  // 1-based
  int col = 0;                   // 1-based, in bytes
  std::string ToString() const;  // "file:line:col"
};

// Common shape of all policy errors: a location and a message.
struct Diagnostic {
  SourceLoc loc;
  std::string message;
  std::string ToString() const { return loc.ToString() + ": " + message; }
};

// Bad characters, unterminated strings, malformed numbers.
struct LexError : Diagnostic {};
// Token sequences that do not form rules.
struct ParseError : Diagnostic {};
// Unknown attributes, type mismatches, unreachable rules, bad obligations.
struct CheckError : Diagnostic {};
// A rule that failed at evaluation (overflow, division by zero, ...).
struct EvalError : Diagnostic {};

// Joins diagnostics one per line into an InvalidArgument status.
template <typename E>
Status DiagnosticsToStatus(const std::vector<E>& errors) {
  std::string text;
  for (const auto& e : errors) {
    if (!text.empty()) text += "\n";
    text += e.ToString();
  }
  return InvalidArgument(text);
}

}  // namespace steward::policy
