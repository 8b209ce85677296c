// The injection detector: normaliser + signatures + the linear model.
//
// Thread-safe: a Detector is immutable after creation and shared by every
// request. Screen() does no I/O; it normalises into a per-thread buffer.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "injection/model.h"
#include "injection/normalize.h"
#include "injection/screen.h"
#include "injection/signatures.h"
#include "steward/status.h"

namespace steward::injection {

struct Screening {
  double score = 0.0;                // calibrated, [0, 1]
  double model_logit = 0.0;          // raw decision value (0 without a model)
  std::vector<std::string> signals;  // fired signatures, normaliser flags, "model.ngrams"
  size_t signature_hits = 0;
};

class Detector {
 public:
  // `model` may be null: the score is then a noisy-OR of the signature priors.
  Detector(const SignatureSet* signatures, std::shared_ptr<const LinearModel> model);

  // The process-wide default: built-in signatures and the shipped model,
  // found in order at $STEWARD_DATA_DIR/injection/model.txt,
  // <dir of the executable>/../data/injection/model.txt, then the copy
  // embedded at build time.
  static const Detector& Default();
  // Where Default() took its model from ("file:<path>", "embedded", "none").
  static std::string DefaultModelSource();

  Screening Screen(std::string_view text) const;
  // The signature path alone (normalise + signatures, no model): used by the
  // benchmark and as the fallback scorer.
  Screening ScreenSignatures(std::string_view text) const;

  const LinearModel* model() const { return model_.get(); }
  double threshold_direct() const;
  double threshold_external() const;

 private:
  Screening Finish(const NormalizedText& norm, const SignatureHits& hits, bool rot13_hit,
                   bool use_model) const;

  const SignatureSet* signatures_;
  std::shared_ptr<const LinearModel> model_;
  NormalizeOptions normalize_options_;
  size_t exact_term_limit_ = 0;  // ExactSumTermLimit of the model's weights
};

// Scans every view of `norm` (main, decoded, rot13); `rot13_hit` tells
// whether a confident signature fired only in the rot13 view.
void ScanAllViews(const SignatureSet& signatures, const NormalizedText& norm, SignatureHits& hits,
                  bool* rot13_hit);

// The model's input for `text`, exactly as Detector::Screen computes it (the
// trainer uses this so training and scoring cannot drift apart).
// `signature_prior` (optional) receives the noisy-OR of the fired priors.
void FeaturesForText(const SignatureSet& signatures, std::string_view text, int hash_bits,
                     Features* out, double* signature_prior = nullptr);

// Noisy-OR of the priors of the fired signatures.
double SignaturePrior(const SignatureSet& signatures, const SignatureHits& hits);

// Loads a model file from disk.
Result<std::shared_ptr<const LinearModel>> LoadModelFile(const std::string& path);
// The model text embedded at build time (empty if the build had none).
std::string_view EmbeddedModelText();

}  // namespace steward::injection
