#include "registry/inspect.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <map>
#include <sstream>

#include "common/strings.h"
#include "registry/gguf.h"
#include "registry/safetensors.h"

namespace steward::registry {
namespace {

namespace json = boost::json;

constexpr uint64_t kMaxSideFileBytes = 4u << 20;  // config.json, README.md

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string BaseName(const std::string& rel) {
  size_t slash = rel.rfind('/');
  return slash == std::string::npos ? rel : rel.substr(slash + 1);
}

Result<std::string> ReadSmallFile(const ModelFile& f) {
  if (f.size > kMaxSideFileBytes) {
    return InvalidArgument(f.rel_path + " is larger than " + std::to_string(kMaxSideFileBytes) +
                           " bytes");
  }
  std::ifstream in(f.abs_path, std::ios::binary);
  if (!in) return NotFound("cannot open " + f.abs_path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void AddUnique(std::vector<std::string>* v, const std::string& s) {
  if (s.empty()) return;
  for (const auto& e : *v) {
    if (e == s) return;
  }
  v->push_back(s);
}

std::vector<std::string> YamlStrings(const YAML::Node& n) {
  std::vector<std::string> out;
  if (!n) return out;
  if (n.IsScalar()) {
    out.push_back(n.Scalar());
  } else if (n.IsSequence()) {
    for (const auto& e : n) {
      if (e.IsScalar()) out.push_back(e.Scalar());
    }
  }
  return out;
}

// The first paragraph under a markdown heading whose text contains one of
// `words` (case-insensitive), at most 1000 bytes.
std::string SectionText(const std::string& markdown, std::initializer_list<const char*> words) {
  std::istringstream in(markdown);
  std::string line, text;
  bool inside = false;
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] == '#') {
      if (inside && !text.empty()) break;
      std::string lower = ToLower(line);
      inside = false;
      for (const char* w : words) {
        if (lower.find(w) != std::string::npos) inside = true;
      }
      continue;
    }
    if (!inside) continue;
    std::string_view t = Trim(line);
    if (t.empty()) {
      if (!text.empty()) break;
      continue;
    }
    if (!text.empty()) text += ' ';
    text += std::string(t);
    if (text.size() > 1000) {
      text.resize(1000);
      break;
    }
  }
  return IsValidUtf8(text) ? text : "";
}

Status ReadModelCard(const ModelFile& f, ModelMetadata* m) {
  STEWARD_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(f));
  if (!IsValidUtf8(text)) return InvalidArgument(f.rel_path + " is not valid UTF-8");
  m->limitations = SectionText(text, {"limitation"});
  m->bias_risks = SectionText(text, {"bias", "risk"});
  m->intended_use = SectionText(text, {"intended use", "uses"});
  if (text.rfind("---", 0) != 0) return Status::Ok();
  size_t end = text.find("\n---", 3);
  if (end == std::string::npos) return Status::Ok();
  std::string front = text.substr(3, end - 3);
  YAML::Node card;
  try {
    card = YAML::Load(front);
  } catch (const YAML::Exception& e) {
    return InvalidArgument(f.rel_path + ": model card front matter is not valid YAML: " + e.msg);
  }
  if (!card.IsMap()) return Status::Ok();
  try {
    if (m->license.empty()) {
      auto lic = YamlStrings(card["license"]);
      if (!lic.empty()) m->license = lic[0];
      if (m->license == "other" && card["license_name"] && card["license_name"].IsScalar()) {
        m->license = card["license_name"].Scalar();
      }
    }
    for (const auto& b : YamlStrings(card["base_model"])) AddUnique(&m->base_models, b);
    for (const auto& d : YamlStrings(card["datasets"])) AddUnique(&m->datasets, d);
    for (const auto& t : YamlStrings(card["tags"])) AddUnique(&m->tags, t);
    if (card["pipeline_tag"] && card["pipeline_tag"].IsScalar()) {
      m->task = card["pipeline_tag"].Scalar();
    }
    if (m->name.empty() && card["model_name"] && card["model_name"].IsScalar()) {
      m->name = card["model_name"].Scalar();
    }
  } catch (const YAML::Exception& e) {
    return InvalidArgument(f.rel_path + ": model card front matter: " + e.msg);
  }
  return Status::Ok();
}

Status ReadConfigJson(const ModelFile& f, ModelMetadata* m) {
  STEWARD_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(f));
  boost::system::error_code ec;
  json::parse_options opts;
  opts.max_depth = 32;
  json::value v = json::parse(text, ec, {}, opts);
  if (ec || !v.is_object()) return InvalidArgument(f.rel_path + " is not a JSON object");
  const json::object& o = v.get_object();
  auto str = [&](const char* k) -> std::string {
    const json::value* x = o.if_contains(k);
    return x && x->is_string() ? std::string(x->get_string()) : "";
  };
  if (m->architecture.empty()) m->architecture = str("model_type");
  if (const json::value* a = o.if_contains("architectures");
      a && a->is_array() && !a->get_array().empty() && a->get_array()[0].is_string()) {
    m->model_architecture = std::string(a->get_array()[0].get_string());
  }
  if (m->context_length == 0) {
    for (const char* k : {"max_position_embeddings", "n_positions", "max_seq_len"}) {
      const json::value* x = o.if_contains(k);
      if (x && x->is_int64() && x->get_int64() > 0) {
        m->context_length = x->get_int64();
        break;
      }
    }
  }
  json::object kept;
  for (const char* k : {"model_type", "torch_dtype", "hidden_size", "num_hidden_layers",
                        "num_attention_heads", "vocab_size", "max_position_embeddings"}) {
    if (const json::value* x = o.if_contains(k)) kept[k] = *x;
  }
  m->details["config.json"] = std::move(kept);
  return Status::Ok();
}

}  // namespace

Result<ModelMetadata> InspectModel(const std::vector<ModelFile>& files) {
  ModelMetadata m;
  int gguf_files = 0, safetensors_files = 0;
  std::map<std::string, uint64_t> dtype_parameters;
  for (const auto& f : files) {
    if (EndsWith(f.rel_path, ".gguf")) {
      auto source = FileSource::Open(f.abs_path);
      if (!source.ok()) return source.status();
      auto info = ReadGguf(**source);
      if (!info.ok()) return info.status().WithContext("bad GGUF file " + f.rel_path);
      ++gguf_files;
      if (m.name.empty()) m.name = info->name;
      if (m.architecture.empty()) m.architecture = info->architecture;
      if (m.license.empty()) m.license = info->license;
      if (m.source_url.empty()) m.source_url = info->source_url;
      for (const auto& b : info->base_models) {
        AddUnique(&m.base_models, !b.repo_url.empty()      ? b.repo_url
                                  : b.organization.empty() ? b.name
                                                           : b.organization + "/" + b.name);
      }
      m.parameter_count += info->parameter_count;
      if (m.quantization.empty()) m.quantization = info->file_type;
      if (m.context_length == 0) m.context_length = info->context_length;
      json::object d{{"format", "gguf"},
                     {"gguf_version", info->version},
                     {"tensor_count", info->tensors.size()},
                     {"parameter_count", info->parameter_count},
                     {"file_type", info->file_type}};
      json::object meta;
      for (const auto& [k, v] : info->metadata) {
        if (k.rfind("tokenizer.", 0) == 0) continue;  // vocabularies are noise here
        meta[k] = v.ToJson();
      }
      d["metadata"] = std::move(meta);
      m.details[f.rel_path] = std::move(d);
    } else if (EndsWith(f.rel_path, ".safetensors")) {
      auto source = FileSource::Open(f.abs_path);
      if (!source.ok()) return source.status();
      auto info = ReadSafetensors(**source);
      if (!info.ok()) return info.status().WithContext("bad safetensors file " + f.rel_path);
      ++safetensors_files;
      m.parameter_count += info->parameter_count;
      for (const auto& [dtype, n] : info->dtype_parameters) dtype_parameters[dtype] += n;
      json::object meta;
      for (const auto& [k, v] : info->metadata) meta[k] = v;
      m.details[f.rel_path] = json::object{{"format", "safetensors"},
                                           {"tensor_count", info->tensors.size()},
                                           {"parameter_count", info->parameter_count},
                                           {"metadata", std::move(meta)}};
    }
  }
  for (const auto& f : files) {
    std::string base = BaseName(f.rel_path);
    if (base == "config.json" && f.rel_path == base) {
      STEWARD_RETURN_IF_ERROR(ReadConfigJson(f, &m));
    } else if ((base == "README.md" || base == "MODEL_CARD.md") && f.rel_path == base) {
      STEWARD_RETURN_IF_ERROR(ReadModelCard(f, &m));
    }
  }
  if (gguf_files && safetensors_files) {
    m.format = "mixed";
  } else if (gguf_files) {
    m.format = "gguf";
  } else if (safetensors_files) {
    m.format = "safetensors";
  } else {
    m.format = "other";
  }
  if (m.quantization.empty() && !dtype_parameters.empty()) {
    std::string mix;
    for (const auto& [dtype, n] : dtype_parameters) mix += (mix.empty() ? "" : "+") + dtype;
    m.quantization = mix;
  }
  return m;
}

boost::json::object MetadataToJson(const ModelMetadata& m) {
  auto arr = [](const std::vector<std::string>& v) {
    json::array a;
    for (const auto& s : v) a.emplace_back(s);
    return a;
  };
  return json::object{{"format", m.format},
                      {"name", m.name},
                      {"architecture", m.architecture},
                      {"model_architecture", m.model_architecture},
                      {"license", m.license},
                      {"source_url", m.source_url},
                      {"base_models", arr(m.base_models)},
                      {"datasets", arr(m.datasets)},
                      {"tags", arr(m.tags)},
                      {"task", m.task},
                      {"parameter_count", m.parameter_count},
                      {"quantization", m.quantization},
                      {"context_length", m.context_length},
                      {"limitations", m.limitations},
                      {"bias_risks", m.bias_risks},
                      {"intended_use", m.intended_use},
                      {"details", m.details}};
}

ModelMetadata MetadataFromJson(const boost::json::object& o) {
  ModelMetadata m;
  auto str = [&](const char* k) -> std::string {
    const json::value* x = o.if_contains(k);
    return x && x->is_string() ? std::string(x->get_string()) : "";
  };
  auto list = [&](const char* k) {
    std::vector<std::string> out;
    const json::value* x = o.if_contains(k);
    if (x && x->is_array()) {
      for (const auto& e : x->get_array()) {
        if (e.is_string()) out.emplace_back(e.get_string());
      }
    }
    return out;
  };
  m.format = str("format");
  m.name = str("name");
  m.architecture = str("architecture");
  m.model_architecture = str("model_architecture");
  m.license = str("license");
  m.source_url = str("source_url");
  m.base_models = list("base_models");
  m.datasets = list("datasets");
  m.tags = list("tags");
  m.task = str("task");
  if (const json::value* x = o.if_contains("parameter_count"); x && x->is_number()) {
    m.parameter_count = x->to_number<uint64_t>();
  }
  m.quantization = str("quantization");
  if (const json::value* x = o.if_contains("context_length"); x && x->is_number()) {
    m.context_length = x->to_number<int64_t>();
  }
  m.limitations = str("limitations");
  m.bias_risks = str("bias_risks");
  m.intended_use = str("intended_use");
  if (const json::value* x = o.if_contains("details"); x && x->is_object()) {
    m.details = x->get_object();
  }
  return m;
}

}  // namespace steward::registry
