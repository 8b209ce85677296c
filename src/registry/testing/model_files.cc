#include "registry/testing/model_files.h"

#include <boost/json.hpp>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace steward::registry::testing {

GgufWriter& GgufWriter::Magic(const std::string& magic) { return Raw(magic); }
GgufWriter& GgufWriter::U8(uint8_t v) {
  bytes_.push_back(static_cast<char>(v));
  return *this;
}
GgufWriter& GgufWriter::U32(uint32_t v) {
  for (int i = 0; i < 4; ++i) bytes_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  return *this;
}
GgufWriter& GgufWriter::U64(uint64_t v) {
  for (int i = 0; i < 8; ++i) bytes_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  return *this;
}
GgufWriter& GgufWriter::F32(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  return U32(bits);
}
GgufWriter& GgufWriter::Str(const std::string& s) {
  U64(s.size());
  return Raw(s);
}
GgufWriter& GgufWriter::Raw(const std::string& b) {
  bytes_ += b;
  return *this;
}
GgufWriter& GgufWriter::KvString(const std::string& key, const std::string& value) {
  return Str(key).U32(8).Str(value);
}
GgufWriter& GgufWriter::KvU32(const std::string& key, uint32_t value) {
  return Str(key).U32(4).U32(value);
}
GgufWriter& GgufWriter::KvStringArray(const std::string& key,
                                      const std::vector<std::string>& values) {
  Str(key).U32(9).U32(8).U64(values.size());
  for (const auto& v : values) Str(v);
  return *this;
}
GgufWriter& GgufWriter::Tensor(const std::string& name, const std::vector<uint64_t>& dims,
                               uint32_t type, uint64_t offset) {
  Str(name).U32(static_cast<uint32_t>(dims.size()));
  for (uint64_t d : dims) U64(d);
  return U32(type).U64(offset);
}
GgufWriter& GgufWriter::Align(uint64_t alignment) {
  while (bytes_.size() % alignment) bytes_.push_back('\0');
  return *this;
}
GgufWriter& GgufWriter::Zeros(uint64_t n) {
  bytes_.append(n, '\0');
  return *this;
}

std::string TinyGguf(const TinyGgufOptions& o) {
  GgufWriter w;
  w.Magic().U32(3).U64(2).U64(8);
  w.KvString("general.architecture", o.architecture);
  w.KvString("general.name", o.name);
  w.KvString("general.license", o.license);
  w.KvString("general.source.url", o.source_url);
  w.KvU32("general.file_type", o.file_type);
  w.KvU32(o.architecture + ".context_length", o.context_length);
  w.KvU32("general.base_model.count", 1);
  w.KvString("general.base_model.0.name", "Base Llama");
  w.Tensor("token_embd.weight", {4, 8}, 0, 0);  // 32 floats = 128 bytes
  w.Tensor("output_norm.weight", {8}, 0, 128);  // 8 floats = 32 bytes
  w.Align(32);
  for (int i = 0; i < 40; ++i) w.F32(static_cast<float>(i) * 0.5f);
  return w.bytes();
}

std::string SafetensorsRaw(const std::string& header, uint64_t data_bytes) {
  std::string out;
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  out += header;
  out.append(data_bytes, '\0');
  return out;
}

std::string Safetensors(const std::vector<SafetensorsTensorSpec>& tensors, uint64_t data_bytes,
                        const std::vector<std::pair<std::string, std::string>>& metadata) {
  boost::json::object header;
  if (!metadata.empty()) {
    boost::json::object meta;
    for (const auto& [k, v] : metadata) meta[k] = v;
    header["__metadata__"] = std::move(meta);
  }
  for (const auto& t : tensors) {
    boost::json::array shape;
    for (uint64_t d : t.shape) shape.push_back(d);
    header[t.name] = boost::json::object{
        {"dtype", t.dtype}, {"shape", shape}, {"data_offsets", boost::json::array{t.begin, t.end}}};
  }
  return SafetensorsRaw(boost::json::serialize(header), data_bytes);
}

std::string TinySafetensors() {
  return Safetensors({{"a.weight", "F16", {4, 4}, 0, 32}, {"b.bias", "F32", {4}, 32, 48}}, 48,
                     {{"format", "pt"}});
}

bool WriteFile(const std::string& path, const std::string& bytes) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return static_cast<bool>(out);
}

std::string MakeTempDir(const std::string& prefix) {
  std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
  char* dir = ::mkdtemp(tmpl.data());
  return dir ? std::string(dir) : std::string();
}

}  // namespace steward::registry::testing
