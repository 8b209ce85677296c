#include "audit/dsar.h"

#include <sodium.h>

#include <cstdlib>
#include <filesystem>

#include "audit/canonical_json.h"
#include "audit/keys.h"
#include "audit/leaf_blocks.h"
#include "audit/log_store.h"
#include "audit/merkle.h"
#include "audit/payload_crypto.h"
#include "audit/proof_json.h"
#include "common/strings.h"

namespace steward::audit {

namespace {

Result<LeafToAppend> AdminLeaf(const std::string& action, const std::string& actor,
                               const std::string& target, const boost::json::object& details,
                               const std::string& subject, int64_t now_ms) {
  boost::json::object record;
  record["v"] = 1;
  record["kind"] = "admin";
  record["time_ms"] = now_ms;
  record["action"] = action;
  record["actor"] = actor;
  record["target"] = target;
  record["details"] = details;
  if (!subject.empty()) record["subject"] = subject;
  auto leaf = CanonicalJson(record);
  if (!leaf.ok()) return leaf.status().WithContext("admin event " + action);
  LeafToAppend l;
  l.leaf = std::move(*leaf);
  l.kind = "admin";
  l.subject = subject;
  l.time_ms = now_ms;
  return l;
}

}  // namespace

Result<int64_t> AppendAdminRecord(Database& db, const std::string& action,
                                  const std::string& actor, const std::string& target,
                                  const boost::json::object& details, const std::string& subject,
                                  int64_t now_ms) {
  STEWARD_RETURN_IF_ERROR(db.Migrate(AuditMigrations()));
  STEWARD_ASSIGN_OR_RETURN(LeafToAppend l, AdminLeaf(action, actor, target, details, subject, now_ms));
  return AppendLeaves(db, {l}, nullptr);
}

Result<boost::json::object> DsarExport(Database& db, const std::string& data_dir,
                                       const std::string& subject) {
  STEWARD_RETURN_IF_ERROR(db.Migrate(AuditMigrations()));
  STEWARD_ASSIGN_OR_RETURN(std::string pkey, LoadPseudonymKey(data_dir, true));
  const std::string pseudonym = SubjectPseudonym(pkey, subject);
  // No KEK yet means no payload was ever stored: export the records alone.
  auto keks = LoadKeks(data_dir, false);
  if (!keks.ok() && keks.status().code() != StatusCode::kNotFound) return keks.status();
  PayloadSealer sealer(keks.ok() ? std::move(*keks) : std::vector<Kek>{});

  // Reads without a transaction: leaves and nodes below the size read first
  // never change.
  Sql sql(&db);
  STEWARD_ASSIGN_OR_RETURN(int64_t size, StoredTreeSize(sql));
  StoreSubtreeSource source(sql);
  STEWARD_ASSIGN_OR_RETURN(Hash root, RangeHash(source, 0, size));

  STEWARD_ASSIGN_OR_RETURN(
      auto key_rows,
      sql.Query("SELECT wrapped_key, kek_id, erased_ms FROM audit_subject_keys WHERE subject = $1",
                {pseudonym}));
  bool erased = !key_rows.empty() && !key_rows[0].IsNull(2);
  std::optional<std::string> data_key;
  if (!key_rows.empty() && !erased && !key_rows[0].IsNull(0)) {
    STEWARD_ASSIGN_OR_RETURN(std::string dk, sealer.UnwrapDataKey(pseudonym, key_rows[0].Text(0),
                                                                  key_rows[0].Text(1)));
    data_key = std::move(dk);
  }

  boost::json::object out;
  out["subject"] = subject;
  out["pseudonym"] = pseudonym;
  out["status"] = erased ? "erased" : "active";
  if (erased) out["erased_ms"] = key_rows[0].Int(2);
  out["tree_size"] = size;
  out["root_hash"] = ToHex(root);
  boost::json::array records;
  STEWARD_ASSIGN_OR_RETURN(auto leaves, SubjectLeaves(sql, pseudonym, size));
  for (const auto& [idx, leaf] : leaves) {
    boost::json::object rec;
    rec["index"] = idx;
    boost::system::error_code ec;
    rec["record"] = boost::json::parse(leaf, ec);
    if (ec) rec["record"] = nullptr;
    rec["leaf_hash"] = ToHex(LeafHash(leaf));
    STEWARD_ASSIGN_OR_RETURN(auto path, InclusionProof(source, idx, size));
    rec["audit_path"] = HashListJson(path);
    // The record names its payload parts' ref; they are found by leaf index
    // (a streamed call's two records share one ref).
    std::string payload_ref;
    if (const auto* obj = rec["record"].if_object()) {
      if (const auto* ref = obj->if_contains("payload_ref"); ref && ref->is_string()) {
        payload_ref = std::string(ref->get_string());
      }
    }
    std::vector<StoredPayloadPart> parts;
    if (!payload_ref.empty()) {
      STEWARD_ASSIGN_OR_RETURN(parts, PayloadPartsOfLeaf(sql, idx, payload_ref));
    }
    boost::json::object payloads;
    for (const StoredPayloadPart& pr : parts) {
      boost::json::object pj;
      if (erased) {
        pj["status"] = "erased";
      } else if (pr.shredded_ms || !pr.sealed) {
        pj["status"] = "expired";
        if (pr.shredded_ms) pj["shredded_ms"] = *pr.shredded_ms;
      } else if (!data_key) {
        pj["status"] = "unavailable";
      } else {
        auto text = OpenBytes(*data_key, *pr.sealed, PayloadSealer::PayloadAd(payload_ref, pr.part));
        if (text.ok()) {
          pj["status"] = "available";
          pj["text"] = *text;
        } else {
          pj["status"] = "corrupt";
          pj["error"] = text.status().message();
        }
      }
      payloads[pr.part] = std::move(pj);
    }
    rec["payloads"] = std::move(payloads);
    records.push_back(std::move(rec));
  }
  out["records"] = std::move(records);
  return out;
}

Result<CallPrompt> ReadCallPrompt(Database& db, const std::string& data_dir,
                                  const std::string& request_id, int64_t not_before_ms) {
  STEWARD_RETURN_IF_ERROR(db.Migrate(AuditMigrations()));
  CallPrompt out;
  std::string payload_ref;
  bool found = false;
  // A streamed call has two records with one ref; the prompt is with the
  // first, so keep scanning back to the oldest of the call's records.
  static const std::string kStop = "scan reached records older than the call";
  Status scanned = ForEachStoredLeafNewestFirst(db, [&](const StoredLeaf& stored) -> Status {
        if (stored.kind != "request") return Status::Ok();
        if (stored.time_ms < not_before_ms) return FailedPrecondition(kStop);
        std::string_view leaf = stored.leaf;
        // Cheap filter before parsing: the id is in the record verbatim.
        if (leaf.find(request_id) == std::string_view::npos) return Status::Ok();
        boost::system::error_code ec;
        boost::json::value v = boost::json::parse(leaf, ec);
        const boost::json::object* rec = ec ? nullptr : v.if_object();
        const boost::json::value* rid = rec ? rec->if_contains("request_id") : nullptr;
        if (!rid || !rid->is_string() || rid->get_string() != request_id) return Status::Ok();
        found = true;
        out.audit_index = stored.index;
        out.subject = std::string(stored.subject);
        payload_ref.clear();
        if (const auto* ref = rec->if_contains("payload_ref"); ref && ref->is_string()) {
          payload_ref = std::string(ref->get_string());
        }
        return Status::Ok();
      });
  if (!scanned.ok() && scanned.message() != kStop) return scanned;
  if (!found) return NotFound("no audit record of request " + request_id);
  Sql sql(&db);
  std::vector<StoredPayloadPart> parts;
  if (!payload_ref.empty()) {
    STEWARD_ASSIGN_OR_RETURN(parts, PayloadPartsOfLeaf(sql, out.audit_index, payload_ref));
  }
  const StoredPayloadPart* prompt = nullptr;
  for (const auto& p : parts) {
    if (p.part == "prompt") prompt = &p;
  }
  auto key_rows = sql.Query(
      "SELECT wrapped_key, kek_id, erased_ms FROM audit_subject_keys WHERE subject = $1",
      {out.subject});
  if (!key_rows.ok()) return key_rows.status();
  const bool erased = !key_rows->empty() && !(*key_rows)[0].IsNull(2);
  if (erased) {
    out.status = "erased";  // said even when no payload was kept: nothing can be read
    return out;
  }
  if (!prompt) {
    out.status = "not_recorded";
    return out;
  }
  if (prompt->shredded_ms || !prompt->sealed) {
    out.status = "expired";
    return out;
  }
  if (key_rows->empty() || (*key_rows)[0].IsNull(0)) {
    out.status = "unavailable";
    return out;
  }
  STEWARD_ASSIGN_OR_RETURN(std::vector<Kek> keks, LoadKeks(data_dir, false));
  PayloadSealer sealer(std::move(keks));
  STEWARD_ASSIGN_OR_RETURN(std::string data_key,
                           sealer.UnwrapDataKey(out.subject, (*key_rows)[0].Text(0),
                                                (*key_rows)[0].Text(1)));
  auto text = OpenBytes(data_key, *prompt->sealed, PayloadSealer::PayloadAd(payload_ref, "prompt"));
  sodium_memzero(data_key.data(), data_key.size());
  if (!text.ok()) {
    out.status = "corrupt";
    out.error = text.status().message();
    return out;
  }
  out.status = "available";
  out.text = std::move(*text);
  return out;
}

Result<EraseResult> DsarErase(Database& db, const std::string& data_dir,
                              const std::string& subject, const std::string& actor, Clock& clock) {
  if (subject.empty()) return InvalidArgument("subject must not be empty");
  STEWARD_RETURN_IF_ERROR(db.Migrate(AuditMigrations()));
  STEWARD_ASSIGN_OR_RETURN(std::string pkey, LoadPseudonymKey(data_dir, true));
  EraseResult result;
  result.pseudonym = SubjectPseudonym(pkey, subject);
  const int64_t now = clock.NowUnixMs();
  // The tombstone and the dsar.erase record commit together: a running
  // gateway's writer caches unwrapped data keys and drops its cache when it
  // sees the tree grow under it, so the record must never lag the tombstone.
  STEWARD_ASSIGN_OR_RETURN(auto tx, db.Begin());
  STEWARD_ASSIGN_OR_RETURN(
      auto rows, tx->Query("SELECT erased_ms FROM audit_subject_keys WHERE subject = $1",
                           {result.pseudonym}));
  result.already_erased = !rows.empty() && !rows[0].IsNull(0);
  // A tombstone row also stops new payloads of this subject being kept.
  STEWARD_RETURN_IF_ERROR(tx->Exec(
      "INSERT INTO audit_subject_keys(subject, wrapped_key, kek_id, created_ms, erased_ms) "
      "VALUES ($1, NULL, NULL, $2, $2) ON CONFLICT (subject) DO UPDATE SET "
      "wrapped_key = NULL, kek_id = NULL, erased_ms = COALESCE(audit_subject_keys.erased_ms, $2)",
      {result.pseudonym, now}));
  boost::json::object details;
  details["already_erased"] = result.already_erased;
  STEWARD_ASSIGN_OR_RETURN(LeafToAppend leaf, AdminLeaf("dsar.erase", actor, result.pseudonym,
                                                        details, result.pseudonym, now));
  Frontier frontier;  // loaded from the store inside the transaction
  STEWARD_ASSIGN_OR_RETURN(result.erasure_index,
                           AppendLeavesInTx(*tx, &frontier, {leaf}, nullptr));
  STEWARD_RETURN_IF_ERROR(tx->Commit());
  return result;
}

Status RotateKek(const config::Config& config) {
  const std::string& dir = config.data_dir;
  STEWARD_ASSIGN_OR_RETURN(auto db, OpenDatabase(config.store_url));
  STEWARD_RETURN_IF_ERROR(db->Migrate(AuditMigrations()));
  STEWARD_ASSIGN_OR_RETURN(std::vector<Kek> old_keks, LoadKeks(dir, true));
  const bool from_env = std::getenv(kKekEnv) && *std::getenv(kKekEnv);
  Kek target;
  const std::string pending_path = dir + "/audit_kek.key.new";
  if (from_env) {
    const char* next = std::getenv(kNewKekEnv);
    if (!next || !*next) {
      return FailedPrecondition(std::string("the KEK comes from ") + kKekEnv + "; put the new key (64 hex digits) in " +
                                kNewKekEnv + " to rotate");
    }
    std::string raw;
    if (!HexDecode(Trim(next), &raw) || raw.size() != 32) {
      return InvalidArgument(std::string(kNewKekEnv) + " must be 64 hex digits");
    }
    target = MakeKek(std::move(raw));
  } else {
    // Resume an interrupted rotation with its key, else make a new one.
    STEWARD_ASSIGN_OR_RETURN(std::string raw, LoadOrCreateKeyFile(pending_path, 32, true));
    target = MakeKek(std::move(raw));
  }
  std::vector<Kek> all = {target};
  for (auto& k : old_keks) all.push_back(k);
  PayloadSealer unwrapper(all);
  PayloadSealer wrapper({target});
  {
    STEWARD_ASSIGN_OR_RETURN(auto tx, db->Begin());
    STEWARD_ASSIGN_OR_RETURN(
        auto rows, tx->Query("SELECT subject, wrapped_key, kek_id FROM audit_subject_keys "
                             "WHERE wrapped_key IS NOT NULL"));
    for (const Row& r : rows) {
      const std::string subject = r.Text(0);
      STEWARD_ASSIGN_OR_RETURN(std::string dk, unwrapper.UnwrapDataKey(subject, r.Text(1), r.Text(2)));
      STEWARD_RETURN_IF_ERROR(tx->Exec(
          "UPDATE audit_subject_keys SET wrapped_key = $1, kek_id = $2 WHERE subject = $3",
          {Blob{wrapper.WrapDataKey(subject, dk)}, target.id, subject}));
      sodium_memzero(dk.data(), dk.size());
    }
    STEWARD_RETURN_IF_ERROR(tx->Commit());
  }
  if (!from_env) {
    STEWARD_RETURN_IF_ERROR(WriteKeyFile(dir + "/audit_kek.key", target.key));
    std::filesystem::remove(pending_path);
  }
  {
    // A running gateway may have wrapped a new subject's key with the old
    // KEK between our transaction and the file swap: re-wrap stragglers.
    STEWARD_ASSIGN_OR_RETURN(auto tx, db->Begin());
    STEWARD_ASSIGN_OR_RETURN(
        auto rows, tx->Query("SELECT subject, wrapped_key, kek_id FROM audit_subject_keys "
                             "WHERE wrapped_key IS NOT NULL AND kek_id <> $1",
                             {target.id}));
    for (const Row& r : rows) {
      const std::string subject = r.Text(0);
      STEWARD_ASSIGN_OR_RETURN(std::string dk, unwrapper.UnwrapDataKey(subject, r.Text(1), r.Text(2)));
      STEWARD_RETURN_IF_ERROR(tx->Exec(
          "UPDATE audit_subject_keys SET wrapped_key = $1, kek_id = $2 WHERE subject = $3",
          {Blob{wrapper.WrapDataKey(subject, dk)}, target.id, subject}));
      sodium_memzero(dk.data(), dk.size());
    }
    STEWARD_RETURN_IF_ERROR(tx->Commit());
  }
  boost::json::object details;
  details["kek_id"] = target.id;
  details["source"] = from_env ? "env" : "file";
  auto idx = AppendAdminRecord(*db, "keys.rotate_kek", "cli", target.id, details, "",
                               SystemClock::Instance().NowUnixMs());
  return idx.ok() ? Status::Ok() : idx.status();
}

}  // namespace steward::audit
