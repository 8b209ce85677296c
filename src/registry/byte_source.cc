#include "registry/byte_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace steward::registry {

Result<std::unique_ptr<FileSource>> FileSource::Open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NotFound("cannot open " + path + ": " + std::strerror(errno));
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return InvalidArgument(path + " is not a regular file");
  }
  return std::unique_ptr<FileSource>(new FileSource(fd, static_cast<uint64_t>(st.st_size), path));
}

FileSource::~FileSource() { ::close(fd_); }

Status FileSource::ReadAt(uint64_t offset, char* dst, size_t n) const {
  while (n > 0) {
    ssize_t got = ::pread(fd_, dst, n, static_cast<off_t>(offset));
    if (got < 0) {
      if (errno == EINTR) continue;
      return DataLoss("read " + path_ + ": " + std::strerror(errno));
    }
    if (got == 0) return DataLoss(path_ + " shrank while being read");
    dst += got;
    n -= static_cast<size_t>(got);
    offset += static_cast<uint64_t>(got);
  }
  return Status::Ok();
}

Status Cursor::Fill(std::string_view what) {
  uint64_t left = source_.size() - offset_;
  size_t want = left < kBufferSize ? static_cast<size_t>(left) : kBufferSize;
  STEWARD_RETURN_IF_ERROR(source_.ReadAt(offset_, buffer_.get(), want));
  buffer_start_ = offset_;
  buffer_len_ = want;
  return Status::Ok();
}

Status Cursor::Read(char* dst, size_t n, std::string_view what) {
  if (n > remaining()) {
    return InvalidArgument("truncated file: " + std::string(what) + " at offset " +
                           std::to_string(offset_) + " needs " + std::to_string(n) +
                           " bytes, only " + std::to_string(remaining()) + " left");
  }
  while (n > 0) {
    if (offset_ < buffer_start_ || offset_ >= buffer_start_ + buffer_len_) {
      if (n >= kBufferSize) {  // large reads bypass the buffer
        STEWARD_RETURN_IF_ERROR(source_.ReadAt(offset_, dst, n));
        offset_ += n;
        return Status::Ok();
      }
      STEWARD_RETURN_IF_ERROR(Fill(what));
    }
    size_t in_buffer = static_cast<size_t>(buffer_start_ + buffer_len_ - offset_);
    size_t take = n < in_buffer ? n : in_buffer;
    std::memcpy(dst, buffer_.get() + (offset_ - buffer_start_), take);
    dst += take;
    n -= take;
    offset_ += take;
  }
  return Status::Ok();
}

Status Cursor::Skip(uint64_t n, std::string_view what) {
  if (n > remaining()) {
    return InvalidArgument("truncated file: " + std::string(what) + " at offset " +
                           std::to_string(offset_) + " claims " + std::to_string(n) +
                           " bytes, only " + std::to_string(remaining()) + " left");
  }
  offset_ += n;
  return Status::Ok();
}

}  // namespace steward::registry
