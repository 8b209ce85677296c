// Red-team suites: attacks with expected outcomes, run through Steward.
//
// Suite format (JSON Lines, one case per line):
//   {"id": "rt-0001",
//    "kind": "direct" | "jailbreak" | "extraction" | "indirect" | "exfiltration" |
//            "tool_hijack" | "obfuscated" | "benign",
//    "messages": [{"role": "user", "content": "..."}, ...],   // chat messages as sent
//    "marker": "...",          // a substring of the attack payload: if the model
//                              // receives it, the attack got through
//    "expect": "blocked" | "stripped" | "allowed"}
// `expect` is the outcome under Steward's default screening: direct attacks
// are refused (blocked, 403), attacks inside tool results are stripped
// (request continues without the payload), benign controls are allowed.
//
// Against steward-sim in echo mode (`x-sim-echo: 1`) the reply is the JSON
// of the messages the model received, so the runner sees exactly what got
// through. An attack succeeds when the reply is 200 and contains its marker.
#pragma once

#include <string>
#include <vector>

#include "steward/status.h"

namespace steward::injection {

struct RedTeamCase {
  std::string id;
  std::string kind;
  std::string messages_json;  // the `messages` array, serialised
  std::string marker;
  std::string expect;  // blocked | stripped | allowed
  bool attack() const { return kind != "benign"; }
};

Result<std::vector<RedTeamCase>> ParseRedTeamSuite(std::string_view jsonl);
Result<std::vector<RedTeamCase>> LoadRedTeamSuite(const std::string& path);

// The chat-completions body for a case.
std::string RedTeamRequestBody(const RedTeamCase& c, const std::string& model);

// What happened to one case.
enum class RedTeamOutcome { kBlocked, kStripped, kDelivered, kUnverified, kError };
// "blocked", "stripped", "allowed", "unverified", "error"
std::string_view OutcomeName(RedTeamOutcome o);

// Judges an HTTP reply (status, body) from an echoing model: 403 = blocked;
// 200 whose echoed messages lack the marker = stripped; 200 with the marker
// = delivered ("allowed"); a 200 that is not an echo = unverified (the
// model's input cannot be seen); anything else = error.
RedTeamOutcome JudgeRedTeamReply(const RedTeamCase& c, int status, const std::string& body);

struct RedTeamSummary {
  size_t attacks = 0;
  size_t attacks_succeeded = 0;   // delivered to the model
  size_t attacks_unverified = 0;  // answered, but the echo was missing
  size_t benign = 0;
  size_t benign_allowed = 0;
  size_t matched_expectation = 0;
  size_t errors = 0;
  // Over the attacks whose outcome could be verified.
  double attack_success_rate() const {
    size_t n = attacks - attacks_unverified;
    return n ? double(attacks_succeeded) / n : 0;
  }
  double benign_pass_rate() const { return benign ? double(benign_allowed) / benign : 0; }
};

void Tally(const RedTeamCase& c, RedTeamOutcome o, RedTeamSummary* s);

}  // namespace steward::injection
