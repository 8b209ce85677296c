#include "audit/keys.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/strings.h"

namespace steward::audit {

Result<SigningKey> LoadSigningKey(const std::string& data_dir, bool create) {
  STEWARD_ASSIGN_OR_RETURN(std::string seed,
                           LoadOrCreateKeyFile(data_dir + "/audit_signing.key",
                                               crypto_sign_SEEDBYTES, create));
  SigningKey k;
  k.public_key.resize(crypto_sign_PUBLICKEYBYTES);
  k.secret_key.resize(crypto_sign_SECRETKEYBYTES);
  crypto_sign_seed_keypair(reinterpret_cast<unsigned char*>(k.public_key.data()),
                           reinterpret_cast<unsigned char*>(k.secret_key.data()),
                           reinterpret_cast<const unsigned char*>(seed.data()));
  sodium_memzero(seed.data(), seed.size());
  return k;
}

Result<std::string> LoadPseudonymKey(const std::string& data_dir, bool create) {
  return LoadOrCreateKeyFile(data_dir + "/audit_pseudonym.key", 32, create);
}

Result<std::vector<Kek>> LoadKeks(const std::string& data_dir, bool create) {
  std::vector<Kek> keks;
  if (const char* env = std::getenv(kKekEnv); env && *env) {
    STEWARD_ASSIGN_OR_RETURN(std::string k, DecodeKeyText(env, 32, std::string(kKekEnv)));
    keks.push_back(MakeKek(std::move(k)));
    for (const char* extra : {kNewKekEnv, kOldKekEnv}) {
      if (const char* e = std::getenv(extra); e && *e) {
        STEWARD_ASSIGN_OR_RETURN(std::string x, DecodeKeyText(e, 32, extra));
        keks.push_back(MakeKek(std::move(x)));
      }
    }
    return keks;
  }
  STEWARD_ASSIGN_OR_RETURN(std::string k,
                           LoadOrCreateKeyFile(data_dir + "/audit_kek.key", 32, create));
  keks.push_back(MakeKek(std::move(k)));
  // A rotation that was interrupted: data keys may already be wrapped by it.
  auto pending = LoadOrCreateKeyFile(data_dir + "/audit_kek.key.new", 32, false);
  if (pending.ok()) keks.push_back(MakeKek(std::move(*pending)));
  return keks;
}

std::string SubjectPseudonym(const std::string& pseudonym_key, std::string_view subject) {
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, reinterpret_cast<const unsigned char*>(pseudonym_key.data()),
                              pseudonym_key.size());
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(subject.data()),
                                subject.size());
  crypto_auth_hmacsha256_final(&st, mac);
  return "s_" + HexEncode(std::string_view(reinterpret_cast<char*>(mac), 16));
}

SubjectPseudonymizer::SubjectPseudonymizer(const std::string& pseudonym_key) {
  crypto_auth_hmacsha256_init(&keyed_, reinterpret_cast<const unsigned char*>(pseudonym_key.data()),
                              pseudonym_key.size());
}

std::string SubjectPseudonymizer::operator()(std::string_view subject) const {
  crypto_auth_hmacsha256_state st = keyed_;
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(subject.data()),
                                subject.size());
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_final(&st, mac);
  sodium_memzero(&st, sizeof st);
  return "s_" + HexEncode(std::string_view(reinterpret_cast<char*>(mac), 16));
}

std::string TreeHeadMessage(int64_t tree_size, int64_t timestamp_ms, const std::string& root_hex) {
  return "steward-sth-v1\n" + std::to_string(tree_size) + "\n" + std::to_string(timestamp_ms) +
         "\n" + root_hex + "\n";
}

std::string SignDetached(const SigningKey& key, std::string_view message) {
  std::string sig(crypto_sign_BYTES, '\0');
  crypto_sign_detached(reinterpret_cast<unsigned char*>(sig.data()), nullptr,
                       reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                       reinterpret_cast<const unsigned char*>(key.secret_key.data()));
  return sig;
}

bool VerifyDetached(std::string_view public_key, std::string_view message,
                    std::string_view signature) {
  if (sodium_init() < 0) return false;
  if (public_key.size() != crypto_sign_PUBLICKEYBYTES || signature.size() != crypto_sign_BYTES) {
    return false;
  }
  return crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(signature.data()),
                                     reinterpret_cast<const unsigned char*>(message.data()),
                                     message.size(),
                                     reinterpret_cast<const unsigned char*>(public_key.data())) == 0;
}

}  // namespace steward::audit
