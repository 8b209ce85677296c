// The types of the policy expression language.
#pragma once

namespace steward::policy {

enum class Type {
  kUnknown,
  kBool,
  kLong,
  kDouble,
  kString,
  kStringSet,
  kLongSet,
  kEmptySet,    // `[]`: compatible with any set type
  kFinding,     // {count: Long, max_score: Double}
  kFindingMap,  // context.findings: entity type -> Finding
  kRecord,      // principal / resource / context and their sub-records
};

const char* TypeName(Type t);
inline bool IsNumeric(Type t) { return t == Type::kLong || t == Type::kDouble; }
inline bool IsSet(Type t) {
  return t == Type::kStringSet || t == Type::kLongSet || t == Type::kEmptySet;
}

}  // namespace steward::policy
