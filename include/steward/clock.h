// Time behind an interface so tests can fake it.
#pragma once

#include <chrono>
#include <cstdint>

namespace steward {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock milliseconds since the Unix epoch (records, retention).
  virtual int64_t NowUnixMs() const = 0;
  // Monotonic nanoseconds (durations, rate limits); origin unspecified.
  virtual int64_t NowMonoNs() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t NowUnixMs() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  int64_t NowMonoNs() const override {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  static SystemClock& Instance() {
    static SystemClock clock;
    return clock;
  }
};

// A clock tests move by hand.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t unix_ms = 1'700'000'000'000) : unix_ms_(unix_ms) {}
  int64_t NowUnixMs() const override { return unix_ms_; }
  int64_t NowMonoNs() const override { return mono_ns_; }
  void AdvanceMs(int64_t ms) {
    unix_ms_ += ms;
    mono_ns_ += ms * 1'000'000;
  }

 private:
  int64_t unix_ms_;
  int64_t mono_ns_ = 1'000'000'000;
};

}  // namespace steward
