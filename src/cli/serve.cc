// steward serve: runs the data plane and the admin plane until SIGTERM or
// SIGINT (graceful: listeners close, in-flight requests finish, exit 0).
// SIGHUP re-runs every reload hook (policy bundles, keys).
#include <signal.h>

#include <iostream>
#include <optional>
#include <thread>

#include "admin/admin_server.h"
#include "admin/gate_authorization.h"
#include "audit/audit_log.h"
#include "cli/command.h"
#include "cli/memory.h"
#include "common/json_text.h"
#include "config/config.h"
#include "gateway/gateway.h"
#include "identity/key_store.h"
#include "monitor/metrics.h"
#include "pipeline/reload.h"
#include "policy/approvals.h"
#include "policy/engine.h"
#include "policy/policy_config.h"
#include "registry/service.h"
#include "server/http_server.h"
#include "steward/admin_events.h"

namespace steward::cli {
namespace {

struct ServeOverrides {
  std::string listen;
  std::string admin_listen;
  int workers = -1;
};

int RunServe(const GlobalOptions& g, const ServeOverrides& o) {
  // Ends (reset) once the pipeline is built, before the first request.
  std::optional<StartupMemoryScope> startup_memory{std::in_place};
  auto cfg = config::LoadConfigForCli(g.config_path);
  if (!cfg.ok()) return Fail(cfg.status());
  config::Config config = std::move(*cfg);
  if (!o.listen.empty()) {
    auto hp = config::ParseHostPort(o.listen);
    if (!hp.ok()) return Fail(hp.status().WithContext("--listen"));
    config.server.listen = *hp;
  }
  if (!o.admin_listen.empty()) {
    auto hp = config::ParseHostPort(o.admin_listen);
    if (!hp.ok()) return Fail(hp.status().WithContext("--admin-listen"));
    config.server.admin_listen = *hp;
  }
  if (o.workers >= 0) config.server.workers = o.workers;
  if (Status s = config::EnsureDataDir(config); !s.ok()) return Fail(s);
  auto db = OpenDatabase(config.store_url);
  if (!db.ok()) return Fail(db.status().WithContext("store"));
  auto keys = identity::KeyStore::Open(**db, config.data_dir, SystemClock::Instance());
  if (!keys.ok()) return Fail(keys.status().WithContext("keys"));
  std::shared_ptr<identity::KeyStore> key_store = std::move(*keys);

  ServiceRegistry services;
  services.Put(key_store);
  StageEnv env;
  env.db = db->get();
  env.clock = &SystemClock::Instance();
  env.data_dir = config.data_dir;
  env.root_config = &config.root;
  env.config_path = config.path;
  env.services = &services;

  // Block the control signals before any thread starts so every thread
  // inherits the mask and sigwait below receives them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  server::IoPool pool(config.server.workers);
  auto gw = gateway::Gateway::Create(config, env, pool.size());
  if (!gw.ok()) return Fail(gw.status());
  for (const auto& w : (*gw)->warnings()) std::cerr << "steward: warning: " << w << "\n";

  server::ServerOptions data_opts;
  data_opts.listen = config.server.listen;
  data_opts.max_body_bytes = config.server.max_body_bytes;
  data_opts.request_timeout_ms = config.server.header_timeout_ms;
  data_opts.idle_timeout_ms = config.server.idle_timeout_ms;
  data_opts.tls_cert = config.server.tls_cert;
  data_opts.tls_key = config.server.tls_key;
  gateway::Gateway* gateway = gw->get();
  server::HttpServer data(pool, data_opts, [gateway](server::Request& r, const server::Connection& c, server::ResponseWriter& w) {
    return gateway->Handle(r, c, w);
  });
  if (Status s = data.Listen(); !s.ok()) return Fail(s);

  // Admin actions are authorised by the same policy engine as calls, with
  // its two-person rule kept in the store (policy::AdminGate).
  // A configured bundle governs the admin API even when the policy stage is
  // not in the data-plane pipeline.
  admin::AdminAuthorizer authorize;
  std::shared_ptr<policy::AdminGate> gate;
  auto pc = policy::ParsePolicyConfig(config.path, config.root);
  if (!pc.ok()) return Fail(pc.status());
  std::shared_ptr<policy::PolicyEngine> admin_engine;
  if (!services.Get<policy::PolicyEngine>() && pc->configured) {
    policy::RequestDefaults defaults;
    defaults.deployment_commercial = pc->deployment_commercial;
    admin_engine = std::make_shared<policy::PolicyEngine>(pc->paths, defaults);
    if (!admin_engine->bundle()) {
      std::cerr << "steward: no policy bundle could be loaded; admin actions are refused: "
                << admin_engine->load_error() << std::endl;
    }
    services.Put<policy::PolicyEngine>(admin_engine);
    pipeline::AddReloadHook("policy-admin", [admin_engine] { return admin_engine->Reload(); });
  }
  if (auto* engine = services.Get<policy::PolicyEngine>()) {
    Database* store = db->get();
    std::string data_dir = config.data_dir;
    gate = std::make_shared<policy::AdminGate>(
        *engine, *store, SystemClock::Instance(), pc->approval_ttl_ms,
        [store, data_dir](const std::string& event, const std::string& actor, const std::string& target,
                          boost::json::object details) {
          (void)RecordAdminEvent(*store, data_dir, {event, actor, target, std::move(details)});
        });
    if (Status s = gate->Init(); !s.ok()) return Fail(s.WithContext("policy approvals"));
    authorize = [gate](const Principal& who,
                       const admin::AdminActionSpec& a) -> Result<admin::AdminAuthorization> {
      return admin::AuthorizeThroughGate(
          *gate, who, a,
          [gate](const std::string& id, const Status& result) { return gate->Finish(id, result); });
    };
    // Held admin actions, for the second admin to find.
    admin::AdminRouter::Global().Add("GET", "/admin/approvals", [gate, authorize](const admin::AdminRequest& r) {
      auto auth = authorize(r.principal, {"approvals.list", {}, {}, "approvals"});
      if (!auth.ok()) return admin::AuthorizationError(auth.status());
      auto list = gate->List(r.QueryParam("all") != "1");
      if (!list.ok()) return admin::AdminResponse::Error(503, "store_unavailable", list.status().message());
      boost::json::array out;
      for (const auto& p : *list) {
        boost::json::array approvers;
        for (const auto& a : p.approvers) approvers.emplace_back(a);
        out.push_back(boost::json::object{{"id", p.id},
                                          {"action", p.action},
                                          {"target", p.target},
                                          {"state", p.state},
                                          {"required", p.required},
                                          {"approved_by", std::move(approvers)},
                                          {"created_ms", p.created_ms},
                                          {"expires_ms", p.expires_ms}});
      }
      return admin::AdminResponse::Json(
          200, JsonText(boost::json::object{{"approvals", std::move(out)}}));
    });
  }
  admin::RegisterKeyRoutes(admin::AdminRouter::Global(), *key_store, **db, config.data_dir, authorize);
  admin::AdminServer admin_handler(*key_store);
  server::ServerOptions admin_opts;
  admin_opts.listen = config.server.admin_listen;
  admin_opts.max_body_bytes = 1u << 20;
  server::HttpServer admin_server(pool, admin_opts, [&admin_handler](server::Request& r, const server::Connection& c,
                                                                     server::ResponseWriter& w) {
    return admin_handler.Handle(r, c, w);
  });
  if (Status s = admin_server.Listen(); !s.ok()) return Fail(s);

  pipeline::AddReloadHook("keys", [key_store] { return key_store->Reload(); });
  admin::AdminRouter::Global().AddReadinessCheck("store", [db = db->get()] {
    auto r = db->Query("SELECT 1");
    return r.ok() ? Status::Ok() : r.status();
  });
  if (auto* audit_log = services.Get<audit::AuditLog>()) {
    admin::AdminRouter::Global().AddReadinessCheck("audit", [audit_log] {
      return audit_log->Healthy() ? Status::Ok() : Unavailable(audit_log->StatusLine());
    });
    monitor::MetricsRegistry::Global().AddCollector([audit_log] { return audit_log->MetricsText(); });
  }
  if (auto* registry = services.Get<registry::RegistryService>()) {
    admin::AdminRouter::Global().Add(
        "GET", "/admin/models", [registry](const admin::AdminRequest&) {
          return admin::AdminResponse::Json(200, JsonText(registry->ModelsJson()));
        });
  }
  startup_memory.reset();
  pool.Start();
  std::string scheme = config.server.tls_cert.empty() ? "http" : "https";
  std::cerr << "steward: serving " << scheme << "://" << config.server.listen.host << ":" << data.port()
            << " (admin http://" << config.server.admin_listen.host << ":" << admin_server.port() << ", "
            << pool.size() << " workers, " << gateway->stages().size() << " stages, data_dir " << config.data_dir << ")"
            << std::endl;

  while (true) {
    int sig = 0;
    sigwait(&set, &sig);
    if (sig == SIGHUP) {
      auto failures = pipeline::RunReloadHooks();
      if (failures.empty()) {
        std::cerr << "steward: reloaded" << std::endl;
      } else {
        for (const auto& f : failures) std::cerr << "steward: reload failed, keeping the previous state: " << f << std::endl;
      }
      continue;
    }
    break;
  }
  std::cerr << "steward: shutting down: finishing " << data.in_flight() << " in-flight requests" << std::endl;
  data.Stop();
  admin_server.Stop();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while ((data.in_flight() > 0 || admin_server.in_flight() > 0) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  auto close_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while ((data.open_connections() > 0 || admin_server.open_connections() > 0) &&
         std::chrono::steady_clock::now() < close_deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  pool.Stop();
  pool.Join();
  gw->reset();  // stages flush (audit writer) before the store closes
  std::cerr << "steward: stopped" << std::endl;
  return kExitOk;
}

void AddServeCommands(CLI::App& app, GlobalOptions& g, int* exit_code) {
  auto* serve = app.add_subcommand("serve", "run the gateway (data plane and admin plane)");
  auto o = std::make_shared<ServeOverrides>();
  serve->add_option("--listen", o->listen, "data plane HOST:PORT (overrides config)");
  serve->add_option("--admin-listen", o->admin_listen, "admin plane HOST:PORT (overrides config)");
  serve->add_option("--workers", o->workers, "worker threads (0 = cores)")->check(CLI::Range(0, 256));
  serve->callback([&g, exit_code, o] { *exit_code = RunServe(g, *o); });
}

STEWARD_REGISTER_COMMANDS(AddServeCommands);

}  // namespace
}  // namespace steward::cli
