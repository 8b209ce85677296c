#include "registry/gguf.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include "common/strings.h"

namespace steward::registry {
namespace {

constexpr uint32_t kMaxDims = 4;  // GGML_MAX_DIMS
constexpr uint64_t kMaxStringBytes = 64ull << 20;
constexpr int kMaxArrayDepth = 4;  // arrays of arrays are legal but rare
constexpr uint64_t kMaxAlignment = 1 << 20;

struct GgmlTypeTraits {
  const char* name;
  uint32_t block_elements;  // 0: unknown/removed type
  uint32_t block_bytes;
};

// ggml.h's type table: elements per block and bytes per block.
constexpr GgmlTypeTraits kGgmlTypes[] = {
    {"F32", 1, 4},        {"F16", 1, 2},       {"Q4_0", 32, 18},     {"Q4_1", 32, 20},
    {"Q4_2", 0, 0},       {"Q4_3", 0, 0},      {"Q5_0", 32, 22},     {"Q5_1", 32, 24},
    {"Q8_0", 32, 34},     {"Q8_1", 32, 36},    {"Q2_K", 256, 84},    {"Q3_K", 256, 110},
    {"Q4_K", 256, 144},   {"Q5_K", 256, 176},  {"Q6_K", 256, 210},   {"Q8_K", 256, 292},
    {"IQ2_XXS", 256, 66}, {"IQ2_XS", 256, 74}, {"IQ3_XXS", 256, 98}, {"IQ1_S", 256, 50},
    {"IQ4_NL", 32, 18},   {"IQ3_S", 256, 110}, {"IQ2_S", 256, 82},   {"IQ4_XS", 256, 136},
    {"I8", 1, 1},         {"I16", 1, 2},       {"I32", 1, 4},        {"I64", 1, 8},
    {"F64", 1, 8},        {"IQ1_M", 256, 56},  {"BF16", 1, 2},       {"Q4_0_4_4", 0, 0},
    {"Q4_0_4_8", 0, 0},   {"Q4_0_8_8", 0, 0},  {"TQ1_0", 256, 54},   {"TQ2_0", 256, 66},
};

std::string At(const Cursor& c) { return " at offset " + std::to_string(c.offset()); }

class GgufParser {
 public:
  explicit GgufParser(const ByteSource& source) : source_(source), cursor_(source) {}

  Result<GgufInfo> Parse();

 private:
  Status ReadString(std::string* out, std::string_view what);
  Status ReadValue(GgufType type, GgufValue* out, int depth, const std::string& key);
  Status ReadTensorInfo(GgufTensor* t, uint64_t index);
  Status CheckTensorData(GgufInfo& info);
  void ExtractWellKnown(GgufInfo& info);

  const ByteSource& source_;
  Cursor cursor_;
};

Status GgufParser::ReadString(std::string* out, std::string_view what) {
  uint64_t len = 0;
  uint64_t at = cursor_.offset();
  STEWARD_RETURN_IF_ERROR(cursor_.ReadLe(&len, what));
  if (len > cursor_.remaining()) {
    return InvalidArgument("truncated file: " + std::string(what) + " at offset " +
                           std::to_string(at) + " claims " + std::to_string(len) + " bytes, only " +
                           std::to_string(cursor_.remaining()) + " left");
  }
  if (len > kMaxStringBytes) {
    return InvalidArgument(std::string(what) + " at offset " + std::to_string(at) + " is " +
                           std::to_string(len) + " bytes (limit " +
                           std::to_string(kMaxStringBytes) + ")");
  }
  out->resize(static_cast<size_t>(len));
  STEWARD_RETURN_IF_ERROR(cursor_.Read(out->data(), out->size(), what));
  if (!IsValidUtf8(*out)) {
    return InvalidArgument(std::string(what) + " at offset " + std::to_string(at) +
                           " is not valid UTF-8");
  }
  return Status::Ok();
}

// Minimum encoded size of one value of `type`, used to bound array counts.
uint64_t MinEncodedSize(GgufType type) {
  switch (type) {
    case GgufType::kUint8:
    case GgufType::kInt8:
    case GgufType::kBool:
      return 1;
    case GgufType::kUint16:
    case GgufType::kInt16:
      return 2;
    case GgufType::kUint32:
    case GgufType::kInt32:
    case GgufType::kFloat32:
      return 4;
    case GgufType::kUint64:
    case GgufType::kInt64:
    case GgufType::kFloat64:
      return 8;
    case GgufType::kString:
      return 8;
    case GgufType::kArray:
      return 12;
  }
  return 1;
}

Status GgufParser::ReadValue(GgufType type, GgufValue* out, int depth, const std::string& key) {
  out->type = type;
  const std::string what = "value of `" + key + "`";
  switch (type) {
    case GgufType::kUint8: {
      uint8_t v;
      STEWARD_RETURN_IF_ERROR(cursor_.ReadLe(&v, what));
      out->scalar = uint64_t{v};
      return Status::Ok();
    }
    case GgufType::kInt8: {
      int8_t v;
      STEWARD_RETURN_IF_ERROR(cursor_.ReadLe(&v, what));
      out->scalar = int64_t{v};
      return Status::Ok();
    }
    case GgufType::kUint16: {
      uint16_t v;
      STEWARD_RETURN_IF_ERROR(cursor_.ReadLe(&v, what));
      out->scalar = uint64_t{v};
      return Status::Ok();
    }
    case GgufType::kInt16: {
      int16_t v;
      STEWARD_RETURN_IF_ERROR(cursor_.ReadLe(&v, what));
      out->scalar = int64_t{v};
      return Status::Ok();
    }
    case GgufType::kUint32: {
      uint32_t v;
      STEWARD_RETURN_IF_ERROR(cursor_.ReadLe(&v, what));
      out->scalar = uint64_t{v};
      return Status::Ok();
    }
    case GgufType::kInt32: {
      int32_t v;
      STEWARD_RETURN_IF_ERROR(cursor_.ReadLe(&v, what));
      out->scalar = int64_t{v};
      return Status::Ok();
    }
    case GgufType::kUint64: {
      uint64_t v;
      STEWARD_RETURN_IF_ERROR(cursor_.ReadLe(&v, what));
      out->scalar = v;
      return Status::Ok();
    }
    case GgufType::kInt64: {
      int64_t v;
      STEWARD_RETURN_IF_ERROR(cursor_.ReadLe(&v, what));
      out->scalar = v;
      return Status::Ok();
    }
    case GgufType::kFloat32: {
      uint32_t bits;
      STEWARD_RETURN_IF_ERROR(cursor_.ReadLe(&bits, what));
      out->scalar = static_cast<double>(std::bit_cast<float>(bits));
      return Status::Ok();
    }
    case GgufType::kFloat64: {
      uint64_t bits;
      STEWARD_RETURN_IF_ERROR(cursor_.ReadLe(&bits, what));
      out->scalar = std::bit_cast<double>(bits);
      return Status::Ok();
    }
    case GgufType::kBool: {
      uint8_t v;
      STEWARD_RETURN_IF_ERROR(cursor_.ReadLe(&v, what));
      if (v > 1) return InvalidArgument(what + " is a bool with value " + std::to_string(v));
      out->scalar = v == 1;
      return Status::Ok();
    }
    case GgufType::kString: {
      std::string s;
      STEWARD_RETURN_IF_ERROR(ReadString(&s, what));
      out->scalar = std::move(s);
      return Status::Ok();
    }
    case GgufType::kArray: {
      if (depth >= kMaxArrayDepth) {
        return InvalidArgument(what + " nests arrays deeper than " +
                               std::to_string(kMaxArrayDepth));
      }
      uint32_t raw_type;
      uint64_t at = cursor_.offset();
      STEWARD_RETURN_IF_ERROR(cursor_.ReadLe(&raw_type, what + " element type"));
      if (raw_type > static_cast<uint32_t>(GgufType::kFloat64)) {
        return InvalidArgument(what + " has unknown array element type " +
                               std::to_string(raw_type) + " at offset " + std::to_string(at));
      }
      uint64_t count;
      STEWARD_RETURN_IF_ERROR(cursor_.ReadLe(&count, what + " array length"));
      auto elem_type = static_cast<GgufType>(raw_type);
      // Every element takes at least MinEncodedSize bytes: a count the file
      // cannot hold is rejected before any allocation or loop.
      if (count > cursor_.remaining() / MinEncodedSize(elem_type)) {
        return InvalidArgument(what + " claims " + std::to_string(count) +
                               " array elements, more than the " +
                               std::to_string(cursor_.remaining()) + " bytes left can hold");
      }
      out->array_type = elem_type;
      out->array_length = count;
      const bool keep = count <= kGgufKeptArrayElements;
      if (keep) out->elements.reserve(static_cast<size_t>(count));
      if (!keep && MinEncodedSize(elem_type) <= 8 && elem_type != GgufType::kString &&
          elem_type != GgufType::kArray && elem_type != GgufType::kBool) {
        // Fixed-size numeric elements: skip in one step.
        return cursor_.Skip(count * MinEncodedSize(elem_type), what);
      }
      for (uint64_t i = 0; i < count; ++i) {
        GgufValue element;
        STEWARD_RETURN_IF_ERROR(ReadValue(elem_type, &element, depth + 1, key));
        if (keep) out->elements.push_back(std::move(element));
      }
      return Status::Ok();
    }
  }
  return InvalidArgument(what + " has unknown type " + std::to_string(static_cast<uint32_t>(type)));
}

Status GgufParser::ReadTensorInfo(GgufTensor* t, uint64_t index) {
  const std::string what = "tensor info " + std::to_string(index);
  STEWARD_RETURN_IF_ERROR(ReadString(&t->name, what + " name"));
  uint32_t n_dims;
  STEWARD_RETURN_IF_ERROR(cursor_.ReadLe(&n_dims, what + " n_dims"));
  if (n_dims == 0 || n_dims > kMaxDims) {
    return InvalidArgument("tensor `" + t->name + "` has " + std::to_string(n_dims) +
                           " dimensions (must be 1.." + std::to_string(kMaxDims) + ")");
  }
  uint64_t elements = 1;
  for (uint32_t d = 0; d < n_dims; ++d) {
    uint64_t dim;
    STEWARD_RETURN_IF_ERROR(cursor_.ReadLe(&dim, what + " dims"));
    if (dim == 0) return InvalidArgument("tensor `" + t->name + "` has a zero dimension");
    if (elements > UINT64_MAX / dim) {
      return InvalidArgument("tensor `" + t->name + "` element count overflows 64 bits");
    }
    elements *= dim;
    t->dims.push_back(dim);
  }
  STEWARD_RETURN_IF_ERROR(cursor_.ReadLe(&t->ggml_type, what + " type"));
  STEWARD_RETURN_IF_ERROR(cursor_.ReadLe(&t->offset, what + " offset"));
  constexpr size_t kTypeCount = sizeof(kGgmlTypes) / sizeof(kGgmlTypes[0]);
  if (t->ggml_type >= kTypeCount || kGgmlTypes[t->ggml_type].block_elements == 0) {
    return InvalidArgument("tensor `" + t->name + "` has unknown ggml type " +
                           std::to_string(t->ggml_type));
  }
  const GgmlTypeTraits& traits = kGgmlTypes[t->ggml_type];
  if (t->dims[0] % traits.block_elements != 0) {
    return InvalidArgument("tensor `" + t->name + "` row of " + std::to_string(t->dims[0]) +
                           " elements is not a multiple of the " + traits.name + " block size " +
                           std::to_string(traits.block_elements));
  }
  uint64_t blocks = elements / traits.block_elements;
  if (blocks > UINT64_MAX / traits.block_bytes) {
    return InvalidArgument("tensor `" + t->name + "` byte size overflows 64 bits");
  }
  t->elements = elements;
  t->nbytes = blocks * traits.block_bytes;
  return Status::Ok();
}

Status GgufParser::CheckTensorData(GgufInfo& info) {
  uint64_t data_bytes = source_.size() - info.data_offset;
  std::vector<const GgufTensor*> by_offset;
  by_offset.reserve(info.tensors.size());
  for (const auto& t : info.tensors) {
    if (t.offset % info.alignment != 0) {
      return InvalidArgument("tensor `" + t.name + "` offset " + std::to_string(t.offset) +
                             " is not aligned to " + std::to_string(info.alignment));
    }
    if (t.offset > data_bytes || t.nbytes > data_bytes - t.offset) {
      return InvalidArgument("tensor `" + t.name + "` data [" + std::to_string(t.offset) + ", +" +
                             std::to_string(t.nbytes) + ") lies outside the " +
                             std::to_string(data_bytes) + "-byte data section");
    }
    by_offset.push_back(&t);
  }
  std::sort(by_offset.begin(), by_offset.end(),
            [](const GgufTensor* a, const GgufTensor* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const GgufTensor* prev = by_offset[i - 1];
    if (prev->offset + prev->nbytes > by_offset[i]->offset) {
      return InvalidArgument("tensors `" + prev->name + "` and `" + by_offset[i]->name +
                             "` overlap in the data section");
    }
  }
  return Status::Ok();
}

void GgufParser::ExtractWellKnown(GgufInfo& info) {
  auto str = [&](const std::string& key) -> std::string {
    auto it = info.metadata.find(key);
    return it == info.metadata.end() ? "" : it->second.AsString();
  };
  info.name = str("general.name");
  info.architecture = str("general.architecture");
  info.license = str("general.license");
  info.source_url = str("general.source.url");
  if (info.source_url.empty()) info.source_url = str("general.url");
  auto count_it = info.metadata.find("general.base_model.count");
  int64_t base_count = count_it == info.metadata.end() ? 0 : count_it->second.AsInt();
  for (int64_t i = 0; i < base_count && i < 16; ++i) {
    std::string prefix = "general.base_model." + std::to_string(i) + ".";
    GgufBaseModel b{str(prefix + "name"), str(prefix + "organization"), str(prefix + "version"),
                    str(prefix + "repo_url")};
    if (!b.name.empty() || !b.repo_url.empty()) info.base_models.push_back(std::move(b));
  }
  auto ft = info.metadata.find("general.file_type");
  if (ft != info.metadata.end()) info.file_type = GgufFileTypeName(ft->second.AsInt(-1));
  if (!info.architecture.empty()) {
    auto ctx = info.metadata.find(info.architecture + ".context_length");
    if (ctx != info.metadata.end()) info.context_length = ctx->second.AsInt();
  }
}

Result<GgufInfo> GgufParser::Parse() {
  GgufInfo info;
  char magic[4];
  STEWARD_RETURN_IF_ERROR(cursor_.Read(magic, 4, "GGUF magic"));
  if (std::memcmp(magic, "GGUF", 4) != 0) {
    return InvalidArgument("not a GGUF file (bad magic)");
  }
  STEWARD_RETURN_IF_ERROR(cursor_.ReadLe(&info.version, "GGUF version"));
  if (info.version != 2 && info.version != 3) {
    return InvalidArgument("unsupported GGUF version " + std::to_string(info.version) +
                           " (supported: 2, 3)");
  }
  uint64_t tensor_count = 0, kv_count = 0;
  STEWARD_RETURN_IF_ERROR(cursor_.ReadLe(&tensor_count, "tensor count"));
  STEWARD_RETURN_IF_ERROR(cursor_.ReadLe(&kv_count, "metadata count"));
  // A kv entry takes >= 13 bytes (key length, 1-byte key, type, 1-byte
  // value); a tensor info >= 32. Counts beyond what the file can hold are
  // lies; rejecting them here bounds every loop below.
  if (kv_count > cursor_.remaining() / 13) {
    return InvalidArgument("truncated or corrupt file: metadata count " + std::to_string(kv_count) +
                           " is more than the " + std::to_string(cursor_.remaining()) +
                           " bytes left can hold");
  }
  if (tensor_count > cursor_.remaining() / 32) {
    return InvalidArgument("truncated or corrupt file: tensor count " +
                           std::to_string(tensor_count) + " is more than the " +
                           std::to_string(cursor_.remaining()) + " bytes left can hold");
  }
  for (uint64_t i = 0; i < kv_count; ++i) {
    std::string key;
    STEWARD_RETURN_IF_ERROR(ReadString(&key, "metadata key " + std::to_string(i)));
    if (key.empty()) return InvalidArgument("metadata key " + std::to_string(i) + " is empty");
    uint32_t raw_type;
    STEWARD_RETURN_IF_ERROR(cursor_.ReadLe(&raw_type, "type of `" + key + "`"));
    if (raw_type > static_cast<uint32_t>(GgufType::kFloat64)) {
      return InvalidArgument("metadata `" + key + "` has unknown type " + std::to_string(raw_type) +
                             At(cursor_));
    }
    GgufValue value;
    STEWARD_RETURN_IF_ERROR(ReadValue(static_cast<GgufType>(raw_type), &value, 0, key));
    if (!info.metadata.emplace(key, std::move(value)).second) {
      return InvalidArgument("metadata key `" + key + "` appears twice");
    }
  }
  auto align_it = info.metadata.find("general.alignment");
  if (align_it != info.metadata.end()) {
    int64_t a = align_it->second.AsInt(-1);
    if (a <= 0 || static_cast<uint64_t>(a) > kMaxAlignment || (a & (a - 1)) != 0) {
      return InvalidArgument("general.alignment must be a power of two <= " +
                             std::to_string(kMaxAlignment));
    }
    info.alignment = static_cast<uint64_t>(a);
  }
  info.tensors.reserve(static_cast<size_t>(tensor_count));
  for (uint64_t i = 0; i < tensor_count; ++i) {
    GgufTensor t;
    STEWARD_RETURN_IF_ERROR(ReadTensorInfo(&t, i));
    if (info.parameter_count > UINT64_MAX - t.elements) {
      return InvalidArgument("parameter count overflows 64 bits");
    }
    info.parameter_count += t.elements;
    info.tensors.push_back(std::move(t));
  }
  uint64_t end_of_infos = cursor_.offset();
  uint64_t pad = (info.alignment - end_of_infos % info.alignment) % info.alignment;
  info.data_offset = end_of_infos + pad;
  if (!info.tensors.empty() && info.data_offset > source_.size()) {
    return InvalidArgument("truncated file: tensor data section starts at " +
                           std::to_string(info.data_offset) + " beyond the end of the file");
  }
  if (info.data_offset > source_.size()) info.data_offset = source_.size();
  STEWARD_RETURN_IF_ERROR(CheckTensorData(info));
  ExtractWellKnown(info);
  return info;
}

}  // namespace

int64_t GgufValue::AsInt(int64_t fallback) const {
  if (type == GgufType::kArray) return fallback;
  if (const auto* u = std::get_if<uint64_t>(&scalar)) {
    return *u > static_cast<uint64_t>(INT64_MAX) ? fallback : static_cast<int64_t>(*u);
  }
  if (const auto* i = std::get_if<int64_t>(&scalar)) return *i;
  return fallback;
}

const std::string& GgufValue::AsString() const {
  static const std::string kEmpty;
  const auto* s = std::get_if<std::string>(&scalar);
  return (s && type == GgufType::kString) ? *s : kEmpty;
}

boost::json::value GgufValue::ToJson() const {
  if (type == GgufType::kArray) {
    if (array_length > kGgufKeptArrayElements) {
      return boost::json::object{{"array_length", array_length}};
    }
    boost::json::array a;
    for (const auto& e : elements) a.push_back(e.ToJson());
    return a;
  }
  return std::visit([](const auto& v) -> boost::json::value { return boost::json::value(v); },
                    scalar);
}

Result<GgufInfo> ReadGguf(const ByteSource& source) { return GgufParser(source).Parse(); }

Result<GgufInfo> ReadGgufFile(const std::string& path) {
  STEWARD_ASSIGN_OR_RETURN(auto source, FileSource::Open(path));
  auto info = ReadGguf(*source);
  if (!info.ok()) return info.status().WithContext(path);
  return info;
}

std::string GgmlTypeName(uint32_t type) {
  constexpr size_t kTypeCount = sizeof(kGgmlTypes) / sizeof(kGgmlTypes[0]);
  if (type < kTypeCount) return kGgmlTypes[type].name;
  return "type" + std::to_string(type);
}

std::string GgufFileTypeName(int64_t file_type) {
  // llama.cpp's llama_ftype (MOSTLY_ prefixes dropped).
  static const std::map<int64_t, const char*> kNames = {
      {0, "F32"},      {1, "F16"},      {2, "Q4_0"},    {3, "Q4_1"},    {7, "Q8_0"},
      {8, "Q5_0"},     {9, "Q5_1"},     {10, "Q2_K"},   {11, "Q3_K_S"}, {12, "Q3_K_M"},
      {13, "Q3_K_L"},  {14, "Q4_K_S"},  {15, "Q4_K_M"}, {16, "Q5_K_S"}, {17, "Q5_K_M"},
      {18, "Q6_K"},    {19, "IQ2_XXS"}, {20, "IQ2_XS"}, {21, "Q2_K_S"}, {22, "IQ3_XS"},
      {23, "IQ3_XXS"}, {24, "IQ1_S"},   {25, "IQ4_NL"}, {26, "IQ3_S"},  {27, "IQ3_M"},
      {28, "IQ2_S"},   {29, "IQ2_M"},   {30, "IQ4_XS"}, {31, "IQ1_M"},  {32, "BF16"},
      {36, "TQ1_0"},   {37, "TQ2_0"}};
  auto it = kNames.find(file_type);
  return it == kNames.end() ? "file_type " + std::to_string(file_type) : it->second;
}

}  // namespace steward::registry
