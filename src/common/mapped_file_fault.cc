#include "common/mapped_file_fault.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace steward {
namespace {

// The handler may only touch what was prepared before it was installed and
// call async-signal-safe functions (write, _exit).
char fault_message[1024];
size_t fault_message_length = 0;
int fault_exit_code = 1;
struct sigaction previous_action;

void ExitOnMappedFileFault(int) {
  ssize_t ignored = ::write(STDERR_FILENO, fault_message, fault_message_length);
  (void)ignored;
  ::_exit(fault_exit_code);
}

}  // namespace

MappedFileFaultExit::MappedFileFaultExit(const std::string& message, int exit_code) {
  const std::string line = message + "\n";
  fault_message_length = std::min(line.size(), sizeof fault_message);
  std::memcpy(fault_message, line.data(), fault_message_length);
  fault_exit_code = exit_code;
  struct sigaction action = {};
  action.sa_handler = ExitOnMappedFileFault;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGBUS, &action, &previous_action);
}

MappedFileFaultExit::~MappedFileFaultExit() { ::sigaction(SIGBUS, &previous_action, nullptr); }

}  // namespace steward
