// GGUF (llama.cpp's model file format) reader, versions 2 and 3.
//
// Layout (little-endian): magic "GGUF", uint32 version, uint64 tensor_count,
// uint64 kv_count, kv_count metadata entries (string key, uint32 type,
// value), tensor_count tensor infos (string name, uint32 n_dims,
// uint64 dims[n_dims], uint32 ggml_type, uint64 offset), padding to
// `general.alignment` (default 32), then the tensor data. Strings are a
// uint64 length and UTF-8 bytes without a terminator.
//
// The reader treats the file as hostile: lengths and counts are checked
// against the bytes left before anything is allocated, strings must be valid
// UTF-8, array nesting is bounded, tensor dims must not overflow, and every
// tensor's data must lie inside the file, aligned, without overlapping
// another. Any violation is an InvalidArgument naming the problem.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "registry/byte_source.h"
#include "steward/status.h"

namespace steward::registry {

enum class GgufType : uint32_t {
  kUint8 = 0,
  kInt8 = 1,
  kUint16 = 2,
  kInt16 = 3,
  kUint32 = 4,
  kInt32 = 5,
  kFloat32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kUint64 = 10,
  kInt64 = 11,
  kFloat64 = 12,
};

// A metadata value. Arrays keep their element type and length; their
// elements are kept only when short (tokenizer vocabularies are not).
struct GgufValue {
  GgufType type = GgufType::kUint8;
  std::variant<uint64_t, int64_t, double, bool, std::string> scalar;
  GgufType array_type = GgufType::kUint8;
  uint64_t array_length = 0;
  std::vector<GgufValue> elements;  // only when array_length <= kGgufKeptArrayElements

  // Integer value of an integer-typed scalar; `fallback` otherwise.
  int64_t AsInt(int64_t fallback = 0) const;
  // The string of a string scalar; "" otherwise.
  const std::string& AsString() const;
  boost::json::value ToJson() const;
};

inline constexpr uint64_t kGgufKeptArrayElements = 64;

struct GgufTensor {
  std::string name;
  std::vector<uint64_t> dims;
  uint32_t ggml_type = 0;
  uint64_t offset = 0;  // relative to the data section
  uint64_t nbytes = 0;
  uint64_t elements = 0;
};

struct GgufBaseModel {
  std::string name, organization, version, repo_url;
};

struct GgufInfo {
  uint32_t version = 0;
  uint64_t alignment = 32;
  uint64_t data_offset = 0;  // absolute offset of the tensor data section
  std::map<std::string, GgufValue> metadata;
  std::vector<GgufTensor> tensors;
  uint64_t parameter_count = 0;

  // Well-known metadata, "" / 0 when absent.
  std::string name;                        // general.name
  std::string architecture;                // general.architecture
  std::string license;                     // general.license
  std::string source_url;                  // general.source.url (or general.url)
  std::vector<GgufBaseModel> base_models;  // general.base_model.N.*
  std::string file_type;                   // general.file_type as a name ("Q4_K_M") or number
  int64_t context_length = 0;              // <arch>.context_length
};

// Reads header, metadata and tensor infos (not tensor data).
Result<GgufInfo> ReadGguf(const ByteSource& source);
Result<GgufInfo> ReadGgufFile(const std::string& path);

// The name of a ggml tensor type ("Q4_K", "F16"), or "type<N>".
std::string GgmlTypeName(uint32_t type);
// The name of a llama.cpp file type (general.file_type) such as "Q4_K_M".
std::string GgufFileTypeName(int64_t file_type);

}  // namespace steward::registry
