#include "policy/authorizer.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/strings.h"
#include "policy/checker.h"
#include "policy/evaluator.h"
#include "policy/parser.h"

namespace steward::policy {

const char* VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kPermit:
      return "permit";
    case Verdict::kDeny:
      return "deny";
    case Verdict::kReview:
      return "review";
  }
  return "deny";
}

std::vector<std::string> Obligations::Render() const {
  std::vector<std::string> out;
  for (const auto& [mode, types] : redact) {
    std::string t;
    for (const auto& type : types) t += (t.empty() ? "" : "|") + type;
    out.push_back("redact(" + t + "," + mode + ")");
  }
  if (!store_payloads.empty()) out.push_back("store_payloads(" + store_payloads + ")");
  if (!route.empty()) out.push_back("route(" + route + ")");
  for (const auto& [name, value] : limits) {
    out.push_back("limit(" + name + "=" + std::to_string(value) + ")");
  }
  for (const auto& r : review_reasons) out.push_back("require_review(" + r + ")");
  if (approvals > 1) out.push_back("require_approvals(" + std::to_string(approvals) + ")");
  return out;
}

namespace {

int PayloadRank(const std::string& mode) { return mode == "none" ? 0 : mode == "hashes" ? 1 : 2; }

void Combine(const Rule& rule, Obligations* o, std::vector<std::string>* errors) {
  for (const auto& call : rule.obligations) {
    switch (call.kind) {
      case ObligationKind::kRedact:
        o->redact[call.text].insert(call.types.begin(), call.types.end());
        break;
      case ObligationKind::kStorePayloads:
        // The most restrictive storage wins.
        if (o->store_payloads.empty() || PayloadRank(call.text) < PayloadRank(o->store_payloads)) {
          o->store_payloads = call.text;
        }
        break;
      case ObligationKind::kRoute:
        if (o->route.empty()) {
          o->route = call.text;
        } else if (o->route != call.text) {
          errors->push_back(rule.id + ": " + call.loc.ToString() + ": conflicting route(" +
                            call.text + ") ignored; keeping route(" + o->route + ")");
        }
        break;
      case ObligationKind::kLimit: {
        // The smallest limit wins; the rule that set it owns the rate buckets.
        auto [it, inserted] = o->limits.emplace(call.text, call.number);
        if (inserted || call.number < it->second) {
          it->second = call.number;
          o->limit_rules[call.text] = rule.id;
        }
        break;
      }
      case ObligationKind::kRequireReview:
        if (std::find(o->review_reasons.begin(), o->review_reasons.end(), call.text) ==
            o->review_reasons.end()) {
          o->review_reasons.push_back(call.text);
        }
        break;
      case ObligationKind::kRequireApprovals:
        o->approvals = std::max<int>(o->approvals, static_cast<int>(call.number));
        break;
    }
  }
}

std::string Basename(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

Result<std::shared_ptr<const Bundle>> Bundle::Compile(std::vector<SourceFile> sources) {
  std::shared_ptr<Bundle> b(new Bundle());
  std::vector<Diagnostic> diags;
  std::string hash_input;
  for (auto& src : sources) {
    PolicyFile file;
    ParseError err;
    if (!ParseFile(src.text, src.path, &file, &err)) {
      diags.push_back(err);
      continue;
    }
    b->files_.push_back(std::move(file));
    b->paths_.push_back(src.path);
    hash_input += Basename(src.path) + '\0' + std::to_string(src.text.size()) + '\0' + src.text;
  }
  if (!diags.empty()) return DiagnosticsToStatus(diags);
  std::vector<CheckError> check_errors;
  if (!CheckFiles(&b->files_, &check_errors)) return DiagnosticsToStatus(check_errors);
  for (const auto& f : b->files_) {
    for (const auto& r : f.rules) b->rules_.push_back(&r);
  }
  b->hash_ = Sha256Hex(hash_input);
  b->BuildIndex();
  return std::shared_ptr<const Bundle>(std::move(b));
}

void Bundle::BuildIndex() {
  words_ = (rules_.size() + 63) / 64;
  for (int d = 0; d < kNumDims; ++d) {
    dims_[d].unconstrained.assign(words_, 0);
    for (const Rule* r : rules_) {
      size_t w = static_cast<size_t>(r->index) / 64;
      uint64_t bit = uint64_t{1} << (r->index % 64);
      if (!r->scope.constrained[d]) {
        dims_[d].unconstrained[w] |= bit;
        continue;
      }
      for (const auto& v : r->scope.values[d]) {
        Bits& bits = dims_[d].by_value[v];
        if (bits.empty()) bits.assign(words_, 0);
        bits[w] |= bit;
      }
    }
  }
}

Decision Bundle::Authorize(const Request& request) const {
  static const Attr kDimAttr[kNumDims] = {Attr::kPrincipalRole, Attr::kAction, Attr::kResourceName};
  // Candidates: per dimension, rules constrained to the request's value or
  // unconstrained; intersected across dimensions.
  constexpr size_t kInline = 64;
  uint64_t inline_bits[kInline];
  std::vector<uint64_t> heap_bits;
  uint64_t* cand = inline_bits;
  if (words_ > kInline) {
    heap_bits.resize(words_);
    cand = heap_bits.data();
  }
  for (size_t w = 0; w < words_; ++w) cand[w] = ~uint64_t{0};
  for (int dim = 0; dim < kNumDims; ++dim) {
    const DimIndex& index = dims_[dim];
    const Bits* match = nullptr;
    if (!index.by_value.empty()) {
      auto it = index.by_value.find(request.String(kDimAttr[dim]));
      if (it != index.by_value.end()) match = &it->second;
    }
    for (size_t w = 0; w < words_; ++w) {
      cand[w] &= index.unconstrained[w] | (match ? (*match)[w] : 0);
    }
  }
  return Decide(request, cand);
}

Decision Bundle::AuthorizeUnindexed(const Request& request) const {
  std::vector<uint64_t> all(words_, ~uint64_t{0});
  if (words_ > 0 && rules_.size() % 64 != 0) all.back() = (uint64_t{1} << (rules_.size() % 64)) - 1;
  return Decide(request, all.data());
}

Decision Bundle::Decide(const Request& request, const uint64_t* cand) const {
  Decision d;
  d.bundle_hash = hash_;
  const Rule* first_forbid = nullptr;
  std::vector<const Rule*> forbids, grants;
  bool any_permit = false;
  for (size_t w = 0; w < words_; ++w) {
    uint64_t bits = cand[w];
    while (bits) {
      int b = __builtin_ctzll(bits);
      bits &= bits - 1;
      const Rule& rule = *rules_[w * 64 + static_cast<size_t>(b)];
      bool matched = false;
      EvalError err;
      if (!EvalCondition(rule.condition.get(), request, &matched, &err)) {
        d.errors.push_back(rule.id + ": " + err.ToString());
        continue;
      }
      if (!matched) continue;
      if (rule.effect == Effect::kForbid) {
        if (!first_forbid) first_forbid = &rule;
        forbids.push_back(&rule);
      } else {
        any_permit = any_permit || rule.effect == Effect::kPermit;
        grants.push_back(&rule);
      }
    }
  }
  if (!forbids.empty()) {
    d.verdict = Verdict::kDeny;
    for (const Rule* r : forbids) d.reasons.push_back(r->id);
    d.message = "denied by policy rule `" + first_forbid->id + "`" +
                (first_forbid->message.empty() ? "" : ": " + first_forbid->message);
    return d;
  }
  if (!any_permit) {
    d.verdict = Verdict::kDeny;
    d.message = "no policy rule permits this request (default deny)";
    if (!d.errors.empty()) {
      d.message += "; " + std::to_string(d.errors.size()) + " rule(s) failed to evaluate";
    }
    return d;
  }
  const Rule* review_rule = nullptr;
  for (const Rule* r : grants) {
    d.reasons.push_back(r->id);
    Combine(*r, &d.obligations, &d.errors);
    if (!review_rule) {
      for (const auto& call : r->obligations) {
        if (call.kind == ObligationKind::kRequireReview) review_rule = r;
      }
    }
  }
  if (review_rule) {
    d.verdict = Verdict::kReview;
    d.message = "request needs human review (policy rule `" + review_rule->id +
                "`): " + d.obligations.review_reasons.front();
  } else {
    d.verdict = Verdict::kPermit;
  }
  return d;
}

Result<std::vector<SourceFile>> ReadPolicySources(const std::vector<std::string>& paths) {
  namespace fs = std::filesystem;
  std::vector<std::string> files;
  for (const auto& p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<std::string> found;
      for (const auto& entry : fs::directory_iterator(p, ec)) {
        if (entry.is_regular_file() && entry.path().extension() == ".policy") {
          found.push_back(entry.path().string());
        }
      }
      if (ec) return InvalidArgument("cannot list policy directory " + p + ": " + ec.message());
      if (found.empty()) return InvalidArgument("no .policy files in " + p);
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else if (fs::exists(p, ec)) {
      files.push_back(p);
    } else {
      return InvalidArgument("policy file " + p + " does not exist");
    }
  }
  if (files.empty()) return InvalidArgument("no policy files given");
  std::vector<SourceFile> out;
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    if (!in) return InvalidArgument("cannot read policy file " + f);
    std::ostringstream text;
    text << in.rdbuf();
    out.push_back({f, text.str()});
  }
  return out;
}

Result<std::shared_ptr<const Bundle>> LoadBundle(const std::vector<std::string>& paths) {
  STEWARD_ASSIGN_OR_RETURN(auto sources, ReadPolicySources(paths));
  return Bundle::Compile(std::move(sources));
}

}  // namespace steward::policy
