// The admin plane's routes. Modules register handlers for their part of the
// /admin/... JSON API (keys, models, reviews, audit, drift, evaluations);
// the admin server authenticates the caller (admin keys only) and
// dispatches by method and path prefix. Handlers run on a worker thread and
// may do short blocking store calls.
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "steward/stage.h"
#include "steward/status.h"

namespace steward::admin {

struct AdminRequest {
  std::string method;  // "GET", "POST", "DELETE"
  std::string path;    // without the query
  std::string query;   // after '?', raw
  std::string body;
  Principal principal;  // the authenticated admin
  std::string QueryParam(std::string_view name) const;
};

struct AdminResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  static AdminResponse Json(int status, std::string body) { return {status, std::move(body)}; }
  static AdminResponse Error(int status, std::string_view code, std::string_view message);
};

using AdminHandler = std::function<AdminResponse(const AdminRequest&)>;

// Readiness: every check must pass for /readyz to answer 200.
using ReadinessCheck = std::function<Status()>;

class AdminRouter {
 public:
  static AdminRouter& Global();
  // `path` matches exactly, or as a prefix when it ends with '/'.
  void Add(std::string method, std::string path, AdminHandler handler);
  void AddReadinessCheck(std::string name, ReadinessCheck check);

  // Finds the handler; nullptr if none. `*method_mismatch` is set when the
  // path is known but not for this method.
  const AdminHandler* Find(const std::string& method, const std::string& path, bool* method_mismatch) const;
  std::vector<std::pair<std::string, Status>> CheckReadiness() const;

 private:
  struct Route {
    std::string method, path;
    AdminHandler handler;
  };
  mutable std::mutex mu_;
  std::vector<Route> routes_;
  std::vector<std::pair<std::string, ReadinessCheck>> checks_;
};

}  // namespace steward::admin
