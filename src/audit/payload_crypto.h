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

#include <optional>
#include <string>
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

}  // namespace steward::audit
