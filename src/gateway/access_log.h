// The structured access log: one JSON object per request with who, what,
// outcome and timing — never secrets, never prompt or completion text.
#pragma once

#include <memory>
#include <string>

#include "steward/stage.h"
#include "steward/status.h"

namespace spdlog {
class logger;
}

namespace steward::gateway {

class AccessLog {
 public:
  // `target`: a file path, "-" for stdout, or "off".
  static Result<std::unique_ptr<AccessLog>> Open(const std::string& target);
  ~AccessLog();
  void Write(const RequestContext& ctx, double latency_ms);

 private:
  std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace steward::gateway
