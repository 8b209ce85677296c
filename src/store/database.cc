#include <string>

#include "steward/store.h"
#include "store/sqlite_database.h"

namespace steward {

int64_t Row::Int(size_t i) const {
  const Value& v = values.at(i);
  if (auto* p = std::get_if<int64_t>(&v)) return *p;
  if (auto* d = std::get_if<double>(&v)) return static_cast<int64_t>(*d);
  if (auto* s = std::get_if<std::string>(&v)) return std::strtoll(s->c_str(), nullptr, 10);
  return 0;
}

double Row::Double(size_t i) const {
  const Value& v = values.at(i);
  if (auto* d = std::get_if<double>(&v)) return *d;
  if (auto* p = std::get_if<int64_t>(&v)) return static_cast<double>(*p);
  if (auto* s = std::get_if<std::string>(&v)) return std::strtod(s->c_str(), nullptr);
  return 0.0;
}

std::string Row::Text(size_t i) const {
  const Value& v = values.at(i);
  if (auto* s = std::get_if<std::string>(&v)) return *s;
  if (auto* b = std::get_if<Blob>(&v)) return b->bytes;
  if (auto* p = std::get_if<int64_t>(&v)) return std::to_string(*p);
  if (auto* d = std::get_if<double>(&v)) return std::to_string(*d);
  return {};
}

Result<std::unique_ptr<Database>> OpenDatabase(const std::string& url) {
  if (url.rfind("postgres://", 0) == 0 || url.rfind("postgresql://", 0) == 0) {
    return FailedPrecondition("the PostgreSQL backend is not built into this binary yet: " + url);
  }
  std::string path = url.rfind("sqlite:", 0) == 0 ? url.substr(7) : url;
  return store::OpenSqlite(path);
}

}  // namespace steward
