#include "gateway/access_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <cstring>

#include "common/strings.h"

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
  // Formatted by hand into a reused buffer: a JSON object per line cost
  // more than the rest of the request's bookkeeping together.
  thread_local std::string line;
  line.clear();
  auto field = [&](std::string_view name) {
    line += line.empty() ? "{\"" : ",\"";
    line += name;
    line += "\":";
  };
  auto text = [&](std::string_view name, std::string_view value) {
    field(name);
    AppendJsonString(line, value);
  };
  auto number = [&](std::string_view name, int64_t value) {
    field(name);
    line += std::to_string(value);
  };
  number("ts_ms", ctx.start_unix_ms);
  text("request_id", ctx.request_id);
  text("method", ctx.method);
  text("path", ctx.path);
  text("client_ip", ctx.client_ip);
  text("key_id", ctx.principal.key_id);
  text("role", ctx.principal.role);
  text("model", ctx.model);
  text("upstream", ctx.upstream);
  field("stream");
  line += ctx.stream ? "true" : "false";
  number("status", ctx.status);
  field("latency_ms");
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), latency_ms, std::chars_format::fixed, 3);
  line.append(buf, end);
  number("bytes_in", static_cast<int64_t>(ctx.request_bytes));
  number("prompt_tokens", ctx.usage.prompt_tokens);
  number("completion_tokens", ctx.usage.completion_tokens);
  if (ctx.policy.evaluated) text("policy", ctx.policy.decision);
  if (!ctx.error_message.empty()) text("error", ctx.error_message);
  line += "}\n";
  std::string block;
  {
    std::lock_guard lock(mu_);
    buffer_ += line;
    if (buffer_.size() >= kBlockBytes) block.swap(buffer_);
  }
  if (!block.empty()) WriteOut(block);
}

}  // namespace steward::gateway
