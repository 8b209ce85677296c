// Secret key files in the data dir: random bytes stored hex-encoded, mode
// 0600, written durably (fsync of file and directory). Shared by every
// module that keeps a key on disk (API-key pepper, audit keys, ...).
#pragma once

#include <string>
#include <string_view>

#include "steward/status.h"

namespace steward {

// Reads `bytes` random bytes stored hex-encoded in `path`, creating the file
// (0600, fsynced) when it is missing and `create` is set. A file readable by
// group or others is refused. Safe against a concurrent creator.
Result<std::string> LoadOrCreateKeyFile(const std::string& path, size_t bytes, bool create);
// Decodes a key given as exactly 2*`bytes` hex digits (surrounding
// whitespace ignored); errors name `what`.
Result<std::string> DecodeKeyText(std::string_view text, size_t bytes, const std::string& what);
// Writes `key` hex-encoded to `path` (0600) durably, replacing it atomically.
Status WriteKeyFile(const std::string& path, const std::string& key);
// Creates `path` (0600) holding `contents` only if nothing is there yet. The
// file appears whole and synced or not at all (written aside, then linked
// into place), so a process reading it concurrently never sees it half
// written. Returns false, not an error, when another process created it first.
Result<bool> PublishNewFile(const std::string& path, std::string_view contents);

}  // namespace steward
