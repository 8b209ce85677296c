#include "audit/proof_json.h"

#include "common/strings.h"

namespace steward::audit {
boost::json::array HashListJson(const std::vector<Hash>& hashes) {
  boost::json::array a;
  a.reserve(hashes.size());
  for (const auto& h : hashes) a.push_back(boost::json::string(ToHex(h)));
  return a;
}

boost::json::object TreeHeadJson(const TreeHead& head) {
  boost::json::object o;
  o["tree_size"] = head.tree_size;
  o["root_hash"] = ToHex(head.root_hash);
  o["timestamp_ms"] = head.timestamp_ms;
  o["public_key"] = Base64Encode(head.public_key);
  o["signature"] = Base64Encode(head.signature);
  return o;
}

boost::json::object InclusionProofJson(const InclusionProofResult& proof) {
  boost::json::object o;
  o["leaf_index"] = proof.leaf_index;
  o["tree_size"] = proof.tree_size;
  o["leaf_hash"] = ToHex(proof.leaf_hash);
  o["audit_path"] = HashListJson(proof.audit_path);
  o["root_hash"] = ToHex(proof.root_hash);
  return o;
}

boost::json::object ConsistencyProofJson(const ConsistencyProofResult& proof) {
  boost::json::object o;
  o["first"] = proof.first;
  o["second"] = proof.second;
  o["first_hash"] = ToHex(proof.first_hash);
  o["second_hash"] = ToHex(proof.second_hash);
  o["consistency_path"] = HashListJson(proof.path);
  return o;
}

}  // namespace steward::audit
