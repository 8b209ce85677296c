// The structured access log: one JSON object per request with who, what,
// outcome and timing — never secrets, never prompt or completion text.
//
// Lines are appended to an in-memory buffer and written out in blocks (when
// 64 KiB accumulate, and every 200 ms by a background thread), so a request
// costs a string append, not a syscall or a thread wake-up.
#pragma once

#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "steward/stage.h"
#include "steward/status.h"

namespace steward::gateway {

class AccessLog {
 public:
  // `target`: a file path, "-" for stdout, or "off".
  static Result<std::unique_ptr<AccessLog>> Open(const std::string& target);
  ~AccessLog();
  void Write(const RequestContext& ctx, double latency_ms);
  void Flush();

 private:
  AccessLog() = default;
  void WriteOut(std::string& block);
  int fd_ = -1;
  bool owns_fd_ = false;
  std::mutex mu_;  // guards buffer_
  std::string buffer_;
  std::mutex write_mu_;  // serialises writes to fd_
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread flusher_;
};

}  // namespace steward::gateway
