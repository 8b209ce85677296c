#include "gateway/access_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>

namespace steward::gateway {

namespace {
constexpr size_t kBlockBytes = 64 * 1024;
constexpr auto kFlushInterval = std::chrono::milliseconds(200);
}  // namespace

Result<std::unique_ptr<AccessLog>> AccessLog::Open(const std::string& target) {
  auto log = std::unique_ptr<AccessLog>(new AccessLog());
  if (target == "off") return log;
  if (target == "-") {
    log->fd_ = STDOUT_FILENO;
  } else {
    log->fd_ = ::open(target.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (log->fd_ < 0) return Unavailable("cannot open access log " + target + ": " + std::strerror(errno));
    log->owns_fd_ = true;
  }
  log->buffer_.reserve(kBlockBytes * 2);
  AccessLog* self = log.get();
  log->flusher_ = std::thread([self] {
    std::unique_lock lock(self->stop_mu_);
    while (!self->stopping_) {
      self->stop_cv_.wait_for(lock, kFlushInterval);
      lock.unlock();
      self->Flush();
      lock.lock();
    }
  });
  return log;
}

AccessLog::~AccessLog() {
  if (flusher_.joinable()) {
    {
      std::lock_guard lock(stop_mu_);
      stopping_ = true;
    }
    stop_cv_.notify_all();
    flusher_.join();
  }
  Flush();
  if (owns_fd_) ::close(fd_);
}

void AccessLog::WriteOut(std::string& block) {
  std::lock_guard lock(write_mu_);
  size_t off = 0;
  while (off < block.size()) {
    ssize_t n = ::write(fd_, block.data() + off, block.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // a full disk loses log lines, never requests
    off += static_cast<size_t>(n);
  }
  block.clear();
}

void AccessLog::Flush() {
  if (fd_ < 0) return;
  std::string block;
  {
    std::lock_guard lock(mu_);
    block.swap(buffer_);
  }
  if (!block.empty()) WriteOut(block);
}

void AccessLog::Write(const RequestContext& ctx, double latency_ms) {
  if (fd_ < 0) return;
  boost::json::object o;
  o["ts_ms"] = ctx.start_unix_ms;
  o["request_id"] = ctx.request_id;
  o["method"] = ctx.method;
  o["path"] = ctx.path;
  o["client_ip"] = ctx.client_ip;
  o["key_id"] = ctx.principal.key_id;
  o["role"] = ctx.principal.role;
  o["model"] = ctx.model;
  o["upstream"] = ctx.upstream;
  o["stream"] = ctx.stream;
  o["status"] = ctx.status;
  o["latency_ms"] = latency_ms;
  o["bytes_in"] = ctx.request_bytes;
  o["prompt_tokens"] = ctx.usage.prompt_tokens;
  o["completion_tokens"] = ctx.usage.completion_tokens;
  if (ctx.policy.evaluated) o["policy"] = ctx.policy.decision;
  if (!ctx.error_message.empty()) o["error"] = ctx.error_message;
  std::string line = boost::json::serialize(o);
  line.push_back('\n');
  std::string block;
  {
    std::lock_guard lock(mu_);
    buffer_ += line;
    if (buffer_.size() >= kBlockBytes) block.swap(buffer_);
  }
  if (!block.empty()) WriteOut(block);
}

}  // namespace steward::gateway
