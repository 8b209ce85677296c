#include "store/sqlite_database.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>
#include <vector>

namespace steward::store {
namespace {

class SqliteDatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("steward_store_" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
    auto db = OpenDatabase((dir_ / "t.db").string());
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(*db);
  }
  void TearDown() override {
    db_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::filesystem::path dir_;
  std::unique_ptr<Database> db_;
};

TEST_F(SqliteDatabaseTest, MigrationsApplyOnceInOrder) {
  std::vector<Migration> m = {
      {"t", 1, "CREATE TABLE kv (k TEXT PRIMARY KEY, v BIGINT)"},
      {"t", 2, "ALTER TABLE kv ADD COLUMN note TEXT"},
  };
  ASSERT_TRUE(db_->Migrate(m).ok());
  ASSERT_TRUE(db_->Migrate(m).ok());  // idempotent
  ASSERT_TRUE(db_->Exec("INSERT INTO kv(k, v, note) VALUES ($1, $2, $3)", {std::string("a"), int64_t{7}, std::monostate{}}).ok());
  auto rows = db_->Query("SELECT k, v, note FROM kv WHERE k = $1", {std::string("a")});
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].Text(0), "a");
  EXPECT_EQ((*rows)[0].Int(1), 7);
  EXPECT_TRUE((*rows)[0].IsNull(2));
}

// A store migrated further by a newer binary is refused by name, never used
// with a layout this code does not know; the other modules' migrations and
// older versions of the same module still apply.
TEST_F(SqliteDatabaseTest, StoreMigratedByANewerBinaryIsRefused) {
  const std::vector<Migration> newer = {{"t", 1, "CREATE TABLE n1 (v BIGINT)"},
                                        {"t", 2, "CREATE TABLE n2 (v BIGINT)"}};
  ASSERT_TRUE(db_->Migrate(newer).ok());
  const std::vector<Migration> older(newer.begin(), newer.begin() + 1);
  Status s = db_->Migrate(older);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("module t at version 2, this binary knows up to 1"),
            std::string::npos)
      << s.message();
  EXPECT_TRUE(db_->Migrate(newer).ok());
  EXPECT_TRUE(db_->Migrate({{"other", 1, "CREATE TABLE o1 (v BIGINT)"}}).ok());
}

// Several processes opening a fresh store at once (two gateways, or
// `steward keys create` beside a starting `serve`): every one opens it (the
// switch to WAL may meet a busy lock) and applies the missing migrations;
// each migration runs exactly once, none fails with "table already exists".
TEST_F(SqliteDatabaseTest, ConcurrentProcessesOpenAndMigrateAFreshStore) {
  const std::vector<Migration> migrations = {
      {"race", 1, "CREATE TABLE a (k TEXT PRIMARY KEY)"},
      {"race", 2, "CREATE TABLE b (k TEXT PRIMARY KEY)"},
      {"race", 3, "ALTER TABLE a ADD COLUMN v BIGINT"},
  };
  constexpr int kRounds = 12, kProcesses = 6;
  for (int round = 0; round < kRounds; ++round) {
    const std::string url = (dir_ / ("race" + std::to_string(round) + ".db")).string();
    int start[2];
    ASSERT_EQ(::pipe(start), 0);
    std::vector<pid_t> children;
    for (int i = 0; i < kProcesses; ++i) {
      pid_t pid = ::fork();
      ASSERT_GE(pid, 0);
      if (pid == 0) {
        ::close(start[1]);
        char go;
        if (::read(start[0], &go, 1) != 1) ::_exit(3);  // all start together
        auto db = OpenDatabase(url);
        Status s = db.ok() ? (*db)->Migrate(migrations) : db.status();
        if (!s.ok()) std::fprintf(stderr, "round %d: %s\n", round, s.ToString().c_str());
        db = Internal("closed");  // close before _exit skips destructors
        ::_exit(s.ok() ? 0 : 1);
      }
      children.push_back(pid);
    }
    ::close(start[0]);
    ASSERT_EQ(::write(start[1], std::string(kProcesses, 'g').data(), kProcesses), kProcesses);
    ::close(start[1]);
    for (pid_t pid : children) {
      int status = 0;
      ASSERT_EQ(::waitpid(pid, &status, 0), pid);
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "round " << round;
    }
    auto db = OpenDatabase(url);
    ASSERT_TRUE(db.ok());
    auto rows = (*db)->Query("SELECT COUNT(*) FROM schema_migrations WHERE module = 'race'", {});
    ASSERT_TRUE(rows.ok());
    EXPECT_EQ((*rows)[0].Int(0), 3);
  }
}

// A fresh file another program is writing to, still in rollback-journal
// mode: SQLite refuses the switch to WAL as busy at once (waiting could
// deadlock, so its busy handler is not called); opening waits for the
// writer to finish rather than failing.
TEST_F(SqliteDatabaseTest, OpeningWaitsForAWriterBeforeSwitchingToWal) {
  const std::string path = (dir_ / "busy.db").string();
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &other), SQLITE_OK);
  // As another steward process would: its COMMIT waits while the opening
  // connection holds a read lock between tries (without a busy timeout it
  // failed then, and the writer never let go).
  sqlite3_busy_timeout(other, 10000);
  ASSERT_EQ(
      sqlite3_exec(other, "BEGIN IMMEDIATE; CREATE TABLE t (v BIGINT)", nullptr, nullptr, nullptr),
      SQLITE_OK);
  int commit_rc = -1;
  std::thread release([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    commit_rc = sqlite3_exec(other, "COMMIT", nullptr, nullptr, nullptr);
  });
  auto db = OpenDatabase(path);
  release.join();
  sqlite3_close(other);
  EXPECT_EQ(commit_rc, SQLITE_OK);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  auto mode = (*db)->Query("PRAGMA journal_mode", {});
  ASSERT_TRUE(mode.ok());
  EXPECT_EQ((*mode)[0].Text(0), "wal");
}

TEST_F(SqliteDatabaseTest, BadMigrationNamesItself) {
  Status s = db_->Migrate({{"broken", 1, "CREATE TABLE ("}});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("migration broken/1"), std::string::npos) << s.message();
}

TEST_F(SqliteDatabaseTest, TransactionRollsBackUnlessCommitted) {
  ASSERT_TRUE(db_->Migrate({{"t", 1, "CREATE TABLE x (v BIGINT)"}}).ok());
  {
    auto tx = db_->Begin();
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE((*tx)->Exec("INSERT INTO x VALUES ($1)", {int64_t{1}}).ok());
  }
  {
    auto tx = db_->Begin();
    ASSERT_TRUE((*tx)->Exec("INSERT INTO x VALUES ($1)", {int64_t{2}}).ok());
    ASSERT_TRUE((*tx)->Commit().ok());
  }
  auto rows = db_->Query("SELECT v FROM x");
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].Int(0), 2);
}

TEST_F(SqliteDatabaseTest, BlobsRoundTripBinary) {
  ASSERT_TRUE(db_->Migrate({{"t", 1, "CREATE TABLE b (v BLOB)"}}).ok());
  std::string bytes("\0\xff\x01", 3);
  ASSERT_TRUE(db_->Exec("INSERT INTO b VALUES ($1)", {Blob{bytes}}).ok());
  auto rows = db_->Query("SELECT v FROM b");
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ((*rows)[0].Text(0), bytes);
}

TEST_F(SqliteDatabaseTest, ParameterCountMismatchIsAnError) {
  ASSERT_TRUE(db_->Migrate({{"t", 1, "CREATE TABLE y (v BIGINT)"}}).ok());
  Status s = db_->Exec("INSERT INTO y VALUES ($1)", {});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace steward::store

namespace steward::store {
namespace {

TEST_F(SqliteDatabaseTest, CommittedTransactionReleasesTheConnection) {
  ASSERT_TRUE(db_->Migrate({{"t", 1, "CREATE TABLE z (v BIGINT)"}}).ok());
  auto tx = db_->Begin();
  ASSERT_TRUE(tx.ok());
  ASSERT_TRUE((*tx)->Exec("INSERT INTO z VALUES ($1)", {int64_t{1}}).ok());
  ASSERT_TRUE((*tx)->Commit().ok());
  // Still in scope: the database must be usable (this deadlocked once).
  auto rows = db_->Query("SELECT v FROM z");
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->size(), 1u);
  EXPECT_EQ((*tx)->Exec("INSERT INTO z VALUES ($1)", {int64_t{2}}).code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace steward::store

namespace steward::store {
namespace {

TEST_F(SqliteDatabaseTest, ParametersBindByNumberNotByAppearance) {
  ASSERT_TRUE(db_->Migrate({{"t", 1, "CREATE TABLE p (id TEXT PRIMARY KEY, a BIGINT, b TEXT)"}}).ok());
  ASSERT_TRUE(db_->Exec("INSERT INTO p(id, a, b) VALUES ($1, $2, $3)", {std::string("k"), int64_t{1}, std::string("x")}).ok());
  ASSERT_TRUE(db_->Exec("UPDATE p SET b = $3, a = $2 WHERE id = $1", {std::string("k"), int64_t{7}, std::string("y")}).ok());
  auto rows = db_->Query("SELECT a, b FROM p WHERE id = $1", {std::string("k")});
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].Int(0), 7);
  EXPECT_EQ((*rows)[0].Text(1), "y");
  // A repeated parameter counts once.
  auto same = db_->Query("SELECT $1 || $1", {std::string("ab")});
  ASSERT_TRUE(same.ok());
  EXPECT_EQ((*same)[0].Text(0), "abab");
}

}  // namespace
}  // namespace steward::store

namespace steward::store {
namespace {

TEST_F(SqliteDatabaseTest, QueryEachReadsRowsInPlaceAndStopsOnError) {
  ASSERT_TRUE(db_->Migrate({{"t", 1, "CREATE TABLE e (k INTEGER PRIMARY KEY, b BLOB, t TEXT, d DOUBLE PRECISION)"}}).ok());
  for (int64_t k = 0; k < 5; ++k) {
    ASSERT_TRUE(db_->Exec("INSERT INTO e(k, b, t, d) VALUES ($1, $2, $3, $4)",
                          {k, Blob{std::string("\0x", 2) + std::to_string(k)},
                           k == 2 ? Value() : Value(std::string("t") + std::to_string(k)), 0.5})
                    .ok());
  }
  std::vector<std::string> seen;
  Status s = db_->QueryEach("SELECT k, b, t, d FROM e WHERE k >= $1 ORDER BY k", {int64_t{1}},
                            [&](const RowView& row) -> Status {
                              EXPECT_EQ(row.size(), 4u);
                              EXPECT_EQ(row.field(1).type, FieldView::Type::kBlob);
                              EXPECT_EQ(row.IsNull(2), row.Int(0) == 2);
                              EXPECT_EQ(row.field(3).double_value, 0.5);
                              seen.push_back(std::to_string(row.Int(0)) + ":" +
                                             std::string(row.Bytes(1)) + ":" +
                                             std::string(row.Bytes(2)));
                              return Status::Ok();
                            });
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[0], std::string("1:\0x1:t1", 8));
  EXPECT_EQ(seen[1], std::string("2:\0x2:", 6));
  int calls = 0;
  s = db_->QueryEach("SELECT k FROM e ORDER BY k", {}, [&](const RowView&) -> Status {
    return ++calls == 2 ? DataLoss("stop here") : Status::Ok();
  });
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_EQ(calls, 2);
  // The statement was reset: the connection is usable at once.
  auto rows = db_->Query("SELECT COUNT(*) FROM e");
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ((*rows)[0].Int(0), 5);
  EXPECT_FALSE(db_->QueryEach("SELECT nope FROM e", {}, [](const RowView&) { return Status::Ok(); }).ok());
}

TEST_F(SqliteDatabaseTest, CommitWithoutSyncIsVisibleAndBecomesDurableOnWait) {
  ASSERT_TRUE(db_->Migrate({{"t", 1, "CREATE TABLE w (v BIGINT)"}}).ok());
  {
    // Not prepared for appends: every commit is durable itself (token 0).
    auto tx = db_->Begin();
    ASSERT_TRUE(tx.ok());
    auto token = (*tx)->CommitWithoutSync();
    ASSERT_TRUE(token.ok());
    EXPECT_EQ(*token, 0u);
  }
  ASSERT_TRUE(db_->PrepareForAppends().ok());
  uint64_t last = 0;
  for (int64_t i = 0; i < 3; ++i) {
    auto tx = db_->Begin();
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE((*tx)->Exec("INSERT INTO w VALUES ($1)", {i}).ok());
    auto token = (*tx)->CommitWithoutSync();
    ASSERT_TRUE(token.ok()) << token.status().ToString();
    EXPECT_GT(*token, last);  // WAL mode: a real token, increasing
    last = *token;
    EXPECT_EQ((*tx)->Commit().code(), StatusCode::kFailedPrecondition);
  }
  // Visible to another connection before any sync.
  auto other = OpenDatabase((dir_ / "t.db").string());
  ASSERT_TRUE(other.ok());
  auto rows = (*other)->Query("SELECT COUNT(*) FROM w");
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ((*rows)[0].Int(0), 3);
  EXPECT_TRUE(db_->WaitDurable(last).ok());
  EXPECT_TRUE(db_->WaitDurable(1).ok());  // already covered
  // Autocommit writes and plain commits still return durable (they sync).
  EXPECT_TRUE(db_->Exec("INSERT INTO w VALUES (9)").ok());
  {
    auto tx = db_->Begin();
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE((*tx)->Exec("INSERT INTO w VALUES (10)").ok());
    ASSERT_TRUE((*tx)->Commit().ok());
  }
  auto count = db_->Query("SELECT COUNT(*) FROM w");
  ASSERT_TRUE(count.ok());
  EXPECT_EQ((*count)[0].Int(0), 5);
  // A store without WAL commits durably and hands out token 0.
  auto mem = OpenDatabase(":memory:");
  ASSERT_TRUE(mem.ok());
  ASSERT_TRUE((*mem)->PrepareForAppends().ok());
  ASSERT_TRUE((*mem)->Exec("CREATE TABLE m (v BIGINT)").ok());
  auto tx = (*mem)->Begin();
  ASSERT_TRUE(tx.ok());
  auto token = (*tx)->CommitWithoutSync();
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(*token, 0u);
  EXPECT_TRUE((*mem)->WaitDurable(*token).ok());
}

// The WAL frames of a commit are gathered and written with one call (the
// "steward" VFS): once CommitWithoutSync returns they must be in the files,
// not in a buffer -- a copy of the files taken then (as a crash would leave
// them, minus the unsynced page cache) holds every committed row. Covers a
// transaction that spills pages to the WAL before its commit and reads
// them back, a rolled-back one whose frames are overwritten, and commits
// after the WAL restarted from its beginning.
TEST_F(SqliteDatabaseTest, CommittedWalFramesAreInTheFileWhenCommitReturns) {
  ASSERT_TRUE(db_->Migrate({{"t", 1, "CREATE TABLE f (k BIGINT PRIMARY KEY, v BLOB)"}}).ok());
  ASSERT_TRUE(db_->PrepareForAppends().ok());
  ASSERT_TRUE(db_->Exec("PRAGMA cache_size=8").ok());  // 8 pages: big transactions spill
  int64_t next = 0;
  auto commit_rows = [&](int rows, bool commit) -> int64_t {
    auto tx = db_->Begin();
    EXPECT_TRUE(tx.ok());
    for (int r = 0; r < rows; ++r) {
      const int64_t k = next + r;
      EXPECT_TRUE((*tx)->Exec("INSERT INTO f VALUES ($1, $2)",
                              {k, Blob{std::string(3000, static_cast<char>('a' + k % 26))}})
                      .ok());
    }
    // The transaction reads its own rows back (spilled ones from the WAL).
    auto sum = (*tx)->Query("SELECT COUNT(*), SUM(LENGTH(v)) FROM f WHERE k >= $1", {next});
    EXPECT_TRUE(sum.ok()) << sum.status().ToString();
    if (!sum.ok()) return -1;
    EXPECT_EQ((*sum)[0].Int(0), rows);
    EXPECT_EQ((*sum)[0].Int(1), int64_t{3000} * rows);
    if (!commit) return -1;  // rolled back when tx goes
    auto token = (*tx)->CommitWithoutSync();
    EXPECT_TRUE(token.ok()) << token.status().ToString();
    next += rows;
    return next;
  };
  auto copy_holds = [&](int64_t rows, const std::string& name) {
    const auto copy = dir_ / name;
    std::filesystem::create_directories(copy);
    std::filesystem::copy_file(dir_ / "t.db", copy / "t.db");
    std::filesystem::copy_file(dir_ / "t.db-wal", copy / "t.db-wal");
    auto reopened = OpenDatabase((copy / "t.db").string());
    ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
    auto count = (*reopened)->Query("SELECT COUNT(*), COALESCE(SUM(LENGTH(v)), 0) FROM f");
    ASSERT_TRUE(count.ok()) << count.status().ToString();
    EXPECT_EQ((*count)[0].Int(0), rows) << name;
    EXPECT_EQ((*count)[0].Int(1), rows * 3000) << name;
    auto check = (*reopened)->Query("PRAGMA integrity_check");
    ASSERT_TRUE(check.ok());
    EXPECT_EQ((*check)[0].Text(0), "ok") << name;
  };
  commit_rows(1, true);
  copy_holds(1, "one");
  commit_rows(3, true);
  copy_holds(4, "small");
  commit_rows(200, true);  // ~600 KB through an 8-page cache: spills first
  copy_holds(204, "spilled");
  commit_rows(150, false);  // spilled frames, then rolled back
  commit_rows(2, true);     // overwrites them in the WAL
  copy_holds(206, "after_rollback");
  {
    // Another connection copies everything back and restarts the WAL.
    auto other = OpenDatabase((dir_ / "t.db").string());
    ASSERT_TRUE(other.ok());
    auto done = (*other)->Query("PRAGMA wal_checkpoint(TRUNCATE)");
    ASSERT_TRUE(done.ok()) << done.status().ToString();
    EXPECT_EQ((*done)[0].Int(0), 0);  // not busy
  }
  commit_rows(5, true);  // frames from the start of the WAL again
  copy_holds(211, "restarted");
  auto fresh = OpenDatabase((dir_ / "t.db").string());
  ASSERT_TRUE(fresh.ok());
  auto seen = (*fresh)->Query("SELECT COUNT(*) FROM f");
  ASSERT_TRUE(seen.ok());
  EXPECT_EQ((*seen)[0].Int(0), 211);
}

TEST_F(SqliteDatabaseTest, DeferredCheckpointsRunInTheBackground) {
  ASSERT_TRUE(db_->Migrate({{"t", 1, "CREATE TABLE c (v BLOB)"}}).ok());
  ASSERT_TRUE(db_->PrepareForAppends().ok());
  ASSERT_TRUE(db_->PrepareForAppends().ok());  // idempotent
  const auto db_file = dir_ / "t.db";
  const auto before = std::filesystem::file_size(db_file);
  // ~1500 frames: past the wake-up mark, so the checkpointer copies them
  // into the database file (the writer's own commits never do now).
  for (int i = 0; i < 1500; ++i) {
    auto tx = db_->Begin();
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE((*tx)->Exec("INSERT INTO c VALUES ($1)", {Blob{std::string(3000, 'a' + i % 26)}}).ok());
    auto token = (*tx)->CommitWithoutSync();
    ASSERT_TRUE(token.ok());
  }
  bool grew = false;
  for (int i = 0; i < 500 && !grew; ++i) {
    grew = std::filesystem::file_size(db_file) > before + 1'000'000;
    if (!grew) usleep(10'000);
  }
  EXPECT_TRUE(grew) << "database file stayed at " << std::filesystem::file_size(db_file);
  auto rows = db_->Query("SELECT COUNT(*) FROM c");
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ((*rows)[0].Int(0), 1500);
}

}  // namespace
}  // namespace steward::store

namespace steward::store {
namespace {

// A store without its own QueryEach (the interface's default: Query, then
// one call per row) hands out the same rows.
class QueryOnlyDatabase final : public Database {
 public:
  explicit QueryOnlyDatabase(Database* inner) : inner_(inner) {}
  std::string_view backend() const override { return "test"; }
  Status Migrate(const std::vector<Migration>& m) override { return inner_->Migrate(m); }
  Status Exec(std::string_view sql, const std::vector<Value>& p) override {
    return inner_->Exec(sql, p);
  }
  Result<std::vector<Row>> Query(std::string_view sql, const std::vector<Value>& p) override {
    return inner_->Query(sql, p);
  }
  Result<std::unique_ptr<Transaction>> Begin() override { return inner_->Begin(); }

 private:
  Database* inner_;
};

TEST_F(SqliteDatabaseTest, DefaultQueryEachMatchesTheSqliteOne) {
  ASSERT_TRUE(db_->Migrate({{"t", 1, "CREATE TABLE q (k INTEGER PRIMARY KEY, b BLOB, t TEXT)"}}).ok());
  for (int64_t k = 0; k < 4; ++k) {
    ASSERT_TRUE(db_->Exec("INSERT INTO q VALUES ($1, $2, $3)",
                          {k, Blob{std::string(3, static_cast<char>('a' + k))},
                           k == 1 ? Value() : Value(std::to_string(k * 11))})
                    .ok());
  }
  auto collect = [](Database& db) {
    std::vector<std::string> out;
    Status s = db.QueryEach("SELECT k, b, t FROM q ORDER BY k", {}, [&](const RowView& r) {
      out.push_back(std::to_string(r.Int(0)) + "|" + std::string(r.Bytes(1)) + "|" +
                    (r.IsNull(2) ? "null" : std::to_string(r.Int(2))));
      return Status::Ok();
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  };
  QueryOnlyDatabase plain(db_.get());
  auto a = collect(*db_);
  EXPECT_EQ(a, collect(plain));
  ASSERT_EQ(a.size(), 4u);
  EXPECT_EQ(a[1], "1|bbb|null");
  EXPECT_EQ(a[3], "3|ddd|33");
  // Default CommitWithoutSync / WaitDurable / PrepareForAppends: durable at once.
  EXPECT_TRUE(plain.PrepareForAppends().ok());
  EXPECT_TRUE(plain.WaitDurable(0).ok());
}

// The background checkpointer must not hold the appender up for long while a
// reader of another connection keeps an old snapshot of the WAL (its RESTART
// checkpoint holds the write lock while it waits for readers).
TEST_F(SqliteDatabaseTest, LongReaderDoesNotStallAppendsBehindACheckpoint) {
  ASSERT_TRUE(db_->Migrate({{"t", 1, "CREATE TABLE r (v BLOB)"}}).ok());
  ASSERT_TRUE(db_->Exec("INSERT INTO r VALUES (x'00')").ok());
  ASSERT_TRUE(db_->PrepareForAppends().ok());
  sqlite3* reader = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ / "t.db").c_str(), &reader), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(reader, "BEGIN; SELECT COUNT(*) FROM r;", nullptr, nullptr, nullptr),
            SQLITE_OK);  // a read snapshot held open from here on
  double worst_ms = 0;
  for (int i = 0; i < 5000; ++i) {  // ~20 MB of WAL: past the RESTART mark
    auto start = std::chrono::steady_clock::now();
    auto tx = db_->Begin();
    ASSERT_TRUE(tx.ok()) << tx.status().ToString();
    ASSERT_TRUE((*tx)->Exec("INSERT INTO r VALUES ($1)", {Blob{std::string(4000, 'r')}}).ok());
    ASSERT_TRUE((*tx)->CommitWithoutSync().ok());
    worst_ms = std::max(worst_ms, std::chrono::duration<double, std::milli>(
                                      std::chrono::steady_clock::now() - start)
                                      .count());
  }
  sqlite3_exec(reader, "COMMIT", nullptr, nullptr, nullptr);
  sqlite3_close(reader);
  EXPECT_LT(worst_ms, 2000.0);  // the connection's busy timeout is 10 s
}

}  // namespace
}  // namespace steward::store
