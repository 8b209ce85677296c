// safetensors reader (Hugging Face's tensor file format).
//
// Layout: uint64 little-endian N, then N bytes of UTF-8 JSON (the header),
// then the data buffer. The header maps tensor names to
// {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to the
// data buffer), plus an optional "__metadata__" object of string values.
//
// Hostile files are rejected with an InvalidArgument naming the problem: a
// header length beyond the file or above 100 MB (the reference
// implementation's limit), invalid UTF-8 or JSON, unknown dtypes, shapes
// whose byte size does not match their offsets, offsets outside the data
// buffer, and overlapping tensors.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "registry/byte_source.h"
#include "steward/status.h"

namespace steward::registry {

struct SafetensorsTensor {
  std::string name;
  std::string dtype;
  std::vector<uint64_t> shape;
  uint64_t begin = 0;
  uint64_t end = 0;
};

struct SafetensorsInfo {
  uint64_t header_size = 0;
  std::vector<SafetensorsTensor> tensors;            // in offset order
  std::map<std::string, std::string> metadata;       // __metadata__
  std::map<std::string, uint64_t> dtype_parameters;  // dtype -> parameter count
  uint64_t parameter_count = 0;
};

inline constexpr uint64_t kMaxSafetensorsHeader = 100'000'000;

Result<SafetensorsInfo> ReadSafetensors(const ByteSource& source);
Result<SafetensorsInfo> ReadSafetensorsFile(const std::string& path);

}  // namespace steward::registry
