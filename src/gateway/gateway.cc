#include "gateway/gateway.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <cstring>
#include <mutex>
#include <random>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "common/strings.h"
#include "gateway/access_log.h"
#include "monitor/metrics.h"
#include "pipeline/stage_registry.h"

namespace steward::gateway {

namespace json = boost::json;
namespace http = server::http;
namespace net = server::net;
using server::Task;

namespace {

constexpr size_t kMaxUpstreamBody = 64u << 20;

// "req_" + 24 hex digits of 12 random bytes.
std::string NewRequestId() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  uint64_t a = rng(), b = rng();
  char bytes[12];
  std::memcpy(bytes, &a, 8);
  std::memcpy(bytes + 8, &b, 4);
  return "req_" + HexEncode(std::string_view(bytes, sizeof bytes));
}

Endpoint EndpointFor(std::string_view path) {
  if (path == "/v1/chat/completions") return Endpoint::kChatCompletions;
  if (path == "/v1/completions") return Endpoint::kCompletions;
  if (path == "/v1/embeddings") return Endpoint::kEmbeddings;
  if (path == "/v1/models") return Endpoint::kModels;
  return Endpoint::kOther;
}

// Bounds the `model` label: clients choose model names, and an unbounded
// label set would let them grow /metrics without limit.
std::string ModelLabel(const RequestContext& ctx) {
  if (ctx.upstream.empty() || ctx.model.empty()) return "-";
  thread_local std::unordered_set<std::string> admitted;  // this thread's view of `seen`
  if (admitted.count(ctx.model)) return ctx.model;
  static std::mutex mu;
  static std::set<std::string> seen;
  std::lock_guard lock(mu);
  if (!seen.count(ctx.model)) {
    if (seen.size() >= 200) return "other";
    seen.insert(ctx.model);
  }
  admitted.insert(ctx.model);
  return ctx.model;
}

// The string slot holding an SSE event's text, or nullptr.
json::value* TextSlot(json::object& event, Endpoint endpoint, bool create) {
  auto* choices = event.if_contains("choices");
  if (!choices || !choices->is_array() || choices->get_array().empty()) return nullptr;
  auto& first = choices->get_array()[0];
  if (!first.is_object()) return nullptr;
  auto& choice = first.get_object();
  if (endpoint == Endpoint::kCompletions) {
    auto* t = choice.if_contains("text");
    if (t && t->is_string()) return t;
    if (create) return &(choice["text"] = "");
    return nullptr;
  }
  auto* delta = choice.if_contains("delta");
  if (!delta || !delta->is_object()) return nullptr;
  auto* c = delta->get_object().if_contains("content");
  if (c && c->is_string()) return c;
  if (create) return &(delta->get_object()["content"] = "");
  return nullptr;
}

bool HasFinishReason(const json::object& event) {
  auto* choices = event.if_contains("choices");
  if (!choices || !choices->is_array() || choices->get_array().empty()) return false;
  const auto& first = choices->get_array()[0];
  if (!first.is_object()) return false;
  auto* fr = first.get_object().if_contains("finish_reason");
  return fr && !fr->is_null();
}

// The final flush event starts as a copy of the stream's first event: its
// role, tool calls and logprobs were already sent and must not repeat.
void ClearChoiceDelta(json::object& event) {
  auto* choices = event.if_contains("choices");
  if (!choices || !choices->is_array() || choices->get_array().empty()) return;
  auto& first = choices->get_array()[0];
  if (!first.is_object()) return;
  auto& choice = first.get_object();
  if (auto* delta = choice.if_contains("delta"); delta && delta->is_object())
    *delta = json::object();
  if (auto* logprobs = choice.if_contains("logprobs"); logprobs) *logprobs = nullptr;
}

void SetFinishReason(json::object& event, json::value v) {
  auto* choices = event.if_contains("choices");
  if (!choices || !choices->is_array() || choices->get_array().empty()) return;
  auto& first = choices->get_array()[0];
  if (first.is_object()) first.get_object()["finish_reason"] = std::move(v);
}

void ReadUsage(const json::object& body, Usage* usage) {
  auto* u = body.if_contains("usage");
  if (!u || !u->is_object()) return;
  auto get = [&](const char* k) -> int64_t {
    auto* v = u->get_object().if_contains(k);
    if (v && v->is_int64()) return v->get_int64();
    if (v && v->is_uint64()) return static_cast<int64_t>(v->get_uint64());
    return 0;
  };
  usage->prompt_tokens = get("prompt_tokens");
  usage->completion_tokens = get("completion_tokens");
  usage->estimated = false;
}

// Roughly four bytes per token, as OpenAI's guidance for English.
int64_t EstimateTokens(size_t bytes) { return static_cast<int64_t>((bytes + 3) / 4); }

http::response<http::string_body> MakeResponse(const RequestContext& ctx, int status, std::string body,
                                               std::string_view content_type) {
  http::response<http::string_body> res{static_cast<http::status>(status), 11};
  res.set(http::field::content_type, content_type);
  res.set("x-steward-request-id", ctx.request_id);
  for (const auto& [k, v] : ctx.response_headers) res.set(k, v);
  res.body() = std::move(body);
  return res;
}

// Client headers passed to the upstream: everything but hop-by-hop
// headers, the caller's Steward credentials, Steward's own headers, and
// content negotiation Steward must be able to read (it parses the reply).
std::vector<std::pair<std::string, std::string>> ForwardedHeaders(const RequestContext& ctx) {
  static const std::set<std::string> kDropped = {
      "authorization", "host", "content-length", "content-type", "connection", "keep-alive", "transfer-encoding", "te",
      "trailer", "upgrade", "proxy-authorization", "proxy-connection", "accept-encoding", "expect", "cookie"};
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [k, v] : ctx.headers) {
    if (kDropped.count(k) || k.rfind("x-steward-", 0) == 0) continue;
    out.emplace_back(k, v);
  }
  return out;
}

// 404 for an unknown path, 405 for a known one with the wrong method.
http::response<http::string_body> WrongEndpointResponse(RequestContext& ctx, bool want_post) {
  bool unknown = ctx.endpoint == Endpoint::kOther;
  ctx.status = unknown ? 404 : 405;
  std::string msg = unknown ? "unknown endpoint " + ctx.method + " " + ctx.path
                            : "method " + ctx.method + " is not allowed on " + ctx.path + "; use " + (want_post ? "POST" : "GET");
  return MakeResponse(ctx, ctx.status, ErrorBody(msg, "invalid_request_error", unknown ? "not_found" : "method_not_allowed"),
                      "application/json");
}

}  // namespace

Task<Status> AwaitBarrier(Barrier& barrier) {
  // The initiation captures only a raw pointer: g++ 12 destroys the
  // temporary lambda of a co_await operand twice, which freed a captured
  // shared_ptr's count early (ASan, gateway integration test).
  Barrier* waited = &barrier;
  co_return co_await net::async_initiate<decltype(server::kAwait), void(Status)>(
      [waited](auto handler) {
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        waited->Wait([h](Status s) {
          auto ex = net::get_associated_executor(*h);
          net::post(ex, [h, s = std::move(s)]() mutable { (*h)(std::move(s)); });
        });
      },
      server::kAwait);
}

struct Gateway::Call {
  server::Request& request;
  const server::Connection& conn;
  server::ResponseWriter& writer;
  RequestContext ctx;
  size_t entered = 0;  // stages whose OnRequest ran
  bool finished = false;
};

Gateway::~Gateway() = default;

Result<std::vector<std::unique_ptr<Stage>>> BuildStages(const config::Config& config, StageEnv& env,
                                                        std::vector<std::string>* warnings) {
  std::vector<std::unique_ptr<Stage>> stages;
  const bool default_pipeline = !config.root["pipeline"];
  YAML::Node stage_configs = config.root["stages"];
  for (const auto& name : config.pipeline) {
    const StageFactory* factory = pipeline::StageRegistry::Global().Find(name);
    if (!factory) {
      if (default_pipeline) {
        warnings->push_back("stage `" + name + "` is not built into this binary; skipped");
        continue;
      }
      return config::ErrorAt(config, config.root["pipeline"], "unknown stage `" + name + "`");
    }
    YAML::Node section = stage_configs ? stage_configs[name] : YAML::Node();
    auto stage = (*factory)(section, env);
    if (!stage.ok()) return stage.status().WithContext("stage `" + name + "`");
    stages.push_back(std::move(*stage));
  }
  return stages;
}

Result<std::unique_ptr<Gateway>> Gateway::Create(const config::Config& config, StageEnv env,
                                                 int workers) {
  auto g = std::unique_ptr<Gateway>(new Gateway());
  g->config_ = config;
  g->env_ = env;
  g->upstreams_ = std::make_shared<upstream::UpstreamSet>(
      config.upstreams, env.clock ? *env.clock : SystemClock::Instance());
  if (env.services) env.services->Put(g->upstreams_);
  STEWARD_ASSIGN_OR_RETURN(g->stages_, BuildStages(config, g->env_, &g->warnings_));
  size_t n = g->upstreams_->all().size();
  g->pools_.resize(workers + 1);
  for (auto& per_worker : g->pools_) {
    for (size_t i = 0; i < n; ++i) {
      per_worker.push_back(std::make_unique<upstream::ConnectionPool>(g->upstreams_->all()[i]->config().max_connections));
    }
  }
  std::string target = config.server.access_log.empty() ? config.data_dir + "/access.log" : config.server.access_log;
  STEWARD_ASSIGN_OR_RETURN(g->access_log_, AccessLog::Open(target));

  auto& metrics = monitor::MetricsRegistry::Global();
  for (const auto& up : g->upstreams_->all()) {
    upstream::Upstream* u = up.get();
    metrics.AddCallbackGauge("steward_upstream_breaker_state", "Circuit state per upstream: 0 closed, 1 open, 2 half-open.",
                             {{"upstream", u->name()}}, [u] { return static_cast<double>(u->breaker().state()); });
    using Kind = std::pair<const char*, std::atomic<uint64_t>*>;
    for (auto [kind, counter] : {Kind{"connect", &u->errors_connect}, Kind{"timeout", &u->errors_timeout},
                                 Kind{"protocol", &u->errors_protocol}, Kind{"status_5xx", &u->errors_status}}) {
      metrics.AddCallbackGauge("steward_upstream_errors", "Upstream failures by kind since start.",
                               {{"upstream", u->name()}, {"kind", kind}},
                               [counter] { return static_cast<double>(counter->load()); });
    }
  }
  return g;
}

upstream::ConnectionPool& Gateway::PoolFor(int upstream_index) {
  int w = server::IoPool::CurrentWorker();
  if (w < 0 || w >= static_cast<int>(pools_.size()) - 1) w = static_cast<int>(pools_.size()) - 1;
  return *pools_[w][upstream_index];
}

Task<void> Gateway::Handle(server::Request& request, const server::Connection& conn, server::ResponseWriter& writer) {
  Call call{request, conn, writer, {}};
  RequestContext& ctx = call.ctx;
  ctx.request_id = NewRequestId();
  ctx.start_unix_ms = env_.clock ? env_.clock->NowUnixMs() : SystemClock::Instance().NowUnixMs();
  ctx.start = std::chrono::steady_clock::now();
  std::string_view target(request.target().data(), request.target().size());
  ctx.path = std::string(target.substr(0, target.find('?')));
  ctx.method = std::string(request.method_string());
  ctx.client_ip = conn.remote_ip;
  ctx.endpoint = EndpointFor(ctx.path);
  ctx.request_bytes = request.body().size();

  if (ctx.endpoint == Endpoint::kOther) {
    DataPlaneRoute* route = env_.services ? env_.services->Get<DataPlaneRoute>() : nullptr;
    if (route && ctx.path.starts_with(route->prefix())) {
      co_await HandleDataPlaneRoute(call, *route);
      Observe(ctx);
      co_return;
    }
  }
  bool want_post = ctx.endpoint != Endpoint::kModels;
  if (ctx.endpoint == Endpoint::kOther ||
      (want_post ? request.method() != http::verb::post : request.method() != http::verb::get)) {
    auto res = WrongEndpointResponse(ctx, want_post);
    co_await writer.Send(std::move(res));
    Observe(ctx);
    co_return;
  }

  ctx.headers.reserve(16);
  for (const auto& f : request) {
    ctx.headers.emplace_back(ToLower(std::string_view(f.name_string().data(), f.name_string().size())),
                             std::string(f.value().data(), f.value().size()));
  }
  if (want_post) {
    const std::string& body = request.body();
    if (body.empty()) {
      ctx.body_error = "request body is empty; expected a JSON object";
    } else {
      // The JSON parser rejects invalid UTF-8 itself; the separate check
      // runs only to name that cause in the error.
      boost::system::error_code ec;
      json::value v = json::parse(body, ec);
      if (ec && !IsValidUtf8(body)) {
        ctx.body_error = "request body is not valid UTF-8";
      } else if (ec) {
        ctx.body_error = "request body is not valid JSON: " + ec.message();
      } else if (!v.is_object()) {
        ctx.body_error = "request body must be a JSON object";
      } else {
        ctx.body = std::move(v.get_object());
      }
    }
  }

  std::optional<StageResult> local;
  // One clock reading per stage: a stage's end is the next one's start.
  auto t0 = std::chrono::steady_clock::now();
  for (size_t i = 0; i < stages_.size(); ++i) {
    StageResult r = stages_[i]->OnRequest(ctx);
    call.entered = i + 1;
    auto t1 = std::chrono::steady_clock::now();
    ctx.timings.push_back({stages_[i]->name(),
                           std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count()});
    t0 = t1;
    if (r.action != StageResult::Action::kContinue) {
      local = std::move(r);
      break;
    }
  }

  if (local) {
    ctx.status = local->reply.status;
    for (auto& h : local->reply.headers) ctx.response_headers.push_back(h);
    if (ctx.status >= 400) call.ctx.error_message = "refused by stage " + std::string(ctx.timings.back().stage);
    co_await Finish(call);
    std::string reply_body = std::move(local->reply.body);
    if (ctx.status != local->reply.status) {
      // A barrier failed (Finish made it a 503): the stage's reply (e.g. a
      // 202 naming a review that was never stored) must not go out.
      reply_body = ErrorBody(ctx.error_message + "; the call was not served", "server_error",
                             "service_unavailable");
    }
    co_await writer.Send(MakeResponse(ctx, ctx.status, std::move(reply_body), "application/json"));
  } else if (ctx.endpoint == Endpoint::kModels) {
    std::vector<std::string> reported = co_await ReportedUpstreamModels();
    std::string models_body = ModelsBody(ctx, reported);
    ctx.status = 200;
    co_await Finish(call);
    co_await writer.Send(MakeResponse(ctx, ctx.status, std::move(models_body), "application/json"));
  } else {
    co_await Proxy(call);
  }

  Observe(ctx);
}

Task<void> Gateway::HandleDataPlaneRoute(Call& call, DataPlaneRoute& route) {
  RequestContext& ctx = call.ctx;
  LocalReply reply;
  if (call.request.method() != http::verb::get) {
    reply.status = 405;
    reply.body = ErrorBody("method " + ctx.method + " is not allowed on " + ctx.path + "; use GET",
                           "invalid_request_error", "method_not_allowed");
  } else {
    for (const auto& f : call.request) {
      ctx.headers.emplace_back(
          ToLower(std::string_view(f.name_string().data(), f.name_string().size())),
          std::string(f.value().data(), f.value().size()));
    }
    // The same key check as every /v1 call: the pipeline's auth stage.
    std::optional<StageResult> refused;
    for (const auto& stage : stages_) {
      if (stage->name() != "auth") continue;
      StageResult r = stage->OnRequest(ctx);
      if (r.action != StageResult::Action::kContinue) refused = std::move(r);
      break;
    }
    if (refused) {
      reply = std::move(refused->reply);
    } else if (!ctx.principal.authenticated) {
      reply.status = 401;
      reply.body = ErrorBody("this endpoint needs an API key and the pipeline has no auth stage",
                             "invalid_request_error", "missing_api_key");
    } else {
      reply = route.Handle(ctx);
    }
  }
  ctx.status = reply.status;
  for (auto& h : reply.headers) ctx.response_headers.push_back(std::move(h));
  co_await call.writer.Send(MakeResponse(ctx, ctx.status, std::move(reply.body), "application/json"));
}

Task<std::vector<std::string>> Gateway::ReportedUpstreamModels() {
  constexpr int64_t kFreshNs = 60'000'000'000, kRetryNs = 10'000'000'000;
  const auto& all = upstreams_->all();
  std::set<std::string> ids;
  for (size_t i = 0; i < all.size(); ++i) {
    upstream::Upstream& up = *all[i];
    const auto& patterns = up.config().models;
    if (std::none_of(patterns.begin(), patterns.end(),
                     [](const std::string& m) { return m.find('*') != std::string::npos; })) {
      continue;
    }
    {
      std::lock_guard lock(reported_mu_);
      if (reported_.size() < all.size()) reported_.resize(all.size());
      if (env_.clock->NowMonoNs() < reported_[i].expires_mono_ns) {
        ids.insert(reported_[i].ids.begin(), reported_[i].ids.end());
        continue;
      }
    }
    upstream::OutboundRequest request;
    request.method = http::verb::get;
    request.path = "/v1/models";
    request.content_type.clear();
    std::vector<std::string> found;
    std::string failure;
    auto result = co_await upstream::Call(up, PoolFor(static_cast<int>(i)), request);
    if (auto* e = std::get_if<upstream::UpstreamError>(&result)) {
      failure = e->message;
    } else {
      auto& exchange = *std::get<std::unique_ptr<upstream::Exchange>>(result);
      auto body = co_await exchange.ReadAll(1 << 20);
      if (!body.ok()) {
        failure = body.status().message();
      } else if (exchange.status() != 200) {
        failure = "GET /v1/models answered " + std::to_string(exchange.status());
      } else {
        boost::system::error_code ec;
        json::value v = json::parse(*body, ec);
        const json::value* data =
            !ec && v.is_object() ? v.get_object().if_contains("data") : nullptr;
        if (!data || !data->is_array()) {
          failure = "GET /v1/models did not return an OpenAI model list";
        } else {
          for (const auto& item : data->get_array()) {
            const json::value* id =
                item.is_object() ? item.get_object().if_contains("id") : nullptr;
            if (id && id->is_string() && up.Serves(id->get_string()))
              found.emplace_back(id->get_string());
          }
        }
      }
    }
    if (!failure.empty()) {
      spdlog::warn("upstream `{}`: cannot list its models for GET /v1/models: {}", up.name(),
                   failure);
    }
    ids.insert(found.begin(), found.end());
    std::lock_guard lock(reported_mu_);
    reported_[i].expires_mono_ns =
        env_.clock->NowMonoNs() + (failure.empty() ? kFreshNs : kRetryNs);
    reported_[i].ids = std::move(found);
  }
  co_return std::vector<std::string>(ids.begin(), ids.end());
}

// Kept out of coroutines: g++ 12 miscompiles braced lists of string
// literals held across a coroutine frame ("array used as initializer").
std::string Gateway::ModelsBody(const RequestContext& ctx,
                                const std::vector<std::string>& reported) {
  std::set<std::string> names;
  auto* lister = env_.services ? env_.services->Get<ModelLister>() : nullptr;
  if (lister) {
    for (auto& m : lister->ModelsFor(ctx)) names.insert(std::move(m));
  } else {
    for (const auto& up : upstreams_->all()) {
      for (const auto& m : up->config().models) {
        if (m.find('*') == std::string::npos) names.insert(m);
      }
    }
  }
  if (!lister || lister->IncludesUpstreamModels()) names.insert(reported.begin(), reported.end());
  std::vector<std::string> models(names.begin(), names.end());
  if (auto* access = env_.services ? env_.services->Get<ModelAccess>() : nullptr) {
    std::erase_if(models, [&](const std::string& m) { return !access->MayUse(ctx, m); });
  }
  json::array data;
  for (const auto& m : models) {
    data.push_back(json::object{{"id", m}, {"object", "model"}, {"created", 0}, {"owned_by", "steward"}});
  }
  return json::serialize(json::object{{"object", "list"}, {"data", std::move(data)}});
}

void Gateway::Observe(const RequestContext& ctx) {
  double latency_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - ctx.start).count();
  auto& metrics = monitor::MetricsRegistry::Global();
  // Series are looked up once per thread and label set; the registry's
  // objects live for the process, so the cached pointers stay valid.
  struct SeriesKey {
    Endpoint endpoint;
    int status;
    std::string model;
    bool operator==(const SeriesKey&) const = default;
  };
  struct SeriesKeyHash {
    size_t operator()(const SeriesKey& k) const {
      return std::hash<std::string>()(k.model) ^ (static_cast<size_t>(k.status) << 8) ^ static_cast<size_t>(k.endpoint);
    }
  };
  thread_local std::unordered_map<SeriesKey, monitor::Counter*, SeriesKeyHash> counters;
  thread_local std::unordered_map<Endpoint, monitor::Histogram*> route_latency;
  thread_local std::unordered_map<std::string_view, monitor::Histogram*> stage_latency;
  std::string_view route = EndpointName(ctx.endpoint);
  auto& counter = counters[SeriesKey{ctx.endpoint, ctx.status, ModelLabel(ctx)}];
  if (!counter) {
    counter = &metrics.GetCounter("steward_requests_total", "Requests by route, model and status.",
                                  {{"route", std::string(route)}, {"model", ModelLabel(ctx)}, {"status", std::to_string(ctx.status)}});
  }
  counter->Inc();
  auto& latency = route_latency[ctx.endpoint];
  if (!latency) {
    latency = &metrics.GetHistogram("steward_request_duration_seconds", "Request latency by route.",
                                    {{"route", std::string(route)}});
  }
  latency->Observe(latency_ms / 1000.0);
  for (const auto& t : ctx.timings) {
    auto& h = stage_latency[t.stage];
    if (!h) {
      h = &metrics.GetHistogram("steward_stage_duration_seconds", "Time spent in each stage's request hook.",
                                {{"stage", std::string(t.stage)}});
    }
    h->Observe(t.nanos / 1e9);
  }
  access_log_->Write(ctx, latency_ms);
}

Task<void> Gateway::Finish(Call& call) {
  if (call.finished) co_return;
  call.finished = true;
  RequestContext& ctx = call.ctx;
  // Barriers of request hooks (e.g. the review row of a held call) first:
  // when one fails the call is a 503, and the finish hooks (audit) must
  // record that outcome, not the one that was never sent.
  auto request_barriers = std::move(ctx.barriers);
  ctx.barriers.clear();
  for (auto& b : request_barriers) {
    Status s = co_await AwaitBarrier(*b);
    if (!s.ok() && !call.writer.started() && ctx.status != 503) {
      ctx.status = 503;
      ctx.error_message = s.message();
      ctx.response_headers.clear();
    }
  }
  for (size_t i = call.entered; i-- > 0;) stages_[i]->OnFinish(ctx);
  auto barriers = std::move(ctx.barriers);
  ctx.barriers.clear();
  for (auto& b : barriers) {
    Status s = co_await AwaitBarrier(*b);
    if (!s.ok() && !call.writer.started()) {
      // Fail closed: nothing is released that was not durably recorded.
      ctx.status = 503;
      ctx.error_message = s.message();
      ctx.response_headers.clear();
    }
  }
}

Task<void> Gateway::Proxy(Call& call) {
  RequestContext& ctx = call.ctx;
  // A policy route(model[@version]) obligation sends the call elsewhere.
  for (const auto& o : ctx.policy.obligations) {
    if (o.rfind("route(", 0) != 0 || o.back() != ')') continue;
    std::string target = o.substr(6, o.size() - 7);
    std::string model = target.substr(0, target.find('@'));
    if (upstream::Upstream* routed = upstreams_->ForModel(model)) {
      ctx.upstream = routed->name();
      ctx.upstream_model = model;
      ctx.response_headers.emplace_back("x-steward-routed", target);
    } else {
      ctx.status = 502;
      ctx.error_message = "policy routes this call to model `" + model + "`, which no upstream serves";
      co_await Finish(call);
      auto res = MakeResponse(ctx, ctx.status, ErrorBody(ctx.error_message, "upstream_error", "route_unavailable"),
                              "application/json");
      co_await call.writer.Send(std::move(res));
      co_return;
    }
  }
  upstream::Upstream* up = ctx.upstream.empty() ? upstreams_->ForModel(ctx.model) : upstreams_->ByName(ctx.upstream);
  auto send_local = [&](int status, std::string body) -> Task<void> {
    ctx.status = status;
    co_await Finish(call);
    if (ctx.status == 503 && status != 503) {
      body = ErrorBody("audit log unavailable: " + ctx.error_message + "; the call was not served", "server_error",
                       "audit_unavailable");
    }
    co_await call.writer.Send(MakeResponse(ctx, ctx.status, std::move(body), "application/json"));
  };
  if (!up) {
    co_await send_local(404, ErrorBody("model `" + ctx.model + "` is not served by any configured upstream",
                                       "invalid_request_error", "model_not_found"));
    co_return;
  }
  if (ctx.upstream_model.empty()) ctx.upstream_model = ctx.model;

  auto index_of = [&](upstream::Upstream* u) {
    const auto& all = upstreams_->all();
    for (size_t i = 0; i < all.size(); ++i) {
      if (all[i].get() == u) return static_cast<int>(i);
    }
    return 0;
  };
  std::string rewritten_body;
  auto outbound = [&]() {
    upstream::OutboundRequest out;
    out.path = ctx.path;
    out.headers = ForwardedHeaders(ctx);
    if (ctx.body_modified || ctx.upstream_model != ctx.model) {
      json::object body = ctx.body;
      body["model"] = ctx.upstream_model;
      rewritten_body = json::serialize(body);
      out.body = rewritten_body;
    } else {
      out.body = call.request.body();
    }
    return out;
  };

  auto result = co_await upstream::Call(*up, PoolFor(index_of(up)), outbound());
  if (auto* err = std::get_if<upstream::UpstreamError>(&result)) {
    const std::string& fallback = up->config().fallback_model;
    upstream::Upstream* fb = fallback.empty() ? nullptr : upstreams_->ForModel(fallback);
    if (fb && (err->code == "circuit_open" || err->code == "upstream_unreachable")) {
      ctx.upstream_model = fallback;
      ctx.upstream = fb->name();
      ctx.response_headers.emplace_back("x-steward-fallback", fallback);
      result = co_await upstream::Call(*fb, PoolFor(index_of(fb)), outbound());
      up = fb;
    }
  }
  if (auto* err = std::get_if<upstream::UpstreamError>(&result)) {
    ctx.error_message = err->message;
    if (err->retry_after_ms > 0) ctx.response_headers.emplace_back("retry-after", std::to_string((err->retry_after_ms + 999) / 1000));
    co_await send_local(err->status, ErrorBody(err->message, "upstream_error", err->code));
    co_return;
  }
  auto exchange = std::move(std::get<std::unique_ptr<upstream::Exchange>>(result));

  if (ctx.stream && exchange->status() == 200 && exchange->is_event_stream()) {
    // ---- streamed reply: relay event by event ----
    ResponseView view;
    view.status = 200;
    view.streaming = true;
    for (size_t i = call.entered; i-- > 0;) {
      StageResult r = stages_[i]->OnResponse(ctx, view);
      if (r.action != StageResult::Action::kContinue) {
        co_await send_local(r.reply.status, std::move(r.reply.body));
        co_return;
      }
    }
    auto early = std::move(ctx.barriers);
    ctx.barriers.clear();
    for (auto& b : early) {
      Status s = co_await AwaitBarrier(*b);
      if (!s.ok()) {
        ctx.error_message = s.message();
        co_await send_local(503, ErrorBody("audit log unavailable: " + s.message() + "; the call was not served",
                                           "server_error", "audit_unavailable"));
        co_return;
      }
    }
    ctx.status = 200;
    http::response<http::empty_body> head{http::status::ok, 11};
    head.set(http::field::content_type, "text/event-stream");
    head.set(http::field::cache_control, "no-cache");
    head.set("x-steward-request-id", ctx.request_id);
    for (const auto& [k, v] : ctx.response_headers) head.set(k, v);
    ctx.response_headers.clear();
    bool client_ok = co_await call.writer.StartStream(std::move(head));

    std::string pending;
    std::optional<json::object> template_event;
    bool flushed = false, aborted = false, saw_usage = false;
    size_t completion_bytes = 0;

    auto emit = [&](const json::object& event) -> Task<bool> {
      std::string line = "data: ";
      line += json::serialize(event);
      line += "\n\n";
      co_return co_await call.writer.WriteChunk(line);
    };
    auto run_chunk_hooks = [&](StreamChunk& chunk) -> std::optional<StageResult> {
      for (size_t i = call.entered; i-- > 0;) {
        StageResult r = stages_[i]->OnChunk(ctx, chunk);
        if (r.action != StageResult::Action::kContinue) return r;
      }
      return std::nullopt;
    };
    auto put_text = [&](json::object& event, const std::string& text) {
      if (json::value* slot = TextSlot(event, ctx.endpoint, !text.empty())) *slot = text;
    };
    auto final_flush = [&]() -> Task<bool> {
      flushed = true;
      if (!template_event) co_return true;
      StreamChunk fin;
      fin.event = *template_event;
      ClearChoiceDelta(fin.event);
      put_text(fin.event, "");
      SetFinishReason(fin.event, nullptr);
      fin.final = true;
      fin.has_text = true;
      const json::object untouched = fin.event;
      if (auto r = run_chunk_hooks(fin)) {
        aborted = true;
        ctx.status = r->reply.status;
        co_return co_await call.writer.WriteChunk("data: " + r->reply.body + "\n\n");
      }
      // A stage may release held data other than text (tool-call arguments)
      // into the event: it is sent even when no text is left.
      if (fin.text.empty() && fin.event == untouched) co_return true;
      completion_bytes += fin.text.size();
      put_text(fin.event, fin.text);
      co_return co_await emit(fin.event);
    };

    auto process_event = [&](std::string_view block) -> Task<bool> {
      std::string data;
      bool has_data = false;
      for (auto line : Split(block, '\n')) {
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.substr(0, 5) == "data:") {
          std::string_view v = line.substr(5);
          if (!v.empty() && v.front() == ' ') v.remove_prefix(1);
          if (has_data) data += "\n";
          data += v;
          has_data = true;
        }
      }
      if (!has_data) co_return true;  // comments, keep-alives: nothing to relay
      if (data == "[DONE]") co_return true;
      boost::system::error_code ec;
      json::value v = json::parse(data, ec);
      if (ec || !v.is_object()) {
        // Not JSON: relay as is; stages cannot inspect it.
        co_return co_await call.writer.WriteChunk("data: " + data + "\n\n");
      }
      StreamChunk chunk;
      chunk.event = std::move(v.get_object());
      ReadUsage(chunk.event, &ctx.usage);
      if (chunk.event.if_contains("usage") && chunk.event.at("usage").is_object()) saw_usage = true;
      if (json::value* slot = TextSlot(chunk.event, ctx.endpoint, false)) {
        chunk.text = std::string(slot->get_string());
        chunk.has_text = true;
      }
      bool finishing = HasFinishReason(chunk.event);
      if (!template_event) template_event = chunk.event;
      if (auto r = run_chunk_hooks(chunk)) {
        aborted = true;
        ctx.status = r->reply.status;
        co_await call.writer.WriteChunk("data: " + r->reply.body + "\n\n");
        co_return false;
      }
      completion_bytes += chunk.text.size();
      if (chunk.has_text || !chunk.text.empty()) put_text(chunk.event, chunk.text);
      if (finishing && !flushed) {
        // Held-back text must reach the client before finish_reason.
        json::value reason = chunk.event.at("choices").get_array()[0].get_object().at("finish_reason");
        if (!chunk.text.empty()) {
          json::object body_part = chunk.event;
          SetFinishReason(body_part, nullptr);
          if (!co_await emit(body_part)) co_return false;
          put_text(chunk.event, "");
        }
        if (!co_await final_flush()) co_return false;
        if (aborted) co_return false;
        SetFinishReason(chunk.event, std::move(reason));
      }
      co_return co_await emit(chunk.event);
    };

    while (client_ok && !aborted) {
      auto piece = co_await exchange->ReadSome();
      if (!piece.ok()) {
        upstream::UpstreamError e{piece.status().code() == StatusCode::kDeadlineExceeded ? 504 : 502,
                                  piece.status().code() == StatusCode::kDeadlineExceeded ? "upstream_timeout" : "upstream_error",
                                  piece.status().message()};
        exchange->MarkFailed(e);
        ctx.status = e.status;
        ctx.error_message = e.message;
        aborted = true;
        co_await call.writer.WriteChunk("data: " + ErrorBody("stream interrupted: " + e.message, "upstream_error", e.code) + "\n\n");
        break;
      }
      if (!piece->has_value()) break;
      pending += **piece;
      size_t pos;
      while (!aborted && client_ok && (pos = pending.find("\n\n")) != std::string::npos) {
        std::string block = pending.substr(0, pos);
        pending.erase(0, pos + 2);
        client_ok = co_await process_event(block);
      }
      // Normalise CRLF framing lazily: "\r\n\r\n" contains no "\n\n".
      if (pending.find("\r\n\r\n") != std::string::npos) {
        std::string normalised;
        for (size_t i = 0; i < pending.size(); ++i) {
          if (pending[i] != '\r') normalised.push_back(pending[i]);
        }
        pending.swap(normalised);
      }
      if (pending.size() > (4u << 20)) {
        aborted = true;
        ctx.status = 502;
        ctx.error_message = "upstream sent an SSE event larger than 4 MiB";
        co_await call.writer.WriteChunk("data: " + ErrorBody(ctx.error_message, "upstream_error", "upstream_protocol") + "\n\n");
      }
    }
    if (!pending.empty() && client_ok && !aborted) client_ok = co_await process_event(pending);
    if (client_ok && !aborted && !flushed) client_ok = co_await final_flush();
    if (!client_ok && !aborted) {
      ctx.status = 499;  // client closed the connection
      ctx.error_message = "client disconnected during the stream";
    }
    if (!saw_usage) {
      ctx.usage.prompt_tokens = EstimateTokens(ctx.request_bytes);
      ctx.usage.completion_tokens = EstimateTokens(completion_bytes);
      ctx.usage.estimated = true;
    }
    // Drop the rest of an aborted upstream body: the connection is closed.
    exchange.reset();
    co_await Finish(call);
    if (ctx.status == 503 && !aborted) {
      co_await call.writer.WriteChunk("data: " + ErrorBody("audit log unavailable: " + ctx.error_message, "server_error", "audit_unavailable") + "\n\n");
    } else if (client_ok && !aborted) {
      for (const auto& [k, v] : ctx.response_headers) {
        // Headers are gone by now: late metadata (the completion's audit
        // index) travels as an SSE comment, which clients ignore.
        co_await call.writer.WriteChunk(": " + k + ": " + v + "\n\n");
      }
      co_await call.writer.WriteChunk("data: [DONE]\n\n");
    }
    co_await call.writer.EndStream();
    co_return;
  }

  // ---- whole reply ----
  auto body = co_await exchange->ReadAll(kMaxUpstreamBody);
  if (!body.ok()) {
    upstream::UpstreamError e{body.status().code() == StatusCode::kDeadlineExceeded ? 504 : 502,
                              body.status().code() == StatusCode::kDeadlineExceeded ? "upstream_timeout" : "upstream_error",
                              body.status().message()};
    exchange->MarkFailed(e);
    ctx.error_message = e.message;
    co_await send_local(e.status, ErrorBody(e.message, "upstream_error", e.code));
    co_return;
  }
  int status = exchange->status();
  std::string content_type(exchange->content_type());
  exchange.reset();  // back to the pool
  if (status >= 500) {
    int mapped = (status == 503 || status == 504) ? status : 502;
    std::string snippet = body->substr(0, 200);
    if (!IsValidUtf8(snippet)) snippet = "(binary)";
    ctx.error_message = "upstream `" + up->name() + "` answered " + std::to_string(status);
    co_await send_local(mapped, ErrorBody(ctx.error_message + ": " + snippet, "upstream_error", "upstream_status_" + std::to_string(status)));
    co_return;
  }
  ResponseView view;
  view.status = status;
  boost::system::error_code ec;
  if (content_type.find("json") != std::string::npos || content_type.empty()) {
    view.body = json::parse(*body, ec);
    if (ec) view.body = nullptr;
  }
  if (view.body.is_object()) ReadUsage(view.body.get_object(), &ctx.usage);
  if (ctx.usage.prompt_tokens == 0 && ctx.usage.completion_tokens == 0 && status == 200) {
    ctx.usage.prompt_tokens = EstimateTokens(ctx.request_bytes);
    ctx.usage.completion_tokens = EstimateTokens(body->size());
    ctx.usage.estimated = true;
  }
  if (status < 300) {
    for (size_t i = call.entered; i-- > 0;) {
      StageResult r = stages_[i]->OnResponse(ctx, view);
      if (r.action != StageResult::Action::kContinue) {
        for (auto& h : r.reply.headers) ctx.response_headers.push_back(h);
        co_await send_local(r.reply.status, std::move(r.reply.body));
        co_return;
      }
    }
  }
  std::string out = view.body_modified ? json::serialize(view.body) : std::move(*body);
  ctx.status = status;
  co_await Finish(call);
  if (ctx.status == 503 && status != 503) {
    out = ErrorBody("audit log unavailable: " + ctx.error_message + "; the call was not served", "server_error",
                    "audit_unavailable");
    content_type = "application/json";
  }
  // g++ 12 destroys a temporary made by ?: inside a co_await operand twice:
  // keep such expressions out of co_await statements.
  if (content_type.empty()) content_type = "application/json";
  auto response = MakeResponse(ctx, ctx.status, std::move(out), content_type);
  co_await call.writer.Send(std::move(response));
}

}  // namespace steward::gateway
