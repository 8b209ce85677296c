#include "injection/model.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace steward::injection {
namespace {

std::vector<std::string_view> Fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t' && line[j] != '\r') ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

bool ParseDouble(std::string_view s, double* out) {
  // strtod needs a terminated string; fields are short.
  std::string tmp(s);
  char* end = nullptr;
  *out = std::strtod(tmp.c_str(), &end);
  return end && *end == '\0' && !tmp.empty() && std::isfinite(*out);
}

bool ParseUint(std::string_view s, uint64_t* out) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

}  // namespace

double LinearModel::GroupLogit(const FeatureGroup& g) const {
  double sum = 0.0;
  const float* w = weights.data();
  size_t n = weights.size();
  for (uint32_t idx : g.indices) {
    if (idx < n) sum += w[idx];
  }
  return sum * g.scale;
}

double LinearModel::Logit(const Features& f) const {
  return bias + GroupLogit(f.char_ngrams) + GroupLogit(f.word_ngrams) + GroupLogit(f.indicators);
}

double PriorLogit(double signature_prior) {
  double p = std::clamp(signature_prior, 0.01, 0.99);
  return std::log(p / (1 - p));
}

double LinearModel::Calibrate(double logit, double signature_prior) const {
  double z = calib_a * logit + calib_c * PriorLogit(signature_prior) + calib_b;
  if (z > 40) return 1.0;
  if (z < -40) return 0.0;
  return 1.0 / (1.0 + std::exp(-z));
}

Result<LinearModel> ParseModel(std::string_view text) {
  LinearModel m;
  size_t pos = 0;
  int line_no = 0;
  bool header = false;
  bool have_weights = false;
  uint64_t expected = 0;
  uint64_t seen = 0;
  int64_t last_bucket = -1;
  auto err = [&](const std::string& what) {
    return InvalidArgument("injection model line " + std::to_string(line_no) + ": " + what);
  };
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    auto f = Fields(line);
    if (f.empty()) {
      if (nl == text.size()) break;
      continue;
    }
    if (!header) {
      if (f.size() != 2 || f[0] != "steward-injection-model" || f[1] != "1") {
        return err("expected `steward-injection-model 1`");
      }
      header = true;
      continue;
    }
    if (have_weights) {
      uint64_t bucket = 0;
      double w = 0;
      if (f.size() != 2 || !ParseUint(f[0], &bucket) || !ParseDouble(f[1], &w)) {
        return err("expected `<bucket> <weight>`");
      }
      if (bucket >= m.weights.size()) return err("bucket out of range");
      if (static_cast<int64_t>(bucket) <= last_bucket) return err("buckets must ascend");
      last_bucket = static_cast<int64_t>(bucket);
      m.weights[bucket] = static_cast<float>(w);
      ++seen;
      if (nl == text.size()) break;
      continue;
    }
    double a = 0, b = 0;
    uint64_t u = 0;
    if (f[0] == "hash_bits" && f.size() == 2 && ParseUint(f[1], &u) && u >= 8 && u <= 24) {
      m.hash_bits = static_cast<int>(u);
    } else if (f[0] == "bias" && f.size() == 2 && ParseDouble(f[1], &a)) {
      m.bias = a;
    } else if (f[0] == "calibration" && (f.size() == 3 || f.size() == 4) && ParseDouble(f[1], &a) &&
               ParseDouble(f[2], &b)) {
      m.calib_a = a;
      m.calib_b = b;
      double c = 0;
      if (f.size() == 4) {
        if (!ParseDouble(f[3], &c)) return err("malformed calibration");
      }
      m.calib_c = c;
    } else if (f[0] == "threshold_direct" && f.size() == 2 && ParseDouble(f[1], &a) && a >= 0 &&
               a <= 1) {
      m.threshold_direct = a;
    } else if (f[0] == "threshold_external" && f.size() == 2 && ParseDouble(f[1], &a) && a >= 0 &&
               a <= 1) {
      m.threshold_external = a;
    } else if (f[0] == "weights" && f.size() == 2 && ParseUint(f[1], &u)) {
      expected = u;
      m.weights.assign(size_t{1} << m.hash_bits, 0.0f);
      if (expected > m.weights.size()) return err("more weights than buckets");
      have_weights = true;
    } else {
      return err("unknown or malformed entry `" + std::string(f[0]) + "`");
    }
    if (nl == text.size()) break;
  }
  if (!header) return InvalidArgument("injection model: empty file");
  if (!have_weights) return InvalidArgument("injection model: no `weights` section");
  if (seen != expected) {
    return InvalidArgument("injection model: expected " + std::to_string(expected) +
                           " weights, found " + std::to_string(seen));
  }
  return m;
}

std::string SerializeModel(const LinearModel& model, double prune) {
  std::string out;
  char buf[128];
  out += "steward-injection-model 1\n";
  out += "hash_bits " + std::to_string(model.hash_bits) + "\n";
  std::snprintf(buf, sizeof buf, "bias %.9g\n", model.bias);
  out += buf;
  std::snprintf(buf, sizeof buf, "calibration %.9g %.9g %.9g\n", model.calib_a, model.calib_b,
                model.calib_c);
  out += buf;
  std::snprintf(buf, sizeof buf, "threshold_direct %.6f\nthreshold_external %.6f\n",
                model.threshold_direct, model.threshold_external);
  out += buf;
  size_t n = 0;
  for (float w : model.weights) n += std::fabs(w) >= prune && w != 0.0f;
  out += "weights " + std::to_string(n) + "\n";
  for (size_t i = 0; i < model.weights.size(); ++i) {
    float w = model.weights[i];
    if (w == 0.0f || std::fabs(w) < prune) continue;
    std::snprintf(buf, sizeof buf, "%zu %.5g\n", i, static_cast<double>(w));
    out += buf;
  }
  return out;
}

}  // namespace steward::injection
