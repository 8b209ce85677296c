#pragma once

#include <hs/hs.h>

namespace steward {

// Which Vectorscan runtime scans. Debian 12's vectorscan 5.4.9 is a "fat"
// build whose hs_scan dispatches to an AVX-512 runtime on CPUs that have it,
// and that runtime misses matches depending on where the text sits in memory:
// single-byte literal searches only find bytes in the first 64 bytes or at the
// last byte of a 64-byte block (injection's signatures_test.cc,
// MatchesDoNotDependOnBufferAlignment, shows it). Its AVX2 runtime (exported
// as avx2_hs_scan) is correct and as fast, so when it exists and the CPU has
// AVX2, databases are compiled without AVX-512 features and scanned through
// it; otherwise hs_scan is used as is. Every Vectorscan user in Steward
// compiles with HsPlatform() and scans with HsScan().
using HsScanFunction = hs_error_t (*)(const hs_database_t*, const char*, unsigned int, unsigned int,
                                      hs_scratch_t*, match_event_handler, void*);

// The platform to pass to hs_compile*/hs_compile_multi (nullptr: the host).
const hs_platform_info_t* HsPlatform();

// The scan function matching HsPlatform(): avx2_hs_scan or hs_scan.
HsScanFunction HsScanner();

// Scans like hs_scan, through the runtime HsPlatform() compiled for.
inline hs_error_t HsScan(const hs_database_t* db, const char* data, unsigned int length,
                         hs_scratch_t* scratch, match_event_handler on_match, void* context) {
  return HsScanner()(db, data, length, 0, scratch, on_match, context);
}

}  // namespace steward
