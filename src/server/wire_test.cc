#include "server/wire.h"

#include <gtest/gtest.h>

namespace steward::server {
namespace {

namespace beast = boost::beast;

// What Beast's own serializer writes for the same message.
template <bool isRequest>
std::string BeastHead(http::message<isRequest, http::empty_body> message) {
  std::ostringstream os;
  os << message.base();
  return os.str();
}

TEST(WireTest, ResponseHeadIsWhatBeastWrites) {
  http::response<http::string_body> res{http::status::too_many_requests, 11};
  res.set(http::field::content_type, "application/json");
  res.set("x-steward-request-id", "req_0123");
  res.set("retry-after", "3");
  res.body() = R"({"error":{}})";
  res.keep_alive(false);
  res.prepare_payload();
  std::string mine;
  AppendResponseHead(mine, res.base());
  http::response<http::empty_body> head{res.base()};
  EXPECT_EQ(mine, BeastHead(head));
  EXPECT_NE(mine.find("HTTP/1.1 429 Too Many Requests\r\n"), std::string::npos);
  EXPECT_NE(mine.find("Content-Length: 12\r\n"), std::string::npos);
  EXPECT_EQ(mine.substr(mine.size() - 4), "\r\n\r\n");
}

TEST(WireTest, ResponseHeadParsesBack) {
  http::response<http::empty_body> res{http::status::ok, 10};
  res.set(http::field::content_type, "text/event-stream");
  res.chunked(true);
  std::string wire;
  AppendResponseHead(wire, res.base());
  http::response_parser<http::empty_body> parser;
  parser.eager(false);
  beast::error_code ec;
  parser.put(boost::asio::buffer(wire), ec);
  ASSERT_FALSE(ec) << ec.message();
  ASSERT_TRUE(parser.is_header_done());
  EXPECT_EQ(parser.get().result_int(), 200);
  EXPECT_EQ(parser.get().version(), 10u);
  EXPECT_TRUE(parser.chunked());
  EXPECT_EQ(parser.get()[http::field::content_type], "text/event-stream");
}

TEST(WireTest, RequestHeadIsWhatBeastWrites) {
  http::request<http::string_body> req{http::verb::post, "/v1/chat/completions?x=1", 11};
  req.set(http::field::host, "127.0.0.1:8080");
  req.set(http::field::content_type, "application/json");
  req.set("x-custom", "a b");
  req.body() = "{}";
  req.prepare_payload();
  std::string mine;
  AppendRequestHead(mine, req.base());
  http::request<http::empty_body> head{req.base()};
  EXPECT_EQ(mine, BeastHead(head));
  EXPECT_EQ(mine.rfind("POST /v1/chat/completions?x=1 HTTP/1.1\r\n", 0), 0u);
}

TEST(WireTest, ChunkSizeIsHex) {
  std::string s;
  AppendChunkSize(s, 0);
  AppendChunkSize(s, 255);
  AppendChunkSize(s, 4096);
  EXPECT_EQ(s, "0\r\nff\r\n1000\r\n");
}

}  // namespace
}  // namespace steward::server
