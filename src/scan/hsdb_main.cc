// scan_hsdb FILE: writes the scanner's Vectorscan databases, compiled and
// serialised, to FILE (the build runs it; see WritePatternDatabases).
#include <cstdio>

#include "scan/scanner.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: scan_hsdb FILE\n");
    return 2;
  }
  steward::Status st = steward::scan::WritePatternDatabases(argv[1]);
  if (!st.ok()) {
    std::fprintf(stderr, "scan_hsdb: %s\n", st.message().c_str());
    return 1;
  }
  return 0;
}
