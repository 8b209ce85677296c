// `steward review ...`: the human review queue (docs/review.md).
//
//   review list [--status S] [--limit N] [--json]   newest first
//   review show ID [--prompt] [--key ADMIN_KEY] [--json]
//   review approve ID [--note T] [--key ADMIN_KEY]
//   review reject ID [--note T] [--key ADMIN_KEY]
//
// Works on the store directly, beside a running gateway: the gateway reads
// the decision when the client re-sends its call. Decisions are authorised
// like every admin CLI command (cli/admin_auth.h: with --key the policy
// decides, two-person rule included) and each is an audit admin record.
// Exit: 0 done, 1 the review is not pending (or policy refused), 2 bad usage
// or unknown id.
#include <ctime>
#include <iomanip>
#include <iostream>
#include <optional>
#include <sstream>

#include "cli/admin_auth.h"
#include "cli/command.h"
#include "common/json_text.h"
#include "config/config.h"
#include "review/prompt_read.h"
#include "review/review_queue.h"
#include "steward/admin_events.h"
#include "steward/clock.h"

namespace steward::cli {
namespace {

namespace json = boost::json;

struct ReviewSession {
  config::Config config;
  std::unique_ptr<Database> db;
  std::unique_ptr<review::ReviewQueue> queue;
};

Result<ReviewSession> OpenReviewSession(const GlobalOptions& globals) {
  ReviewSession s;
  STEWARD_ASSIGN_OR_RETURN(s.config, config::LoadConfigForCli(globals.config_path));
  STEWARD_ASSIGN_OR_RETURN(review::ReviewOptions options,
                           review::ReadReviewOptions(s.config.path, s.config.root));
  STEWARD_RETURN_IF_ERROR(config::EnsureDataDir(s.config));
  STEWARD_ASSIGN_OR_RETURN(s.db, OpenDatabase(s.config.store_url));
  s.queue = std::make_unique<review::ReviewQueue>(*s.db, SystemClock::Instance(), options);
  STEWARD_RETURN_IF_ERROR(s.queue->Init());
  return s;
}

std::string IsoTime(int64_t ms) {
  if (ms <= 0) return "-";
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::ostringstream o;
  o << std::put_time(&tm, "%Y-%m-%dT%H:%M:%SZ");
  return o.str();
}

void PrintReview(const review::Review& r) {
  std::cout << r.id << "  " << r.status << "\n"
            << "  created   " << IsoTime(r.created_ms) << " (expires " << IsoTime(r.expires_ms)
            << ")\n"
            << "  caller    " << r.key_name << " (" << r.key_id << ", role " << r.role << ")\n"
            << "  subject   " << (r.subject.empty() ? "-" : r.subject) << "\n"
            << "  call      " << r.endpoint << " " << r.model << "  request " << r.request_id
            << "\n"
            << "  why       " << r.message << "\n";
  if (!r.decided_by.empty()) {
    std::cout << "  decided   by " << r.decided_by << " at " << IsoTime(r.decided_ms)
              << (r.note.empty() ? "" : ": " + r.note) << "\n";
  }
  if (!r.used_request_id.empty()) {
    std::cout << "  used      by request " << r.used_request_id << " at " << IsoTime(r.used_ms)
              << "\n";
  }
}

int RunList(const GlobalOptions& g, const std::string& status, int64_t limit, bool as_json) {
  auto s = OpenReviewSession(g);
  if (!s.ok()) return Fail(s.status());
  auto list = s->queue->List(status, limit);
  if (!list.ok()) return Fail(list.status());
  if (as_json) {
    json::array out;
    for (const auto& r : *list) out.push_back(review::ReviewToJson(r));
    std::cout << JsonText(json::object{{"reviews", std::move(out)}}) << "\n";
    return kExitOk;
  }
  if (list->empty()) {
    std::cerr << "no reviews" << (status.empty() ? "" : " " + status) << "\n";
    return kExitOk;
  }
  for (const auto& r : *list) {
    std::cout << r.id << "  " << std::left << std::setw(8) << r.status << "  "
              << IsoTime(r.created_ms) << "  " << r.key_name << "  " << r.model << "  " << r.message
              << "\n";
  }
  return kExitOk;
}

// --prompt: the held call's prompt, decrypted from the audit payload store;
// authorised as "reviews.read_prompt" and recorded (review.read_prompt)
// before it is shown.
int RunShow(const GlobalOptions& g, const std::string& id, bool with_prompt, const std::string& key,
            bool as_json) {
  auto s = OpenReviewSession(g);
  if (!s.ok()) return Fail(s.status());
  auto r = s->queue->Get(id);
  if (!r.ok()) return Fail(r.status());
  std::optional<json::object> prompt;
  if (with_prompt) {
    int exit_code = kExitOk;
    policy::AdminAction action{
        "reviews.read_prompt", {{"name", r->model}, {"role", r->role}}, {{"id", id}}, id};
    auto auth = AuthorizeOrReport(s->config, *s->db, key, action, &exit_code, as_json);
    if (!auth) return exit_code;
    auto read = review::ReadHeldPrompt(*s->db, s->config.data_dir, *r, auth->actor(),
                                       SystemClock::Instance().NowUnixMs());
    auth->Finish(read.status());
    if (!read.ok()) return Fail(read.status(), kExitCheckFailed);
    prompt = std::move(*read);
  }
  if (as_json) {
    json::object out = review::ReviewToJson(*r);
    if (prompt) out["prompt"] = std::move(*prompt);
    std::cout << JsonText(out) << "\n";
    return kExitOk;
  }
  PrintReview(*r);
  if (prompt) {
    std::string_view status = (*prompt)["status"].as_string();
    std::cout << "  prompt    " << status;
    if (const auto* i = prompt->if_contains("read_audit_index")) {
      std::cout << " (this read is audit record " << i->as_int64() << ")";
    }
    std::cout << "\n";
    if (const auto* text = prompt->if_contains("text")) {
      std::cout << "----\n" << std::string_view(text->as_string()) << "\n----\n";
    }
  }
  return kExitOk;
}

int RunDecide(const GlobalOptions& g, const std::string& id, bool approve, const std::string& note,
              const std::string& key, bool as_json) {
  auto s = OpenReviewSession(g);
  if (!s.ok()) return Fail(s.status());
  auto current = s->queue->Get(id);
  if (!current.ok()) return Fail(current.status());
  if (current->status != review::kPending) {
    return Fail("review " + id + " is " + current->status + "; only pending reviews can be decided",
                kExitCheckFailed);
  }
  int exit_code = kExitOk;
  policy::AdminAction action{approve ? "reviews.approve" : "reviews.reject",
                             {{"name", current->model}, {"role", current->role}},
                             {{"id", id}, {"note", note}},
                             id};
  auto auth = AuthorizeOrReport(s->config, *s->db, key, action, &exit_code, as_json);
  if (!auth) return exit_code;
  std::vector<std::string> approvers = auth->approver_actors();
  std::string decided_by;
  for (size_t i = 0; i < approvers.size(); ++i) decided_by += (i ? "," : "") + approvers[i];
  auto decided = s->queue->Decide(id, approve, decided_by, note);
  auth->Finish(decided.status());
  if (!decided.ok()) {
    return Fail(decided.status(), decided.status().code() == StatusCode::kFailedPrecondition
                                      ? kExitCheckFailed
                                      : kExitBadInput);
  }
  auto recorded = RecordAdminEvent(*s->db, s->config.data_dir,
                                   review::DecisionEvent(*decided, auth->actor(), approvers));
  if (!recorded.ok()) {
    // The decision stands (the gateway acts on it); say loudly that the
    // trail lacks it.
    std::cerr << "steward: warning: review " << id
              << " decided but not audited: " << recorded.status().message() << "\n";
  }
  if (as_json) {
    json::object out = review::ReviewToJson(*decided);
    if (recorded.ok()) out["audit_index"] = *recorded;
    std::cout << JsonText(out) << "\n";
  } else {
    std::cout << id << " " << decided->status << " by " << decided->decided_by
              << (recorded.ok() ? " (audit index " + std::to_string(*recorded) + ")" : "") << "\n";
  }
  return kExitOk;
}

void AddReviewCommands(CLI::App& app, GlobalOptions& globals, int* exit_code) {
  auto* group = app.add_subcommand("review", "human review queue: calls held by policy");
  group->require_subcommand(1);
  {
    auto* cmd = group->add_subcommand("list", "list reviews, newest first");
    auto status = std::make_shared<std::string>();
    auto limit = std::make_shared<int64_t>(1000);
    auto as_json = std::make_shared<bool>(false);
    cmd->add_option("--status", *status, "pending, approved, rejected, expired or used");
    cmd->add_option("--limit", *limit, "at most this many")->check(CLI::Range(1, 100000));
    cmd->add_flag("--json", *as_json, "JSON output: {\"reviews\":[...]}");
    cmd->callback([&globals, exit_code, status, limit, as_json] {
      *exit_code = RunList(globals, *status, *limit, *as_json);
    });
  }
  {
    auto* cmd = group->add_subcommand("show", "one review in full");
    auto id = std::make_shared<std::string>();
    auto as_json = std::make_shared<bool>(false);
    auto with_prompt = std::make_shared<bool>(false);
    auto key = std::make_shared<std::string>();
    cmd->add_option("ID", *id, "review id (rev_...)")->required();
    cmd->add_flag("--prompt", *with_prompt,
                  "also decrypt the held call's prompt (audited as review.read_prompt)");
    cmd->add_flag("--json", *as_json, "JSON output");
    AddAdminKeyOption(cmd, key.get());
    cmd->callback([&globals, exit_code, id, with_prompt, key, as_json] {
      *exit_code = RunShow(globals, *id, *with_prompt, *key, *as_json);
    });
  }
  for (bool approve : {true, false}) {
    auto* cmd = group->add_subcommand(
        approve ? "approve" : "reject",
        approve ? "approve a held call: the client's identical re-send goes through once"
                : "reject a held call: the client's re-send is refused with your note");
    auto id = std::make_shared<std::string>();
    auto note = std::make_shared<std::string>();
    auto key = std::make_shared<std::string>();
    auto as_json = std::make_shared<bool>(false);
    cmd->add_option("ID", *id, "review id (rev_...)")->required();
    cmd->add_option("--note", *note, "why (shown to the client on rejection, audited)");
    cmd->add_flag("--json", *as_json, "JSON output");
    AddAdminKeyOption(cmd, key.get());
    cmd->callback([&globals, exit_code, id, note, key, as_json, approve] {
      *exit_code = RunDecide(globals, *id, approve, *note, *key, *as_json);
    });
  }
}

STEWARD_REGISTER_COMMANDS(AddReviewCommands);

}  // namespace
}  // namespace steward::cli
