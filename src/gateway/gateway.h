// The data plane: turns one HTTP request into a RequestContext, runs it
// through the configured stages, calls the upstream, relays the answer
// (whole or as SSE, chunk by chunk) back through the stages, and answers.
// See docs/life_of_a_request.md.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "config/config.h"
#include "server/http_server.h"
#include "steward/stage.h"
#include "upstream/upstream_client.h"

namespace steward::gateway {

// Lists the models a caller may use, for GET /v1/models. The registry
// module publishes one in the ServiceRegistry; without it the gateway lists
// the upstreams' explicit model names plus what "*" upstreams report.
class ModelLister {
 public:
  virtual ~ModelLister() = default;
  virtual std::vector<std::string> ModelsFor(const RequestContext& ctx) = 0;
  // Whether models that upstreams serve without being listed here (what a
  // "*" upstream reports) may be listed too; false when only registered
  // models may be called.
  virtual bool IncludesUpstreamModels() const { return true; }
};

// Whether a caller may use a model at all (policy publishes one); used to
// trim GET /v1/models to the models this key may call.
class ModelAccess {
 public:
  virtual ~ModelAccess() = default;
  virtual bool MayUse(const RequestContext& caller, const std::string& model) const = 0;
};

// A read-only GET route of the data plane beside the OpenAI endpoints,
// for paths under prefix() (the review queue publishes one for
// /v1/reviews/: a client asks for its held call's state). The gateway
// authenticates the caller with the pipeline's `auth` stage first (the same
// key check as every /v1 call; no other stage runs and nothing is proxied),
// then asks Handle() for the reply. Handle() runs on a worker thread: a
// short indexed read at most.
class DataPlaneRoute {
 public:
  virtual ~DataPlaneRoute() = default;
  virtual std::string_view prefix() const = 0;
  virtual LocalReply Handle(const RequestContext& caller) = 0;
};

class AccessLog;

// Builds the stages named in config.pipeline from the stage registry, each
// from its `stages.<name>` section: an unknown name is an error; a stage of
// the default pipeline that is not built into this binary is skipped with a
// warning (appended to `warnings`). Shared by the gateway and `config check`.
Result<std::vector<std::unique_ptr<Stage>>> BuildStages(const config::Config& config, StageEnv& env,
                                                        std::vector<std::string>* warnings);

class Gateway {
 public:
  // Builds the stages named in config.pipeline (unknown names are an error;
  // names of stages not built into this binary are skipped with a warning
  // when they come from the default pipeline).
  static Result<std::unique_ptr<Gateway>> Create(const config::Config& config, StageEnv env, int workers);
  ~Gateway();

  server::Task<void> Handle(server::Request& request, const server::Connection& conn,
                            server::ResponseWriter& writer);

  const std::vector<std::unique_ptr<Stage>>& stages() const { return stages_; }
  upstream::UpstreamSet& upstreams() { return *upstreams_; }
  std::vector<std::string> warnings() const { return warnings_; }

 private:
  Gateway() = default;
  struct Call;
  upstream::ConnectionPool& PoolFor(int upstream_index);
  server::Task<void> Proxy(Call& call);
  server::Task<void> Finish(Call& call);
  // GET under a published DataPlaneRoute's prefix: auth stage, then the route.
  server::Task<void> HandleDataPlaneRoute(Call& call, DataPlaneRoute& route);
  // The ids "*"/"prefix*" upstreams report on their own GET /v1/models,
  // cached for a minute per upstream (ten seconds after a failure).
  server::Task<std::vector<std::string>> ReportedUpstreamModels();
  std::string ModelsBody(const RequestContext& ctx, const std::vector<std::string>& reported);
  void Observe(const RequestContext& ctx);

  config::Config config_;
  StageEnv env_;
  std::vector<std::unique_ptr<Stage>> stages_;
  std::shared_ptr<upstream::UpstreamSet> upstreams_;
  // [worker][upstream]; index workers.size() is for calls from non-worker threads.
  std::vector<std::vector<std::unique_ptr<upstream::ConnectionPool>>> pools_;
  std::unique_ptr<AccessLog> access_log_;
  std::vector<std::string> warnings_;
  struct ReportedModels {
    int64_t expires_mono_ns = 0;
    std::vector<std::string> ids;
  };
  std::mutex reported_mu_;
  std::vector<ReportedModels> reported_;  // by upstream index
};

// Awaits a Barrier from a coroutine; the caller keeps it alive meanwhile.
server::Task<Status> AwaitBarrier(Barrier& barrier);

}  // namespace steward::gateway
