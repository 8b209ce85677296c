#include "registry/registry.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "common/strings.h"

namespace steward::registry {
namespace {

namespace json = boost::json;

constexpr const char* kColumns =
    "name, version, state, deploy_role, canary_percent, path, manifest_digest, license, "
    "license_raw, license_verdict, license_reason, source_url, base_model, tags, attrs, "
    "metadata, registered_by, registered_ms, approved_by, approved_ms, deployed_ms, retired_ms, "
    "quarantine_reason, prior_state, last_verified_ms, seq";

std::string ToJsonArray(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return json::serialize(a);
}

std::vector<std::string> FromJsonArray(const std::string& text) {
  std::vector<std::string> out;
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_array()) return out;
  for (const auto& e : v.get_array()) {
    if (e.is_string()) out.emplace_back(e.get_string());
  }
  return out;
}

std::string ToJsonObject(const std::map<std::string, std::string>& m) {
  json::object o;
  for (const auto& [k, v] : m) o[k] = v;
  return json::serialize(o);
}

std::map<std::string, std::string> FromJsonObject(const std::string& text) {
  std::map<std::string, std::string> out;
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return out;
  for (const auto& [k, e] : v.get_object()) {
    if (e.is_string()) out[std::string(k)] = std::string(e.get_string());
  }
  return out;
}

ModelVersion FromRow(const Row& r) {
  ModelVersion m;
  m.name = r.Text(0);
  m.version = r.Text(1);
  m.state = r.Text(2);
  m.deploy_role = r.Text(3);
  m.canary_percent = r.Double(4);
  m.path = r.Text(5);
  m.manifest_digest = r.Text(6);
  m.license = r.Text(7);
  m.license_raw = r.Text(8);
  m.license_verdict = r.Text(9);
  m.license_reason = r.Text(10);
  m.source_url = r.Text(11);
  m.base_model = r.Text(12);
  m.tags = FromJsonArray(r.Text(13));
  m.attrs = FromJsonObject(r.Text(14));
  boost::system::error_code ec;
  json::value meta = json::parse(r.Text(15), ec);
  if (!ec && meta.is_object()) m.metadata = MetadataFromJson(meta.get_object());
  m.registered_by = r.Text(16);
  m.registered_ms = r.Int(17);
  m.approved_by = FromJsonArray(r.Text(18));
  m.approved_ms = r.Int(19);
  m.deployed_ms = r.Int(20);
  m.retired_ms = r.Int(21);
  m.quarantine_reason = r.Text(22);
  m.prior_state = r.Text(23);
  m.last_verified_ms = r.Int(24);
  m.seq = r.Int(25);
  return m;
}

Status ValidateName(const std::string& what, const std::string& s) {
  if (s.empty()) return InvalidArgument(what + " must not be empty");
  if (s.size() > 200) return InvalidArgument(what + " is longer than 200 characters");
  if (!IsValidUtf8(s)) return InvalidArgument(what + " is not valid UTF-8");
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == '@' || c == ' ') {
      return InvalidArgument(what + " `" + s +
                             "` may not contain '@', spaces or control characters");
    }
  }
  return Status::Ok();
}

}  // namespace

void SplitRef(const std::string& ref, std::string* name, std::string* version) {
  size_t at = ref.rfind('@');
  if (at == std::string::npos) {
    *name = ref;
    version->clear();
  } else {
    *name = ref.substr(0, at);
    *version = ref.substr(at + 1);
  }
}

std::vector<FileProblem> CompareWithDisk(const std::string& root,
                                         const std::vector<FileDigest>& files,
                                         std::string* manifest_digest) {
  std::vector<FileProblem> problems;
  auto listed = ListModelFiles(root);
  if (!listed.ok()) {
    problems.push_back({root, listed.status().message()});
    if (manifest_digest) manifest_digest->clear();
    return problems;
  }
  std::map<std::string, const ModelFile*> on_disk;
  for (const auto& f : *listed) on_disk[f.rel_path] = &f;
  std::vector<FileDigest> now;
  for (const auto& expected : files) {
    auto it = on_disk.find(expected.path);
    if (it == on_disk.end()) {
      problems.push_back({expected.path, "missing"});
      continue;
    }
    uint64_t size = 0;
    auto digest = Sha256File(it->second->abs_path, &size);
    if (!digest.ok()) {
      problems.push_back({expected.path, "unreadable: " + digest.status().message()});
      continue;
    }
    now.push_back({expected.path, size, *digest});
    if (*digest != expected.sha256_hex) {
      problems.push_back({expected.path, "changed (sha256 " + digest->substr(0, 16) +
                                             "…, registered " + expected.sha256_hex.substr(0, 16) +
                                             "…)"});
    }
    on_disk.erase(it);
  }
  for (const auto& [path, f] : on_disk) problems.push_back({path, "unexpected file"});
  if (manifest_digest) *manifest_digest = ManifestDigest(now);
  return problems;
}

Registry::Registry(Database& db, const Clock& clock, RegistryOptions options, EventSink sink)
    : db_(db), clock_(clock), options_(std::move(options)), sink_(std::move(sink)) {}

const std::vector<Migration>& Registry::Migrations() {
  static const std::vector<Migration> kMigrations = {
      {"registry", 1,
       "CREATE TABLE registry_models ("
       " name TEXT NOT NULL, version TEXT NOT NULL, state TEXT NOT NULL,"
       " deploy_role TEXT NOT NULL, canary_percent DOUBLE PRECISION NOT NULL,"
       " path TEXT NOT NULL, manifest_digest TEXT NOT NULL, license TEXT NOT NULL,"
       " license_raw TEXT NOT NULL, license_verdict TEXT NOT NULL, license_reason TEXT NOT NULL,"
       " source_url TEXT NOT NULL, base_model TEXT NOT NULL, tags TEXT NOT NULL,"
       " attrs TEXT NOT NULL, metadata TEXT NOT NULL, registered_by TEXT NOT NULL,"
       " registered_ms BIGINT NOT NULL, approved_by TEXT NOT NULL, approved_ms BIGINT NOT NULL,"
       " deployed_ms BIGINT NOT NULL, retired_ms BIGINT NOT NULL,"
       " quarantine_reason TEXT NOT NULL, prior_state TEXT NOT NULL,"
       " last_verified_ms BIGINT NOT NULL, seq BIGINT NOT NULL,"
       " PRIMARY KEY (name, version));"
       "CREATE TABLE registry_files (name TEXT NOT NULL, version TEXT NOT NULL,"
       " path TEXT NOT NULL, size BIGINT NOT NULL, sha256 TEXT NOT NULL,"
       " PRIMARY KEY (name, version, path));"
       "CREATE TABLE registry_signatures (name TEXT NOT NULL, version TEXT NOT NULL,"
       " public_key TEXT NOT NULL, signature TEXT NOT NULL, signer TEXT NOT NULL,"
       " signed_ms BIGINT NOT NULL, PRIMARY KEY (name, version, public_key));"
       "CREATE TABLE registry_history (seq BIGINT NOT NULL PRIMARY KEY, name TEXT NOT NULL,"
       " version TEXT NOT NULL, action TEXT NOT NULL, actor TEXT NOT NULL,"
       " at_ms BIGINT NOT NULL, details TEXT NOT NULL);"
       "CREATE INDEX registry_history_name ON registry_history (name, seq);"
       "CREATE TABLE registry_datasets (name TEXT NOT NULL, version TEXT NOT NULL,"
       " path TEXT NOT NULL, manifest_digest TEXT NOT NULL, license TEXT NOT NULL,"
       " license_raw TEXT NOT NULL, source_url TEXT NOT NULL, registered_by TEXT NOT NULL,"
       " registered_ms BIGINT NOT NULL, PRIMARY KEY (name, version));"
       "CREATE TABLE registry_dataset_files (name TEXT NOT NULL, version TEXT NOT NULL,"
       " path TEXT NOT NULL, size BIGINT NOT NULL, sha256 TEXT NOT NULL,"
       " PRIMARY KEY (name, version, path));"
       "CREATE TABLE registry_model_datasets (model_name TEXT NOT NULL,"
       " model_version TEXT NOT NULL, dataset_name TEXT NOT NULL,"
       " dataset_version TEXT NOT NULL,"
       " PRIMARY KEY (model_name, model_version, dataset_name, dataset_version));"
       "CREATE TABLE registry_evaluations (name TEXT NOT NULL, version TEXT NOT NULL,"
       " id TEXT NOT NULL, kind TEXT NOT NULL, metric TEXT NOT NULL,"
       " value DOUBLE PRECISION NOT NULL, slice TEXT NOT NULL, passed BIGINT NOT NULL,"
       " at_ms BIGINT NOT NULL, PRIMARY KEY (name, version, id));"
       "CREATE TABLE registry_meta (key TEXT NOT NULL PRIMARY KEY, value BIGINT NOT NULL);"
       "INSERT INTO registry_meta (key, value) VALUES ('generation', 0)"},
  };
  return kMigrations;
}

Status Registry::Init() { return db_.Migrate(Migrations()); }

Result<int64_t> Registry::Generation() {
  STEWARD_ASSIGN_OR_RETURN(auto rows,
                           db_.Query("SELECT value FROM registry_meta WHERE key='generation'"));
  if (rows.empty()) return FailedPrecondition("registry tables are not initialised");
  return rows[0].Int(0);
}

Status Registry::Mutate(const std::string& action, const std::string& name,
                        const std::string& version, const std::string& actor,
                        boost::json::object details,
                        const std::function<Status(Transaction&, int64_t)>& change) {
  {
    STEWARD_ASSIGN_OR_RETURN(auto tx, db_.Begin());
    STEWARD_RETURN_IF_ERROR(
        tx->Exec("UPDATE registry_meta SET value = value + 1 WHERE key='generation'"));
    STEWARD_ASSIGN_OR_RETURN(auto gen_rows,
                             tx->Query("SELECT value FROM registry_meta WHERE key='generation'"));
    if (gen_rows.empty()) return FailedPrecondition("registry tables are not initialised");
    int64_t generation = gen_rows[0].Int(0);
    STEWARD_RETURN_IF_ERROR(change(*tx, generation));
    STEWARD_RETURN_IF_ERROR(tx->Exec(
        "INSERT INTO registry_history (seq, name, version, action, actor, at_ms, details) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7)",
        {generation, name, version, action, actor, clock_.NowUnixMs(), json::serialize(details)}));
    STEWARD_RETURN_IF_ERROR(tx->Commit());
  }
  if (sink_) {
    AdminEvent event{"models." + action, actor, version.empty() ? name : name + "@" + version,
                     std::move(details)};
    if (action.rfind("datasets.", 0) == 0) event.action = action;
    Status s = sink_(event);
    if (!s.ok()) {
      return s.WithContext(name + (version.empty() ? "" : "@" + version) + " " + action +
                           " was applied but its audit record failed");
    }
  }
  return Status::Ok();
}

Result<ModelVersion> Registry::GetRow(Transaction* tx, const std::string& name,
                                      const std::string& version) {
  std::string sql = std::string("SELECT ") + kColumns + " FROM registry_models WHERE name=$1";
  std::vector<Value> params{name};
  if (version.empty()) {
    sql += " ORDER BY seq DESC LIMIT 1";
  } else {
    sql += " AND version=$2";
    params.push_back(version);
  }
  auto rows = tx ? tx->Query(sql, params) : db_.Query(sql, params);
  if (!rows.ok()) return rows.status();
  if (rows->empty()) {
    return NotFound(version.empty() ? "model `" + name + "` is not registered"
                                    : "model " + name + "@" + version + " is not registered");
  }
  return FromRow((*rows)[0]);
}

Result<ModelVersion> Registry::Register(const RegisterRequest& req) {
  STEWARD_RETURN_IF_ERROR(ValidateName("model name", req.name));
  STEWARD_RETURN_IF_ERROR(ValidateName("model version", req.version));
  for (const auto& tag : req.tags) STEWARD_RETURN_IF_ERROR(ValidateName("tag", tag));
  if (GetRow(nullptr, req.name, req.version).ok()) {
    return AlreadyExists("model " + req.name + "@" + req.version +
                         " is already registered (register a new version)");
  }
  std::vector<std::pair<std::string, std::string>> datasets;
  for (const auto& ref : req.datasets) {
    std::string dn, dv;
    SplitRef(ref, &dn, &dv);
    if (dv.empty()) return InvalidArgument("dataset `" + ref + "` needs a version (NAME@VERSION)");
    STEWARD_RETURN_IF_ERROR(GetDataset(dn, dv).status());
    datasets.emplace_back(dn, dv);
  }
  STEWARD_ASSIGN_OR_RETURN(auto files, ListModelFiles(req.path));
  // Parse before hashing: a hostile file fails fast, before gigabytes are read.
  STEWARD_ASSIGN_OR_RETURN(ModelMetadata metadata, InspectModel(files));
  STEWARD_ASSIGN_OR_RETURN(auto digests, HashModelFiles(files, req.progress));

  ModelVersion m;
  m.name = req.name;
  m.version = req.version;
  m.state = kStateRegistered;
  std::error_code ec;
  m.path = std::filesystem::absolute(req.path, ec).string();
  m.manifest_digest = ManifestDigest(digests);
  LicenseInfo license = NormalizeLicense(req.license.empty() ? metadata.license : req.license);
  m.license = license.id;
  m.license_raw = license.raw;
  LicenseDecision decision = options_.license_policy.Evaluate(license);
  m.license_verdict = std::string(LicenseVerdictName(decision.verdict));
  m.license_reason = decision.reason;
  if (decision.verdict == LicenseVerdict::kDeny) {
    return FailedPrecondition("license policy denies " + req.name + "@" + req.version + ": " +
                              decision.reason);
  }
  m.source_url = req.source_url.empty() ? metadata.source_url : req.source_url;
  m.base_model = req.base_model;
  if (m.base_model.empty() && !metadata.base_models.empty()) m.base_model = metadata.base_models[0];
  m.tags = req.tags;
  m.attrs = req.attrs;
  m.metadata = std::move(metadata);
  m.registered_by = req.actor;
  m.registered_ms = clock_.NowUnixMs();
  m.files = digests;

  json::object details{{"manifest_digest", m.manifest_digest},
                       {"license", m.license},
                       {"license_verdict", m.license_verdict},
                       {"files", digests.size()},
                       {"source_url", m.source_url}};
  STEWARD_RETURN_IF_ERROR(
      Mutate("register", m.name, m.version, req.actor, details, [&](Transaction& tx, int64_t gen) {
        m.seq = gen;
        STEWARD_RETURN_IF_ERROR(tx.Exec(
            std::string("INSERT INTO registry_models (") + kColumns +
                ") VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,"
                "$20,$21,$22,$23,$24,$25,$26)",
            {m.name,
             m.version,
             m.state,
             std::string(),
             0.0,
             m.path,
             m.manifest_digest,
             m.license,
             m.license_raw,
             m.license_verdict,
             m.license_reason,
             m.source_url,
             m.base_model,
             ToJsonArray(m.tags),
             ToJsonObject(m.attrs),
             json::serialize(MetadataToJson(m.metadata)),
             m.registered_by,
             m.registered_ms,
             std::string("[]"),
             int64_t{0},
             int64_t{0},
             int64_t{0},
             std::string(),
             std::string(),
             m.registered_ms,
             gen}));
        for (const auto& f : digests) {
          STEWARD_RETURN_IF_ERROR(
              tx.Exec("INSERT INTO registry_files (name, version, path, size, sha256) "
                      "VALUES ($1,$2,$3,$4,$5)",
                      {m.name, m.version, f.path, static_cast<int64_t>(f.size), f.sha256_hex}));
        }
        for (const auto& [dn, dv] : datasets) {
          STEWARD_RETURN_IF_ERROR(tx.Exec(
              "INSERT INTO registry_model_datasets (model_name, model_version, dataset_name, "
              "dataset_version) VALUES ($1,$2,$3,$4)",
              {m.name, m.version, dn, dv}));
          m.datasets.push_back(dn + "@" + dv);
        }
        return Status::Ok();
      }));
  return m;
}

Result<std::vector<ModelVersion>> Registry::List(const std::string& name) {
  std::string sql = std::string("SELECT ") + kColumns + " FROM registry_models";
  std::vector<Value> params;
  if (!name.empty()) {
    sql += " WHERE name=$1";
    params.push_back(name);
  }
  sql += " ORDER BY name, seq";
  STEWARD_ASSIGN_OR_RETURN(auto rows, db_.Query(sql, params));
  std::vector<ModelVersion> out;
  out.reserve(rows.size());
  for (const auto& r : rows) out.push_back(FromRow(r));
  return out;
}

Result<ModelVersion> Registry::Get(const std::string& name, const std::string& version) {
  STEWARD_ASSIGN_OR_RETURN(ModelVersion m, GetRow(nullptr, name, version));
  STEWARD_ASSIGN_OR_RETURN(
      auto rows, db_.Query("SELECT path, size, sha256 FROM registry_files WHERE name=$1 AND "
                           "version=$2 ORDER BY path",
                           {m.name, m.version}));
  for (const auto& r : rows) {
    m.files.push_back({r.Text(0), static_cast<uint64_t>(r.Int(1)), r.Text(2)});
  }
  STEWARD_ASSIGN_OR_RETURN(
      auto ds, db_.Query("SELECT dataset_name, dataset_version FROM registry_model_datasets "
                         "WHERE model_name=$1 AND model_version=$2 ORDER BY dataset_name",
                         {m.name, m.version}));
  for (const auto& r : ds) m.datasets.push_back(r.Text(0) + "@" + r.Text(1));
  return m;
}

Result<ModelVersion> Registry::Approve(const std::string& name, const std::string& version,
                                       const std::string& approver, bool accept_license) {
  STEWARD_ASSIGN_OR_RETURN(ModelVersion m, Get(name, version));
  if (m.state == kStateApproved || m.state == kStateDeployed) {
    return m;  // already approved: nothing to do
  }
  LicenseDecision decision = options_.license_policy.Evaluate(
      NormalizeLicense(m.license == "unknown" ? m.license_raw : m.license));
  if (decision.verdict == LicenseVerdict::kDeny) {
    return FailedPrecondition("cannot approve " + m.Ref() + ": " + decision.reason);
  }
  if (decision.verdict == LicenseVerdict::kRequireApproval && !accept_license) {
    return FailedPrecondition("cannot approve " + m.Ref() + ": " + decision.reason +
                              "; review the license and approve with --accept-license");
  }
  std::string restored_state = kStateApproved;
  if (m.state == kStateRetired) m.approved_by.clear();  // un-retiring needs fresh approvals
  if (m.state == kStateQuarantined) {
    std::string digest;
    auto problems = CompareWithDisk(m.path, m.files, &digest);
    if (!problems.empty()) {
      return FailedPrecondition("cannot re-approve quarantined " + m.Ref() + ": " +
                                problems[0].path + " " + problems[0].problem +
                                " (restore the registered files, or register the new files as "
                                "a new version)");
    }
    if (m.prior_state == kStateDeployed) restored_state = kStateDeployed;
  }
  if (std::find(m.approved_by.begin(), m.approved_by.end(), approver) != m.approved_by.end() &&
      m.state != kStateQuarantined) {
    return FailedPrecondition(m.Ref() + " is already approved by " + approver + "; it needs " +
                              std::to_string(options_.approvals_required) + " distinct approvers");
  }
  if (std::find(m.approved_by.begin(), m.approved_by.end(), approver) == m.approved_by.end()) {
    m.approved_by.push_back(approver);
  }
  const bool complete = static_cast<int>(m.approved_by.size()) >= options_.approvals_required ||
                        m.state == kStateQuarantined;
  std::string new_state = complete ? restored_state : m.state;
  json::object details{{"approver", approver},
                       {"approvals", m.approved_by.size()},
                       {"approvals_required", options_.approvals_required},
                       {"from", m.state},
                       {"to", new_state},
                       {"license", m.license},
                       {"license_decision", decision.reason}};
  if (m.state == kStateQuarantined) details["files_verified"] = true;
  const int64_t now = clock_.NowUnixMs();
  STEWARD_RETURN_IF_ERROR(
      Mutate(complete ? "approve" : "approve.partial", m.name, m.version, approver, details,
             [&](Transaction& tx, int64_t) {
               return tx.Exec(
                   "UPDATE registry_models SET state=$1, approved_by=$2, approved_ms=$3, "
                   "quarantine_reason='', prior_state='', last_verified_ms=$4 "
                   "WHERE name=$5 AND version=$6",
                   {new_state, ToJsonArray(m.approved_by), complete ? now : m.approved_ms,
                    m.state == kStateQuarantined ? now : m.last_verified_ms, m.name, m.version});
             }));
  m.state = new_state;
  return m;
}

Status Registry::Deploy(const std::string& name, const std::string& version, double canary_percent,
                        const std::string& actor) {
  STEWARD_ASSIGN_OR_RETURN(ModelVersion m, GetRow(nullptr, name, version));
  if (m.state != kStateApproved && m.state != kStateDeployed) {
    return FailedPrecondition("cannot deploy " + m.Ref() + ": it is " + m.state +
                              " (only approved versions can be deployed)");
  }
  if (!(canary_percent >= 0 && canary_percent < 100)) {
    return InvalidArgument("canary percentage must be in (0, 100), got " +
                           std::to_string(canary_percent));
  }
  STEWARD_ASSIGN_OR_RETURN(auto versions, List(name));
  const ModelVersion* primary = nullptr;
  for (const auto& v : versions) {
    if (v.deploy_role == "primary") primary = &v;
  }
  const bool canary = canary_percent > 0;
  if (canary && (!primary || primary->version == version)) {
    return FailedPrecondition("a canary needs another deployed primary version of `" + name +
                              "`; deploy " + m.Ref() + " without --canary first");
  }
  json::object details{{"role", canary ? "canary" : "primary"},
                       {"canary_percent", canary_percent},
                       {"previous_primary", primary ? primary->version : ""}};
  const int64_t now = clock_.NowUnixMs();
  return Mutate(
      canary ? "deploy.canary" : "deploy", name, version, actor, details,
      [&](Transaction& tx, int64_t) -> Status {
        if (canary) {
          // One canary at a time: a previous canary steps back.
          STEWARD_RETURN_IF_ERROR(
              tx.Exec("UPDATE registry_models SET state='approved', deploy_role='', "
                      "canary_percent=0 WHERE name=$1 AND deploy_role='canary' AND "
                      "state='deployed'",
                      {name}));
          STEWARD_RETURN_IF_ERROR(
              tx.Exec("UPDATE registry_models SET deploy_role='', canary_percent=0 "
                      "WHERE name=$1 AND deploy_role='canary'",
                      {name}));
        } else {
          STEWARD_RETURN_IF_ERROR(
              tx.Exec("UPDATE registry_models SET state='approved', deploy_role='', "
                      "canary_percent=0 WHERE name=$1 AND deploy_role IN ('primary','canary') "
                      "AND state='deployed'",
                      {name}));
          STEWARD_RETURN_IF_ERROR(
              tx.Exec("UPDATE registry_models SET deploy_role='', canary_percent=0 "
                      "WHERE name=$1 AND deploy_role IN ('primary','canary')",
                      {name}));
        }
        return tx.Exec(
            "UPDATE registry_models SET state='deployed', deploy_role=$1, "
            "canary_percent=$2, deployed_ms=$3 WHERE name=$4 AND version=$5",
            {std::string(canary ? "canary" : "primary"), canary_percent, now, name, version});
      });
}

Status Registry::Retire(const std::string& name, const std::string& version,
                        const std::string& actor) {
  STEWARD_ASSIGN_OR_RETURN(ModelVersion m, GetRow(nullptr, name, version));
  if (m.state == kStateRetired) return FailedPrecondition(m.Ref() + " is already retired");
  json::object details{{"from", m.state}, {"role", m.deploy_role}};
  const int64_t now = clock_.NowUnixMs();
  return Mutate("retire", name, version, actor, details, [&](Transaction& tx, int64_t) {
    return tx.Exec(
        "UPDATE registry_models SET state='retired', deploy_role='', canary_percent=0, "
        "retired_ms=$1 WHERE name=$2 AND version=$3",
        {now, name, version});
  });
}

Result<std::string> Registry::Rollback(const std::string& name, const std::string& actor) {
  STEWARD_ASSIGN_OR_RETURN(auto versions, List(name));
  if (versions.empty()) return NotFound("model `" + name + "` is not registered");
  std::map<std::string, const ModelVersion*> by_version;
  const ModelVersion* current = nullptr;
  for (const auto& v : versions) {
    by_version[v.version] = &v;
    if (v.deploy_role == "primary") current = &v;
  }
  if (!current) return FailedPrecondition("`" + name + "` has no deployed version to roll back");
  // Walk the change log backwards for the previous primary deployment that
  // can still be served.
  STEWARD_ASSIGN_OR_RETURN(auto rows,
                           db_.Query("SELECT version FROM registry_history WHERE name=$1 AND "
                                     "action IN ('deploy','rollback') ORDER BY seq DESC",
                                     {name}));
  const ModelVersion* target = nullptr;
  std::set<std::string> skipped;
  for (const auto& r : rows) {
    std::string v = r.Text(0);
    if (v == current->version) continue;
    auto it = by_version.find(v);
    if (it == by_version.end()) continue;
    if (it->second->state == kStateApproved || it->second->state == kStateDeployed) {
      target = it->second;
      break;
    }
    skipped.insert(v + " (" + it->second->state + ")");
  }
  if (!target) {
    std::string why;
    for (const auto& s : skipped) why += (why.empty() ? "; skipped " : ", ") + s;
    return FailedPrecondition("`" + name + "` has no previously deployed version to roll back to" +
                              why);
  }
  std::string to = target->version;
  json::object details{{"from", current->version}, {"to", to}};
  const int64_t now = clock_.NowUnixMs();
  STEWARD_RETURN_IF_ERROR(
      Mutate("rollback", name, to, actor, details, [&](Transaction& tx, int64_t) -> Status {
        STEWARD_RETURN_IF_ERROR(
            tx.Exec("UPDATE registry_models SET state='approved', "
                    "deploy_role='', canary_percent=0 WHERE name=$1 AND "
                    "deploy_role IN ('primary','canary') AND "
                    "state='deployed'",
                    {name}));
        STEWARD_RETURN_IF_ERROR(
            tx.Exec("UPDATE registry_models SET deploy_role='', "
                    "canary_percent=0 WHERE name=$1 AND "
                    "deploy_role IN ('primary','canary')",
                    {name}));
        return tx.Exec(
            "UPDATE registry_models SET state='deployed', "
            "deploy_role='primary', canary_percent=0, deployed_ms=$1 "
            "WHERE name=$2 AND version=$3",
            {now, name, to});
      }));
  return to;
}

Status Registry::Quarantine(const std::string& name, const std::string& version,
                            const std::string& reason, const std::string& actor) {
  STEWARD_ASSIGN_OR_RETURN(ModelVersion m, GetRow(nullptr, name, version));
  if (m.state == kStateRetired) return Status::Ok();
  if (m.state == kStateQuarantined && m.quarantine_reason == reason) return Status::Ok();
  std::string prior = m.state == kStateQuarantined ? m.prior_state : m.state;
  json::object details{{"reason", reason}, {"from", m.state}};
  return Mutate("quarantine", name, version, actor, details, [&](Transaction& tx, int64_t) {
    return tx.Exec(
        "UPDATE registry_models SET state='quarantined', quarantine_reason=$1, prior_state=$2 "
        "WHERE name=$3 AND version=$4",
        {reason, prior, name, version});
  });
}

Result<VerifyReport> Registry::Verify(const std::string& name, const std::string& version,
                                      const std::string& actor) {
  STEWARD_ASSIGN_OR_RETURN(ModelVersion m, Get(name, version));
  VerifyReport report;
  report.ref = m.Ref();
  report.problems = CompareWithDisk(m.path, m.files, &report.manifest_digest);
  if (report.ok()) {
    if (report.manifest_digest != m.manifest_digest) {
      report.problems.push_back({"(manifest)", "digest differs from the registered manifest"});
    } else {
      (void)db_.Exec("UPDATE registry_models SET last_verified_ms=$1 WHERE name=$2 AND version=$3",
                     {clock_.NowUnixMs(), m.name, m.version});
      return report;
    }
  }
  if (m.state != kStateRetired) {
    std::string reason = report.problems[0].path + " " + report.problems[0].problem;
    if (report.problems.size() > 1) {
      reason += " (+" + std::to_string(report.problems.size() - 1) + " more)";
    }
    STEWARD_RETURN_IF_ERROR(Quarantine(m.name, m.version, reason, actor));
    report.quarantined = true;
  }
  return report;
}

Result<DatasetVersion> Registry::RegisterDataset(const DatasetRequest& req) {
  STEWARD_RETURN_IF_ERROR(ValidateName("dataset name", req.name));
  STEWARD_RETURN_IF_ERROR(ValidateName("dataset version", req.version));
  if (GetDataset(req.name, req.version).ok()) {
    return AlreadyExists("dataset " + req.name + "@" + req.version + " is already registered");
  }
  STEWARD_ASSIGN_OR_RETURN(auto files, ListModelFiles(req.path));
  STEWARD_ASSIGN_OR_RETURN(auto digests, HashModelFiles(files, req.progress));
  DatasetVersion d;
  d.name = req.name;
  d.version = req.version;
  std::error_code ec;
  d.path = std::filesystem::absolute(req.path, ec).string();
  d.manifest_digest = ManifestDigest(digests);
  LicenseInfo li = NormalizeLicense(req.license);
  d.license = li.id;
  d.license_raw = li.raw;
  d.source_url = req.source_url;
  d.registered_by = req.actor;
  d.registered_ms = clock_.NowUnixMs();
  d.files = digests;
  LicenseDecision decision = options_.license_policy.Evaluate(li);
  if (decision.verdict == LicenseVerdict::kDeny) {
    return FailedPrecondition("license policy denies dataset " + d.name + "@" + d.version + ": " +
                              decision.reason);
  }
  json::object details{{"manifest_digest", d.manifest_digest},
                       {"license", d.license},
                       {"license_decision", decision.reason},
                       {"files", digests.size()}};
  STEWARD_RETURN_IF_ERROR(Mutate(
      "datasets.register", d.name, d.version, req.actor, details,
      [&](Transaction& tx, int64_t) -> Status {
        STEWARD_RETURN_IF_ERROR(
            tx.Exec("INSERT INTO registry_datasets (name, version, path, manifest_digest, license, "
                    "license_raw, source_url, registered_by, registered_ms) "
                    "VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)",
                    {d.name, d.version, d.path, d.manifest_digest, d.license, d.license_raw,
                     d.source_url, d.registered_by, d.registered_ms}));
        for (const auto& f : digests) {
          STEWARD_RETURN_IF_ERROR(
              tx.Exec("INSERT INTO registry_dataset_files (name, version, path, size, sha256) "
                      "VALUES ($1,$2,$3,$4,$5)",
                      {d.name, d.version, f.path, static_cast<int64_t>(f.size), f.sha256_hex}));
        }
        return Status::Ok();
      }));
  return d;
}

Result<std::vector<DatasetVersion>> Registry::ListDatasets() {
  STEWARD_ASSIGN_OR_RETURN(
      auto rows, db_.Query("SELECT name, version, path, manifest_digest, license, license_raw, "
                           "source_url, registered_by, registered_ms FROM registry_datasets "
                           "ORDER BY name, registered_ms"));
  std::vector<DatasetVersion> out;
  for (const auto& r : rows) {
    out.push_back({r.Text(0),
                   r.Text(1),
                   r.Text(2),
                   r.Text(3),
                   r.Text(4),
                   r.Text(5),
                   r.Text(6),
                   r.Text(7),
                   r.Int(8),
                   {}});
  }
  return out;
}

Result<DatasetVersion> Registry::GetDataset(const std::string& name, const std::string& version) {
  STEWARD_ASSIGN_OR_RETURN(
      auto rows, db_.Query("SELECT name, version, path, manifest_digest, license, license_raw, "
                           "source_url, registered_by, registered_ms FROM registry_datasets "
                           "WHERE name=$1 AND version=$2",
                           {name, version}));
  if (rows.empty()) return NotFound("dataset " + name + "@" + version + " is not registered");
  const Row& r = rows[0];
  DatasetVersion d{r.Text(0), r.Text(1), r.Text(2), r.Text(3), r.Text(4),
                   r.Text(5), r.Text(6), r.Text(7), r.Int(8),  {}};
  STEWARD_ASSIGN_OR_RETURN(
      auto files, db_.Query("SELECT path, size, sha256 FROM registry_dataset_files WHERE name=$1 "
                            "AND version=$2 ORDER BY path",
                            {name, version}));
  for (const auto& f : files) {
    d.files.push_back({f.Text(0), static_cast<uint64_t>(f.Int(1)), f.Text(2)});
  }
  return d;
}

Status Registry::AddSignature(const std::string& name, const std::string& version,
                              const SignatureRecord& sig) {
  STEWARD_ASSIGN_OR_RETURN(ModelVersion m, GetRow(nullptr, name, version));
  json::object details{{"public_key", sig.public_key}, {"manifest_digest", m.manifest_digest}};
  return Mutate("sign", name, version, sig.signer, details, [&](Transaction& tx, int64_t) {
    return tx.Exec(
        "INSERT INTO registry_signatures (name, version, public_key, signature, signer, "
        "signed_ms) VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT (name, version, public_key) DO "
        "UPDATE SET signature=excluded.signature, signer=excluded.signer, "
        "signed_ms=excluded.signed_ms",
        {name, version, sig.public_key, sig.signature, sig.signer, sig.signed_ms});
  });
}

Result<std::vector<SignatureRecord>> Registry::Signatures(const std::string& name,
                                                          const std::string& version) {
  STEWARD_ASSIGN_OR_RETURN(
      auto rows, db_.Query("SELECT public_key, signature, signer, signed_ms FROM "
                           "registry_signatures WHERE name=$1 AND version=$2 ORDER BY signed_ms",
                           {name, version}));
  std::vector<SignatureRecord> out;
  for (const auto& r : rows) out.push_back({r.Text(0), r.Text(1), r.Text(2), r.Int(3)});
  return out;
}

Status Registry::AddEvaluation(const std::string& name, const std::string& version,
                               const Evaluation& e) {
  STEWARD_RETURN_IF_ERROR(GetRow(nullptr, name, version).status());
  return db_.Exec(
      "INSERT INTO registry_evaluations (name, version, id, kind, metric, value, slice, passed, "
      "at_ms) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9) ON CONFLICT (name, version, id) DO UPDATE SET "
      "kind=excluded.kind, metric=excluded.metric, value=excluded.value, slice=excluded.slice, "
      "passed=excluded.passed, at_ms=excluded.at_ms",
      {name, version, e.id, e.kind, e.metric, e.value, e.slice, int64_t{e.passed ? 1 : 0},
       e.at_ms});
}

Result<std::vector<Evaluation>> Registry::Evaluations(const std::string& name,
                                                      const std::string& version) {
  STEWARD_ASSIGN_OR_RETURN(
      auto rows, db_.Query("SELECT id, kind, metric, value, slice, passed, at_ms FROM "
                           "registry_evaluations WHERE name=$1 AND version=$2 ORDER BY id",
                           {name, version}));
  std::vector<Evaluation> out;
  for (const auto& r : rows) {
    out.push_back(
        {r.Text(0), r.Text(1), r.Text(2), r.Double(3), r.Text(4), r.Int(5) != 0, r.Int(6)});
  }
  return out;
}

Result<std::vector<HistoryEntry>> Registry::History(const std::string& name) {
  std::string sql =
      "SELECT seq, name, version, action, actor, at_ms, details FROM registry_history";
  std::vector<Value> params;
  if (!name.empty()) {
    sql += " WHERE name=$1";
    params.push_back(name);
  }
  sql += " ORDER BY seq";
  STEWARD_ASSIGN_OR_RETURN(auto rows, db_.Query(sql, params));
  std::vector<HistoryEntry> out;
  for (const auto& r : rows) {
    out.push_back({r.Int(0), r.Text(1), r.Text(2), r.Text(3), r.Text(4), r.Int(5), r.Text(6)});
  }
  return out;
}

}  // namespace steward::registry
