#include "audit/request_record.h"

#include <cmath>

#include "audit/canonical_json.h"

namespace steward::audit {
namespace {

double Round4(double x) { return std::isfinite(x) ? std::round(x * 1e4) / 1e4 : 0.0; }

boost::json::value OrNull(const std::string& s) {
  if (s.empty()) return nullptr;
  return boost::json::value(boost::json::string_view(s));
}

boost::json::array Strings(const std::vector<std::string>& v) {
  boost::json::array a;
  for (const auto& s : v) a.push_back(boost::json::string(s));
  return a;
}

}  // namespace

boost::json::object BuildRequestRecord(const RequestContext& ctx, const RecordInputs& in) {
  boost::json::object r;
  r["v"] = 1;
  r["kind"] = "request";
  r["phase"] = in.phase;
  r["time_ms"] = in.time_ms;
  r["request_id"] = ctx.request_id;
  r["key_id"] = OrNull(ctx.principal.key_id);
  r["role"] = OrNull(ctx.principal.role);
  r["subject"] = OrNull(in.subject_pseudonym);
  boost::json::object route;
  route["method"] = ctx.method;
  route["path"] = ctx.path;
  route["endpoint"] = EndpointName(ctx.endpoint);
  route["upstream"] = OrNull(ctx.upstream);
  route["upstream_model"] = OrNull(ctx.upstream_model);
  route["stream"] = ctx.stream;
  r["route"] = std::move(route);
  boost::json::object model;
  model["name"] = OrNull(ctx.model);
  model["version"] = OrNull(ctx.model_version);
  model["weights_digest"] = OrNull(ctx.weights_digest);
  r["model"] = std::move(model);
  boost::json::object policy;
  policy["evaluated"] = ctx.policy.evaluated;
  policy["bundle_hash"] = OrNull(ctx.policy.bundle_hash);
  policy["decision"] = OrNull(ctx.policy.decision);
  policy["reasons"] = Strings(ctx.policy.reasons);
  policy["obligations"] = Strings(ctx.policy.obligations);
  policy["errors"] = Strings(ctx.policy.errors);
  r["policy"] = std::move(policy);
  boost::json::array findings;
  for (const FindingSummary& f : ctx.findings) {
    boost::json::object fo;
    fo["type"] = f.type;
    fo["direction"] = f.direction;
    fo["count"] = f.count;
    fo["max_score"] = Round4(f.max_score);
    fo["action"] = f.action;
    findings.push_back(std::move(fo));
  }
  r["findings"] = std::move(findings);
  if (ctx.injection_score < 0) {
    r["injection_score"] = nullptr;
  } else {
    r["injection_score"] = Round4(ctx.injection_score);
  }
  r["injection_signals"] = Strings(ctx.injection_signals);
  boost::json::object usage;
  usage["prompt_tokens"] = ctx.usage.prompt_tokens;
  usage["completion_tokens"] = ctx.usage.completion_tokens;
  usage["estimated"] = ctx.usage.estimated;
  r["usage"] = std::move(usage);
  r["latency_ms"] = std::round(in.latency_ms * 1000.0) / 1000.0;
  r["status"] = in.status;
  r["outcome"] = in.status == 202 ? "held" : in.status >= 400 ? "refused" : in.status == 0 ? "unknown" : "served";
  r["prompt_sha256"] = OrNull(in.prompt_sha256);
  r["completion_sha256"] = OrNull(in.completion_sha256);
  r["payload_ref"] = OrNull(in.payload_ref);
  r["payloads"] = PayloadModeName(in.payloads);
  return r;
}

namespace {

// Appends `"key":` — keys are ASCII literals that need no escaping.
void Key(std::string* out, std::string_view key, bool first = false) {
  if (!first) out->push_back(',');
  out->push_back('"');
  out->append(key);
  out->append("\":");
}

Status StringOrNull(std::string* out, const std::string& s) {
  if (s.empty()) {
    out->append("null");
    return Status::Ok();
  }
  return AppendCanonicalString(s, out);
}

Status StringArray(std::string* out, const std::vector<std::string>& v) {
  out->push_back('[');
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out->push_back(',');
    STEWARD_RETURN_IF_ERROR(AppendCanonicalString(v[i], out));
  }
  out->push_back(']');
  return Status::Ok();
}

void Bool(std::string* out, bool b) { out->append(b ? "true" : "false"); }

}  // namespace

Result<std::string> RequestRecordJson(const RequestContext& ctx, const RecordInputs& in) {
  std::string o;
  o.reserve(2048);  // a typical record is 1-1.5 KB: one allocation, no regrowth
  std::string* out = &o;
  // Keys in UTF-8 byte order at every level (request_record_test checks the
  // result against CanonicalJson(BuildRequestRecord(...))).
  out->push_back('{');
  Key(out, "completion_sha256", true);
  STEWARD_RETURN_IF_ERROR(StringOrNull(out, in.completion_sha256));
  Key(out, "findings");
  out->push_back('[');
  for (size_t i = 0; i < ctx.findings.size(); ++i) {
    const FindingSummary& f = ctx.findings[i];
    if (i) out->push_back(',');
    out->push_back('{');
    Key(out, "action", true);
    STEWARD_RETURN_IF_ERROR(AppendCanonicalString(f.action, out));
    Key(out, "count");
    AppendCanonicalInt(f.count, out);
    Key(out, "direction");
    STEWARD_RETURN_IF_ERROR(AppendCanonicalString(f.direction, out));
    Key(out, "max_score");
    STEWARD_RETURN_IF_ERROR(AppendCanonicalDouble(Round4(f.max_score), out));
    Key(out, "type");
    STEWARD_RETURN_IF_ERROR(AppendCanonicalString(f.type, out));
    out->push_back('}');
  }
  out->push_back(']');
  Key(out, "injection_score");
  if (ctx.injection_score < 0) {
    out->append("null");
  } else {
    STEWARD_RETURN_IF_ERROR(AppendCanonicalDouble(Round4(ctx.injection_score), out));
  }
  Key(out, "injection_signals");
  STEWARD_RETURN_IF_ERROR(StringArray(out, ctx.injection_signals));
  Key(out, "key_id");
  STEWARD_RETURN_IF_ERROR(StringOrNull(out, ctx.principal.key_id));
  Key(out, "kind");
  out->append("\"request\"");
  Key(out, "latency_ms");
  STEWARD_RETURN_IF_ERROR(
      AppendCanonicalDouble(std::round(in.latency_ms * 1000.0) / 1000.0, out));
  Key(out, "model");
  out->push_back('{');
  Key(out, "name", true);
  STEWARD_RETURN_IF_ERROR(StringOrNull(out, ctx.model));
  Key(out, "version");
  STEWARD_RETURN_IF_ERROR(StringOrNull(out, ctx.model_version));
  Key(out, "weights_digest");
  STEWARD_RETURN_IF_ERROR(StringOrNull(out, ctx.weights_digest));
  out->push_back('}');
  Key(out, "outcome");
  out->push_back('"');
  out->append(in.status == 202   ? "held"
              : in.status >= 400 ? "refused"
              : in.status == 0   ? "unknown"
                                 : "served");
  out->push_back('"');
  Key(out, "payload_ref");
  STEWARD_RETURN_IF_ERROR(StringOrNull(out, in.payload_ref));
  Key(out, "payloads");
  STEWARD_RETURN_IF_ERROR(AppendCanonicalString(PayloadModeName(in.payloads), out));
  Key(out, "phase");
  STEWARD_RETURN_IF_ERROR(AppendCanonicalString(in.phase, out));
  Key(out, "policy");
  out->push_back('{');
  Key(out, "bundle_hash", true);
  STEWARD_RETURN_IF_ERROR(StringOrNull(out, ctx.policy.bundle_hash));
  Key(out, "decision");
  STEWARD_RETURN_IF_ERROR(StringOrNull(out, ctx.policy.decision));
  Key(out, "errors");
  STEWARD_RETURN_IF_ERROR(StringArray(out, ctx.policy.errors));
  Key(out, "evaluated");
  Bool(out, ctx.policy.evaluated);
  Key(out, "obligations");
  STEWARD_RETURN_IF_ERROR(StringArray(out, ctx.policy.obligations));
  Key(out, "reasons");
  STEWARD_RETURN_IF_ERROR(StringArray(out, ctx.policy.reasons));
  out->push_back('}');
  Key(out, "prompt_sha256");
  STEWARD_RETURN_IF_ERROR(StringOrNull(out, in.prompt_sha256));
  Key(out, "request_id");
  STEWARD_RETURN_IF_ERROR(AppendCanonicalString(ctx.request_id, out));
  Key(out, "role");
  STEWARD_RETURN_IF_ERROR(StringOrNull(out, ctx.principal.role));
  Key(out, "route");
  out->push_back('{');
  Key(out, "endpoint", true);
  STEWARD_RETURN_IF_ERROR(AppendCanonicalString(EndpointName(ctx.endpoint), out));
  Key(out, "method");
  STEWARD_RETURN_IF_ERROR(AppendCanonicalString(ctx.method, out));
  Key(out, "path");
  STEWARD_RETURN_IF_ERROR(AppendCanonicalString(ctx.path, out));
  Key(out, "stream");
  Bool(out, ctx.stream);
  Key(out, "upstream");
  STEWARD_RETURN_IF_ERROR(StringOrNull(out, ctx.upstream));
  Key(out, "upstream_model");
  STEWARD_RETURN_IF_ERROR(StringOrNull(out, ctx.upstream_model));
  out->push_back('}');
  Key(out, "status");
  AppendCanonicalInt(in.status, out);
  Key(out, "subject");
  STEWARD_RETURN_IF_ERROR(StringOrNull(out, in.subject_pseudonym));
  Key(out, "time_ms");
  AppendCanonicalInt(in.time_ms, out);
  Key(out, "usage");
  out->push_back('{');
  Key(out, "completion_tokens", true);
  AppendCanonicalInt(ctx.usage.completion_tokens, out);
  Key(out, "estimated");
  Bool(out, ctx.usage.estimated);
  Key(out, "prompt_tokens");
  AppendCanonicalInt(ctx.usage.prompt_tokens, out);
  out->push_back('}');
  Key(out, "v");
  out->append("1}");
  return o;
}

PayloadMode EffectivePayloadMode(const RequestContext& ctx, PayloadMode configured) {
  PayloadMode mode = configured;
  for (const std::string& o : ctx.policy.obligations) {
    constexpr std::string_view kPrefix = "store_payloads(";
    if (o.rfind(kPrefix, 0) == 0 && o.size() > kPrefix.size() && o.back() == ')') {
      auto m = ParsePayloadMode(std::string_view(o).substr(kPrefix.size(),
                                                         o.size() - kPrefix.size() - 1));
      if (m.ok()) mode = *m;
    }
  }
  for (const std::string& f : ctx.subject_flags) {
    if (f == "no-store" && mode == PayloadMode::kFull) mode = PayloadMode::kHashes;
  }
  return mode;
}

std::string PromptText(const RequestContext& ctx) {
  for (const char* key : {"messages", "prompt", "input"}) {
    if (const auto* v = ctx.body.if_contains(key)) {
      auto text = CanonicalJson(*v);
      if (text.ok()) return std::move(*text);
      return boost::json::serialize(*v);
    }
  }
  return "";
}

std::string CompletionText(const boost::json::value& body) {
  std::string out;
  const auto* obj = body.if_object();
  if (!obj) return out;
  const auto* choices = obj->if_contains("choices");
  if (!choices || !choices->is_array()) return out;
  for (const auto& c : choices->get_array()) {
    const auto* co = c.if_object();
    if (!co) continue;
    if (const auto* msg = co->if_contains("message"); msg && msg->is_object()) {
      const auto* content = msg->get_object().if_contains("content");
      if (content && content->is_string()) {
        out.append(content->get_string());
      } else {
        auto text = CanonicalJson(*msg);
        if (text.ok()) out += *text;
      }
    } else if (const auto* text = co->if_contains("text"); text && text->is_string()) {
      out.append(text->get_string());
    }
  }
  return out;
}

}  // namespace steward::audit
