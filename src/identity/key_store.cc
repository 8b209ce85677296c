#include "identity/key_store.h"

#include <sodium.h>

#include <filesystem>

#include "common/key_file.h"
#include "common/strings.h"

namespace steward::identity {
namespace {

const std::vector<Migration>& KeyMigrations() {
  static const std::vector<Migration> m = {
      {"keys", 1,
       "CREATE TABLE api_keys (id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, "
       "team TEXT NOT NULL, secret_hash TEXT NOT NULL UNIQUE, prefix TEXT NOT NULL, rpm BIGINT NOT NULL, "
       "tpm BIGINT NOT NULL, created_ms BIGINT NOT NULL, revoked_ms BIGINT NOT NULL);"
       "CREATE TABLE key_generation (id BIGINT PRIMARY KEY, generation BIGINT NOT NULL);"
       "INSERT INTO key_generation(id, generation) VALUES (1, 0)"},
  };
  return m;
}

KeyRecord FromRow(const Row& r) {
  KeyRecord k;
  k.id = r.Text(0);
  k.name = r.Text(1);
  k.role = r.Text(2);
  k.team = r.Text(3);
  k.prefix = r.Text(4);
  k.rpm = r.Int(5);
  k.tpm = r.Int(6);
  k.created_ms = r.Int(7);
  k.revoked_ms = r.Int(8);
  return k;
}

constexpr const char* kSelectColumns = "id, name, role, team, prefix, rpm, tpm, created_ms, revoked_ms";

}  // namespace

bool IsValidRole(std::string_view role) {
  if (role.empty() || role.size() > 32) return false;
  for (char c : role) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  }
  return true;
}

Result<std::unique_ptr<KeyStore>> KeyStore::Open(Database& db, const std::string& data_dir, const Clock& clock) {
  if (sodium_init() < 0) return Internal("libsodium failed to initialise");
  STEWARD_RETURN_IF_ERROR(db.Migrate(KeyMigrations()));
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  STEWARD_ASSIGN_OR_RETURN(std::string pepper,
                           LoadOrCreateKeyFile(data_dir + "/keys.pepper", crypto_generichash_KEYBYTES, true));
  auto store = std::unique_ptr<KeyStore>(new KeyStore(db, std::move(pepper), clock));
  STEWARD_RETURN_IF_ERROR(store->Reload());
  return store;
}

std::string KeyStore::Hash(std::string_view secret) const {
  unsigned char out[32];
  crypto_generichash(out, sizeof(out), reinterpret_cast<const unsigned char*>(secret.data()), secret.size(),
                     reinterpret_cast<const unsigned char*>(pepper_.data()), pepper_.size());
  return HexEncode(std::string_view(reinterpret_cast<char*>(out), sizeof(out)));
}

Status KeyStore::BumpGeneration(Transaction& tx) {
  return tx.Exec("UPDATE key_generation SET generation = generation + 1 WHERE id = 1");
}

Result<int64_t> KeyStore::Generation() {
  STEWARD_ASSIGN_OR_RETURN(auto rows, db_.Query("SELECT generation FROM key_generation WHERE id = 1"));
  if (rows.empty()) return DataLoss("key_generation row is missing");
  return rows[0].Int(0);
}

Result<CreatedKey> KeyStore::Create(const KeySpec& spec) {
  if (spec.name.empty() || spec.name.size() > 128) return InvalidArgument("key name must be 1..128 characters");
  if (!IsValidRole(spec.role)) return InvalidArgument("role `" + spec.role + "` is invalid: use lower-case letters, digits, '_' or '-'");
  if (spec.rpm < 0 || spec.tpm < 0) return InvalidArgument("rpm and tpm must be >= 0");
  CreatedKey out;
  out.record.id = "key_" + RandomHex(8);
  out.record.name = spec.name;
  out.record.role = spec.role;
  out.record.team = spec.team;
  out.record.rpm = spec.rpm;
  out.record.tpm = spec.tpm;
  out.record.created_ms = clock_.NowUnixMs();
  out.secret = "sk-stw-" + RandomHex(24);
  out.record.prefix = out.secret.substr(0, 11);
  STEWARD_ASSIGN_OR_RETURN(auto tx, db_.Begin());
  STEWARD_RETURN_IF_ERROR(tx->Exec(
      "INSERT INTO api_keys(id, name, role, team, secret_hash, prefix, rpm, tpm, created_ms, revoked_ms) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0)",
      {out.record.id, spec.name, spec.role, spec.team, Hash(out.secret), out.record.prefix, spec.rpm, spec.tpm,
       out.record.created_ms}));
  STEWARD_RETURN_IF_ERROR(BumpGeneration(*tx));
  STEWARD_RETURN_IF_ERROR(tx->Commit());
  (void)Reload();
  return out;
}

Result<std::vector<KeyRecord>> KeyStore::List() {
  STEWARD_ASSIGN_OR_RETURN(auto rows, db_.Query(std::string("SELECT ") + kSelectColumns + " FROM api_keys ORDER BY created_ms, id"));
  std::vector<KeyRecord> out;
  for (const auto& r : rows) out.push_back(FromRow(r));
  return out;
}

Status KeyStore::Revoke(const std::string& id) {
  STEWARD_ASSIGN_OR_RETURN(auto tx, db_.Begin());
  STEWARD_ASSIGN_OR_RETURN(auto rows, tx->Query("SELECT revoked_ms FROM api_keys WHERE id = $1", {id}));
  if (rows.empty()) return NotFound("no key with id `" + id + "`");
  if (rows[0].Int(0) != 0) return Status::Ok();  // already revoked: idempotent
  STEWARD_RETURN_IF_ERROR(tx->Exec("UPDATE api_keys SET revoked_ms = $1 WHERE id = $2", {clock_.NowUnixMs(), id}));
  STEWARD_RETURN_IF_ERROR(BumpGeneration(*tx));
  STEWARD_RETURN_IF_ERROR(tx->Commit());
  return Reload();
}

Status KeyStore::Reload() {
  STEWARD_ASSIGN_OR_RETURN(int64_t gen, Generation());
  STEWARD_ASSIGN_OR_RETURN(auto rows, db_.Query(std::string("SELECT ") + kSelectColumns +
                                                ", secret_hash FROM api_keys WHERE revoked_ms = 0"));
  std::unordered_map<std::string, KeyRecord> fresh;
  for (const auto& r : rows) fresh.emplace(r.Text(9), FromRow(r));
  std::unique_lock lock(mu_);
  by_hash_ = std::move(fresh);
  generation_ = gen;
  return Status::Ok();
}

void KeyStore::MaybeRefresh() {
  int64_t now = clock_.NowMonoNs();
  if (now < next_check_ns_.load(std::memory_order_relaxed)) return;
  std::unique_lock guard(refresh_mu_, std::try_to_lock);
  if (!guard.owns_lock()) return;  // another thread is refreshing
  next_check_ns_ = now + kRefreshMs * 1'000'000;
  auto gen = Generation();
  if (!gen.ok()) return;  // keep serving the last snapshot
  int64_t current;
  {
    std::shared_lock lock(mu_);
    current = generation_;
  }
  if (*gen != current) (void)Reload();
}

std::optional<KeyRecord> KeyStore::Lookup(const std::string& hash) {
  std::shared_lock lock(mu_);
  auto it = by_hash_.find(hash);
  // The map lookup narrows to one candidate; the final comparison is
  // constant-time so timing does not reveal how much of a hash matched.
  if (it == by_hash_.end() || sodium_memcmp(it->first.data(), hash.data(), hash.size()) != 0) return std::nullopt;
  return it->second;
}

Result<KeyRecord> KeyStore::Authenticate(std::string_view secret) {
  MaybeRefresh();
  std::string h = Hash(secret);
  if (auto k = Lookup(h)) return std::move(*k);
  // A key created a moment ago by the CLI should work at once: on a miss,
  // look at the stored generation (at most every kMissCheckMs, so a flood of
  // bad keys costs at most that many queries).
  int64_t now = clock_.NowMonoNs();
  int64_t last = last_miss_check_ns_.load(std::memory_order_relaxed);
  if (now - last >= kMissCheckMs * 1'000'000 && last_miss_check_ns_.compare_exchange_strong(last, now)) {
    auto gen = Generation();
    int64_t current;
    {
      std::shared_lock lock(mu_);
      current = generation_;
    }
    if (gen.ok() && *gen != current && Reload().ok()) {
      if (auto k = Lookup(h)) return std::move(*k);
    }
  }
  return NotFound("invalid API key");
}

}  // namespace steward::identity
