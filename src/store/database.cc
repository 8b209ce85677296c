#include <cstdlib>
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

int64_t RowView::Int(size_t i) const {
  const FieldView& f = fields_[i];
  switch (f.type) {
    case FieldView::Type::kInt: return f.int_value;
    case FieldView::Type::kDouble: return static_cast<int64_t>(f.double_value);
    case FieldView::Type::kText: return std::strtoll(std::string(f.bytes).c_str(), nullptr, 10);
    default: return 0;
  }
}

std::string_view RowView::Bytes(size_t i) const {
  const FieldView& f = fields_[i];
  return f.type == FieldView::Type::kText || f.type == FieldView::Type::kBlob ? f.bytes
                                                                              : std::string_view();
}

Status Database::QueryEach(std::string_view sql, const std::vector<Value>& params,
                           const RowCallback& on_row) {
  STEWARD_ASSIGN_OR_RETURN(std::vector<Row> rows, Query(sql, params));
  std::vector<FieldView> fields;
  for (const Row& row : rows) {
    fields.assign(row.values.size(), FieldView{});
    for (size_t c = 0; c < row.values.size(); ++c) {
      const Value& v = row.values[c];
      FieldView& f = fields[c];
      if (auto* iv = std::get_if<int64_t>(&v)) {
        f.type = FieldView::Type::kInt;
        f.int_value = *iv;
      } else if (auto* dv = std::get_if<double>(&v)) {
        f.type = FieldView::Type::kDouble;
        f.double_value = *dv;
      } else if (auto* sv = std::get_if<std::string>(&v)) {
        f.type = FieldView::Type::kText;
        f.bytes = *sv;
      } else if (auto* bv = std::get_if<Blob>(&v)) {
        f.type = FieldView::Type::kBlob;
        f.bytes = bv->bytes;
      }
    }
    STEWARD_RETURN_IF_ERROR(on_row(RowView(fields)));
  }
  return Status::Ok();
}

Result<std::unique_ptr<Database>> OpenDatabase(const std::string& url) {
  if (url.rfind("postgres://", 0) == 0 || url.rfind("postgresql://", 0) == 0) {
    return FailedPrecondition("the PostgreSQL backend is not built into this binary yet: " + url);
  }
  std::string path = url.rfind("sqlite:", 0) == 0 ? url.substr(7) : url;
  return store::OpenSqlite(path);
}

}  // namespace steward
