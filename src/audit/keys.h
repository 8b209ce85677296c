// The audit module's secrets, kept as files in data_dir (mode 0600, created
// on first use) or, for the KEK, in the environment:
//   audit_signing.key    Ed25519 seed (hex) that signs tree heads
//   audit_pseudonym.key  HMAC-SHA256 key that turns subject ids into pseudonyms
//   audit_kek.key        key-encryption key that wraps per-subject data keys;
//                        STEWARD_AUDIT_KEK (64 hex digits) overrides the file
//   audit_kek.key.new    present only while `keys rotate-kek` runs
// A key file readable by group or others is refused.
#pragma once

#include <sodium.h>

#include <string>
#include <vector>

#include "audit/payload_crypto.h"
#include "common/key_file.h"
#include "steward/status.h"

namespace steward::audit {

inline constexpr const char* kKekEnv = "STEWARD_AUDIT_KEK";
inline constexpr const char* kNewKekEnv = "STEWARD_AUDIT_KEK_NEW";
inline constexpr const char* kOldKekEnv = "STEWARD_AUDIT_KEK_OLD";

struct SigningKey {
  std::string public_key;  // 32 bytes
  std::string secret_key;  // 64 bytes (libsodium form: seed || public key)
};

// Key files: see common/key_file.h.
using ::steward::DecodeKeyText;
using ::steward::LoadOrCreateKeyFile;
using ::steward::WriteKeyFile;

Result<SigningKey> LoadSigningKey(const std::string& data_dir, bool create = true);
Result<std::string> LoadPseudonymKey(const std::string& data_dir, bool create = true);
// The KEKs able to unwrap data keys, the one wrapping new keys first.
Result<std::vector<Kek>> LoadKeks(const std::string& data_dir, bool create = true);

// "s_" + 32 hex digits of HMAC-SHA256(pseudonym key, subject id).
std::string SubjectPseudonym(const std::string& pseudonym_key, std::string_view subject);

// The same pseudonyms with the key's HMAC pads hashed once, not per call.
class SubjectPseudonymizer {
 public:
  explicit SubjectPseudonymizer(const std::string& pseudonym_key);
  std::string operator()(std::string_view subject) const;

 private:
  crypto_auth_hmacsha256_state keyed_{};
};

// Ed25519 over "steward-sth-v1\n<size>\n<timestamp_ms>\n<root hex>\n".
std::string TreeHeadMessage(int64_t tree_size, int64_t timestamp_ms, const std::string& root_hex);
std::string SignDetached(const SigningKey& key, std::string_view message);
bool VerifyDetached(std::string_view public_key, std::string_view message,
                    std::string_view signature);

}  // namespace steward::audit
