#include "registry/inspect.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "registry/testing/model_files.h"

namespace steward::registry {
namespace {

using testing::MakeTempDir;
using testing::WriteFile;

class InspectTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = MakeTempDir("steward-inspect"); }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(InspectTest, GgufFileSurfacesMetadata) {
  ASSERT_TRUE(WriteFile(dir_ + "/tiny.gguf", testing::TinyGguf()));
  auto files = ListModelFiles(dir_ + "/tiny.gguf");
  ASSERT_TRUE(files.ok());
  auto m = InspectModel(*files);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->format, "gguf");
  EXPECT_EQ(m->name, "tiny-llama");
  EXPECT_EQ(m->license, "apache-2.0");
  EXPECT_EQ(m->quantization, "Q4_K_M");
  EXPECT_EQ(m->parameter_count, 40u);
  EXPECT_EQ(m->context_length, 2048);
  ASSERT_EQ(m->base_models.size(), 1u);
  // Round trip through the stored JSON form.
  ModelMetadata back = MetadataFromJson(MetadataToJson(*m));
  EXPECT_EQ(back.quantization, "Q4_K_M");
  EXPECT_EQ(back.parameter_count, 40u);
}

TEST_F(InspectTest, SafetensorsDirectoryWithConfigAndCard) {
  ASSERT_TRUE(WriteFile(dir_ + "/model.safetensors", testing::TinySafetensors()));
  ASSERT_TRUE(WriteFile(dir_ + "/config.json",
                        R"({"model_type":"mistral","architectures":["MistralForCausalLM"],)"
                        R"("max_position_embeddings":4096,"torch_dtype":"bfloat16"})"));
  ASSERT_TRUE(WriteFile(dir_ + "/README.md",
                        "---\nlicense: mit\nbase_model: org/base\ndatasets:\n  - org/data\n"
                        "tags: [chat, small]\npipeline_tag: text-generation\n---\n# Tiny\n\n"
                        "## Limitations\n\nMakes things up.\nOften.\n\n## Bias, Risks\n\nSome.\n"));
  auto files = ListModelFiles(dir_);
  ASSERT_TRUE(files.ok());
  auto m = InspectModel(*files);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->format, "safetensors");
  EXPECT_EQ(m->architecture, "mistral");
  EXPECT_EQ(m->model_architecture, "MistralForCausalLM");
  EXPECT_EQ(m->context_length, 4096);
  EXPECT_EQ(m->license, "mit");
  EXPECT_EQ(m->parameter_count, 20u);
  EXPECT_EQ(m->quantization, "F16+F32");
  ASSERT_EQ(m->datasets.size(), 1u);
  EXPECT_EQ(m->tags, (std::vector<std::string>{"chat", "small"}));
  EXPECT_EQ(m->task, "text-generation");
  EXPECT_EQ(m->limitations, "Makes things up. Often.");
  EXPECT_EQ(m->bias_risks, "Some.");
}

TEST_F(InspectTest, HostileFileNamesFileAndProblem) {
  ASSERT_TRUE(WriteFile(dir_ + "/bad.safetensors", testing::SafetensorsRaw("{\"a\":", 0)));
  auto files = ListModelFiles(dir_);
  ASSERT_TRUE(files.ok());
  auto m = InspectModel(*files);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("bad.safetensors"), std::string::npos);
  EXPECT_NE(m.status().message().find("not valid JSON"), std::string::npos);
}

}  // namespace
}  // namespace steward::registry
