#include "policy/explain.h"

namespace steward::policy {
namespace {

std::string HeaderSafe(const std::string& s) {
  std::string out;
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    out += (u >= 0x20 && u < 0x7f && c != ';') ? c : '_';
  }
  return out;
}

std::string JoinList(const std::vector<std::string>& items, const char* sep) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : sep) + i;
  return out;
}

}  // namespace

std::string HeaderValue(const Decision& d) {
  std::string v = VerdictName(d.verdict);
  if (!d.reasons.empty()) v += "; rules=" + HeaderSafe(JoinList(d.reasons, ","));
  auto obligations = d.obligations.Render();
  if (!obligations.empty()) v += "; obligations=" + HeaderSafe(JoinList(obligations, ","));
  if (!d.errors.empty()) v += "; errors=" + std::to_string(d.errors.size());
  v += "; bundle=" + d.bundle_hash.substr(0, 12);
  return v;
}

boost::json::object DecisionToJson(const Decision& d) {
  boost::json::array reasons, obligations, errors;
  for (const auto& r : d.reasons) reasons.emplace_back(boost::json::string(r));
  for (const auto& o : d.obligations.Render()) obligations.emplace_back(boost::json::string(o));
  for (const auto& e : d.errors) errors.emplace_back(boost::json::string(e));
  return {{"decision", VerdictName(d.verdict)},    {"reasons", std::move(reasons)},
          {"obligations", std::move(obligations)}, {"errors", std::move(errors)},
          {"bundle_hash", d.bundle_hash},          {"message", d.message}};
}

std::string ExplainText(const Decision& d, const Bundle& bundle) {
  std::string out = std::string("decision: ") + VerdictName(d.verdict) + "\n";
  if (!d.message.empty()) out += "message: " + d.message + "\n";
  if (d.reasons.empty()) {
    out += "reasons: none (no rule matched: default deny)\n";
  } else {
    out += "reasons:\n";
    for (const auto& id : d.reasons) {
      std::string where;
      for (const Rule* r : bundle.rules()) {
        if (r->id == id) where = std::string(EffectName(r->effect)) + " at " + r->loc.ToString();
      }
      out += "  - " + id + (where.empty() ? "" : " (" + where + ")") + "\n";
    }
  }
  auto obligations = d.obligations.Render();
  if (!obligations.empty()) {
    out += "obligations:\n";
    for (const auto& o : obligations) out += "  - " + o + "\n";
  }
  if (!d.errors.empty()) {
    out += "errors (rules skipped):\n";
    for (const auto& e : d.errors) out += "  - " + e + "\n";
  }
  out += "bundle: " + d.bundle_hash + "\n";
  return out;
}

}  // namespace steward::policy
