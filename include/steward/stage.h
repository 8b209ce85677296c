// The pipeline stage interface: every governance step is a Stage.
//
// A request flows through the configured stages in order (auth, rate_limit,
// route, scan_input, policy, ... then the upstream call), and the response
// flows back through them in reverse. Each hook returns a closed outcome:
//   Continue - go on to the next stage;
//   Reply    - stop here and answer the client with the given status/body
//              (401, 403, 429 ...); later OnRequest hooks do not run;
//   Hold     - stop here and answer 202 with {"review_id":..,"status":"pending"}
//              (the request waits for a human reviewer).
// OnFinish runs for every stage whose OnRequest ran (even if a later stage
// replied), once the final status is known and before anything is sent to the
// client for non-streamed replies; a stage that must make something durable
// first (audit) registers a Barrier, which the pipeline awaits.
//
// Hooks are synchronous and must not block on I/O: do CPU work, or enqueue
// work and hand back a Barrier. A stage object is shared by all requests and
// threads: keep per-request state in RequestContext (see slots).
#pragma once

#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <typeindex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "steward/status.h"

namespace YAML {
class Node;
}

namespace steward {

class Clock;
class Database;

enum class Endpoint { kChatCompletions, kCompletions, kEmbeddings, kModels, kOther };

std::string_view EndpointName(Endpoint e);  // "chat.completions", ...

struct Principal {
  bool authenticated = false;
  std::string key_id;
  std::string name;
  std::string role;  // "user", "admin", "analyst", ...
  std::string team;
  int64_t rpm = 0;  // 0 = unlimited / default
  int64_t tpm = 0;
};

// What a scanner found, never the values themselves.
struct FindingSummary {
  std::string type;       // "EMAIL_ADDRESS"
  std::string direction;  // "input" | "output"
  int count = 0;
  double max_score = 0.0;
  std::string action;     // "redact", "pseudonymize", "flag", ...
};

struct PolicyDecision {
  bool evaluated = false;
  std::string decision;  // "permit" | "deny" | "review"
  std::vector<std::string> reasons;      // ids of the rules that decided
  std::vector<std::string> obligations;  // rendered, e.g. "redact(EMAIL_ADDRESS,mask)"
  std::vector<std::string> errors;
  std::string bundle_hash;
};

struct Usage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  bool estimated = false;  // true when counted by Steward, not the upstream
};

// An answer produced by Steward itself instead of the upstream.
struct LocalReply {
  int status = 200;
  std::string body;  // complete JSON body
  std::vector<std::pair<std::string, std::string>> headers;
};

// Builds an OpenAI-shaped error body {"error":{"message","type","code"}}.
std::string ErrorBody(std::string_view message, std::string_view type, std::string_view code);

struct StageResult {
  enum class Action { kContinue, kReply, kHold };
  Action action = Action::kContinue;
  LocalReply reply;

  static StageResult Continue() { return {}; }
  // An OpenAI-shaped error reply.
  static StageResult Error(int status, std::string_view type, std::string_view code,
                           std::string_view message);
  static StageResult Reply(LocalReply reply) { return {Action::kReply, std::move(reply)}; }
  // 202 {"review_id":..,"status":"pending"}.
  static StageResult Hold(std::string_view review_id);
};

// Something a stage wants done before the response is released (e.g. an
// audit record made durable). Wait() calls `done` exactly once, on any thread.
class Barrier {
 public:
  virtual ~Barrier() = default;
  virtual void Wait(std::function<void(Status)> done) = 0;
};

// The upstream's answer as the response hooks see it.
struct ResponseView {
  int status = 0;
  bool streaming = false;      // true: SSE; body is null, chunks follow
  boost::json::value body;     // parsed JSON body (non-streamed), null if not JSON
  bool body_modified = false;  // set by a stage that changed `body`
};

// One SSE event of a streamed reply.
struct StreamChunk {
  boost::json::object event;   // the parsed `data:` JSON
  // The text this event adds: choices[0].delta.content (chat) or
  // choices[0].text (completions). Stages may rewrite it, hold part of it
  // back (emitting it in a later chunk) or empty it; the pipeline writes it
  // back into `event`.
  std::string text;
  bool has_text = false;
  // The pipeline's final call, after the upstream's last event and before
  // `data: [DONE]`: `event` is a copy of the last event with its text empty;
  // a stage flushes held-back text by setting `text`.
  bool final = false;
};

struct StageTiming {
  std::string_view stage;  // the stage's name(): stages outlive requests
  int64_t nanos = 0;
};

struct RequestContext {
  // Identity of the call.
  std::string request_id;
  Endpoint endpoint = Endpoint::kOther;
  std::string path;
  std::string method;
  std::string client_ip;
  int64_t start_unix_ms = 0;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();

  // Request headers, names lower-cased.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string_view Header(std::string_view lower_name) const;

  // Who and what.
  Principal principal;
  std::string subject;      // OpenAI `user` or x-steward-subject
  std::string model;        // as requested by the client
  std::string model_version;
  std::string weights_digest;
  // Resource attributes filled by the registry stage for policy to read:
  // lifecycle state ("approved", "deployed", "canary"; empty when the
  // registry does not know the model), SPDX license id (or "unknown"), tags.
  std::string model_state;
  std::string model_license;
  std::vector<std::string> model_tags;
  // Further registry facts for policy beyond model_state/license/tags:
  // "residency", "commercial_use" ("true"|"false"; derived from the license
  // when absent). Absent keys are absent attributes in policy.
  std::map<std::string, std::string> resource_attrs;
  // Flags of the data subject (e.g. "no-store"), read by policy as
  // context.subject_flags.
  std::vector<std::string> subject_flags;
  std::string upstream;        // chosen upstream name (route stage)
  std::string upstream_model;  // the model name sent upstream (fallbacks may change it)
  bool stream = false;

  // The request body; stages may rewrite it (set body_modified).
  boost::json::object body;
  bool body_modified = false;
  size_t request_bytes = 0;
  // Why the body could not be used as a JSON object ("" if it could); the
  // route stage answers 400 with it, after authentication.
  std::string body_error;

  // What stages learned.
  std::vector<FindingSummary> findings;
  double injection_score = -1.0;  // -1: not screened
  std::vector<std::string> injection_signals;
  PolicyDecision policy;
  std::vector<StageTiming> timings;
  Usage usage;

  // Outcome.
  int status = 0;
  std::string error_message;
  // Extra response headers (x-steward-policy, x-steward-audit-index, ...).
  std::vector<std::pair<std::string, std::string>> response_headers;
  std::vector<std::shared_ptr<Barrier>> barriers;

  // Per-request state private to one stage (e.g. a pseudonym vault), keyed
  // by type: ctx.Slot<MyState>() creates it on first use.
  template <typename T>
  T& Slot() {
    auto& p = slots_[std::type_index(typeid(T))];
    if (!p) p = std::make_shared<T>();
    return *static_cast<T*>(p.get());
  }
  template <typename T>
  T* FindSlot() {
    auto it = slots_.find(std::type_index(typeid(T)));
    return it == slots_.end() ? nullptr : static_cast<T*>(it->second.get());
  }

 private:
  std::unordered_map<std::type_index, std::shared_ptr<void>> slots_;
};

class Stage {
 public:
  virtual ~Stage() = default;
  virtual std::string_view name() const = 0;

  virtual StageResult OnRequest(RequestContext&) { return StageResult::Continue(); }
  // Non-streamed: the whole body. Streamed: called once before the first
  // chunk with `streaming` set and no body.
  virtual StageResult OnResponse(RequestContext&, ResponseView&) {
    return StageResult::Continue();
  }
  // Streamed replies, every SSE event in order. Reply aborts the stream with
  // an error event carrying the reply's message.
  virtual StageResult OnChunk(RequestContext&, StreamChunk&) { return StageResult::Continue(); }
  virtual void OnFinish(RequestContext&) {}
};

// Shared services a stage factory may use (store, clock, other modules'
// services). Modules publish services by type: env.Get<AuditLog>().
class ServiceRegistry {
 public:
  template <typename T>
  void Put(std::shared_ptr<T> service) {
    services_[std::type_index(typeid(T))] = std::move(service);
  }
  template <typename T>
  T* Get() const {
    auto it = services_.find(std::type_index(typeid(T)));
    return it == services_.end() ? nullptr : static_cast<T*>(it->second.get());
  }

 private:
  std::unordered_map<std::type_index, std::shared_ptr<void>> services_;
};

struct StageEnv {
  Database* db = nullptr;
  Clock* clock = nullptr;
  std::string data_dir;
  const YAML::Node* root_config = nullptr;  // the whole config file
  ServiceRegistry* services = nullptr;
  std::string config_path;  // the file root_config came from ("" = none)

  // The name config errors carry ("file:line:col: ...").
  std::string config_name() const { return config_path.empty() ? "config" : config_path; }
};

// Creates a stage from its config section (`stages.<name>` in the config;
// an undefined node when absent). Errors name the file:line of the problem.
using StageFactory =
    std::function<Result<std::unique_ptr<Stage>>(const YAML::Node& config, StageEnv& env)>;

}  // namespace steward
