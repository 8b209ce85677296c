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
namespace {

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

Status WriteAllAndSync(int fd, const std::string& data, const std::string& path) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Unavailable(Errno("write " + path));
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return Unavailable(Errno("fsync " + path));
  return Status::Ok();
}

void SyncDir(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

Result<std::string> DecodeKeyText(std::string_view text, size_t bytes, const std::string& what) {
  std::string raw;
  text = Trim(text);
  if (text.size() != bytes * 2 || !HexDecode(text, &raw)) {
    return InvalidArgument(what + ": expected " + std::to_string(bytes * 2) + " hex digits");
  }
  return raw;
}

}  // namespace

Result<std::string> LoadOrCreateKeyFile(const std::string& path, size_t bytes, bool create) {
  if (sodium_init() < 0) return Internal("libsodium failed to initialise");
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    if (!create) return NotFound("key file " + path + " does not exist");
    std::string key(bytes, '\0');
    randombytes_buf(key.data(), key.size());
    int wfd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (wfd < 0) {
      if (errno != EEXIST) return Unavailable(Errno("create key file " + path));
      // Another process created it first: read theirs.
    } else {
      Status s = WriteAllAndSync(wfd, HexEncode(key) + "\n", path);
      ::close(wfd);
      if (!s.ok()) {
        ::unlink(path.c_str());
        return s;
      }
      SyncDir(path);
      return key;
    }
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  }
  if (fd < 0) return Unavailable(Errno("open key file " + path));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return Unavailable(Errno("stat " + path));
  }
  if (st.st_mode & 0077) {
    ::close(fd);
    return PermissionDenied("key file " + path + " is readable by group or others (chmod 600 it)");
  }
  std::string text(256, '\0');
  ssize_t n = ::read(fd, text.data(), text.size());
  ::close(fd);
  if (n < 0) return Unavailable(Errno("read " + path));
  text.resize(static_cast<size_t>(n));
  return DecodeKeyText(text, bytes, "key file " + path);
}

Status WriteKeyFile(const std::string& path, const std::string& key) {
  std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Unavailable(Errno("create " + tmp));
  Status s = WriteAllAndSync(fd, HexEncode(key) + "\n", tmp);
  ::close(fd);
  if (!s.ok()) return s;
  if (::rename(tmp.c_str(), path.c_str()) != 0) return Unavailable(Errno("rename " + tmp));
  SyncDir(path);
  return Status::Ok();
}

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
