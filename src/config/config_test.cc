#include "config/config.h"

#include <gtest/gtest.h>

namespace steward::config {
namespace {

TEST(ConfigTest, SpecMinimalConfigLoads) {
  auto c = LoadConfigString(R"(listen: 127.0.0.1:8080
admin_listen: 127.0.0.1:8081
data_dir: ./var
upstreams:
  - name: local
    url: http://127.0.0.1:9000
    models: ["*"]
registry:
  enforce: true
audit:
  payloads: full
  payload_retention_days: 30
)", "min.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->server.listen.port, 8080);
  ASSERT_EQ(c->upstreams.size(), 1u);
  EXPECT_EQ(c->upstreams[0].host, "127.0.0.1");
  EXPECT_EQ(c->upstreams[0].port, 9000);
  EXPECT_EQ(c->store_url, "sqlite:./var/steward.db");
  EXPECT_EQ(c->pipeline, DefaultPipeline());
}

TEST(ConfigTest, EmbeddedDefaultLoads) {
  auto c = LoadConfigString(std::string(EmbeddedDefaultConfig()), "<embedded>");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
}

TEST(ConfigTest, ErrorsNameFileLineAndColumn) {
  auto c = LoadConfigString("listen: 127.0.0.1:8080\nupstreams:\n  - name: a\n    url: ftp://x\n", "bad.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message().rfind("bad.yaml:4:10:", 0), 0u) << c.status().message();

  auto typo = LoadConfigString("listne: 1\n", "typo.yaml");
  ASSERT_FALSE(typo.ok());
  EXPECT_NE(typo.status().message().find("typo.yaml:1:1: unknown config key `listne`"), std::string::npos);

  auto type = LoadConfigString("server:\n  workers: lots\n", "t.yaml");
  ASSERT_FALSE(type.ok());
  EXPECT_NE(type.status().message().find("t.yaml:2:12: `workers` must be an integer"), std::string::npos) << type.status().message();

  auto syntax = LoadConfigString("a: [1, 2\n", "s.yaml");
  ASSERT_FALSE(syntax.ok());
  EXPECT_EQ(syntax.status().message().rfind("s.yaml:", 0), 0u);
}

// Found by config_fuzzer: a complex key made a string conversion throw.
TEST(ConfigTest, ComplexKeysAreRefusedAnywhere) {
  auto top = LoadConfigString("? U:\n", "k.yaml");
  ASSERT_FALSE(top.ok());
  EXPECT_NE(top.status().message().find("config keys must be plain names"), std::string::npos)
      << top.status().message();
  auto nested = LoadConfigString("scan:\n  entities:\n    ? [a, b]\n    : block\n", "n.yaml");
  ASSERT_FALSE(nested.ok());
  EXPECT_EQ(nested.status().message().rfind("n.yaml:3:", 0), 0u) << nested.status().message();
}

TEST(ConfigTest, UpstreamUrlWithV1SuffixAndDefaults) {
  auto c = LoadConfigString("upstreams:\n  - name: a\n    url: https://example.internal/v1/\n", "u.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->upstreams[0].port, 443);
  EXPECT_EQ(c->upstreams[0].base_path, "");
  EXPECT_EQ(c->upstreams[0].models, std::vector<std::string>{"*"});
}

}  // namespace
}  // namespace steward::config
