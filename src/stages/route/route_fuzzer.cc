// libFuzzer: drives the request-side core stages (route validation after a
// JSON body parse, as the gateway does) with arbitrary bodies and headers.
// Any input must yield Continue or an error reply, never a crash.
#include <boost/json.hpp>
#include <cstdint>
#include <string>
#include <yaml-cpp/yaml.h>

#include "common/strings.h"
#include "pipeline/stage_registry.h"
#include "steward/clock.h"
#include "upstream/upstream_client.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace steward;
  static ServiceRegistry* services = [] {
    auto* s = new ServiceRegistry();
    config::UpstreamConfig u;
    u.name = "fuzz";
    u.models = {"m", "prefix-*"};
    s->Put(std::make_shared<upstream::UpstreamSet>(std::vector<config::UpstreamConfig>{u}, SystemClock::Instance()));
    return s;
  }();
  static std::unique_ptr<Stage> route = [] {
    StageEnv env;
    env.services = services;
    auto r = (*pipeline::StageRegistry::Global().Find("route"))(YAML::Node(), env);
    return std::move(*r);
  }();
  if (size == 0) return 0;
  std::string input(reinterpret_cast<const char*>(data) + 1, size - 1);
  RequestContext ctx;
  ctx.endpoint = static_cast<Endpoint>(data[0] % 4);
  if (!IsValidUtf8(input)) {
    ctx.body_error = "not UTF-8";
  } else {
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(input, ec);
    if (ec || !v.is_object()) {
      ctx.body_error = "bad";
    } else {
      ctx.body = std::move(v.get_object());
    }
  }
  StageResult r = route->OnRequest(ctx);
  if (r.action == StageResult::Action::kReply && (r.reply.status < 400 || r.reply.body.empty())) __builtin_trap();
  return 0;
}
