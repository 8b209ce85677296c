// The policy AST: what the parser produces and the checker annotates.
//
// A bundle is a list of rules (plus named constants). A rule has an effect,
// a condition (head expressions, `when` and `unless` blocks conjoined) and
// obligations. The checker resolves attribute paths to schema slots, types
// every node and compiles regexes; the evaluator then walks the annotated
// tree without string lookups.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "policy/errors.h"
#include "policy/types.h"

namespace steward::policy {

class Regex;

enum class ExprKind {
  kBool,     // literal: bool_value
  kLong,     // literal: long_value
  kDouble,   // literal: double_value
  kString,   // literal: string_value
  kSet,      // literal list: kids; checker fills set_strings / set_longs
  kVar,      // principal | action | resource | context | a constant name: name
  kMember,   // kids[0].name
  kIndex,    // kids[0][kids[1]] (string literal key)
  kCall,     // kids[0].name(kids[1..])
  kNot,      // !kids[0]
  kNeg,      // -kids[0]
  kAnd,      // kids[0] && kids[1]
  kOr,       // kids[0] || kids[1]
  kCompare,  // kids[0] op kids[1]
  kArith,    // kids[0] op kids[1]
  kIn,       // kids[0] in kids[1]
  kHas,      // kids[0] has name
  // Produced by the checker only:
  kAttr,     // a schema attribute: slot
  kFinding,  // context.findings.<name>.<field>: name, finding_field
};

enum class Op { kNone, kEq, kNe, kLt, kLe, kGt, kGe, kAdd, kSub, kMul, kDiv, kMod };
const char* OpText(Op op);

enum class Method {
  kUnknown,
  kStartsWith,
  kEndsWith,
  kContains,
  kContainsAny,
  kContainsAll,
  kMatches,
  kSize,
  kInCidr,
};

enum class FindingField { kCount, kMaxScore };

struct Expr {
  ExprKind kind;
  SourceLoc loc;
  std::vector<std::unique_ptr<Expr>> kids;
  std::string name;  // var/member/method name, index key, finding type
  bool bool_value = false;
  int64_t long_value = 0;
  double double_value = 0;
  std::string string_value;
  Op op = Op::kNone;
  int height = 1;  // 1 + the tallest kid: bounds recursion in later passes

  // Checker annotations.
  Type type = Type::kUnknown;
  int slot = -1;
  Method method = Method::kUnknown;
  FindingField finding_field = FindingField::kCount;
  std::vector<std::string> set_strings;   // sorted, unique
  std::vector<int64_t> set_longs;         // sorted, unique
  std::shared_ptr<const Regex> regex;     // matches("...")
  uint32_t cidr_addr = 0, cidr_mask = 0;  // inCidr("a.b.c.d/n")

  Expr(ExprKind k, SourceLoc l) : kind(k), loc(std::move(l)) {}
};
using ExprPtr = std::unique_ptr<Expr>;

enum class Effect { kPermit, kForbid, kObligate };
const char* EffectName(Effect e);

enum class ObligationKind {
  kRedact,            // redact(["TYPE", ...], "mask"|"redact"|"hash"|"pseudonymize")
  kRequireReview,     // require_review("reason")
  kRoute,             // route("model@version")
  kLimit,             // limit("max_tokens"|"request_bytes"|"rpm"|"tpm", N)
  kStorePayloads,     // store_payloads("none"|"hashes"|"full")
  kRequireApprovals,  // require_approvals(N): N distinct admins (two-person rule)
};

struct ObligationCall {
  ObligationKind kind;
  std::string name;  // as written
  SourceLoc loc;
  std::vector<ExprPtr> args;
  // Checker results.
  std::vector<std::string> types;  // redact
  std::string text;                // mode / reason / route / limit key / store mode
  int64_t number = 0;              // limit / approvals
};

struct Annotation {
  std::string key;
  std::string value;
  SourceLoc loc;
};

// The dimensions rules are indexed by. A rule constrains a dimension when a
// top-level conjunct of its condition is `attr == "lit"` or `attr in [...]`.
enum class Dim { kRole, kAction, kModel };
constexpr int kNumDims = 3;

struct RuleScope {
  bool constrained[kNumDims] = {false, false, false};
  std::vector<std::string> values[kNumDims];  // sorted, unique; meaningful when constrained
  bool residual = false;  // the condition has conjuncts beyond the scope constraints
};

struct Rule {
  std::string id;       // @id("...") or "<file>:<line>"
  std::string message;  // @message("..."): shown to the caller on deny/review
  Effect effect = Effect::kPermit;
  SourceLoc loc;
  std::vector<Annotation> annotations;
  // Head expressions, `when` blocks and negated `unless` blocks, conjoined.
  ExprPtr condition;  // null: always true
  std::vector<ObligationCall> obligations;
  int index = 0;    // position in the bundle
  RuleScope scope;  // filled by the checker
};

struct ConstDecl {
  std::string name;
  SourceLoc loc;
  ExprPtr value;
};

struct PolicyFile {
  std::string path;
  std::vector<ConstDecl> constants;
  std::vector<Rule> rules;
};

}  // namespace steward::policy
