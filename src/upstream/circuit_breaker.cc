#include "upstream/circuit_breaker.h"

namespace steward::upstream {

bool CircuitBreaker::Allow() {
  std::lock_guard lock(mu_);
  switch (state_) {
    case State::kClosed:
      return true;
    case State::kOpen:
      if (clock_.NowMonoNs() - opened_at_ns_ < config_.open_ms * 1'000'000) return false;
      state_ = State::kHalfOpen;
      probes_in_flight_ = 0;
      [[fallthrough]];
    case State::kHalfOpen:
      if (probes_in_flight_ >= config_.half_open_probes) return false;
      ++probes_in_flight_;
      return true;
  }
  return false;
}

void CircuitBreaker::OnSuccess() {
  std::lock_guard lock(mu_);
  consecutive_failures_ = 0;
  if (state_ == State::kHalfOpen) {
    state_ = State::kClosed;
    probes_in_flight_ = 0;
  }
}

void CircuitBreaker::OnFailure() {
  std::lock_guard lock(mu_);
  ++consecutive_failures_;
  if (state_ == State::kHalfOpen ||
      (state_ == State::kClosed && consecutive_failures_ >= config_.failure_threshold)) {
    state_ = State::kOpen;
    opened_at_ns_ = clock_.NowMonoNs();
    probes_in_flight_ = 0;
  }
}

CircuitBreaker::State CircuitBreaker::state() const {
  std::lock_guard lock(mu_);
  return state_;
}

int64_t CircuitBreaker::RetryAfterMs() const {
  std::lock_guard lock(mu_);
  if (state_ != State::kOpen) return 0;
  int64_t left = config_.open_ms - (clock_.NowMonoNs() - opened_at_ns_) / 1'000'000;
  return left > 0 ? left : 0;
}

std::string_view CircuitBreaker::StateName(State s) {
  switch (s) {
    case State::kClosed: return "closed";
    case State::kOpen: return "open";
    case State::kHalfOpen: return "half_open";
  }
  return "unknown";
}

}  // namespace steward::upstream
