#include "admin/admin_server.h"

#include "admin/dashboard.h"
#include "common/json_text.h"
#include "monitor/metrics.h"
#include "steward/admin_events.h"

namespace steward::admin {

namespace http = server::http;
namespace json = boost::json;
using server::Task;

namespace {

http::response<http::string_body> Reply(int status, std::string body, std::string_view content_type) {
  http::response<http::string_body> res{static_cast<http::status>(status), 11};
  res.set(http::field::content_type, content_type);
  res.set(http::field::cache_control, "no-store");
  res.body() = std::move(body);
  return res;
}

json::object KeyJson(const identity::KeyRecord& k) {
  return json::object{{"id", k.id},     {"name", k.name}, {"role", k.role},     {"team", k.team},
                      {"rpm", k.rpm},   {"tpm", k.tpm},   {"prefix", k.prefix}, {"created_ms", k.created_ms},
                      {"revoked", k.revoked_ms != 0},     {"revoked_ms", k.revoked_ms}};
}

http::response<http::string_body> NotFoundReply(bool method_mismatch, const std::string& method, const std::string& path) {
  if (method_mismatch) {
    return Reply(405, ErrorBody("method " + method + " not allowed on " + path, "invalid_request_error", "method_not_allowed"),
                 "application/json");
  }
  return Reply(404, ErrorBody("no admin endpoint " + path, "invalid_request_error", "not_found"), "application/json");
}

json::object ReadinessJson(bool* ready) {
  json::object checks;
  *ready = true;
  for (auto& [name, s] : AdminRouter::Global().CheckReadiness()) {
    if (s.ok()) {
      checks[name] = "ok";
    } else {
      checks[name] = s.message();
      *ready = false;
    }
  }
  return json::object{{"status", *ready ? "ready" : "not_ready"}, {"checks", std::move(checks)}};
}

}  // namespace

Task<void> AdminServer::Handle(server::Request& req, const server::Connection& conn, server::ResponseWriter& writer) {
  std::string_view target(req.target().data(), req.target().size());
  size_t q = target.find('?');
  std::string path(target.substr(0, q));
  std::string method(req.method_string());
  if (path == "/healthz") {
    co_await writer.Send(Reply(200, R"({"status":"ok"})", "application/json"));
    co_return;
  }
  if (path == "/readyz") {
    bool ready = false;
    std::string body = JsonText(ReadinessJson(&ready));
    auto response = Reply(ready ? 200 : 503, std::move(body), "application/json");
    co_await writer.Send(std::move(response));
    co_return;
  }

  // Everything else is for admins.
  std::string_view auth(req[http::field::authorization].data(), req[http::field::authorization].size());
  Principal principal;
  if (auth.size() > 7 && (auth.substr(0, 7) == "Bearer " || auth.substr(0, 7) == "bearer ")) {
    auto key = keys_.Authenticate(auth.substr(7));
    if (key.ok()) {
      principal.authenticated = true;
      principal.key_id = key->id;
      principal.name = key->name;
      principal.role = key->role;
      principal.team = key->team;
    }
  }
  if (!principal.authenticated && path == "/" && method == "GET") {
    // The dashboard page itself holds no data; it asks for a key and
    // calls the API with it.
    co_await writer.Send(Reply(200, std::string(DashboardHtml()), "text/html; charset=utf-8"));
    co_return;
  }
  if (!principal.authenticated) {
    co_await writer.Send(Reply(401, ErrorBody("admin API: missing or invalid API key", "invalid_request_error", "invalid_api_key"),
                               "application/json"));
    co_return;
  }
  if (principal.role != "admin") {
    co_await writer.Send(Reply(403, ErrorBody("admin API: key " + principal.key_id + " has role `" + principal.role +
                                                  "`; admin keys only",
                                              "permission_denied", "admin_only"),
                               "application/json"));
    co_return;
  }
  if (path == "/metrics") {
    co_await writer.Send(Reply(200, monitor::MetricsRegistry::Global().Render(), "text/plain; version=0.0.4"));
    co_return;
  }
  if (path == "/" && method == "GET") {
    co_await writer.Send(Reply(200, std::string(DashboardHtml()), "text/html; charset=utf-8"));
    co_return;
  }
  bool mismatch = false;
  const AdminHandler* handler = AdminRouter::Global().Find(method, path, &mismatch);
  if (!handler) {
    // Built outside the co_await: g++ 12 double-destroys ?: temporaries there.
    auto response = NotFoundReply(mismatch, method, path);
    co_await writer.Send(std::move(response));
    co_return;
  }
  AdminRequest areq;
  areq.method = method;
  areq.path = path;
  areq.query = q == std::string_view::npos ? "" : std::string(target.substr(q + 1));
  areq.body = req.body();
  areq.principal = principal;
  AdminResponse ares = (*handler)(areq);
  co_await writer.Send(Reply(ares.status, std::move(ares.body), ares.content_type));
}

AdminResponse AuthorizationError(const Status& s) {
  if (s.code() == StatusCode::kPermissionDenied) return AdminResponse::Error(403, "permission_denied", s.message());
  if (s.code() == StatusCode::kAlreadyExists) return AdminResponse::Error(409, "already_approved", s.message());
  return AdminResponse::Error(503, "authorization_unavailable", s.message());
}

AdminResponse PendingResponse(const AdminAuthorization& auth, const AdminActionSpec& action) {
  json::array approvers;
  for (const auto& a : auth.approvers) approvers.emplace_back(a);
  return AdminResponse::Json(202, JsonText(json::object{{"status", "pending_approval"},
                                                        {"pending_id", auth.pending_id},
                                                        {"action", action.action},
                                                        {"target", action.target},
                                                        {"approvals", auth.approvals},
                                                        {"required", auth.required},
                                                        {"approved_by", std::move(approvers)},
                                                        {"message", auth.message}}));
}

void RegisterKeyRoutes(AdminRouter& router, identity::KeyStore& keys, Database& db, const std::string& data_dir,
                       AdminAuthorizer authorize) {
  auto allowed = [authorize](const AdminRequest& r, const AdminActionSpec& action) -> Result<AdminAuthorization> {
    if (!authorize) return AdminAuthorization{};
    return authorize(r.principal, action);
  };
  auto approvers_json = [](const AdminAuthorization& a) {
    json::array out;
    for (const auto& id : a.approvers) out.emplace_back(id);
    return out;
  };
  router.Add("GET", "/admin/keys", [&keys, allowed](const AdminRequest& r) {
    auto auth = allowed(r, {"keys.list", {}, {}, "keys"});
    if (!auth.ok()) return AuthorizationError(auth.status());
    if (!auth->execute) return PendingResponse(*auth, {"keys.list", {}, {}, "keys"});
    auto list = keys.List();
    if (!list.ok()) return AdminResponse::Error(503, "store_unavailable", list.status().message());
    json::array out;
    for (const auto& k : *list) out.push_back(KeyJson(k));
    return AdminResponse::Json(200, JsonText(json::object{{"keys", std::move(out)}}));
  });
  router.Add("POST", "/admin/keys", [&keys, &db, data_dir, allowed, approvers_json](const AdminRequest& r) {
    boost::system::error_code ec;
    json::value v = json::parse(r.body, ec);
    if (ec || !v.is_object()) return AdminResponse::Error(400, "invalid_json", "body must be a JSON object");
    auto& o = v.get_object();
    identity::KeySpec spec;
    auto str = [&](const char* k, std::string* out) {
      if (auto* x = o.if_contains(k)) {
        if (!x->is_string()) return false;
        *out = std::string(x->get_string());
      }
      return true;
    };
    auto num = [&](const char* k, int64_t* out) {
      if (auto* x = o.if_contains(k)) {
        if (!x->is_int64()) return false;
        *out = x->get_int64();
      }
      return true;
    };
    if (!str("name", &spec.name) || !str("role", &spec.role) || !str("team", &spec.team) || !num("rpm", &spec.rpm) ||
        !num("tpm", &spec.tpm)) {
      return AdminResponse::Error(400, "invalid_request", "name, role, team must be strings; rpm, tpm integers");
    }
    AdminActionSpec action{"keys.create",
                           {{"role", spec.role}, {"name", spec.name}},
                           {{"name", spec.name},
                            {"role", spec.role},
                            {"team", spec.team},
                            {"rpm", std::to_string(spec.rpm)},
                            {"tpm", std::to_string(spec.tpm)}},
                           "name=" + spec.name + " role=" + spec.role};
    auto auth = allowed(r, action);
    if (!auth.ok()) return AuthorizationError(auth.status());
    if (!auth->execute) return PendingResponse(*auth, action);
    auto created = keys.Create(spec);
    if (auth->finish) auth->finish(created.status());
    if (!created.ok()) {
      int status = created.status().code() == StatusCode::kInvalidArgument ? 400 : 503;
      return AdminResponse::Error(status, "invalid_request", created.status().message());
    }
    (void)RecordAdminEvent(db, data_dir,
                           {"keys.create", r.principal.key_id, created->record.id,
                            json::object{{"name", spec.name},
                                         {"role", spec.role},
                                         {"rpm", spec.rpm},
                                         {"tpm", spec.tpm},
                                         {"approved_by", approvers_json(*auth)}}});
    json::object out = KeyJson(created->record);
    out["secret"] = created->secret;
    if (!auth->pending_id.empty()) out["approved_by"] = approvers_json(*auth);
    return AdminResponse::Json(201, JsonText(out));
  });
  router.Add("DELETE", "/admin/keys/", [&keys, &db, data_dir, allowed, approvers_json](const AdminRequest& r) {
    std::string id = r.path.substr(std::string("/admin/keys/").size());
    AdminActionSpec action{"keys.revoke", {{"name", id}}, {{"id", id}}, id};
    if (auto all = keys.List(); all.ok()) {
      for (const auto& k : *all) {
        if (k.id == id) action.resource["role"] = k.role;  // policy may guard admin keys
      }
    }
    auto auth = allowed(r, action);
    if (!auth.ok()) return AuthorizationError(auth.status());
    if (!auth->execute) return PendingResponse(*auth, action);
    Status s = keys.Revoke(id);
    if (auth->finish) auth->finish(s);
    if (s.code() == StatusCode::kNotFound) return AdminResponse::Error(404, "not_found", s.message());
    if (!s.ok()) return AdminResponse::Error(503, "store_unavailable", s.message());
    (void)RecordAdminEvent(db, data_dir, {"keys.revoke", r.principal.key_id, id, json::object{{"approved_by", approvers_json(*auth)}}});
    return AdminResponse::Json(
        200, JsonText(json::object{
                 {"id", id}, {"revoked", true}, {"approved_by", approvers_json(*auth)}}));
  });
}

}  // namespace steward::admin
