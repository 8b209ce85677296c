#include "server/wire.h"

#include <charconv>

namespace steward::server {

namespace {

void AppendVersion(std::string& out, unsigned version) {
  out += "HTTP/";
  out.push_back(static_cast<char>('0' + version / 10));
  out.push_back('.');
  out.push_back(static_cast<char>('0' + version % 10));
}

void AppendFields(std::string& out, const http::fields& fields) {
  for (const auto& f : fields) {
    auto name = f.name_string();
    auto value = f.value();
    out.append(name.data(), name.size());
    out += ": ";
    out.append(value.data(), value.size());
    out += "\r\n";
  }
  out += "\r\n";
}

}  // namespace

void AppendResponseHead(std::string& out, const http::response_header<>& head) {
  AppendVersion(out, head.version());
  char code[4];
  unsigned status = head.result_int();
  code[0] = static_cast<char>('0' + status / 100 % 10);
  code[1] = static_cast<char>('0' + status / 10 % 10);
  code[2] = static_cast<char>('0' + status % 10);
  code[3] = ' ';
  out.push_back(' ');
  out.append(code, 4);
  auto reason = head.reason();
  if (reason.empty()) reason = http::obsolete_reason(head.result());
  out.append(reason.data(), reason.size());
  out += "\r\n";
  AppendFields(out, head);
}

void AppendRequestHead(std::string& out, const http::request_header<>& head) {
  auto method = head.method_string();
  auto target = head.target();
  out.append(method.data(), method.size());
  out.push_back(' ');
  out.append(target.data(), target.size());
  out.push_back(' ');
  AppendVersion(out, head.version());
  out += "\r\n";
  AppendFields(out, head);
}

void AppendChunkSize(std::string& out, size_t size) {
  char buf[20];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), size, 16);
  out.append(buf, end);
  out += "\r\n";
}

}  // namespace steward::server
