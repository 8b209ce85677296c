// Payload encryption: prompt and completion texts are sealed with
// XChaCha20-Poly1305 under a per-subject data key; data keys are stored
// wrapped (also XChaCha20-Poly1305) by a key-encryption key (KEK). Erasing a
// subject destroys its wrapped data key (crypto-shredding): the ciphertexts
// stay, unreadable, and every leaf and proof is untouched.
//
// Associated data binds each ciphertext to its place, so a row cannot be
// swapped with another: data keys to "steward-dk-v1\n<subject>", payloads to
// "steward-payload-v1\n<ref>\n<part>".
#pragma once

#include <functional>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "audit/log_store.h"
#include "steward/status.h"

namespace steward::audit {

struct Kek {
  std::string id;   // 16 hex digits derived from the key, stored beside each wrapped key
  std::string key;  // 32 raw bytes
};

Kek MakeKek(std::string key_bytes);

// Symmetric helpers (XChaCha20-Poly1305-IETF, random 24-byte nonce
// prepended to the ciphertext).
std::string SealBytes(const std::string& key, std::string_view plaintext, std::string_view ad);
// The same sealed bytes appended to `*out` (no intermediate string: the
// writer seals straight into a payload block); returns how many were added.
size_t SealAppend(std::string* out, const std::string& key, std::string_view plaintext,
                  std::string_view ad);
Result<std::string> OpenBytes(const std::string& key, std::string_view sealed, std::string_view ad);

class PayloadSealer {
 public:
  // `keks[0]` wraps new data keys; any of them may unwrap (rotation). An
  // empty list can only report keys as unavailable.
  explicit PayloadSealer(std::vector<Kek> keks) : keks_(std::move(keks)) {}

  const Kek& current() const { return keks_.front(); }

  std::string WrapDataKey(const std::string& subject, const std::string& data_key) const;
  Result<std::string> UnwrapDataKey(const std::string& subject, const std::string& wrapped,
                                    const std::string& kek_id) const;

  static std::string PayloadAd(std::string_view ref, std::string_view part);

  // The subject's data key. Creates one when `create` and none exists;
  // returns nullopt when the subject was erased (or has no key and !create).
  Result<std::optional<std::string>> SubjectKey(Sql sql, const std::string& subject,
                                                int64_t now_ms, bool create) const;

 private:
  std::vector<Kek> keks_;
};

// Unwrapped data keys of recently seen subjects, so the writer does not read
// and unwrap a subject's key in every batch. Bounded (least recently used
// goes first); keys are zeroised when evicted, cleared or destroyed. A
// nullopt entry remembers an erased subject (erasure is permanent).
//
// Only valid while no other process appends: an erasure commits its
// tombstone and its `dsar.erase` record in one transaction, so an appender
// that finds the stored tree size moved under it must Clear() the cache
// (AppendLeavesInTx does), as must one whose transaction rolled back (a key
// created in it was never stored).
class DataKeyCache {
 public:
  explicit DataKeyCache(size_t capacity = 4096) : capacity_(capacity ? capacity : 1) {}
  ~DataKeyCache() { Clear(); }
  DataKeyCache(const DataKeyCache&) = delete;
  DataKeyCache& operator=(const DataKeyCache&) = delete;

  // The cached entry (nullopt inside: erased), or nullptr when not cached.
  const std::optional<std::string>* Find(const std::string& subject);
  // Runs `hook` before a missing key is read or created (AppendLeavesInTx
  // calls OnMiss()): the writer reloads a rotated KEK only then, inside the
  // transaction, instead of checking the key files in every commit.
  void SetMissHook(std::function<void()> hook) { on_miss_ = std::move(hook); }
  void OnMiss() const {
    if (on_miss_) on_miss_();
  }
  void Put(const std::string& subject, std::optional<std::string> key);
  void Clear();
  size_t size() const { return index_.size(); }

 private:
  struct Entry {
    std::string subject;
    std::optional<std::string> key;
  };
  static void Wipe(Entry& e);

  size_t capacity_;
  std::function<void()> on_miss_;
  std::list<Entry> lru_;  // most recently used first
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
};

}  // namespace steward::audit
