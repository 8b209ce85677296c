#include "injection/detector.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>

#include "injection/embedded.h"

namespace steward::injection {
namespace {

std::string ExecutableDir() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "";
  std::string path(buf, static_cast<size_t>(n));
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash);
}

bool FileExists(const std::string& path) { return access(path.c_str(), R_OK) == 0; }

struct DefaultState {
  std::shared_ptr<const LinearModel> model;
  std::string source = "none";
};

DefaultState LoadDefault() {
  DefaultState st;
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("STEWARD_DATA_DIR"); env && *env) {
    candidates.push_back(std::string(env) + "/injection/model.txt");
  }
  std::string exe_dir = ExecutableDir();
  if (!exe_dir.empty()) {
    candidates.push_back(exe_dir + "/../data/injection/model.txt");
    candidates.push_back(exe_dir + "/../../data/injection/model.txt");  // build/<sub>/binary
  }
  for (const std::string& path : candidates) {
    if (!FileExists(path)) continue;
    auto loaded = LoadModelFile(path);
    if (loaded.ok()) {
      st.model = *loaded;
      st.source = "file:" + path;
      return st;
    }
    // A broken file must not silently weaken screening: say so, then use
    // the embedded copy.
    std::fprintf(stderr, "steward: ignoring injection model %s: %s\n", path.c_str(),
                 loaded.status().message().c_str());
  }
  std::string_view embedded = EmbeddedModelText();
  if (!embedded.empty()) {
    auto parsed = ParseModel(embedded);
    DropEmbeddedPages(embedded);  // parsed into weights; the text is not read again
    if (parsed.ok()) {
      st.model = std::make_shared<const LinearModel>(std::move(*parsed));
      st.source = "embedded";
    } else {
      std::fprintf(stderr, "steward: embedded injection model unusable: %s\n",
                   parsed.status().message().c_str());
    }
  }
  return st;
}

const DefaultState& DefaultStateOnce() {
  static const DefaultState st = LoadDefault();
  return st;
}

}  // namespace

Result<std::shared_ptr<const LinearModel>> LoadModelFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot read injection model " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  auto parsed = ParseModel(ss.str());
  if (!parsed.ok()) return parsed.status().WithContext(path);
  return std::make_shared<const LinearModel>(std::move(*parsed));
}

double SignaturePrior(const SignatureSet& signatures, const SignatureHits& hits) {
  double keep = 1.0;
  for (size_t i = 0; i < hits.size() && i < signatures.size(); ++i) {
    if (hits[i]) keep *= 1.0 - signatures.at(i).prior;
  }
  return 1.0 - keep;
}

void FeaturesForText(const SignatureSet& signatures, std::string_view text, int hash_bits,
                     Features* out, double* signature_prior) {
  NormalizedText norm = Normalize(text);
  SignatureHits hits;
  bool rot13_hit = false;
  ScanAllViews(signatures, norm, hits, &rot13_hit);
  ExtractFeatures(norm, signatures, hits, hash_bits, out);
  if (signature_prior) *signature_prior = SignaturePrior(signatures, hits);
}

Detector::Detector(const SignatureSet* signatures, std::shared_ptr<const LinearModel> model)
    : signatures_(signatures), model_(std::move(model)) {
  if (model_) exact_term_limit_ = ExactSumTermLimit(model_->weights.data(), model_->weights.size());
}

const Detector& Detector::Default() {
  static const Detector detector(&SignatureSet::Builtin(), DefaultStateOnce().model);
  return detector;
}

std::string Detector::DefaultModelSource() { return DefaultStateOnce().source; }

double Detector::threshold_direct() const { return model_ ? model_->threshold_direct : 0.5; }
double Detector::threshold_external() const { return model_ ? model_->threshold_external : 0.35; }

void ScanAllViews(const SignatureSet& signatures, const NormalizedText& norm, SignatureHits& hits,
                  bool* rot13_hit) {
  const SignatureSet* signatures_ = &signatures;
  signatures_->ScanAll(norm, hits);
  *rot13_hit = false;
  if (!norm.rot13.empty()) {
    // rot13 text only counts when it reads as a confident attack; weak
    // signatures on rot13 noise would be false positives.
    SignatureHits rot;
    signatures_->Scan(norm.rot13, rot);
    for (size_t i = 0; i < rot.size(); ++i) {
      if (rot[i] && !hits[i] && signatures_->at(i).prior >= 0.7) {
        hits[i] = 1;
        *rot13_hit = true;
      }
    }
  }
}

Screening Detector::Finish(const NormalizedText& norm, const SignatureHits& hits, bool rot13_hit,
                           bool use_model) const {
  Screening s;
  double keep = 1.0;  // noisy-OR of the priors
  for (size_t i = 0; i < hits.size(); ++i) {
    if (!hits[i]) continue;
    ++s.signature_hits;
    s.signals.push_back(signatures_->at(i).name);
    keep *= 1.0 - signatures_->at(i).prior;
  }
  for (std::string& f : FlagNames(norm.flags)) s.signals.push_back(std::move(f));
  if (rot13_hit) s.signals.emplace_back("encoding.rot13");
  if (use_model && model_) {
    // Same sums as ExtractFeatures + LinearModel::Logit, without building
    // the feature index vectors (the trainer uses those).
    const float* w = model_->weights.data();
    const size_t n = model_->weights.size();
    NgramTerms terms = ScoreNgrams(norm, w, n, model_->hash_bits, exact_term_limit_);
    double indicators = ScoreIndicators(norm, *signatures_, hits, w, n, model_->hash_bits);
    double ngram = terms.char_ngrams + terms.word_ngrams;
    s.model_logit = model_->bias + terms.char_ngrams + terms.word_ngrams + indicators;
    s.score = model_->Calibrate(s.model_logit, 1.0 - keep);
    // The n-grams alone argue for injection: worth naming as a signal.
    if (model_->Calibrate(model_->bias + ngram) >= model_->threshold_direct) {
      s.signals.emplace_back("model.ngrams");
    }
  } else {
    s.score = 1.0 - keep;
  }
  return s;
}

namespace {
// The normalised views of the text being screened on this thread, reused
// from call to call (its buffers keep their capacity).
NormalizedText& ThreadNormalized() {
  thread_local NormalizedText norm;
  return norm;
}
// One huge text must not pin megabytes to the thread for good.
void ReleaseIfHuge(NormalizedText& norm) {
  if (norm.text.capacity() > (size_t{1} << 20)) norm = NormalizedText();
}
}  // namespace

Screening Detector::Screen(std::string_view text) const {
  NormalizedText& norm = ThreadNormalized();
  Normalize(text, normalize_options_, &norm);
  SignatureHits hits;
  bool rot13_hit = false;
  ScanAllViews(*signatures_, norm, hits, &rot13_hit);
  Screening s = Finish(norm, hits, rot13_hit, true);
  ReleaseIfHuge(norm);
  return s;
}

Screening Detector::ScreenSignatures(std::string_view text) const {
  NormalizedText& norm = ThreadNormalized();
  Normalize(text, normalize_options_, &norm);
  SignatureHits hits;
  bool rot13_hit = false;
  ScanAllViews(*signatures_, norm, hits, &rot13_hit);
  Screening s = Finish(norm, hits, rot13_hit, false);
  ReleaseIfHuge(norm);
  return s;
}

}  // namespace steward::injection
