// HTTP/1.1 message heads written straight into one string.
//
// Beast's serializer walks a buffers_cat_view of every field on each write,
// which cost about a fifth of the proxy's user-space CPU per request. A head
// is a few hundred bytes: formatting it once and writing head and body as
// one gather write is cheaper and makes the same bytes.
#pragma once

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <string>
#include <string_view>

namespace steward::server {

namespace http = boost::beast::http;

// "HTTP/1.1 200 OK\r\n" + fields + "\r\n". The fields must already say how
// the body is framed (Content-Length or Transfer-Encoding).
void AppendResponseHead(std::string& out, const http::response_header<>& head);

// "POST /path HTTP/1.1\r\n" + fields + "\r\n".
void AppendRequestHead(std::string& out, const http::request_header<>& head);

// Feeds `parser` what `buffer` already holds (consuming it), as Beast's
// async read operations would, but without their completion round trip
// through the scheduler: a small request or reply usually arrives with its
// head in one read, so the body needs no second operation. Returns the
// parser's error; http::error::need_more means more bytes must be read and
// http::error::need_buffer that a buffer_body's buffer is full.
template <bool isRequest>
boost::beast::error_code ParseBuffered(http::basic_parser<isRequest>& parser,
                                       boost::beast::flat_buffer& buffer) {
  boost::beast::error_code ec;
  while (buffer.size() > 0 && !parser.is_done()) {
    size_t used = parser.put(buffer.data(), ec);
    buffer.consume(used);
    if (ec || used == 0) break;
  }
  return ec;
}

// The framing line of one chunk of a chunked body: hex size and CRLF.
void AppendChunkSize(std::string& out, size_t size);

}  // namespace steward::server
