#include "registry/sbom.h"

#include <cstdio>
#include <ctime>

#include "common/strings.h"
#include "registry/license.h"

namespace steward::registry {
namespace {

namespace json = boost::json;

json::object LicenseChoice(const std::string& id, const std::string& raw) {
  LicenseInfo li = NormalizeLicense(id == "unknown" ? raw : id);
  json::object license;
  if (li.spdx) {
    license["id"] = li.id;
  } else if (li.known()) {
    license["name"] = li.id;
  } else {
    license["name"] = raw.empty() ? "unknown" : "unknown (declared: " + raw + ")";
  }
  return json::object{{"license", std::move(license)}};
}

json::object Property(const std::string& name, const std::string& value) {
  return json::object{{"name", name}, {"value", value}};
}

bool IsUrl(const std::string& s) {
  return s.rfind("https://", 0) == 0 || s.rfind("http://", 0) == 0;
}

std::string FormatNumber(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.6g", v);
  return buf;
}

json::array TextList(const std::string& text) {
  json::array a;
  if (!text.empty()) a.emplace_back(text);
  return a;
}

}  // namespace

std::string RandomUuid() {
  std::string hex = RandomHex(16);
  hex[12] = '4';
  const char variant[] = "89ab";
  hex[16] = variant[(hex[16] - '0') & 3];
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20, 12);
}

std::string Iso8601Utc(int64_t unix_ms) {
  std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof(out), "%s.%03dZ", buf, static_cast<int>(unix_ms % 1000));
  return out;
}

json::object BuildMlBom(const BomInputs& in) {
  const ModelVersion& m = in.model;
  const std::string model_ref = "model:" + m.name + "@" + m.version;

  json::array files;
  for (const auto& f : m.files) {
    files.push_back(json::object{
        {"type", "file"},
        {"bom-ref", model_ref + "/" + f.path},
        {"name", f.path},
        {"hashes", json::array{json::object{{"alg", "SHA-256"}, {"content", f.sha256_hex}}}},
        {"properties", json::array{Property("steward:size_bytes", std::to_string(f.size))}}});
  }

  json::array external_refs;
  if (IsUrl(m.source_url)) {
    external_refs.push_back(json::object{{"type", "distribution"},
                                         {"url", m.source_url},
                                         {"comment", "source the weights came from"}});
  }
  if (IsUrl(m.base_model)) {
    external_refs.push_back(
        json::object{{"type", "other"}, {"url", m.base_model}, {"comment", "base model"}});
  }

  json::array properties{
      Property("steward:manifest_digest", m.manifest_digest),
      Property("steward:manifest_convention", "openssf-model-signing-v1.0-files-sha256"),
      Property("steward:state", m.state),
      Property("steward:registered_by", m.registered_by),
      Property("steward:registered_at", Iso8601Utc(m.registered_ms)),
      Property("steward:license_decision", m.license_verdict + ": " + m.license_reason),
      Property("steward:format", m.metadata.format),
  };
  if (!m.deploy_role.empty()) properties.push_back(Property("steward:deploy_role", m.deploy_role));
  if (m.approved_ms)
    properties.push_back(Property("steward:approved_at", Iso8601Utc(m.approved_ms)));
  for (const auto& a : m.approved_by) properties.push_back(Property("steward:approved_by", a));
  if (!m.base_model.empty()) properties.push_back(Property("steward:base_model", m.base_model));
  if (m.metadata.parameter_count) {
    properties.push_back(
        Property("steward:parameter_count", std::to_string(m.metadata.parameter_count)));
  }
  if (!m.metadata.quantization.empty()) {
    properties.push_back(Property("steward:quantization", m.metadata.quantization));
  }
  if (m.metadata.context_length) {
    properties.push_back(
        Property("steward:context_length", std::to_string(m.metadata.context_length)));
  }
  for (const auto& s : in.signatures) {
    properties.push_back(Property("steward:signature:ed25519", s.public_key + ":" + s.signature));
  }
  for (const auto& [k, v] : m.attrs) properties.push_back(Property("steward:attr:" + k, v));
  for (const auto& t : m.tags) properties.push_back(Property("steward:tag", t));

  // modelCard
  json::object model_parameters;
  if (!m.metadata.task.empty()) model_parameters["task"] = m.metadata.task;
  if (!m.metadata.architecture.empty()) {
    model_parameters["architectureFamily"] = m.metadata.architecture;
  }
  if (!m.metadata.model_architecture.empty()) {
    model_parameters["modelArchitecture"] = m.metadata.model_architecture;
  }
  json::array dataset_refs;
  for (const auto& d : in.datasets) {
    dataset_refs.push_back(json::object{{"ref", "dataset:" + d.name + "@" + d.version}});
  }
  if (!dataset_refs.empty()) model_parameters["datasets"] = std::move(dataset_refs);
  model_parameters["inputs"] = json::array{json::object{{"format", "text"}}};
  model_parameters["outputs"] = json::array{json::object{{"format", "text"}}};

  json::object model_card{{"bom-ref", model_ref + "#model-card"},
                          {"modelParameters", std::move(model_parameters)}};
  if (!in.evaluations.empty()) {
    json::array metrics;
    for (const auto& e : in.evaluations) {
      json::object metric{{"type", e.kind + ":" + e.metric}, {"value", FormatNumber(e.value)}};
      if (!e.slice.empty()) metric["slice"] = e.slice;
      metrics.push_back(std::move(metric));
    }
    model_card["quantitativeAnalysis"] = json::object{{"performanceMetrics", std::move(metrics)}};
  }
  json::object considerations;
  if (!m.metadata.intended_use.empty()) {
    considerations["useCases"] = TextList(m.metadata.intended_use);
  }
  if (!m.metadata.limitations.empty()) {
    considerations["technicalLimitations"] = TextList(m.metadata.limitations);
  }
  json::array ethical;
  if (!m.metadata.bias_risks.empty()) {
    ethical.push_back(
        json::object{{"name", m.metadata.bias_risks},
                     {"mitigationStrategy",
                      "Served through Steward: PII scanning, policy and audit on every call"}});
  }
  if (m.license_verdict != "allow") {
    ethical.push_back(json::object{{"name", "License: " + m.license_reason},
                                   {"mitigationStrategy", "explicit approval recorded in audit"}});
  }
  if (!ethical.empty()) considerations["ethicalConsiderations"] = std::move(ethical);
  if (considerations.empty()) {
    considerations["technicalLimitations"] =
        json::array{"No limitations are declared in the model's card."};
  }
  model_card["considerations"] = std::move(considerations);
  if (!m.metadata.datasets.empty()) {
    json::array props;
    for (const auto& d : m.metadata.datasets) props.push_back(Property("steward:card_dataset", d));
    model_card["properties"] = std::move(props);
  }

  json::object model{{"type", "machine-learning-model"},
                     {"bom-ref", model_ref},
                     {"name", m.name},
                     {"version", m.version},
                     {"licenses", json::array{LicenseChoice(m.license, m.license_raw)}},
                     {"properties", std::move(properties)},
                     {"modelCard", std::move(model_card)},
                     {"components", std::move(files)}};
  if (!m.metadata.name.empty() && m.metadata.name != m.name) {
    model["description"] = "declared name: " + m.metadata.name;
  }
  if (m.files.size() == 1) {
    model["hashes"] =
        json::array{json::object{{"alg", "SHA-256"}, {"content", m.files[0].sha256_hex}}};
  }
  if (!external_refs.empty()) model["externalReferences"] = std::move(external_refs);

  json::array components{std::move(model)};
  json::array depends_on;
  for (const auto& d : in.datasets) {
    std::string ref = "dataset:" + d.name + "@" + d.version;
    depends_on.emplace_back(ref);
    json::array dfiles;
    for (const auto& f : d.files) {
      dfiles.push_back(json::object{
          {"type", "file"},
          {"bom-ref", ref + "/" + f.path},
          {"name", f.path},
          {"hashes", json::array{json::object{{"alg", "SHA-256"}, {"content", f.sha256_hex}}}}});
    }
    json::object data{
        {"type", "data"},
        {"bom-ref", ref},
        {"name", d.name},
        {"version", d.version},
        {"licenses", json::array{LicenseChoice(d.license, d.license_raw)}},
        {"data", json::array{json::object{{"type", "dataset"}, {"name", d.name}}}},
        {"properties", json::array{Property("steward:manifest_digest", d.manifest_digest),
                                   Property("steward:registered_by", d.registered_by)}}};
    if (!dfiles.empty()) data["components"] = std::move(dfiles);
    if (IsUrl(d.source_url)) {
      data["externalReferences"] =
          json::array{json::object{{"type", "distribution"}, {"url", d.source_url}}};
    }
    components.push_back(std::move(data));
  }

  json::object bom{
      {"bomFormat", "CycloneDX"},
      {"specVersion", "1.6"},
      {"serialNumber", "urn:uuid:" + (in.serial_uuid.empty() ? RandomUuid() : in.serial_uuid)},
      {"version", 1},
      {"metadata",
       json::object{{"timestamp", Iso8601Utc(in.now_ms)},
                    {"tools", json::object{{"components", json::array{json::object{
                                                              {"type", "application"},
                                                              {"name", "steward"},
                                                              {"version", in.tool_version}}}}}},
                    {"component", json::object{{"type", "machine-learning-model"},
                                               {"bom-ref", model_ref + "#root"},
                                               {"name", m.name},
                                               {"version", m.version}}}}},
      {"components", std::move(components)},
  };
  json::array deps{json::object{{"ref", model_ref}, {"dependsOn", std::move(depends_on)}}};
  bom["dependencies"] = std::move(deps);
  return bom;
}

}  // namespace steward::registry
