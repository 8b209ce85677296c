// The linear injection model and its data file.
//
// File format (text, UTF-8, one item per line, '#' starts a comment):
//   steward-injection-model 1
//   hash_bits <B>                      buckets = 2^B
//   bias <float>
//   calibration <a> <b> [<c>]          p = 1 / (1 + exp(-(a * logit + c * prior_logit + b)))
//                                      prior_logit: log-odds of the noisy-OR of the fired
//                                      signatures' hand-set priors (clipped to [0.01, 0.99])
//   threshold_direct <p>               suggested threshold for user input
//   threshold_external <p>             suggested (stricter) threshold for external content
//   weights <N>
//   <bucket> <float>                   N lines, buckets ascending, others are 0
// The trainer (steward-train-injection) writes it; docs/injection.md
// describes how it was made.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "injection/features.h"
#include "steward/status.h"

namespace steward::injection {

struct LinearModel {
  int hash_bits = kDefaultHashBits;
  double bias = 0.0;
  double calib_a = 1.0;
  double calib_b = 0.0;
  double calib_c = 0.0;  // weight of the signature prior's log-odds
  double threshold_direct = 0.5;
  double threshold_external = 0.35;
  std::vector<float> weights;  // 2^hash_bits

  // Raw decision value (before calibration).
  double Logit(const Features& f) const;
  // Logit contribution of one feature group.
  double GroupLogit(const FeatureGroup& g) const;
  // Calibrated probability of injection; `signature_prior` is the noisy-OR
  // of the fired signatures' priors (0 when none fired).
  double Calibrate(double logit, double signature_prior = 0.0) const;
};

// Log-odds of a signature prior, clipped to [0.01, 0.99].
double PriorLogit(double signature_prior);

// Parses a model file; errors name the line.
Result<LinearModel> ParseModel(std::string_view text);
// Writes the file format above; weights with |w| < prune are omitted.
std::string SerializeModel(const LinearModel& model, double prune = 0.0);

}  // namespace steward::injection
