// Tiny writers for GGUF and safetensors files, for tests (including hostile
// files: every field can be set to a lie).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace steward::registry::testing {

// Appends little-endian values and GGUF strings to a byte string.
class GgufWriter {
 public:
  GgufWriter& Magic(const std::string& magic = "GGUF");
  GgufWriter& U8(uint8_t v);
  GgufWriter& U32(uint32_t v);
  GgufWriter& U64(uint64_t v);
  GgufWriter& F32(float v);
  GgufWriter& Str(const std::string& s);  // uint64 length + bytes
  GgufWriter& Raw(const std::string& bytes);
  // Metadata entries (key, type, value).
  GgufWriter& KvString(const std::string& key, const std::string& value);
  GgufWriter& KvU32(const std::string& key, uint32_t value);
  GgufWriter& KvStringArray(const std::string& key, const std::vector<std::string>& values);
  // A tensor info: name, dims, ggml type, offset.
  GgufWriter& Tensor(const std::string& name, const std::vector<uint64_t>& dims, uint32_t type,
                     uint64_t offset);
  // Pads with zeros to `alignment`.
  GgufWriter& Align(uint64_t alignment = 32);
  GgufWriter& Zeros(uint64_t n);
  const std::string& bytes() const { return bytes_; }

 private:
  std::string bytes_;
};

struct TinyGgufOptions {
  std::string name = "tiny-llama";
  std::string architecture = "llama";
  std::string license = "apache-2.0";
  std::string source_url = "https://example.org/tiny-llama";
  uint32_t file_type = 15;  // Q4_K_M
  uint32_t context_length = 2048;
};

// A valid GGUF v3 file: metadata as in `options` and two F32 tensors
// (4x8 and 8) with their data.
std::string TinyGguf(const TinyGgufOptions& options = {});

struct SafetensorsTensorSpec {
  std::string name;
  std::string dtype;
  std::vector<uint64_t> shape;
  uint64_t begin;
  uint64_t end;
};

// A safetensors file with the given header entries (written as given, so
// they may lie) and `data_bytes` zero bytes of data.
std::string Safetensors(const std::vector<SafetensorsTensorSpec>& tensors, uint64_t data_bytes,
                        const std::vector<std::pair<std::string, std::string>>& metadata = {});
// A safetensors file from a raw header string.
std::string SafetensorsRaw(const std::string& header, uint64_t data_bytes);

// A valid two-tensor safetensors file (F16 [4,4] + F32 [4]).
std::string TinySafetensors();

// Writes `bytes` to `path` (creating directories); returns false on error.
bool WriteFile(const std::string& path, const std::string& bytes);

// A fresh temporary directory under /tmp, removed by the caller.
std::string MakeTempDir(const std::string& prefix);

}  // namespace steward::registry::testing
