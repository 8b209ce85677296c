#include "store/sqlite_database.h"

#include <sqlite3.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>
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

  // Steps the query and hands every row to `on_row` with text and blob
  // values read in place (no copy: valid until the next step).
  //
  // For the scan the database file is memory-mapped: pages are read in
  // place instead of being copied out of the OS page cache by a pread each
  // (that copy was a quarter of `audit verify`'s CPU). Only for the scan: a
  // mapped file turns an I/O error into SIGBUS instead of an error status,
  // which a long-running gateway should not risk on its ordinary queries.
  Status RunEach(std::string_view sql, const std::vector<Value>& params,
                 const RowCallback& on_row) {
    (void)ExecScript("PRAGMA mmap_size=1099511627776");  // capped by the build's maximum
    Status s = RunEachUnmapped(sql, params, on_row);
    (void)ExecScript("PRAGMA mmap_size=0");
    return s;
  }

  Status RunEachUnmapped(std::string_view sql, const std::vector<Value>& params,
                         const RowCallback& on_row) {
    STEWARD_ASSIGN_OR_RETURN(Statement * st, Prepare(sql));
    STEWARD_RETURN_IF_ERROR(Bind(*st, params));
    sqlite3_stmt* stmt = st->stmt;
    std::vector<FieldView> fields(static_cast<size_t>(sqlite3_column_count(stmt)));
    Status status;
    while (status.ok()) {
      int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) {
        status = SqliteError(db_, "step `" + std::string(sql.substr(0, 80)) + "`");
        break;
      }
      for (size_t c = 0; c < fields.size(); ++c) {
        FieldView& f = fields[c];
        const int col = static_cast<int>(c);
        switch (sqlite3_column_type(stmt, col)) {
          case SQLITE_NULL: f = FieldView{}; break;
          case SQLITE_INTEGER:
            f.type = FieldView::Type::kInt;
            f.int_value = sqlite3_column_int64(stmt, col);
            break;
          case SQLITE_FLOAT:
            f.type = FieldView::Type::kDouble;
            f.double_value = sqlite3_column_double(stmt, col);
            break;
          case SQLITE_TEXT: {
            const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt, col));
            f.type = FieldView::Type::kText;
            f.bytes = std::string_view(p ? p : "", static_cast<size_t>(sqlite3_column_bytes(stmt, col)));
            break;
          }
          default: {
            const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt, col));
            f.type = FieldView::Type::kBlob;
            f.bytes = std::string_view(p ? p : "", static_cast<size_t>(sqlite3_column_bytes(stmt, col)));
          }
        }
      }
      status = on_row(RowView(fields));
    }
    sqlite3_reset(stmt);
    return status;
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

// Commits of a dedicated appender (Database::PrepareForAppends) in WAL mode:
// a commit appends its pages and a commit frame to the -wal file; with
// synchronous=FULL SQLite fdatasyncs that file before COMMIT returns. Here
// the connection runs with synchronous=NORMAL (COMMIT does not sync; SQLite
// still syncs the database file at checkpoints) and WaitDurable fdatasyncs
// the same -wal file afterwards, from any thread: every commit counted before
// that fdatasync started is on disk when it returns. A crash before it loses
// whole commits only (WAL frames are checksummed; recovery stops at the last
// complete commit) -- as with FULL for commits not yet acknowledged.
// Commits are counted by the connection's WAL hook, so autocommit writes
// count too.
class WalSyncer {
 public:
  explicit WalSyncer(std::string wal_path) : wal_path_(std::move(wal_path)) {}
  ~WalSyncer() {
    if (fd_ >= 0) ::close(fd_);
  }

  void OnCommit() { committed_.fetch_add(1, std::memory_order_acq_rel); }
  uint64_t committed() const { return committed_.load(std::memory_order_acquire); }

  // After a failed fdatasync the kernel may have dropped the unsynced pages
  // (and a later fdatasync can succeed without them), and WAL frames are
  // checksummed as a chain, so no later commit can be trusted either: the
  // failure sticks until the store is reopened (SQLite then recovers the
  // last intact commit).
  Status WaitDurable(uint64_t token) {
    if (failed_.load(std::memory_order_acquire)) return Failure();
    if (token == 0 || durable_.load(std::memory_order_acquire) >= token) return Status::Ok();
    // Read before the sync starts: these commits' writes have all returned.
    const uint64_t covered = committed_.load(std::memory_order_acquire);
    STEWARD_ASSIGN_OR_RETURN(int fd, Fd());
    if (::fdatasync(fd) != 0) {
      const int err = errno;
      {
        std::lock_guard lock(mu_);
        failure_ = "fdatasync " + wal_path_ + ": " + std::strerror(err);
      }
      failed_.store(true, std::memory_order_release);
      return Failure();
    }
    if (failed_.load(std::memory_order_acquire)) return Failure();
    uint64_t seen = durable_.load(std::memory_order_relaxed);
    while (seen < covered &&
           !durable_.compare_exchange_weak(seen, covered, std::memory_order_acq_rel)) {
    }
    return Status::Ok();
  }

 private:
  // The -wal file is only removed when the last connection closes (ours is
  // open); an fd of an unlinked file would sync the wrong inode, so that is
  // checked on every use.
  Result<int> Fd() {
    std::lock_guard lock(mu_);
    struct stat st {};
    if (fd_ >= 0 && (::fstat(fd_, &st) != 0 || st.st_nlink == 0)) {
      ::close(fd_);
      fd_ = -1;
    }
    if (fd_ < 0) {
      fd_ = ::open(wal_path_.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd_ < 0) return Unavailable("open " + wal_path_ + ": " + std::strerror(errno));
    }
    return fd_;
  }

  Status Failure() {
    std::lock_guard lock(mu_);
    return Unavailable(failure_ + " (commits since are not trusted until the store is reopened)");
  }

  std::string wal_path_;
  std::mutex mu_;
  int fd_ = -1;
  std::string failure_;
  std::atomic<bool> failed_{false};
  std::atomic<uint64_t> committed_{0}, durable_{0};
};

class SqliteTransaction final : public Transaction {
 public:
  SqliteTransaction(Connection* conn, std::unique_lock<std::mutex> lock, WalSyncer* wal)
      : conn_(conn), lock_(std::move(lock)), wal_(wal) {}
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
    STEWARD_ASSIGN_OR_RETURN(uint64_t token, CommitWithoutSync());
    return wal_ ? wal_->WaitDurable(token) : Status::Ok();
  }
  // Without a WalSyncer the connection is synchronous=FULL: COMMIT itself
  // is durable (token 0).
  Result<uint64_t> CommitWithoutSync() override {
    if (done_) return FailedPrecondition("transaction already committed");
    Status s = conn_->ExecScript("COMMIT");
    if (!s.ok()) return SqliteError(conn_->raw(), "commit");
    done_ = true;
    const uint64_t token = wal_ ? wal_->committed() : 0;
    // The connection is free for others as soon as the commit is written,
    // even while this object lives on (and while it is being synced).
    lock_.unlock();
    return token;
  }

 private:
  Connection* conn_;
  std::unique_lock<std::mutex> lock_;
  WalSyncer* wal_;
  bool done_ = false;
};

// Checkpoints on a connection and thread of their own (PrepareForAppends):
// the appender's commits then never copy WAL pages into the database file
// or fsync it. Woken by the WAL hook once kWakeFrames frames were added
// since the last pass; a PASSIVE checkpoint never blocks the writer. Under
// constant appends a passive checkpoint rarely finds the WAL fully copied,
// and the WAL only restarts from its beginning when it is: a growing WAL
// file makes every flush an ext4 journal commit too (the size changed), so
// once it holds kRestartFrames a RESTART checkpoint follows the passive one:
// it waits for a gap between commits and holds the write lock only while
// it copies the few frames added since, and the next commit starts the WAL
// over (its file is then rewritten in place, not grown).
class Checkpointer {
 public:
  static constexpr int kWakeFrames = 1000;  // SQLite's own autocheckpoint
  static constexpr int kRestartFrames = 4096;  // 16 MB of 4 KiB pages
  static constexpr int kRestartWaitMs = 20;

  explicit Checkpointer(std::string path) : path_(std::move(path)) {
    thread_ = std::thread([this] { Run(); });
  }
  ~Checkpointer() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_one();
    thread_.join();
    if (db_) sqlite3_close_v2(db_);
  }
  // After each commit, with the WAL's size in frames: wakes the thread when
  // kWakeFrames frames were added since the last checkpoint copied the WAL
  // (not on every commit while the WAL is large: each pass also fsyncs the
  // database file).
  void OnCommit(int wal_frames) {
    int copied = copied_.load(std::memory_order_relaxed);
    if (wal_frames < copied) copied = 0;  // the WAL restarted from its beginning
    if (wal_frames - copied < kWakeFrames) return;
    {
      std::lock_guard lock(mu_);
      if (due_) return;
      due_ = true;
    }
    cv_.notify_one();
  }
  Status last_error() {
    std::lock_guard lock(mu_);
    return error_;
  }

 private:
  void Run() {
    std::unique_lock lock(mu_);
    while (true) {
      cv_.wait(lock, [&] { return stop_ || due_; });
      if (stop_) return;
      due_ = false;
      lock.unlock();
      int wal_frames = 0;
      Status s = CheckpointOnce(SQLITE_CHECKPOINT_PASSIVE, &wal_frames);
      if (s.ok() && wal_frames >= kRestartFrames) {
        s = CheckpointOnce(SQLITE_CHECKPOINT_RESTART, &wal_frames);
      }
      lock.lock();
      error_ = s;
    }
  }
  Status CheckpointOnce(int mode, int* wal_frames) {
    if (db_ == nullptr) {
      if (sqlite3_open_v2(path_.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                          nullptr) != SQLITE_OK) {
        Status s = SqliteError(db_, "open checkpoint connection");
        sqlite3_close_v2(db_);
        db_ = nullptr;
        return s;
      }
      // A RESTART checkpoint holds the write lock while it waits for
      // readers of the old WAL (say an `audit verify` in another process),
      // so the appender's next BEGIN waits for it: it gives up after
      // kRestartWaitMs and is tried again later (PASSIVE never waits).
      sqlite3_busy_timeout(db_, kRestartWaitMs);
      // A connection joins the WAL on its first read; before that a
      // checkpoint does nothing.
      if (sqlite3_exec(db_, "SELECT COUNT(*) FROM sqlite_master", nullptr, nullptr, nullptr) !=
          SQLITE_OK) {
        Status s = SqliteError(db_, "checkpoint connection");
        sqlite3_close_v2(db_);
        db_ = nullptr;
        return s;
      }
    }
    int log = 0, done = 0;
    int rc = sqlite3_wal_checkpoint_v2(db_, "main", mode, &log, &done);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY) return SqliteError(db_, "checkpoint");
    copied_.store(done > 0 ? done : 0, std::memory_order_relaxed);
    *wal_frames = log;
    return Status::Ok();
  }

  std::string path_;
  sqlite3* db_ = nullptr;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false, due_ = false;
  std::atomic<int> copied_{0};  // WAL frames the last checkpoint left copied
  Status error_;
  std::thread thread_;
};

class SqliteDatabase final : public Database {
 public:
  SqliteDatabase(std::unique_ptr<Connection> conn, std::string path, bool wal)
      : conn_(std::move(conn)), path_(std::move(path)), wal_mode_(wal) {}
  ~SqliteDatabase() override {
    if (wal_) sqlite3_wal_hook(conn_->raw(), nullptr, nullptr);
    checkpointer_.reset();
  }

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
    auto r = Query(sql, params);
    return r.ok() ? Status::Ok() : r.status();
  }

  // Autocommit statements that wrote something are durable on return here
  // too (an appender's connection does not sync its commits itself).
  Result<std::vector<Row>> Query(std::string_view sql, const std::vector<Value>& params) override {
    std::unique_lock lock(mu_);
    const uint64_t before = wal_ ? wal_->committed() : 0;
    auto r = conn_->Run(sql, params);
    const uint64_t after = wal_ ? wal_->committed() : 0;
    lock.unlock();
    if (after != before) STEWARD_RETURN_IF_ERROR(wal_->WaitDurable(after));
    return r;
  }

  Status QueryEach(std::string_view sql, const std::vector<Value>& params,
                   const RowCallback& on_row) override {
    std::lock_guard lock(mu_);
    return conn_->RunEach(sql, params, on_row);
  }

  Result<std::unique_ptr<Transaction>> Begin() override {
    std::unique_lock lock(mu_);
    Status s = conn_->ExecScript("BEGIN IMMEDIATE");
    if (!s.ok()) return SqliteError(conn_->raw(), "begin");
    return std::unique_ptr<Transaction>(
        new SqliteTransaction(conn_.get(), std::move(lock), wal_.get()));
  }

  Status WaitDurable(uint64_t token) override {
    if (token == 0) return Status::Ok();
    if (!wal_) return FailedPrecondition("durability token from a store not prepared for appends");
    return wal_->WaitDurable(token);
  }

  Status PrepareForAppends() override {
    std::lock_guard lock(mu_);
    if (!wal_mode_ || wal_) return Status::Ok();
    checkpointer_ = std::make_unique<Checkpointer>(path_);
    wal_ = std::make_unique<WalSyncer>(path_ + "-wal");
    // Replaces the automatic checkpoint (itself a WAL hook): it counts this
    // connection's commits and wakes the checkpointer.
    sqlite3_wal_hook(
        conn_->raw(),
        [](void* arg, sqlite3*, const char*, int frames) -> int {
          auto* self = static_cast<SqliteDatabase*>(arg);
          self->wal_->OnCommit();
          self->checkpointer_->OnCommit(frames);
          return SQLITE_OK;
        },
        this);
    Status s = conn_->ExecScript("PRAGMA synchronous=NORMAL");
    if (!s.ok()) {
      sqlite3_wal_hook(conn_->raw(), nullptr, nullptr);
      sqlite3_wal_autocheckpoint(conn_->raw(), 1000);
      wal_.reset();
      checkpointer_.reset();
    }
    return s;
  }

 private:
  std::mutex mu_;
  std::unique_ptr<Connection> conn_;
  std::string path_;
  const bool wal_mode_;
  std::unique_ptr<WalSyncer> wal_;  // set by PrepareForAppends
  std::unique_ptr<Checkpointer> checkpointer_;
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
  // WAL is not available everywhere (":memory:", some file systems); commits
  // without a sync need it.
  auto mode = conn->Run("PRAGMA journal_mode", {});
  const bool wal = mode.ok() && !mode->empty() && (*mode)[0].Text(0) == "wal";
  const char* file = sqlite3_db_filename(db, "main");
  std::string file_path = file ? file : "";
  return std::unique_ptr<Database>(
      new SqliteDatabase(std::move(conn), std::move(file_path), wal && !file_path.empty()));
}

}  // namespace steward::store
