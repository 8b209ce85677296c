#include "injection/trainer.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <fstream>
#include <numeric>
#include <random>

namespace steward::injection {
namespace {

uint64_t Fnv(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

double Sigmoid(double z) {
  if (z > 40) return 1.0;
  if (z < -40) return 0.0;
  return 1.0 / (1.0 + std::exp(-z));
}

struct Row {
  Features f;
  double prior = 0;  // signature noisy-OR
  double y = 0;
};

// Portable Fisher-Yates (std::shuffle's output differs between libraries).
void Shuffle(std::vector<size_t>& v, std::mt19937_64& rng) {
  for (size_t i = v.size(); i > 1; --i) {
    size_t j = static_cast<size_t>(rng() % i);
    std::swap(v[i - 1], v[j]);
  }
}

double Score(const LinearModel& m, const Features& f) { return m.Logit(f); }

// Logistic regression by AdaGrad SGD with class-balanced weights and L2 on
// the touched weights.
LinearModel Fit(const std::vector<Row>& rows, const std::vector<size_t>& subset,
                const TrainOptions& o) {
  LinearModel m;
  m.hash_bits = o.hash_bits;
  m.weights.assign(size_t{1} << o.hash_bits, 0.0f);
  std::vector<float> g2(m.weights.size(), 0.0f);
  double bias_g2 = 0.0;
  size_t pos = 0;
  for (size_t i : subset) pos += rows[i].y > 0.5;
  size_t neg = subset.size() - pos;
  double w_pos = pos ? subset.size() / (2.0 * pos) : 1.0;
  double w_neg = neg ? subset.size() / (2.0 * neg) : 1.0;
  // Signatures and normaliser flags are evidence for injection by design:
  // their weights are kept >= 0 (projected gradient), so a rare benign
  // example that trips one cannot teach the model to read it as benign.
  std::vector<uint8_t> nonneg(m.weights.size(), 0);
  const SignatureSet& sigs = SignatureSet::Builtin();
  for (size_t i = 0; i < sigs.size(); ++i) {
    nonneg[IndicatorBucket("sig:" + sigs.at(i).name, o.hash_bits)] = 1;
  }
  for (const std::string& f : FlagNames(~0u)) nonneg[IndicatorBucket("flag:" + f, o.hash_bits)] = 1;
  std::mt19937_64 rng(o.seed);
  std::vector<size_t> order = subset;
  for (int epoch = 0; epoch < o.epochs; ++epoch) {
    Shuffle(order, rng);
    for (size_t i : order) {
      const Row& r = rows[i];
      // Group dropout: some passes see only the indicators (signatures,
      // flags), so their weights carry evidence on their own instead of
      // being explained away by memorised n-grams.
      bool indicators_only = std::uniform_real_distribution<double>(0, 1)(rng) < o.ngram_dropout;
      double z = indicators_only ? m.bias + m.GroupLogit(r.f.indicators) : Score(m, r.f);
      double p = Sigmoid(z);
      double g = (p - r.y) * (r.y > 0.5 ? w_pos : w_neg);
      auto update = [&](const FeatureGroup& grp) {
        for (uint32_t idx : grp.indices) {
          double grad = g * grp.scale + o.l2 * m.weights[idx];
          g2[idx] += static_cast<float>(grad * grad);
          m.weights[idx] -= static_cast<float>(o.learning_rate * grad / std::sqrt(g2[idx] + 1e-8));
          if (nonneg[idx] && m.weights[idx] < 0) m.weights[idx] = 0;
        }
      };
      if (!indicators_only) {
        update(r.f.char_ngrams);
        update(r.f.word_ngrams);
      }
      update(r.f.indicators);
      bias_g2 += g * g;
      m.bias -= o.learning_rate * g / std::sqrt(bias_g2 + 1e-8);
    }
  }
  return m;
}

// Platt scaling over two inputs: the model's decision value z and the
// signatures' prior log-odds q; finds a, c, b minimising the log loss of
// sigmoid(a*z + c*q + b) by Newton steps (with a small ridge for stability).
void FitPlatt(const std::vector<double>& z, const std::vector<double>& q,
              const std::vector<double>& y, double* a, double* b, double* c) {
  double w[3] = {1.0, 0.0, 0.0};  // a, c, b
  for (int it = 0; it < 100; ++it) {
    double g[3] = {0, 0, 0};
    double h[3][3] = {{1e-6, 0, 0}, {0, 1e-6, 0}, {0, 0, 1e-6}};
    for (size_t i = 0; i < z.size(); ++i) {
      double x[3] = {z[i], q[i], 1.0};
      double p = Sigmoid(w[0] * x[0] + w[1] * x[1] + w[2] * x[2]);
      double d = p - y[i];
      double v = p * (1 - p);
      for (int r = 0; r < 3; ++r) {
        g[r] += d * x[r];
        for (int k = 0; k < 3; ++k) h[r][k] += v * x[r] * x[k];
      }
    }
    for (int r = 0; r < 3; ++r) {
      g[r] += 1e-3 * w[r];
      h[r][r] += 1e-3;
    }
    // Solve h * step = g (3x3, Cramer's rule).
    auto det3 = [](double m[3][3]) {
      return m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
             m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
             m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
    };
    double det = det3(h);
    if (std::fabs(det) < 1e-18) break;
    double step[3];
    for (int col = 0; col < 3; ++col) {
      double m[3][3];
      for (int r = 0; r < 3; ++r) {
        for (int k = 0; k < 3; ++k) m[r][k] = k == col ? g[r] : h[r][k];
      }
      step[col] = det3(m) / det;
    }
    double moved = 0;
    for (int r = 0; r < 3; ++r) {
      w[r] -= step[r];
      moved += std::fabs(step[r]);
    }
    if (moved < 1e-9) break;
  }
  *a = w[0];
  *c = w[1];
  *b = w[2];
  if (*c < 0) {
    // The signatures' prior may only add evidence: refit without it.
    std::vector<double> zero(q.size(), 0.0);
    FitPlatt(z, zero, y, a, b, c);
    *c = 0;
  }
}

}  // namespace

Result<std::vector<Example>> ReadExamples(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound("cannot read " + path);
  std::vector<Example> out;
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(line, ec);
    if (ec || !v.is_object()) {
      return InvalidArgument(path + ":" + std::to_string(line_no) + ": not a JSON object");
    }
    const auto& o = v.as_object();
    auto str = [&](const char* key) -> std::string {
      auto it = o.find(key);
      return it != o.end() && it->value().is_string() ? std::string(it->value().as_string()) : "";
    };
    Example e;
    e.id = str("id");
    e.text = str("text");
    std::string label = str("label");
    if (label != "malicious" && label != "benign") {
      return InvalidArgument(path + ":" + std::to_string(line_no) +
                             ": label must be malicious or benign");
    }
    e.malicious = label == "malicious";
    e.category = str("category");
    e.license = str("license");
    out.push_back(std::move(e));
  }
  return out;
}

bool LicenseAllowsTraining(std::string_view license) {
  if (license.find("NC") != std::string_view::npos) return false;
  for (std::string_view ok : {"MIT", "Apache-2.0", "CC-BY-4.0", "CC0"}) {
    if (license.substr(0, ok.size()) == ok) return true;
  }
  return false;
}

bool IsHeldOut(std::string_view id) { return Fnv(id) % 4 == 0; }

LinearModel Train(const std::vector<Example>& examples, const TrainOptions& o,
                  TrainReport* report) {
  const SignatureSet& sigs = SignatureSet::Builtin();
  std::vector<Row> rows(examples.size());
  for (size_t i = 0; i < examples.size(); ++i) {
    FeaturesForText(sigs, examples[i].text, o.hash_bits, &rows[i].f, &rows[i].prior);
    rows[i].y = examples[i].malicious ? 1.0 : 0.0;
  }
  // Cross-fitted decision values for calibration and thresholds.
  std::vector<double> oof(rows.size(), 0.0);
  for (int fold = 0; fold < o.folds; ++fold) {
    std::vector<size_t> train_idx, test_idx;
    for (size_t i = 0; i < rows.size(); ++i) {
      (static_cast<int>(Fnv(examples[i].id) % o.folds) == fold ? test_idx : train_idx).push_back(i);
    }
    LinearModel m = Fit(rows, train_idx, o);
    for (size_t i : test_idx) oof[i] = Score(m, rows[i].f);
  }
  std::vector<size_t> all(rows.size());
  std::iota(all.begin(), all.end(), 0);
  LinearModel model = Fit(rows, all, o);
  std::vector<double> ys, qs;
  for (const Row& r : rows) {
    ys.push_back(r.y);
    qs.push_back(PriorLogit(r.prior));
  }
  FitPlatt(oof, qs, ys, &model.calib_a, &model.calib_b, &model.calib_c);

  std::vector<double> pos, neg;
  for (size_t i = 0; i < rows.size(); ++i) {
    (rows[i].y > 0.5 ? pos : neg).push_back(model.Calibrate(oof[i], rows[i].prior));
  }
  // Threshold: the lowest score keeping the out-of-fold FPR within target,
  // never below 0.5 for user input.
  auto threshold_for = [&](double target) {
    std::vector<double> sorted = neg;
    std::sort(sorted.begin(), sorted.end(), std::greater<>());
    size_t k = static_cast<size_t>(std::floor(target * sorted.size()));
    return k < sorted.size() ? std::min(0.99, sorted[k] + 1e-6) : 0.0;
  };
  model.threshold_direct = std::max(0.5, threshold_for(o.target_fpr_direct));
  model.threshold_external =
      std::min(model.threshold_direct, std::max(0.3, threshold_for(o.target_fpr_external)));
  if (report) {
    report->examples = rows.size();
    report->malicious = pos.size();
    report->oof_auc = RocAuc(pos, neg);
    report->oof_tpr_at_threshold = FractionAtOrAbove(pos, model.threshold_direct);
    report->oof_fpr_at_threshold = FractionAtOrAbove(neg, model.threshold_direct);
  }
  return model;
}

double RocAuc(const std::vector<double>& positives, const std::vector<double>& negatives) {
  if (positives.empty() || negatives.empty()) return 0.0;
  std::vector<std::pair<double, int>> all;
  for (double p : positives) all.push_back({p, 1});
  for (double n : negatives) all.push_back({n, 0});
  std::sort(all.begin(), all.end());
  // Mann-Whitney U with average ranks for ties.
  double rank_sum = 0;
  size_t i = 0;
  while (i < all.size()) {
    size_t j = i;
    while (j < all.size() && all[j].first == all[i].first) ++j;
    double avg_rank = (i + 1 + j) / 2.0;
    for (size_t k = i; k < j; ++k) {
      if (all[k].second) rank_sum += avg_rank;
    }
    i = j;
  }
  double np = positives.size(), nn = negatives.size();
  return (rank_sum - np * (np + 1) / 2) / (np * nn);
}

double TprAtFpr(const std::vector<double>& positives, std::vector<double> negatives,
                double max_fpr) {
  if (positives.empty()) return 0.0;
  std::sort(negatives.begin(), negatives.end(), std::greater<>());
  size_t k = static_cast<size_t>(std::floor(max_fpr * negatives.size() + 1e-9));
  if (k >= negatives.size()) return 1.0;
  // Flag scores strictly above the (k+1)-th highest negative: at most k
  // negatives are flagged.
  double t = negatives[k];
  size_t hit = 0;
  for (double p : positives) hit += p > t;
  return static_cast<double>(hit) / positives.size();
}

double FractionAtOrAbove(const std::vector<double>& scores, double threshold) {
  if (scores.empty()) return 0.0;
  size_t n = 0;
  for (double s : scores) n += s >= threshold;
  return static_cast<double>(n) / scores.size();
}

}  // namespace steward::injection
