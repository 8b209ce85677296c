#include "policy/regex.h"

#include "common/vectorscan.h"

#include <hs/hs.h>

namespace steward::policy {
namespace {

// One scratch per thread, grown to fit every database it has scanned.
struct ThreadScratch {
  hs_scratch_t* scratch = nullptr;
  ~ThreadScratch() {
    if (scratch) hs_free_scratch(scratch);
  }
};

int OnMatch(unsigned int, unsigned long long, unsigned long long, unsigned int, void* ctx) {
  *static_cast<bool*>(ctx) = true;
  return 1;  // stop at the first match
}

}  // namespace

Result<std::shared_ptr<const Regex>> Regex::Compile(const std::string& pattern) {
  if (pattern.find('\0') != std::string::npos) {
    return InvalidArgument("pattern contains a NUL byte");
  }
  hs_database_t* db = nullptr;
  hs_compile_error_t* err = nullptr;
  unsigned flags = HS_FLAG_SINGLEMATCH | HS_FLAG_ALLOWEMPTY;
  if (hs_compile(pattern.c_str(), flags, HS_MODE_BLOCK, HsPlatform(), &db, &err) != HS_SUCCESS) {
    std::string message = err && err->message ? err->message : "cannot compile";
    hs_free_compile_error(err);
    return InvalidArgument("invalid pattern \"" + pattern + "\": " + message);
  }
  return std::shared_ptr<const Regex>(new Regex(pattern, db));
}

Regex::~Regex() { hs_free_database(db_); }

bool Regex::Matches(std::string_view text, std::string* error) const {
  thread_local ThreadScratch tls;
  if (hs_alloc_scratch(db_, &tls.scratch) != HS_SUCCESS) {
    *error = "cannot allocate regex scratch space";
    return false;
  }
  bool matched = false;
  hs_error_t rc = HsScan(db_, text.data(), static_cast<unsigned>(text.size()), tls.scratch,
                          OnMatch, &matched);
  if (rc != HS_SUCCESS && rc != HS_SCAN_TERMINATED) {
    *error = "regex scan failed (" + std::to_string(rc) + ")";
    return false;
  }
  return matched;
}

}  // namespace steward::policy
