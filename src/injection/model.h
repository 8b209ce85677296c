// The linear injection model and its data file.
//
// File format (text, UTF-8, one item per line, '#' starts a comment):
//   steward-injection-model 1
//   hash_bits <B>                      buckets = 2^B
//   bias <float>
//   calibration <a> <b>               p = 1 / (1 + exp(-(a * logit + b)))
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
  double threshold_direct = 0.5;
  double threshold_external = 0.35;
  std::vector<float> weights;  // 2^hash_bits

  // Raw decision value (before calibration).
  double Logit(const Features& f) const;
  // Logit contribution of one feature group.
  double GroupLogit(const FeatureGroup& g) const;
  // Calibrated probability of injection.
  double Calibrate(double logit) const;
};

// Parses a model file; errors name the line.
Result<LinearModel> ParseModel(std::string_view text);
// Writes the file format above; weights with |w| < prune are omitted.
std::string SerializeModel(const LinearModel& model, double prune = 0.0);

}  // namespace steward::injection
