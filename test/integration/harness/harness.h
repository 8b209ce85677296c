// Integration-test harness: starts build/steward-sim and `build/steward
// serve` as child processes on free loopback ports with a fresh data dir,
// creates keys through the CLI, and talks HTTP to them. Everything started
// is stopped by the destructors.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace steward::testing {

std::string BuildDir();   // STEWARD_BUILD_DIR or ./build
uint16_t FreePort();      // a currently free loopback TCP port

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
// Runs argv (no shell), feeding `input` on stdin; waits for exit.
CommandResult Run(const std::vector<std::string>& argv, const std::string& input = "");

class Process {
 public:
  Process() = default;
  explicit Process(const std::vector<std::string>& argv, const std::string& log_path = "");
  Process(Process&& o) noexcept;
  Process& operator=(Process&& o) noexcept;
  ~Process();
  pid_t pid() const { return pid_; }
  bool running();
  // Sends `sig` and waits up to `timeout` for exit; returns the exit status
  // (WEXITSTATUS, or 128+signal), -1 if it did not exit in time.
  int Signal(int sig, std::chrono::milliseconds timeout = std::chrono::seconds(30));
  int Wait(std::chrono::milliseconds timeout);

 private:
  pid_t pid_ = -1;
  int status_ = -1;
};

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string Header(const std::string& name) const;
};

// One blocking HTTP/1.1 request to 127.0.0.1:port (fresh connection).
// status 0 means the connection failed.
HttpResponse Http(uint16_t port, const std::string& method, const std::string& path, const std::string& body = "",
                  const std::map<std::string, std::string>& headers = {},
                  std::chrono::milliseconds timeout = std::chrono::seconds(30));

// Streams a request and records each body piece with its arrival time.
struct StreamedResponse {
  int status = 0;
  std::map<std::string, std::string> headers;
  std::vector<std::pair<std::chrono::steady_clock::time_point, std::string>> pieces;
  std::string body;  // all pieces, de-chunked
  std::chrono::steady_clock::time_point sent_at;
  std::vector<std::string> DataEvents() const;  // payloads of `data:` lines in order
};
StreamedResponse HttpStream(uint16_t port, const std::string& path, const std::string& body,
                            const std::map<std::string, std::string>& headers,
                            std::chrono::milliseconds timeout = std::chrono::seconds(30));

// A steward-sim and a steward gateway with a data dir under /tmp.
class GatewayFixture {
 public:
  // `extra_config` is appended to the generated config (YAML top-level
  // keys). `upstreams_yaml` replaces the default single upstream when set.
  explicit GatewayFixture(const std::string& extra_config = "", const std::string& upstreams_yaml = "",
                          bool start_sim = true);
  ~GatewayFixture();

  uint16_t port() const { return port_; }
  uint16_t admin_port() const { return admin_port_; }
  uint16_t sim_port() const { return sim_port_; }
  const std::string& data_dir() const { return data_dir_; }
  const std::string& config_path() const { return config_path_; }
  Process& gateway() { return gateway_; }
  std::string log() const;  // gateway stderr so far

  // Runs `steward <args> --config <config>`.
  CommandResult Cli(std::vector<std::string> args, const std::string& input = "");
  // `steward audit export` into `out_dir`, then the exact bytes of every
  // leaf in index order (empty if the export failed; the failure is in
  // `*error` when given).
  std::vector<std::string> AuditLeaves(const std::string& out_dir, std::string* error = nullptr);
  // Creates a key and returns its secret.
  std::string CreateKey(const std::string& role = "user", const std::vector<std::string>& extra = {});

  HttpResponse Chat(const std::string& key, const std::string& content, const std::map<std::string, std::string>& headers = {},
                    const std::string& model = "sim-small");
  static std::string ChatBody(const std::string& content, bool stream = false, const std::string& model = "sim-small");

  // Starts the gateway (the constructor does); exposed for restart tests.
  void StartGateway();
  void StopGateway();

 private:
  std::string data_dir_;
  std::string config_path_;
  uint16_t port_ = 0, admin_port_ = 0, sim_port_ = 0;
  Process sim_;
  Process gateway_;
};

bool WaitForPort(uint16_t port, std::chrono::milliseconds timeout);
// Waits until `path` contains `needle`; false if `process` exits first or
// the time runs out.
bool WaitForLog(const std::string& path, const std::string& needle, Process& process,
                std::chrono::milliseconds timeout);

}  // namespace steward::testing
