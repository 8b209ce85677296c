#pragma once

namespace steward::cli {

// Hands back to the OS the memory that start-up allocated and freed again
// (pattern-database compilation, model and gazetteer loading), so a long-running
// gateway's resident set is what it actually uses.
void ReleaseFreedMemory();

}  // namespace steward::cli
