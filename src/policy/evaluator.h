// Evaluates checked expressions against a Request. Expressions must have
// passed the checker (types and slots resolved); evaluation never throws and
// reports run-time failures (overflow, division by zero, regex engine
// failure) as an EvalError at the failing node.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "policy/ast.h"
#include "policy/errors.h"
#include "policy/request.h"

namespace steward::policy {

struct Value {
  Type type = Type::kUnknown;
  bool b = false;
  int64_t i = 0;
  double d = 0;
  std::string_view s;
  const std::vector<std::string>* strs = nullptr;  // kStringSet (null: empty)
  const std::vector<int64_t>* longs = nullptr;     // kLongSet (null: empty)
  const FindingStat* finding = nullptr;            // kFinding (null: none found)
};

bool Eval(const Expr& e, const Request& r, Value* out, EvalError* error);

// A rule condition: null means "always". False with *error on failure.
bool EvalCondition(const Expr* condition, const Request& r, bool* result, EvalError* error);

// Parses dotted-quad IPv4 text.
bool ParseIpv4(std::string_view text, uint32_t* addr);

}  // namespace steward::policy
