// HTTP/1.1 message heads written straight into one string.
//
// Beast's serializer walks a buffers_cat_view of every field on each write,
// which cost about a fifth of the proxy's user-space CPU per request. A head
// is a few hundred bytes: formatting it once and writing head and body as
// one gather write is cheaper and makes the same bytes.
#pragma once

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

// The framing line of one chunk of a chunked body: hex size and CRLF.
void AppendChunkSize(std::string& out, size_t size);

}  // namespace steward::server
