// Trains the PERSON/LOCATION token classifier (data/scan/names.model).
//
//   scan_train_names TRAIN.jsonl DATA_DIR [--epochs N] [--dev FILE.jsonl]
//                    [--extra FILE.jsonl [--extra-repeat N]] [--seed N]
//
// Reads gazetteers from DATA_DIR (gaz_*.txt), trains a greedy averaged
// perceptron over the runtime's own Featurizer (so training and inference
// features are identical), writes DATA_DIR/names.model, and prints span
// precision/recall on the last 10% of TRAIN (held out) and on --dev files.
// Deterministic: same input, same model bytes.
#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "scan/names.h"

using namespace steward::scan;

namespace {

struct Example {
  std::string text;
  std::vector<Token> tokens;
  std::vector<int> gold;
};

int LabelOf(const std::string& l, bool begin) {
  if (l == "PERSON") return begin ? kBPer : kIPer;
  if (l == "LOCATION" || l == "GPE" || l == "STREET_ADDRESS") return begin ? kBLoc : kILoc;
  return kO;
}

// Row filter for datasets split into a training fold (odd numeric id) and
// a held-out fold (even id): -1 keep all, 1 keep odd, 0 keep even.
int IdParity(const boost::json::object& v) {
  auto* id = v.if_contains("id");
  if (!id || !id->is_string()) return 0;
  std::string s(id->as_string());
  size_t i = s.size();
  while (i > 0 && std::isdigit(static_cast<unsigned char>(s[i - 1]))) --i;
  if (i == s.size()) return 0;
  return (s.back() - '0') % 2;
}

std::vector<Example> Load(const std::string& path, bool char_offsets, int parity = -1) {
  std::ifstream in(path);
  if (!in) {
    std::cerr << "cannot read " << path << "\n";
    std::exit(2);
  }
  std::vector<Example> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto v = boost::json::parse(line).as_object();
    if (parity >= 0 && IdParity(v) != parity) continue;
    Example ex;
    ex.text = std::string(v["text"].as_string());
    ex.tokens = Tokenize(ex.text);
    ex.gold.assign(ex.tokens.size(), kO);
    // Byte offsets of each code point (datasets with code point offsets).
    std::vector<size_t> cp_to_byte;
    if (char_offsets) {
      for (size_t i = 0; i < ex.text.size(); ++i)
        if ((static_cast<unsigned char>(ex.text[i]) & 0xC0) != 0x80) cp_to_byte.push_back(i);
      cp_to_byte.push_back(ex.text.size());
    }
    for (auto& s : v["spans"].as_array()) {
      auto& o = s.as_object();
      size_t st = o["start"].to_number<size_t>(), en = o["end"].to_number<size_t>();
      if (char_offsets) {
        if (en >= cp_to_byte.size()) continue;
        st = cp_to_byte[st];
        en = cp_to_byte[en];
      }
      std::string label(o["label"].as_string());
      bool first = true;
      for (size_t t = 0; t < ex.tokens.size(); ++t) {
        if (ex.tokens[t].start >= st && ex.tokens[t].end <= en) {
          int l = LabelOf(label, first);
          if (l == kO) break;
          // Continuation across a separate span of the same type in a row
          // ("Puruntie 82" "Apt. 595") starts a new entity.
          ex.gold[t] = l;
          first = false;
        }
      }
    }
    out.push_back(std::move(ex));
  }
  return out;
}

struct Trainer {
  std::vector<float> w, total;
  std::vector<uint32_t> stamp;
  uint32_t now = 0;
  Trainer() {
    size_t n = (size_t{1} << kFeatureBits) * kNumLabels;
    w.assign(n, 0);
    total.assign(n, 0);
    stamp.assign(n, 0);
  }
  void Update(const std::vector<uint32_t>& feats, int label, float delta) {
    for (uint32_t f : feats) {
      size_t i = size_t{f} * kNumLabels + label;
      total[i] += static_cast<float>(now - stamp[i]) * w[i];
      stamp[i] = now;
      w[i] += delta;
    }
  }
  std::vector<float> Averaged() {
    std::vector<float> avg(w.size());
    for (size_t i = 0; i < w.size(); ++i) {
      float t = total[i] + static_cast<float>(now - stamp[i]) * w[i];
      avg[i] = now ? t / static_cast<float>(now) : 0;
    }
    return avg;
  }
};

struct Counts {
  long tp = 0, fp = 0, fn = 0;
};

std::vector<std::tuple<size_t, size_t, bool>> Spans(const std::vector<int>& labels) {
  std::vector<std::tuple<size_t, size_t, bool>> out;
  for (size_t i = 0; i < labels.size();) {
    int l = labels[i];
    if (l == kBPer || l == kBLoc || l == kIPer || l == kILoc) {
      bool per = l == kBPer || l == kIPer;
      size_t j = i + 1;
      while (j < labels.size() && labels[j] == (per ? kIPer : kILoc)) ++j;
      out.emplace_back(i, j, per);
      i = j;
    } else {
      ++i;
    }
  }
  return out;
}

void Evaluate(const char* name, const std::vector<Example>& data, const NameModel& model,
              const Gazetteers& gaz) {
  Counts per, loc;
  long tok_tp = 0, tok_fp = 0, tok_fn = 0;
  for (const Example& ex : data) {
    Featurizer fz(&gaz);
    fz.Prepare(ex.text, ex.tokens);
    std::vector<int> pred;
    std::vector<float> margins;
    uint64_t scored = 0;
    NameRecognizer::Decode(model, fz, ex.tokens.size(), &pred, &margins, &scored);
    auto g = Spans(ex.gold), p = Spans(pred);
    for (auto& s : p) {
      bool hit = std::find(g.begin(), g.end(), s) != g.end();
      Counts& c = std::get<2>(s) ? per : loc;
      hit ? ++c.tp : ++c.fp;
    }
    for (auto& s : g)
      if (std::find(p.begin(), p.end(), s) == p.end()) ++(std::get<2>(s) ? per : loc).fn;
    for (size_t t = 0; t < pred.size(); ++t) {
      bool gp = ex.gold[t] != kO, pp = pred[t] != kO;
      bool same = (ex.gold[t] == kBPer || ex.gold[t] == kIPer) == (pred[t] == kBPer || pred[t] == kIPer);
      if (gp && pp && same) ++tok_tp;
      else {
        if (pp) ++tok_fp;
        if (gp) ++tok_fn;
      }
    }
  }
  auto f1 = [](const Counts& c) {
    double p = c.tp + c.fp ? double(c.tp) / (c.tp + c.fp) : 0, r = c.tp + c.fn ? double(c.tp) / (c.tp + c.fn) : 0;
    return std::make_tuple(p, r, p + r ? 2 * p * r / (p + r) : 0);
  };
  auto [pp, pr, pf] = f1(per);
  auto [lp, lr, lf] = f1(loc);
  double tp_ = tok_tp + tok_fp ? double(tok_tp) / (tok_tp + tok_fp) : 0;
  double tr_ = tok_tp + tok_fn ? double(tok_tp) / (tok_tp + tok_fn) : 0;
  std::printf("%-10s exact spans: PERSON P=%.3f R=%.3f F1=%.3f | LOCATION P=%.3f R=%.3f F1=%.3f | tokens P=%.3f R=%.3f\n",
              name, pp, pr, pf, lp, lr, lf, tp_, tr_);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: scan_train_names TRAIN.jsonl DATA_DIR [--epochs N] [--dev FILE]...\n";
    return 2;
  }
  std::string train_path = argv[1], dir = argv[2];
  int epochs = 6;
  int extra_repeat = 8;
  unsigned seed = 12345;  // example order; compare feature changes over several
  std::vector<std::string> devs, extras;
  for (int i = 3; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--epochs") epochs = std::stoi(argv[i + 1]);
    else if (a == "--dev") devs.push_back(argv[i + 1]);
    else if (a == "--extra") extras.push_back(argv[i + 1]);
    else if (a == "--extra-repeat") extra_repeat = std::stoi(argv[i + 1]);
    else if (a == "--seed") seed = static_cast<unsigned>(std::stoul(argv[i + 1]));
  }
  Gazetteers gaz;
  if (auto st = gaz.Load(dir); !st.ok()) {
    std::cerr << st.message() << "\n";
    return 2;
  }
  std::vector<Example> all = Load(train_path, false);
  size_t held = all.size() / 10;
  std::vector<Example> test(all.end() - held, all.end());
  all.resize(all.size() - held);
  // Extra labelled data (code point offsets): only its odd-id fold trains;
  // the even-id fold stays unseen for evaluation (--dev reports it).
  for (const std::string& e : extras) {
    std::vector<Example> more = Load(e, true, 1);
    std::printf("extra %s: %zu training rows (odd ids)\n", e.c_str(), more.size());
    // Repeat them: a few hundred rows would drown in the generated corpus.
    for (int r = 0; r < extra_repeat; ++r) all.insert(all.end(), more.begin(), more.end());
  }
  Trainer tr;
  std::mt19937 rng(seed);
  std::vector<size_t> order(all.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::vector<uint32_t> feats;
  NameModel current;
  for (int e = 0; e < epochs; ++e) {
    std::shuffle(order.begin(), order.end(), rng);
    long errors = 0, seen = 0;
    for (size_t idx : order) {
      const Example& ex = all[idx];
      Featurizer fz(&gaz);
      fz.Prepare(ex.text, ex.tokens);
      int prev = kO, prev2 = kO;
      for (size_t t = 0; t < ex.tokens.size(); ++t) {
        ++tr.now;
        if (!fz.Considered(t, prev)) {
          prev2 = prev;
          prev = kO;
          continue;
        }
        fz.Features(t, prev, prev2, &feats);
        float s[kNumLabels] = {0, 0, 0, 0, 0};
        for (uint32_t f : feats)
          for (int l = 0; l < kNumLabels; ++l) s[l] += tr.w[size_t{f} * kNumLabels + l];
        if (prev != kBPer && prev != kIPer) s[kIPer] = -1e30f;
        if (prev != kBLoc && prev != kILoc) s[kILoc] = -1e30f;
        int best = kO;
        for (int l = 1; l < kNumLabels; ++l)
          if (s[l] > s[best]) best = l;
        int gold = ex.gold[t];
        ++seen;
        if (best != gold) {
          ++errors;
          tr.Update(feats, gold, 1.0f);
          tr.Update(feats, best, -1.0f);
        }
        prev2 = prev;
        prev = best;
      }
    }
    std::printf("epoch %d: token error rate %.4f\n", e + 1, seen ? double(errors) / seen : 0.0);
  }
  NameModel model;
  model.SetDense(tr.Averaged());
  std::string out = dir + "/names.model";
  if (auto st = model.Save(out); !st.ok()) {
    std::cerr << st.message() << "\n";
    return 1;
  }
  NameModel reloaded;  // evaluate what will ship (quantized)
  if (auto st = reloaded.Load(out); !st.ok()) {
    std::cerr << st.message() << "\n";
    return 1;
  }
  Evaluate("held-out", test, reloaded, gaz);
  Evaluate("held-out(dense)", test, model, gaz);
  NameModel raw;
  raw.SetDense(tr.w);
  Evaluate("held-out(raw)", test, raw, gaz);
  for (const std::string& d : devs) {
    Evaluate((d + " [even ids, unseen]").c_str(), Load(d, true, 0), reloaded, gaz);
    Evaluate((d + " [odd ids, trained]").c_str(), Load(d, true, 1), reloaded, gaz);
  }
  std::printf("wrote %s\n", out.c_str());
  return 0;
}
