#include "cli/memory.h"

#ifdef STEWARD_WITH_MIMALLOC
#include <mimalloc.h>
#else
#include <malloc.h>
#endif

namespace steward::cli {

void ReleaseFreedMemory() {
#ifdef STEWARD_WITH_MIMALLOC
  // mimalloc keeps freed pages committed for a short delay to serve the next
  // allocation; at start-up there is no next allocation, so decommit now.
  long delay = mi_option_get(mi_option_decommit_delay);
  mi_option_set(mi_option_decommit_delay, 0);
  mi_collect(/*force=*/true);
  mi_option_set(mi_option_decommit_delay, delay);
#else
  malloc_trim(0);
#endif
}

}  // namespace steward::cli
