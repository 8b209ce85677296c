#include "server/http_server.h"

#include "server/deadline.h"
#include "server/wire.h"

#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/ssl.hpp>
#include <mutex>
#include <set>

namespace steward::server {

namespace beast = boost::beast;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using Acceptor = net::basic_socket_acceptor<tcp, Executor>;
constexpr auto kTuple = kAwaitTuple;
constexpr std::chrono::seconds kWriteTimeout{60};

namespace {
thread_local int tls_worker_index = -1;
}

IoPool::IoPool(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 0; i < threads; ++i) {
    contexts_.push_back(std::make_unique<net::io_context>(1));
    guards_.push_back(net::make_work_guard(*contexts_.back()));
  }
}

IoPool::~IoPool() {
  Stop();
  Join();
}

void IoPool::Start() {
  for (size_t i = 0; i < contexts_.size(); ++i) {
    threads_.emplace_back([this, i] {
      tls_worker_index = static_cast<int>(i);
      contexts_[i]->run();
    });
  }
}

void IoPool::Stop() {
  guards_.clear();
  for (auto& c : contexts_) c->stop();
}

void IoPool::Join() {
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

int IoPool::CurrentWorker() { return tls_worker_index; }

http::response<http::string_body> JsonResponse(unsigned version, int status, std::string body,
                                               bool keep_alive) {
  http::response<http::string_body> res{static_cast<http::status>(status), version};
  res.set(http::field::content_type, "application/json");
  res.keep_alive(keep_alive);
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

namespace {

std::string ErrorJson(std::string_view message, std::string_view type, std::string_view code) {
  std::string out = R"({"error":{"message":")";
  for (char c : message) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out += R"(","type":")";
  out += type;
  out += R"(","code":")";
  out += code;
  out += R"(","param":null}})";
  return out;
}

template <typename Stream>
class StreamWriter final : public ResponseWriter {
 public:
  StreamWriter(Stream& stream, Deadline& deadline, std::string& wire, unsigned version, bool keep_alive,
               const std::string& server_name)
      : stream_(stream), deadline_(deadline), wire_(wire), version_(version), keep_alive_(keep_alive), server_name_(server_name) {}

  Task<bool> Send(http::response<http::string_body> response) override {
    started_ = true;
    response.version(version_);
    response.set(http::field::server, server_name_);
    if (!keep_alive_) response.keep_alive(false);
    keep_alive_ = response.keep_alive();
    response.prepare_payload();
    wire_.clear();
    AppendResponseHead(wire_, response.base());
    const std::string& body = response.body();
    // Small bodies travel in the head's buffer: one send, no second iovec.
    if (body.size() <= kCopyBodyBelow) {
      wire_ += body;
      co_return co_await Write(net::buffer(wire_));
    }
    std::array<net::const_buffer, 2> buffers{net::buffer(wire_), net::buffer(body)};
    co_return co_await Write(buffers);
  }

  Task<bool> StartStream(http::response<http::empty_body> head) override {
    started_ = true;
    head.version(version_);
    head.set(http::field::server, server_name_);
    head.chunked(true);
    if (!keep_alive_) head.keep_alive(false);
    keep_alive_ = head.keep_alive();
    wire_.clear();
    AppendResponseHead(wire_, head.base());
    co_return co_await Write(net::buffer(wire_));
  }

  Task<bool> WriteChunk(std::string_view data) override {
    if (!ok_) co_return false;
    if (data.empty()) co_return true;  // an empty chunk would end the body
    wire_.clear();
    AppendChunkSize(wire_, data.size());
    wire_ += data;
    wire_ += "\r\n";
    co_return co_await Write(net::buffer(wire_));
  }

  Task<bool> EndStream() override {
    if (!ok_) co_return false;
    co_return co_await Write(net::buffer(std::string_view("0\r\n\r\n")));
  }

  bool started() const override { return started_; }
  bool keep_alive() const { return keep_alive_ && ok_; }

 private:
  static constexpr size_t kCopyBodyBelow = 16 * 1024;

  template <typename Buffers>
  Task<bool> Write(Buffers buffers) {
    deadline_.ExpiresAfter(kWriteTimeout);
    auto [ec, n] = co_await net::async_write(stream_, buffers, kTuple);
    ok_ = !ec;
    co_return ok_;
  }

  Stream& stream_;
  Deadline& deadline_;
  std::string& wire_;  // the session's reused output buffer
  unsigned version_;
  bool keep_alive_;
  const std::string& server_name_;
  bool started_ = false;
  bool ok_ = true;
};

}  // namespace

struct SessionState {
  explicit SessionState(Executor e) : executor(std::move(e)) {}
  Executor executor;
  bool alive = true;  // touched only on the session's worker thread
  std::atomic<bool> idle{false};
  std::function<void()> cancel;  // runs on the session's executor
};

struct HttpServer::Impl {
  std::vector<std::unique_ptr<Acceptor>> acceptors;
  std::unique_ptr<ssl::context> ssl_ctx;
  std::mutex mu;
  std::set<std::shared_ptr<SessionState>> sessions;
};

struct SessionAccess {
  template <typename Stream>
  static Task<void> Run(HttpServer* self, Stream stream, Connection conn);
  static Task<void> Accept(HttpServer* self, Acceptor& acceptor);
};

template <typename Stream>
Task<void> SessionAccess::Run(HttpServer* self, Stream stream, Connection conn) {
  const ServerOptions& opt = self->options_;
  auto& lowest = beast::get_lowest_layer(stream);
  auto state = std::make_shared<SessionState>(lowest.get_executor());
  state->cancel = [&lowest] {
    beast::error_code ignored;
    lowest.cancel(ignored);
  };
  {
    std::lock_guard lock(self->impl_->mu);
    self->impl_->sessions.insert(state);
  }
  self->connections_++;
  beast::flat_buffer buffer;
  std::string wire;
  Deadline deadline(lowest.get_executor(), lowest);

  bool serving = true;
  if constexpr (!std::is_same_v<Stream, Socket>) {
    deadline.ExpiresAfter(std::chrono::milliseconds(opt.request_timeout_ms));
    auto [ec] = co_await stream.async_handshake(ssl::stream_base::server, kTuple);
    serving = !ec;
  }

  while (serving && !self->stopping_.load()) {
    // Wait for the first byte of the next request under the idle timeout.
    if (buffer.size() == 0) {
      state->idle = true;
      if (self->stopping_.load()) break;
      deadline.ExpiresAfter(std::chrono::milliseconds(opt.idle_timeout_ms));
      auto [ec, n] = co_await stream.async_read_some(buffer.prepare(8192), kTuple);
      state->idle = false;
      if (ec) break;
      buffer.commit(n);
    }
    // From the first byte on, the whole request must arrive in time.
    deadline.ExpiresAfter(std::chrono::milliseconds(opt.request_timeout_ms));
    http::request_parser<http::string_body> parser;
    parser.body_limit(opt.max_body_bytes);
    parser.header_limit(opt.max_header_bytes);
    int reject_status = 0;
    std::string reject_message;
    {
      auto [op_ec, n] = co_await http::async_read_header(stream, buffer, parser, kTuple);
      beast::error_code ec = deadline.Check(op_ec);
      if (ec == http::error::end_of_stream) break;
      if (ec == beast::error::timeout) {
        reject_status = 408;
        reject_message = "request header not received in time";
      } else if (ec == http::error::body_limit) {
        reject_status = 413;
        reject_message = "request body exceeds the limit of " + std::to_string(opt.max_body_bytes) + " bytes";
      } else if (ec == http::error::header_limit) {
        reject_status = 431;
        reject_message = "request header larger than " + std::to_string(opt.max_header_bytes) + " bytes";
      } else if (ec) {
        if (ec == net::error::operation_aborted || ec == net::error::eof ||
            ec == net::error::connection_reset)
          break;
        reject_status = 400;
        reject_message = "malformed HTTP request: " + ec.message();
      }
    }
    if (!reject_status) {
      auto& head = parser.get();
      auto len = parser.content_length();
      if (len && *len > opt.max_body_bytes) {
        reject_status = 413;
        reject_message = "request body of " + std::to_string(*len) + " bytes exceeds the limit of " +
                         std::to_string(opt.max_body_bytes) + " bytes";
      } else {
        if (beast::iequals(head[http::field::expect], "100-continue")) {
          http::response<http::empty_body> cont{http::status::continue_, head.version()};
          auto [ec, n] = co_await http::async_write(stream, cont, kTuple);
          if (ec) break;
        }
        // The body usually came with the head: parse it from the buffer and
        // read only what is still missing.
        beast::error_code ec = ParseBuffered(parser, buffer);
        if (ec == http::error::need_more) ec = {};
        if (!ec && !parser.is_done()) {
          auto [op_ec, n] = co_await http::async_read(stream, buffer, parser, kTuple);
          ec = deadline.Check(op_ec);
        }
        if (ec == http::error::body_limit) {
          reject_status = 413;
          reject_message = "request body exceeds the limit of " + std::to_string(opt.max_body_bytes) + " bytes";
        } else if (ec == beast::error::timeout) {
          reject_status = 408;
          reject_message = "request body not received in time";
        } else if (ec) {
          if (ec == net::error::eof || ec == net::error::connection_reset || ec == http::error::partial_message)
            break;
          reject_status = 400;
          reject_message = "malformed HTTP request: " + ec.message();
        }
      }
    }
    if (reject_status) {
      StreamWriter<Stream> writer(stream, deadline, wire, 11, false, opt.server_name);
      std::string code = reject_status == 413 ? "request_too_large"
                         : reject_status == 408 ? "request_timeout"
                         : reject_status == 431 ? "header_too_large" : "malformed_request";
      co_await writer.Send(JsonResponse(11, reject_status, ErrorJson(reject_message, "invalid_request_error", code), false));
      // Let the client read the answer: stop sending, then drain briefly
      // what it is still uploading so the close does not reset the answer.
      if constexpr (std::is_same_v<Stream, Socket>) {
        beast::error_code ignored;
        lowest.shutdown(tcp::socket::shutdown_send, ignored);
        deadline.ExpiresAfter(std::chrono::seconds(2));
        std::array<char, 65536> sink;
        size_t drained = 0;
        while (drained < (256u << 20)) {
          auto [ec, n] = co_await lowest.async_read_some(net::buffer(sink), kTuple);
          if (ec) break;
          drained += n;
        }
      }
      break;
    }

    Request request = parser.release();
    deadline.ExpiresNever();
    StreamWriter<Stream> writer(stream, deadline, wire, request.version(), request.keep_alive(), opt.server_name);
    self->in_flight_++;
    co_await self->handler_(request, conn, writer);
    self->in_flight_--;
    if (!writer.started()) {
      co_await writer.Send(JsonResponse(request.version(), 500,
                                        ErrorJson("the handler produced no response", "server_error", "internal"),
                                        false));
    }
    if (!writer.keep_alive()) break;
  }

  {
    beast::error_code ignored;
    lowest.shutdown(tcp::socket::shutdown_both, ignored);
    lowest.close(ignored);
  }
  state->alive = false;
  {
    std::lock_guard lock(self->impl_->mu);
    self->impl_->sessions.erase(state);
  }
  self->connections_--;
}

Task<void> SessionAccess::Accept(HttpServer* self, Acceptor& acceptor) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(kTuple);
    if (ec) {
      if (self->stopping_.load() || ec == net::error::operation_aborted) co_return;
      // EMFILE and friends: back off briefly instead of spinning.
      Timer t(acceptor.get_executor(), std::chrono::milliseconds(10));
      co_await t.async_wait(kTuple);
      continue;
    }
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    Connection conn;
    auto ep = socket.remote_endpoint(ignored);
    conn.remote_ip = ignored ? "" : ep.address().to_string();
    auto executor = acceptor.get_executor();
    if (self->impl_->ssl_ctx) {
      conn.tls = true;
      beast::ssl_stream<Socket> stream(std::move(socket), *self->impl_->ssl_ctx);
      net::co_spawn(executor, Run(self, std::move(stream), conn), net::detached);
    } else {
      net::co_spawn(executor, Run(self, std::move(socket), conn), net::detached);
    }
  }
}

HttpServer::HttpServer(IoPool& pool, ServerOptions options, Handler handler)
    : impl_(std::make_unique<Impl>()), pool_(pool), options_(std::move(options)), handler_(std::move(handler)) {}

HttpServer::~HttpServer() = default;

Status HttpServer::Listen() {
  if (!options_.tls_cert.empty()) {
    auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                     ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    beast::error_code ec;
    ctx->use_certificate_chain_file(options_.tls_cert, ec);
    if (ec) return InvalidArgument("tls_cert " + options_.tls_cert + ": " + ec.message());
    ctx->use_private_key_file(options_.tls_key, ssl::context::pem, ec);
    if (ec) return InvalidArgument("tls_key " + options_.tls_key + ": " + ec.message());
    impl_->ssl_ctx = std::move(ctx);
  }
  beast::error_code ec;
  auto address = net::ip::make_address(options_.listen.host, ec);
  if (ec) return InvalidArgument("listen address `" + options_.listen.host + "` is not an IP address");
  uint16_t port = options_.listen.port;
  for (int i = 0; i < pool_.size(); ++i) {
    auto acc = std::make_unique<Acceptor>(pool_.context(i).get_executor());
    tcp::endpoint ep(address, port);
    acc->open(ep.protocol(), ec);
    if (ec) return Unavailable("socket: " + ec.message());
    acc->set_option(net::socket_base::reuse_address(true), ec);
    int one = 1;
    ::setsockopt(acc->native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    acc->bind(ep, ec);
    if (ec) return Unavailable("cannot listen on " + options_.listen.host + ":" + std::to_string(port) + ": " + ec.message());
    acc->listen(net::socket_base::max_listen_connections, ec);
    if (ec) return Unavailable("listen: " + ec.message());
    if (port == 0) port = acc->local_endpoint().port();
    impl_->acceptors.push_back(std::move(acc));
  }
  port_ = port;
  for (int i = 0; i < pool_.size(); ++i) {
    net::co_spawn(pool_.context(i), SessionAccess::Accept(this, *impl_->acceptors[i]), net::detached);
  }
  return Status::Ok();
}

void HttpServer::Stop() {
  stopping_ = true;
  for (auto& acc : impl_->acceptors) {
    net::post(acc->get_executor(), [a = acc.get()] {
      beast::error_code ignored;
      a->close(ignored);
    });
  }
  // Idle keep-alive connections are woken on their own worker thread (a
  // socket is not safe to touch from another); busy ones close after their
  // current request because stopping_ is set.
  std::lock_guard lock(impl_->mu);
  for (auto& s : impl_->sessions) {
    net::post(s->executor, [s] {
      if (s->alive && s->idle.load()) s->cancel();
    });
  }
}

}  // namespace steward::server
