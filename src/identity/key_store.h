// API keys. A secret is shown once at creation and stored only as a keyed
// hash (BLAKE2b-256 keyed with a per-installation pepper kept in
// data_dir/keys.pepper, mode 0600), so a copy of the database alone does not
// let anyone test guesses offline. Lookups hash the presented secret and
// compare hashes in constant time.
//
// The gateway keeps a snapshot of the keys in memory and refreshes it when
// the store's key generation changes (the CLI creates and revokes keys in
// another process while `serve` runs).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "steward/clock.h"
#include "steward/stage.h"
#include "steward/status.h"
#include "steward/store.h"

namespace steward::identity {

struct KeyRecord {
  std::string id;  // "key_" + 16 hex
  std::string name;
  std::string role;
  std::string team;
  int64_t rpm = 0;
  int64_t tpm = 0;
  int64_t created_ms = 0;
  int64_t revoked_ms = 0;  // 0: active
  std::string prefix;      // first characters of the secret, for recognition in lists
};

struct CreatedKey {
  KeyRecord record;
  std::string secret;  // shown once
};

struct KeySpec {
  std::string name;
  std::string role = "user";
  std::string team;
  int64_t rpm = 0;
  int64_t tpm = 0;
};

class KeyStore {
 public:
  // Attaches to `db` (applies the "keys" migrations) with the pepper from
  // `data_dir` (created on first use).
  static Result<std::unique_ptr<KeyStore>> Open(Database& db, const std::string& data_dir, const Clock& clock);

  Result<CreatedKey> Create(const KeySpec& spec);
  Result<std::vector<KeyRecord>> List();
  // Revokes by id; NotFound if no such key.
  Status Revoke(const std::string& id);

  // Returns the active key for a presented secret, NotFound otherwise.
  // Serves from the in-memory snapshot; refreshes it at most every
  // `refresh_ms` when the stored generation changed.
  Result<KeyRecord> Authenticate(std::string_view secret);

  // Forces a reload of the snapshot (tests, SIGHUP).
  Status Reload();

  static constexpr int64_t kRefreshMs = 1000;
  static constexpr int64_t kMissCheckMs = 1;

 private:
  KeyStore(Database& db, std::string pepper, const Clock& clock) : db_(db), pepper_(std::move(pepper)), clock_(clock) {}
  std::string Hash(std::string_view secret) const;
  Status BumpGeneration(Transaction& tx);
  Result<int64_t> Generation();
  void MaybeRefresh();
  std::optional<KeyRecord> Lookup(const std::string& hash);

  Database& db_;
  std::string pepper_;
  const Clock& clock_;
  std::shared_mutex mu_;
  std::unordered_map<std::string, KeyRecord> by_hash_;  // hex hash -> record
  int64_t generation_ = -1;
  std::atomic<int64_t> next_check_ns_{0};
  std::atomic<int64_t> last_miss_check_ns_{0};
  std::mutex refresh_mu_;
};

// Validates a role name: lower-case letters, digits, '_' or '-', 1..32 chars.
bool IsValidRole(std::string_view role);

}  // namespace steward::identity
