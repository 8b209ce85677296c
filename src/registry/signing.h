// Signatures over a model's manifest, and OpenSSF model-signing statements.
//
// Steward's own signatures are Ed25519 (libsodium) over the UTF-8 bytes
//   "steward-model-v1\n" + name + "\n" + version + "\n" + manifest_digest_hex + "\n"
// so a signature binds the name and version to the exact files.
//
// A model signed with OpenSSF model-signing v1.0 ships `model.sig`, a
// Sigstore bundle whose DSSE envelope carries an in-toto statement:
//   {"_type": "https://in-toto.io/Statement/v1",
//    "subject": [{"name": ..., "digest": {"sha256": <manifest digest>}}],
//    "predicateType": "https://model_signing/signature/v1.0",
//    "predicate": {"serialization": {"method": "files", "hash_type": "sha256", ...},
//                  "resources": [{"name": path, "algorithm": "sha256", "digest": hex}, ...]}}
// CheckInTotoStatement verifies that statement's digests against the files
// as hashed here. (It does not verify the Sigstore certificate chain or the
// DSSE signature: that needs the signer's trust root, which Steward does
// not hold; it proves the statement describes exactly these files.)
#pragma once

#include <string>
#include <vector>

#include "registry/hash.h"
#include "steward/status.h"

namespace steward::registry {

std::string ManifestSigningMessage(const std::string& name, const std::string& version,
                                   const std::string& manifest_digest_hex);

struct SigningKey {
  std::string public_key;  // 32 raw bytes
  std::string secret_key;  // 64 raw bytes (libsodium layout)
};

// Loads the key at `path` (base64 of the 64-byte secret key), creating it
// with mode 0600 when absent and `create` is set.
Result<SigningKey> LoadSigningKey(const std::string& path, bool create);

std::string SignMessage(const SigningKey& key, const std::string& message);  // raw signature
bool VerifyMessage(const std::string& public_key, const std::string& message,
                   const std::string& signature);

struct InTotoResult {
  std::string source;  // file it came from
  std::string subject_name;
  std::string subject_digest;
  std::vector<std::string> problems;  // empty: every digest matches
  bool ok() const { return problems.empty(); }
};

// `text` is a Sigstore bundle (with dsseEnvelope) or a bare in-toto
// statement. InvalidArgument when it is neither.
Result<InTotoResult> CheckInTotoStatement(const std::string& text,
                                          const std::vector<FileDigest>& files,
                                          const std::string& manifest_digest);

// The statement shipped with a model at `model_path`: <dir>/model.sig for a
// directory, <file>.sig for a single file. Empty when there is none.
std::string FindModelSignatureFile(const std::string& model_path);

}  // namespace steward::registry
