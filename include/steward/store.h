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
// no AUTOINCREMENT: ids are chosen by the caller.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
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
};

// Opens the store named by `url`: a path or "sqlite:PATH" for SQLite,
// "postgres://..." / "postgresql://..." for PostgreSQL.
Result<std::unique_ptr<Database>> OpenDatabase(const std::string& url);

}  // namespace steward
