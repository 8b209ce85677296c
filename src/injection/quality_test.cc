// Quality report for the shipped injection model on data the trainer never
// saw: the held-out quarter of ../shared/datasets/injection/train.jsonl
// (IsHeldOut) and Steward's hand-written held-out sets in test/data/injection/.
// Prints ROC AUC and TPR at FPR 1% / 5% per attack kind and the over-refusal
// FPR, and fails below the targets of issue 4.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <map>

#include "injection/trainer.h"

namespace steward::injection {
namespace {

std::vector<Example> MustRead(const std::string& path) {
  auto rows = ReadExamples(path);
  EXPECT_TRUE(rows.ok()) << rows.status().message();
  return rows.ok() ? *rows : std::vector<Example>{};
}

struct Row {
  std::string name;
  size_t pos = 0, neg = 0;
  double auc = 0, tpr1 = 0, tpr2 = 0, tpr5 = 0, tpr_op = 0, fpr_op = 0;
};

TEST(InjectionQualityTest, HeldOutReport) {
  auto model = LoadModelFile("data/injection/model.txt");
  ASSERT_TRUE(model.ok()) << model.status().message();
  Detector detector(&SignatureSet::Builtin(), *model);
  double threshold = (*model)->threshold_direct;
  // STEWARD_QUALITY_DUMP=1 lists misjudged rows (id, category, score, signals);
  // STEWARD_QUALITY_DUMP=all lists every row.
  const char* dump_env = std::getenv("STEWARD_QUALITY_DUMP");
  const bool dump = dump_env != nullptr;
  const bool dump_all = dump && std::string_view(dump_env) == "all";
  auto score = [&](const Example& e) {
    Screening s = detector.Screen(e.text);
    if (dump_all || (dump && (s.score >= threshold) != e.malicious)) {
      std::string sig;
      for (const auto& x : s.signals) sig += x + " ";
      std::printf("%s %s %s %.3f %s\n", (s.score >= threshold) != e.malicious ? "MISS" : "ROW",
                  e.id.c_str(), e.category.c_str(), s.score, sig.c_str());
    }
    return s.score;
  };

  std::vector<double> direct, jailbreak, benign, xstest, overrefusal, indirect_pos, indirect_neg;
  for (const Example& e : MustRead("../shared/datasets/injection/train.jsonl")) {
    if (!IsHeldOut(e.id)) continue;
    double s = score(e);
    if (!e.malicious) {
      benign.push_back(s);
      if (e.category.find("xstest") != std::string::npos) xstest.push_back(s);
    } else if (e.category == "hijacking" || e.category == "system_prompt_extraction") {
      direct.push_back(s);
    } else {
      jailbreak.push_back(s);
    }
  }
  for (const Example& e : MustRead("test/data/injection/direct_heldout.jsonl")) {
    direct.push_back(score(e));
  }
  for (const Example& e : MustRead("test/data/injection/overrefusal.jsonl")) {
    overrefusal.push_back(score(e));
  }
  for (const Example& e : MustRead("test/data/injection/indirect_heldout.jsonl")) {
    (e.malicious ? indirect_pos : indirect_neg).push_back(score(e));
  }
  ASSERT_GT(benign.size(), 30u);
  ASSERT_GT(direct.size(), 40u);
  ASSERT_GT(jailbreak.size(), 50u);

  // Negatives for the direct/jailbreak curves: held-out benign rows plus the
  // over-refusal set (prompts that talk about attacks).
  std::vector<double> negatives = benign;
  negatives.insert(negatives.end(), overrefusal.begin(), overrefusal.end());
  auto make = [&](const std::string& name, const std::vector<double>& pos,
                  const std::vector<double>& neg) {
    Row r;
    r.name = name;
    r.pos = pos.size();
    r.neg = neg.size();
    r.auc = RocAuc(pos, neg);
    r.tpr1 = TprAtFpr(pos, neg, 0.01);
    r.tpr2 = TprAtFpr(pos, neg, 0.02);
    r.tpr5 = TprAtFpr(pos, neg, 0.05);
    r.tpr_op = FractionAtOrAbove(pos, threshold);
    r.fpr_op = FractionAtOrAbove(neg, threshold);
    return r;
  };
  std::vector<double> over_all = overrefusal;
  over_all.insert(over_all.end(), xstest.begin(), xstest.end());
  std::vector<Row> table = {make("direct injection", direct, negatives),
                            make("jailbreak", jailbreak, negatives),
                            make("indirect injection", indirect_pos, indirect_neg)};
  double over_fpr = FractionAtOrAbove(over_all, threshold);

  std::printf("\nInjection quality on held-out data (threshold_direct %.3f)\n", threshold);
  std::printf("%-20s %5s %5s %7s %9s %9s %9s %9s %9s\n", "set", "pos", "neg", "AUC", "TPR@1%",
              "TPR@2%", "TPR@5%", "TPR@thr", "FPR@thr");
  for (const Row& r : table) {
    std::printf("%-20s %5zu %5zu %7.4f %9.3f %9.3f %9.3f %9.3f %9.3f\n", r.name.c_str(), r.pos,
                r.neg, r.auc, r.tpr1, r.tpr2, r.tpr5, r.tpr_op, r.fpr_op);
  }
  std::printf("over-refusal FPR at threshold: %.3f (%zu benign security-talk / xstest prompts)\n",
              over_fpr, over_all.size());
  std::printf("benign held-out FPR at threshold: %.3f (%zu rows)\n",
              FractionAtOrAbove(benign, threshold), benign.size());

  // Targets of issue 4.
  EXPECT_GE(table[0].tpr2, 0.90) << "direct injection TPR at FPR <= 2%";
  EXPECT_LE(over_fpr, 0.03) << "over-refusal FPR";
}

}  // namespace
}  // namespace steward::injection
