#pragma once

#include <string>

namespace steward {

// Reading a memory-mapped file turns an I/O error, or the file shrinking under
// the mapping, into SIGBUS, which would kill the process with a core dump and
// no word about why. While a MappedFileFaultExit lives, a SIGBUS instead ends
// the process with `message` on stderr and `exit_code`. Exiting is the only
// safe answer: the faulting read cannot be resumed, and a handler may not
// unwind through SQLite or another thread's stack. Use it only around
// read-only work, so that ending there loses nothing.
//
// One at a time per process; the previous SIGBUS disposition is restored when
// it ends.
class MappedFileFaultExit {
 public:
  MappedFileFaultExit(const std::string& message, int exit_code);
  ~MappedFileFaultExit();
  MappedFileFaultExit(const MappedFileFaultExit&) = delete;
  MappedFileFaultExit& operator=(const MappedFileFaultExit&) = delete;
};

}  // namespace steward
