#include "common/mapped_file_fault.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace steward {
namespace {

// Maps a two-page file, shrinks it to nothing and reads the mapping: the read
// faults with SIGBUS, as a mapped store read does when its file fails or shrinks.
int ReadPastShrunkMapping() {
  char path[] = "/tmp/steward_mapped_fault_XXXXXX";
  int fd = ::mkstemp(path);
  if (fd < 0) return -1;
  ::unlink(path);
  const size_t size = 2 * static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0) return -1;
  void* mapped = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  if (mapped == MAP_FAILED) return -1;
  if (::ftruncate(fd, 0) != 0) return -1;
  return static_cast<volatile const char*>(mapped)[size - 1];
}

TEST(MappedFileFaultExitTest, FaultEndsWithTheMessageAndExitCode) {
  EXPECT_EXIT(
      {
        MappedFileFaultExit guard("audit verify: I/O error reading the store", 1);
        ReadPastShrunkMapping();
        std::_Exit(0);  // not reached when the read faults
      },
      testing::ExitedWithCode(1), "audit verify: I/O error reading the store");
}

// After the guard, the fault is handled as before it: by the default action
// (killed by SIGBUS), or by AddressSanitizer's report when it is built in;
// either way not by the guard's exit code.
bool FaultedWithoutTheGuard(int status) {
  if (WIFSIGNALED(status)) return WTERMSIG(status) == SIGBUS;
  return WIFEXITED(status) && WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 3;
}

TEST(MappedFileFaultExitTest, PreviousDispositionReturnsWhenTheGuardEnds) {
  EXPECT_EXIT(
      {
        { MappedFileFaultExit guard("should not be printed", 3); }
        ReadPastShrunkMapping();
        std::_Exit(0);
      },
      FaultedWithoutTheGuard, "");
}

}  // namespace
}  // namespace steward
