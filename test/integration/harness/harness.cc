#include "harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/beast/core/detail/base64.hpp>
#include <boost/json.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace steward::testing {

std::string BuildDir() {
  const char* b = std::getenv("STEWARD_BUILD_DIR");
  return b ? b : "build";
}

uint16_t FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  uint16_t port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

namespace {

std::vector<char*> Argv(const std::vector<std::string>& args) {
  std::vector<char*> v;
  for (const auto& a : args) v.push_back(const_cast<char*>(a.c_str()));
  v.push_back(nullptr);
  return v;
}

std::string ReadAllFd(int fd) {
  std::string out;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0) out.append(buf, n);
  return out;
}

}  // namespace

CommandResult Run(const std::vector<std::string>& argv, const std::string& input) {
  int in[2], out[2], err[2];
  if (::pipe(in) || ::pipe(out) || ::pipe(err)) throw std::runtime_error("pipe");
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    ::close(in[1]);
    ::close(out[0]);
    ::close(err[0]);
    auto v = Argv(argv);
    ::execv(v[0], v.data());
    _exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  std::thread writer([&] {
    size_t off = 0;
    while (off < input.size()) {
      ssize_t n = ::write(in[1], input.data() + off, input.size() - off);
      if (n <= 0) break;
      off += n;
    }
    ::close(in[1]);
  });
  CommandResult r;
  std::thread err_reader([&] { r.err = ReadAllFd(err[0]); });
  r.out = ReadAllFd(out[0]);
  err_reader.join();
  writer.join();
  ::close(out[0]);
  ::close(err[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

Process::Process(const std::vector<std::string>& argv, const std::string& log_path) {
  pid_ = ::fork();
  if (pid_ == 0) {
    if (!log_path.empty()) {
      int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    // Die with the test if it crashes.
    auto v = Argv(argv);
    ::execv(v[0], v.data());
    _exit(127);
  }
}

Process::Process(Process&& o) noexcept : pid_(o.pid_), status_(o.status_) { o.pid_ = -1; }
Process& Process::operator=(Process&& o) noexcept {
  if (this != &o) {
    if (pid_ > 0) Signal(SIGKILL, std::chrono::seconds(5));
    pid_ = o.pid_;
    status_ = o.status_;
    o.pid_ = -1;
  }
  return *this;
}

Process::~Process() {
  if (pid_ > 0 && running()) Signal(SIGKILL, std::chrono::seconds(5));
}

bool Process::running() {
  if (pid_ <= 0) return false;
  int status;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    pid_ = -1;
    return false;
  }
  return true;
}

int Process::Wait(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (running()) {
    if (std::chrono::steady_clock::now() > deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return status_;
}

int Process::Signal(int sig, std::chrono::milliseconds timeout) {
  if (!running()) return status_;
  ::kill(pid_, sig);
  return Wait(timeout);
}

bool WaitForLog(const std::string& path, const std::string& needle, Process& process,
                std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    if (ss.str().find(needle) != std::string::npos) return true;
    if (!process.running()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

bool WaitForPort(uint16_t port, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    ::close(fd);
    if (rc == 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

std::string HttpResponse::Header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? "" : it->second;
}

namespace {

int Connect(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    ::close(fd);
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

bool SendAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += n;
  }
  return true;
}

std::string RequestText(const std::string& method, const std::string& path, const std::string& body,
                        const std::map<std::string, std::string>& headers) {
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  bool has_ct = false;
  for (const auto& [k, v] : headers) {
    req += k + ": " + v + "\r\n";
    if (strcasecmp(k.c_str(), "content-type") == 0) has_ct = true;
  }
  if (!body.empty() && !has_ct) req += "Content-Type: application/json\r\n";
  if (!body.empty() || method == "POST") req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n";
  req += body;
  return req;
}

// Parses head; returns offset of the body or npos.
size_t ParseHead(const std::string& raw, int* status, std::map<std::string, std::string>* headers) {
  size_t end = raw.find("\r\n\r\n");
  if (end == std::string::npos) return std::string::npos;
  std::istringstream in(raw.substr(0, end));
  std::string line;
  std::getline(in, line);
  if (line.size() >= 12) *status = std::atoi(line.substr(9, 3).c_str());
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string k = line.substr(0, colon);
    for (auto& c : k) c = static_cast<char>(std::tolower(c));
    std::string v = line.substr(colon + 1);
    while (!v.empty() && v.front() == ' ') v.erase(0, 1);
    (*headers)[k] = v;
  }
  return end + 4;
}

std::string Dechunk(const std::string& body) {
  std::string out;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t eol = body.find("\r\n", pos);
    if (eol == std::string::npos) break;
    size_t len = std::strtoul(body.substr(pos, eol - pos).c_str(), nullptr, 16);
    if (len == 0) break;
    out += body.substr(eol + 2, len);
    pos = eol + 2 + len + 2;
  }
  return out;
}

}  // namespace

HttpResponse Http(uint16_t port, const std::string& method, const std::string& path, const std::string& body,
                  const std::map<std::string, std::string>& headers, std::chrono::milliseconds timeout) {
  HttpResponse r;
  int fd = Connect(port);
  if (fd < 0) return r;
  SendAll(fd, RequestText(method, path, body, headers));
  std::string raw;
  char buf[65536];
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count());
    if (left <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, left) <= 0) break;
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    raw.append(buf, n);
  }
  ::close(fd);
  size_t off = ParseHead(raw, &r.status, &r.headers);
  if (off == std::string::npos) {
    r.status = 0;
    return r;
  }
  r.body = raw.substr(off);
  if (r.Header("transfer-encoding") == "chunked") r.body = Dechunk(r.body);
  return r;
}

std::vector<std::string> StreamedResponse::DataEvents() const {
  std::vector<std::string> out;
  std::istringstream in(body);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("data: ", 0) == 0) out.push_back(line.substr(6));
  }
  return out;
}

StreamedResponse HttpStream(uint16_t port, const std::string& path, const std::string& body,
                            const std::map<std::string, std::string>& headers, std::chrono::milliseconds timeout) {
  StreamedResponse r;
  int fd = Connect(port);
  if (fd < 0) return r;
  r.sent_at = std::chrono::steady_clock::now();
  SendAll(fd, RequestText("POST", path, body, headers));
  std::string raw;
  char buf[65536];
  auto deadline = std::chrono::steady_clock::now() + timeout;
  size_t head_end = std::string::npos;
  while (true) {
    int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count());
    if (left <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, left) <= 0) break;
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    raw.append(buf, n);
    if (head_end == std::string::npos) {
      head_end = ParseHead(raw, &r.status, &r.headers);
      if (head_end != std::string::npos && raw.size() > head_end) {
        r.pieces.emplace_back(std::chrono::steady_clock::now(), raw.substr(head_end));
      }
    } else {
      r.pieces.emplace_back(std::chrono::steady_clock::now(), std::string(buf, n));
    }
  }
  ::close(fd);
  if (head_end == std::string::npos) return r;
  std::string b = raw.substr(head_end);
  r.body = r.headers["transfer-encoding"] == "chunked" ? Dechunk(b) : b;
  return r;
}

GatewayFixture::GatewayFixture(const std::string& extra_config, const std::string& upstreams_yaml, bool start_sim) {
  static std::atomic<int> counter{0};
  data_dir_ = "/tmp/steward-it-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  std::filesystem::remove_all(data_dir_);
  std::filesystem::create_directories(data_dir_);
  port_ = FreePort();
  admin_port_ = FreePort();
  sim_port_ = FreePort();
  if (start_sim) {
    // A port picked free may be taken before the child binds it (by another
    // test's server or an outgoing connection): pick again if so.
    for (int attempt = 0;; ++attempt) {
      std::string log_path = data_dir_ + "/sim" + std::to_string(attempt) + ".log";
      sim_ = Process({BuildDir() + "/steward-sim", "--listen", "127.0.0.1:" + std::to_string(sim_port_), "--threads", "1"},
                     log_path);
      if (WaitForLog(log_path, "listening on", sim_, std::chrono::seconds(10))) break;
      if (attempt == 4) throw std::runtime_error("steward-sim did not start");
      sim_port_ = FreePort();
    }
  }
  config_path_ = data_dir_ + "/steward.yaml";
  std::ofstream cfg(config_path_);
  cfg << "listen: 127.0.0.1:" << port_ << "\n"
      << "admin_listen: 127.0.0.1:" << admin_port_ << "\n"
      << "data_dir: " << data_dir_ << "/var\n";
  if (upstreams_yaml.empty()) {
    cfg << "upstreams:\n  - name: local\n    url: http://127.0.0.1:" << sim_port_ << "\n    models: [\"*\"]\n";
  } else {
    std::string u = upstreams_yaml;
    for (size_t p; (p = u.find("$SIM_PORT")) != std::string::npos;) u.replace(p, 9, std::to_string(sim_port_));
    cfg << u;
  }
  // The core tests route any model; registry enforcement has its own tests.
  if (extra_config.find("registry:") == std::string::npos) cfg << "registry:\n  enforce: false\n";
  // The core stages only, unless a test asks for more: scanning, injection
  // and policy have their own integration tests.
  if (extra_config.find("pipeline:") == std::string::npos) cfg << "pipeline: [audit, auth, rate_limit, route]\n";
  cfg << extra_config << "\n";
  cfg.close();
  StartGateway();
}

void GatewayFixture::StartGateway() {
  // The ports are passed as flags so a lost race for a port is retried with
  // fresh ones (the config file's listen lines are then overridden).
  for (int attempt = 0;; ++attempt) {
    std::filesystem::remove(data_dir_ + "/gateway.log");
    gateway_ = Process({BuildDir() + "/steward", "serve", "--config", config_path_, "--workers", "2", "--listen",
                        "127.0.0.1:" + std::to_string(port_), "--admin-listen", "127.0.0.1:" + std::to_string(admin_port_)},
                       data_dir_ + "/gateway.log");
    if (WaitForLog(data_dir_ + "/gateway.log", "steward: serving", gateway_, std::chrono::seconds(20))) return;
    if (attempt == 4 || gateway_.running()) throw std::runtime_error("steward serve did not start: " + log());
    port_ = FreePort();
    admin_port_ = FreePort();
  }
}

void GatewayFixture::StopGateway() { gateway_.Signal(SIGTERM); }

GatewayFixture::~GatewayFixture() {
  gateway_.Signal(SIGKILL, std::chrono::seconds(5));
  sim_.Signal(SIGKILL, std::chrono::seconds(5));
  if (!std::getenv("STEWARD_KEEP_TEST_DIRS")) std::filesystem::remove_all(data_dir_);
}

std::string GatewayFixture::log() const {
  std::ifstream in(data_dir_ + "/gateway.log");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

CommandResult GatewayFixture::Cli(std::vector<std::string> args, const std::string& input) {
  std::vector<std::string> argv = {BuildDir() + "/steward"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back("--config");
  argv.push_back(config_path_);
  return Run(argv, input);
}

std::vector<std::string> GatewayFixture::AuditLeaves(const std::string& out_dir,
                                                     std::string* error) {
  std::vector<std::string> leaves;
  CommandResult r = Cli({"audit", "export", "--out", out_dir});
  if (r.exit_code != 0) {
    if (error) *error = "audit export exited " + std::to_string(r.exit_code) + ": " + r.err;
    return leaves;
  }
  std::ifstream in(out_dir + "/leaves.jsonl");
  for (std::string line; std::getline(in, line);) {
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(line, ec);
    const boost::json::value* b64 =
        !ec && v.is_object() ? v.get_object().if_contains("leaf") : nullptr;
    if (!b64 || !b64->is_string()) {
      if (error) *error = "leaves.jsonl: not an export line: " + line;
      return {};
    }
    std::string_view text = b64->get_string();
    std::string leaf(boost::beast::detail::base64::decoded_size(text.size()), '\0');
    leaf.resize(boost::beast::detail::base64::decode(leaf.data(), text.data(), text.size()).first);
    leaves.push_back(std::move(leaf));
  }
  return leaves;
}

std::string GatewayFixture::CreateKey(const std::string& role, const std::vector<std::string>& extra) {
  std::vector<std::string> args = {"keys", "create", "--name", "test-" + role, "--role", role};
  args.insert(args.end(), extra.begin(), extra.end());
  auto r = Cli(args);
  if (r.exit_code != 0) throw std::runtime_error("keys create failed: " + r.err);
  std::string secret = r.out;
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  return secret;
}

std::string GatewayFixture::ChatBody(const std::string& content, bool stream, const std::string& model) {
  std::string escaped;
  for (char c : content) {
    if (c == '"' || c == '\\') escaped.push_back('\\');
    escaped.push_back(c);
  }
  return R"({"model":")" + model + R"(","stream":)" + (stream ? "true" : "false") +
         R"(,"messages":[{"role":"user","content":")" + escaped + R"("}]})";
}

HttpResponse GatewayFixture::Chat(const std::string& key, const std::string& content,
                                  const std::map<std::string, std::string>& headers, const std::string& model) {
  auto h = headers;
  h["Authorization"] = "Bearer " + key;
  return Http(port_, "POST", "/v1/chat/completions", ChatBody(content, false, model), h);
}

}  // namespace steward::testing
