#include "common/key_file.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/strings.h"

namespace steward {
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

}  // namespace

Result<std::string> DecodeKeyText(std::string_view text, size_t bytes, const std::string& what) {
  std::string raw;
  text = Trim(text);
  if (text.size() != bytes * 2 || !HexDecode(text, &raw)) {
    return InvalidArgument(what + ": expected " + std::to_string(bytes * 2) + " hex digits");
  }
  return raw;
}


Result<std::string> LoadOrCreateKeyFile(const std::string& path, size_t bytes, bool create) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    if (!create) return NotFound("key file " + path + " does not exist");
    std::string key(bytes, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), static_cast<int>(key.size())) != 1) {
      return Internal("the random generator failed");
    }
    STEWARD_ASSIGN_OR_RETURN(bool created, PublishNewFile(path, HexEncode(key) + "\n"));
    if (created) return key;
    // Another process created it first: read theirs.
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

Result<bool> PublishNewFile(const std::string& path, std::string_view contents) {
  const std::string aside = path + ".new-" + std::to_string(::getpid()) + "-" + RandomHex(8);
  int fd = ::open(aside.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Unavailable(Errno("create " + aside));
  Status written = WriteAllAndSync(fd, std::string(contents), aside);
  ::close(fd);
  // link(2), unlike rename(2), fails when the name exists: the first
  // creator wins and nobody's file is replaced.
  const bool linked = written.ok() && ::link(aside.c_str(), path.c_str()) == 0;
  const int link_errno = errno;
  ::unlink(aside.c_str());
  if (!written.ok()) return written;
  if (!linked) {
    if (link_errno == EEXIST) return false;
    errno = link_errno;
    return Unavailable(Errno("create " + path));
  }
  SyncDir(path);
  return true;
}

}  // namespace steward
