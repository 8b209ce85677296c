#include "registry/signing.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>

#include "common/strings.h"
#include "registry/testing/model_files.h"

namespace steward::registry {
namespace {

TEST(SigningTest, SignAndVerifyRoundTripAndKeyPersistence) {
  std::string dir = testing::MakeTempDir("steward-sign");
  auto key = LoadSigningKey(dir + "/k/signing.key", true);
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  std::string msg = ManifestSigningMessage("m", "1", std::string(64, 'a'));
  std::string sig = SignMessage(*key, msg);
  EXPECT_TRUE(VerifyMessage(key->public_key, msg, sig));
  EXPECT_FALSE(
      VerifyMessage(key->public_key, ManifestSigningMessage("m", "2", std::string(64, 'a')), sig));
  sig[0] ^= 1;
  EXPECT_FALSE(VerifyMessage(key->public_key, msg, sig));
  auto again = LoadSigningKey(dir + "/k/signing.key", false);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->public_key, key->public_key);
  EXPECT_EQ(std::filesystem::status(dir + "/k/signing.key").permissions() &
                std::filesystem::perms::group_read,
            std::filesystem::perms::none);
  EXPECT_FALSE(LoadSigningKey(dir + "/missing.key", false).ok());
  std::filesystem::remove_all(dir);
}

std::string Statement(const std::vector<FileDigest>& files, const std::string& subject) {
  boost::json::array resources;
  for (const auto& f : files) {
    resources.push_back({{"name", f.path}, {"algorithm", "sha256"}, {"digest", f.sha256_hex}});
  }
  boost::json::object st{
      {"_type", "https://in-toto.io/Statement/v1"},
      {"subject", boost::json::array{{{"name", "m"}, {"digest", {{"sha256", subject}}}}}},
      {"predicateType", "https://model_signing/signature/v1.0"},
      {"predicate",
       {{"serialization", {{"method", "files"}, {"hash_type", "sha256"}}},
        {"resources", resources}}}};
  return boost::json::serialize(st);
}

TEST(SigningTest, InTotoStatementDigestsMustMatch) {
  std::vector<FileDigest> files{{"a.bin", 1, Sha256Hex("a")}, {"b.bin", 1, Sha256Hex("b")}};
  std::string manifest = ManifestDigest(files);
  // Bare statement and the same inside a Sigstore bundle's DSSE envelope.
  for (bool bundled : {false, true}) {
    std::string text = Statement(files, manifest);
    if (bundled) {
      boost::json::object bundle{
          {"mediaType", "application/vnd.dev.sigstore.bundle.v0.3+json"},
          {"dsseEnvelope",
           {{"payload", Base64Encode(text)}, {"payloadType", "application/vnd.in-toto+json"}}}};
      text = boost::json::serialize(bundle);
    }
    auto ok = CheckInTotoStatement(text, files, manifest);
    ASSERT_TRUE(ok.ok()) << ok.status().ToString();
    EXPECT_TRUE(ok->ok()) << (ok->problems.empty() ? "" : ok->problems[0]);
  }
  std::vector<FileDigest> changed = files;
  changed[1].sha256_hex = Sha256Hex("B");
  auto bad = CheckInTotoStatement(Statement(files, manifest), changed, ManifestDigest(changed));
  ASSERT_TRUE(bad.ok());
  EXPECT_FALSE(bad->ok());
  std::vector<FileDigest> extra = files;
  extra.push_back({"c.bin", 1, Sha256Hex("c")});
  auto uncovered = CheckInTotoStatement(Statement(files, manifest), extra, ManifestDigest(extra));
  ASSERT_TRUE(uncovered.ok());
  EXPECT_FALSE(uncovered->ok());
  EXPECT_FALSE(CheckInTotoStatement("[]", files, manifest).ok());
  EXPECT_FALSE(CheckInTotoStatement("{\"_type\":\"x\"}", files, manifest).ok());
}

}  // namespace
}  // namespace steward::registry
