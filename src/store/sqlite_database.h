// SQLite backend of the Database interface: one file, WAL journal,
// synchronous=FULL (a commit is on disk when Commit() returns), foreign keys
// on, a busy timeout so CLI commands and a running gateway can share a file.
#pragma once

#include <memory>
#include <string>

#include "steward/store.h"

namespace steward::store {

Result<std::unique_ptr<Database>> OpenSqlite(const std::string& path);

}  // namespace steward::store
