#include "stages/audit/audit_admin.h"

#include <boost/json.hpp>
#include <charconv>
#include <mutex>
#include <optional>
#include <string>

#include "admin/admin_router.h"
#include "audit/leaf_blocks.h"
#include "audit/proof_json.h"
#include "audit/verify.h"
#include "common/json_text.h"
#include "common/strings.h"

namespace steward::audit {
namespace {

using admin::AdminRequest;
using admin::AdminResponse;
namespace json = boost::json;

constexpr int64_t kDefaultRecordPage = 100;
constexpr int64_t kMaxRecordPage = 1000;

// The log the routes answer for and the read connection to its store.
struct AuditAdminState {
  std::mutex mu;
  std::weak_ptr<AuditLog> log;
  std::unique_ptr<Database> reader;  // SQLite connections serialise their statements
};

AuditAdminState& State() {
  static AuditAdminState state;
  return state;
}

std::shared_ptr<AuditLog> ServedLog() {
  AuditAdminState& state = State();
  std::lock_guard lock(state.mu);
  return state.log.lock();
}

AdminResponse ErrorFor(const Status& s) {
  switch (s.code()) {
    case StatusCode::kInvalidArgument:
      return AdminResponse::Error(400, "invalid_request", s.message());
    case StatusCode::kNotFound:
      return AdminResponse::Error(404, "not_found", s.message());
    case StatusCode::kDataLoss:
      return AdminResponse::Error(500, "audit_store_damaged", s.message());
    default:
      return AdminResponse::Error(503, "audit_unavailable", s.message());
  }
}

// A non-negative decimal; `what` names it in the error.
Result<int64_t> ParseCount(std::string_view text, std::string_view what) {
  int64_t v = -1;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v < 0) {
    std::string shown = text.size() <= 32 && IsValidUtf8(text) ? std::string(text) : "(malformed)";
    return InvalidArgument(std::string(what) + " must be a non-negative integer, got `" + shown +
                           "`");
  }
  return v;
}

Result<std::optional<int64_t>> OptionalCount(const AdminRequest& r, std::string_view name) {
  std::string text = r.QueryParam(name);
  if (text.empty()) return std::optional<int64_t>();
  STEWARD_ASSIGN_OR_RETURN(int64_t v, ParseCount(text, name));
  return std::optional<int64_t>(v);
}

// Runs `read` on the reader connection (opened on first use) under the
// state's lock; 503 when no log is being served.
template <typename Fn>
AdminResponse WithReader(Fn&& read) {
  AuditAdminState& state = State();
  std::lock_guard lock(state.mu);
  std::shared_ptr<AuditLog> log = state.log.lock();
  if (!log) {
    state.reader.reset();
    return AdminResponse::Error(503, "audit_unavailable", "the gateway runs no audit log");
  }
  if (!state.reader) {
    auto opened = OpenDatabase(log->options().store_url);
    if (!opened.ok()) return ErrorFor(opened.status().WithContext("audit store"));
    state.reader = std::move(*opened);
  }
  Result<json::object> doc = read(*state.reader, *log);
  if (!doc.ok()) return ErrorFor(doc.status());
  return AdminResponse::Json(200, JsonText(*doc));
}

json::object RecordJson(int64_t index, std::string_view leaf, std::string_view leaf_hash) {
  json::object o;
  o["index"] = index;
  o["leaf"] = Base64Encode(leaf);  // the exact bytes the leaf hash covers
  o["leaf_hash"] = HexEncode(leaf_hash);
  boost::system::error_code ec;
  json::value record = json::parse(leaf, ec);
  o["record"] = ec ? json::value(nullptr) : std::move(record);
  return o;
}

AdminResponse TreeHead(const AdminRequest& r) {
  if (r.method == "POST") {
    std::shared_ptr<AuditLog> log = ServedLog();
    if (!log)
      return AdminResponse::Error(503, "audit_unavailable", "the gateway runs no audit log");
    auto head = log->PublishNow();
    if (!head.ok()) return ErrorFor(head.status());
    return AdminResponse::Json(200, JsonText(TreeHeadJson(*head)));
  }
  return WithReader([](Database& db, AuditLog&) -> Result<json::object> {
    STEWARD_ASSIGN_OR_RETURN(std::optional<audit::TreeHead> head, LatestTreeHead(Sql(&db)));
    if (!head) return NotFound("no signed tree head yet (POST /admin/audit/sth publishes one)");
    return TreeHeadJson(*head);
  });
}

AdminResponse Proof(const AdminRequest& r) {
  std::string_view rest =
      std::string_view(r.path).substr(std::string_view("/admin/audit/proof/").size());
  auto index = ParseCount(rest, "the leaf index");
  if (!index.ok()) return ErrorFor(index.status());
  auto size = OptionalCount(r, "size");
  if (!size.ok()) return ErrorFor(size.status());
  return WithReader([&](Database& db, AuditLog&) -> Result<json::object> {
    STEWARD_ASSIGN_OR_RETURN(InclusionProofResult proof, ProveInclusion(db, *index, *size));
    return InclusionProofJson(proof);
  });
}

AdminResponse Consistency(const AdminRequest& r) {
  auto first = OptionalCount(r, "first");
  if (!first.ok()) return ErrorFor(first.status());
  auto second = OptionalCount(r, "second");
  if (!second.ok()) return ErrorFor(second.status());
  if (!*first || !*second) {
    return AdminResponse::Error(400, "invalid_request",
                                "give both tree sizes: ?first=OLD&second=NEW");
  }
  return WithReader([&](Database& db, AuditLog&) -> Result<json::object> {
    STEWARD_ASSIGN_OR_RETURN(ConsistencyProofResult proof, ProveConsistency(db, **first, **second));
    return ConsistencyProofJson(proof);
  });
}

AdminResponse OneRecord(const AdminRequest& r) {
  std::string_view rest =
      std::string_view(r.path).substr(std::string_view("/admin/audit/records/").size());
  auto index = ParseCount(rest, "the record index");
  if (!index.ok()) return ErrorFor(index.status());
  return WithReader([&](Database& db, AuditLog&) -> Result<json::object> {
    Sql sql(&db);
    STEWARD_ASSIGN_OR_RETURN(int64_t size, StoredTreeSize(sql));
    if (*index >= size) {
      return NotFound("record " + std::to_string(*index) + " is not in the log (size " +
                      std::to_string(size) + ")");
    }
    std::optional<json::object> found;
    STEWARD_RETURN_IF_ERROR(ForEachStoredLeaf(sql, *index, *index + 1, [&](const StoredLeaf& l) {
      found = RecordJson(l.index, l.leaf, l.leaf_hash);
      return Status::Ok();
    }));
    if (!found) return DataLoss("record " + std::to_string(*index) + " is missing from the store");
    return std::move(*found);
  });
}

AdminResponse RecordPage(const AdminRequest& r) {
  auto from = OptionalCount(r, "from");
  if (!from.ok()) return ErrorFor(from.status());
  auto limit = OptionalCount(r, "limit");
  if (!limit.ok()) return ErrorFor(limit.status());
  const int64_t count = limit->value_or(kDefaultRecordPage);
  if (count < 1 || count > kMaxRecordPage) {
    return AdminResponse::Error(400, "invalid_request",
                                "limit must be 1.." + std::to_string(kMaxRecordPage));
  }
  return WithReader([&](Database& db, AuditLog&) -> Result<json::object> {
    Sql sql(&db);
    STEWARD_ASSIGN_OR_RETURN(int64_t size, StoredTreeSize(sql));
    const int64_t begin = std::min(from->value_or(0), size);
    const int64_t end = begin + std::min(count, size - begin);
    json::array records;
    STEWARD_RETURN_IF_ERROR(ForEachStoredLeaf(sql, begin, end, [&](const StoredLeaf& l) {
      records.push_back(RecordJson(l.index, l.leaf, l.leaf_hash));
      return Status::Ok();
    }));
    if (static_cast<int64_t>(records.size()) != end - begin) {
      return DataLoss("records " + std::to_string(begin) + ".." + std::to_string(end - 1) +
                      " are not all in the store");
    }
    json::object out;
    out["tree_size"] = size;
    out["from"] = begin;
    out["records"] = std::move(records);
    if (end < size) out["next"] = end;
    return out;
  });
}

void RegisterRoutesOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    auto& router = admin::AdminRouter::Global();
    router.Add("GET", "/admin/audit/sth", TreeHead);
    router.Add("POST", "/admin/audit/sth", TreeHead);
    router.Add("GET", "/admin/audit/proof/", Proof);
    router.Add("GET", "/admin/audit/consistency", Consistency);
    router.Add("GET", "/admin/audit/records", RecordPage);
    router.Add("GET", "/admin/audit/records/", OneRecord);
  });
}

}  // namespace

void ServeAuditOnAdminPlane(const std::shared_ptr<AuditLog>& log) {
  RegisterRoutesOnce();
  AuditAdminState& state = State();
  std::lock_guard lock(state.mu);
  if (state.log.lock() != log) state.reader.reset();
  state.log = log;
}

}  // namespace steward::audit
