#include "upstream/upstream_client.h"

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <thread>

namespace steward::upstream {
namespace {

using tcp = net::ip::tcp;

// A one-connection model server that answers every request with `reply`
// written in pieces, so bodies arrive across several reads.
class ScriptedServer {
 public:
  explicit ScriptedServer(std::string reply) : reply_(std::move(reply)), acceptor_(io_, {net::ip::make_address("127.0.0.1"), 0}) {
    thread_ = std::thread([this] {
      tcp::socket socket(io_);
      beast::error_code ec;
      acceptor_.accept(socket, ec);
      if (ec) return;
      std::string request;
      char buf[4096];
      while (request.find("\r\n\r\n") == std::string::npos) {
        size_t n = socket.read_some(net::buffer(buf), ec);
        if (ec) return;
        request.append(buf, n);
      }
      for (size_t off = 0; off < reply_.size(); off += 7000) {
        net::write(socket, net::buffer(reply_.data() + off, std::min<size_t>(7000, reply_.size() - off)), ec);
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      socket.read_some(net::buffer(buf), ec);  // until the client closes
    });
  }
  ~ScriptedServer() {
    thread_.join();
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }

 private:
  std::string reply_;
  net::io_context io_;
  tcp::acceptor acceptor_;
  std::thread thread_;
};

Result<std::string> CallAndReadAll(uint16_t port, size_t limit) {
  config::UpstreamConfig cfg;
  cfg.name = "scripted";
  cfg.host = "127.0.0.1";
  cfg.port = port;
  cfg.request_timeout_ms = 5000;
  // The connection's deadline timer stays armed for the connect timeout
  // and keeps io.run() going until then (it re-arms lazily): keep it short.
  cfg.connect_timeout_ms = 50;
  Upstream up(cfg, SystemClock::Instance());
  net::io_context io;
  ConnectionPool pool(4);  // its connections must go before their io_context
  Result<std::string> out = Internal("not run");
  net::co_spawn(io, [&]() -> Task<void> {
    OutboundRequest request;
    request.path = "/v1/chat/completions";
    request.body = R"({"model":"m"})";
    auto result = co_await Call(up, pool, request);
    if (auto* err = std::get_if<UpstreamError>(&result)) {
      out = Unavailable(err->message);
      co_return;
    }
    auto exchange = std::move(std::get<std::unique_ptr<Exchange>>(result));
    out = co_await exchange->ReadAll(limit);
  }, net::detached);
  io.run();
  return out;
}

std::string Pattern(size_t n) {
  std::string s(n, 'x');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + i % 26);
  return s;
}

TEST(ExchangeTest, ReadAllReturnsAContentLengthBodyReadInPieces) {
  std::string body = Pattern(100'000);
  ScriptedServer server("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  auto got = CallAndReadAll(server.port(), 1 << 20);
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(*got, body);
}

TEST(ExchangeTest, ReadAllReturnsAChunkedBody) {
  std::string body = Pattern(50'000);
  std::string wire = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (size_t off = 0; off < body.size(); off += 12'345) {
    std::string piece = body.substr(off, 12'345);
    char size[16];
    snprintf(size, sizeof(size), "%zx\r\n", piece.size());
    wire += size + piece + "\r\n";
  }
  wire += "0\r\n\r\n";
  ScriptedServer server(wire);
  auto got = CallAndReadAll(server.port(), 1 << 20);
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(*got, body);
}

TEST(ExchangeTest, ReadAllRefusesABodyOverTheLimit) {
  std::string body = Pattern(40'000);
  ScriptedServer server("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n9c40\r\n" + body + "\r\n0\r\n\r\n");
  auto got = CallAndReadAll(server.port(), 30'000);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(got.status().message().find("larger than 30000 bytes"), std::string::npos);
}

}  // namespace
}  // namespace steward::upstream
