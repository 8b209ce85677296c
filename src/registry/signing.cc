#include "registry/signing.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "common/key_file.h"
#include "common/strings.h"

namespace steward::registry {
namespace {

namespace json = boost::json;

Status EnsureSodium() {
  if (sodium_init() < 0) return Internal("libsodium initialisation failed");
  return Status::Ok();
}

}  // namespace

std::string ManifestSigningMessage(const std::string& name, const std::string& version,
                                   const std::string& manifest_digest_hex) {
  return "steward-model-v1\n" + name + "\n" + version + "\n" + manifest_digest_hex + "\n";
}

Result<SigningKey> LoadSigningKey(const std::string& path, bool create) {
  STEWARD_RETURN_IF_ERROR(EnsureSodium());
  const auto read = [&](std::ifstream& in) -> Result<SigningKey> {
    std::string b64;
    std::getline(in, b64);
    std::string raw;
    if (!Base64Decode(std::string(Trim(b64)), &raw) || raw.size() != crypto_sign_SECRETKEYBYTES) {
      return InvalidArgument("signing key " + path + " is not a base64 Ed25519 secret key");
    }
    SigningKey key;
    key.secret_key = raw;
    key.public_key.resize(crypto_sign_PUBLICKEYBYTES);
    crypto_sign_ed25519_sk_to_pk(reinterpret_cast<unsigned char*>(key.public_key.data()),
                                 reinterpret_cast<const unsigned char*>(raw.data()));
    return key;
  };
  if (std::ifstream in(path); in) return read(in);
  if (!create) return NotFound("signing key " + path + " does not exist");
  SigningKey key;
  key.public_key.resize(crypto_sign_PUBLICKEYBYTES);
  key.secret_key.resize(crypto_sign_SECRETKEYBYTES);
  crypto_sign_keypair(reinterpret_cast<unsigned char*>(key.public_key.data()),
                      reinterpret_cast<unsigned char*>(key.secret_key.data()));
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  auto created = PublishNewFile(path, Base64Encode(key.secret_key) + "\n");
  if (!created.ok()) return created.status().WithContext("cannot create signing key");
  if (*created) return key;
  // Another process created it first: use theirs.
  std::ifstream theirs(path);
  if (!theirs) return Unavailable("cannot read signing key " + path);
  return read(theirs);
}

std::string SignMessage(const SigningKey& key, const std::string& message) {
  std::string sig(crypto_sign_BYTES, '\0');
  crypto_sign_detached(reinterpret_cast<unsigned char*>(sig.data()), nullptr,
                       reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                       reinterpret_cast<const unsigned char*>(key.secret_key.data()));
  return sig;
}

bool VerifyMessage(const std::string& public_key, const std::string& message,
                   const std::string& signature) {
  if (!EnsureSodium().ok()) return false;
  if (public_key.size() != crypto_sign_PUBLICKEYBYTES || signature.size() != crypto_sign_BYTES) {
    return false;
  }
  return crypto_sign_verify_detached(
             reinterpret_cast<const unsigned char*>(signature.data()),
             reinterpret_cast<const unsigned char*>(message.data()), message.size(),
             reinterpret_cast<const unsigned char*>(public_key.data())) == 0;
}

Result<InTotoResult> CheckInTotoStatement(const std::string& text,
                                          const std::vector<FileDigest>& files,
                                          const std::string& manifest_digest) {
  boost::system::error_code ec;
  json::parse_options opts;
  opts.max_depth = 32;
  json::value doc = json::parse(text, ec, {}, opts);
  if (ec || !doc.is_object()) return InvalidArgument("signature file is not a JSON object");
  const json::object* statement = &doc.get_object();
  json::value payload_doc;
  if (const json::value* env = statement->if_contains("dsseEnvelope")) {
    const json::value* payload =
        env->is_object() ? env->get_object().if_contains("payload") : nullptr;
    std::string decoded;
    if (!payload || !payload->is_string() ||
        !Base64Decode(std::string(payload->get_string()), &decoded)) {
      return InvalidArgument("signature bundle has no base64 dsseEnvelope.payload");
    }
    payload_doc = json::parse(decoded, ec, {}, opts);
    if (ec || !payload_doc.is_object()) {
      return InvalidArgument("dsseEnvelope.payload is not an in-toto statement");
    }
    statement = &payload_doc.get_object();
  }
  InTotoResult result;
  const json::value* type = statement->if_contains("_type");
  if (!type || !type->is_string() ||
      std::string(type->get_string()).rfind("https://in-toto.io/Statement/", 0) != 0) {
    return InvalidArgument("not an in-toto statement (_type)");
  }
  const json::value* predicate_type = statement->if_contains("predicateType");
  if (!predicate_type || !predicate_type->is_string() ||
      std::string(predicate_type->get_string()).find("model_signing") == std::string::npos) {
    result.problems.push_back("predicateType is not a model-signing predicate");
  }
  const json::value* subject = statement->if_contains("subject");
  if (subject && subject->is_array() && !subject->get_array().empty() &&
      subject->get_array()[0].is_object()) {
    const json::object& s = subject->get_array()[0].get_object();
    if (const json::value* n = s.if_contains("name"); n && n->is_string()) {
      result.subject_name = std::string(n->get_string());
    }
    if (const json::value* d = s.if_contains("digest"); d && d->is_object()) {
      if (const json::value* h = d->get_object().if_contains("sha256"); h && h->is_string()) {
        result.subject_digest = ToLower(std::string(h->get_string()));
      }
    }
  }
  if (result.subject_digest.empty()) {
    result.problems.push_back("statement has no subject sha256 digest");
  } else if (result.subject_digest != manifest_digest) {
    result.problems.push_back("subject digest " + result.subject_digest +
                              " differs from the manifest digest " + manifest_digest);
  }
  const json::value* predicate = statement->if_contains("predicate");
  const json::object* pred =
      predicate && predicate->is_object() ? &predicate->get_object() : nullptr;
  if (pred) {
    if (const json::value* ser = pred->if_contains("serialization"); ser && ser->is_object()) {
      const json::value* method = ser->get_object().if_contains("method");
      if (method && method->is_string() && method->get_string() != "files") {
        result.problems.push_back("serialization method `" + std::string(method->get_string()) +
                                  "` is not supported (only `files`)");
      }
    }
  }
  const json::value* resources = pred ? pred->if_contains("resources") : nullptr;
  if (!resources || !resources->is_array()) {
    result.problems.push_back("statement has no predicate.resources");
    return result;
  }
  std::map<std::string, std::string> ours;
  for (const auto& f : files) ours[f.path] = f.sha256_hex;
  std::vector<FileDigest> theirs;
  for (const auto& r : resources->get_array()) {
    if (!r.is_object()) continue;
    const json::object& o = r.get_object();
    const json::value* name = o.if_contains("name");
    const json::value* digest = o.if_contains("digest");
    const json::value* alg = o.if_contains("algorithm");
    if (!name || !name->is_string() || !digest || !digest->is_string()) {
      result.problems.push_back("a resource lacks name or digest");
      continue;
    }
    std::string n(name->get_string());
    std::string d = ToLower(std::string(digest->get_string()));
    if (alg && alg->is_string() && alg->get_string() != "sha256") {
      result.problems.push_back(n + ": algorithm " + std::string(alg->get_string()) +
                                " is not sha256");
      continue;
    }
    theirs.push_back({n, 0, d});
    auto it = ours.find(n);
    if (it == ours.end()) {
      result.problems.push_back(n + ": in the statement but not among the model files");
    } else {
      if (it->second != d) result.problems.push_back(n + ": digest differs from the file");
      ours.erase(it);
    }
  }
  for (const auto& [path, digest] : ours) {
    result.problems.push_back(path + ": model file not covered by the statement");
  }
  if (!result.subject_digest.empty() && ManifestDigest(theirs) != result.subject_digest) {
    result.problems.push_back("subject digest does not match the statement's own resources");
  }
  return result;
}

std::string FindModelSignatureFile(const std::string& model_path) {
  std::error_code ec;
  std::filesystem::path p(model_path);
  std::filesystem::path candidate = std::filesystem::is_directory(p, ec)
                                        ? p / "model.sig"
                                        : std::filesystem::path(model_path + ".sig");
  return std::filesystem::is_regular_file(candidate, ec) ? candidate.string() : "";
}

}  // namespace steward::registry
