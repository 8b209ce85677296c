// steward-train-injection: trains the shipped injection model.
//
//   steward-train-injection [--train ../shared/datasets/injection/train.jsonl]
//       [--extra data/injection/extra_train.jsonl] [--out data/injection/model.txt]
//       [--heldout-ids test/data/injection/heldout_ids.txt] [--epochs N] [--seed N]
//
// Reads only the rows of the train split that (a) are not in the held-out
// quarter (IsHeldOut) and (b) carry a license that allows shipping weights,
// plus Steward's own examples. Deterministic: same inputs, same file.
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "injection/trainer.h"

using namespace steward::injection;

int main(int argc, char** argv) {
  std::string train = "../shared/datasets/injection/train.jsonl";
  std::string extra = "data/injection/extra_train.jsonl";
  std::string out = "data/injection/model.txt";
  std::string heldout_ids = "test/data/injection/heldout_ids.txt";
  TrainOptions options;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "steward-train-injection: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--train")
      train = next();
    else if (a == "--extra")
      extra = next();
    else if (a == "--out")
      out = next();
    else if (a == "--heldout-ids")
      heldout_ids = next();
    else if (a == "--epochs")
      options.epochs = std::stoi(next());
    else if (a == "--seed")
      options.seed = std::stoull(next());
    else if (a == "--dropout")
      options.ngram_dropout = std::stod(next());
    else if (a == "--prune")
      options.prune = std::stod(next());
    else if (a == "--hash-bits")
      options.hash_bits = std::stoi(next());
    else if (a == "--l2")
      options.l2 = std::stod(next());
    else if (a == "--lr")
      options.learning_rate = std::stod(next());
    else {
      std::fprintf(stderr, "steward-train-injection: unknown option %s\n", a.c_str());
      return 2;
    }
  }
  auto shared = ReadExamples(train);
  if (!shared.ok()) {
    std::fprintf(stderr, "steward-train-injection: %s\n", shared.status().message().c_str());
    return 2;
  }
  auto own = ReadExamples(extra);
  if (!own.ok()) {
    std::fprintf(stderr, "steward-train-injection: %s\n", own.status().message().c_str());
    return 2;
  }
  std::vector<Example> rows;
  size_t held = 0, unlicensed = 0;
  std::string ids;
  for (Example& e : *shared) {
    if (IsHeldOut(e.id)) {
      ++held;
      ids += e.id + "\n";
      continue;
    }
    if (!LicenseAllowsTraining(e.license)) {
      ++unlicensed;
      continue;
    }
    rows.push_back(std::move(e));
  }
  size_t from_shared = rows.size();
  for (Example& e : *own) {
    if (!LicenseAllowsTraining(e.license)) {
      std::fprintf(stderr, "steward-train-injection: %s has license %s\n", e.id.c_str(),
                   e.license.c_str());
      return 2;
    }
    rows.push_back(std::move(e));
  }
  std::fprintf(stderr,
               "training on %zu rows (%zu shared, %zu own); held out %zu, skipped %zu "
               "for license\n",
               rows.size(), from_shared, rows.size() - from_shared, held, unlicensed);
  TrainReport report;
  LinearModel model = Train(rows, options, &report);
  std::ofstream f(out, std::ios::binary);
  f << SerializeModel(model, options.prune);
  if (!f) {
    std::fprintf(stderr, "steward-train-injection: cannot write %s\n", out.c_str());
    return 1;
  }
  if (!heldout_ids.empty()) {
    std::ofstream h(heldout_ids);
    h << "# Rows of ../shared/datasets/injection/train.jsonl the trainer never reads (IsHeldOut).\n"
      << ids;
  }
  std::printf(
      "{\"rows\":%zu,\"malicious\":%zu,\"oof_auc\":%.4f,\"threshold_direct\":%.4f,"
      "\"threshold_external\":%.4f,\"oof_tpr_at_threshold\":%.4f,"
      "\"oof_fpr_at_threshold\":%.4f}\n",
      report.examples, report.malicious, report.oof_auc, model.threshold_direct,
      model.threshold_external, report.oof_tpr_at_threshold, report.oof_fpr_at_threshold);
  return 0;
}
