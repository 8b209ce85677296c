#include "store/sqlite_database.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <string>
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

  // One statement without parameters or rows (BEGIN IMMEDIATE, COMMIT,
  // ROLLBACK) through the statement cache: sqlite3_exec would parse it
  // again on every transaction of the appender.
  Status Control(std::string_view sql, std::string_view what) {
    STEWARD_ASSIGN_OR_RETURN(Statement * st, Prepare(sql));
    const int rc = sqlite3_step(st->stmt);
    Status s = rc == SQLITE_DONE || rc == SQLITE_ROW ? Status::Ok() : SqliteError(db_, what);
    sqlite3_reset(st->stmt);
    return s;
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

// The "steward" VFS: the system's default VFS, except that writes to a WAL
// file are gathered and written with one system call per commit. SQLite
// writes every WAL frame as two writes (its 24-byte header, then the page),
// so a commit of 30 pages cost 60 pwrite calls (~1.5 us of kernel work
// each, on the single writer's critical path). Nothing is held back past
// the commit: the frames of a transaction are buffered until the page of
// its commit frame (a frame header with a non-zero "database size" field)
// has been written, and that write returns only once all of them are in the
// file -- before SQLite publishes the commit in the WAL index, where other
// connections and processes find it, and before the commit is reported (so
// a write error fails the commit). Any other access to the WAL file (read,
// sync, size, truncate, file control, close, a write somewhere else) first
// writes out what is buffered, so SQLite always sees the file it wrote.
namespace wal_vfs {

constexpr char kName[] = "steward";
constexpr int kFrameHeaderBytes = 24;
constexpr size_t kMaxBuffered = 8u << 20;  // a huge transaction goes out in pieces

struct WalFile {
  sqlite3_file base;     // pMethods = kWalMethods
  sqlite3_file* real;    // the default VFS's file, stored right after this struct
  std::string* pending;  // bytes not yet written, starting at pending_offset
  sqlite3_int64 pending_offset;
  bool commit_frame_next;  // the last write was a commit frame's header
};

sqlite3_vfs* Real() {
  static sqlite3_vfs* real = sqlite3_vfs_find(nullptr);
  return real;
}

WalFile* Wal(sqlite3_file* f) { return reinterpret_cast<WalFile*>(f); }

// The unix VFS writes at most 128 KiB - 1 per call (it masks the length
// with 0x1ffff), so the buffer goes out in pieces below that.
constexpr size_t kMaxWrite = 31 * 4096;

int WritePending(WalFile* w) {
  const std::string& pending = *w->pending;
  int rc = SQLITE_OK;
  for (size_t done = 0; done < pending.size() && rc == SQLITE_OK; done += kMaxWrite) {
    const size_t n = std::min(kMaxWrite, pending.size() - done);
    rc = w->real->pMethods->xWrite(w->real, pending.data() + done, static_cast<int>(n),
                                   w->pending_offset + static_cast<sqlite3_int64>(done));
  }
  w->pending->clear();
  w->commit_frame_next = false;
  return rc;
}

int Close(sqlite3_file* f) {
  WalFile* w = Wal(f);
  const int flushed = WritePending(w);
  const int rc = w->real->pMethods->xClose(w->real);
  delete w->pending;
  w->pending = nullptr;
  return flushed != SQLITE_OK ? flushed : rc;
}

int Read(sqlite3_file* f, void* out, int n, sqlite3_int64 offset) {
  WalFile* w = Wal(f);
  if (int rc = WritePending(w); rc != SQLITE_OK) return rc;
  return w->real->pMethods->xRead(w->real, out, n, offset);
}

int Write(sqlite3_file* f, const void* data, int n, sqlite3_int64 offset) {
  WalFile* w = Wal(f);
  std::string& pending = *w->pending;
  if (!pending.empty() &&
      offset != w->pending_offset + static_cast<sqlite3_int64>(pending.size())) {
    if (int rc = WritePending(w); rc != SQLITE_OK) return rc;
  }
  if (pending.empty()) w->pending_offset = offset;
  const auto* bytes = static_cast<const unsigned char*>(data);
  pending.append(reinterpret_cast<const char*>(bytes), static_cast<size_t>(n));
  if (w->commit_frame_next) return WritePending(w);  // the commit frame's page: all out
  // Frame header: page number, then the database size in pages after a
  // commit (big-endian), zero in every other frame.
  w->commit_frame_next =
      n == kFrameHeaderBytes && (bytes[4] | bytes[5] | bytes[6] | bytes[7]) != 0;
  if (pending.size() >= kMaxBuffered) return WritePending(w);
  return SQLITE_OK;
}

int Truncate(sqlite3_file* f, sqlite3_int64 size) {
  WalFile* w = Wal(f);
  if (int rc = WritePending(w); rc != SQLITE_OK) return rc;
  return w->real->pMethods->xTruncate(w->real, size);
}

int Sync(sqlite3_file* f, int flags) {
  WalFile* w = Wal(f);
  if (int rc = WritePending(w); rc != SQLITE_OK) return rc;
  return w->real->pMethods->xSync(w->real, flags);
}

int FileSize(sqlite3_file* f, sqlite3_int64* size) {
  WalFile* w = Wal(f);
  if (int rc = WritePending(w); rc != SQLITE_OK) return rc;
  return w->real->pMethods->xFileSize(w->real, size);
}

int Lock(sqlite3_file* f, int level) {
  return Wal(f)->real->pMethods->xLock(Wal(f)->real, level);
}
int Unlock(sqlite3_file* f, int level) {
  return Wal(f)->real->pMethods->xUnlock(Wal(f)->real, level);
}
int CheckReservedLock(sqlite3_file* f, int* out) {
  return Wal(f)->real->pMethods->xCheckReservedLock(Wal(f)->real, out);
}
int FileControl(sqlite3_file* f, int op, void* arg) {
  WalFile* w = Wal(f);
  if (int rc = WritePending(w); rc != SQLITE_OK) return rc;
  return w->real->pMethods->xFileControl(w->real, op, arg);
}
int SectorSize(sqlite3_file* f) { return Wal(f)->real->pMethods->xSectorSize(Wal(f)->real); }
int DeviceCharacteristics(sqlite3_file* f) {
  return Wal(f)->real->pMethods->xDeviceCharacteristics(Wal(f)->real);
}

// Version 1: a WAL file has no shared memory or memory-mapped pages of its
// own (the WAL index belongs to the database file, which is not wrapped).
const sqlite3_io_methods kWalMethods = {
    1,    Close, Read,       Write,       Truncate,   Sync,    FileSize, Lock, Unlock,
    CheckReservedLock, FileControl, SectorSize, DeviceCharacteristics,
    nullptr, nullptr, nullptr, nullptr, nullptr, nullptr};

size_t RealFileOffset() {
  return (sizeof(WalFile) + alignof(std::max_align_t) - 1) / alignof(std::max_align_t) *
         alignof(std::max_align_t);
}

int Open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
  sqlite3_vfs* real = Real();
  // Everything but WAL files is the default VFS's own file object (this
  // VFS's files are larger than its, so it fits).
  if ((flags & SQLITE_OPEN_WAL) == 0) return real->xOpen(real, name, file, flags, out_flags);
  WalFile* w = Wal(file);
  w->base.pMethods = nullptr;
  w->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + RealFileOffset());
  const int rc = real->xOpen(real, name, w->real, flags, out_flags);
  if (rc != SQLITE_OK) return rc;
  w->pending = new std::string();  // grows to a commit's size on first use
  w->pending_offset = 0;
  w->commit_frame_next = false;
  w->base.pMethods = &kWalMethods;
  return SQLITE_OK;
}

// Registers the VFS once (not as the default); its name for sqlite3_open_v2.
const char* Name() {
  static const bool registered = [] {
    static sqlite3_vfs vfs = *Real();
    vfs.zName = kName;
    vfs.pNext = nullptr;
    vfs.szOsFile = static_cast<int>(RealFileOffset()) + Real()->szOsFile;
    vfs.xOpen = Open;
    // The remaining methods take the VFS itself: hand them the real one.
    vfs.xDelete = [](sqlite3_vfs*, const char* path, int sync_dir) {
      return Real()->xDelete(Real(), path, sync_dir);
    };
    vfs.xAccess = [](sqlite3_vfs*, const char* path, int flags, int* out) {
      return Real()->xAccess(Real(), path, flags, out);
    };
    vfs.xFullPathname = [](sqlite3_vfs*, const char* path, int n, char* out) {
      return Real()->xFullPathname(Real(), path, n, out);
    };
    vfs.xDlOpen = [](sqlite3_vfs*, const char* path) { return Real()->xDlOpen(Real(), path); };
    vfs.xDlError = [](sqlite3_vfs*, int n, char* out) { Real()->xDlError(Real(), n, out); };
    vfs.xDlSym = [](sqlite3_vfs*, void* lib, const char* sym) {
      return Real()->xDlSym(Real(), lib, sym);
    };
    vfs.xDlClose = [](sqlite3_vfs*, void* lib) { Real()->xDlClose(Real(), lib); };
    vfs.xRandomness = [](sqlite3_vfs*, int n, char* out) {
      return Real()->xRandomness(Real(), n, out);
    };
    vfs.xSleep = [](sqlite3_vfs*, int us) { return Real()->xSleep(Real(), us); };
    vfs.xCurrentTime = [](sqlite3_vfs*, double* out) {
      return Real()->xCurrentTime(Real(), out);
    };
    vfs.xGetLastError = [](sqlite3_vfs*, int n, char* out) {
      return Real()->xGetLastError(Real(), n, out);
    };
    if (vfs.iVersion >= 2 && Real()->xCurrentTimeInt64) {
      vfs.xCurrentTimeInt64 = [](sqlite3_vfs*, sqlite3_int64* out) {
        return Real()->xCurrentTimeInt64(Real(), out);
      };
    }
    if (vfs.iVersion >= 3) {
      vfs.xSetSystemCall = [](sqlite3_vfs*, const char* name, sqlite3_syscall_ptr call) {
        return Real()->xSetSystemCall(Real(), name, call);
      };
      vfs.xGetSystemCall = [](sqlite3_vfs*, const char* name) {
        return Real()->xGetSystemCall(Real(), name);
      };
      vfs.xNextSystemCall = [](sqlite3_vfs*, const char* name) {
        return Real()->xNextSystemCall(Real(), name);
      };
    }
    return sqlite3_vfs_register(&vfs, 0) == SQLITE_OK;
  }();
  return registered ? kName : nullptr;  // nullptr: the default VFS
}

}  // namespace wal_vfs

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
    if (!done_) (void)conn_->Control("ROLLBACK", "rollback");
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
    Status s = conn_->Control("COMMIT", "commit");
    if (!s.ok()) return s;
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
                          wal_vfs::Name()) != SQLITE_OK) {
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
    // A store migrated by a newer steward is refused: code that does not
    // know its later layout changes could miss data without an error (an
    // audit store indexed by migration 10's subject runs looked to an older
    // `dsar export` like a subject without records).
    std::map<std::string, int> newest_known;
    for (const auto& m : migrations) {
      int& v = newest_known[m.module];
      v = std::max(v, m.version);
    }
    for (const auto& [module, known] : newest_known) {
      auto rows = conn_->Run("SELECT MAX(version) FROM schema_migrations WHERE module=$1", {module});
      if (!rows.ok()) return rows.status();
      const int64_t stored = rows->empty() ? 0 : (*rows)[0].Int(0);
      if (stored > known) {
        return FailedPrecondition("store " + path_ + " was migrated by a newer steward (module " +
                                  module + " at version " + std::to_string(stored) +
                                  ", this binary knows up to " + std::to_string(known) +
                                  "): upgrade steward to use it");
      }
    }
    const auto applied = [&](const Migration& m) -> Result<bool> {
      auto rows = conn_->Run("SELECT 1 FROM schema_migrations WHERE module=$1 AND version=$2",
                             {m.module, static_cast<int64_t>(m.version)});
      if (!rows.ok()) return rows.status();
      return !rows->empty();
    };
    for (const auto& m : migrations) {
      STEWARD_ASSIGN_OR_RETURN(bool done, applied(m));
      if (done) continue;
      // Another process (a second gateway, `steward keys create` beside a
      // starting `serve`) may be applying the same migration: look again
      // under the write lock before running it.
      STEWARD_RETURN_IF_ERROR(conn_->ExecScript("BEGIN IMMEDIATE"));
      auto done_meanwhile = applied(m);
      if (!done_meanwhile.ok() || *done_meanwhile) {
        (void)conn_->ExecScript("ROLLBACK");
        if (!done_meanwhile.ok()) return done_meanwhile.status();
        continue;
      }
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
    Status s = conn_->Control("BEGIN IMMEDIATE", "begin");
    if (!s.ok()) return s;
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
    // Statement journals in memory: a multi-row INSERT inside a transaction
    // keeps one (to undo just that statement on a constraint error), and
    // past 64 KiB SQLite moves it to a temporary file -- a file created,
    // written and unlinked per transaction on the appender (~6% of the
    // audit writer's CPU with payloads). This connection only appends and
    // runs bounded queries, so its temporary data stays small.
    if (s.ok()) s = conn_->ExecScript("PRAGMA temp_store=MEMORY");
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
                           wal_vfs::Name());
  if (rc != SQLITE_OK) {
    Status s = SqliteError(db, "open " + path);
    sqlite3_close_v2(db);
    return s;
  }
  auto conn = std::make_unique<Connection>(db);
  constexpr int kBusyTimeoutMs = 10000, kOpenBusyRetryMs = 5;
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  // WAL lets readers (CLI, admin API) run beside the gateway's writer;
  // synchronous=FULL makes every commit durable before it returns.
  for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL",
                             "PRAGMA foreign_keys=ON"}) {
    // Switching a new file to WAL while another process does the same can
    // answer SQLITE_BUSY without consulting the busy handler (it would
    // deadlock): retry for as long as the busy timeout would have waited.
    // The bound is time, not tries: one try can itself wait in the busy
    // handler, and a holder that never lets go must end in an error, not a
    // hang.
    int rc = SQLITE_OK;
    const auto give_up =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(kBusyTimeoutMs);
    for (;;) {
      rc = sqlite3_exec(db, pragma, nullptr, nullptr, nullptr);
      if (rc != SQLITE_BUSY || std::chrono::steady_clock::now() >= give_up) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(kOpenBusyRetryMs));
    }
    if (rc != SQLITE_OK) return SqliteError(db, std::string("open ") + path + ": " + pragma);
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
