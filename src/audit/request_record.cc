#include "audit/request_record.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>

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

// True when `s` holds a byte that canonical JSON escapes (`"`, `\`, a
// control character) or a non-ASCII byte (UTF-8 to validate). Eight bytes
// at a time: the byte loop was most of the record's cost.
bool NeedsEscapeOrCheck(std::string_view s) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL, kHigh = 0x8080808080808080ULL;
  auto has_zero = [](uint64_t v) { return (v - kOnes) & ~v & kHigh; };
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t x;
    std::memcpy(&x, s.data() + i, 8);
    // A high bit anywhere, a byte below 0x20 (among bytes without the high
    // bit, x - 0x20.. borrows into bit 7 exactly there), `"` or `\`.
    const uint64_t found = (x & kHigh) | ((x - 0x20 * kOnes) & ~x & kHigh) |
                           has_zero(x ^ (0x22 * kOnes)) | has_zero(x ^ (0x5c * kOnes));
    if (found) return true;
  }
  for (; i < s.size(); ++i) {
    const auto u = static_cast<unsigned char>(s[i]);
    if (u < 0x20 || u >= 0x80 || u == '"' || u == '\\') return true;
  }
  return false;
}

// Writes the record through a cursor into a buffer sized for it up front:
// every std::string::append/push_back is an out-of-line call with its own
// capacity check, and a record is ~150 of them (that was most of the
// function's 1.9 us). The capacity check here is one inline compare.
class RecordWriter {
 public:
  explicit RecordWriter(size_t capacity) {
    buf_.resize(capacity);
    p_ = buf_.data();
    end_ = p_ + buf_.size();
  }

  // Fixed text (keys with their quotes, commas and colons).
  void Raw(std::string_view s) {
    Room(s.size());
    std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
  }
  void Char(char c) {
    Room(1);
    *p_++ = c;
  }
  // A JSON string as canonical_json writes it: copied whole when nothing in
  // it needs an escape and it is ASCII (almost every field), else through
  // AppendCanonicalString (escapes, UTF-8 check).
  Status Str(std::string_view s) {
    if (!NeedsEscapeOrCheck(s)) {
      Room(s.size() + 2);
      *p_++ = '"';
      std::memcpy(p_, s.data(), s.size());
      p_ += s.size();
      *p_++ = '"';
      return Status::Ok();
    }
    std::string escaped;
    STEWARD_RETURN_IF_ERROR(AppendCanonicalString(s, &escaped));
    Raw(escaped);
    return Status::Ok();
  }
  Status StrOrNull(const std::string& s) {
    if (s.empty()) {
      Raw("null");
      return Status::Ok();
    }
    return Str(s);
  }
  Status StrArray(const std::vector<std::string>& v) {
    Char('[');
    for (size_t i = 0; i < v.size(); ++i) {
      if (i) Char(',');
      STEWARD_RETURN_IF_ERROR(Str(v[i]));
    }
    Char(']');
    return Status::Ok();
  }
  void Int(int64_t i) {
    Room(24);
    p_ = std::to_chars(p_, end_, i).ptr;
  }
  Status Double(double d) {
    std::string text;  // short: in the string's own buffer
    STEWARD_RETURN_IF_ERROR(AppendCanonicalDouble(d, &text));
    Raw(text);
    return Status::Ok();
  }
  void Bool(bool b) { Raw(b ? "true" : "false"); }

  std::string Take() && {
    buf_.resize(static_cast<size_t>(p_ - buf_.data()));
    return std::move(buf_);
  }

 private:
  void Room(size_t n) {
    if (static_cast<size_t>(end_ - p_) < n) Grow(n);
  }
  void Grow(size_t n) {
    const size_t used = static_cast<size_t>(p_ - buf_.data());
    buf_.resize(std::max(buf_.size() * 2, used + n));
    p_ = buf_.data() + used;
    end_ = buf_.data() + buf_.size();
  }

  std::string buf_;
  char* p_;
  char* end_;
};

size_t Chars(const std::vector<std::string>& v) {
  size_t n = 0;
  for (const auto& s : v) n += s.size() + 3;
  return n;
}

}  // namespace

Result<std::string> RequestRecordJson(const RequestContext& ctx, const RecordInputs& in) {
  // Sized for the whole record (keys and punctuation ~700 bytes, plus the
  // variable texts): one allocation, no regrowth unless texts need escapes.
  const size_t capacity =
      768 + ctx.request_id.size() + ctx.principal.key_id.size() + ctx.principal.role.size() +
      ctx.method.size() + ctx.path.size() + ctx.upstream.size() + ctx.upstream_model.size() +
      ctx.model.size() + ctx.model_version.size() + ctx.weights_digest.size() +
      ctx.policy.bundle_hash.size() + ctx.policy.decision.size() + Chars(ctx.policy.errors) +
      Chars(ctx.policy.obligations) + Chars(ctx.policy.reasons) + Chars(ctx.injection_signals) +
      in.subject_pseudonym.size() + in.prompt_sha256.size() + in.completion_sha256.size() +
      in.payload_ref.size() + in.phase.size() + ctx.findings.size() * 160;
  RecordWriter w(capacity);
  // Keys in UTF-8 byte order at every level (request_record_test checks the
  // result against CanonicalJson(BuildRequestRecord(...))).
  w.Raw("{\"completion_sha256\":");
  STEWARD_RETURN_IF_ERROR(w.StrOrNull(in.completion_sha256));
  w.Raw(",\"findings\":[");
  for (size_t i = 0; i < ctx.findings.size(); ++i) {
    const FindingSummary& f = ctx.findings[i];
    w.Raw(i ? ",{\"action\":" : "{\"action\":");
    STEWARD_RETURN_IF_ERROR(w.Str(f.action));
    w.Raw(",\"count\":");
    w.Int(f.count);
    w.Raw(",\"direction\":");
    STEWARD_RETURN_IF_ERROR(w.Str(f.direction));
    w.Raw(",\"max_score\":");
    STEWARD_RETURN_IF_ERROR(w.Double(Round4(f.max_score)));
    w.Raw(",\"type\":");
    STEWARD_RETURN_IF_ERROR(w.Str(f.type));
    w.Char('}');
  }
  w.Raw("],\"injection_score\":");
  if (ctx.injection_score < 0) {
    w.Raw("null");
  } else {
    STEWARD_RETURN_IF_ERROR(w.Double(Round4(ctx.injection_score)));
  }
  w.Raw(",\"injection_signals\":");
  STEWARD_RETURN_IF_ERROR(w.StrArray(ctx.injection_signals));
  w.Raw(",\"key_id\":");
  STEWARD_RETURN_IF_ERROR(w.StrOrNull(ctx.principal.key_id));
  w.Raw(",\"kind\":\"request\",\"latency_ms\":");
  STEWARD_RETURN_IF_ERROR(w.Double(std::round(in.latency_ms * 1000.0) / 1000.0));
  w.Raw(",\"model\":{\"name\":");
  STEWARD_RETURN_IF_ERROR(w.StrOrNull(ctx.model));
  w.Raw(",\"version\":");
  STEWARD_RETURN_IF_ERROR(w.StrOrNull(ctx.model_version));
  w.Raw(",\"weights_digest\":");
  STEWARD_RETURN_IF_ERROR(w.StrOrNull(ctx.weights_digest));
  w.Raw("},\"outcome\":");
  w.Raw(in.status == 202   ? "\"held\""
        : in.status >= 400 ? "\"refused\""
        : in.status == 0   ? "\"unknown\""
                           : "\"served\"");
  w.Raw(",\"payload_ref\":");
  STEWARD_RETURN_IF_ERROR(w.StrOrNull(in.payload_ref));
  w.Raw(",\"payloads\":");
  STEWARD_RETURN_IF_ERROR(w.Str(PayloadModeName(in.payloads)));
  w.Raw(",\"phase\":");
  STEWARD_RETURN_IF_ERROR(w.Str(in.phase));
  w.Raw(",\"policy\":{\"bundle_hash\":");
  STEWARD_RETURN_IF_ERROR(w.StrOrNull(ctx.policy.bundle_hash));
  w.Raw(",\"decision\":");
  STEWARD_RETURN_IF_ERROR(w.StrOrNull(ctx.policy.decision));
  w.Raw(",\"errors\":");
  STEWARD_RETURN_IF_ERROR(w.StrArray(ctx.policy.errors));
  w.Raw(",\"evaluated\":");
  w.Bool(ctx.policy.evaluated);
  w.Raw(",\"obligations\":");
  STEWARD_RETURN_IF_ERROR(w.StrArray(ctx.policy.obligations));
  w.Raw(",\"reasons\":");
  STEWARD_RETURN_IF_ERROR(w.StrArray(ctx.policy.reasons));
  w.Raw("},\"prompt_sha256\":");
  STEWARD_RETURN_IF_ERROR(w.StrOrNull(in.prompt_sha256));
  w.Raw(",\"request_id\":");
  STEWARD_RETURN_IF_ERROR(w.Str(ctx.request_id));
  w.Raw(",\"role\":");
  STEWARD_RETURN_IF_ERROR(w.StrOrNull(ctx.principal.role));
  w.Raw(",\"route\":{\"endpoint\":");
  STEWARD_RETURN_IF_ERROR(w.Str(EndpointName(ctx.endpoint)));
  w.Raw(",\"method\":");
  STEWARD_RETURN_IF_ERROR(w.Str(ctx.method));
  w.Raw(",\"path\":");
  STEWARD_RETURN_IF_ERROR(w.Str(ctx.path));
  w.Raw(",\"stream\":");
  w.Bool(ctx.stream);
  w.Raw(",\"upstream\":");
  STEWARD_RETURN_IF_ERROR(w.StrOrNull(ctx.upstream));
  w.Raw(",\"upstream_model\":");
  STEWARD_RETURN_IF_ERROR(w.StrOrNull(ctx.upstream_model));
  w.Raw("},\"status\":");
  w.Int(in.status);
  w.Raw(",\"subject\":");
  STEWARD_RETURN_IF_ERROR(w.StrOrNull(in.subject_pseudonym));
  w.Raw(",\"time_ms\":");
  w.Int(in.time_ms);
  w.Raw(",\"usage\":{\"completion_tokens\":");
  w.Int(ctx.usage.completion_tokens);
  w.Raw(",\"estimated\":");
  w.Bool(ctx.usage.estimated);
  w.Raw(",\"prompt_tokens\":");
  w.Int(ctx.usage.prompt_tokens);
  w.Raw("},\"v\":1}");
  return std::move(w).Take();
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
