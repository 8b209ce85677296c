#include "upstream/upstream_client.h"

#include <boost/asio/as_tuple.hpp>
#include <random>

#include "server/wire.h"

namespace steward::upstream {

constexpr auto kTuple = server::kAwaitTuple;
constexpr size_t kReadBufferBytes = 16 * 1024;
using tcp = net::ip::tcp;

std::optional<PooledConnection> ConnectionPool::TakeIdle() {
  while (!idle_.empty()) {
    PooledConnection c = std::move(idle_.back());
    idle_.pop_back();
    if (c.socket && c.socket->is_open()) return c;
  }
  return std::nullopt;
}

void ConnectionPool::GiveBack(PooledConnection conn) {
  if (static_cast<int>(idle_.size()) >= max_idle_) return;  // closes it
  conn.deadline->ExpiresNever();
  idle_.push_back(std::move(conn));
}

Exchange::Exchange(Upstream& upstream, ConnectionPool& pool, PooledConnection conn)
    : upstream_(upstream), pool_(pool), conn_(std::move(conn)),
      parser_(std::make_unique<http::response_parser<http::buffer_body>>()) {
  parser_->body_limit(boost::none);
}

Exchange::~Exchange() {
  if (done_ && !failed_ && parser_->get().keep_alive() && conn_.socket) {
    pool_.GiveBack(std::move(conn_));
  } else if (conn_.socket) {
    beast::error_code ignored;
    conn_.socket->shutdown(tcp::socket::shutdown_both, ignored);
    conn_.socket->close(ignored);
  }
}

std::string_view Exchange::content_type() const {
  auto it = parser_->get().find(http::field::content_type);
  return it == parser_->get().end() ? std::string_view() : std::string_view(it->value().data(), it->value().size());
}

bool Exchange::is_event_stream() const {
  return content_type().find("text/event-stream") != std::string_view::npos;
}

std::string_view Exchange::header(std::string_view name) const {
  auto it = parser_->get().find(beast::string_view(name.data(), name.size()));
  return it == parser_->get().end() ? std::string_view() : std::string_view(it->value().data(), it->value().size());
}

UpstreamError Exchange::MapError(const beast::error_code& ec, std::string_view phase) const {
  const auto& name = upstream_.name();
  if (ec == beast::error::timeout) {
    return {504, "upstream_timeout",
            "upstream `" + name + "` did not answer within " +
                std::to_string(upstream_.config().request_timeout_ms) + " ms (" + std::string(phase) + ")"};
  }
  return {502, "upstream_error",
          "upstream `" + name + "` failed while " + std::string(phase) + ": " + ec.message()};
}

void Exchange::MarkFailed(const UpstreamError& e) {
  failed_ = true;
  if (e.status == 504) upstream_.errors_timeout++; else upstream_.errors_protocol++;
  upstream_.breaker().OnFailure();
}

Task<Status> Exchange::Write(const std::string& wire) {
  conn_.deadline->ExpiresAfter(std::chrono::milliseconds(upstream_.config().request_timeout_ms));
  auto [op_ec, n] = co_await net::async_write(*conn_.socket, net::buffer(wire), kTuple);
  beast::error_code ec = conn_.deadline->Check(op_ec);
  if (ec) co_return Unavailable(ec == beast::error::timeout ? "timeout" : ec.message());
  co_return Status::Ok();
}

Task<Status> Exchange::ReadHead() {
  conn_.deadline->ExpiresAfter(std::chrono::milliseconds(upstream_.config().request_timeout_ms));
  auto [op_ec, n] = co_await http::async_read_header(*conn_.socket, conn_.buffer, *parser_, kTuple);
  beast::error_code ec = conn_.deadline->Check(op_ec);
  if (ec == beast::error::timeout) co_return DeadlineExceeded("timeout");
  if (ec) co_return Unavailable(ec.message());
  if (parser_->is_done()) done_ = true;
  co_return Status::Ok();
}

Task<Result<size_t>> Exchange::ReadBodyInto(char* data, size_t size) {
  auto& body = parser_->get().body();
  body.data = data;
  body.size = size;
  // Bytes that arrived with the head (usually the whole body) are parsed
  // without another read operation.
  if (conn_.buffer.size() > 0) {
    beast::error_code ec = server::ParseBuffered(*parser_, conn_.buffer);
    const size_t got = size - body.size;
    if (ec == http::error::need_buffer || (ec == http::error::need_more && got > 0)) ec = {};
    if (ec && ec != http::error::need_more) {
      failed_ = true;
      co_return Unavailable(MapError(ec, "sending the response body").message);
    }
    if (!ec) {
      if (parser_->is_done()) done_ = true;
      if (got > 0 || done_) co_return got;
    }
  }
  conn_.deadline->ExpiresAfter(std::chrono::milliseconds(upstream_.config().request_timeout_ms));
  auto [op_ec, n] = co_await http::async_read_some(*conn_.socket, conn_.buffer, *parser_, kTuple);
  beast::error_code ec = conn_.deadline->Check(op_ec);
  if (ec == http::error::need_buffer) ec = {};
  if (ec) {
    failed_ = true;
    auto e = MapError(ec, "sending the response body");
    if (ec == beast::error::timeout) co_return DeadlineExceeded(e.message);
    co_return Unavailable(e.message);
  }
  if (parser_->is_done()) done_ = true;
  co_return size - parser_->get().body().size;
}

Task<Result<std::optional<std::string>>> Exchange::ReadSome() {
  while (true) {
    if (done_ || parser_->is_done()) {
      done_ = true;
      co_return std::optional<std::string>();
    }
    auto got = co_await ReadBodyInto(chunk_, sizeof(chunk_));
    if (!got.ok()) co_return got.status();
    if (*got > 0) co_return std::optional<std::string>(std::string(chunk_, *got));
  }
}

Task<Result<std::string>> Exchange::ReadAll(size_t limit) {
  // Reads straight into the result's spare capacity: no copy per piece.
  std::string out;
  const auto length = parser_->content_length();  // unknown when chunked
  while (!(done_ || parser_->is_done())) {
    size_t want = length && *length <= limit ? std::max<size_t>(1, *length - std::min<size_t>(*length, out.size())) : 16384;
    if (out.capacity() - out.size() < want) out.reserve(out.size() + want);
    size_t used = out.size();
    out.resize(out.capacity());
    auto got = co_await ReadBodyInto(out.data() + used, out.size() - used);
    if (!got.ok()) co_return got.status();
    out.resize(used + *got);
    if (out.size() > limit) {
      failed_ = true;
      co_return ResourceExhausted("upstream `" + upstream_.name() + "` sent a body larger than " +
                                  std::to_string(limit) + " bytes");
    }
  }
  done_ = true;
  co_return out;
}

namespace {

double Jitter() {
  thread_local std::mt19937 rng(std::random_device{}());
  return std::uniform_real_distribution<double>(0.5, 1.5)(rng);
}

Task<std::variant<PooledConnection, UpstreamError>> Connect(Upstream& up) {
  const auto& cfg = up.config();
  auto executor = co_await net::this_coro::executor;
  net::ip::basic_resolver<tcp, server::Executor> resolver(executor);
  std::string last_error;
  for (int attempt = 0; attempt <= cfg.connect_retries; ++attempt) {
    if (attempt > 0) {
      // 50 ms, 100 ms, 200 ms ... each scaled by a random factor in
      // [0.5, 1.5) so many clients do not retry in lockstep.
      auto delay = std::chrono::milliseconds(static_cast<int64_t>(50.0 * (1 << (attempt - 1)) * Jitter()));
      server::Timer timer(executor, delay);
      co_await timer.async_wait(kTuple);
    }
    auto [rec, results] = co_await resolver.async_resolve(cfg.host, std::to_string(cfg.port), kTuple);
    if (rec) {
      last_error = "cannot resolve " + cfg.host + ": " + rec.message();
      continue;
    }
    PooledConnection conn;
    // Beast reads min(capacity, 64 KiB) at a time, but at least 512 bytes:
    // with the buffer left at its first 512 bytes a typical 530-byte reply
    // took two recv() calls on every call of the connection's life.
    conn.buffer.reserve(kReadBufferBytes);
    conn.socket = std::make_unique<server::Socket>(executor);
    conn.deadline = std::make_unique<server::Deadline>(executor, *conn.socket);
    conn.deadline->ExpiresAfter(std::chrono::milliseconds(cfg.connect_timeout_ms));
    auto [op_ec, ep] = co_await net::async_connect(*conn.socket, results, kTuple);
    beast::error_code ec = conn.deadline->Check(op_ec);
    if (!ec) {
      beast::error_code ignored;
      conn.socket->set_option(tcp::no_delay(true), ignored);
      co_return conn;
    }
    last_error = ec == beast::error::timeout ? "connect timed out after " + std::to_string(cfg.connect_timeout_ms) + " ms"
                                             : ec.message();
  }
  up.errors_connect++;
  co_return UpstreamError{502, "upstream_unreachable",
                          "upstream `" + up.name() + "` at " + cfg.host + ":" + std::to_string(cfg.port) +
                              " is unreachable after " + std::to_string(cfg.connect_retries + 1) +
                              " connection attempts: " + last_error};
}

}  // namespace

Task<std::variant<std::unique_ptr<Exchange>, UpstreamError>> Call(Upstream& up, ConnectionPool& pool,
                                                                  const OutboundRequest& request) {
  const auto& cfg = up.config();
  if (!up.breaker().Allow()) {
    int64_t ms = up.breaker().RetryAfterMs();
    co_return UpstreamError{503, "circuit_open",
                            "upstream `" + up.name() + "` is unavailable: its circuit is open after repeated failures; next probe in " +
                                std::to_string((ms + 999) / 1000) + " s",
                            ms};
  }
  http::request<http::empty_body> req{request.method, cfg.base_path + request.path, 11};
  req.set(http::field::host, cfg.host + ":" + std::to_string(cfg.port));
  req.set(http::field::user_agent, "steward");
  if (!request.body.empty() || request.method == http::verb::post) {
    req.set(http::field::content_type, request.content_type);
  }
  if (!cfg.api_key.empty()) req.set(http::field::authorization, "Bearer " + cfg.api_key);
  for (const auto& [k, v] : request.headers) req.set(k, v);
  req.keep_alive(true);
  if (!request.body.empty() || request.method == http::verb::post) req.content_length(request.body.size());
  // Head and body in one buffer: one send, and the same bytes on a retry.
  std::string wire;
  wire.reserve(512 + request.body.size());
  server::AppendRequestHead(wire, req.base());
  wire += request.body;

  // A pooled connection may have been closed by the upstream while idle;
  // such a failure before any response byte is retried once on a fresh one.
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::optional<PooledConnection> conn = attempt == 0 ? pool.TakeIdle() : std::nullopt;
    bool reused = conn.has_value();
    if (!conn) {
      auto c = co_await Connect(up);
      if (auto* err = std::get_if<UpstreamError>(&c)) {
        up.breaker().OnFailure();
        co_return *err;
      }
      conn = std::move(std::get<PooledConnection>(c));
    }
    auto ex = std::make_unique<Exchange>(up, pool, std::move(*conn));
    Status s = co_await ex->Write(wire);
    if (s.ok()) s = co_await ex->ReadHead();
    if (!s.ok()) {
      ex->failed_ = true;
      if (reused && s.code() != StatusCode::kDeadlineExceeded) continue;
      UpstreamError e = s.code() == StatusCode::kDeadlineExceeded
                            ? UpstreamError{504, "upstream_timeout",
                                            "upstream `" + up.name() + "` did not answer within " +
                                                std::to_string(cfg.request_timeout_ms) + " ms"}
                            : UpstreamError{502, "upstream_error",
                                            "upstream `" + up.name() + "` closed the connection without a valid response: " +
                                                s.message()};
      if (e.status == 504) up.errors_timeout++; else up.errors_protocol++;
      up.breaker().OnFailure();
      co_return e;
    }
    int status = ex->status();
    if (status == 502 || status == 503 || status == 504 || status == 500) {
      up.errors_status++;
      up.breaker().OnFailure();
    } else {
      up.breaker().OnSuccess();
    }
    co_return std::move(ex);
  }
  up.breaker().OnFailure();
  co_return UpstreamError{502, "upstream_error", "upstream `" + up.name() + "` failed twice"};
}

}  // namespace steward::upstream

