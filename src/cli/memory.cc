#include "cli/memory.h"

#ifdef STEWARD_WITH_MIMALLOC
#include <mimalloc.h>
#else
#include <malloc.h>
#endif

namespace steward::cli {

// mimalloc keeps freed pages, and freed spans of its segments, committed for a
// short delay to serve the next allocation. A forced collect at the end of
// start-up does not decommit the segment spans already waiting out their delay
// (the scanner's load-time garbage stayed resident: 24 MB anon vs 11 MB with
// both delays at zero from the start), so the delays are zero for the whole
// start-up instead.
StartupMemoryScope::StartupMemoryScope() {
#ifdef STEWARD_WITH_MIMALLOC
  page_delay_ = mi_option_get(mi_option_decommit_delay);
  segment_delay_ = mi_option_get(mi_option_segment_decommit_delay);
  mi_option_set(mi_option_decommit_delay, 0);
  mi_option_set(mi_option_segment_decommit_delay, 0);
#endif
}

StartupMemoryScope::~StartupMemoryScope() {
#ifdef STEWARD_WITH_MIMALLOC
  mi_collect(/*force=*/true);
  mi_option_set(mi_option_decommit_delay, page_delay_);
  mi_option_set(mi_option_segment_decommit_delay, segment_delay_);
#else
  malloc_trim(0);
#endif
}

}  // namespace steward::cli
