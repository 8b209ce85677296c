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
