#include "registry/hash.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <memory>
#include <system_error>

#include "common/strings.h"

namespace steward::registry {
namespace {

namespace fs = std::filesystem;

// 4 MiB reads: large enough that syscall overhead is noise next to hashing.
constexpr size_t kReadSize = 4u << 20;

struct EvpCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

bool IsIgnoredName(const std::string& name) {
  // model-signing ignores git metadata and its own signature file by default.
  return name == ".git" || name == ".gitattributes" || name == ".github" || name == ".gitignore" ||
         name == "model.sig";
}

}  // namespace

Result<std::string> Sha256File(const std::string& path, uint64_t* size, const ProgressFn& progress,
                               uint64_t progress_base, uint64_t progress_total) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NotFound("cannot open " + path + ": " + std::strerror(errno));
  FdCloser closer{fd};
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  std::unique_ptr<EVP_MD_CTX, EvpCtxDeleter> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) {
    return Internal("EVP_DigestInit_ex(sha256) failed");
  }
  std::unique_ptr<unsigned char[]> buffer(new unsigned char[kReadSize]);
  uint64_t total = 0;
  for (;;) {
    ssize_t n = ::read(fd, buffer.get(), kReadSize);
    if (n < 0) {
      if (errno == EINTR) continue;
      return DataLoss("read " + path + ": " + std::strerror(errno));
    }
    if (n == 0) break;
    if (EVP_DigestUpdate(ctx.get(), buffer.get(), static_cast<size_t>(n)) != 1) {
      return Internal("EVP_DigestUpdate failed");
    }
    total += static_cast<uint64_t>(n);
    if (progress) progress(progress_base + total, progress_total);
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  if (EVP_DigestFinal_ex(ctx.get(), digest, &digest_len) != 1) {
    return Internal("EVP_DigestFinal_ex failed");
  }
  if (size) *size = total;
  return HexEncode(std::string_view(reinterpret_cast<const char*>(digest), digest_len));
}

Result<std::vector<ModelFile>> ListModelFiles(const std::string& root) {
  std::error_code ec;
  fs::path root_path(root);
  fs::file_status st = fs::status(root_path, ec);
  if (ec || !fs::exists(st)) return NotFound("model path " + root + " does not exist");
  std::vector<ModelFile> files;
  if (fs::is_regular_file(st)) {
    uint64_t size = fs::file_size(root_path, ec);
    if (ec) return NotFound("cannot stat " + root + ": " + ec.message());
    files.push_back({fs::absolute(root_path, ec).string(), root_path.filename().string(), size});
    return files;
  }
  if (!fs::is_directory(st)) return InvalidArgument(root + " is neither a file nor a directory");
  fs::recursive_directory_iterator it(root_path, fs::directory_options::none, ec);
  if (ec) return NotFound("cannot read directory " + root + ": " + ec.message());
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) return NotFound("cannot read directory " + root + ": " + ec.message());
    const fs::path& p = it->path();
    if (IsIgnoredName(p.filename().string())) {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    // Symlinks to files are followed (Hugging Face snapshots are symlinks
    // into a blob store); directories reached through symlinks are not.
    if (!it->is_regular_file(ec)) continue;
    uint64_t size = it->file_size(ec);
    if (ec) return NotFound("cannot stat " + p.string() + ": " + ec.message());
    files.push_back(
        {fs::absolute(p).string(), p.lexically_relative(root_path).generic_string(), size});
  }
  std::sort(files.begin(), files.end(),
            [](const ModelFile& a, const ModelFile& b) { return a.rel_path < b.rel_path; });
  if (files.empty()) return InvalidArgument("model directory " + root + " has no files");
  return files;
}

Result<std::vector<FileDigest>> HashModelFiles(const std::vector<ModelFile>& files,
                                               const ProgressFn& progress) {
  uint64_t total = 0;
  for (const auto& f : files) total += f.size;
  std::vector<FileDigest> digests;
  digests.reserve(files.size());
  uint64_t done = 0;
  for (const auto& f : files) {
    uint64_t size = 0;
    STEWARD_ASSIGN_OR_RETURN(std::string hex, Sha256File(f.abs_path, &size, progress, done, total));
    done += size;
    digests.push_back({f.rel_path, size, std::move(hex)});
  }
  return digests;
}

std::string ManifestDigest(std::vector<FileDigest> files) {
  std::sort(files.begin(), files.end(),
            [](const FileDigest& a, const FileDigest& b) { return a.path < b.path; });
  std::string concatenated;
  concatenated.reserve(files.size() * 32);
  for (const auto& f : files) {
    std::string raw;
    if (!HexDecode(f.sha256_hex, &raw)) raw.assign(32, '\0');
    concatenated += raw;
  }
  return Sha256Hex(concatenated);
}

}  // namespace steward::registry
