// The client side of the proxy: one Upstream per configured model server
// (config, circuit breaker, counters, shared by all threads) and, per worker
// thread, a keep-alive connection pool to it. Calls connect with retries
// (jittered exponential backoff, connect failures only), send the request,
// and hand back the response head; the body is then read whole (bounded) or
// piece by piece as it arrives (streams are relayed, never buffered).
#pragma once

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "steward/clock.h"
#include "steward/status.h"
#include "server/async.h"
#include "server/deadline.h"
#include "upstream/circuit_breaker.h"

namespace steward::upstream {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using server::Task;

// How an upstream call failed, mapped to the client-facing status.
struct UpstreamError {
  int status = 502;         // 502 bad gateway, 503 unavailable, 504 timeout
  std::string code;         // "upstream_unreachable", "upstream_timeout", "circuit_open", ...
  std::string message;      // says what happened, names the upstream
  int64_t retry_after_ms = 0;
};

class Upstream {
 public:
  Upstream(config::UpstreamConfig config, const Clock& clock)
      : config_(std::move(config)), breaker_(config_.breaker, clock) {}

  const config::UpstreamConfig& config() const { return config_; }
  const std::string& name() const { return config_.name; }
  CircuitBreaker& breaker() { return breaker_; }
  bool Serves(std::string_view model) const;

  std::atomic<uint64_t> errors_connect{0}, errors_timeout{0}, errors_protocol{0}, errors_status{0};

 private:
  config::UpstreamConfig config_;
  CircuitBreaker breaker_;
};

struct PooledConnection {
  std::unique_ptr<server::Socket> socket;
  std::unique_ptr<server::Deadline> deadline;  // destroyed before the socket it cancels
  beast::flat_buffer buffer;
};

// Idle connections of one worker thread to one upstream. Not thread-safe:
// each worker owns its own pools.
class ConnectionPool {
 public:
  explicit ConnectionPool(int max_idle) : max_idle_(max_idle) {}
  std::optional<PooledConnection> TakeIdle();
  void GiveBack(PooledConnection conn);
  size_t idle() const { return idle_.size(); }

 private:
  int max_idle_;
  std::deque<PooledConnection> idle_;
};

struct OutboundRequest {
  http::verb method = http::verb::post;
  std::string path;  // "/v1/chat/completions" (base_path is prepended)
  std::string_view body;  // must outlive the call
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // forwarded extras
};

// One exchange with an upstream. Obtain with Call(); then read the body
// with ReadAll() or repeatedly with ReadSome() until it returns an empty
// optional. Destroying the exchange returns the connection to the pool when
// the response was read completely and allows keep-alive.
class Exchange {
 public:
  Exchange(Upstream& upstream, ConnectionPool& pool, PooledConnection conn);
  ~Exchange();
  Exchange(const Exchange&) = delete;

  int status() const { return parser_->get().result_int(); }
  std::string_view content_type() const;
  bool is_event_stream() const;
  std::string_view header(std::string_view name) const;

  // Reads the rest of the body (at most `limit` bytes).
  Task<Result<std::string>> ReadAll(size_t limit);
  // Reads whatever body bytes arrive next; nullopt at the end of the body.
  // Each wait is bounded by the upstream's timeout.
  Task<Result<std::optional<std::string>>> ReadSome();

  // The head was read; Call() uses this.
  Task<Status> ReadHead();
  // Sends a serialised request (head and body).
  Task<Status> Write(const std::string& wire);

  // Records the call's outcome on the breaker (Call does it for failures
  // before the head; the gateway reports body-phase failures with this).
  void MarkFailed(const UpstreamError& e);

 private:
  UpstreamError MapError(const beast::error_code& ec, std::string_view phase) const;
  // Reads the next body bytes into [data, data + size) within the timeout;
  // how many arrived (0 is possible before the body ends).
  Task<Result<size_t>> ReadBodyInto(char* data, size_t size);
  Upstream& upstream_;
  ConnectionPool& pool_;
  PooledConnection conn_;
  std::unique_ptr<http::response_parser<http::buffer_body>> parser_;
  bool done_ = false;
  bool failed_ = false;
  char chunk_[16384];
  friend Task<std::variant<std::unique_ptr<Exchange>, UpstreamError>> Call(Upstream&, ConnectionPool&, const OutboundRequest&);
};

// Sends `request` to `upstream`: checks the breaker, takes an idle
// connection or connects (retrying connect failures with jittered backoff),
// writes, and reads the response head within the timeout. A response with a
// 5xx status counts as a breaker failure but is returned as an Exchange.
Task<std::variant<std::unique_ptr<Exchange>, UpstreamError>> Call(Upstream& upstream, ConnectionPool& pool,
                                                                  const OutboundRequest& request);

}  // namespace steward::upstream

namespace steward::upstream {

// All configured upstreams; published in the ServiceRegistry so the route
// stage can pick one by model name and the gateway can call it.
class UpstreamSet {
 public:
  UpstreamSet(const std::vector<config::UpstreamConfig>& configs, const Clock& clock);
  // The first upstream that serves `model`, or nullptr.
  Upstream* ForModel(std::string_view model) const;
  Upstream* ByName(std::string_view name) const;
  const std::vector<std::unique_ptr<Upstream>>& all() const { return upstreams_; }

 private:
  std::vector<std::unique_ptr<Upstream>> upstreams_;
};

}  // namespace steward::upstream
