// The storage interface every module persists through.
//
// A Database is a small relational store: statements use positional
// parameters written `$1`, `$2`, ... (valid in both SQLite and PostgreSQL), and
// values are the five types below. Each module owns its tables and declares
// them as Migrations, applied by calling Migrate() with them when the module
// attaches to the store (idempotent: applied versions are skipped). SQLite is the embedded backend; PostgreSQL implements the same
// interface, so nothing above this header may assume SQLite (no rowid, no
// PRAGMA, no sqlite3_* calls).
//
// SQL dialect rules for portable statements: INTEGER/BIGINT for integers
// (use BIGINT), DOUBLE PRECISION for doubles, TEXT, BLOB (the Postgres
// backend maps BLOB to BYTEA in migrations), `ON CONFLICT ... DO` upserts,
// no AUTOINCREMENT: ids are chosen by the caller. `INTEGER PRIMARY KEY` marks a
// 64-bit integer key that is also the table's row key (SQLite: the rowid, so
// rows are stored in key order with no separate key index); the Postgres
// backend maps it to BIGINT PRIMARY KEY in migrations.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "steward/status.h"

namespace steward {

struct Blob {
  std::string bytes;
  bool operator==(const Blob&) const = default;
};

using Value = std::variant<std::monostate, int64_t, double, std::string, Blob>;

struct Row {
  std::vector<Value> values;

  bool IsNull(size_t i) const { return std::holds_alternative<std::monostate>(values.at(i)); }
  int64_t Int(size_t i) const;          // 0 for NULL
  double Double(size_t i) const;        // 0.0 for NULL
  std::string Text(size_t i) const;     // "" for NULL; a Blob's bytes
};

// One column of a row read in place by Database::QueryEach. Text and blob
// bytes point into the store's buffers: valid only during the callback.
struct FieldView {
  enum class Type { kNull, kInt, kDouble, kText, kBlob };
  Type type = Type::kNull;
  int64_t int_value = 0;
  double double_value = 0;
  std::string_view bytes;
};

class RowView {
 public:
  explicit RowView(std::span<const FieldView> fields) : fields_(fields) {}
  size_t size() const { return fields_.size(); }
  const FieldView& field(size_t i) const { return fields_[i]; }
  bool IsNull(size_t i) const { return fields_[i].type == FieldView::Type::kNull; }
  int64_t Int(size_t i) const;             // 0 for NULL, text parsed
  std::string_view Bytes(size_t i) const;  // text / blob bytes, "" otherwise

 private:
  std::span<const FieldView> fields_;
};

// Called once per row; a non-OK status stops the query and is returned.
using RowCallback = std::function<Status(const RowView&)>;

struct Migration {
  std::string module;   // "keys", "audit", ...
  int version;          // 1, 2, ... per module, applied in order
  std::string sql;      // one or more statements separated by ';'
};

class Database;

// A transaction: statements on it are atomic together. Commit() makes them
// durable; destroying it without Commit() rolls back.
class Transaction {
 public:
  virtual ~Transaction() = default;
  virtual Status Exec(std::string_view sql, const std::vector<Value>& params = {}) = 0;
  virtual Result<std::vector<Row>> Query(std::string_view sql,
                                         const std::vector<Value>& params = {}) = 0;
  virtual Status Commit() = 0;

  // Commits like Commit() -- the changes are visible to every later
  // statement and ordered after every earlier commit -- but may return before
  // they are durable (on a connection prepared with
  // Database::PrepareForAppends): they are once Database::WaitDurable(token)
  // returns OK (a crash before that may lose them, never half of them). Lets
  // a group-commit writer build the next transaction while this one is
  // being flushed. Default: Commit(), durable at once (token 0).
  virtual Result<uint64_t> CommitWithoutSync() {
    STEWARD_RETURN_IF_ERROR(Commit());
    return uint64_t{0};
  }
};

class Database {
 public:
  virtual ~Database() = default;

  // Backend name: "sqlite" or "postgres".
  virtual std::string_view backend() const = 0;

  // Applies every migration not applied yet (tracked per module and version).
  virtual Status Migrate(const std::vector<Migration>& migrations) = 0;

  // Autocommit statement / query.
  virtual Status Exec(std::string_view sql, const std::vector<Value>& params = {}) = 0;
  virtual Result<std::vector<Row>> Query(std::string_view sql,
                                         const std::vector<Value>& params = {}) = 0;

  // Begins a write transaction. Only one is open at a time per Database;
  // Begin() waits for the current one to end.
  virtual Result<std::unique_ptr<Transaction>> Begin() = 0;

  // Optional methods (defaults keep the plain semantics above).

  // Runs a query and hands each row to `on_row` as it is read, without
  // materialising the result: for long sequential scans (SQLite reads the
  // values in place). Default: Query() then one call per row.
  virtual Status QueryEach(std::string_view sql, const std::vector<Value>& params,
                           const RowCallback& on_row);

  // Blocks until every commit up to `token` (Transaction::CommitWithoutSync)
  // is durable. Thread-safe: meant to run on another thread while the next
  // transaction is written; several calls may flush at once. Default: commits
  // are durable when they return, nothing to wait for.
  virtual Status WaitDurable(uint64_t token) {
    (void)token;
    return Status::Ok();
  }

  // Marks this connection as a dedicated appender (the audit log's writer):
  // CommitWithoutSync then returns before the commit is flushed (Commit()
  // and autocommit writes still return only once durable), and the store's
  // housekeeping moves off the commit path (SQLite: the WAL is synced by
  // WaitDurable, and checkpoints run on a thread and connection of their
  // own instead of inside commits). Default: nothing changes.
  virtual Status PrepareForAppends() { return Status::Ok(); }
};

// Opens the store named by `url`: a path or "sqlite:PATH" for SQLite,
// "postgres://..." / "postgresql://..." for PostgreSQL.
Result<std::unique_ptr<Database>> OpenDatabase(const std::string& url);

}  // namespace steward
