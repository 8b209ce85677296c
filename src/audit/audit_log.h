// AuditLog: the gateway's appender. Requests hand it leaves; one writer
// thread commits whatever has queued up in one transaction (group commit:
// concurrent requests share one fsync) and then completes every waiting
// AppendHandle with its leaf index. Indices are assigned inside the
// transaction, after the stored tree size, so CLI commands appending to the
// same store at the same time (admin events) never collide with it.
//
// Fail closed: when a commit fails the log turns unhealthy, waiting appends
// fail with UNAVAILABLE, new appends fail at once, and the writer probes the
// store every second until a write succeeds again. Healthy()/StatusLine()
// feed /readyz, MetricsText() feeds /metrics.
//
// The writer also publishes a signed tree head every sth_interval when the
// log grew (and on Stop), and applies payload retention every
// retention_interval.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "audit/keys.h"
#include "audit/log_store.h"
#include "audit/options.h"
#include "audit/payload_crypto.h"
#include "steward/clock.h"
#include "steward/stage.h"
#include "steward/store.h"

namespace steward::audit {

// Where callers blocked in AppendHandle::Get() sleep: a futex word that is
// bumped on every release. AuditLog points every handle queued for the same
// batch at one gate, so one FUTEX_WAKE system call releases a whole batch's
// blocked callers (one wake-up call per caller cost the writer more CPU than
// the batch's commit).
struct WaitGate {
  std::atomic<uint32_t> seq{0};
  std::atomic<int32_t> sleepers{0};
  // Wakes every caller sleeping on the gate (no system call when none is).
  void WakeAll();
};

// Completes once the leaf is durable (or failed). Wait() callbacks run on
// the writer thread (or inline when already complete).
class AppendHandle final : public Barrier {
 public:
  void Wait(std::function<void(Status)> done) override;
  // Blocks until complete; the leaf index or the failure.
  Result<int64_t> Get();
  // The leaf index; meaningful once complete with OK.
  int64_t index() const { return index_.load(std::memory_order_acquire); }

  // Completes the handle and wakes the callers blocked in Get().
  void Complete(Status status, int64_t index);

 private:
  friend class AuditLog;
  // Completes without waking the gate: the releaser of a batch wakes each
  // gate once after completing all of its handles.
  void CompleteQuiet(Status status, int64_t index);

  std::mutex mu_;  // guards waiters_, and status_ until done_
  std::atomic<bool> done_{false};
  Status status_;
  std::atomic<int64_t> index_{-1};
  std::vector<std::function<void(Status)>> waiters_;
  WaitGate own_gate_;
  WaitGate* gate_ = &own_gate_;  // AuditLog::Append: its batch's gate
};

struct AuditStats {
  bool healthy = true;
  std::string last_error;
  int64_t tree_size = 0;
  int64_t appended = 0;        // leaves made durable by this process
  int64_t batches = 0;         // commits
  int64_t flushes = 0;         // flushes released (one may cover several commits)
  int64_t failed_appends = 0;  // appends refused or lost to a failed commit
  int64_t queue_depth = 0;
  int64_t last_sth_size = 0;
  int64_t last_sth_ms = 0;
  int64_t commit_ns_total = 0;
  int64_t writer_cpu_ns = 0;  // the writer's (as of its last commit) and syncers' CPU time
  int64_t shredded_payloads = 0;
};

// Signs and stores a tree head for the current stored size (on `db`).
Result<TreeHead> PublishTreeHead(Database& db, const SigningKey& key, int64_t now_ms);

class AuditLog : public std::enable_shared_from_this<AuditLog> {
 public:
  // Opens the store named in `options` on a connection of its own (or uses
  // `db` when given: tests inject faulty stores), applies migrations, loads
  // or creates the keys and starts the writer.
  static Result<std::shared_ptr<AuditLog>> Open(const AuditOptions& options, Clock* clock,
                                                std::unique_ptr<Database> db = nullptr);
  ~AuditLog();

  // Queues one leaf. Never blocks on I/O. Fails the handle at once when the
  // log is unhealthy or stopped.
  std::shared_ptr<AppendHandle> Append(LeafToAppend leaf);

  bool Healthy() const { return healthy_.load(std::memory_order_acquire); }
  // "ok" or "audit store unavailable: <reason>".
  std::string StatusLine() const;
  AuditStats Stats() const;
  // Prometheus text: steward_audit_* gauges and counters.
  std::string MetricsText() const;

  // Publishes a signed tree head now (blocking).
  Result<TreeHead> PublishNow();

  const AuditOptions& options() const { return options_; }
  std::string Pseudonym(std::string_view subject) const {
    return (*pseudonymizer_)(subject);
  }
  Clock& clock() const { return *clock_; }
  Database& db() { return *db_; }

  // Drains the queue, publishes a final tree head and joins the writer.
  void Stop();

 private:
  struct Pending {
    LeafToAppend leaf;
    std::shared_ptr<AppendHandle> handle;
  };

  // A committed batch waiting for its commit to become durable.
  struct Unsynced {
    uint64_t token = 0;
    int64_t first = 0;
    std::vector<std::shared_ptr<AppendHandle>> handles;
  };

  AuditLog(AuditOptions options, Clock* clock, std::unique_ptr<Database> db);
  void Run();
  void RunSyncer();
  // Completes the handles of `batches` after their flush returned `status`.
  void Release(std::deque<Unsynced>& batches, const Status& status);
  // Completes `handles` (the i-th with index first + i when `status` is OK)
  // and then wakes each of their gates once.
  static void CompleteAll(const std::vector<std::shared_ptr<AppendHandle>>& handles,
                          int64_t first, const Status& status);
  void CommitBatch(std::vector<Pending>& batch);
  void FailQueued(const Status& fail);
  void MaybePeriodic(bool force_sth);
  void SetUnhealthy(const std::string& why);
  std::string KekFileStamp() const;
  void ReloadKeksIfChanged();

  AuditOptions options_;
  Clock* clock_;
  std::unique_ptr<Database> db_;
  SigningKey signing_key_;
  std::string pseudonym_key_;
  std::unique_ptr<SubjectPseudonymizer> pseudonymizer_;
  std::unique_ptr<PayloadSealer> sealer_;  // writer thread only
  DataKeyCache data_keys_;                 // writer thread only
  std::string kek_stamp_;

  std::mutex stop_mu_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  // Appended under mu_; a std::deque allocated a node per entry (an entry is
  // larger than its 512-byte node), a vector reuses the buffer the writer
  // hands back with each batch.
  std::vector<Pending> queue_;
  // Handles queued while batch_epoch_ is e sleep on gate e % kGates of a
  // process-wide array (BatchGate): the writer takes everything queued at
  // once, so a batch shares one gate. kGates exceeds the batches ever in
  // flight, and sharing a gate (also between two logs) is harmless: a woken
  // caller whose handle is not done sleeps again. Process-wide and never
  // freed, so a caller still leaving Get() never touches a destroyed log.
  static constexpr size_t kGates = 64;
  static WaitGate& BatchGate(uint64_t epoch);
  uint64_t batch_epoch_ = 0;
  bool writer_waiting_ = false;  // the writer sleeps on cv_ until the queue
  size_t wake_writer_at_ = 1;    // holds this many (or stopping_)
  int flushes_in_flight_ = 0;    // batches handed to the syncers, not yet released
  bool stopping_ = false;
  std::string last_error_;
  std::atomic<bool> healthy_{true};
  std::thread writer_;

  // Pipelined commits: the writer commits a batch without waiting for the
  // flush (Transaction::CommitWithoutSync) and goes on with the next one;
  // audit.sync_threads syncers each take every batch committed so far, wait
  // for its durability (one fdatasync covers them all; with several syncers
  // several can be in flight) and only then release the batch's callers.
  std::mutex sync_mu_;
  std::condition_variable sync_cv_;
  std::deque<Unsynced> unsynced_;
  bool syncers_stop_ = false;
  std::vector<std::thread> syncers_;
  std::atomic<int64_t> sync_cpu_ns_{0};
  std::atomic<int64_t> syncs_{0};  // flushes waited for (pipelined mode)

  Frontier frontier_;  // writer thread only
  size_t last_batch_size_ = 1;
  int64_t last_sth_size_ = -1;
  int64_t last_sth_ms_ = 0;
  int64_t last_retention_ms_ = 0;
  int64_t last_probe_ms_ = 0;
  int64_t subject_indexed_ = 0;  // leaves below this are in audit_subject_index
  KnownSubjects unindexed_;      // this writer's leaves from there (to = -1: gap)
  static constexpr int64_t kSubjectIndexEvery = int64_t{1} << 14;

  std::atomic<int64_t> tree_size_{0}, appended_{0}, batches_{0}, failed_{0}, commit_ns_{0},
      shredded_{0}, sth_size_{0}, sth_ms_{0}, writer_cpu_ns_{0};
};

}  // namespace steward::audit

namespace steward::audit {
// The process's AuditLog for this stage environment: the one already in
// env.services, else a new one opened from env.root_config["audit"] (store:
// root["store"] or sqlite:<data_dir>/steward.db) and published there, so
// the admin endpoints find it with env.services->Get<audit::AuditLog>().
Result<std::shared_ptr<AuditLog>> GetOrOpenAuditLog(StageEnv& env);
}  // namespace steward::audit
