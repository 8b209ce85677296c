// `steward models ...` and `steward datasets ...`: the model registry.
//
//   models register PATH --name N --version V [--license SPDX] [--source URL]
//          [--base-model M] [--tag T]... [--attr K=V]... [--dataset NAME@V]... [--json]
//   models list [NAME] [--json]          models history [NAME] [--json]
//   models verify NAME[@V] [--json]      (exit 1 when anything does not match)
//   models approve NAME@V [--accept-license] [--as APPROVER]
//   models deploy NAME@V [--canary PCT]  models rollback NAME
//   models retire NAME@V                 models sign NAME@V [--key FILE]
//   models sbom NAME@V [--out FILE]      (CycloneDX 1.6 ML-BOM)
//   datasets register PATH --name N --version V [--license SPDX] [--source URL]
//   datasets list [--json]
#include <pwd.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/admin_auth.h"
#include "cli/command.h"
#include "common/json_text.h"
#include "common/strings.h"
#include "config/config.h"
#include "identity/key_store.h"
#include "policy/engine.h"
#include "policy/policy_config.h"
#include "registry/registry.h"
#include "registry/sbom.h"
#include "registry/service.h"
#include "registry/signing.h"
#include "steward/admin_events.h"
#include "steward/clock.h"

namespace steward::cli {
namespace {

namespace json = boost::json;
using registry::ModelVersion;
using registry::Registry;

struct Session {
  config::Config config;
  std::unique_ptr<Database> db;
  std::unique_ptr<Registry> registry;
};

std::string UnixUser() {
  if (const passwd* pw = ::getpwuid(::geteuid()); pw && pw->pw_name) return pw->pw_name;
  const char* user = std::getenv("USER");
  return user ? user : "unknown";
}

std::string CliActor(const std::string& as) { return "cli:" + (as.empty() ? UnixUser() : as); }

Result<Session> OpenSession(const GlobalOptions& globals) {
  Session s;
  STEWARD_ASSIGN_OR_RETURN(s.config, config::LoadConfigForCli(globals.config_path));
  STEWARD_ASSIGN_OR_RETURN(registry::ServiceOptions options,
                           registry::ReadServiceOptions(s.config.path, s.config.root));
  STEWARD_RETURN_IF_ERROR(config::EnsureDataDir(s.config));
  STEWARD_ASSIGN_OR_RETURN(s.db, OpenDatabase(s.config.store_url));
  Database* db = s.db.get();
  std::string data_dir = s.config.data_dir;
  s.registry = std::make_unique<Registry>(*s.db, SystemClock::Instance(), options.registry,
                                          [db, data_dir](const AdminEvent& event) -> Status {
                                            return RecordAdminEvent(*db, data_dir, event).status();
                                          });
  STEWARD_RETURN_IF_ERROR(s.registry->Init());
  return s;
}

// FailedPrecondition is a check that failed (license policy, lifecycle
// state, changed files): exit 1. Everything else is bad input: exit 2.
int FailStatus(const Status& s) {
  return Fail(s, s.code() == StatusCode::kFailedPrecondition ? kExitCheckFailed : kExitBadInput);
}

Status ParseRef(const std::string& ref, bool need_version, std::string* name,
                std::string* version) {
  registry::SplitRef(ref, name, version);
  if (name->empty()) return InvalidArgument("`" + ref + "` has no model name");
  if (need_version && version->empty()) {
    return InvalidArgument("`" + ref + "` needs a version: NAME@VERSION");
  }
  return Status::Ok();
}

std::string HumanBytes(uint64_t n) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1000 && u < 4) {
    v /= 1000;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

// A progress bar on stderr when it is a terminal; nothing otherwise.
registry::ProgressFn MakeProgress() {
  if (!::isatty(STDERR_FILENO)) return {};
  auto start = std::make_shared<int64_t>(SystemClock::Instance().NowMonoNs());
  auto last = std::make_shared<int64_t>(0);
  return [start, last](uint64_t done, uint64_t total) {
    int64_t now = SystemClock::Instance().NowMonoNs();
    if (done != total && now - *last < 100'000'000) return;  // 10 updates/s
    *last = now;
    double frac = total ? static_cast<double>(done) / static_cast<double>(total) : 1.0;
    int filled = static_cast<int>(frac * 30);
    double secs = static_cast<double>(now - *start) / 1e9;
    double rate = secs > 0 ? static_cast<double>(done) / secs : 0;
    std::fprintf(stderr, "\rhashing [%-30s] %3d%% %s / %s  %s/s ",
                 std::string(static_cast<size_t>(filled), '#').c_str(),
                 static_cast<int>(frac * 100), HumanBytes(done).c_str(), HumanBytes(total).c_str(),
                 HumanBytes(static_cast<uint64_t>(rate)).c_str());
    if (done == total) std::fprintf(stderr, "\n");
    std::fflush(stderr);
  };
}

json::object VersionJson(const ModelVersion& m) {
  json::array tags, approvers, files, datasets;
  for (const auto& t : m.tags) tags.emplace_back(t);
  for (const auto& a : m.approved_by) approvers.emplace_back(a);
  for (const auto& f : m.files) {
    files.push_back(json::object{{"path", f.path}, {"size", f.size}, {"sha256", f.sha256_hex}});
  }
  for (const auto& d : m.datasets) datasets.emplace_back(d);
  json::object attrs;
  for (const auto& [k, v] : m.attrs) attrs[k] = v;
  json::object o{{"name", m.name},
                 {"version", m.version},
                 {"state", m.state},
                 {"deploy_role", m.deploy_role},
                 {"canary_percent", m.canary_percent},
                 {"manifest_digest", m.manifest_digest},
                 {"license", m.license},
                 {"license_raw", m.license_raw},
                 {"license_decision", m.license_verdict},
                 {"license_reason", m.license_reason},
                 {"source_url", m.source_url},
                 {"base_model", m.base_model},
                 {"tags", tags},
                 {"attrs", attrs},
                 {"registered_by", m.registered_by},
                 {"registered_ms", m.registered_ms},
                 {"approved_by", approvers},
                 {"approved_ms", m.approved_ms},
                 {"deployed_ms", m.deployed_ms},
                 {"retired_ms", m.retired_ms},
                 {"path", m.path},
                 {"format", m.metadata.format},
                 {"parameter_count", m.metadata.parameter_count},
                 {"quantization", m.metadata.quantization},
                 {"context_length", m.metadata.context_length},
                 {"architecture", m.metadata.architecture}};
  if (!m.quarantine_reason.empty()) o["quarantine_reason"] = m.quarantine_reason;
  if (!m.files.empty()) o["files"] = std::move(files);
  if (!m.datasets.empty()) o["datasets"] = std::move(datasets);
  return o;
}

int RunRegister(const GlobalOptions& globals, registry::RegisterRequest req, bool as_json,
                const std::vector<std::string>& attrs, std::string key) {
  for (const auto& kv : attrs) {
    size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) return Fail("--attr `" + kv + "` must be KEY=VALUE");
    req.attrs[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  auto session = OpenSession(globals);
  if (!session.ok()) return Fail(session.status());
  // With --key the registering admin key is the actor, if policy lets it register.
  int exit_code = kExitOk;
  auto auth = AuthorizeOrReport(session->config, *session->db, key,
                                {"models.register", {{"name", req.name}, {"version", req.version}},
                                 {{"name", req.name}, {"version", req.version}, {"path", req.path}},
                                 req.name + "@" + req.version},
                                &exit_code, as_json);
  if (!auth) return exit_code;
  req.actor = auth->actor();
  req.progress = MakeProgress();
  auto m = session->registry->Register(req);
  if (!m.ok()) return FailStatus(m.status());
  if (as_json) {
    std::cout << JsonText(VersionJson(*m)) << "\n";
    return kExitOk;
  }
  uint64_t bytes = 0;
  for (const auto& f : m->files) bytes += f.size;
  std::cout << "registered " << m->Ref() << "\n"
            << "  manifest  sha256:" << m->manifest_digest << " (" << m->files.size() << " file"
            << (m->files.size() == 1 ? "" : "s") << ", " << HumanBytes(bytes) << ")\n"
            << "  format    " << m->metadata.format;
  if (m->metadata.parameter_count)
    std::cout << ", " << m->metadata.parameter_count << " parameters";
  if (!m->metadata.quantization.empty()) std::cout << ", " << m->metadata.quantization;
  std::cout << "\n  license   " << m->license
            << (m->license_raw.empty() || m->license_raw == m->license
                    ? ""
                    : " (from `" + m->license_raw + "`)")
            << ": " << m->license_verdict << " — " << m->license_reason << "\n";
  if (!m->source_url.empty()) std::cout << "  source    " << m->source_url << "\n";
  if (!m->base_model.empty()) std::cout << "  base      " << m->base_model << "\n";
  std::cout << "  state     registered (next: steward models approve " << m->Ref() << ")\n";
  return kExitOk;
}

int RunList(const GlobalOptions& globals, const std::string& name, bool as_json) {
  auto session = OpenSession(globals);
  if (!session.ok()) return Fail(session.status());
  auto list = session->registry->List(name);
  if (!list.ok()) return FailStatus(list.status());
  if (as_json) {
    json::array a;
    for (const auto& m : *list) a.push_back(VersionJson(m));
    std::cout << JsonText(a) << "\n";
    return kExitOk;
  }
  std::printf("%-24s %-12s %-12s %-14s %-22s %s\n", "NAME", "VERSION", "STATE", "DEPLOY", "LICENSE",
              "MANIFEST");
  for (const auto& m : *list) {
    std::string deploy = m.deploy_role;
    if (m.deploy_role == "canary")
      deploy += " " + std::to_string(m.canary_percent).substr(0, 4) + "%";
    std::printf("%-24s %-12s %-12s %-14s %-22s %s\n", m.name.c_str(), m.version.c_str(),
                m.state.c_str(), deploy.empty() ? "-" : deploy.c_str(), m.license.c_str(),
                m.manifest_digest.substr(0, 16).c_str());
  }
  return kExitOk;
}

int RunVerify(const GlobalOptions& globals, const std::string& ref, bool as_json) {
  std::string name, version;
  if (Status s = ParseRef(ref, false, &name, &version); !s.ok()) return Fail(s);
  auto session = OpenSession(globals);
  if (!session.ok()) return Fail(session.status());
  Registry& reg = *session->registry;
  std::vector<std::string> versions;
  if (!version.empty()) {
    versions.push_back(version);
  } else {
    auto list = reg.List(name);
    if (!list.ok()) return FailStatus(list.status());
    for (const auto& m : *list) {
      if (m.state != registry::kStateRetired) versions.push_back(m.version);
    }
    if (list->empty()) return Fail("model `" + name + "` is not registered");
  }
  bool all_ok = true;
  json::array results;
  for (const auto& v : versions) {
    auto m = reg.Get(name, v);
    if (!m.ok()) return FailStatus(m.status());
    auto report = reg.Verify(name, v, CliActor(""));
    if (!report.ok()) return FailStatus(report.status());
    json::object r{{"model", m->Ref()}, {"files", m->files.size()}};
    json::array problems;
    for (const auto& p : report->problems) problems.emplace_back(p.path + ": " + p.problem);
    // Steward signatures over the registered manifest.
    json::array sigs;
    auto signatures = reg.Signatures(name, v);
    if (signatures.ok()) {
      std::string msg = registry::ManifestSigningMessage(name, v, m->manifest_digest);
      for (const auto& s : *signatures) {
        std::string pub, sig;
        bool valid = Base64Decode(s.public_key, &pub) && Base64Decode(s.signature, &sig) &&
                     registry::VerifyMessage(pub, msg, sig);
        sigs.push_back(
            json::object{{"public_key", s.public_key}, {"signer", s.signer}, {"valid", valid}});
        if (!valid) problems.emplace_back("signature by " + s.public_key + " does not verify");
      }
    }
    // An OpenSSF model-signing statement shipped with the model.
    std::string sig_file = registry::FindModelSignatureFile(m->path);
    if (!sig_file.empty()) {
      std::ifstream in(sig_file, std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      auto intoto = registry::CheckInTotoStatement(ss.str(), m->files, m->manifest_digest);
      if (!intoto.ok()) {
        problems.emplace_back(sig_file + ": " + intoto.status().message());
      } else {
        for (const auto& p : intoto->problems) problems.emplace_back(sig_file + ": " + p);
        r["in_toto"] = json::object{{"file", sig_file},
                                    {"subject_digest", intoto->subject_digest},
                                    {"valid", intoto->ok()}};
      }
    }
    bool ok = problems.empty();
    all_ok = all_ok && ok;
    r["ok"] = ok;
    r["problems"] = problems;
    r["signatures"] = sigs;
    r["quarantined"] = report->quarantined;
    if (!as_json) {
      std::cout << (ok ? "ok       " : "FAILED   ") << m->Ref() << "  " << m->files.size()
                << " file(s) match sha256:" << m->manifest_digest.substr(0, 16);
      if (!ok) std::cout << " — " << problems.size() << " problem(s)";
      std::cout << "\n";
      for (const auto& p : problems) std::cout << "  - " << p.as_string().c_str() << "\n";
      for (const auto& s : sigs) {
        std::cout << "  signature " << s.at("public_key").as_string().c_str()
                  << (s.at("valid").as_bool() ? " valid" : " INVALID") << "\n";
      }
      if (r.contains("in_toto") && r["in_toto"].at("valid").as_bool()) {
        std::cout << "  in-toto statement " << sig_file << " matches\n";
      }
      if (report->quarantined)
        std::cout << "  quarantined: the gateway refuses it until re-approved\n";
    }
    results.push_back(std::move(r));
  }
  if (as_json) std::cout << JsonText(results) << "\n";
  return all_ok ? kExitOk : kExitCheckFailed;
}

int RunSbom(const GlobalOptions& globals, const std::string& ref, const std::string& out) {
  std::string name, version;
  if (Status s = ParseRef(ref, true, &name, &version); !s.ok()) return Fail(s);
  auto session = OpenSession(globals);
  if (!session.ok()) return Fail(session.status());
  Registry& reg = *session->registry;
  registry::BomInputs in;
  auto m = reg.Get(name, version);
  if (!m.ok()) return FailStatus(m.status());
  in.model = std::move(*m);
  for (const auto& d : in.model.datasets) {
    std::string dn, dv;
    registry::SplitRef(d, &dn, &dv);
    auto ds = reg.GetDataset(dn, dv);
    if (ds.ok()) in.datasets.push_back(std::move(*ds));
  }
  auto evals = reg.Evaluations(name, version);
  if (evals.ok()) in.evaluations = std::move(*evals);
  auto sigs = reg.Signatures(name, version);
  if (sigs.ok()) in.signatures = std::move(*sigs);
  in.now_ms = SystemClock::Instance().NowUnixMs();
  std::string text = JsonText(registry::BuildMlBom(in)) + "\n";
  if (out.empty() || out == "-") {
    std::cout << text;
  } else {
    std::ofstream f(out, std::ios::binary | std::ios::trunc);
    f << text;
    if (!f) return Fail("cannot write " + out);
  }
  return kExitOk;
}

int RunSign(const GlobalOptions& globals, const std::string& ref, const std::string& key_path) {
  std::string name, version;
  if (Status s = ParseRef(ref, true, &name, &version); !s.ok()) return Fail(s);
  auto session = OpenSession(globals);
  if (!session.ok()) return Fail(session.status());
  auto m = session->registry->Get(name, version);
  if (!m.ok()) return FailStatus(m.status());
  std::string path = key_path.empty() ? session->config.data_dir + "/model_signing.key" : key_path;
  auto key = registry::LoadSigningKey(path, key_path.empty());
  if (!key.ok()) return Fail(key.status());
  std::string sig = registry::SignMessage(
      *key, registry::ManifestSigningMessage(name, version, m->manifest_digest));
  registry::SignatureRecord record{Base64Encode(key->public_key), Base64Encode(sig), CliActor(""),
                                   SystemClock::Instance().NowUnixMs()};
  if (Status s = session->registry->AddSignature(name, version, record); !s.ok()) {
    return FailStatus(s);
  }
  std::cout << "signed " << m->Ref() << " manifest sha256:" << m->manifest_digest
            << "\n  public key (Ed25519, base64) " << record.public_key << "\n  signature "
            << record.signature << "\n";
  return kExitOk;
}

void AddModelsCommands(CLI::App& app, GlobalOptions& globals, int* exit_code) {
  CLI::App* models = app.add_subcommand("models", "model registry and provenance");
  models->require_subcommand(1);

  {
    auto* cmd = models->add_subcommand("register", "hash, inspect and register a model");
    auto req = std::make_shared<registry::RegisterRequest>();
    auto json_flag = std::make_shared<bool>(false);
    auto attrs = std::make_shared<std::vector<std::string>>();
    cmd->add_option("PATH", req->path, "model file or directory")->required();
    cmd->add_option("--name", req->name, "model name clients use")->required();
    cmd->add_option("--version", req->version, "version tag")->required();
    cmd->add_option("--license", req->license, "SPDX id (overrides the metadata)");
    cmd->add_option("--source", req->source_url, "where the weights came from (URL)");
    cmd->add_option("--base-model", req->base_model, "parent model");
    cmd->add_option("--tag", req->tags, "tag (repeatable)");
    cmd->add_option("--attr", *attrs, "KEY=VALUE resource attribute for policy (repeatable)");
    cmd->add_option("--dataset", req->datasets, "linked dataset NAME@VERSION (repeatable)");
    cmd->add_flag("--json", *json_flag, "print the registered version as JSON");
    auto key = std::make_shared<std::string>();
    cmd->add_option("--key", *key, "register as this admin API key (or STEWARD_ADMIN_KEY); policy decides");
    cmd->callback([&globals, exit_code, req, json_flag, attrs, key] {
      *exit_code = RunRegister(globals, *req, *json_flag, *attrs, *key);
    });
  }
  {
    auto* cmd = models->add_subcommand("list", "list registered model versions");
    auto name = std::make_shared<std::string>();
    auto json_flag = std::make_shared<bool>(false);
    cmd->add_option("NAME", *name, "only this model");
    cmd->add_flag("--json", *json_flag, "JSON output");
    cmd->callback([&globals, exit_code, name, json_flag] {
      *exit_code = RunList(globals, *name, *json_flag);
    });
  }
  {
    auto* cmd = models->add_subcommand("history", "the change log of a model (or all)");
    auto name = std::make_shared<std::string>();
    auto json_flag = std::make_shared<bool>(false);
    cmd->add_option("NAME", *name, "model name");
    cmd->add_flag("--json", *json_flag, "JSON output");
    cmd->callback([&globals, exit_code, name, json_flag] {
      auto session = OpenSession(globals);
      if (!session.ok()) {
        *exit_code = Fail(session.status());
        return;
      }
      auto h = session->registry->History(*name);
      if (!h.ok()) {
        *exit_code = FailStatus(h.status());
        return;
      }
      json::array a;
      for (const auto& e : *h) {
        if (*json_flag) {
          a.push_back(json::object{{"seq", e.seq},
                                   {"model", e.name},
                                   {"version", e.version},
                                   {"action", e.action},
                                   {"actor", e.actor},
                                   {"at_ms", e.at_ms},
                                   {"details", json::parse(e.details)}});
        } else {
          std::cout << registry::Iso8601Utc(e.at_ms) << "  " << e.action << "  " << e.name
                    << (e.version.empty() ? "" : "@" + e.version) << "  by " << e.actor << "  "
                    << e.details << "\n";
        }
      }
      if (*json_flag) std::cout << JsonText(a) << "\n";
      *exit_code = kExitOk;
    });
  }
  {
    auto* cmd = models->add_subcommand("verify", "re-hash files, check signatures and statements");
    auto ref = std::make_shared<std::string>();
    auto json_flag = std::make_shared<bool>(false);
    cmd->add_option("NAME[@VERSION]", *ref, "model (all live versions without @VERSION)")
        ->required();
    cmd->add_flag("--json", *json_flag, "JSON output");
    cmd->callback([&globals, exit_code, ref, json_flag] {
      *exit_code = RunVerify(globals, *ref, *json_flag);
    });
  }
  {
    auto* cmd = models->add_subcommand("approve", "approve a version for serving");
    auto ref = std::make_shared<std::string>();
    auto accept = std::make_shared<bool>(false);
    auto as = std::make_shared<std::string>();
    cmd->add_option("NAME@VERSION", *ref, "model version")->required();
    cmd->add_flag("--accept-license", *accept,
                  "accept a license the policy marks require_approval (or unknown)");
    cmd->add_option("--as", *as, "approver name (default: your user name)");
    auto key = std::make_shared<std::string>();
    AddAdminKeyOption(cmd, key.get());
    cmd->callback([&globals, exit_code, ref, accept, as, key] {
      std::string name, version;
      if (Status s = ParseRef(*ref, true, &name, &version); !s.ok()) {
        *exit_code = Fail(s);
        return;
      }
      auto session = OpenSession(globals);
      if (!session.ok()) {
        *exit_code = Fail(session.status());
        return;
      }
      // With --key the policy decides, and its two-person rule may hold the
      // approval until a second admin approves too; every approver is recorded.
      auto auth = AuthorizeOrReport(session->config, *session->db, *key,
                                    {"models.approve", {{"name", name}, {"version", version}},
                                     {{"name", name}, {"version", version},
                                      {"accept_license", *accept ? "true" : "false"}},
                                     name + "@" + version},
                                    exit_code);
      if (!auth) return;
      std::vector<std::string> approvers = auth->approver_actors();
      if (approvers.size() == 1 && approvers[0] == LocalCliActor()) approvers = {CliActor(*as)};
      Result<ModelVersion> m = NotFound("no approver");
      for (const auto& approver : approvers) {
        m = session->registry->Approve(name, version, approver, *accept);
        if (!m.ok()) break;
      }
      auth->Finish(m.status());
      if (!m.ok()) {
        *exit_code = FailStatus(m.status());
        return;
      }
      if (m->state == registry::kStateRegistered) {
        std::cout << "approval recorded for " << m->Ref() << " (" << m->approved_by.size() << "/"
                  << session->registry->options().approvals_required << " approvers)\n";
      } else {
        std::cout << m->Ref() << " is " << m->state << "\n";
      }
      *exit_code = kExitOk;
    });
  }
  {
    auto* cmd = models->add_subcommand("deploy", "route traffic to an approved version");
    auto ref = std::make_shared<std::string>();
    auto canary = std::make_shared<double>(0);
    cmd->add_option("NAME@VERSION", *ref, "model version")->required();
    cmd->add_option("--canary", *canary, "percentage of traffic (sticky by subject)");
    auto key = std::make_shared<std::string>();
    AddAdminKeyOption(cmd, key.get());
    cmd->callback([&globals, exit_code, ref, canary, key] {
      std::string name, version;
      if (Status s = ParseRef(*ref, true, &name, &version); !s.ok()) {
        *exit_code = Fail(s);
        return;
      }
      if (*canary < 0 || *canary >= 100) {
        *exit_code = Fail("--canary must be between 0 and 100 (exclusive)");
        return;
      }
      auto session = OpenSession(globals);
      if (!session.ok()) {
        *exit_code = Fail(session.status());
        return;
      }
      auto auth = AuthorizeOrReport(session->config, *session->db, *key,
                                    {"models.deploy", {{"name", name}, {"version", version}},
                                     {{"name", name}, {"version", version},
                                      {"canary", std::to_string(*canary)}},
                                     name + "@" + version},
                                    exit_code);
      if (!auth) return;
      Status s = session->registry->Deploy(name, version, *canary, auth->actor());
      auth->Finish(s);
      if (!s.ok()) {
        *exit_code = FailStatus(s);
        return;
      }
      std::cout << name << "@" << version << " deployed"
                << (*canary > 0
                        ? " as canary for " + std::to_string(*canary).substr(0, 5) + "% of subjects"
                        : " as primary")
                << "\n";
      *exit_code = kExitOk;
    });
  }
  {
    auto* cmd = models->add_subcommand("rollback", "put the previously deployed version back");
    auto name = std::make_shared<std::string>();
    cmd->add_option("NAME", *name, "model name")->required();
    auto key = std::make_shared<std::string>();
    AddAdminKeyOption(cmd, key.get());
    cmd->callback([&globals, exit_code, name, key] {
      auto session = OpenSession(globals);
      if (!session.ok()) {
        *exit_code = Fail(session.status());
        return;
      }
      auto auth = AuthorizeOrReport(session->config, *session->db, *key,
                                    {"models.rollback", {{"name", *name}}, {{"name", *name}}, *name},
                                    exit_code);
      if (!auth) return;
      auto v = session->registry->Rollback(*name, auth->actor());
      auth->Finish(v.status());
      if (!v.ok()) {
        *exit_code = FailStatus(v.status());
        return;
      }
      std::cout << *name << " rolled back to " << *name << "@" << *v << "\n";
      *exit_code = kExitOk;
    });
  }
  {
    auto* cmd = models->add_subcommand("retire", "stop serving a version for good");
    auto ref = std::make_shared<std::string>();
    cmd->add_option("NAME@VERSION", *ref, "model version")->required();
    auto key = std::make_shared<std::string>();
    AddAdminKeyOption(cmd, key.get());
    cmd->callback([&globals, exit_code, ref, key] {
      std::string name, version;
      if (Status s = ParseRef(*ref, true, &name, &version); !s.ok()) {
        *exit_code = Fail(s);
        return;
      }
      auto session = OpenSession(globals);
      if (!session.ok()) {
        *exit_code = Fail(session.status());
        return;
      }
      auto auth = AuthorizeOrReport(session->config, *session->db, *key,
                                    {"models.retire", {{"name", name}, {"version", version}},
                                     {{"name", name}, {"version", version}},
                                     name + "@" + version},
                                    exit_code);
      if (!auth) return;
      Status s = session->registry->Retire(name, version, auth->actor());
      auth->Finish(s);
      if (!s.ok()) {
        *exit_code = FailStatus(s);
        return;
      }
      std::cout << name << "@" << version << " retired\n";
      *exit_code = kExitOk;
    });
  }
  {
    auto* cmd = models->add_subcommand("sign", "Ed25519-sign a version's manifest");
    auto ref = std::make_shared<std::string>();
    auto key = std::make_shared<std::string>();
    cmd->add_option("NAME@VERSION", *ref, "model version")->required();
    cmd->add_option("--key", *key,
                    "secret key file (default: DATA_DIR/model_signing.key, created)");
    cmd->callback([&globals, exit_code, ref, key] { *exit_code = RunSign(globals, *ref, *key); });
  }
  {
    auto* cmd = models->add_subcommand("sbom", "CycloneDX 1.6 ML-BOM of a version");
    auto ref = std::make_shared<std::string>();
    auto out = std::make_shared<std::string>();
    cmd->add_option("NAME@VERSION", *ref, "model version")->required();
    cmd->add_option("--out", *out, "write to FILE instead of stdout");
    cmd->callback([&globals, exit_code, ref, out] { *exit_code = RunSbom(globals, *ref, *out); });
  }

  CLI::App* datasets = app.add_subcommand("datasets", "datasets linked to models");
  datasets->require_subcommand(1);
  {
    auto* cmd = datasets->add_subcommand("register", "hash and register a dataset");
    auto req = std::make_shared<registry::DatasetRequest>();
    auto json_flag = std::make_shared<bool>(false);
    cmd->add_option("PATH", req->path, "dataset file or directory")->required();
    cmd->add_option("--name", req->name, "dataset name")->required();
    cmd->add_option("--version", req->version, "version tag")->required();
    cmd->add_option("--license", req->license, "SPDX id");
    cmd->add_option("--source", req->source_url, "where it came from (URL)");
    cmd->add_flag("--json", *json_flag, "JSON output");
    auto key = std::make_shared<std::string>();
    AddAdminKeyOption(cmd, key.get());
    cmd->callback([&globals, exit_code, req, json_flag, key] {
      auto session = OpenSession(globals);
      if (!session.ok()) {
        *exit_code = Fail(session.status());
        return;
      }
      auto auth = AuthorizeOrReport(session->config, *session->db, *key,
                                    {"datasets.register",
                                     {{"name", req->name}, {"version", req->version}},
                                     {{"name", req->name}, {"version", req->version}, {"path", req->path}},
                                     req->name + "@" + req->version},
                                    exit_code, *json_flag);
      if (!auth) return;
      req->actor = auth->actor();
      req->progress = MakeProgress();
      auto d = session->registry->RegisterDataset(*req);
      auth->Finish(d.status());
      if (!d.ok()) {
        *exit_code = FailStatus(d.status());
        return;
      }
      if (*json_flag) {
        std::cout << JsonText(json::object{{"name", d->name},
                                           {"version", d->version},
                                           {"manifest_digest", d->manifest_digest},
                                           {"license", d->license},
                                           {"files", d->files.size()}})
                  << "\n";
      } else {
        std::cout << "registered dataset " << d->name << "@" << d->version
                  << "\n  manifest  sha256:" << d->manifest_digest << " (" << d->files.size()
                  << " files)\n  license   " << d->license << "\n";
      }
      *exit_code = kExitOk;
    });
  }
  {
    auto* cmd = datasets->add_subcommand("list", "list registered datasets");
    auto json_flag = std::make_shared<bool>(false);
    cmd->add_flag("--json", *json_flag, "JSON output");
    cmd->callback([&globals, exit_code, json_flag] {
      auto session = OpenSession(globals);
      if (!session.ok()) {
        *exit_code = Fail(session.status());
        return;
      }
      auto list = session->registry->ListDatasets();
      if (!list.ok()) {
        *exit_code = FailStatus(list.status());
        return;
      }
      json::array a;
      for (const auto& d : *list) {
        if (*json_flag) {
          a.push_back(json::object{{"name", d.name},
                                   {"version", d.version},
                                   {"manifest_digest", d.manifest_digest},
                                   {"license", d.license},
                                   {"source_url", d.source_url}});
        } else {
          std::printf("%-24s %-12s %-20s %s\n", d.name.c_str(), d.version.c_str(),
                      d.license.c_str(), d.manifest_digest.substr(0, 16).c_str());
        }
      }
      if (*json_flag) std::cout << JsonText(a) << "\n";
      *exit_code = kExitOk;
    });
  }
}

STEWARD_REGISTER_COMMANDS(AddModelsCommands);

}  // namespace
}  // namespace steward::cli
