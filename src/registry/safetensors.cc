#include "registry/safetensors.h"

#include <algorithm>
#include <boost/json.hpp>

#include "common/strings.h"

namespace steward::registry {
namespace {

namespace json = boost::json;

// Bytes per element; 0 for sub-byte types (F4, F6), whose size is computed
// in bits below.
struct DtypeSize {
  const char* name;
  uint32_t bits;
};
constexpr DtypeSize kDtypes[] = {
    {"BOOL", 8},    {"U8", 8},   {"I8", 8},      {"F8_E5M2", 8}, {"F8_E4M3", 8},
    {"F8_E8M0", 8}, {"I16", 16}, {"U16", 16},    {"F16", 16},    {"BF16", 16},
    {"I32", 32},    {"U32", 32}, {"F32", 32},    {"F64", 64},    {"I64", 64},
    {"U64", 64},    {"F4", 4},   {"F6_E2M3", 6}, {"F6_E3M2", 6}, {"C64", 64},
};

Result<uint64_t> ToU64(const json::value& v, const std::string& what) {
  if (v.is_uint64()) return v.get_uint64();
  if (v.is_int64() && v.get_int64() >= 0) return static_cast<uint64_t>(v.get_int64());
  return InvalidArgument(what + " must be a non-negative integer");
}

Status ParseTensor(const std::string& name, const json::value& v, SafetensorsTensor* t) {
  const std::string what = "tensor `" + name + "`";
  if (!v.is_object()) return InvalidArgument(what + " is not an object");
  const json::object& o = v.get_object();
  const json::value* dtype = o.if_contains("dtype");
  const json::value* shape = o.if_contains("shape");
  const json::value* offsets = o.if_contains("data_offsets");
  if (!dtype || !dtype->is_string()) return InvalidArgument(what + " has no string `dtype`");
  if (!shape || !shape->is_array()) return InvalidArgument(what + " has no `shape` array");
  if (!offsets || !offsets->is_array() || offsets->get_array().size() != 2) {
    return InvalidArgument(what + " needs `data_offsets` [begin, end]");
  }
  t->name = name;
  t->dtype = std::string(dtype->get_string());
  uint32_t bits = 0;
  for (const auto& d : kDtypes) {
    if (t->dtype == d.name) bits = d.bits;
  }
  if (bits == 0) return InvalidArgument(what + " has unknown dtype `" + t->dtype + "`");
  // Sizes computed in bits with overflow checks: a hostile shape can claim
  // 2^64 elements.
  uint64_t elements = 1;
  for (const auto& dim_value : shape->get_array()) {
    STEWARD_ASSIGN_OR_RETURN(uint64_t dim, ToU64(dim_value, what + " shape entry"));
    if (dim != 0 && elements > UINT64_MAX / dim) {
      return InvalidArgument(what + " element count overflows 64 bits");
    }
    elements *= dim;
    t->shape.push_back(dim);
  }
  if (elements > UINT64_MAX / bits) return InvalidArgument(what + " byte size overflows 64 bits");
  uint64_t total_bits = elements * bits;
  if (total_bits % 8 != 0) return InvalidArgument(what + " does not fill whole bytes");
  STEWARD_ASSIGN_OR_RETURN(t->begin, ToU64(offsets->get_array()[0], what + " data_offsets[0]"));
  STEWARD_ASSIGN_OR_RETURN(t->end, ToU64(offsets->get_array()[1], what + " data_offsets[1]"));
  if (t->end < t->begin) return InvalidArgument(what + " has data_offsets end before begin");
  if (t->end - t->begin != total_bits / 8) {
    return InvalidArgument(what + " shape needs " + std::to_string(total_bits / 8) +
                           " bytes but data_offsets span " + std::to_string(t->end - t->begin));
  }
  return Status::Ok();
}

}  // namespace

Result<SafetensorsInfo> ReadSafetensors(const ByteSource& source) {
  SafetensorsInfo info;
  Cursor cursor(source);
  STEWARD_RETURN_IF_ERROR(cursor.ReadLe(&info.header_size, "safetensors header length"));
  if (info.header_size > cursor.remaining()) {
    return InvalidArgument("truncated file: header length " + std::to_string(info.header_size) +
                           " exceeds the " + std::to_string(cursor.remaining()) +
                           " bytes after it");
  }
  if (info.header_size > kMaxSafetensorsHeader) {
    return InvalidArgument("header length " + std::to_string(info.header_size) +
                           " exceeds the 100 MB limit");
  }
  if (info.header_size < 2) return InvalidArgument("header is too short to be a JSON object");
  std::string header(static_cast<size_t>(info.header_size), '\0');
  STEWARD_RETURN_IF_ERROR(cursor.Read(header.data(), header.size(), "safetensors header"));
  if (!IsValidUtf8(header)) return InvalidArgument("header is not valid UTF-8");
  if (header[0] != '{') return InvalidArgument("header does not start with `{`");
  // The format allows trailing spaces as padding.
  while (!header.empty() && header.back() == ' ') header.pop_back();
  boost::system::error_code ec;
  json::parse_options opts;
  opts.max_depth = 16;
  json::value root = json::parse(header, ec, {}, opts);
  if (ec) return InvalidArgument("header is not valid JSON: " + ec.message());
  if (!root.is_object()) return InvalidArgument("header is not a JSON object");
  const uint64_t data_bytes = cursor.remaining();
  for (const auto& [key, value] : root.get_object()) {
    if (key == "__metadata__") {
      if (!value.is_object()) return InvalidArgument("__metadata__ is not an object");
      for (const auto& [mk, mv] : value.get_object()) {
        if (!mv.is_string()) {
          return InvalidArgument("__metadata__ value `" + std::string(mk) + "` is not a string");
        }
        info.metadata[std::string(mk)] = std::string(mv.get_string());
      }
      continue;
    }
    SafetensorsTensor t;
    STEWARD_RETURN_IF_ERROR(ParseTensor(std::string(key), value, &t));
    if (t.end > data_bytes) {
      return InvalidArgument("tensor `" + t.name + "` data_offsets [" + std::to_string(t.begin) +
                             ", " + std::to_string(t.end) + ") lie outside the " +
                             std::to_string(data_bytes) + "-byte data buffer");
    }
    info.tensors.push_back(std::move(t));
  }
  std::sort(info.tensors.begin(), info.tensors.end(),
            [](const SafetensorsTensor& a, const SafetensorsTensor& b) {
              return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
            });
  for (size_t i = 0; i < info.tensors.size(); ++i) {
    const auto& t = info.tensors[i];
    if (i > 0 && info.tensors[i - 1].end > t.begin) {
      return InvalidArgument("tensors `" + info.tensors[i - 1].name + "` and `" + t.name +
                             "` overlap in the data buffer");
    }
    uint64_t elements = 1;
    for (uint64_t d : t.shape) elements *= d;  // checked in ParseTensor
    info.parameter_count += elements;
    info.dtype_parameters[t.dtype] += elements;
  }
  return info;
}

Result<SafetensorsInfo> ReadSafetensorsFile(const std::string& path) {
  STEWARD_ASSIGN_OR_RETURN(auto source, FileSource::Open(path));
  auto info = ReadSafetensors(*source);
  if (!info.ok()) return info.status().WithContext(path);
  return info;
}

}  // namespace steward::registry
