#pragma once

namespace steward::cli {

// Start-up allocates and frees a lot (pattern databases, model and gazetteer
// loading) that a long-running gateway never needs again. While a
// StartupMemoryScope lives, freed memory goes back to the OS at once; when it
// ends, the allocator's normal reuse delays return for the request path, and
// what is still held free is released, so the gateway's resident set at rest is
// what it actually uses.
class StartupMemoryScope {
 public:
  StartupMemoryScope();
  ~StartupMemoryScope();
  StartupMemoryScope(const StartupMemoryScope&) = delete;
  StartupMemoryScope& operator=(const StartupMemoryScope&) = delete;

 private:
  long page_delay_ = 0;
  long segment_delay_ = 0;
};

}  // namespace steward::cli
