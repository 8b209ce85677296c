// Prompt-injection screening of one text: the entry point other modules use
// (the `injection` object of `steward scan --json`, the injection stage).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace steward::injection {

struct InjectionVerdict {
  double score = 0.0;                // calibrated, in [0, 1]
  std::string label;                 // "injection" | "benign"
  std::vector<std::string> signals;  // names of the signatures/features that fired
};

// Screens `text` with the default detector (signatures + the shipped model)
// and the default direct-input threshold.
InjectionVerdict ScreenText(std::string_view text);

// Same, labelling "injection" when score >= `threshold` (the injection stage
// uses a stricter threshold for external content).
InjectionVerdict ScreenText(std::string_view text, double threshold);

// The shipped model's thresholds for user input and for external content
// (tool results, retrieved documents).
double DefaultDirectThreshold();
double DefaultExternalThreshold();

}  // namespace steward::injection
