#include "steward/stage.h"

namespace steward {

std::string_view EndpointName(Endpoint e) {
  switch (e) {
    case Endpoint::kChatCompletions: return "chat.completions";
    case Endpoint::kCompletions: return "completions";
    case Endpoint::kEmbeddings: return "embeddings";
    case Endpoint::kModels: return "models";
    case Endpoint::kOther: return "other";
  }
  return "other";
}

std::string ErrorBody(std::string_view message, std::string_view type, std::string_view code) {
  boost::json::object err;
  err["message"] = message;
  err["type"] = type;
  if (code.empty()) {
    err["code"] = nullptr;
  } else {
    err["code"] = code;
  }
  err["param"] = nullptr;
  boost::json::object root;
  root["error"] = std::move(err);
  return boost::json::serialize(root);
}

StageResult StageResult::Error(int status, std::string_view type, std::string_view code,
                               std::string_view message) {
  StageResult r;
  r.action = Action::kReply;
  r.reply.status = status;
  r.reply.body = ErrorBody(message, type, code);
  return r;
}

StageResult StageResult::Hold(std::string_view review_id) {
  StageResult r;
  r.action = Action::kHold;
  r.reply.status = 202;
  boost::json::object o;
  o["review_id"] = review_id;
  o["status"] = "pending";
  r.reply.body = boost::json::serialize(o);
  return r;
}

std::string_view RequestContext::Header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers) {
    if (k == lower_name) return v;
  }
  return {};
}

}  // namespace steward
