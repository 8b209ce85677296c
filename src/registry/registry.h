// The model registry: versions, files, provenance, lifecycle, datasets.
//
// Lifecycle of a model version (name@version):
//   registered --approve--> approved --deploy--> deployed (primary or canary)
//   any state --retire--> retired;  a changed file --> quarantined
//   quarantined --approve (files match again)--> the state it had before
// `deploy` without a canary makes the version the primary of its name (the
// previous primary goes back to approved); with a canary percentage it gets
// that share of traffic, sticky by subject, while the primary keeps the
// rest. `rollback` puts the previously deployed primary back.
//
// Every change bumps a generation counter in the store (registry_meta) so a
// running gateway notices changes made by the CLI, and is written to
// registry_history (the change log) and handed to the EventSink (the audit
// log) after it commits.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "registry/hash.h"
#include "registry/inspect.h"
#include "registry/license.h"
#include "steward/admin_events.h"
#include "steward/clock.h"
#include "steward/status.h"
#include "steward/store.h"

namespace steward::registry {

inline constexpr const char* kStateRegistered = "registered";
inline constexpr const char* kStateApproved = "approved";
inline constexpr const char* kStateDeployed = "deployed";
inline constexpr const char* kStateRetired = "retired";
inline constexpr const char* kStateQuarantined = "quarantined";

struct ModelVersion {
  std::string name;
  std::string version;
  std::string state;
  std::string deploy_role;  // "", "primary", "canary"
  double canary_percent = 0;
  std::string path;  // where the files were registered from
  std::string manifest_digest;
  std::string license;  // normalised id
  std::string license_raw;
  std::string license_verdict;  // at registration: allow | require_approval | deny
  std::string license_reason;
  std::string source_url;
  std::string base_model;
  std::vector<std::string> tags;
  std::map<std::string, std::string> attrs;  // e.g. residency=eu
  ModelMetadata metadata;
  std::string registered_by;
  int64_t registered_ms = 0;
  std::vector<std::string> approved_by;
  int64_t approved_ms = 0;
  int64_t deployed_ms = 0;
  int64_t retired_ms = 0;
  std::string quarantine_reason;
  std::string prior_state;  // state before quarantine
  int64_t last_verified_ms = 0;
  int64_t seq = 0;  // registration order
  // Filled by Get():
  std::vector<FileDigest> files;
  std::vector<std::string> datasets;  // "name@version"

  std::string Ref() const { return name + "@" + version; }
};

struct DatasetVersion {
  std::string name, version, path, manifest_digest, license, license_raw, source_url;
  std::string registered_by;
  int64_t registered_ms = 0;
  std::vector<FileDigest> files;
};

struct SignatureRecord {
  std::string public_key;  // base64 Ed25519
  std::string signature;   // base64
  std::string signer;
  int64_t signed_ms = 0;
};

// One evaluation result (from `eval` runs), shown in the ML-BOM.
struct Evaluation {
  std::string id;      // unique per model version, e.g. "fairness:suite.yaml:dpd"
  std::string kind;    // "fairness", "redteam", "gate", ...
  std::string metric;  // "demographic_parity_difference"
  double value = 0;
  std::string slice;  // "" or the group / subset
  bool passed = true;
  int64_t at_ms = 0;
};

struct HistoryEntry {
  int64_t seq = 0;
  std::string name, version, action, actor;
  int64_t at_ms = 0;
  std::string details;  // JSON
};

struct RegisterRequest {
  std::string path;
  std::string name;
  std::string version;
  std::string license;     // --license overrides metadata
  std::string source_url;  // --source overrides metadata
  std::string base_model;
  std::vector<std::string> tags;
  std::map<std::string, std::string> attrs;
  std::vector<std::string> datasets;  // "name@version", must be registered
  std::string actor;
  ProgressFn progress;
};

struct DatasetRequest {
  std::string path, name, version, license, source_url, actor;
  ProgressFn progress;
};

struct FileProblem {
  std::string path;
  std::string problem;  // "changed", "missing", "unexpected file", "unreadable: ..."
};

struct VerifyReport {
  std::string ref;
  std::vector<FileProblem> problems;
  std::string manifest_digest;  // recomputed ("" when files are missing)
  bool quarantined = false;     // this verification quarantined the version
  bool ok() const { return problems.empty(); }
};

struct RegistryOptions {
  int approvals_required = 1;  // distinct approvers needed
  LicensePolicy license_policy;
};

// Receives every lifecycle change after it is committed (the CLI and the
// gateway pass RecordAdminEvent). A failure is reported to the caller.
using EventSink = std::function<Status(const AdminEvent&)>;

// Splits "name@version" at the last '@'. `version` is empty without one.
void SplitRef(const std::string& ref, std::string* name, std::string* version);

class Registry {
 public:
  Registry(Database& db, const Clock& clock, RegistryOptions options, EventSink sink = {});

  static const std::vector<Migration>& Migrations();
  // Applies the registry's migrations.
  Status Init();

  // Reads and hashes the files at request.path, checks the license policy
  // (a denied license is FailedPrecondition naming the rule) and stores the
  // version as `registered`. Bad files are InvalidArgument naming the file.
  Result<ModelVersion> Register(const RegisterRequest& request);

  // Every version, or those of `name`, ordered by name then registration.
  Result<std::vector<ModelVersion>> List(const std::string& name = "");
  // One version with its files and datasets. `version` empty: the latest.
  Result<ModelVersion> Get(const std::string& name, const std::string& version);

  // Records `approver`'s approval; the version becomes approved once
  // approvals_required distinct approvers agree. The license is checked
  // again (deny → FailedPrecondition; require_approval needs
  // accept_license). A quarantined version is re-hashed first and stays
  // quarantined unless its files match the registered manifest.
  Result<ModelVersion> Approve(const std::string& name, const std::string& version,
                               const std::string& approver, bool accept_license);
  // canary_percent 0: primary; (0, 100): canary beside the current primary.
  Status Deploy(const std::string& name, const std::string& version, double canary_percent,
                const std::string& actor);
  Status Retire(const std::string& name, const std::string& version, const std::string& actor);
  // Puts back the primary deployed before the current one; returns its version.
  Result<std::string> Rollback(const std::string& name, const std::string& actor);
  Status Quarantine(const std::string& name, const std::string& version, const std::string& reason,
                    const std::string& actor);

  // Re-hashes the version's files against the registry; a difference
  // quarantines the version (unless retired).
  Result<VerifyReport> Verify(const std::string& name, const std::string& version,
                              const std::string& actor);

  Result<DatasetVersion> RegisterDataset(const DatasetRequest& request);
  Result<std::vector<DatasetVersion>> ListDatasets();
  Result<DatasetVersion> GetDataset(const std::string& name, const std::string& version);

  Status AddSignature(const std::string& name, const std::string& version,
                      const SignatureRecord& signature);
  Result<std::vector<SignatureRecord>> Signatures(const std::string& name,
                                                  const std::string& version);

  Status AddEvaluation(const std::string& name, const std::string& version,
                       const Evaluation& evaluation);
  Result<std::vector<Evaluation>> Evaluations(const std::string& name, const std::string& version);

  Result<std::vector<HistoryEntry>> History(const std::string& name);

  // The change counter: bumps on every change.
  Result<int64_t> Generation();

  const RegistryOptions& options() const { return options_; }

 private:
  // Runs `change` in a transaction that bumps the generation and appends a
  // history entry, then emits the admin event.
  Status Mutate(const std::string& action, const std::string& name, const std::string& version,
                const std::string& actor, boost::json::object details,
                const std::function<Status(Transaction&, int64_t generation)>& change);
  Result<ModelVersion> GetRow(Transaction* tx, const std::string& name, const std::string& version);

  Database& db_;
  const Clock& clock_;
  RegistryOptions options_;
  EventSink sink_;
};

// Compares `files` (as registered) with what is on disk under `root` now.
std::vector<FileProblem> CompareWithDisk(const std::string& root,
                                         const std::vector<FileDigest>& files,
                                         std::string* manifest_digest);

}  // namespace steward::registry
