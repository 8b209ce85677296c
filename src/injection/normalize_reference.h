// Test-only reference normaliser (see normalize_reference.cc).
#pragma once

#include <string>
#include <string_view>

#include "injection/normalize.h"

namespace steward::injection::reference {

NormalizedText Normalize(std::string_view input, const NormalizeOptions& options = {});
std::string FoldText(std::string_view input, uint32_t* flags = nullptr);

}  // namespace steward::injection::reference
