// Training and evaluation helpers for the injection model, shared by the
// trainer tool (steward-train-injection) and the quality test.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "injection/detector.h"
#include "injection/model.h"
#include "steward/status.h"

namespace steward::injection {

struct Example {
  std::string id;
  std::string text;
  bool malicious = false;
  std::string category;
  std::string license;
};

// Reads JSON Lines rows {id, text, label: malicious|benign, category, license}.
Result<std::vector<Example>> ReadExamples(const std::string& path);

// Only MIT, Apache-2.0, CC-BY-4.0 and CC0 rows may train shipped weights
// (a non-commercial clause anywhere disqualifies the row).
bool LicenseAllowsTraining(std::string_view license);

// The held-out quarter of the shared dataset, chosen by a hash of the row id:
// the trainer never reads these rows, the quality test evaluates on them.
bool IsHeldOut(std::string_view id);

struct TrainOptions {
  int hash_bits = kDefaultHashBits;
  int epochs = 12;
  double learning_rate = 0.2;
  double l2 = 1e-5;
  uint64_t seed = 20261127;
  double prune = 2e-3;              // weights smaller than this are not written
  double ngram_dropout = 0.0;       // share of passes that train on indicators alone
  int folds = 5;                    // cross-fitting for calibration and thresholds
  double target_fpr_direct = 0.01;  // threshold_direct keeps out-of-fold FPR at most this
  double target_fpr_external = 0.03;
};

struct TrainReport {
  size_t examples = 0;
  size_t malicious = 0;
  double oof_auc = 0.0;  // cross-fitted ROC AUC on the training rows
  double oof_tpr_at_threshold = 0.0;
  double oof_fpr_at_threshold = 0.0;
};

LinearModel Train(const std::vector<Example>& examples, const TrainOptions& options,
                  TrainReport* report);

// --- evaluation ---------------------------------------------------------------
double RocAuc(const std::vector<double>& positives, const std::vector<double>& negatives);
// Highest TPR reachable while the FPR stays <= max_fpr.
double TprAtFpr(const std::vector<double>& positives, std::vector<double> negatives,
                double max_fpr);
double FractionAtOrAbove(const std::vector<double>& scores, double threshold);

}  // namespace steward::injection
