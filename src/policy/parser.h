// Parses policy source into a PolicyFile (see docs/policy.md for the grammar).
#pragma once

#include <string>
#include <string_view>

#include "policy/ast.h"
#include "policy/errors.h"

namespace steward::policy {

// Expressions nested deeper than this are refused (bounds recursion).
constexpr int kMaxNesting = 128;
// Expression trees taller than this are refused (bounds every tree walk).
constexpr int kMaxHeight = 512;

// Parses one file. Lexer errors are reported as ParseError at their location.
bool ParseFile(std::string_view source, const std::string& path, PolicyFile* out,
               ParseError* error);

}  // namespace steward::policy
