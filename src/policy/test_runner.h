// `steward policy test DIR`: policy tests as data files, like `opa test`.
//
// DIR holds the bundle (*.policy) and test files (*.json, in DIR or
// DIR/tests/). A test file is one case or {"cases": [case, ...]}; a case is
//   {"name": "...", "input": {request},
//    "want_decision": "permit"|"deny"|"review",
//    "want_reasons": ["rule-id", ...],        (optional: exact, order-free)
//    "want_obligations": ["redact(...)", ...], (optional: exact, order-free)
//    "want_errors": 0}                          (optional: number of rule errors)
#pragma once

#include <string>
#include <vector>

#include "policy/authorizer.h"
#include "policy/request.h"
#include "steward/status.h"

namespace steward::policy {

struct TestCase {
  std::string file;
  std::string name;
  Request input;
  std::string want_decision;
  bool check_reasons = false;
  std::vector<std::string> want_reasons;
  bool check_obligations = false;
  std::vector<std::string> want_obligations;
  int want_errors = -1;  // -1: not checked
};

// Parses the cases of one test file (errors name the file and case).
Result<std::vector<TestCase>> ParseTestFile(const std::string& path, const std::string& text);

// The *.json test files of `dir` and `dir/tests`, sorted.
Result<std::vector<std::string>> FindTestFiles(const std::string& dir);

struct TestReport {
  int passed = 0;
  int failed = 0;
  std::string text;  // one line per pass, a readable diff per failure, a summary
};

TestReport RunTests(const Bundle& bundle, const std::vector<TestCase>& cases);

}  // namespace steward::policy
