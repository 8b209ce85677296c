// The JSON shapes SPEC fixes for signed tree heads and proofs, shared by the
// CLI (`audit sth|prove|consistency`), the export's sth.json and the admin
// API (/admin/audit/...), so every way of asking gives the same document.
#pragma once

#include <boost/json/object.hpp>

#include "audit/log_store.h"
#include "audit/verify.h"

namespace steward::audit {

// ["<hex>", ...]: an audit or consistency path.
boost::json::array HashListJson(const std::vector<Hash>& hashes);
// {"tree_size","root_hash","timestamp_ms","public_key","signature"}
boost::json::object TreeHeadJson(const TreeHead& head);
// {"leaf_index","tree_size","leaf_hash","audit_path","root_hash"}
boost::json::object InclusionProofJson(const InclusionProofResult& proof);
// {"first","second","first_hash","second_hash","consistency_path"}
boost::json::object ConsistencyProofJson(const ConsistencyProofResult& proof);

}  // namespace steward::audit
