#include "audit/canonical_json.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <vector>

#include "common/strings.h"

namespace steward::audit {
namespace {

Status AppendString(std::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  const size_t start = out->size();
  out->push_back('"');
  // Copy runs of characters that need no escape in one append (most of a
  // record); only `"`, `\` and control characters go one by one. UTF-8 is
  // validated only when a non-ASCII byte was seen (ASCII always is).
  unsigned char high = 0;
  size_t run = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const auto u = static_cast<unsigned char>(c);
    high |= u;
    if (u >= 0x20 && c != '"' && c != '\\') continue;
    out->append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\b': out->append("\\b"); break;
      case '\f': out->append("\\f"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      default:
        out->append("\\u00");
        out->push_back(kHex[u >> 4]);
        out->push_back(kHex[u & 15]);
    }
  }
  if ((high & 0x80) && !IsValidUtf8(s)) {
    out->resize(start);
    return InvalidArgument("string is not valid UTF-8");
  }
  out->append(s.data() + run, s.size() - run);
  out->push_back('"');
  return Status::Ok();
}

Status AppendDouble(double d, std::string* out) {
  if (!std::isfinite(d)) return InvalidArgument("number is not finite");
  constexpr double kTwo53 = 9007199254740992.0;
  char buf[64];
  if (std::trunc(d) == d && std::fabs(d) < kTwo53) {
    auto r = std::to_chars(buf, buf + sizeof buf, static_cast<int64_t>(d));
    out->append(buf, r.ptr);
    return Status::Ok();
  }
  auto r = std::to_chars(buf, buf + sizeof buf, d);
  out->append(buf, r.ptr);
  return Status::Ok();
}

Status Append(const boost::json::value& v, std::string* out, int depth) {
  if (depth > 64) return InvalidArgument("JSON nested deeper than 64 levels");
  switch (v.kind()) {
    case boost::json::kind::null: out->append("null"); return Status::Ok();
    case boost::json::kind::bool_: out->append(v.get_bool() ? "true" : "false"); return Status::Ok();
    case boost::json::kind::int64: {
      char buf[32];
      auto r = std::to_chars(buf, buf + sizeof buf, v.get_int64());
      out->append(buf, r.ptr);
      return Status::Ok();
    }
    case boost::json::kind::uint64: {
      char buf[32];
      auto r = std::to_chars(buf, buf + sizeof buf, v.get_uint64());
      out->append(buf, r.ptr);
      return Status::Ok();
    }
    case boost::json::kind::double_: return AppendDouble(v.get_double(), out);
    case boost::json::kind::string: return AppendString(v.get_string(), out);
    case boost::json::kind::array: {
      out->push_back('[');
      bool first = true;
      for (const auto& e : v.get_array()) {
        if (!first) out->push_back(',');
        first = false;
        STEWARD_RETURN_IF_ERROR(Append(e, out, depth + 1));
      }
      out->push_back(']');
      return Status::Ok();
    }
    case boost::json::kind::object: {
      const auto& obj = v.get_object();
      std::vector<const boost::json::key_value_pair*> members;
      members.reserve(obj.size());
      for (const auto& kv : obj) members.push_back(&kv);
      // std::string_view compares bytes as unsigned char: UTF-8 byte order.
      std::sort(members.begin(), members.end(),
                [](const auto* a, const auto* b) { return a->key() < b->key(); });
      out->push_back('{');
      for (size_t i = 0; i < members.size(); ++i) {
        if (i > 0) {
          if (members[i]->key() == members[i - 1]->key()) {
            return InvalidArgument("duplicate object key");
          }
          out->push_back(',');
        }
        STEWARD_RETURN_IF_ERROR(AppendString(members[i]->key(), out));
        out->push_back(':');
        STEWARD_RETURN_IF_ERROR(Append(members[i]->value(), out, depth + 1));
      }
      out->push_back('}');
      return Status::Ok();
    }
  }
  return Internal("unknown JSON kind");
}

}  // namespace

Status AppendCanonicalString(std::string_view s, std::string* out) { return AppendString(s, out); }
Status AppendCanonicalDouble(double d, std::string* out) { return AppendDouble(d, out); }
void AppendCanonicalInt(int64_t i, std::string* out) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, i);
  out->append(buf, r.ptr);
}

Status AppendCanonicalJson(const boost::json::value& value, std::string* out) {
  return Append(value, out, 0);
}

Result<std::string> CanonicalJson(const boost::json::value& value) {
  std::string out;
  out.reserve(1024);  // a request record is about 1 KB
  STEWARD_RETURN_IF_ERROR(Append(value, &out, 0));
  return out;
}

Result<boost::json::value> ParseCanonicalJson(std::string_view text) {
  if (!IsValidUtf8(text)) return InvalidArgument("not valid UTF-8");
  boost::json::parse_options opts;
  opts.max_depth = 64;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec, {}, opts);
  if (ec) return InvalidArgument("not JSON: " + ec.message());
  std::string again;
  Status s = Append(v, &again, 0);
  if (!s.ok()) return s;
  if (again != text) return InvalidArgument("JSON is not in canonical form");
  return v;
}

}  // namespace steward::audit
