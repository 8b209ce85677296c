#include "audit/payload_crypto.h"

#include <pthread.h>
#include <sodium.h>

#include <atomic>
#include <cstring>

#include "common/strings.h"

namespace steward::audit {
namespace {

void EnsureSodium() {
  static const int ok = sodium_init();
  (void)ok;
}

std::string DataKeyAd(const std::string& subject) { return "steward-dk-v1\n" + subject; }

// Random nonces from the OS CSPRNG, fetched 128 at a time: randombytes_buf
// is one getrandom system call per call, two per request on the audit
// writer (2% of its CPU with payloads). A forked child drops what its parent
// had fetched (pthread_atfork bumps the generation), so no nonce is ever
// handed out twice.
std::atomic<uint64_t> nonce_generation{0};

void RandomNonce(unsigned char* out) {
  constexpr size_t kNonce = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
  constexpr size_t kBatch = 128;
  static const bool at_fork_registered = [] {
    return ::pthread_atfork(nullptr, nullptr, [] { nonce_generation.fetch_add(1); }) == 0;
  }();
  struct Pool {
    unsigned char bytes[kNonce * kBatch];
    size_t next = kBatch;  // empty
    uint64_t generation = 0;
  };
  thread_local Pool pool;
  const uint64_t generation = nonce_generation.load(std::memory_order_relaxed);
  if (!at_fork_registered) {  // cannot tell a child from its parent: no pool
    randombytes_buf(out, kNonce);
    return;
  }
  if (pool.next == kBatch || pool.generation != generation) {
    randombytes_buf(pool.bytes, sizeof pool.bytes);
    pool.next = 0;
    pool.generation = generation;
  }
  std::memcpy(out, pool.bytes + pool.next * kNonce, kNonce);
  ++pool.next;
}

}  // namespace

Kek MakeKek(std::string key_bytes) {
  Kek k;
  k.id = Sha256Hex("steward-kek-id\n" + key_bytes).substr(0, 16);
  k.key = std::move(key_bytes);
  return k;
}

size_t SealAppend(std::string* out, const std::string& key, std::string_view plaintext,
                  std::string_view ad) {
  EnsureSodium();
  constexpr size_t kNonce = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
  const size_t at = out->size();
  out->resize(at + kNonce + plaintext.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES);
  auto* nonce = reinterpret_cast<unsigned char*>(out->data() + at);
  RandomNonce(nonce);
  unsigned long long clen = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      nonce + kNonce, &clen, reinterpret_cast<const unsigned char*>(plaintext.data()),
      plaintext.size(), reinterpret_cast<const unsigned char*>(ad.data()), ad.size(), nullptr,
      nonce, reinterpret_cast<const unsigned char*>(key.data()));
  out->resize(at + kNonce + clen);
  return kNonce + clen;
}

std::string SealBytes(const std::string& key, std::string_view plaintext, std::string_view ad) {
  std::string out;
  SealAppend(&out, key, plaintext, ad);
  return out;
}

Result<std::string> OpenBytes(const std::string& key, std::string_view sealed,
                              std::string_view ad) {
  EnsureSodium();
  constexpr size_t kNonce = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
  constexpr size_t kTag = crypto_aead_xchacha20poly1305_ietf_ABYTES;
  if (key.size() != crypto_aead_xchacha20poly1305_ietf_KEYBYTES) {
    return InvalidArgument("key must be 32 bytes");
  }
  if (sealed.size() < kNonce + kTag) return DataLoss("sealed data is truncated");
  std::string out(sealed.size() - kNonce - kTag, '\0');
  unsigned long long mlen = 0;
  const auto* nonce = reinterpret_cast<const unsigned char*>(sealed.data());
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          reinterpret_cast<unsigned char*>(out.data()), &mlen, nullptr, nonce + kNonce,
          sealed.size() - kNonce, reinterpret_cast<const unsigned char*>(ad.data()), ad.size(),
          nonce, reinterpret_cast<const unsigned char*>(key.data())) != 0) {
    return DataLoss("decryption failed (wrong key or tampered data)");
  }
  out.resize(mlen);
  return out;
}

std::string PayloadSealer::WrapDataKey(const std::string& subject,
                                       const std::string& data_key) const {
  return SealBytes(current().key, data_key, DataKeyAd(subject));
}

Result<std::string> PayloadSealer::UnwrapDataKey(const std::string& subject,
                                                 const std::string& wrapped,
                                                 const std::string& kek_id) const {
  for (const Kek& k : keks_) {
    if (k.id == kek_id) return OpenBytes(k.key, wrapped, DataKeyAd(subject));
  }
  return FailedPrecondition("data key of subject " + subject + " is wrapped by KEK " + kek_id +
                            ", which is not loaded (rotated away or wrong key file)");
}

std::string PayloadSealer::PayloadAd(std::string_view ref, std::string_view part) {
  std::string ad = "steward-payload-v1\n";
  ad.append(ref);
  ad.push_back('\n');
  ad.append(part);
  return ad;
}

Result<std::optional<std::string>> PayloadSealer::SubjectKey(Sql sql, const std::string& subject,
                                                             int64_t now_ms, bool create) const {
  STEWARD_ASSIGN_OR_RETURN(
      auto rows,
      sql.Query("SELECT wrapped_key, kek_id, erased_ms FROM audit_subject_keys WHERE subject = $1",
                {subject}));
  if (!rows.empty()) {
    if (!rows[0].IsNull(2) || rows[0].IsNull(0)) return std::optional<std::string>();
    STEWARD_ASSIGN_OR_RETURN(std::string dk,
                             UnwrapDataKey(subject, rows[0].Text(0), rows[0].Text(1)));
    return std::optional<std::string>(std::move(dk));
  }
  if (!create) return std::optional<std::string>();
  if (keks_.empty()) return FailedPrecondition("no key-encryption key is loaded");
  EnsureSodium();
  std::string dk(crypto_aead_xchacha20poly1305_ietf_KEYBYTES, '\0');
  randombytes_buf(dk.data(), dk.size());
  STEWARD_RETURN_IF_ERROR(sql.Exec(
      "INSERT INTO audit_subject_keys(subject, wrapped_key, kek_id, created_ms, erased_ms) "
      "VALUES ($1, $2, $3, $4, NULL)",
      {subject, Blob{WrapDataKey(subject, dk)}, current().id, now_ms}));
  return std::optional<std::string>(std::move(dk));
}

void DataKeyCache::Wipe(Entry& e) {
  if (e.key) sodium_memzero(e.key->data(), e.key->size());
}

const std::optional<std::string>* DataKeyCache::Find(const std::string& subject) {
  auto it = index_.find(subject);
  if (it == index_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second);
  return &it->second->key;
}

void DataKeyCache::Put(const std::string& subject, std::optional<std::string> key) {
  auto it = index_.find(subject);
  if (it != index_.end()) {
    Wipe(*it->second);
    it->second->key = std::move(key);
    lru_.splice(lru_.begin(), lru_, it->second);
    return;
  }
  if (index_.size() >= capacity_) {
    Entry& oldest = lru_.back();
    Wipe(oldest);
    index_.erase(oldest.subject);
    lru_.pop_back();
  }
  lru_.push_front(Entry{subject, std::move(key)});
  index_.emplace(subject, lru_.begin());
}

void DataKeyCache::Clear() {
  for (Entry& e : lru_) Wipe(e);
  index_.clear();
  lru_.clear();
}

}  // namespace steward::audit
