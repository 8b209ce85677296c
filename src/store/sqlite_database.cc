#include "store/sqlite_database.h"

#include <sqlite3.h>

#include <mutex>
#include <unordered_map>

namespace steward::store {
namespace {

Status SqliteError(sqlite3* db, std::string_view what) {
  std::string m(what);
  m += ": ";
  m += db ? sqlite3_errmsg(db) : "out of memory";
  int code = db ? sqlite3_errcode(db) : SQLITE_NOMEM;
  if (code == SQLITE_BUSY || code == SQLITE_LOCKED) return Unavailable(std::move(m));
  if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB) return DataLoss(std::move(m));
  if (code == SQLITE_CONSTRAINT) return AlreadyExists(std::move(m));
  if (code == SQLITE_FULL || code == SQLITE_IOERR || code == SQLITE_READONLY ||
      code == SQLITE_CANTOPEN)
    return Unavailable(std::move(m));
  return Internal(std::move(m));
}

// Prepared statements are cached per SQL text; a connection is used by one
// thread at a time (guarded by the Database's mutex).
class Connection {
 public:
  explicit Connection(sqlite3* db) : db_(db) {}
  ~Connection() {
    for (auto& [sql, st] : cache_) sqlite3_finalize(st.stmt);
    sqlite3_close_v2(db_);
  }

  sqlite3* raw() { return db_; }

  // A cached statement and, for each `$k`, the SQLite index it binds to
  // (looked up once: sqlite3_bind_parameter_index is a linear string search,
  // quadratic over a multi-row insert's hundreds of parameters).
  struct Statement {
    sqlite3_stmt* stmt = nullptr;
    std::vector<int> index_of;  // index_of[k] is the index of `$(k+1)`
    std::string bad_param;      // set when the SQL skips a `$k`
  };

  Result<Statement*> Prepare(std::string_view sql) {
    auto it = cache_.find(sql);
    if (it != cache_.end()) {
      sqlite3_reset(it->second.stmt);
      sqlite3_clear_bindings(it->second.stmt);
      return &it->second;
    }
    Statement st;
    if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &st.stmt, nullptr) !=
        SQLITE_OK) {
      return SqliteError(db_, "prepare `" + std::string(sql.substr(0, 80)) + "`");
    }
    int n = sqlite3_bind_parameter_count(st.stmt);
    const char* first = n > 0 ? sqlite3_bind_parameter_name(st.stmt, 1) : nullptr;
    bool named = first && first[0] == '$';
    st.index_of.resize(n);
    for (int k = 0; k < n; ++k) {
      if (!named) {
        st.index_of[k] = k + 1;  // positional `?` parameters
        continue;
      }
      std::string name = "$" + std::to_string(k + 1);
      st.index_of[k] = sqlite3_bind_parameter_index(st.stmt, name.c_str());
      if (st.index_of[k] == 0 && st.bad_param.empty()) st.bad_param = name;
    }
    return &cache_.emplace(std::string(sql), std::move(st)).first->second;
  }

  // `$k` is bound to params[k-1] wherever it appears: SQLite numbers named
  // parameters by first appearance, so binding by position would pair
  // "SET a=$2 WHERE id=$1" with the wrong values. Values are bound without a
  // copy: `params` outlives the statement's steps, and the next use of a
  // cached statement clears its bindings first.
  Status Bind(const Statement& st, const std::vector<Value>& params) {
    int n = static_cast<int>(st.index_of.size());
    if (n != static_cast<int>(params.size())) {
      return InvalidArgument("statement expects " + std::to_string(n) + " parameters, got " +
                             std::to_string(params.size()));
    }
    if (!st.bad_param.empty()) return InvalidArgument("statement does not use parameter " + st.bad_param);
    sqlite3_stmt* stmt = st.stmt;
    for (size_t k = 0; k < params.size(); ++k) {
      int index = st.index_of[k];
      const Value& v = params[k];
      int rc = SQLITE_OK;
      if (std::holds_alternative<std::monostate>(v)) {
        rc = sqlite3_bind_null(stmt, index);
      } else if (auto* iv = std::get_if<int64_t>(&v)) {
        rc = sqlite3_bind_int64(stmt, index, *iv);
      } else if (auto* dv = std::get_if<double>(&v)) {
        rc = sqlite3_bind_double(stmt, index, *dv);
      } else if (auto* sv = std::get_if<std::string>(&v)) {
        rc = sqlite3_bind_text64(stmt, index, sv->data(), sv->size(), SQLITE_STATIC, SQLITE_UTF8);
      } else if (auto* bv = std::get_if<Blob>(&v)) {
        rc = sqlite3_bind_blob64(stmt, index, bv->bytes.data(), bv->bytes.size(), SQLITE_STATIC);
      }
      if (rc != SQLITE_OK) return SqliteError(db_, "bind $" + std::to_string(k + 1));
    }
    return Status::Ok();
  }

  Result<std::vector<Row>> Run(std::string_view sql, const std::vector<Value>& params) {
    STEWARD_ASSIGN_OR_RETURN(Statement * st, Prepare(sql));
    STEWARD_RETURN_IF_ERROR(Bind(*st, params));
    sqlite3_stmt* stmt = st->stmt;
    std::vector<Row> rows;
    while (true) {
      int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) {
        Status s = SqliteError(db_, "step `" + std::string(sql.substr(0, 80)) + "`");
        sqlite3_reset(stmt);
        return s;
      }
      Row row;
      int cols = sqlite3_column_count(stmt);
      row.values.reserve(cols);
      for (int c = 0; c < cols; ++c) {
        switch (sqlite3_column_type(stmt, c)) {
          case SQLITE_NULL: row.values.emplace_back(std::monostate{}); break;
          case SQLITE_INTEGER: row.values.emplace_back(static_cast<int64_t>(sqlite3_column_int64(stmt, c))); break;
          case SQLITE_FLOAT: row.values.emplace_back(sqlite3_column_double(stmt, c)); break;
          case SQLITE_TEXT: {
            const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt, c));
            row.values.emplace_back(std::string(p, sqlite3_column_bytes(stmt, c)));
            break;
          }
          default: {
            const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt, c));
            int len = sqlite3_column_bytes(stmt, c);
            row.values.emplace_back(Blob{std::string(p ? p : "", len)});
          }
        }
      }
      rows.push_back(std::move(row));
    }
    sqlite3_reset(stmt);
    return rows;
  }

  Status ExecScript(std::string_view sql) {
    char* err = nullptr;
    std::string s(sql);
    if (sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string m = err ? err : "unknown error";
      sqlite3_free(err);
      return Internal(m);
    }
    return Status::Ok();
  }

 private:
  sqlite3* db_;
  struct SqlHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, Statement, SqlHash, std::equal_to<>> cache_;
};

class SqliteDatabase;

class SqliteTransaction final : public Transaction {
 public:
  SqliteTransaction(Connection* conn, std::unique_lock<std::mutex> lock)
      : conn_(conn), lock_(std::move(lock)) {}
  ~SqliteTransaction() override {
    if (!done_) (void)conn_->ExecScript("ROLLBACK");
  }
  Status Exec(std::string_view sql, const std::vector<Value>& params) override {
    if (done_) return FailedPrecondition("transaction already committed");
    auto r = conn_->Run(sql, params);
    return r.ok() ? Status::Ok() : r.status();
  }
  Result<std::vector<Row>> Query(std::string_view sql, const std::vector<Value>& params) override {
    if (done_) return FailedPrecondition("transaction already committed");
    return conn_->Run(sql, params);
  }
  Status Commit() override {
    if (done_) return FailedPrecondition("transaction already committed");
    Status s = conn_->ExecScript("COMMIT");
    if (!s.ok()) return SqliteError(conn_->raw(), "commit");
    done_ = true;
    // The connection is free for others as soon as the commit is durable,
    // even while this object lives on.
    lock_.unlock();
    return s;
  }

 private:
  Connection* conn_;
  std::unique_lock<std::mutex> lock_;
  bool done_ = false;
};

class SqliteDatabase final : public Database {
 public:
  explicit SqliteDatabase(std::unique_ptr<Connection> conn) : conn_(std::move(conn)) {}

  std::string_view backend() const override { return "sqlite"; }

  Status Migrate(const std::vector<Migration>& migrations) override {
    std::lock_guard lock(mu_);
    STEWARD_RETURN_IF_ERROR(conn_->ExecScript(
        "CREATE TABLE IF NOT EXISTS schema_migrations (module TEXT NOT NULL, version BIGINT NOT "
        "NULL, applied_ms BIGINT NOT NULL, PRIMARY KEY (module, version))"));
    for (const auto& m : migrations) {
      auto applied = conn_->Run("SELECT 1 FROM schema_migrations WHERE module=$1 AND version=$2",
                                {m.module, static_cast<int64_t>(m.version)});
      if (!applied.ok()) return applied.status();
      if (!applied->empty()) continue;
      STEWARD_RETURN_IF_ERROR(conn_->ExecScript("BEGIN IMMEDIATE"));
      Status s = conn_->ExecScript(m.sql);
      if (s.ok()) {
        auto r = conn_->Run(
            "INSERT INTO schema_migrations(module, version, applied_ms) VALUES ($1, $2, "
            "CAST(strftime('%s','now') AS INTEGER) * 1000)",
            {m.module, static_cast<int64_t>(m.version)});
        if (!r.ok()) s = r.status();
      }
      if (!s.ok()) {
        (void)conn_->ExecScript("ROLLBACK");
        return s.WithContext("migration " + m.module + "/" + std::to_string(m.version));
      }
      STEWARD_RETURN_IF_ERROR(conn_->ExecScript("COMMIT"));
    }
    return Status::Ok();
  }

  Status Exec(std::string_view sql, const std::vector<Value>& params) override {
    std::lock_guard lock(mu_);
    auto r = conn_->Run(sql, params);
    return r.ok() ? Status::Ok() : r.status();
  }

  Result<std::vector<Row>> Query(std::string_view sql, const std::vector<Value>& params) override {
    std::lock_guard lock(mu_);
    return conn_->Run(sql, params);
  }

  Result<std::unique_ptr<Transaction>> Begin() override {
    std::unique_lock lock(mu_);
    Status s = conn_->ExecScript("BEGIN IMMEDIATE");
    if (!s.ok()) return SqliteError(conn_->raw(), "begin");
    return std::unique_ptr<Transaction>(new SqliteTransaction(conn_.get(), std::move(lock)));
  }

 private:
  std::mutex mu_;
  std::unique_ptr<Connection> conn_;
};

}  // namespace

Result<std::unique_ptr<Database>> OpenSqlite(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    Status s = SqliteError(db, "open " + path);
    sqlite3_close_v2(db);
    return s;
  }
  auto conn = std::make_unique<Connection>(db);
  sqlite3_busy_timeout(db, 10000);
  // WAL lets readers (CLI, admin API) run beside the gateway's writer;
  // synchronous=FULL makes every commit durable before it returns.
  for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL",
                             "PRAGMA foreign_keys=ON"}) {
    Status s = conn->ExecScript(pragma);
    if (!s.ok()) return s.WithContext(std::string("open ") + path + ": " + pragma);
  }
  return std::unique_ptr<Database>(new SqliteDatabase(std::move(conn)));
}

}  // namespace steward::store
