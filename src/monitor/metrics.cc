#include "monitor/metrics.h"

#include <cmath>
#include <sstream>

namespace steward::monitor {

void Gauge::Add(double d) {
  double cur = v_.load(std::memory_order_relaxed);
  while (!v_.compare_exchange_weak(cur, cur + d, std::memory_order_relaxed)) {
  }
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i] = 0;
}

void Histogram::Observe(double v) {
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  double cur = sum_.load(std::memory_order_relaxed);
  while (!sum_.compare_exchange_weak(cur, cur + v, std::memory_order_relaxed)) {
  }
}

MetricsRegistry& MetricsRegistry::Global() {
  static auto* registry = new MetricsRegistry();
  return *registry;
}

const std::vector<double>& MetricsRegistry::LatencyBounds() {
  static const std::vector<double> b = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                        0.025,   0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,
                                        10,      30,     60};
  return b;
}

std::string RenderLabels(const Labels& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ",";
    first = false;
    out += k;
    out += "=\"";
    for (char c : v) {
      if (c == '\\') out += "\\\\";
      else if (c == '"') out += "\\\"";
      else if (c == '\n') out += "\\n";
      else out.push_back(c);
    }
    out += "\"";
  }
  out += "}";
  return out;
}

MetricsRegistry::Family& MetricsRegistry::FamilyFor(const std::string& name, const std::string& help, const char* type) {
  auto& f = families_[name];
  if (f.type.empty()) {
    f.type = type;
    f.help = help;
  }
  return f;
}

Counter& MetricsRegistry::GetCounter(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lock(mu_);
  auto& slot = FamilyFor(name, help, "counter").counters[RenderLabels(labels)];
  if (!slot) slot = std::make_unique<Counter>();
  return *slot;
}

Gauge& MetricsRegistry::GetGauge(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lock(mu_);
  auto& slot = FamilyFor(name, help, "gauge").gauges[RenderLabels(labels)];
  if (!slot) slot = std::make_unique<Gauge>();
  return *slot;
}

Histogram& MetricsRegistry::GetHistogram(const std::string& name, const std::string& help, const Labels& labels,
                                         const std::vector<double>& bounds) {
  std::lock_guard lock(mu_);
  auto& slot = FamilyFor(name, help, "histogram").histograms[RenderLabels(labels)];
  if (!slot) slot = std::make_unique<Histogram>(bounds);
  return *slot;
}

void MetricsRegistry::AddCallbackGauge(const std::string& name, const std::string& help, const Labels& labels,
                                       std::function<double()> fn) {
  std::lock_guard lock(mu_);
  FamilyFor(name, help, "gauge").callbacks[RenderLabels(labels)] = std::move(fn);
}

namespace {

std::string Num(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  std::ostringstream o;
  o.precision(12);
  o << v;
  return o.str();
}

// Adds `extra` (e.g. le="0.5") to a rendered label set.
std::string WithLabel(const std::string& rendered, const std::string& extra) {
  if (rendered.empty()) return "{" + extra + "}";
  return rendered.substr(0, rendered.size() - 1) + "," + extra + "}";
}

}  // namespace

void MetricsRegistry::AddCollector(std::function<std::string()> collector) {
  std::lock_guard lock(mu_);
  collectors_.push_back(std::move(collector));
}

std::string MetricsRegistry::Render() const {
  std::vector<std::function<std::string()>> collectors;
  {
    std::lock_guard lock(mu_);
    collectors = collectors_;
  }
  std::string out;
  for (const auto& c : collectors) {
    out += c();
    if (!out.empty() && out.back() != '\n') out += '\n';
  }
  std::lock_guard lock(mu_);
  for (const auto& [name, f] : families_) {
    out += "# HELP " + name + " " + f.help + "\n";
    out += "# TYPE " + name + " " + f.type + "\n";
    for (const auto& [labels, c] : f.counters) out += name + labels + " " + std::to_string(c->value()) + "\n";
    for (const auto& [labels, g] : f.gauges) out += name + labels + " " + Num(g->value()) + "\n";
    for (const auto& [labels, fn] : f.callbacks) out += name + labels + " " + Num(fn()) + "\n";
    for (const auto& [labels, h] : f.histograms) {
      uint64_t cumulative = 0;
      for (size_t i = 0; i < h->bounds().size(); ++i) {
        cumulative += h->bucket(i);
        out += name + "_bucket" + WithLabel(labels, "le=\"" + Num(h->bounds()[i]) + "\"") + " " +
               std::to_string(cumulative) + "\n";
      }
      cumulative += h->bucket(h->bounds().size());
      out += name + "_bucket" + WithLabel(labels, "le=\"+Inf\"") + " " + std::to_string(cumulative) + "\n";
      out += name + "_sum" + labels + " " + Num(h->sum()) + "\n";
      out += name + "_count" + labels + " " + std::to_string(h->count()) + "\n";
    }
  }
  return out;
}

}  // namespace steward::monitor
