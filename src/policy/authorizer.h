// A compiled policy bundle and the authorizer that decides requests.
//
// Semantics (as Cedar's): default deny; any matching `forbid` denies and
// overrides every permit; otherwise any matching `permit` permits, and the
// obligations of every matching `permit` and `obligate` rule combine. A
// `require_review` obligation turns a permit into "review". A rule whose
// condition fails at evaluation is skipped and reported in Decision::errors.
//
// Rules are indexed by principal.role, action and resource.name (from the
// scope constraints the checker extracts), so a decision only evaluates the
// rules that can apply to the request.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "policy/ast.h"
#include "policy/errors.h"
#include "policy/request.h"
#include "steward/status.h"

namespace steward::policy {

struct SourceFile {
  std::string path;
  std::string text;
};

struct Obligations {
  std::map<std::string, std::set<std::string>> redact;  // mode -> entity types
  std::string store_payloads;                           // "" | none | hashes | full
  std::string route;                                    // "" | model[@version]
  std::map<std::string, int64_t> limits;                // name -> smallest value
  std::map<std::string, std::string> limit_rules;       // name -> id of the rule that set it
  std::vector<std::string> review_reasons;
  int approvals = 0;  // distinct admins that must approve (0/1: none beyond the caller)

  // "redact(EMAIL_ADDRESS|PERSON,mask)", "store_payloads(none)", "route(m@v)",
  // "limit(max_tokens=100)", "require_review(reason)", "require_approvals(2)".
  std::vector<std::string> Render() const;
  bool empty() const { return Render().empty(); }
};

enum class Verdict { kPermit, kDeny, kReview };
const char* VerdictName(Verdict v);  // "permit" | "deny" | "review"

struct Decision {
  Verdict verdict = Verdict::kDeny;
  std::vector<std::string> reasons;  // ids of the rules that decided
  Obligations obligations;           // empty unless permitted / review
  std::vector<std::string> errors;   // "rule-id: file:line:col: message"
  std::string bundle_hash;
  std::string message;  // for the caller: names the deciding rule
};

class Bundle {
 public:
  // Parses and checks `sources`; the error lists every problem, one
  // "file:line:col: message" per line.
  static Result<std::shared_ptr<const Bundle>> Compile(std::vector<SourceFile> sources);

  Decision Authorize(const Request& request) const;
  // The same decision without the index: every rule is evaluated. For
  // benchmarks (the baseline) and tests (index equivalence).
  Decision AuthorizeUnindexed(const Request& request) const;

  const std::string& hash() const { return hash_; }
  const std::vector<const Rule*>& rules() const { return rules_; }
  const std::vector<std::string>& files() const { return paths_; }

 private:
  Bundle() = default;
  void BuildIndex();
  // Decides from the candidate rules set in `cand` (a bitset over rules).
  Decision Decide(const Request& request, const uint64_t* cand) const;

  using Bits = std::vector<uint64_t>;
  struct DimIndex {
    std::unordered_map<std::string, Bits> by_value;
    Bits unconstrained;
  };

  std::vector<PolicyFile> files_;
  std::vector<std::string> paths_;
  std::vector<const Rule*> rules_;
  DimIndex dims_[kNumDims];
  size_t words_ = 0;
  std::string hash_;
};

// Reads policy sources: each path is a file, or a directory whose *.policy
// files are read in name order.
Result<std::vector<SourceFile>> ReadPolicySources(const std::vector<std::string>& paths);

// Loads and compiles the bundle at `paths`.
Result<std::shared_ptr<const Bundle>> LoadBundle(const std::vector<std::string>& paths);

}  // namespace steward::policy
