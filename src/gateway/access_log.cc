#include "gateway/access_log.h"

#include <spdlog/async.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace steward::gateway {

Result<std::unique_ptr<AccessLog>> AccessLog::Open(const std::string& target) {
  auto log = std::unique_ptr<AccessLog>(new AccessLog());
  if (target == "off") return log;
  try {
    static std::once_flag once;
    std::call_once(once, [] { spdlog::init_thread_pool(8192, 1); });
    std::shared_ptr<spdlog::sinks::sink> sink;
    if (target == "-") {
      sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
    } else {
      sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(target);
    }
    // Overrun the oldest entry rather than block a request when the disk is slow.
    log->logger_ = std::make_shared<spdlog::async_logger>("access", sink, spdlog::thread_pool(),
                                                          spdlog::async_overflow_policy::overrun_oldest);
    log->logger_->set_pattern("%v");
    log->logger_->flush_on(spdlog::level::warn);
  } catch (const spdlog::spdlog_ex& e) {
    return Unavailable(std::string("cannot open access log ") + target + ": " + e.what());
  }
  return log;
}

AccessLog::~AccessLog() {
  if (logger_) logger_->flush();
}

void AccessLog::Write(const RequestContext& ctx, double latency_ms) {
  if (!logger_) return;
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
  logger_->info(boost::json::serialize(o));
}

}  // namespace steward::gateway
