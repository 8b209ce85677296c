// Helpers shared by the policy unit tests.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "policy/authorizer.h"
#include "policy/request.h"

namespace steward::policy::testing {

// Compiles one source text as "test.policy"; fails the test on error.
inline std::shared_ptr<const Bundle> MustCompile(const std::string& text) {
  auto b = Bundle::Compile({{"test.policy", text}});
  EXPECT_TRUE(b.ok()) << b.status().message();
  return b.ok() ? *b : nullptr;
}

// The compile error text ("" if it compiled).
inline std::string CompileError(const std::string& text) {
  auto b = Bundle::Compile({{"test.policy", text}});
  return b.ok() ? "" : b.status().message();
}

inline Request MustRequest(const std::string& json) {
  auto r = RequestFromJsonText(json);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? *r : Request();
}

}  // namespace steward::policy::testing
