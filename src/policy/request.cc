#include "policy/request.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <ctime>

#include "common/strings.h"

namespace steward::policy {

namespace json = boost::json;

Request::Request() {
  values_[static_cast<size_t>(Attr::kContextInjectionScore)].d = -1.0;
  values_[static_cast<size_t>(Attr::kContextInjectionThreshold)].d = kDefaultInjectionThreshold;
}

void Request::SetString(Attr a, std::string v) { mut(a).s = std::move(v); }
void Request::SetLong(Attr a, int64_t v) { mut(a).i = v; }
void Request::SetDouble(Attr a, double v) { mut(a).d = v; }
void Request::SetBool(Attr a, bool v) { mut(a).b = v; }
void Request::SetSet(Attr a, std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  mut(a).set = std::move(v);
}

void Request::AddFinding(std::string_view type, int64_t count, double max_score) {
  auto it = std::lower_bound(findings_.begin(), findings_.end(), type,
                             [](const FindingStat& f, std::string_view t) { return f.type < t; });
  if (it != findings_.end() && it->type == type) {
    it->count += count;
    it->max_score = std::max(it->max_score, max_score);
  } else {
    findings_.insert(it, FindingStat{std::string(type), count, max_score});
  }
  present_.set(static_cast<size_t>(Attr::kContextFindings));
  std::vector<std::string> types;
  int64_t total = 0;
  for (const auto& f : findings_) {
    types.push_back(f.type);
    total += f.count;
  }
  mut(Attr::kContextFindingTypes).set = std::move(types);
  mut(Attr::kContextFindingsTotal).i = total;
}

const FindingStat* Request::Finding(std::string_view type) const {
  auto it = std::lower_bound(findings_.begin(), findings_.end(), type,
                             [](const FindingStat& f, std::string_view t) { return f.type < t; });
  return it != findings_.end() && it->type == type ? &*it : nullptr;
}

void Request::Finish() {
  if (Has(Attr::kContextTimeUnixMs)) {
    time_t secs = static_cast<time_t>(Long(Attr::kContextTimeUnixMs) / 1000);
    struct tm tm {};
    gmtime_r(&secs, &tm);
    if (!Has(Attr::kContextTimeHour)) SetLong(Attr::kContextTimeHour, tm.tm_hour);
    if (!Has(Attr::kContextTimeWeekday)) SetLong(Attr::kContextTimeWeekday, tm.tm_wday);
  }
  if (!Has(Attr::kContextTokensTotal) &&
      (Has(Attr::kContextTokensPrompt) || Has(Attr::kContextTokensCompletion))) {
    SetLong(Attr::kContextTokensTotal,
            Long(Attr::kContextTokensPrompt) + Long(Attr::kContextTokensCompletion));
  }
}

namespace {

// "2026-11-27T10:00:00Z" (optionally with .fff) -> unix ms.
bool ParseIsoTime(std::string_view s, int64_t* ms) {
  int y, mo, d, h, mi, sec;
  if (s.size() < 20 || s.back() != 'Z') return false;
  std::string z(s);
  if (sscanf(z.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &sec) != 6) return false;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return false;
  struct tm tm {};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  int64_t frac = 0;
  if (z.size() > 20 && z[19] == '.') {
    int digits = 0;
    for (size_t i = 20; i + 1 < z.size() && digits < 3; ++i, ++digits) {
      if (!isdigit(static_cast<unsigned char>(z[i]))) return false;
      frac = frac * 10 + (z[i] - '0');
    }
    while (digits++ < 3) frac *= 10;
  }
  *ms = static_cast<int64_t>(timegm(&tm)) * 1000 + frac;
  return true;
}

Status TypeError(const std::string& path, const char* want) {
  return InvalidArgument("request attribute `" + path + "` must be " + want);
}

Result<std::vector<std::string>> StringList(const json::value& v, const std::string& path) {
  if (!v.is_array()) return TypeError(path, "a list of strings");
  std::vector<std::string> out;
  for (const auto& e : v.as_array()) {
    if (!e.is_string()) return TypeError(path, "a list of strings");
    out.emplace_back(e.as_string());
  }
  return out;
}

Result<double> Number(const json::value& v, const std::string& path) {
  if (v.is_int64()) return static_cast<double>(v.as_int64());
  if (v.is_uint64()) return static_cast<double>(v.as_uint64());
  if (v.is_double()) return v.as_double();
  return TypeError(path, "a number");
}

Status Walk(const json::object& obj, const std::string& prefix, Request* r) {
  for (const auto& [key_sv, v] : obj) {
    std::string key(key_sv);
    std::string path = prefix.empty() ? key : prefix + "." + key;
    if (path == "context.findings") {
      if (!v.is_object()) return TypeError(path, "an object of entity type -> {count, max_score}");
      for (const auto& [type, stat] : v.as_object()) {
        std::string fpath = path + "." + std::string(type);
        if (!stat.is_object()) return TypeError(fpath, "an object {count, max_score}");
        int64_t count = 0;
        double max_score = 0;
        for (const auto& [fk, fv] : stat.as_object()) {
          if (fk == "count") {
            if (!fv.is_int64() || fv.as_int64() < 0)
              return TypeError(fpath + ".count", "a non-negative integer");
            count = fv.as_int64();
          } else if (fk == "max_score") {
            STEWARD_ASSIGN_OR_RETURN(max_score, Number(fv, fpath + ".max_score"));
          } else {
            return InvalidArgument("unknown request attribute `" + fpath + "." + std::string(fk) +
                                   "` (known: count, max_score)");
          }
        }
        r->AddFinding(type, count, max_score);
      }
      continue;
    }
    if (path == "context.finding_types" || path == "context.findings_total") {
      return InvalidArgument("request attribute `" + path +
                             "` is derived from context.findings; set that instead");
    }
    if (path == "context.time" && v.is_string()) {
      int64_t ms;
      if (!ParseIsoTime(v.as_string(), &ms)) {
        return TypeError(path, "an ISO 8601 UTC time like 2026-01-31T09:30:00Z or an object");
      }
      r->SetLong(Attr::kContextTimeUnixMs, ms);
      continue;
    }
    const AttrInfo* info = FindAttr(path);
    if (info) {
      switch (info->type) {
        case Type::kString:
          if (!v.is_string()) return TypeError(path, "a string");
          r->SetString(info->attr, std::string(v.as_string()));
          break;
        case Type::kLong:
          if (!v.is_int64()) return TypeError(path, "an integer");
          r->SetLong(info->attr, v.as_int64());
          break;
        case Type::kDouble: {
          STEWARD_ASSIGN_OR_RETURN(double d, Number(v, path));
          r->SetDouble(info->attr, d);
          break;
        }
        case Type::kBool:
          if (!v.is_bool()) return TypeError(path, "true or false");
          r->SetBool(info->attr, v.as_bool());
          break;
        case Type::kStringSet: {
          STEWARD_ASSIGN_OR_RETURN(auto list, StringList(v, path));
          r->SetSet(info->attr, std::move(list));
          break;
        }
        default:
          return InvalidArgument("request attribute `" + path + "` cannot be set");
      }
      continue;
    }
    if (IsRecordPath(path)) {
      if (!v.is_object()) return TypeError(path, "an object");
      STEWARD_RETURN_IF_ERROR(Walk(v.as_object(), path, r));
      continue;
    }
    std::string known;
    for (const auto& c : ChildrenOf(prefix.empty() ? "" : prefix)) {
      known += (known.empty() ? "" : ", ") + c;
    }
    if (prefix.empty()) known = "principal, action, resource, context";
    return InvalidArgument("unknown request attribute `" + path + "` (known: " + known + ")");
  }
  return Status::Ok();
}

}  // namespace

Result<Request> RequestFromJson(const json::value& value) {
  if (!value.is_object()) return InvalidArgument("a policy request must be a JSON object");
  Request r;
  STEWARD_RETURN_IF_ERROR(Walk(value.as_object(), "", &r));
  r.Finish();
  return r;
}

Result<Request> RequestFromJsonText(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return InvalidArgument("request is not valid JSON: " + ec.message());
  return RequestFromJson(v);
}

json::object RequestToJson(const Request& r) {
  json::object root;
  for (const auto& info : Schema()) {
    if (!r.Has(info.attr)) continue;
    if (info.attr == Attr::kContextFindingTypes || info.attr == Attr::kContextFindingsTotal)
      continue;
    json::value v;
    switch (info.type) {
      case Type::kString:
        v = json::string(r.String(info.attr));
        break;
      case Type::kLong:
        v = r.Long(info.attr);
        break;
      case Type::kDouble:
        v = r.Double(info.attr);
        break;
      case Type::kBool:
        v = r.Bool(info.attr);
        break;
      case Type::kStringSet: {
        json::array a;
        for (const auto& s : r.Set(info.attr)) a.emplace_back(json::string(s));
        v = std::move(a);
        break;
      }
      case Type::kFindingMap: {
        json::object m;
        for (const auto& f : r.findings()) {
          m[f.type] = json::object{{"count", f.count}, {"max_score", f.max_score}};
        }
        v = std::move(m);
        break;
      }
      default:
        continue;
    }
    // Place v at its dotted path.
    std::vector<std::string_view> parts = Split(info.path, '.');
    json::object* cur = &root;
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      json::value& next = (*cur)[parts[i]];
      if (!next.is_object()) next = json::object();
      cur = &next.as_object();
    }
    (*cur)[parts.back()] = std::move(v);
  }
  return root;
}

CommercialUse LicenseCommercialUse(std::string_view spdx) {
  static const char* kCommercial[] = {"Apache-2.0",
                                      "MIT",
                                      "BSD-2-Clause",
                                      "BSD-3-Clause",
                                      "ISC",
                                      "MPL-2.0",
                                      "CC-BY-4.0",
                                      "CC-BY-SA-4.0",
                                      "CC0-1.0",
                                      "Unlicense",
                                      "0BSD",
                                      "Zlib",
                                      "BSL-1.0",
                                      "GPL-2.0-only",
                                      "GPL-3.0-only",
                                      "LGPL-3.0-only",
                                      "AGPL-3.0-only",
                                      "OpenRAIL",
                                      "OpenRAIL-M",
                                      "CreativeML-OpenRAIL-M",
                                      "BigScience-OpenRAIL-M",
                                      "llama2",
                                      "llama3",
                                      "llama3.1",
                                      "llama3.2",
                                      "llama3.3",
                                      "gemma"};
  for (const char* id : kCommercial) {
    if (spdx == id) return CommercialUse::kYes;
  }
  std::string upper;
  for (char c : spdx) upper += static_cast<char>(toupper(static_cast<unsigned char>(c)));
  if (upper.find("-NC") != std::string::npos || upper.find("NONCOMMERCIAL") != std::string::npos ||
      upper.find("NON-COMMERCIAL") != std::string::npos ||
      upper.find("RESEARCH") != std::string::npos) {
    return CommercialUse::kNo;
  }
  return CommercialUse::kUnknown;
}

namespace {

int64_t RequestedCompletionTokens(const json::object& body) {
  for (const char* key : {"max_completion_tokens", "max_tokens"}) {
    auto it = body.find(key);
    if (it != body.end() && it->value().is_int64() && it->value().as_int64() > 0) {
      return it->value().as_int64();
    }
  }
  return 0;
}

}  // namespace

Request RequestFromContext(const RequestContext& ctx, const RequestDefaults& defaults) {
  Request r;
  const Principal& p = ctx.principal;
  r.SetBool(Attr::kPrincipalAuthenticated, p.authenticated);
  if (!p.key_id.empty()) r.SetString(Attr::kPrincipalKeyId, p.key_id);
  if (!p.name.empty()) r.SetString(Attr::kPrincipalName, p.name);
  if (!p.role.empty()) r.SetString(Attr::kPrincipalRole, p.role);
  if (!p.team.empty()) r.SetString(Attr::kPrincipalTeam, p.team);
  r.SetString(Attr::kAction, std::string(EndpointName(ctx.endpoint)));
  if (!ctx.model.empty()) r.SetString(Attr::kResourceName, ctx.model);
  if (!ctx.model_version.empty()) r.SetString(Attr::kResourceVersion, ctx.model_version);
  if (!ctx.weights_digest.empty()) r.SetString(Attr::kResourceDigest, ctx.weights_digest);
  if (!ctx.model_state.empty()) r.SetString(Attr::kResourceState, ctx.model_state);
  if (!ctx.model_license.empty()) r.SetString(Attr::kResourceLicense, ctx.model_license);
  if (!ctx.model_tags.empty()) r.SetSet(Attr::kResourceTags, ctx.model_tags);
  auto attr = [&](const char* key) -> const std::string* {
    auto it = ctx.resource_attrs.find(key);
    return it == ctx.resource_attrs.end() ? nullptr : &it->second;
  };
  if (const std::string* v = attr("residency")) r.SetString(Attr::kResourceResidency, *v);
  if (const std::string* v = attr("commercial_use")) {
    r.SetBool(Attr::kResourceCommercialUse, *v == "true");
  } else if (!ctx.model_license.empty()) {
    CommercialUse cu = LicenseCommercialUse(ctx.model_license);
    if (cu != CommercialUse::kUnknown) {
      r.SetBool(Attr::kResourceCommercialUse, cu == CommercialUse::kYes);
    }
  }
  if (!ctx.subject.empty()) r.SetString(Attr::kContextSubject, ctx.subject);
  if (!ctx.client_ip.empty()) r.SetString(Attr::kContextClientIp, ctx.client_ip);
  r.SetString(Attr::kContextPlane, "data");
  r.SetLong(Attr::kContextTimeUnixMs, ctx.start_unix_ms);
  r.SetLong(Attr::kContextTokensPrompt, ctx.usage.prompt_tokens);
  r.SetLong(Attr::kContextTokensCompletion, ctx.usage.completion_tokens > 0
                                                ? ctx.usage.completion_tokens
                                                : RequestedCompletionTokens(ctx.body));
  r.SetLong(Attr::kContextRequestBytes, static_cast<int64_t>(ctx.request_bytes));
  r.SetBool(Attr::kContextStream, ctx.stream);
  if (ctx.injection_score >= 0) r.SetDouble(Attr::kContextInjectionScore, ctx.injection_score);
  r.SetDouble(Attr::kContextInjectionThreshold, defaults.injection_threshold);
  if (!ctx.injection_signals.empty())
    r.SetSet(Attr::kContextInjectionSignals, ctx.injection_signals);
  for (const auto& f : ctx.findings) {
    if (f.direction == "output") continue;
    r.AddFinding(f.type, f.count, f.max_score);
  }
  if (!r.Has(Attr::kContextFindings)) {
    r.SetLong(Attr::kContextFindingsTotal, 0);
  }
  r.SetSet(Attr::kContextSubjectFlags, ctx.subject_flags);
  r.SetBool(Attr::kContextDeploymentCommercial, defaults.deployment_commercial);
  r.Finish();
  return r;
}

Request AdminRequest(const Principal& p, std::string_view action,
                     const std::map<std::string, std::string>& resource, int64_t unix_ms) {
  Request r;
  r.SetBool(Attr::kPrincipalAuthenticated, p.authenticated);
  if (!p.key_id.empty()) r.SetString(Attr::kPrincipalKeyId, p.key_id);
  if (!p.name.empty()) r.SetString(Attr::kPrincipalName, p.name);
  if (!p.role.empty()) r.SetString(Attr::kPrincipalRole, p.role);
  if (!p.team.empty()) r.SetString(Attr::kPrincipalTeam, p.team);
  r.SetString(Attr::kAction, std::string(action));
  for (const auto& [key, value] : resource) {
    const AttrInfo* info = FindAttr("resource." + key);
    if (!info) continue;
    if (info->type == Type::kString) r.SetString(info->attr, value);
    if (info->type == Type::kBool) r.SetBool(info->attr, value == "true");
    if (info->type == Type::kStringSet) {
      std::vector<std::string> items;
      for (auto part : Split(value, ',')) items.emplace_back(Trim(part));
      r.SetSet(info->attr, std::move(items));
    }
  }
  r.SetString(Attr::kContextPlane, "admin");
  r.SetLong(Attr::kContextTimeUnixMs, unix_ms);
  r.Finish();
  return r;
}

}  // namespace steward::policy
