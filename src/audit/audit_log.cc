#include "audit/audit_log.h"

#include <linux/futex.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <cstdlib>
#include <ctime>
#include <iterator>
#include <sstream>

#include "audit/retention.h"
#include "config/config.h"

namespace steward::audit {

void WaitGate::WakeAll() {
  seq.fetch_add(1, std::memory_order_seq_cst);
  if (sleepers.load(std::memory_order_seq_cst) > 0) {
    ::syscall(SYS_futex, &seq, FUTEX_WAKE_PRIVATE, INT_MAX, nullptr, nullptr, 0);
  }
}

void AppendHandle::Wait(std::function<void(Status)> done) {
  std::unique_lock lock(mu_);
  if (done_.load(std::memory_order_relaxed)) {
    Status s = status_;
    lock.unlock();
    done(std::move(s));
    return;
  }
  waiters_.push_back(std::move(done));
}

Result<int64_t> AppendHandle::Get() {
  if (!done_.load(std::memory_order_acquire)) {
    // Eventcount: announce the sleeper, then re-check the handle after
    // reading the gate's count; a release after that read changes the
    // count, so the futex wait returns at once instead of missing it.
    WaitGate& gate = *gate_;
    gate.sleepers.fetch_add(1, std::memory_order_seq_cst);
    while (!done_.load(std::memory_order_seq_cst)) {
      const uint32_t seen = gate.seq.load(std::memory_order_seq_cst);
      if (done_.load(std::memory_order_seq_cst)) break;
      ::syscall(SYS_futex, &gate.seq, FUTEX_WAIT_PRIVATE, seen, nullptr, nullptr, 0);
    }
    gate.sleepers.fetch_sub(1, std::memory_order_relaxed);
  }
  if (!status_.ok()) return status_;
  return index_.load(std::memory_order_acquire);
}

void AppendHandle::CompleteQuiet(Status status, int64_t index) {
  std::vector<std::function<void(Status)>> waiters;
  {
    std::lock_guard lock(mu_);
    if (done_.load(std::memory_order_relaxed)) return;
    index_.store(index, std::memory_order_release);
    status_ = std::move(status);
    done_.store(true, std::memory_order_seq_cst);
    waiters.swap(waiters_);
  }
  for (auto& w : waiters) w(status_);
}

void AppendHandle::Complete(Status status, int64_t index) {
  CompleteQuiet(std::move(status), index);
  gate_->WakeAll();
}

Result<TreeHead> PublishTreeHead(Database& db, const SigningKey& key, int64_t now_ms) {
  STEWARD_ASSIGN_OR_RETURN(auto tx, db.Begin());
  Sql sql(tx.get());
  STEWARD_ASSIGN_OR_RETURN(int64_t size, StoredTreeSize(sql));
  StoreSubtreeSource source(sql);
  STEWARD_ASSIGN_OR_RETURN(Frontier f, Frontier::Load(source, size));
  TreeHead head;
  head.tree_size = size;
  head.timestamp_ms = now_ms;
  head.root_hash = f.Root();
  head.public_key = key.public_key;
  head.signature = SignDetached(key, TreeHeadMessage(size, now_ms, ToHex(head.root_hash)));
  STEWARD_RETURN_IF_ERROR(InsertTreeHead(sql, head));
  STEWARD_RETURN_IF_ERROR(tx->Commit());
  return head;
}

namespace {
int64_t ThreadCpuNs() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}
}  // namespace

AuditLog::AuditLog(AuditOptions options, Clock* clock, std::unique_ptr<Database> db)
    : options_(std::move(options)), clock_(clock), db_(std::move(db)) {}

Result<std::shared_ptr<AuditLog>> AuditLog::Open(const AuditOptions& options, Clock* clock,
                                                 std::unique_ptr<Database> db) {
  if (clock == nullptr) clock = &SystemClock::Instance();
  if (!db) {
    config::Config c;
    c.data_dir = options.data_dir;
    STEWARD_RETURN_IF_ERROR(config::EnsureDataDir(c));
    auto opened = OpenDatabase(options.store_url);
    if (!opened.ok()) return opened.status().WithContext("audit store");
    db = std::move(*opened);
  }
  STEWARD_RETURN_IF_ERROR(db->Migrate(AuditMigrations()));
  // This connection only appends: commits are flushed by the syncers, and
  // checkpoints happen off the commit path.
  if (options.sync_threads > 0) STEWARD_RETURN_IF_ERROR(db->PrepareForAppends());
  std::shared_ptr<AuditLog> log(new AuditLog(options, clock, std::move(db)));
  STEWARD_ASSIGN_OR_RETURN(log->signing_key_, LoadSigningKey(options.data_dir));
  STEWARD_ASSIGN_OR_RETURN(log->pseudonym_key_, LoadPseudonymKey(options.data_dir));
  log->pseudonymizer_ = std::make_unique<SubjectPseudonymizer>(log->pseudonym_key_);
  STEWARD_ASSIGN_OR_RETURN(auto keks, LoadKeks(options.data_dir));
  log->sealer_ = std::make_unique<PayloadSealer>(std::move(keks));
  log->kek_stamp_ = log->KekFileStamp();
  // The KEK only wraps and unwraps data keys, so a rotated key file is
  // looked for when a data key is read or created (a cache miss), inside
  // the write transaction: a concurrent `keys rotate-kek` is either fully
  // before it (its new key file is seen) or re-wraps after it. Checking
  // the two key files in every commit cost the writer 2% of its CPU.
  log->data_keys_.SetMissHook([raw = log.get()] { raw->ReloadKeksIfChanged(); });
  STEWARD_ASSIGN_OR_RETURN(int64_t size, StoredTreeSize(Sql(log->db_.get())));
  log->tree_size_ = size;
  auto heads = LoadTreeHeads(Sql(log->db_.get()));
  if (heads.ok() && !heads->empty()) {
    log->last_sth_size_ = heads->back().tree_size;
    log->sth_size_ = heads->back().tree_size;
    log->sth_ms_ = heads->back().timestamp_ms;
  }
  STEWARD_ASSIGN_OR_RETURN(log->subject_indexed_, SubjectIndexedSize(Sql(log->db_.get())));
  log->unindexed_.from = log->subject_indexed_;
  log->unindexed_.to = log->subject_indexed_ == size ? size : -1;
  log->last_sth_ms_ = clock->NowUnixMs();
  log->last_retention_ms_ = 0;  // first retention pass soon after start
  for (int64_t i = 0; i < options.sync_threads; ++i) {
    log->syncers_.emplace_back([raw = log.get()] { raw->RunSyncer(); });
  }
  log->writer_ = std::thread([raw = log.get()] { raw->Run(); });
  return log;
}

AuditLog::~AuditLog() { Stop(); }

void AuditLog::Stop() {
  std::lock_guard stop_lock(stop_mu_);
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  // The writer has committed everything; the syncers finish flushing it.
  {
    std::lock_guard lock(sync_mu_);
    syncers_stop_ = true;
  }
  sync_cv_.notify_all();
  for (auto& t : syncers_) {
    if (t.joinable()) t.join();
  }
}

void AuditLog::RunSyncer() {
  ::pthread_setname_np(::pthread_self(), "audit-sync");  // for top -H and perf
  std::unique_lock lock(sync_mu_);
  while (true) {
    sync_cv_.wait(lock, [&] { return syncers_stop_ || !unsynced_.empty(); });
    if (unsynced_.empty()) return;  // stopping and nothing left
    std::deque<Unsynced> batches;
    batches.swap(unsynced_);
    lock.unlock();
    const int64_t cpu0 = ThreadCpuNs();
    // One flush covers every commit made before it starts.
    Status status = db_->WaitDurable(batches.back().token);
    sync_cpu_ns_.fetch_add(ThreadCpuNs() - cpu0, std::memory_order_relaxed);
    Release(batches, status);
    {
      std::lock_guard writer_lock(mu_);
      flushes_in_flight_ -= static_cast<int>(batches.size());
      if (writer_waiting_) cv_.notify_one();  // the next commit may be waiting for this
    }
    lock.lock();
  }
}

WaitGate& AuditLog::BatchGate(uint64_t epoch) {
  struct alignas(64) PaddedGate {  // one cache line each
    WaitGate gate;
  };
  static PaddedGate gates[kGates];
  return gates[epoch % kGates].gate;
}

void AuditLog::CompleteAll(const std::vector<std::shared_ptr<AppendHandle>>& handles,
                           int64_t first, const Status& status) {
  for (size_t i = 0; i < handles.size(); ++i) {
    handles[i]->CompleteQuiet(status, status.ok() ? first + static_cast<int64_t>(i) : -1);
  }
  // Mostly one gate per batch; waking one twice only costs a counter bump.
  WaitGate* woken = nullptr;
  for (const auto& h : handles) {
    if (h->gate_ == woken) continue;
    woken = h->gate_;
    woken->WakeAll();
  }
}

void AuditLog::Release(std::deque<Unsynced>& batches, const Status& status) {
  syncs_.fetch_add(1, std::memory_order_relaxed);
  int64_t count = 0;
  for (const Unsynced& b : batches) count += static_cast<int64_t>(b.handles.size());
  if (status.ok()) {
    appended_.fetch_add(count);
    for (Unsynced& b : batches) CompleteAll(b.handles, b.first, Status::Ok());
    return;
  }
  SetUnhealthy(status.message());
  failed_.fetch_add(count);
  Status fail = Unavailable("audit record not durable: " + status.message());
  for (Unsynced& b : batches) CompleteAll(b.handles, -1, fail);
  FailQueued(fail);
}

void AuditLog::FailQueued(const Status& fail) {
  std::vector<Pending> rest;
  {
    std::lock_guard lock(mu_);
    rest.swap(queue_);
  }
  failed_.fetch_add(static_cast<int64_t>(rest.size()));
  for (auto& p : rest) p.handle->Complete(fail, -1);
}

std::shared_ptr<AppendHandle> AuditLog::Append(LeafToAppend leaf) {
  auto handle = std::make_shared<AppendHandle>();
  leaf.leaf_hash = LeafHash(leaf.leaf);  // here, not on the one writer thread
  {
    std::lock_guard lock(mu_);
    if (!stopping_ && Healthy()) {
      handle->gate_ = &BatchGate(batch_epoch_);
      queue_.push_back(Pending{std::move(leaf), handle});
      // Wake the writer only when it waits for exactly this: a futex wake
      // (and the writer's context switch) per append cost more CPU than
      // the append itself while the writer gathers a batch.
      if (writer_waiting_ && queue_.size() >= wake_writer_at_) cv_.notify_one();
      return handle;
    }
  }
  failed_.fetch_add(1);
  handle->Complete(Unavailable(StatusLine()), -1);
  return handle;
}

std::string AuditLog::StatusLine() const {
  std::lock_guard lock(mu_);
  if (stopping_) return "audit log is shutting down";
  if (Healthy()) return "ok";
  return "audit store unavailable: " + last_error_;
}

void AuditLog::SetUnhealthy(const std::string& why) {
  {
    std::lock_guard lock(mu_);
    last_error_ = why;
  }
  healthy_.store(false, std::memory_order_release);
}

void AuditLog::Run() {
  ::pthread_setname_np(::pthread_self(), "audit-writer");
  std::vector<Pending> batch;
  while (true) {
    bool stopping = false;
    {
      std::unique_lock lock(mu_);
      if (queue_.empty() && !stopping_) {
        wake_writer_at_ = 1;
        writer_waiting_ = true;
        cv_.wait_for(lock, std::chrono::milliseconds(500),
                     [&] { return stopping_ || !queue_.empty(); });
      }
      // While a flush is in flight the next batch is committed once it is
      // done, or earlier when as many leaves as last time are queued: the
      // flush of the previous batch then overlaps this commit, without
      // splitting the leaves that arrive during one flush into several
      // commits (each commit and flush costs far more CPU than a leaf).
      if (!queue_.empty() && flushes_in_flight_ > 0 && queue_.size() < last_batch_size_ &&
          !stopping_) {
        wake_writer_at_ = last_batch_size_;
        writer_waiting_ = true;
        cv_.wait(lock, [&] {
          return stopping_ || flushes_in_flight_ == 0 || queue_.size() >= last_batch_size_;
        });
      }
      if (!queue_.empty() && queue_.size() < last_batch_size_ && !stopping_ &&
          options_.commit_delay_us > 0) {
        // Group-commit gather: callers released by the previous flush are
        // still building their next record; waiting a fraction of an fsync
        // (bounded by commit_delay_us) for as many as last time lets them
        // share this commit instead of queueing behind a commit of one
        // (also after waiting for a syncer's flush: its callers were
        // released just now).
        wake_writer_at_ = last_batch_size_;
        writer_waiting_ = true;
        cv_.wait_for(lock, std::chrono::microseconds(options_.commit_delay_us),
                     [&] { return stopping_ || queue_.size() >= last_batch_size_; });
      }
      writer_waiting_ = false;
      stopping = stopping_;
      size_t n = std::min(queue_.size(), options_.max_batch);
      if (n > 0) ++batch_epoch_;
      batch.clear();
      if (n == queue_.size()) {
        // All of it (the usual case): the queue takes over the batch's
        // buffer, so appends reuse it instead of allocating.
        batch.swap(queue_);
      } else {
        batch.reserve(n);
        std::move(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n),
                  std::back_inserter(batch));
        queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
      }
    }
    if (!batch.empty()) {
      last_batch_size_ = batch.size();
      CommitBatch(batch);
      writer_cpu_ns_.store(ThreadCpuNs(), std::memory_order_relaxed);
      // Periodic work also runs under constant load (it only checks clocks
      // unless a head or a retention pass is due).
      if (!stopping) MaybePeriodic(false);
      continue;
    }
    MaybePeriodic(stopping);
    if (stopping) {
      std::lock_guard lock(mu_);
      if (queue_.empty()) break;
    }
  }
}

void AuditLog::CommitBatch(std::vector<Pending>& batch) {
  auto start = std::chrono::steady_clock::now();
  std::vector<LeafToAppend> leaves;
  leaves.reserve(batch.size());
  for (auto& p : batch) leaves.push_back(std::move(p.leaf));
  Status status;
  int64_t first = -1;
  uint64_t token = 0;
  const bool keep_payloads = options_.payloads == PayloadMode::kFull;
  auto tx = db_->Begin();
  if (!tx.ok()) {
    status = tx.status();
  } else {
    // Moves the leaves' bytes into their rows (no copy per leaf on the one
    // writer thread); their subjects stay for the index below.
    auto r = AppendLeavesInTx(**tx, &frontier_, std::move(leaves),
                              keep_payloads ? sealer_.get() : nullptr, &data_keys_);
    if (!r.ok()) {
      status = r.status();
    } else {
      first = *r;
      auto committed = (*tx)->CommitWithoutSync();
      if (committed.ok()) {
        token = *committed;
      } else {
        status = committed.status();
      }
    }
    tx->reset();  // rolls back if not committed
  }
  commit_ns_.fetch_add(std::chrono::duration_cast<std::chrono::nanoseconds>(
                           std::chrono::steady_clock::now() - start)
                           .count());
  batches_.fetch_add(1);
  if (!status.ok()) {
    // The frontier may hold leaves that were rolled back; its size no longer
    // matches the store, so the next batch reloads it.
    frontier_ = Frontier();
    data_keys_.Clear();  // keys created in the rolled-back transaction were never stored
    SetUnhealthy(status.message());
    failed_.fetch_add(static_cast<int64_t>(batch.size()));
    Status fail = Unavailable("audit record not durable: " + status.message());
    for (auto& p : batch) p.handle->Complete(fail, -1);
    // Fail whatever queued meanwhile too: nothing may wait on a broken store.
    FailQueued(fail);
    last_probe_ms_ = clock_->NowUnixMs();
    return;
  }
  tree_size_.store(frontier_.size());
  if (unindexed_.to == first) {
    for (size_t i = 0; i < leaves.size(); ++i) {
      if (!leaves[i].subject.empty()) {
        unindexed_.entries.emplace_back(std::move(leaves[i].subject),
                                        first + static_cast<int64_t>(i));
      }
    }
    unindexed_.to = first + static_cast<int64_t>(leaves.size());
  } else {
    unindexed_.to = -1;  // someone else appended in between: read them back
    unindexed_.entries.clear();
  }
  // Released by a syncer once the commit is durable. Without syncers the
  // store was not prepared for appends: the commit was durable already.
  std::deque<Unsynced> done(1);
  done[0].token = token;
  done[0].first = first;
  done[0].handles.reserve(batch.size());
  for (auto& p : batch) done[0].handles.push_back(std::move(p.handle));
  if (syncers_.empty()) {
    syncs_.fetch_add(1, std::memory_order_relaxed);
    appended_.fetch_add(static_cast<int64_t>(batch.size()));
    CompleteAll(done[0].handles, first, Status::Ok());
    return;
  }
  // Nothing queued behind this batch: there is nothing to overlap the flush
  // with, so the writer flushes it itself (handing it over would only add
  // a thread wake-up, which on this kind of VM costs more than the append).
  bool more_queued;
  {
    std::lock_guard lock(mu_);
    more_queued = !queue_.empty();
    if (more_queued) ++flushes_in_flight_;
  }
  if (!more_queued) {
    Release(done, db_->WaitDurable(token));
    return;
  }
  {
    std::lock_guard lock(sync_mu_);
    unsynced_.push_back(std::move(done[0]));
  }
  sync_cv_.notify_one();
}

std::string AuditLog::KekFileStamp() const {
  struct stat st {};
  std::string path = options_.data_dir + "/audit_kek.key";
  std::string stamp;
  if (::stat(path.c_str(), &st) == 0) {
    stamp += std::to_string(st.st_ino) + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
             std::to_string(st.st_mtim.tv_nsec);
  }
  path += ".new";
  if (::stat(path.c_str(), &st) == 0) stamp += "+new:" + std::to_string(st.st_ino);
  return stamp;
}

void AuditLog::ReloadKeksIfChanged() {
  if (const char* env = std::getenv(kKekEnv); env && *env) return;
  std::string stamp = KekFileStamp();
  if (stamp == kek_stamp_) return;
  auto keks = LoadKeks(options_.data_dir, true);
  if (!keks.ok()) return;  // keep the old keys; the append reports any failure
  // In place: AppendLeavesInTx holds a pointer to the sealer while the
  // miss hook runs.
  *sealer_ = PayloadSealer(std::move(*keks));
  kek_stamp_ = KekFileStamp();
}

void AuditLog::MaybePeriodic(bool force_sth) {
  const int64_t now = clock_->NowUnixMs();
  if (!Healthy()) {
    if (now - last_probe_ms_ < 1000 && !force_sth) return;
    last_probe_ms_ = now;
    // Probe with a real write so a read-only or full disk keeps us closed.
    auto tx = db_->Begin();
    Status s = tx.ok() ? (*tx)->Exec(
                             "INSERT INTO audit_meta(name, value) VALUES ('probe_ms', $1) "
                             "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                             {now})
                       : tx.status();
    if (s.ok()) s = (*tx)->Commit();
    if (s.ok()) {
      healthy_.store(true, std::memory_order_release);
    } else {
      SetUnhealthy(s.message());
      return;
    }
  }
  int64_t size = tree_size_.load();
  bool grew = size != last_sth_size_;
  bool head_published = false;
  if (grew && (force_sth || now - last_sth_ms_ >= options_.sth_interval_ms)) {
    auto head = PublishTreeHead(*db_, signing_key_, now);
    if (head.ok()) {
      last_sth_size_ = head->tree_size;
      sth_size_ = head->tree_size;
      sth_ms_ = head->timestamp_ms;
      tree_size_.store(head->tree_size);
    }
    last_sth_ms_ = now;
    head_published = true;
  }
  // The subject index in bulk (see IndexSubjectsInTx): every 2^14 leaves,
  // with each head and on shutdown, so a DSAR lookup scans a short tail.
  if (size - subject_indexed_ >= kSubjectIndexEvery ||
      ((force_sth || head_published) && size > subject_indexed_)) {
    auto tx = db_->Begin();
    if (tx.ok()) {
      auto n = IndexSubjectsInTx(**tx, &unindexed_);
      Status s = n.ok() ? (*tx)->Commit() : n.status();
      if (s.ok()) {
        auto indexed = SubjectIndexedSize(Sql(db_.get()));
        if (indexed.ok()) subject_indexed_ = *indexed;
      }
      unindexed_.entries.clear();
      unindexed_.from = subject_indexed_;
      unindexed_.to = s.ok() && subject_indexed_ == tree_size_.load() ? subject_indexed_ : -1;
    }
  }
  if (!force_sth && options_.payloads != PayloadMode::kNone &&
      now - last_retention_ms_ >= options_.retention_interval_ms) {
    last_retention_ms_ = now;
    auto n = ShredExpiredPayloads(*db_, options_.retention, now);
    if (n.ok()) shredded_.fetch_add(*n);
  }
}

Result<TreeHead> AuditLog::PublishNow() {
  auto head = PublishTreeHead(*db_, signing_key_, clock_->NowUnixMs());
  if (head.ok()) {
    sth_size_ = head->tree_size;
    sth_ms_ = head->timestamp_ms;
  }
  return head;
}

AuditStats AuditLog::Stats() const {
  AuditStats s;
  s.healthy = Healthy();
  {
    std::lock_guard lock(mu_);
    s.last_error = last_error_;
    s.queue_depth = static_cast<int64_t>(queue_.size());
  }
  s.tree_size = tree_size_.load();
  s.appended = appended_.load();
  s.batches = batches_.load();
  s.flushes = syncs_.load(std::memory_order_relaxed);
  s.failed_appends = failed_.load();
  s.last_sth_size = sth_size_.load();
  s.last_sth_ms = sth_ms_.load();
  s.commit_ns_total = commit_ns_.load();
  s.writer_cpu_ns = writer_cpu_ns_.load(std::memory_order_relaxed) +
                    sync_cpu_ns_.load(std::memory_order_relaxed);
  s.shredded_payloads = shredded_.load();
  return s;
}

std::string AuditLog::MetricsText() const {
  AuditStats s = Stats();
  std::ostringstream o;
  o << "# HELP steward_audit_healthy 1 when the audit store accepts writes (0: calls are refused)\n"
    << "# TYPE steward_audit_healthy gauge\nsteward_audit_healthy " << (s.healthy ? 1 : 0) << "\n"
    << "# TYPE steward_audit_tree_size gauge\nsteward_audit_tree_size " << s.tree_size << "\n"
    << "# TYPE steward_audit_appends_total counter\nsteward_audit_appends_total " << s.appended
    << "\n"
    << "# TYPE steward_audit_commits_total counter\nsteward_audit_commits_total " << s.batches
    << "\n"
    << "# TYPE steward_audit_append_failures_total counter\nsteward_audit_append_failures_total "
    << s.failed_appends << "\n"
    << "# TYPE steward_audit_queue_depth gauge\nsteward_audit_queue_depth " << s.queue_depth
    << "\n"
    << "# TYPE steward_audit_commit_seconds_total counter\nsteward_audit_commit_seconds_total "
    << static_cast<double>(s.commit_ns_total) / 1e9 << "\n"
    << "# HELP steward_audit_writer_cpu_seconds_total CPU time of the group-commit writer and "
       "syncer threads\n"
    << "# TYPE steward_audit_writer_cpu_seconds_total counter\nsteward_audit_writer_cpu_seconds_total "
    << static_cast<double>(s.writer_cpu_ns) / 1e9 << "\n"
    << "# TYPE steward_audit_sth_tree_size gauge\nsteward_audit_sth_tree_size " << s.last_sth_size
    << "\n"
    << "# TYPE steward_audit_sth_timestamp_ms gauge\nsteward_audit_sth_timestamp_ms "
    << s.last_sth_ms << "\n"
    << "# TYPE steward_audit_shredded_payloads_total counter\n"
       "steward_audit_shredded_payloads_total "
    << s.shredded_payloads << "\n";
  return o.str();
}

}  // namespace steward::audit

namespace steward::audit {

Result<std::shared_ptr<AuditLog>> GetOrOpenAuditLog(StageEnv& env) {
  static std::mutex mu;
  std::lock_guard lock(mu);
  if (env.services) {
    if (auto* log = env.services->Get<AuditLog>()) return log->shared_from_this();
  }
  YAML::Node empty;
  const YAML::Node& root = env.root_config ? *env.root_config : empty;
  std::string store_url;
  if (root.IsMap() && root["store"] && root["store"].IsScalar()) {
    store_url = root["store"].as<std::string>();
  }
  STEWARD_ASSIGN_OR_RETURN(AuditOptions options,
                           ParseAuditOptions("config", root, env.data_dir, store_url));
  STEWARD_ASSIGN_OR_RETURN(auto log, AuditLog::Open(options, env.clock));
  if (env.services) {
    env.services->Put<AuditLog>(log);
  }
  return log;
}

}  // namespace steward::audit
