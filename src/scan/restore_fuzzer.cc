// libFuzzer: pseudonymize then restore. The input is split into a value
// list (before the first 0 byte, values separated by '\n') and a reply
// (after it). Every value is pseudonymized; the reply with the
// placeholders spliced in is restored in chunks of a fuzzer-chosen size and
// must equal the reply with the original values spliced in.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "scan/transform.h"

using namespace steward::scan;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t zero = in.find('\0');
  if (zero == std::string_view::npos || zero == 0) return 0;
  std::string_view values_part = in.substr(0, zero);
  std::string_view reply = in.substr(zero + 1);
  static constexpr std::string_view kTypes[] = {"EMAIL_ADDRESS", "PERSON", "PHONE_NUMBER",
                                                "US_SSN", "CREDIT_CARD", "US_PASSPORT"};
  Vault vault(1234);
  std::vector<std::pair<std::string, std::string>> pairs;  // original, placeholder
  size_t pos = 0, idx = 0;
  while (pos <= values_part.size() && pairs.size() < 16) {
    size_t nl = values_part.find('\n', pos);
    std::string_view v = values_part.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    // Values must be distinct from other placeholders to be restorable.
    if (!v.empty() && v.size() < 64 && v.find('<') == std::string_view::npos) {
      std::string p(vault.Pseudonymize(kTypes[idx++ % 6], v, in));
      pairs.emplace_back(std::string(v), p);
    }
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  if (pairs.empty()) return 0;
  // Build "reply" with a placeholder inserted after each '|' of the reply.
  std::string with_placeholders, want;
  size_t k = 0;
  for (char c : reply) {
    with_placeholders.push_back(c);
    want.push_back(c);
    if (c == '|') {
      with_placeholders += pairs[k % pairs.size()].second;
      want += pairs[k % pairs.size()].first;
      ++k;
    }
  }
  // Only check inputs where the reply text itself cannot form a placeholder.
  for (const auto& [orig, ph] : pairs)
    if (std::string_view(reply).find(ph.substr(0, 1)) != std::string_view::npos) return 0;
  size_t chunk = 1 + (reply.empty() ? 0 : static_cast<unsigned char>(reply[0]) % 11);
  StreamRestorer r(&vault);
  std::string got;
  for (size_t i = 0; i < with_placeholders.size(); i += chunk) {
    got += r.Push(std::string_view(with_placeholders).substr(i, chunk));
    if (r.held() >= vault.max_placeholder_length() + chunk) std::abort();
  }
  got += r.Flush();
  if (got != want) std::abort();
  return 0;
}
