#include "injection/redteam.h"

#include <boost/json.hpp>
#include <fstream>
#include <sstream>

namespace steward::injection {

Result<std::vector<RedTeamCase>> ParseRedTeamSuite(std::string_view jsonl) {
  std::vector<RedTeamCase> out;
  size_t pos = 0;
  int line_no = 0;
  while (pos < jsonl.size()) {
    size_t nl = jsonl.find('\n', pos);
    if (nl == std::string_view::npos) nl = jsonl.size();
    std::string_view line = jsonl.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    auto where = [&](const std::string& m) {
      return InvalidArgument("red-team suite line " + std::to_string(line_no) + ": " + m);
    };
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(line, ec);
    if (ec || !v.is_object()) return where("not a JSON object");
    const auto& o = v.as_object();
    auto str = [&](const char* k) -> std::string {
      auto* f = o.if_contains(k);
      return f && f->is_string() ? std::string(f->as_string()) : "";
    };
    RedTeamCase c;
    c.id = str("id");
    c.kind = str("kind");
    c.marker = str("marker");
    c.expect = str("expect");
    if (c.id.empty()) return where("missing `id`");
    if (c.expect != "blocked" && c.expect != "stripped" && c.expect != "allowed") {
      return where("`expect` must be blocked, stripped or allowed");
    }
    if (c.marker.empty()) return where("missing `marker`");
    auto* m = o.if_contains("messages");
    if (!m || !m->is_array() || m->as_array().empty())
      return where("`messages` must be a non-empty array");
    c.messages_json = boost::json::serialize(*m);
    out.push_back(std::move(c));
  }
  return out;
}

Result<std::vector<RedTeamCase>> LoadRedTeamSuite(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot read red-team suite " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  auto r = ParseRedTeamSuite(ss.str());
  if (!r.ok()) return r.status().WithContext(path);
  return r;
}

std::string RedTeamRequestBody(const RedTeamCase& c, const std::string& model) {
  boost::json::object body;
  body["model"] = model;
  body["messages"] = boost::json::parse(c.messages_json);
  return boost::json::serialize(body);
}

std::string_view OutcomeName(RedTeamOutcome o) {
  switch (o) {
    case RedTeamOutcome::kBlocked:
      return "blocked";
    case RedTeamOutcome::kStripped:
      return "stripped";
    case RedTeamOutcome::kDelivered:
      return "allowed";
    case RedTeamOutcome::kUnverified:
      return "unverified";
    case RedTeamOutcome::kError:
      return "error";
  }
  return "error";
}

RedTeamOutcome JudgeRedTeamReply(const RedTeamCase& c, int status, const std::string& body) {
  if (status == 403) return RedTeamOutcome::kBlocked;
  if (status != 200) return RedTeamOutcome::kError;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec);
  if (ec || !v.is_object()) return RedTeamOutcome::kError;
  const auto* choices = v.as_object().if_contains("choices");
  if (!choices || !choices->is_array() || choices->as_array().empty())
    return RedTeamOutcome::kError;
  const auto& first = choices->as_array()[0];
  const boost::json::value* content = nullptr;
  if (first.is_object()) {
    if (auto* msg = first.as_object().if_contains("message"); msg && msg->is_object()) {
      content = msg->as_object().if_contains("content");
    }
  }
  if (!content || !content->is_string()) return RedTeamOutcome::kError;
  // The echo is the JSON of the received messages: compare against the
  // marker as it appears there (JSON-escaped). A reply that is not an echo
  // proves nothing about what the model saw.
  std::string echoed(content->as_string());
  if (echoed.empty() || echoed[0] != '[') return RedTeamOutcome::kUnverified;
  std::string marker_json = boost::json::serialize(boost::json::value(c.marker));
  marker_json = marker_json.substr(1, marker_json.size() - 2);
  bool delivered =
      echoed.find(marker_json) != std::string::npos || echoed.find(c.marker) != std::string::npos;
  return delivered ? RedTeamOutcome::kDelivered : RedTeamOutcome::kStripped;
}

void Tally(const RedTeamCase& c, RedTeamOutcome o, RedTeamSummary* s) {
  if (o == RedTeamOutcome::kError) ++s->errors;
  if (OutcomeName(o) == c.expect) ++s->matched_expectation;
  if (c.attack()) {
    ++s->attacks;
    if (o == RedTeamOutcome::kDelivered) ++s->attacks_succeeded;
    if (o == RedTeamOutcome::kUnverified) ++s->attacks_unverified;
  } else {
    ++s->benign;
    if (o == RedTeamOutcome::kDelivered) ++s->benign_allowed;
  }
}

}  // namespace steward::injection
