#include "review/review_queue.h"

#include <cmath>

#include "common/strings.h"
#include "config/config.h"

namespace steward::review {

namespace json = boost::json;

namespace {

constexpr const char* kColumns =
    "id, created_ms, expires_ms, status, key_id, key_name, role, subject, model, endpoint, "
    "reasons, message, request_hash, request_id, decided_by, decided_ms, note, used_request_id, "
    "used_ms";

std::string ReasonsText(const std::vector<std::string>& reasons) {
  json::array a;
  for (const auto& r : reasons) a.emplace_back(r);
  return json::serialize(a);
}

std::vector<std::string> ParseReasons(const std::string& text) {
  std::vector<std::string> out;
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_array()) return out;
  for (const auto& r : v.get_array()) {
    if (r.is_string()) out.emplace_back(r.get_string());
  }
  return out;
}

// A pending review past its expiry reads as expired even before
// ExpireOverdue() wrote it so.
Review FromRow(const Row& row, int64_t now_ms) {
  Review r;
  r.id = row.Text(0);
  r.created_ms = row.Int(1);
  r.expires_ms = row.Int(2);
  r.status = row.Text(3);
  r.key_id = row.Text(4);
  r.key_name = row.Text(5);
  r.role = row.Text(6);
  r.subject = row.Text(7);
  r.model = row.Text(8);
  r.endpoint = row.Text(9);
  r.reasons = ParseReasons(row.Text(10));
  r.message = row.Text(11);
  r.request_hash = row.Text(12);
  r.request_id = row.Text(13);
  r.decided_by = row.Text(14);
  r.decided_ms = row.Int(15);
  r.note = row.Text(16);
  r.used_request_id = row.Text(17);
  r.used_ms = row.Int(18);
  if (r.status == kPending && r.expires_ms <= now_ms) {
    r.status = std::string(kExpired);
    r.decided_by = "steward";
    r.decided_ms = r.expires_ms;
  }
  return r;
}

std::string SelectById() {
  return std::string("SELECT ") + kColumns + " FROM reviews WHERE id = $1";
}

}  // namespace

bool IsReviewStatus(std::string_view s) {
  return s == kPending || s == kApproved || s == kRejected || s == kExpired || s == kUsed;
}

Result<ReviewOptions> ReadReviewOptions(const std::string& file, const YAML::Node& root) {
  ReviewOptions o;
  const YAML::Node section = root && root.IsMap() ? root["review"] : YAML::Node();
  if (!section || section.IsNull()) return o;
  if (!section.IsMap()) return config::ErrorAt(file, section, "`review` must be a mapping");
  for (auto it = section.begin(); it != section.end(); ++it) {
    std::string k = it->first.as<std::string>("");
    if (k != "ttl_hours") {
      return config::ErrorAt(file, it->first, "unknown key `review." + k + "` (ttl_hours)");
    }
  }
  STEWARD_ASSIGN_OR_RETURN(double hours, config::GetDouble(file, section, "ttl_hours", 24.0));
  if (!std::isfinite(hours) || hours <= 0 || hours > 24.0 * 365 * 10) {
    return config::ErrorAt(file, section["ttl_hours"], "must be > 0 and at most 10 years");
  }
  o.ttl_ms = std::max<int64_t>(1, static_cast<int64_t>(std::llround(hours * 3600.0 * 1000.0)));
  return o;
}

ReviewQueue::ReviewQueue(Database& db, const Clock& clock, ReviewOptions options)
    : db_(db), clock_(clock), options_(options) {}

std::vector<Migration> ReviewQueue::Migrations() {
  return {{"review", 1,
           "CREATE TABLE reviews ("
           " id TEXT PRIMARY KEY,"
           " created_ms BIGINT NOT NULL,"
           " expires_ms BIGINT NOT NULL,"
           " status TEXT NOT NULL,"
           " key_id TEXT NOT NULL,"
           " key_name TEXT NOT NULL,"
           " role TEXT NOT NULL,"
           " subject TEXT NOT NULL,"
           " model TEXT NOT NULL,"
           " endpoint TEXT NOT NULL,"
           " reasons TEXT NOT NULL,"
           " message TEXT NOT NULL,"
           " request_hash TEXT NOT NULL,"
           " request_id TEXT NOT NULL,"
           " decided_by TEXT,"
           " decided_ms BIGINT,"
           " note TEXT,"
           " used_request_id TEXT,"
           " used_ms BIGINT);"
           "CREATE INDEX reviews_by_status ON reviews (status, created_ms)"}};
}

Status ReviewQueue::Init() { return db_.Migrate(Migrations()); }

Result<Review> ReviewQueue::Prepare(const NewReview& in) const {
  if (in.request_hash.empty()) return InvalidArgument("a review needs the request's hash");
  Review r;
  r.id = "rev_" + RandomHex(12);
  r.created_ms = clock_.NowUnixMs();
  r.expires_ms = r.created_ms + options_.ttl_ms;
  r.status = std::string(kPending);
  r.key_id = in.key_id;
  r.key_name = in.key_name;
  r.role = in.role;
  r.subject = in.subject;
  r.model = in.model;
  r.endpoint = in.endpoint;
  r.reasons = in.reasons;
  r.message = in.message;
  r.request_hash = in.request_hash;
  r.request_id = in.request_id;
  return r;
}

namespace {

constexpr const char* kInsert =
    "INSERT INTO reviews (id, created_ms, expires_ms, status, key_id, key_name, role, subject, "
    "model, endpoint, reasons, message, request_hash, request_id) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)";

std::vector<Value> InsertParams(const Review& r) {
  return {r.id,
          r.created_ms,
          r.expires_ms,
          r.status,
          r.key_id,
          r.key_name,
          r.role,
          r.subject,
          r.model,
          r.endpoint,
          ReasonsText(r.reasons),
          r.message,
          r.request_hash,
          r.request_id};
}

}  // namespace

Status ReviewQueue::Insert(const Review& r) {
  Status s = db_.Exec(kInsert, InsertParams(r));
  if (!s.ok()) return s.WithContext("review queue");
  return Status::Ok();
}

Status ReviewQueue::InsertAll(const std::vector<Review>& reviews) {
  if (reviews.empty()) return Status::Ok();
  if (reviews.size() == 1) return Insert(reviews.front());
  auto tx = db_.Begin();
  if (!tx.ok()) return tx.status().WithContext("review queue");
  for (const Review& r : reviews) {
    if (Status s = (*tx)->Exec(kInsert, InsertParams(r)); !s.ok()) {
      return s.WithContext("review queue");
    }
  }
  if (Status s = (*tx)->Commit(); !s.ok()) return s.WithContext("review queue");
  return Status::Ok();
}

Result<Review> ReviewQueue::Create(const NewReview& in) {
  STEWARD_ASSIGN_OR_RETURN(Review r, Prepare(in));
  STEWARD_RETURN_IF_ERROR(Insert(r));
  return r;
}

Result<Review> ReviewQueue::Get(const std::string& id) {
  auto rows = db_.Query(SelectById(), {id});
  if (!rows.ok()) return rows.status().WithContext("review queue");
  if (rows->empty()) return NotFound("no review `" + id + "`");
  return FromRow(rows->front(), clock_.NowUnixMs());
}

Result<std::vector<Review>> ReviewQueue::List(const std::string& status, int64_t limit) {
  if (!status.empty() && !IsReviewStatus(status)) {
    return InvalidArgument("unknown review status `" + status +
                           "` (pending, approved, rejected, expired, used)");
  }
  STEWARD_RETURN_IF_ERROR(ExpireOverdue().status());
  std::string sql = std::string("SELECT ") + kColumns + " FROM reviews";
  std::vector<Value> params;
  if (!status.empty()) {
    sql += " WHERE status = $1";
    params.emplace_back(status);
  }
  sql += " ORDER BY created_ms DESC, id DESC LIMIT " + std::to_string(std::max<int64_t>(limit, 0));
  auto rows = db_.Query(sql, params);
  if (!rows.ok()) return rows.status().WithContext("review queue");
  std::vector<Review> out;
  out.reserve(rows->size());
  const int64_t now = clock_.NowUnixMs();
  for (const Row& row : *rows) out.push_back(FromRow(row, now));
  return out;
}

Result<Review> ReviewQueue::Decide(const std::string& id, bool approve, const std::string& actor,
                                   const std::string& note) {
  STEWARD_ASSIGN_OR_RETURN(auto tx, db_.Begin());
  auto rows = tx->Query(SelectById(), {id});
  if (!rows.ok()) return rows.status().WithContext("review queue");
  if (rows->empty()) return NotFound("no review `" + id + "`");
  const int64_t now = clock_.NowUnixMs();
  Review r = FromRow(rows->front(), now);
  if (r.status != kPending) {
    std::string why = "review " + id + " is " + r.status;
    if (!r.decided_by.empty() && r.status != kExpired) why += " (by " + r.decided_by + ")";
    return FailedPrecondition(why + "; only pending reviews can be decided");
  }
  r.status = std::string(approve ? kApproved : kRejected);
  r.decided_by = actor;
  r.decided_ms = now;
  r.note = note;
  STEWARD_RETURN_IF_ERROR(
      tx->Exec("UPDATE reviews SET status = $2, decided_by = $3, decided_ms = $4, note = $5 "
               "WHERE id = $1 AND status = 'pending'",
               {id, r.status, actor, now, note}));
  STEWARD_RETURN_IF_ERROR(tx->Commit());
  return r;
}

Result<Redemption> ReviewQueue::Redeem(const std::string& id, const std::string& key_id,
                                       const std::string& request_hash,
                                       const std::string& request_id) {
  Redemption out;
  using Outcome = Redemption::Outcome;
  // Read first without the write lock: only an approved review is written.
  auto peek = db_.Query(SelectById(), {id});
  if (!peek.ok()) return peek.status().WithContext("review queue");
  // Another key's review reads as unknown: ids are not to be probed.
  if (peek->empty() || peek->front().Text(4) != key_id) {
    out.message = "review " + id + " does not exist for this API key";
    return out;
  }
  out.review = FromRow(peek->front(), clock_.NowUnixMs());
  if (out.review.request_hash != request_hash) {
    out.message = "this request differs from the one held for review " + id +
                  "; re-send the identical request (same body and subject) with that id";
    return out;
  }
  const std::string& status = out.review.status;
  if (status == kPending) {
    out.outcome = Outcome::kPending;
    return out;
  }
  if (status == kRejected) {
    out.outcome = Outcome::kRejected;
    out.message = "review " + id + " was rejected by " + out.review.decided_by +
                  (out.review.note.empty() ? "" : ": " + out.review.note);
    return out;
  }
  if (status == kExpired) {
    out.message = "review " + id +
                  " expired before a reviewer decided; send the request without the review id "
                  "for a new review";
    return out;
  }
  if (status == kUsed) {
    out.message = "review " + id + " was already used by request " + out.review.used_request_id +
                  "; an approval lets one call through";
    return out;
  }
  // Approved: take it in a write transaction, so of two concurrent re-sends
  // exactly one proceeds.
  STEWARD_ASSIGN_OR_RETURN(auto tx, db_.Begin());
  auto rows = tx->Query("SELECT status FROM reviews WHERE id = $1", {id});
  if (!rows.ok()) return rows.status().WithContext("review queue");
  if (rows->empty() || rows->front().Text(0) != kApproved) {
    out.message = "review " + id + " was already used; an approval lets one call through";
    return out;
  }
  const int64_t now = clock_.NowUnixMs();
  STEWARD_RETURN_IF_ERROR(tx->Exec(
      "UPDATE reviews SET status = 'used', used_request_id = $2, used_ms = $3 WHERE id = $1",
      {id, request_id, now}));
  STEWARD_RETURN_IF_ERROR(tx->Commit());
  out.outcome = Outcome::kProceed;
  out.review.status = std::string(kUsed);
  out.review.used_request_id = request_id;
  out.review.used_ms = now;
  return out;
}

Status ReviewQueue::Release(const std::string& id, const std::string& request_id) {
  return db_
      .Exec(
          "UPDATE reviews SET status = 'approved', used_request_id = NULL, used_ms = NULL "
          "WHERE id = $1 AND status = 'used' AND used_request_id = $2",
          {id, request_id})
      .WithContext("review queue");
}

Result<int64_t> ReviewQueue::ExpireOverdue() {
  const int64_t now = clock_.NowUnixMs();
  STEWARD_ASSIGN_OR_RETURN(auto tx, db_.Begin());
  auto rows = tx->Query(
      "SELECT COUNT(*) FROM reviews WHERE status = 'pending' AND expires_ms <= $1", {now});
  if (!rows.ok()) return rows.status().WithContext("review queue");
  int64_t n = rows->empty() ? 0 : rows->front().Int(0);
  if (n == 0) return int64_t{0};
  STEWARD_RETURN_IF_ERROR(
      tx->Exec("UPDATE reviews SET status = 'expired', decided_by = 'steward', "
               "decided_ms = expires_ms WHERE status = 'pending' AND expires_ms <= $1",
               {now}));
  STEWARD_RETURN_IF_ERROR(tx->Commit());
  return n;
}

Result<int64_t> ReviewQueue::CountPending() {
  auto rows = db_.Query("SELECT COUNT(*) FROM reviews WHERE status = 'pending' AND expires_ms > $1",
                        {clock_.NowUnixMs()});
  if (!rows.ok()) return rows.status().WithContext("review queue");
  return rows->empty() ? int64_t{0} : rows->front().Int(0);
}

json::object ReviewToJson(const Review& r) {
  json::array reasons;
  for (const auto& x : r.reasons) reasons.emplace_back(x);
  auto text_or_null = [](const std::string& s) -> json::value {
    return s.empty() ? json::value(nullptr) : json::value(s);
  };
  auto ms_or_null = [](int64_t ms) -> json::value {
    return ms == 0 ? json::value(nullptr) : json::value(ms);
  };
  return json::object{{"review_id", r.id},
                      {"status", r.status},
                      {"created_ms", r.created_ms},
                      {"expires_ms", r.expires_ms},
                      {"key_id", r.key_id},
                      {"key_name", r.key_name},
                      {"role", r.role},
                      {"subject", text_or_null(r.subject)},
                      {"model", r.model},
                      {"endpoint", r.endpoint},
                      {"reasons", std::move(reasons)},
                      {"message", r.message},
                      {"request_hash", r.request_hash},
                      {"request_id", r.request_id},
                      {"decided_by", text_or_null(r.decided_by)},
                      {"decided_ms", ms_or_null(r.decided_ms)},
                      {"note", text_or_null(r.note)},
                      {"used_request_id", text_or_null(r.used_request_id)},
                      {"used_ms", ms_or_null(r.used_ms)}};
}

AdminEvent DecisionEvent(const Review& r, const std::string& actor,
                         const std::vector<std::string>& approvers) {
  AdminEvent e;
  e.action = r.status == kRejected ? "review.reject" : "review.approve";
  e.actor = actor;
  e.target = r.id;
  json::array by;
  for (const auto& a : approvers) by.emplace_back(a);
  e.details = json::object{{"request_id", r.request_id},
                           {"note", r.note},
                           {"key_id", r.key_id},
                           {"model", r.model},
                           {"decided_by", std::move(by)}};
  return e;
}

}  // namespace steward::review
