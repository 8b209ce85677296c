// The `scan:` section of the config: per-entity actions for input and
// output, overridable per key role and per route. See docs/scan.md.
//
//   scan:
//     min_score: 0.5
//     names: true
//     hash_key_file: ./var/scan_hash.key
//     input:  {pii: pseudonymize, secrets: block, entities: {DATE_TIME: flag}}
//     output: {pii: flag, secrets: redact}
//     roles:
//       admin: {input: {pii: flag}}
//     routes:
//       - match: {model: "llama-*", upstream: local, endpoint: embeddings}
//         input: {entities: {EMAIL_ADDRESS: mask}}
//
// Resolution for one request: built-in defaults < scan.input/output <
// roles.<role> < each matching route in order (later wins). Within one
// table an `entities:` entry beats `pii:`/`secrets:`.
#pragma once

#include <yaml-cpp/yaml.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "scan/transform.h"
#include "steward/status.h"

namespace steward::scan {

struct ActionTable {
  std::optional<Action> pii;      // every PII type not listed in `entities`
  std::optional<Action> secrets;  // every secret type not listed in `entities`
  std::map<std::string, Action, std::less<>> entities;
  void OverlayOnto(ActionTable* base) const;
};

struct RouteRule {
  std::string model;     // glob on the requested model ("" = any)
  std::string upstream;  // glob on the upstream name
  std::string endpoint;  // "chat.completions" | "completions" | "embeddings" | ""
  ActionTable input, output;
};

struct ScanSettings {
  double min_score = 0.5;
  bool names = true;
  std::string hash_key_file;   // "" = <data_dir>/scan_hash.key
  bool restore = true;         // restore pseudonyms in replies
  // A LOCATION that names a place ("France", "Berlin", "Elm Street") rather
  // than a postal address is flagged where LOCATION's action would rewrite
  // it: a model asked about the capital of France must see "France".
  bool keep_place_names = true;
  ActionTable input, output;
  std::map<std::string, std::pair<ActionTable, ActionTable>> roles;  // role -> (input, output)
  std::vector<RouteRule> routes;
};

enum class Direction { kInput, kOutput };

// The effective action per entity type for one request and direction.
class ResolvedActions {
 public:
  explicit ResolvedActions(ActionTable table, bool keep_place_names = false)
      : table_(std::move(table)), keep_place_names_(keep_place_names) {}
  // The action for every finding of `type`...
  Action For(std::string_view type) const;
  // ...and for one finding, whose type's action is `for_type`: a place name
  // is flagged instead of rewritten when keep_place_names is on.
  Action For(const Finding& finding, Action for_type) const;
  Action For(const Finding& finding) const { return For(finding, For(finding.type)); }
  const ActionTable& table() const { return table_; }

 private:
  ActionTable table_;
  bool keep_place_names_;
};

// Built-in defaults (SPEC's default policy): input PII pseudonymize
// (DATE_TIME and NRP flag), input secrets block; output PII flag, output
// secrets redact.
ActionTable DefaultTable(Direction d);

ResolvedActions Resolve(const ScanSettings& s, Direction d, std::string_view role,
                        std::string_view model, std::string_view upstream,
                        std::string_view endpoint);

// Parses the `scan:` node (may be undefined/null: all defaults). Errors are
// "file:line:col: message".
Result<ScanSettings> ParseScanSettings(const std::string& file, const YAML::Node& node);

// Simple glob: `*` any run, `?` one byte.
bool GlobMatch(std::string_view pattern, std::string_view s);

}  // namespace steward::scan

namespace steward::scan {
// Reads the hash key (raw bytes) from `path`, creating it (32 random bytes,
// mode 0600) if it does not exist. Keyed hashing keeps `hash` tokens stable
// across runs without making them guessable by hashing candidate values.
Result<std::string> LoadOrCreateHashKey(const std::string& path);
}  // namespace steward::scan
