// Stage "route": validates the request body for its endpoint (after auth, so
// an unauthenticated caller learns nothing about the API), records model,
// stream flag and data subject, and picks the upstream that serves the
// model. 400 for a malformed body, 404 for a model no upstream serves.
#include "pipeline/stage_registry.h"
#include "upstream/upstream_client.h"

namespace steward::stages {
namespace {

namespace json = boost::json;

StageResult BadRequest(std::string_view message, std::string_view code = "invalid_request") {
  return StageResult::Error(400, "invalid_request_error", code, message);
}

// Returns an error message for a malformed chat `messages` array, or "".
std::string CheckMessages(const json::value* messages) {
  if (!messages) return "`messages` is required";
  if (!messages->is_array()) return "`messages` must be an array";
  const auto& arr = messages->get_array();
  if (arr.empty()) return "`messages` must not be empty";
  for (size_t i = 0; i < arr.size(); ++i) {
    std::string where = "`messages[" + std::to_string(i) + "]`";
    if (!arr[i].is_object()) return where + " must be an object";
    const auto& m = arr[i].get_object();
    const auto* role = m.if_contains("role");
    if (!role || !role->is_string()) return where + ".role must be a string";
    const auto* content = m.if_contains("content");
    if (content && !content->is_string() && !content->is_array() && !content->is_null()) {
      return where + ".content must be a string, an array of content parts, or null";
    }
    if (content && content->is_array()) {
      for (const auto& part : content->get_array()) {
        if (!part.is_object()) return where + ".content parts must be objects";
      }
    }
  }
  return "";
}

class RouteStage final : public Stage {
 public:
  explicit RouteStage(upstream::UpstreamSet& upstreams) : upstreams_(upstreams) {}
  std::string_view name() const override { return "route"; }

  StageResult OnRequest(RequestContext& ctx) override {
    if (ctx.endpoint == Endpoint::kModels) return StageResult::Continue();
    if (!ctx.body_error.empty()) return BadRequest(ctx.body_error, "invalid_json");
    const json::object& body = ctx.body;
    const auto* model = body.if_contains("model");
    if (!model || !model->is_string() || model->get_string().empty()) {
      return BadRequest("`model` is required and must be a non-empty string");
    }
    ctx.model = std::string(model->get_string());
    if (const auto* stream = body.if_contains("stream")) {
      if (!stream->is_bool() && !stream->is_null()) return BadRequest("`stream` must be a boolean");
      ctx.stream = stream->is_bool() && stream->get_bool();
    }
    if (const auto* user = body.if_contains("user")) {
      if (!user->is_string()) return BadRequest("`user` must be a string");
      ctx.subject = std::string(user->get_string());
    }
    std::string_view subject_header = ctx.Header("x-steward-subject");
    if (!subject_header.empty()) ctx.subject = std::string(subject_header);

    switch (ctx.endpoint) {
      case Endpoint::kChatCompletions: {
        std::string err = CheckMessages(body.if_contains("messages"));
        if (!err.empty()) return BadRequest(err);
        break;
      }
      case Endpoint::kCompletions: {
        const auto* prompt = body.if_contains("prompt");
        if (!prompt || (!prompt->is_string() && !prompt->is_array())) {
          return BadRequest("`prompt` is required and must be a string or an array");
        }
        break;
      }
      case Endpoint::kEmbeddings: {
        const auto* input = body.if_contains("input");
        if (!input || (!input->is_string() && !input->is_array())) {
          return BadRequest("`input` is required and must be a string or an array");
        }
        if (ctx.stream) return BadRequest("embeddings cannot be streamed");
        break;
      }
      default:
        break;
    }

    upstream::Upstream* up = upstreams_.ForModel(ctx.model);
    if (!up) {
      return StageResult::Error(404, "invalid_request_error", "model_not_found",
                                "model `" + ctx.model + "` is not served by any configured upstream");
    }
    ctx.upstream = up->name();
    if (ctx.upstream_model.empty()) ctx.upstream_model = ctx.model;
    return StageResult::Continue();
  }

 private:
  upstream::UpstreamSet& upstreams_;
};

Result<std::unique_ptr<Stage>> MakeRouteStage(const YAML::Node&, StageEnv& env) {
  auto* ups = env.services ? env.services->Get<upstream::UpstreamSet>() : nullptr;
  if (!ups) return FailedPrecondition("the route stage needs the upstream set");
  return std::unique_ptr<Stage>(new RouteStage(*ups));
}

STEWARD_REGISTER_STAGE("route", MakeRouteStage);

}  // namespace
}  // namespace steward::stages
