#include "common/json_text.h"

#include <boost/json/serialize.hpp>
#include <charconv>
#include <cmath>

namespace steward {

namespace {

void AppendDouble(double d, std::string* out) {
  // JSON has no NaN or infinity; Boost.JSON writes them as null as well.
  if (!std::isfinite(d)) {
    out->append("null");
    return;
  }
  constexpr double kTwo53 = 9007199254740992.0;
  char buf[64];
  auto r = std::trunc(d) == d && std::fabs(d) < kTwo53
               ? std::to_chars(buf, buf + sizeof buf, static_cast<int64_t>(d))
               : std::to_chars(buf, buf + sizeof buf, d);
  out->append(buf, r.ptr);
}

}  // namespace

void AppendJsonText(const boost::json::value& value, std::string* out) {
  namespace json = boost::json;
  switch (value.kind()) {
    case json::kind::double_:
      AppendDouble(value.get_double(), out);
      return;
    case json::kind::array: {
      out->push_back('[');
      bool first = true;
      for (const auto& item : value.get_array()) {
        if (!first) out->push_back(',');
        first = false;
        AppendJsonText(item, out);
      }
      out->push_back(']');
      return;
    }
    case json::kind::object: {
      out->push_back('{');
      bool first = true;
      for (const auto& member : value.get_object()) {
        if (!first) out->push_back(',');
        first = false;
        out->append(json::serialize(member.key()));
        out->push_back(':');
        AppendJsonText(member.value(), out);
      }
      out->push_back('}');
      return;
    }
    default:  // null, bool, integers, strings: Boost.JSON's form is the usual one
      out->append(json::serialize(value));
      return;
  }
}

std::string JsonText(const boost::json::value& value) {
  std::string out;
  AppendJsonText(value, &out);
  return out;
}

}  // namespace steward
