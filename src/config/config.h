// The gateway configuration: YAML, every key optional except what SPEC's
// minimal config shows; unknown core keys are rejected at load with
// file:line:col so a typo never silently changes behaviour.
//
// Each module reads its own section from `root` (e.g. root["audit"]) and
// reports problems through ErrorAt(), which names the file and line.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <string>
#include <vector>

#include "steward/status.h"

namespace steward::config {

struct HostPort {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::string ToString() const { return host + ":" + std::to_string(port); }
};

struct BreakerConfig {
  int failure_threshold = 5;      // consecutive failures that open the circuit
  int64_t open_ms = 10'000;       // how long it stays open before a probe
  int half_open_probes = 1;       // concurrent probes allowed when half-open
};

struct UpstreamConfig {
  std::string name;
  std::string url;        // as written
  std::string scheme;     // "http" | "https"
  std::string host;
  uint16_t port = 80;
  std::string base_path;  // "" or "/prefix" (no trailing slash); requests go to base_path + "/v1/..."
  std::vector<std::string> models;  // "*" matches any
  int64_t connect_timeout_ms = 2'000;
  int64_t request_timeout_ms = 120'000;  // whole non-streamed reply / gap between stream chunks
  int max_connections = 256;             // per worker thread
  int connect_retries = 2;
  BreakerConfig breaker;
  std::string fallback_model;            // used when this upstream's circuit is open
  std::string api_key;                   // sent upstream as Bearer, if set
};

struct ServerConfig {
  HostPort listen{"127.0.0.1", 8080};
  HostPort admin_listen{"127.0.0.1", 8081};
  int workers = 0;                        // 0: one per core
  uint64_t max_body_bytes = 8ull << 20;   // 8 MiB
  int64_t header_timeout_ms = 10'000;     // whole request head + body must arrive within
  int64_t idle_timeout_ms = 60'000;       // keep-alive idle
  std::string tls_cert;                   // PEM paths; both set: HTTPS on `listen`
  std::string tls_key;
  std::string access_log = "";            // "" = data_dir/access.log, "-" = stdout, "off"
};

struct Config {
  std::string path;       // file it came from, or "<embedded default>"
  YAML::Node root;
  ServerConfig server;
  std::string data_dir = "./var";
  std::string store_url;  // default: sqlite:<data_dir>/steward.db
  std::vector<UpstreamConfig> upstreams;
  std::vector<std::string> pipeline;  // stage names in order
};

// The stage order used when the config has no `pipeline:` key. Stages not
// built into this binary are skipped.
const std::vector<std::string>& DefaultPipeline();

// The default configuration `steward serve` runs with when given no file.
std::string_view EmbeddedDefaultConfig();

Result<Config> LoadConfigFile(const std::string& path);
Result<Config> LoadConfigString(const std::string& yaml, const std::string& name);

// Resolves the --config option: the given path, else ./steward.yaml if it
// exists, else the embedded default.
Result<Config> LoadConfigForCli(const std::string& path_option);

// "FILE:LINE:COL: message" for a node of `config` (1-based line/col).
Status ErrorAt(const Config& config, const YAML::Node& node, const std::string& message);
Status ErrorAt(const std::string& file, const YAML::Node& node, const std::string& message);

// Typed reads with errors naming the location: `node[key]` must be absent or
// of the type; absent returns `fallback`.
Result<std::string> GetString(const std::string& file, const YAML::Node& node, const char* key, std::string fallback);
Result<int64_t> GetInt(const std::string& file, const YAML::Node& node, const char* key, int64_t fallback);
Result<double> GetDouble(const std::string& file, const YAML::Node& node, const char* key, double fallback);
Result<bool> GetBool(const std::string& file, const YAML::Node& node, const char* key, bool fallback);
Result<std::vector<std::string>> GetStringList(const std::string& file, const YAML::Node& node, const char* key, std::vector<std::string> fallback);

Result<HostPort> ParseHostPort(const std::string& text);

// Creates data_dir (mode 0700) if needed.
Status EnsureDataDir(const Config& config);

}  // namespace steward::config
