// The "review" stage: owns the human review queue inside `steward serve`.
//
// Its factory opens the queue (src/review) on the gateway's store, publishes
// it as the policy::ReviewSink the policy stage hands `require_review`
// decisions to (the policy stage, earlier in the pipeline, looks the sink up
// per call), registers the /admin/reviews routes and the metrics. Holding a
// call is the policy stage's reply, and letting an approved one through
// happens there too (ReviewSink::Redeem), so that the decision's other
// obligations still apply; this stage's OnFinish gives the approval back
// when the call it let through was not served.
//
// Admin API (admin keys only; decisions authorised by policy as
// "reviews.approve" / "reviews.reject", listing as "reviews.list", with the
// two-person rule of policy::AdminGate; each decision is an audit record):
//   GET  /admin/reviews[?status=S&limit=N]   {"reviews":[...]} newest first
//   GET  /admin/reviews/{id}                 one review
//   GET  /admin/reviews/{id}?prompt=1        with the held prompt (reviews.read_prompt;
//                                            each read an audit record review.read_prompt)
//   POST /admin/reviews/{id}/approve|reject  body {"note":"..."} (optional)
// Data plane (published as the gateway's DataPlaneRoute; the caller's key):
//   GET  /v1/reviews/{id}                    the state of that key's review
#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include <mutex>

#include "admin/admin_server.h"
#include "admin/gate_authorization.h"
#include "audit/audit_log.h"
#include "common/json_text.h"
#include "config/config.h"
#include "gateway/gateway.h"
#include "monitor/metrics.h"
#include "pipeline/stage_registry.h"
#include "policy/approvals.h"
#include "policy/engine.h"
#include "policy/policy_config.h"
#include "review/prompt_read.h"
#include "review/queue_sink.h"
#include "review/review_queue.h"
#include "steward/admin_events.h"

namespace steward::stages {
namespace {

namespace json = boost::json;
using admin::AdminRequest;
using admin::AdminResponse;

// What the admin routes act on: the queue of the running gateway.
struct ReviewAdmin {
  std::shared_ptr<review::ReviewQueue> queue;
  ServiceRegistry* services = nullptr;
  Database* db = nullptr;
  std::string data_dir;
  int64_t approval_ttl_ms = 0;
  monitor::Counter* approved = nullptr;
  monitor::Counter* rejected = nullptr;
};

// The routes are registered once per process (the router has no removal)
// and act on whichever queue is active; a stage being destroyed clears it.
std::mutex active_mu;
std::shared_ptr<ReviewAdmin> active_admin;

std::shared_ptr<ReviewAdmin> ActiveAdmin() {
  std::lock_guard lock(active_mu);
  return active_admin;
}

AdminResponse NotRunning() {
  return AdminResponse::Error(503, "review_unavailable",
                              "the review queue is not running in this gateway");
}

AdminResponse StoreError(const Status& s) {
  if (s.code() == StatusCode::kNotFound) return AdminResponse::Error(404, "not_found", s.message());
  if (s.code() == StatusCode::kInvalidArgument) {
    return AdminResponse::Error(400, "invalid_request", s.message());
  }
  if (s.code() == StatusCode::kFailedPrecondition) {
    return AdminResponse::Error(409, "review_not_pending", s.message());
  }
  return AdminResponse::Error(503, "store_unavailable", s.message());
}

// The policy decides admin actions as for /admin/keys: with a policy engine
// running (the policy stage's, or serve's admin engine) through AdminGate
// and its two-person rule; without one any admin key may act.
Result<admin::AdminAuthorization> Authorize(const ReviewAdmin& a, const Principal& who,
                                            const admin::AdminActionSpec& spec) {
  policy::PolicyEngine* engine = a.services ? a.services->Get<policy::PolicyEngine>() : nullptr;
  if (!engine) return admin::AdminAuthorization{};
  Database* db = a.db;
  std::string data_dir = a.data_dir;
  policy::AdminGate gate(
      *engine, *db, SystemClock::Instance(), a.approval_ttl_ms,
      [db, data_dir](const std::string& event, const std::string& actor, const std::string& target,
                     json::object details) {
        auto r = RecordAdminEvent(*db, data_dir, {event, actor, target, std::move(details)});
        if (!r.ok()) {
          spdlog::error("{} not audited: {}", event, r.status().message());
        }
      });
  STEWARD_RETURN_IF_ERROR(gate.Init());
  // The gate only lives for this call: a held action finishes through a fresh one.
  return admin::AuthorizeThroughGate(
      gate, who, spec,
      [engine, db, ttl = a.approval_ttl_ms](const std::string& id, const Status& result) {
        policy::AdminGate g(*engine, *db, SystemClock::Instance(), ttl);
        return g.Finish(id, result);
      });
}

AdminResponse ListReviews(const AdminRequest& r) {
  auto a = ActiveAdmin();
  if (!a) return NotRunning();
  admin::AdminActionSpec spec{"reviews.list", {}, {}, "reviews"};
  auto auth = Authorize(*a, r.principal, spec);
  if (!auth.ok()) return admin::AuthorizationError(auth.status());
  if (!auth->execute) return admin::PendingResponse(*auth, spec);
  int64_t limit = 1000;
  if (std::string l = r.QueryParam("limit"); !l.empty()) {
    char* end = nullptr;
    limit = std::strtoll(l.c_str(), &end, 10);
    if (*end != '\0' || limit < 1 || limit > 100000) {
      return AdminResponse::Error(400, "invalid_request", "limit must be 1..100000");
    }
  }
  auto list = a->queue->List(r.QueryParam("status"), limit);
  if (!list.ok()) return StoreError(list.status());
  json::array out;
  for (const auto& rv : *list) out.push_back(review::ReviewToJson(rv));
  return AdminResponse::Json(200, JsonText(json::object{{"reviews", std::move(out)}}));
}

// GET /admin/reviews/{id}?prompt=1: the review with the held call's prompt
// decrypted ("prompt": {...}, see review/prompt_read.h). Authorised by
// policy as "reviews.read_prompt" on the model; each read is an audit
// admin record review.read_prompt, written before the text is returned.
AdminResponse ReadPrompt(const ReviewAdmin& a, const AdminRequest& r, const std::string& id) {
  auto got = a.queue->Get(id);
  if (!got.ok()) return StoreError(got.status());
  admin::AdminActionSpec spec{
      "reviews.read_prompt", {{"name", got->model}, {"role", got->role}}, {{"id", id}}, id};
  auto auth = Authorize(a, r.principal, spec);
  if (!auth.ok()) return admin::AuthorizationError(auth.status());
  if (!auth->execute) return admin::PendingResponse(*auth, spec);
  auto prompt = review::ReadHeldPrompt(*a.db, a.data_dir, *got, "key:" + r.principal.key_id,
                                       SystemClock::Instance().NowUnixMs());
  if (auth->finish) auth->finish(prompt.status());
  if (!prompt.ok()) {
    return AdminResponse::Error(503, "prompt_unavailable", prompt.status().message());
  }
  json::object out = review::ReviewToJson(*got);
  out["prompt"] = std::move(*prompt);
  return AdminResponse::Json(200, JsonText(out));
}

AdminResponse GetOrDecide(const AdminRequest& r) {
  auto a = ActiveAdmin();
  if (!a) return NotRunning();
  std::string rest = r.path.substr(std::string("/admin/reviews/").size());
  std::string id = rest, verb;
  if (size_t slash = rest.find('/'); slash != std::string::npos) {
    id = rest.substr(0, slash);
    verb = rest.substr(slash + 1);
  }
  if (id.empty()) return AdminResponse::Error(404, "not_found", "no review id in " + r.path);
  if (r.method == "GET") {
    if (!verb.empty()) return AdminResponse::Error(404, "not_found", "unknown path " + r.path);
    const std::string want_prompt = r.QueryParam("prompt");
    if (!want_prompt.empty() && want_prompt != "1" && want_prompt != "0") {
      return AdminResponse::Error(400, "invalid_request", "prompt must be 1 or 0");
    }
    if (want_prompt == "1") return ReadPrompt(*a, r, id);
    admin::AdminActionSpec spec{"reviews.list", {}, {}, id};
    auto auth = Authorize(*a, r.principal, spec);
    if (!auth.ok()) return admin::AuthorizationError(auth.status());
    if (!auth->execute) return admin::PendingResponse(*auth, spec);
    auto got = a->queue->Get(id);
    if (!got.ok()) return StoreError(got.status());
    return AdminResponse::Json(200, JsonText(review::ReviewToJson(*got)));
  }
  if (verb != "approve" && verb != "reject") {
    return AdminResponse::Error(404, "not_found",
                                "unknown path " + r.path +
                                    "; use /admin/reviews/ID/approve or "
                                    "/admin/reviews/ID/reject");
  }
  std::string note;
  if (!r.body.empty()) {
    boost::system::error_code ec;
    json::value v = json::parse(r.body, ec);
    const json::value* n = !ec && v.is_object() ? v.get_object().if_contains("note") : nullptr;
    if (ec || !v.is_object() || (n && !n->is_string())) {
      return AdminResponse::Error(400, "invalid_json",
                                  "body must be a JSON object, with an optional string `note`");
    }
    if (n) note = std::string(n->get_string());
  }
  auto current = a->queue->Get(id);
  if (!current.ok()) return StoreError(current.status());
  const bool approve = verb == "approve";
  admin::AdminActionSpec spec{approve ? "reviews.approve" : "reviews.reject",
                              {{"name", current->model}, {"role", current->role}},
                              {{"id", id}, {"note", note}},
                              id};
  auto auth = Authorize(*a, r.principal, spec);
  if (!auth.ok()) return admin::AuthorizationError(auth.status());
  if (!auth->execute) return admin::PendingResponse(*auth, spec);
  std::vector<std::string> approvers;
  for (const auto& k : auth->approvers) approvers.push_back("key:" + k);
  if (approvers.empty()) approvers.push_back("key:" + r.principal.key_id);
  std::string actor = "key:" + r.principal.key_id;
  std::string decided_by = approvers.size() > 1 ? "" : actor;
  for (size_t i = 0; approvers.size() > 1 && i < approvers.size(); ++i) {
    decided_by += (i ? "," : "") + approvers[i];
  }
  auto decided = a->queue->Decide(id, approve, decided_by, note);
  if (auth->finish) auth->finish(decided.status());
  if (!decided.ok()) return StoreError(decided.status());
  (approve ? a->approved : a->rejected)->Inc();
  json::object out = review::ReviewToJson(*decided);
  auto recorded =
      RecordAdminEvent(*a->db, a->data_dir, review::DecisionEvent(*decided, actor, approvers));
  if (recorded.ok()) {
    out["audit_index"] = *recorded;
  } else {
    spdlog::error("review {} decided but not audited: {}", id, recorded.status().message());
    out["audit_error"] = recorded.status().message();
  }
  return AdminResponse::Json(200, JsonText(out));
}

void RegisterRoutesOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    auto& router = admin::AdminRouter::Global();
    router.Add("GET", "/admin/reviews", ListReviews);
    router.Add("GET", "/admin/reviews/", GetOrDecide);
    router.Add("POST", "/admin/reviews/", GetOrDecide);
  });
}

// GET /v1/reviews/{id} on the data plane: the calling key asks for the
// state of a review its held call left (the gateway authenticates first).
class ReviewStatusRoute final : public gateway::DataPlaneRoute {
 public:
  explicit ReviewStatusRoute(std::shared_ptr<review::ReviewQueue> queue)
      : queue_(std::move(queue)) {}
  std::string_view prefix() const override { return kPrefix; }
  LocalReply Handle(const RequestContext& caller) override {
    std::string_view id = std::string_view(caller.path).substr(kPrefix.size());
    return review::ReviewStatusReply(*queue_, caller.principal.key_id, id);
  }

 private:
  static constexpr std::string_view kPrefix = "/v1/reviews/";
  std::shared_ptr<review::ReviewQueue> queue_;
};

class ReviewStage final : public Stage {
 public:
  ReviewStage(std::shared_ptr<ReviewAdmin> admin, std::shared_ptr<review::QueueReviewSink> sink)
      : admin_(std::move(admin)), sink_(std::move(sink)) {}
  ~ReviewStage() override {
    std::lock_guard lock(active_mu);
    if (active_admin == admin_) active_admin.reset();
  }
  std::string_view name() const override { return "review"; }

  // An approval is for one served call: when the call it let through ends
  // without a 2xx (a later stage refused it, the upstream failed), the
  // client may re-send with the same review id.
  void OnFinish(RequestContext& ctx) override {
    if (ctx.status < 200 || ctx.status >= 300) sink_->Release(ctx);
  }

 private:
  std::shared_ptr<ReviewAdmin> admin_;
  std::shared_ptr<review::QueueReviewSink> sink_;
};

Result<std::unique_ptr<Stage>> MakeReviewStage(const YAML::Node& section, StageEnv& env) {
  if (section && !section.IsNull()) {
    return config::ErrorAt(env.config_name(), section,
                           "the review stage is configured under the top-level `review:` key, "
                           "not `stages.review`");
  }
  if (!env.db) return FailedPrecondition("the review queue needs a store");
  YAML::Node root = env.root_config ? *env.root_config : YAML::Node();
  STEWARD_ASSIGN_OR_RETURN(review::ReviewOptions options,
                           review::ReadReviewOptions(env.config_name(), root));
  STEWARD_ASSIGN_OR_RETURN(policy::PolicyConfig pc,
                           policy::ParsePolicyConfig(env.config_name(), root));
  const Clock& clock = env.clock ? *env.clock : SystemClock::Instance();
  auto queue = std::make_shared<review::ReviewQueue>(*env.db, clock, options);
  if (Status s = queue->Init(); !s.ok()) return s.WithContext("review queue");

  // Subjects are stored as the audit log's keyed pseudonym, never in clear;
  // without an audit log no subject is stored.
  review::Pseudonymizer pseudonymize;
  if (auto* log = env.services ? env.services->Get<audit::AuditLog>() : nullptr) {
    pseudonymize = [log](std::string_view subject) { return log->Pseudonym(subject); };
  }
  auto sink = std::make_shared<review::QueueReviewSink>(queue, std::move(pseudonymize));
  if (env.services) {
    env.services->Put<policy::ReviewSink>(sink);
    env.services->Put<gateway::DataPlaneRoute>(std::make_shared<ReviewStatusRoute>(queue));
  }

  auto& metrics = monitor::MetricsRegistry::Global();
  std::weak_ptr<review::ReviewQueue> weak = queue;
  metrics.AddCallbackGauge("steward_reviews_pending",
                           "Calls held for human review, not yet decided nor expired", {}, [weak] {
                             auto q = weak.lock();
                             if (!q) return 0.0;
                             auto n = q->CountPending();
                             return n.ok() ? static_cast<double>(*n) : -1.0;
                           });
  auto admin = std::make_shared<ReviewAdmin>();
  admin->queue = queue;
  admin->services = env.services;
  admin->db = env.db;
  admin->data_dir = env.data_dir;
  admin->approval_ttl_ms = pc.approval_ttl_ms;
  const char* help = "Review decisions made through the admin API, by decision";
  admin->approved =
      &metrics.GetCounter("steward_review_decisions_total", help, {{"decision", "approve"}});
  admin->rejected =
      &metrics.GetCounter("steward_review_decisions_total", help, {{"decision", "reject"}});
  {
    std::lock_guard lock(active_mu);
    active_admin = admin;
  }
  RegisterRoutesOnce();
  return std::unique_ptr<Stage>(new ReviewStage(std::move(admin), std::move(sink)));
}

STEWARD_REGISTER_STAGE("review", MakeReviewStage);

}  // namespace
}  // namespace steward::stages
