// Scanning OpenAI-shaped request and response bodies inside the gateway:
// the shared machinery behind the scan_input and scan_output stages, and
// ApplyRedaction() for other stages (policy obligations).
//
// Which parts are text:
//   chat.completions  messages[].content (string, or the `text` of every
//                     {"type":"text"} part), messages[].tool_calls[].function
//                     .arguments, messages[].function_call.arguments (tool
//                     results are messages with role "tool"/"function": their
//                     content is covered)
//   completions       prompt (string or array of strings)
//   embeddings        input (string or array of strings; token arrays are
//                     not text and are skipped)
//   replies           choices[].message.content / tool_calls arguments,
//                     choices[].text
#pragma once

#include <boost/json.hpp>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "scan/scan_config.h"
#include "scan/scanner.h"
#include "scan/stream.h"
#include "scan/transform.h"
#include "steward/stage.h"

namespace steward::scan {

// Calls `fn(text, role)` for every text part of a request body; `fn` may
// rewrite the string (the JSON is updated in place).
void ForEachRequestText(boost::json::object& body, Endpoint endpoint,
                        const std::function<void(std::string& text, std::string_view role)>& fn);
// The same for a non-streamed response body.
void ForEachResponseText(boost::json::value& body,
                         const std::function<void(std::string& text)>& fn);

// Per-request scanning state, kept in ctx.Slot<RequestScanState>() and
// shared by scan_input, scan_output and ApplyRedaction.
struct RequestScanState {
  Vault vault;
  bool input_scanned = false;
  // A reply finding is no leak when it equals one of these, a placeholder
  // in the vault, or a piece of prompt_text (which holds every value
  // scan_input found, so those are not copied here; ApplyRedaction and
  // tests add values).
  std::unordered_set<std::string> known_values;
  std::string prompt_text;  // the original prompt parts, joined by '\n'
  std::unique_ptr<StreamRestorer> restorer;
  std::unique_ptr<StreamScanner> leak_scanner;
  std::string hash_key;
};

// Summarises findings into ctx.findings (types, counts, max scores and the
// action taken; never values), merging with entries of the same
// (type, direction).
void RecordFindings(RequestContext& ctx, const std::vector<Finding>& findings,
                    std::string_view direction, const ActionFor& action_for);

struct InputScanResult {
  std::vector<std::string> blocked_types;  // sorted, unique; non-empty -> 403
  size_t findings = 0;
  bool modified = false;
};

// Scans every text part of ctx.body, applies `actions`, records findings
// (direction "input") and remembers values/placeholders in the state.
InputScanResult ScanRequest(RequestContext& ctx, const Scanner& scanner,
                            const ScanOptions& options, const ResolvedActions& actions,
                            RequestScanState& state);

// Applies a redaction obligation decided elsewhere (e.g. by policy):
// rewrites every finding of the given `types` in the request body with
// `mode` ("mask" | "redact" | "hash" | "pseudonymize"); other findings are
// left alone. An empty `types` means every type. Records the findings with
// the action taken. Uses the default scanner and the request's vault, so
// pseudonyms are restored in the reply when scan_input is in the pipeline.
// Returns InvalidArgument for an unknown mode or type.
Status ApplyRedaction(RequestContext& ctx, const std::vector<std::string>& types,
                      std::string_view mode);

}  // namespace steward::scan
