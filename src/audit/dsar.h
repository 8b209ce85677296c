// Data-subject access and erasure, and KEK rotation.
//
// A subject is named by its raw id (the OpenAI `user` / x-steward-subject
// value); the log only ever holds its keyed-hash pseudonym.
#pragma once

#include <boost/json.hpp>
#include <string>

#include "audit/options.h"
#include "config/config.h"
#include "steward/clock.h"
#include "steward/store.h"

namespace steward::audit {

// Every record of the subject with its inclusion proof (against the current
// tree size) and its decrypted payloads; payloads of an erased subject say
// {"status":"erased"}, payloads past retention {"status":"expired"}.
Result<boost::json::object> DsarExport(Database& db, const std::string& data_dir,
                                       const std::string& subject);

// One call's prompt as a reviewer reads it (src/review: a held call's
// prompt), found by the call's request id.
struct CallPrompt {
  int64_t audit_index = -1;  // the call's audit record
  std::string subject;       // the record's subject pseudonym, "" for none
  // "available" (text set), "erased" (the subject's key was destroyed),
  // "expired" (shredded by retention), "not_recorded" (the record kept no
  // prompt payload: payloads off/hashes only), "unavailable" (no data key),
  // "corrupt" (error set).
  std::string status;
  std::string text;
  std::string error;
};
// Finds the "request" record of `request_id` among the records written at
// or after `not_before_ms` (its time_ms; the scan runs from the newest
// record back and stops there, so a recent call costs only the records
// appended since) and decrypts its prompt with the subject's data key.
// NotFound when no such record exists. Callers that show the text must
// record the read (an admin record) first: reading a prompt is data access.
Result<CallPrompt> ReadCallPrompt(Database& db, const std::string& data_dir,
                                  const std::string& request_id, int64_t not_before_ms);

struct EraseResult {
  std::string pseudonym;
  int64_t erasure_index = -1;  // leaf index of the erasure record
  bool already_erased = false;
};
// Destroys the subject's data key (crypto-shredding) and appends a
// "dsar.erase" record. Records, hashes and proofs stay valid.
Result<EraseResult> DsarErase(Database& db, const std::string& data_dir,
                              const std::string& subject, const std::string& actor, Clock& clock);

// Appends an admin record; `subject` (a pseudonym, may be empty) files it
// under that data subject for DSAR exports.
Result<int64_t> AppendAdminRecord(Database& db, const std::string& action,
                                  const std::string& actor, const std::string& target,
                                  const boost::json::object& details, const std::string& subject,
                                  int64_t now_ms);

}  // namespace steward::audit

namespace steward::audit {
// Re-wraps every subject data key under a new KEK without touching a payload.
// With the key file: the new key is written to audit_kek.key.new, keys are
// re-wrapped in one transaction, then the file replaces audit_kek.key (an
// interrupted rotation resumes with the same new key). With STEWARD_AUDIT_KEK
// in the environment, STEWARD_AUDIT_KEK_NEW must hold the new key; switch the
// variables afterwards.
Status RotateKek(const config::Config& config);
}  // namespace steward::audit
