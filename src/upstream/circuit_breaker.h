// A per-upstream circuit breaker: closed → (failure_threshold consecutive
// failures) → open → (open_ms elapsed) → half-open: up to half_open_probes
// calls go through; a success closes the circuit, a failure reopens it.
// Thread-safe; time comes from a Clock so tests drive it.
#pragma once

#include <mutex>
#include <string_view>

#include "config/config.h"
#include "steward/clock.h"

namespace steward::upstream {

class CircuitBreaker {
 public:
  enum class State { kClosed, kOpen, kHalfOpen };

  CircuitBreaker(config::BreakerConfig config, const Clock& clock) : config_(config), clock_(clock) {}

  // True if a call may go ahead now. A true in half-open state reserves a
  // probe slot, which the caller must release with OnSuccess/OnFailure.
  bool Allow();
  void OnSuccess();
  void OnFailure();

  State state() const;
  // Milliseconds until an open circuit lets a probe through (0 if not open).
  int64_t RetryAfterMs() const;
  static std::string_view StateName(State s);

 private:
  config::BreakerConfig config_;
  const Clock& clock_;
  mutable std::mutex mu_;
  State state_ = State::kClosed;
  int consecutive_failures_ = 0;
  int64_t opened_at_ns_ = 0;
  int probes_in_flight_ = 0;
};

}  // namespace steward::upstream
