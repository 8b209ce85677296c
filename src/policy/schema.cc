#include "policy/schema.h"

namespace steward::policy {

const char* TypeName(Type t) {
  switch (t) {
    case Type::kUnknown:
      return "unknown";
    case Type::kBool:
      return "Bool";
    case Type::kLong:
      return "Long";
    case Type::kDouble:
      return "Double";
    case Type::kString:
      return "String";
    case Type::kStringSet:
      return "Set<String>";
    case Type::kLongSet:
      return "Set<Long>";
    case Type::kEmptySet:
      return "Set<?>";
    case Type::kFinding:
      return "Finding";
    case Type::kFindingMap:
      return "Map<String, Finding>";
    case Type::kRecord:
      return "Record";
  }
  return "?";
}

const std::vector<AttrInfo>& Schema() {
  static const std::vector<AttrInfo> schema = {
      {Attr::kPrincipalKeyId, "principal.key_id", Type::kString, "API key id"},
      {Attr::kPrincipalName, "principal.name", Type::kString, "key name"},
      {Attr::kPrincipalRole, "principal.role", Type::kString, "user | admin | analyst | ..."},
      {Attr::kPrincipalTeam, "principal.team", Type::kString, "team of the key"},
      {Attr::kPrincipalAuthenticated, "principal.authenticated", Type::kBool,
       "true once a key was verified"},
      {Attr::kAction, "action", Type::kString,
       "chat.completions | completions | embeddings | models | admin actions (keys.create, ...)"},
      {Attr::kResourceName, "resource.name", Type::kString, "model name as requested"},
      {Attr::kResourceVersion, "resource.version", Type::kString, "model version"},
      {Attr::kResourceState, "resource.state", Type::kString,
       "registry state: registered | approved | retired | ..."},
      {Attr::kResourceLicense, "resource.license", Type::kString, "SPDX license id"},
      {Attr::kResourceCommercialUse, "resource.commercial_use", Type::kBool,
       "license allows commercial use"},
      {Attr::kResourceTags, "resource.tags", Type::kStringSet, "registry tags"},
      {Attr::kResourceResidency, "resource.residency", Type::kString, "data residency, e.g. eu"},
      {Attr::kResourceDigest, "resource.digest", Type::kString, "weights digest"},
      {Attr::kResourceRole, "resource.role", Type::kString,
       "admin actions on keys: the role of the key created or revoked"},
      {Attr::kContextSubject, "context.subject", Type::kString, "data subject of the call"},
      {Attr::kContextClientIp, "context.client_ip", Type::kString, "caller address"},
      {Attr::kContextPlane, "context.plane", Type::kString, "data | admin"},
      {Attr::kContextTimeUnixMs, "context.time.unix_ms", Type::kLong, "request time (UTC ms)"},
      {Attr::kContextTimeHour, "context.time.hour", Type::kLong, "0..23 (UTC)"},
      {Attr::kContextTimeWeekday, "context.time.weekday", Type::kLong, "0 = Sunday .. 6 (UTC)"},
      {Attr::kContextTokensPrompt, "context.tokens.prompt", Type::kLong, "prompt tokens"},
      {Attr::kContextTokensCompletion, "context.tokens.completion", Type::kLong,
       "completion tokens (requested max_tokens before the call)"},
      {Attr::kContextTokensTotal, "context.tokens.total", Type::kLong, "prompt + completion"},
      {Attr::kContextRequestBytes, "context.request_bytes", Type::kLong, "request body size"},
      {Attr::kContextStream, "context.stream", Type::kBool, "streamed reply requested"},
      {Attr::kContextInjectionScore, "context.injection_score", Type::kDouble,
       "prompt-injection score 0..1, -1 when not screened"},
      {Attr::kContextInjectionThreshold, "context.injection_threshold", Type::kDouble,
       "the injection detector's threshold for direct input (0.5 unless the gateway says)"},
      {Attr::kContextInjectionSignals, "context.injection_signals", Type::kStringSet,
       "injection signatures that fired"},
      {Attr::kContextFindings, "context.findings", Type::kFindingMap,
       "entity type -> {count, max_score} of input findings"},
      {Attr::kContextFindingTypes, "context.finding_types", Type::kStringSet,
       "entity types found in the input"},
      {Attr::kContextFindingsTotal, "context.findings_total", Type::kLong,
       "number of input findings of all types"},
      {Attr::kContextSubjectFlags, "context.subject_flags", Type::kStringSet,
       "flags of the data subject, e.g. no-store"},
      {Attr::kContextDeploymentCommercial, "context.deployment.commercial", Type::kBool,
       "the deployment is commercial (config deployment.commercial)"},
  };
  return schema;
}

const AttrInfo& InfoOf(Attr a) { return Schema()[static_cast<size_t>(a)]; }

const AttrInfo* FindAttr(std::string_view path) {
  for (const auto& info : Schema()) {
    if (path == info.path) return &info;
  }
  return nullptr;
}

bool IsRecordPath(std::string_view path) {
  if (path == "principal" || path == "resource" || path == "context") return true;
  for (const auto& info : Schema()) {
    std::string_view p = info.path;
    if (p.size() > path.size() && p.substr(0, path.size()) == path && p[path.size()] == '.') {
      return true;
    }
  }
  return false;
}

std::vector<std::string> ChildrenOf(std::string_view path) {
  std::vector<std::string> out;
  for (const auto& info : Schema()) {
    std::string_view p = info.path;
    if (p.size() > path.size() && p.substr(0, path.size()) == path && p[path.size()] == '.') {
      std::string_view rest = p.substr(path.size() + 1);
      std::string child(rest.substr(0, rest.find('.')));
      bool seen = false;
      for (const auto& c : out) seen = seen || c == child;
      if (!seen) out.push_back(child);
    }
  }
  return out;
}

}  // namespace steward::policy
