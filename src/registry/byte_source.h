// Bounded, buffered reading of untrusted binary files (GGUF, safetensors).
//
// Every read is checked against the source's size before any allocation, so
// a count or length field taken from a hostile file can never make the
// reader allocate more than the file actually holds.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "steward/status.h"

namespace steward::registry {

// A random-access sequence of bytes: a file or memory (fuzzers, tests).
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual uint64_t size() const = 0;
  // Reads exactly n bytes at `offset`; the caller has checked the bounds.
  virtual Status ReadAt(uint64_t offset, char* dst, size_t n) const = 0;
};

class MemorySource final : public ByteSource {
 public:
  explicit MemorySource(std::string_view data) : data_(data) {}
  uint64_t size() const override { return data_.size(); }
  Status ReadAt(uint64_t offset, char* dst, size_t n) const override {
    std::memcpy(dst, data_.data() + offset, n);
    return Status::Ok();
  }

 private:
  std::string_view data_;
};

// A file read with pread(2); the fd is closed on destruction.
class FileSource final : public ByteSource {
 public:
  static Result<std::unique_ptr<FileSource>> Open(const std::string& path);
  ~FileSource() override;
  uint64_t size() const override { return size_; }
  Status ReadAt(uint64_t offset, char* dst, size_t n) const override;

 private:
  FileSource(int fd, uint64_t size, std::string path)
      : fd_(fd), size_(size), path_(std::move(path)) {}
  int fd_;
  uint64_t size_;
  std::string path_;
};

// Sequential little-endian reads over a ByteSource with a read-ahead buffer.
// Errors name `what` and the offset so a user can see where a file is bad.
class Cursor {
 public:
  explicit Cursor(const ByteSource& source) : source_(source) {}

  uint64_t offset() const { return offset_; }
  uint64_t remaining() const { return source_.size() - offset_; }

  Status Read(char* dst, size_t n, std::string_view what);
  Status Skip(uint64_t n, std::string_view what);
  void Seek(uint64_t offset) { offset_ = offset; }

  template <typename T>
  Status ReadLe(T* out, std::string_view what) {
    unsigned char bytes[sizeof(T)];
    STEWARD_RETURN_IF_ERROR(Read(reinterpret_cast<char*>(bytes), sizeof(T), what));
    // Assemble little-endian explicitly so the reader is host-order agnostic.
    uint64_t v = 0;
    for (size_t i = 0; i < sizeof(T); ++i) v |= static_cast<uint64_t>(bytes[i]) << (8 * i);
    if constexpr (sizeof(T) == 8) {
      std::memcpy(out, &v, 8);
    } else {
      auto narrow =
          static_cast<std::conditional_t<sizeof(T) == 4, uint32_t,
                                         std::conditional_t<sizeof(T) == 2, uint16_t, uint8_t>>>(v);
      std::memcpy(out, &narrow, sizeof(T));
    }
    return Status::Ok();
  }

 private:
  Status Fill(std::string_view what);

  const ByteSource& source_;
  uint64_t offset_ = 0;
  // Buffer of the bytes [buffer_start_, buffer_start_ + buffer_len_).
  static constexpr size_t kBufferSize = 64 * 1024;
  std::unique_ptr<char[]> buffer_{new char[kBufferSize]};
  uint64_t buffer_start_ = 0;
  size_t buffer_len_ = 0;
};

}  // namespace steward::registry
