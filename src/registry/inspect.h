// What a model says about itself: metadata read from its GGUF and
// safetensors files, config.json and the model card (README.md with YAML
// front matter, as Hugging Face writes it).
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "registry/hash.h"
#include "steward/status.h"

namespace steward::registry {

struct ModelMetadata {
  std::string format;              // "gguf", "safetensors", "mixed", "other"
  std::string name;                // general.name / model card model_name
  std::string architecture;        // general.architecture / config.json model_type
  std::string model_architecture;  // config.json architectures[0], e.g. LlamaForCausalLM
  std::string license;             // raw license text from metadata ("" if none)
  std::string source_url;
  std::vector<std::string> base_models;  // names or repo urls
  std::vector<std::string> datasets;     // model card `datasets`
  std::vector<std::string> tags;         // model card `tags`
  std::string task;                      // model card pipeline_tag
  uint64_t parameter_count = 0;
  std::string quantization;  // GGUF file type or safetensors dtype mix ("BF16")
  int64_t context_length = 0;
  // Free-text considerations from the model card's sections.
  std::string limitations;
  std::string bias_risks;
  std::string intended_use;
  boost::json::object details;  // everything else worth keeping, per file
};

// Reads every GGUF / safetensors file among `files` (hostile files are
// errors naming the file and the problem) plus config.json and README.md.
Result<ModelMetadata> InspectModel(const std::vector<ModelFile>& files);

boost::json::object MetadataToJson(const ModelMetadata& m);
ModelMetadata MetadataFromJson(const boost::json::object& o);

}  // namespace steward::registry
