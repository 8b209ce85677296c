// `steward audit ...`, `steward dsar ...`, `steward retention run`: the
// verifiable audit log (formats: SPEC "The audit log", docs/audit.md).
//
//   audit verify [--json]                  exit 1 naming the first bad index
//   audit prove INDEX [--size N]           RFC 9162 inclusion proof (JSON)
//   audit consistency OLD NEW              RFC 9162 consistency proof (JSON)
//   audit sth                              publish a signed tree head now, print it
//   audit export --out DIR                 leaves.jsonl, sth.json, README.txt
//   audit verify-export DIR [--public-key B64]   offline check of an export
//   dsar export SUBJECT [--out FILE]       records + payloads + proofs of a subject
//   dsar erase SUBJECT [--key K]           crypto-shred the subject's payloads
//   retention run [--key K]                shred payloads past retention now
// (--key: policy-authorised admin action, see cli/admin_auth.h)
#include <pwd.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <fstream>
#include <iostream>
#include <optional>

#include "audit/audit_log.h"
#include "audit/dsar.h"
#include "audit/keys.h"
#include "audit/log_store.h"
#include "audit/options.h"
#include "audit/proof_json.h"
#include "audit/retention.h"
#include "audit/verify.h"
#include "cli/admin_auth.h"
#include "cli/command.h"
#include "common/json_text.h"
#include "common/mapped_file_fault.h"
#include "common/strings.h"
#include "config/config.h"
#include "steward/clock.h"

namespace steward::cli {
namespace {

namespace json = boost::json;

struct AuditSession {
  config::Config config;
  audit::AuditOptions options;
  std::unique_ptr<Database> db;
};

Result<AuditSession> OpenAuditSession(const GlobalOptions& globals) {
  AuditSession s;
  STEWARD_ASSIGN_OR_RETURN(s.config, config::LoadConfigForCli(globals.config_path));
  STEWARD_ASSIGN_OR_RETURN(s.options, audit::ParseAuditOptions(s.config));
  STEWARD_RETURN_IF_ERROR(config::EnsureDataDir(s.config));
  STEWARD_ASSIGN_OR_RETURN(s.db, OpenDatabase(s.config.store_url));
  STEWARD_RETURN_IF_ERROR(s.db->Migrate(audit::AuditMigrations()));
  return s;
}

// The log's own public key, when its signing key exists.
std::string LogPublicKey(const std::string& data_dir) {
  auto key = audit::LoadSigningKey(data_dir, false);
  return key.ok() ? key->public_key : "";
}

int RunVerify(const GlobalOptions& g, bool as_json) {
  auto s = OpenAuditSession(g);
  if (!s.ok()) return Fail(s.status());
  // A second connection lets two chunks of records be read at once.
  auto second = OpenDatabase(s->config.store_url);
  Result<audit::VerifyResult> r = [&] {
    // The scan reads the store file memory-mapped, where a disk error is a
    // signal, not a status; verify only reads, so ending there loses nothing.
    MappedFileFaultExit fault_exit("audit verify: I/O error reading " + s->config.store_url +
                                       " (the store file failed or shrank during the read); "
                                       "the log was not verified",
                                   kExitCheckFailed);
    return audit::VerifyStore(*s->db, LogPublicKey(s->config.data_dir),
                              second.ok() ? second->get() : nullptr);
  }();
  if (!r.ok()) return Fail(r.status().WithContext("audit verify"), kExitCheckFailed);
  if (as_json) {
    json::object o;
    o["ok"] = r->ok;
    o["tree_size"] = r->tree_size;
    o["heads_checked"] = r->heads_checked;
    if (r->ok) {
      o["root_hash"] = audit::ToHex(r->root);
    } else {
      o["first_bad_index"] = r->first_bad_index;
      o["problem"] = r->problem;
    }
    std::cout << JsonText(o) << "\n";
  } else if (r->ok) {
    std::cout << "ok: " << r->tree_size << " records, " << r->heads_checked
              << " signed tree heads verified, root " << audit::ToHex(r->root) << "\n";
  }
  if (!r->ok) {
    return Fail("audit verify failed at index " + std::to_string(r->first_bad_index) + ": " +
                    r->problem,
                kExitCheckFailed);
  }
  return kExitOk;
}

int RunProve(const GlobalOptions& g, int64_t index, std::optional<int64_t> size) {
  auto s = OpenAuditSession(g);
  if (!s.ok()) return Fail(s.status());
  auto p = audit::ProveInclusion(*s->db, index, size);
  if (!p.ok()) return Fail(p.status());
  std::cout << JsonText(audit::InclusionProofJson(*p)) << "\n";
  return kExitOk;
}

int RunConsistency(const GlobalOptions& g, int64_t first, int64_t second) {
  auto s = OpenAuditSession(g);
  if (!s.ok()) return Fail(s.status());
  auto p = audit::ProveConsistency(*s->db, first, second);
  if (!p.ok()) return Fail(p.status());
  std::cout << JsonText(audit::ConsistencyProofJson(*p)) << "\n";
  return kExitOk;
}

Result<audit::TreeHead> PublishHead(AuditSession& s) {
  STEWARD_ASSIGN_OR_RETURN(auto key, audit::LoadSigningKey(s.config.data_dir, true));
  return audit::PublishTreeHead(*s.db, key, SystemClock::Instance().NowUnixMs());
}

int RunSth(const GlobalOptions& g) {
  auto s = OpenAuditSession(g);
  if (!s.ok()) return Fail(s.status());
  auto head = PublishHead(*s);
  if (!head.ok()) return Fail(head.status());
  std::cout << JsonText(audit::TreeHeadJson(*head)) << "\n";
  return kExitOk;
}

int RunExport(const GlobalOptions& g, const std::string& dir) {
  auto s = OpenAuditSession(g);
  if (!s.ok()) return Fail(s.status());
  auto head = PublishHead(*s);
  if (!head.ok()) return Fail(head.status());
  Status st = audit::ExportLog(*s->db, *head, dir);
  if (!st.ok()) return Fail(st);
  std::cerr << "exported " << head->tree_size << " leaves to " << dir << "\n";
  std::cout << JsonText(audit::TreeHeadJson(*head)) << "\n";
  return kExitOk;
}

int RunVerifyExport(const std::string& dir, const std::string& public_key) {
  auto r = audit::VerifyExport(dir, public_key);
  if (!r.ok()) return Fail(r.status());
  if (!r->ok) {
    std::string where = r->first_bad_index >= 0
                            ? "at index " + std::to_string(r->first_bad_index)
                            : std::string("in sth.json");
    return Fail("export " + dir + " is invalid " + where + ": " + r->problem, kExitCheckFailed);
  }
  std::cout << "ok: " << r->tree_size << " leaves, root " << r->root_hex << ", signed by "
            << r->public_key_b64 << "\n";
  return kExitOk;
}

int RunDsarExport(const GlobalOptions& g, const std::string& subject, const std::string& out) {
  if (subject.empty()) return Fail("SUBJECT must not be empty");
  auto s = OpenAuditSession(g);
  if (!s.ok()) return Fail(s.status());
  auto e = audit::DsarExport(*s->db, s->config.data_dir, subject);
  if (!e.ok()) return Fail(e.status());
  std::string text = JsonText(*e) + "\n";
  if (out.empty()) {
    std::cout << text;
  } else {
    std::ofstream f(out, std::ios::binary | std::ios::trunc);
    if (!f || !f.write(text.data(), static_cast<std::streamsize>(text.size()))) {
      return Fail("cannot write " + out);
    }
    std::cerr << "wrote " << e->at("records").as_array().size() << " records of the subject to "
              << out << "\n";
  }
  return kExitOk;
}

int RunDsarErase(const GlobalOptions& g, const std::string& subject, const std::string& key) {
  if (subject.empty()) return Fail("SUBJECT must not be empty");
  auto s = OpenAuditSession(g);
  if (!s.ok()) return Fail(s.status());
  // Policy authorisation with --key; the subject is never stored in clear
  // while a two-person approval is pending (only a hash names it).
  int exit_code = kExitOk;
  auto auth = AuthorizeOrReport(s->config, *s->db, key,
                                {"subjects.erase", {}, {{"subject", subject}},
                                 "subject sha256:" + Sha256Hex(subject).substr(0, 16)},
                                &exit_code, true);
  if (!auth) return exit_code;
  auto r = audit::DsarErase(*s->db, s->config.data_dir, subject, auth->actor(),
                            SystemClock::Instance());
  auth->Finish(r.status());
  if (!r.ok()) return Fail(r.status());
  json::object o;
  o["pseudonym"] = r->pseudonym;
  o["status"] = "erased";
  o["already_erased"] = r->already_erased;
  o["erasure_index"] = r->erasure_index;
  o["approved_by"] = auth->ApproversJson();
  std::cout << JsonText(o) << "\n";
  return kExitOk;
}

int RunRetention(const GlobalOptions& g, const std::string& key) {
  auto s = OpenAuditSession(g);
  if (!s.ok()) return Fail(s.status());
  int exit_code = kExitOk;
  auto auth = AuthorizeOrReport(s->config, *s->db, key, {"retention.run", {}, {}, "payloads"},
                                &exit_code, true);
  if (!auth) return exit_code;
  const int64_t now = SystemClock::Instance().NowUnixMs();
  auto n = audit::ShredExpiredPayloads(*s->db, s->options.retention, now);
  auth->Finish(n.status());
  if (!n.ok()) return Fail(n.status());
  json::object details;
  details["shredded"] = *n;
  details["approved_by"] = auth->ApproversJson();
  auto idx = audit::AppendAdminRecord(*s->db, "retention.run", auth->actor(), "payloads", details,
                                      "", now);
  if (!idx.ok()) return Fail(idx.status());
  json::object o;
  o["shredded"] = *n;
  o["record_index"] = *idx;
  std::cout << JsonText(o) << "\n";
  return kExitOk;
}

void AddAuditCommands(CLI::App& app, GlobalOptions& globals, int* exit_code) {
  auto* audit = app.add_subcommand("audit", "the verifiable audit log");
  audit->require_subcommand(1);

  auto* verify = audit->add_subcommand(
      "verify", "recompute the whole tree, check every signed head and their consistency");
  auto verify_json = std::make_shared<bool>(false);
  verify->add_flag("--json", *verify_json, "print the result as JSON");
  verify->callback([&globals, exit_code, verify_json] { *exit_code = RunVerify(globals, *verify_json); });

  auto* prove = audit->add_subcommand("prove", "inclusion proof of leaf INDEX");
  auto prove_index = std::make_shared<int64_t>(0);
  auto prove_size = std::make_shared<int64_t>(-1);
  prove->add_option("INDEX", *prove_index, "leaf index")->required();
  prove->add_option("--size", *prove_size, "tree size (default: the current size)");
  prove->callback([&globals, exit_code, prove_index, prove_size] {
    std::optional<int64_t> size;
    if (*prove_size >= 0) size = *prove_size;
    *exit_code = RunProve(globals, *prove_index, size);
  });

  auto* cons = audit->add_subcommand("consistency", "consistency proof between two tree sizes");
  auto cons_old = std::make_shared<int64_t>(0);
  auto cons_new = std::make_shared<int64_t>(0);
  cons->add_option("OLD", *cons_old, "older tree size")->required();
  cons->add_option("NEW", *cons_new, "newer tree size")->required();
  cons->callback([&globals, exit_code, cons_old, cons_new] {
    *exit_code = RunConsistency(globals, *cons_old, *cons_new);
  });

  auto* sth = audit->add_subcommand("sth", "publish a signed tree head now and print it");
  sth->callback([&globals, exit_code] { *exit_code = RunSth(globals); });

  auto* exp = audit->add_subcommand("export", "write the log and a signed head for auditors");
  auto exp_dir = std::make_shared<std::string>();
  exp->add_option("--out", *exp_dir, "output directory")->required();
  exp->callback([&globals, exit_code, exp_dir] { *exit_code = RunExport(globals, *exp_dir); });

  auto* vexp = audit->add_subcommand("verify-export", "verify an export offline");
  auto vexp_dir = std::make_shared<std::string>();
  auto vexp_key = std::make_shared<std::string>();
  vexp->add_option("DIR", *vexp_dir, "export directory")->required();
  vexp->add_option("--public-key", *vexp_key, "expected signing key (base64 Ed25519)");
  vexp->callback([exit_code, vexp_dir, vexp_key] {
    *exit_code = RunVerifyExport(*vexp_dir, *vexp_key);
  });

  auto* dsar = app.add_subcommand("dsar", "data-subject access and erasure");
  dsar->require_subcommand(1);
  auto* dexp = dsar->add_subcommand("export", "every record and payload of SUBJECT, with proofs");
  auto dexp_subject = std::make_shared<std::string>();
  auto dexp_out = std::make_shared<std::string>();
  dexp->add_option("SUBJECT", *dexp_subject, "the subject id (OpenAI `user`)")->required();
  dexp->add_option("--out", *dexp_out, "write to FILE instead of stdout");
  dexp->callback([&globals, exit_code, dexp_subject, dexp_out] {
    *exit_code = RunDsarExport(globals, *dexp_subject, *dexp_out);
  });
  auto* derase = dsar->add_subcommand("erase", "destroy SUBJECT's data key (crypto-shredding)");
  auto derase_subject = std::make_shared<std::string>();
  derase->add_option("SUBJECT", *derase_subject, "the subject id")->required();
  auto derase_key = std::make_shared<std::string>();
  AddAdminKeyOption(derase, derase_key.get());
  derase->callback([&globals, exit_code, derase_subject, derase_key] {
    *exit_code = RunDsarErase(globals, *derase_subject, *derase_key);
  });

  auto* retention = app.add_subcommand("retention", "payload retention");
  retention->require_subcommand(1);
  auto* run = retention->add_subcommand("run", "shred payloads past their retention now");
  auto run_key = std::make_shared<std::string>();
  AddAdminKeyOption(run, run_key.get());
  run->callback([&globals, exit_code, run_key] { *exit_code = RunRetention(globals, *run_key); });
}

}  // namespace

STEWARD_REGISTER_COMMANDS(AddAuditCommands);

}  // namespace steward::cli
