// libFuzzer target: the parser, checker and evaluator on arbitrary input.
// The input is split at the first NUL byte: policy text before it, a JSON
// request after it. Any input must produce an error or a decision, never a
// crash, hang or sanitizer report.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "policy/authorizer.h"
#include "policy/explain.h"
#include "policy/request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t nul = input.find('\0');
  std::string policy(input.substr(0, nul));
  std::string request_text =
      nul == std::string_view::npos ? "{}" : std::string(input.substr(nul + 1));
  auto bundle = steward::policy::Bundle::Compile({{"fuzz.policy", policy}});
  auto request = steward::policy::RequestFromJsonText(request_text);
  steward::policy::Request r = request.ok() ? *request : steward::policy::Request();
  if (bundle.ok()) {
    steward::policy::Decision d = (*bundle)->Authorize(r);
    (void)steward::policy::HeaderValue(d);
    (void)steward::policy::ExplainText(d, **bundle);
  }
  return 0;
}
