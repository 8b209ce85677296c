#include "config/config.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace steward::config {
namespace {

constexpr std::string_view kEmbeddedDefault = R"(# Steward's embedded default configuration.
listen: 127.0.0.1:8080
admin_listen: 127.0.0.1:8081
data_dir: ./var
upstreams:
  - name: local
    url: http://127.0.0.1:9000
    models: ["*"]
registry:
  enforce: false
audit:
  payloads: full
  payload_retention_days: 30
)";

// Core keys this module reads; other top-level keys belong to modules that
// validate their own sections. Listed so a typo at the top level is caught.
const std::set<std::string>& KnownTopLevelKeys() {
  static const std::set<std::string> keys = {
      "listen", "admin_listen", "data_dir", "store", "upstreams", "pipeline", "server",
      "registry", "audit", "policy", "scan", "injection", "limits", "review", "drift", "eval",
      "deployment", "stages", "redis", "alerts", "metrics", "access_log", "tls", "workers",
      "licenses", "keys", "retention", "dashboard", "cluster"};
  return keys;
}

std::string Where(const std::string& file, const YAML::Node& node) {
  YAML::Mark m = node.Mark();
  if (m.line < 0) return file;
  return file + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

template <typename T>
Result<T> GetScalar(const std::string& file, const YAML::Node& node, const char* key, T fallback,
                    const char* type_name) {
  if (!node || !node.IsMap()) return fallback;
  YAML::Node v = node[key];
  if (!v || v.IsNull()) return fallback;
  if (!v.IsScalar()) return ErrorAt(file, v, std::string("`") + key + "` must be " + type_name);
  try {
    return v.as<T>();
  } catch (const YAML::Exception&) {
    return ErrorAt(file, v, std::string("`") + key + "` must be " + type_name + ", got `" +
                                v.Scalar() + "`");
  }
}

Status ParseUrl(const std::string& file, const YAML::Node& node, UpstreamConfig* u) {
  std::string url = u->url;
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return ErrorAt(file, node, "upstream url `" + url + "` needs a scheme (http:// or https://)");
  u->scheme = url.substr(0, scheme_end);
  if (u->scheme != "http" && u->scheme != "https") return ErrorAt(file, node, "upstream url scheme must be http or https, got `" + u->scheme + "`");
  std::string rest = url.substr(scheme_end + 3);
  size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  std::string path = slash == std::string::npos ? "" : rest.substr(slash);
  while (!path.empty() && path.back() == '/') path.pop_back();
  // A base URL ending in /v1 (as OpenAI clients are configured) is accepted.
  if (path.size() >= 3 && path.compare(path.size() - 3, 3, "/v1") == 0) path.resize(path.size() - 3);
  u->base_path = path;
  size_t colon = authority.rfind(':');
  if (colon != std::string::npos && authority.find(']') == std::string::npos) {
    u->host = authority.substr(0, colon);
    std::string port = authority.substr(colon + 1);
    char* end = nullptr;
    long p = std::strtol(port.c_str(), &end, 10);
    if (port.empty() || *end || p <= 0 || p > 65535) return ErrorAt(file, node, "upstream url `" + url + "` has an invalid port");
    u->port = static_cast<uint16_t>(p);
  } else {
    u->host = authority;
    u->port = u->scheme == "https" ? 443 : 80;
  }
  if (u->host.empty()) return ErrorAt(file, node, "upstream url `" + url + "` has no host");
  return Status::Ok();
}

Result<Config> Parse(YAML::Node root, const std::string& name) {
  Config c;
  c.path = name;
  c.root = root;
  if (!root || root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  if (!root.IsMap()) return ErrorAt(name, root, "the config must be a YAML mapping");
  for (auto it = root.begin(); it != root.end(); ++it) {
    std::string key = it->first.as<std::string>();
    if (!KnownTopLevelKeys().count(key)) return ErrorAt(name, it->first, "unknown config key `" + key + "`");
  }

  STEWARD_ASSIGN_OR_RETURN(std::string listen, GetString(name, root, "listen", c.server.listen.ToString()));
  auto hp = ParseHostPort(listen);
  if (!hp.ok()) return ErrorAt(name, root["listen"], hp.status().message());
  c.server.listen = *hp;
  STEWARD_ASSIGN_OR_RETURN(std::string admin, GetString(name, root, "admin_listen", c.server.admin_listen.ToString()));
  hp = ParseHostPort(admin);
  if (!hp.ok()) return ErrorAt(name, root["admin_listen"], hp.status().message());
  c.server.admin_listen = *hp;
  STEWARD_ASSIGN_OR_RETURN(c.data_dir, GetString(name, root, "data_dir", c.data_dir));
  STEWARD_ASSIGN_OR_RETURN(c.store_url, GetString(name, root, "store", ""));
  if (c.store_url.empty()) c.store_url = "sqlite:" + c.data_dir + "/steward.db";

  YAML::Node server = root["server"];
  if (server && !server.IsMap()) return ErrorAt(name, server, "`server` must be a mapping");
  STEWARD_ASSIGN_OR_RETURN(int64_t workers, GetInt(name, server, "workers", 0));
  if (workers < 0 || workers > 256) return ErrorAt(name, server["workers"], "`workers` must be 0..256");
  c.server.workers = static_cast<int>(workers);
  STEWARD_ASSIGN_OR_RETURN(int64_t max_body, GetInt(name, server, "max_body_bytes", static_cast<int64_t>(c.server.max_body_bytes)));
  if (max_body <= 0) return ErrorAt(name, server["max_body_bytes"], "`max_body_bytes` must be positive");
  c.server.max_body_bytes = static_cast<uint64_t>(max_body);
  STEWARD_ASSIGN_OR_RETURN(c.server.header_timeout_ms, GetInt(name, server, "header_timeout_ms", c.server.header_timeout_ms));
  STEWARD_ASSIGN_OR_RETURN(c.server.idle_timeout_ms, GetInt(name, server, "idle_timeout_ms", c.server.idle_timeout_ms));
  STEWARD_ASSIGN_OR_RETURN(c.server.tls_cert, GetString(name, server, "tls_cert", ""));
  STEWARD_ASSIGN_OR_RETURN(c.server.tls_key, GetString(name, server, "tls_key", ""));
  if (c.server.tls_cert.empty() != c.server.tls_key.empty()) return ErrorAt(name, server, "`tls_cert` and `tls_key` must be set together");
  STEWARD_ASSIGN_OR_RETURN(c.server.access_log, GetString(name, server, "access_log", ""));

  YAML::Node ups = root["upstreams"];
  if (ups && !ups.IsSequence()) return ErrorAt(name, ups, "`upstreams` must be a list");
  std::set<std::string> names;
  for (size_t i = 0; ups && i < ups.size(); ++i) {
    YAML::Node u = ups[i];
    if (!u.IsMap()) return ErrorAt(name, u, "each upstream must be a mapping");
    UpstreamConfig uc;
    STEWARD_ASSIGN_OR_RETURN(uc.name, GetString(name, u, "name", "upstream" + std::to_string(i)));
    if (!names.insert(uc.name).second) return ErrorAt(name, u, "duplicate upstream name `" + uc.name + "`");
    STEWARD_ASSIGN_OR_RETURN(uc.url, GetString(name, u, "url", ""));
    if (uc.url.empty()) return ErrorAt(name, u, "upstream `" + uc.name + "` needs a `url`");
    STEWARD_RETURN_IF_ERROR(ParseUrl(name, u["url"], &uc));
    STEWARD_ASSIGN_OR_RETURN(uc.models, GetStringList(name, u, "models", {"*"}));
    STEWARD_ASSIGN_OR_RETURN(uc.connect_timeout_ms, GetInt(name, u, "connect_timeout_ms", uc.connect_timeout_ms));
    STEWARD_ASSIGN_OR_RETURN(uc.request_timeout_ms, GetInt(name, u, "timeout_ms", uc.request_timeout_ms));
    STEWARD_ASSIGN_OR_RETURN(int64_t maxc, GetInt(name, u, "max_connections", uc.max_connections));
    if (maxc <= 0) return ErrorAt(name, u["max_connections"], "`max_connections` must be positive");
    uc.max_connections = static_cast<int>(maxc);
    STEWARD_ASSIGN_OR_RETURN(int64_t retries, GetInt(name, u, "connect_retries", uc.connect_retries));
    if (retries < 0 || retries > 10) return ErrorAt(name, u["connect_retries"], "`connect_retries` must be 0..10");
    uc.connect_retries = static_cast<int>(retries);
    STEWARD_ASSIGN_OR_RETURN(uc.fallback_model, GetString(name, u, "fallback_model", ""));
    STEWARD_ASSIGN_OR_RETURN(uc.api_key, GetString(name, u, "api_key", ""));
    YAML::Node b = u["breaker"];
    STEWARD_ASSIGN_OR_RETURN(int64_t thr, GetInt(name, b, "failure_threshold", uc.breaker.failure_threshold));
    if (thr <= 0) return ErrorAt(name, b["failure_threshold"], "`failure_threshold` must be positive");
    uc.breaker.failure_threshold = static_cast<int>(thr);
    STEWARD_ASSIGN_OR_RETURN(uc.breaker.open_ms, GetInt(name, b, "open_ms", uc.breaker.open_ms));
    STEWARD_ASSIGN_OR_RETURN(int64_t probes, GetInt(name, b, "half_open_probes", uc.breaker.half_open_probes));
    uc.breaker.half_open_probes = static_cast<int>(std::max<int64_t>(1, probes));
    c.upstreams.push_back(std::move(uc));
  }

  STEWARD_ASSIGN_OR_RETURN(c.pipeline, GetStringList(name, root, "pipeline", DefaultPipeline()));
  return c;
}

}  // namespace

const std::vector<std::string>& DefaultPipeline() {
  // audit first: its OnFinish runs last and sees every outcome, including
  // refusals by later stages.
  static const std::vector<std::string> order = {
      "audit", "auth", "rate_limit", "route", "registry", "scan_input", "injection",
      "policy", "review", "scan_output"};
  return order;
}

std::string_view EmbeddedDefaultConfig() { return kEmbeddedDefault; }

namespace {
// Every module reads its section's keys as strings; a complex key (`? {a: b}`)
// is refused here once, so none of them has to guard against it.
Status CheckKeysAreScalars(const std::string& name, const YAML::Node& node, int depth = 0) {
  if (depth > 64) return ErrorAt(name, node, "the config nests deeper than 64 levels");
  if (node.IsMap()) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (!it->first.IsScalar()) return ErrorAt(name, it->first, "config keys must be plain names, not collections");
      STEWARD_RETURN_IF_ERROR(CheckKeysAreScalars(name, it->second, depth + 1));
    }
  } else if (node.IsSequence()) {
    for (const auto& item : node) STEWARD_RETURN_IF_ERROR(CheckKeysAreScalars(name, item, depth + 1));
  }
  return Status::Ok();
}
}  // namespace

Result<Config> LoadConfigString(const std::string& yaml, const std::string& name) {
  auto yaml_error = [&](const YAML::Exception& e) {
    return InvalidArgument(name + ":" + std::to_string(e.mark.line + 1) + ":" +
                           std::to_string(e.mark.column + 1) + ": " + e.msg);
  };
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    return yaml_error(e);
  }
  // Conversions below throw on shapes the checks did not foresee; that is a
  // bad config, never a crash.
  try {
    STEWARD_RETURN_IF_ERROR(CheckKeysAreScalars(name, root));
    return Parse(root, name);
  } catch (const YAML::Exception& e) {
    return yaml_error(e);
  }
}

Result<Config> LoadConfigFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return InvalidArgument("cannot read config file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return LoadConfigString(ss.str(), path);
}

Result<Config> LoadConfigForCli(const std::string& path_option) {
  if (!path_option.empty()) return LoadConfigFile(path_option);
  if (std::filesystem::exists("steward.yaml")) return LoadConfigFile("steward.yaml");
  return LoadConfigString(std::string(EmbeddedDefaultConfig()), "<embedded default>");
}

Status ErrorAt(const std::string& file, const YAML::Node& node, const std::string& message) {
  return InvalidArgument(Where(file, node) + ": " + message);
}

Status ErrorAt(const Config& config, const YAML::Node& node, const std::string& message) {
  return ErrorAt(config.path, node, message);
}

Result<std::string> GetString(const std::string& file, const YAML::Node& node, const char* key, std::string fallback) {
  return GetScalar<std::string>(file, node, key, std::move(fallback), "a string");
}
Result<int64_t> GetInt(const std::string& file, const YAML::Node& node, const char* key, int64_t fallback) {
  return GetScalar<int64_t>(file, node, key, fallback, "an integer");
}
Result<double> GetDouble(const std::string& file, const YAML::Node& node, const char* key, double fallback) {
  return GetScalar<double>(file, node, key, fallback, "a number");
}
Result<bool> GetBool(const std::string& file, const YAML::Node& node, const char* key, bool fallback) {
  return GetScalar<bool>(file, node, key, fallback, "true or false");
}

Result<std::vector<std::string>> GetStringList(const std::string& file, const YAML::Node& node, const char* key, std::vector<std::string> fallback) {
  if (!node || !node.IsMap()) return fallback;
  YAML::Node v = node[key];
  if (!v || v.IsNull()) return fallback;
  if (v.IsScalar()) return std::vector<std::string>{v.Scalar()};
  if (!v.IsSequence()) return ErrorAt(file, v, std::string("`") + key + "` must be a list of strings");
  std::vector<std::string> out;
  for (const auto& item : v) {
    if (!item.IsScalar()) return ErrorAt(file, item, std::string("`") + key + "` must be a list of strings");
    out.push_back(item.Scalar());
  }
  return out;
}

Result<HostPort> ParseHostPort(const std::string& text) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos) return InvalidArgument("`" + text + "` must be HOST:PORT");
  HostPort hp;
  hp.host = text.substr(0, colon);
  if (hp.host.size() >= 2 && hp.host.front() == '[' && hp.host.back() == ']') hp.host = hp.host.substr(1, hp.host.size() - 2);
  if (hp.host.empty()) hp.host = "0.0.0.0";
  std::string port = text.substr(colon + 1);
  char* end = nullptr;
  long p = std::strtol(port.c_str(), &end, 10);
  if (port.empty() || *end || p < 0 || p > 65535) return InvalidArgument("`" + text + "` has an invalid port");
  hp.port = static_cast<uint16_t>(p);
  return hp;
}

Status EnsureDataDir(const Config& config) {
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) return Unavailable("cannot create data_dir " + config.data_dir + ": " + ec.message());
  ::chmod(config.data_dir.c_str(), 0700);
  return Status::Ok();
}

}  // namespace steward::config
