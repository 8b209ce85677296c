// CycloneDX 1.6 ML-BOM for one registered model version.
//
// The BOM's metadata.component and first component is the model
// (`type: machine-learning-model`) with its license, external references
// (source, base model), provenance properties (manifest digest, state,
// registering admin, timestamps, signatures) and a `modelCard`
// (modelParameters, quantitativeAnalysis from evaluations, considerations
// from the model card). Every model file is a nested `file` component with
// its SHA-256; linked datasets are `data` components referenced from
// modelParameters.datasets.
#pragma once

#include <boost/json.hpp>
#include <string>
#include <vector>

#include "registry/registry.h"

namespace steward::registry {

struct BomInputs {
  ModelVersion model;  // with files and datasets (Registry::Get)
  std::vector<DatasetVersion> datasets;
  std::vector<Evaluation> evaluations;
  std::vector<SignatureRecord> signatures;
  int64_t now_ms = 0;
  std::string serial_uuid;  // "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx"
  std::string tool_version = "0.1.0";
};

boost::json::object BuildMlBom(const BomInputs& in);

// A random RFC 4122 version-4 UUID.
std::string RandomUuid();
// "2026-11-27T11:00:00.000Z"
std::string Iso8601Utc(int64_t unix_ms);

}  // namespace steward::registry
