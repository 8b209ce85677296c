// An async HTTP/1.1 server on Boost.Beast with C++20 coroutines.
//
// One io_context per worker thread, each with its own SO_REUSEPORT acceptor,
// so a connection lives on one thread from accept to close and handlers need
// no locks for per-thread state (e.g. upstream connection pools). Keep-alive,
// optional TLS, a body size limit (413), a deadline for the whole request
// head+body once its first byte arrives (slow clients time out and never
// block others), an idle keep-alive timeout, and graceful shutdown: Stop()
// closes the listeners, lets in-flight requests finish, then Wait() returns.
#pragma once

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "config/config.h"
#include "server/async.h"
#include "steward/status.h"

namespace steward::server {

namespace net = boost::asio;
namespace http = boost::beast::http;

using Request = http::request<http::string_body>;

// Writes one response to the client: either Send() once, or StartStream(),
// any number of WriteChunk(), then EndStream(). Returns false once the client
// is gone (stop producing).
class ResponseWriter {
 public:
  virtual ~ResponseWriter() = default;
  virtual Task<bool> Send(http::response<http::string_body> response) = 0;
  // Sends the head with chunked transfer encoding.
  virtual Task<bool> StartStream(http::response<http::empty_body> head) = 0;
  virtual Task<bool> WriteChunk(std::string_view data) = 0;
  virtual Task<bool> EndStream() = 0;
  virtual bool started() const = 0;
};

struct Connection {
  std::string remote_ip;
  bool tls = false;
};

// A handler answers one request; it runs on the connection's worker thread.
using Handler = std::function<Task<void>(Request& request, const Connection& conn, ResponseWriter& writer)>;

struct ServerOptions {
  config::HostPort listen;
  int threads = 0;  // 0: hardware concurrency
  uint64_t max_body_bytes = 8ull << 20;
  uint32_t max_header_bytes = 64 * 1024;
  int64_t request_timeout_ms = 10'000;
  int64_t idle_timeout_ms = 60'000;
  std::string tls_cert;
  std::string tls_key;
  std::string server_name = "steward";
};

// Worker threads shared by one or more servers in a process.
class IoPool {
 public:
  explicit IoPool(int threads);
  ~IoPool();
  int size() const { return static_cast<int>(contexts_.size()); }
  net::io_context& context(int i) { return *contexts_[i]; }
  // Runs every context on its own thread until Stop().
  void Start();
  void Stop();
  void Join();
  // Index of the worker running the calling thread, or -1.
  static int CurrentWorker();

 private:
  std::vector<std::unique_ptr<net::io_context>> contexts_;
  std::vector<net::executor_work_guard<net::io_context::executor_type>> guards_;
  std::vector<std::thread> threads_;
};

class HttpServer {
 public:
  HttpServer(IoPool& pool, ServerOptions options, Handler handler);
  ~HttpServer();

  // Binds and listens on every worker; fails if the port cannot be bound.
  Status Listen();
  uint16_t port() const { return port_; }

  // Closes the listeners and idle connections; in-flight requests finish.
  void Stop();
  // Number of requests being handled right now.
  int in_flight() const { return in_flight_.load(); }
  int open_connections() const { return connections_.load(); }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  IoPool& pool_;
  ServerOptions options_;
  Handler handler_;
  uint16_t port_ = 0;
  std::atomic<int> in_flight_{0};
  std::atomic<int> connections_{0};
  std::atomic<bool> stopping_{false};

  friend struct SessionAccess;
};

// Builds a JSON response with the given status.
http::response<http::string_body> JsonResponse(unsigned version, int status, std::string body, bool keep_alive);

}  // namespace steward::server
