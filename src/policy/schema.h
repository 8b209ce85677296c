// The attribute schema: every attribute a policy may read, with its type.
// The checker refuses any other path (`principal.rol` is an error, not
// silently absent), so a typo cannot weaken a policy.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "policy/types.h"

namespace steward::policy {

enum class Attr {
  kPrincipalKeyId,
  kPrincipalName,
  kPrincipalRole,
  kPrincipalTeam,
  kPrincipalAuthenticated,
  kAction,
  kResourceName,
  kResourceVersion,
  kResourceState,
  kResourceLicense,
  kResourceCommercialUse,
  kResourceTags,
  kResourceResidency,
  kResourceDigest,
  kResourceRole,
  kContextSubject,
  kContextClientIp,
  kContextPlane,
  kContextTimeUnixMs,
  kContextTimeHour,
  kContextTimeWeekday,
  kContextTokensPrompt,
  kContextTokensCompletion,
  kContextTokensTotal,
  kContextRequestBytes,
  kContextStream,
  kContextInjectionScore,
  kContextInjectionThreshold,
  kContextInjectionSignals,
  kContextFindings,
  kContextFindingTypes,
  kContextFindingsTotal,
  kContextSubjectFlags,
  kContextDeploymentCommercial,
  kCount,
};
constexpr int kNumAttrs = static_cast<int>(Attr::kCount);

struct AttrInfo {
  Attr attr;
  const char* path;  // "principal.role"
  Type type;
  const char* doc;
};

const std::vector<AttrInfo>& Schema();
const AttrInfo& InfoOf(Attr a);
// The attribute at exactly `path`, or null.
const AttrInfo* FindAttr(std::string_view path);
// True when `path` is a record with attributes below it ("context.time").
bool IsRecordPath(std::string_view path);
// The attribute names directly below record `path`, for error messages.
std::vector<std::string> ChildrenOf(std::string_view path);

}  // namespace steward::policy
