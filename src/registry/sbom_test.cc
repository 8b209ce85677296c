#include "registry/sbom.h"

#include <gtest/gtest.h>

namespace steward::registry {
namespace {

TEST(SbomTest, ModelComponentCarriesFilesLicenseAndCard) {
  BomInputs in;
  in.model.name = "tiny";
  in.model.version = "1";
  in.model.state = "approved";
  in.model.license = "Apache-2.0";
  in.model.license_verdict = "allow";
  in.model.source_url = "https://example.org/tiny";
  in.model.files = {{"a.gguf", 10, std::string(64, 'a')}, {"b.json", 2, std::string(64, 'b')}};
  in.model.metadata.limitations = "Hallucinates.";
  in.model.metadata.architecture = "llama";
  in.evaluations = {
      {"fair:dpd", "fairness", "demographic_parity_difference", 0.05, "sex", true, 1}};
  in.datasets = {{"train",
                  "1",
                  "/d",
                  std::string(64, 'c'),
                  "CC-BY-4.0",
                  "cc-by-4.0",
                  "",
                  "x",
                  1,
                  {{"t.jsonl", 3, std::string(64, 'd')}}}};
  in.now_ms = 1'700'000'000'123;
  auto bom = BuildMlBom(in);
  EXPECT_EQ(bom.at("specVersion").as_string(), "1.6");
  EXPECT_EQ(bom.at("metadata").at("timestamp").as_string(), "2023-11-14T22:13:20.123Z");
  const auto& model = bom.at("components").at(0).as_object();
  EXPECT_EQ(model.at("type").as_string(), "machine-learning-model");
  EXPECT_EQ(model.at("licenses").at(0).at("license").at("id").as_string(), "Apache-2.0");
  EXPECT_EQ(model.at("externalReferences").at(0).at("url").as_string(), "https://example.org/tiny");
  const auto& files = model.at("components").as_array();
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[1].at("hashes").at(0).at("content").as_string(), std::string(64, 'b'));
  const auto& card = model.at("modelCard").as_object();
  EXPECT_EQ(card.at("considerations").at("technicalLimitations").at(0).as_string(),
            "Hallucinates.");
  EXPECT_EQ(card.at("quantitativeAnalysis").at("performanceMetrics").at(0).at("value").as_string(),
            "0.05");
  EXPECT_EQ(card.at("modelParameters").at("datasets").at(0).at("ref").as_string(),
            "dataset:train@1");
  EXPECT_EQ(bom.at("components").at(1).at("type").as_string(), "data");
  std::string serial(bom.at("serialNumber").as_string());
  EXPECT_EQ(serial.size(), 45u);
  EXPECT_EQ(serial[23], '4');
}

TEST(SbomTest, NonSpdxAndUnknownLicensesUseName) {
  BomInputs in;
  in.model.name = "m";
  in.model.version = "1";
  in.model.license = "LicenseRef-Llama-3";
  auto bom = BuildMlBom(in);
  EXPECT_EQ(bom.at("components").at(0).at("licenses").at(0).at("license").at("name").as_string(),
            "LicenseRef-Llama-3");
  in.model.license = "unknown";
  in.model.license_raw = "weird";
  bom = BuildMlBom(in);
  EXPECT_EQ(bom.at("components").at(0).at("licenses").at(0).at("license").at("name").as_string(),
            "unknown (declared: weird)");
}

}  // namespace
}  // namespace steward::registry
