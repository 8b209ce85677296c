// `matches` patterns, compiled with Vectorscan (an automata-based engine:
// matching time is linear in the input, no backtracking blow-up). Patterns
// that need backtracking (back-references, look-around) are refused at load.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "steward/status.h"

struct hs_database;

namespace steward::policy {

class Regex {
 public:
  // Compiles `pattern` (PCRE syntax subset; `(?i)` etc. allowed). Search
  // semantics: true when any substring matches; anchor with ^ and $.
  static Result<std::shared_ptr<const Regex>> Compile(const std::string& pattern);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // False with *error set when the engine fails (out of memory).
  bool Matches(std::string_view text, std::string* error) const;
  const std::string& pattern() const { return pattern_; }

 private:
  Regex(std::string pattern, hs_database* db) : pattern_(std::move(pattern)), db_(db) {}
  std::string pattern_;
  hs_database* db_;
};

}  // namespace steward::policy
