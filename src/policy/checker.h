// Type-checks parsed policy files against the attribute schema and prepares
// them for evaluation: resolves attribute paths to slots, substitutes
// constants, folds constant sub-expressions, compiles `matches` patterns,
// validates obligations and annotations, extracts each rule's index scope and
// refuses rules that can never apply (constant-false conditions,
// contradictory scopes, rules always overridden by an unconditional forbid).
#pragma once

#include <vector>

#include "policy/ast.h"
#include "policy/errors.h"

namespace steward::policy {

// Checks and rewrites `files` in place; returns false with every error found
// (at most one per rule or constant) in `errors`. On success each rule has
// its id, message, index and scope set.
bool CheckFiles(std::vector<PolicyFile>* files, std::vector<CheckError>* errors);

// Deep copy of an expression (checker annotations included).
ExprPtr CloneExpr(const Expr& e);

// Entity type names: upper snake case (EMAIL_ADDRESS).
bool IsEntityTypeName(std::string_view name);

}  // namespace steward::policy
