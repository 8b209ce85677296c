#include "sim/simulator.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/json.hpp>
#include <random>

#include "common/json_text.h"
#include "common/strings.h"

namespace steward::sim {

namespace json = boost::json;
namespace http = server::http;
namespace net = server::net;
using server::Task;

namespace {

constexpr std::string_view kWords[] = {
    "the",     "model",  "answers", "your",    "question", "with",   "care",    "and",
    "clarity", "while",  "keeping", "data",    "safe",     "every",  "request", "is",
    "logged",  "review", "policy",  "matters", "here",     "today",  "we",      "consider",
    "options", "trade",  "offs",    "results", "steward",  "checks", "before",  "replying"};

uint64_t Fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      std::string raw;
      if (HexDecode(s.substr(i + 1, 2), &raw)) {
        out += raw;
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

std::string_view HeaderOf(const server::Request& req, std::string_view name) {
  auto it = req.find(boost::beast::string_view(name.data(), name.size()));
  if (it == req.end()) return {};
  return {it->value().data(), it->value().size()};
}

int IntHeader(const server::Request& req, std::string_view name, int fallback) {
  auto v = HeaderOf(req, name);
  if (v.empty()) return fallback;
  return std::atoi(std::string(v).c_str());
}

// The text of the prompt: chat messages' string contents, a completions
// prompt, or embeddings input.
std::string PromptText(const json::object& body) {
  std::string out;
  if (auto* msgs = body.if_contains("messages"); msgs && msgs->is_array()) {
    for (const auto& m : msgs->get_array()) {
      if (!m.is_object()) continue;
      auto* c = m.get_object().if_contains("content");
      if (c && c->is_string()) {
        out += c->get_string();
        out += "\n";
      } else if (c && c->is_array()) {
        for (const auto& part : c->get_array()) {
          if (part.is_object()) {
            if (auto* t = part.get_object().if_contains("text"); t && t->is_string()) {
              out += t->get_string();
              out += "\n";
            }
          }
        }
      }
    }
  }
  if (auto* p = body.if_contains("prompt"); p && p->is_string()) out += p->get_string();
  return out;
}

std::string ErrorJson(int status, std::string_view message) {
  return json::serialize(json::object{
      {"error", json::object{{"message", message}, {"type", "sim_error"}, {"code", status}}}});
}

Task<void> Sleep(int ms) {
  if (ms <= 0) co_return;
  server::Timer t(co_await net::this_coro::executor, std::chrono::milliseconds(ms));
  co_await t.async_wait(server::kAwaitTuple);
}

http::response<http::string_body> Json(int status, std::string body) {
  return server::JsonResponse(11, status, std::move(body), true);
}

std::vector<std::string> SplitIntoChunks(const std::string& text, int n) {
  std::vector<std::string> out;
  if (n <= 1 || text.size() <= 1) {
    out.push_back(text);
    return out;
  }
  size_t per = (text.size() + n - 1) / n;
  for (size_t pos = 0; pos < text.size(); pos += per) {
    size_t end = std::min(text.size(), pos + per);
    // Never split inside a UTF-8 sequence.
    while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) ++end;
    out.push_back(text.substr(pos, end - pos));
    pos = end - per;
  }
  return out;
}

json::object UsageJson(size_t prompt_bytes, const std::string& reply) {
  int64_t p = static_cast<int64_t>((prompt_bytes + 3) / 4);
  int64_t c = static_cast<int64_t>((reply.size() + 3) / 4);
  return json::object{{"prompt_tokens", p}, {"completion_tokens", c}, {"total_tokens", p + c}};
}

}  // namespace

std::string ReplyFor(std::string_view prompt, int words) {
  uint64_t h = Fnv1a(prompt);
  std::string out = "Simulated reply " + HexEncode(std::string_view(reinterpret_cast<char*>(&h), 4)) + ":";
  uint64_t x = h;
  for (int i = 0; i < words; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out += " ";
    out += kWords[x % std::size(kWords)];
  }
  out += ".";
  return out;
}

Task<void> Simulator::Handle(server::Request& req, const server::Connection&, server::ResponseWriter& writer) {
  std::string_view target(req.target().data(), req.target().size());
  std::string path(target.substr(0, target.find('?')));
  if (path == "/healthz") {
    co_await writer.Send(Json(200, R"({"status":"ok"})"));
    co_return;
  }
  if (path == "/v1/models") {
    co_await writer.Send(Json(200, R"({"object":"list","data":[{"id":"sim-small","object":"model","created":0,"owned_by":"steward-sim"},{"id":"sim-large","object":"model","created":0,"owned_by":"steward-sim"}]})"));
    co_return;
  }
  bool chat = path == "/v1/chat/completions", completions = path == "/v1/completions",
       embeddings = path == "/v1/embeddings";
  if (!chat && !completions && !embeddings) {
    co_await writer.Send(Json(404, ErrorJson(404, "steward-sim: unknown path " + path)));
    co_return;
  }

  int latency = IntHeader(req, "x-sim-latency-ms", options_.latency_ms);
  if (HeaderOf(req, "x-sim-hang") == "1") latency = 600'000;
  co_await Sleep(latency);

  int forced = IntHeader(req, "x-sim-status", 0);
  double error_rate = options_.error_rate;
  if (auto v = HeaderOf(req, "x-sim-error-rate"); !v.empty()) error_rate = std::atof(std::string(v).c_str());
  thread_local std::mt19937_64 rng(std::random_device{}());
  if (!forced && error_rate > 0 && std::uniform_real_distribution<double>(0, 1)(rng) < error_rate) forced = 500;
  if (forced >= 400 && forced < 600) {
    co_await writer.Send(Json(forced, ErrorJson(forced, "steward-sim: injected failure")));
    co_return;
  }

  boost::system::error_code ec;
  json::value parsed = json::parse(req.body(), ec);
  if (ec || !parsed.is_object()) {
    co_await writer.Send(Json(400, ErrorJson(400, "steward-sim: body is not a JSON object")));
    co_return;
  }
  json::object& body = parsed.get_object();
  // No ?: with class temporaries in coroutine bodies (g++ 12 bug).
  std::string model = "sim";
  if (auto* m = body.if_contains("model"); m && m->is_string()) model = std::string(m->get_string());
  std::string prompt = PromptText(body);
  uint64_t h = Fnv1a(prompt);
  std::string id = HexEncode(std::string_view(reinterpret_cast<char*>(&h), 8));

  if (embeddings) {
    json::array data;
    auto add = [&](std::string_view text, int64_t index) {
      json::array vec;
      uint64_t x = Fnv1a(text) | 1;
      int dims = 8;
      if (auto* d = body.if_contains("dimensions"); d && d->is_int64()) dims = static_cast<int>(std::clamp<int64_t>(d->get_int64(), 1, 4096));
      for (int i = 0; i < dims; ++i) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        vec.push_back(static_cast<double>(x % 2000) / 1000.0 - 1.0);
      }
      data.push_back(json::object{{"object", "embedding"}, {"index", index}, {"embedding", std::move(vec)}});
    };
    size_t bytes = 0;
    const json::value& input = body["input"];
    if (input.is_string()) {
      add(input.get_string(), 0);
      bytes = input.get_string().size();
    } else if (input.is_array()) {
      int64_t i = 0;
      for (const auto& item : input.get_array()) {
        std::string s = item.is_string() ? std::string(item.get_string()) : json::serialize(item);
        bytes += s.size();
        add(s, i++);
      }
    }
    json::object out{{"object", "list"}, {"data", std::move(data)}, {"model", model}};
    int64_t tokens = static_cast<int64_t>((bytes + 3) / 4);
    out["usage"] = json::object{{"prompt_tokens", tokens}, {"total_tokens", tokens}};
    // Numbers as model servers write them ("-0.25"), not Boost's "-2.5E-1".
    co_await writer.Send(Json(200, JsonText(out)));
    co_return;
  }

  std::string reply;
  if (HeaderOf(req, "x-sim-echo") == "1") {
    if (chat) {
      reply = json::serialize(body["messages"]);
    } else {
      reply = json::serialize(body["prompt"]);
    }
  } else if (auto r = HeaderOf(req, "x-sim-reply"); !r.empty()) {
    reply = PercentDecode(r);
  } else {
    reply = ReplyFor(prompt, options_.reply_words);
  }
  bool usage = HeaderOf(req, "x-sim-no-usage") != "1";
  std::string tool;  // x-sim-tool-call: the reply is a call of this tool
  if (chat) tool = std::string(HeaderOf(req, "x-sim-tool-call"));
  const std::string call_id = "call_" + id;
  bool stream = body.contains("stream") && body["stream"].is_bool() && body["stream"].get_bool();
  const char* object = chat ? "chat.completion" : "text_completion";

  if (!stream) {
    json::object out{{"id", (chat ? "chatcmpl-" : "cmpl-") + id}, {"object", object}, {"created", 1700000000}, {"model", model}};
    json::object choice{{"index", 0}, {"finish_reason", "stop"}};
    if (!tool.empty()) {
      json::object call{{"id", call_id}, {"type", "function"},
                        {"function", json::object{{"name", tool}, {"arguments", reply}}}};
      choice["message"] = json::object{{"role", "assistant"}, {"content", nullptr},
                                       {"tool_calls", json::array{std::move(call)}}};
      choice["finish_reason"] = "tool_calls";
    } else if (chat) {
      choice["message"] = json::object{{"role", "assistant"}, {"content", reply}};
    } else {
      choice["text"] = reply;
    }
    out["choices"] = json::array{std::move(choice)};
    if (usage) out["usage"] = UsageJson(prompt.size(), reply);
    co_await writer.Send(Json(200, json::serialize(out)));
    co_return;
  }

  int chunks = std::clamp(IntHeader(req, "x-sim-chunks", options_.chunks), 1, 100000);
  int delay = IntHeader(req, "x-sim-chunk-delay-ms", options_.chunk_delay_ms);
  int drop_after = IntHeader(req, "x-sim-drop-after", -1);
  // Some servers end a stream without a finish_reason (only [DONE]).
  bool with_finish_reason = HeaderOf(req, "x-sim-no-finish-reason") != "1";
  http::response<http::empty_body> head{http::status::ok, 11};
  head.set(http::field::content_type, "text/event-stream");
  head.set(http::field::cache_control, "no-cache");
  if (!co_await writer.StartStream(std::move(head))) co_return;
  std::string chunk_object = chat ? "chat.completion.chunk" : "text_completion";
  auto event = [&](std::string_view text, bool first, bool last) {
    json::object ev{{"id", (chat ? "chatcmpl-" : "cmpl-") + id}, {"object", chunk_object}, {"created", 1700000000}, {"model", model}};
    json::object choice{{"index", 0}};
    if (chat) {
      json::object delta;
      if (first) delta["role"] = "assistant";
      if (!last && tool.empty()) delta["content"] = text;
      if (!last && !tool.empty()) {
        json::object call{{"index", 0}, {"function", json::object{{"arguments", text}}}};
        if (first) {
          call["id"] = call_id;
          call["type"] = "function";
          call["function"].as_object()["name"] = tool;
        }
        delta["tool_calls"] = json::array{std::move(call)};
      }
      choice["delta"] = std::move(delta);
    } else {
      choice["text"] = last ? "" : text;
    }
    choice["finish_reason"] = last && with_finish_reason ? json::value(tool.empty() ? "stop" : "tool_calls")
                                                         : json::value(nullptr);
    ev["choices"] = json::array{std::move(choice)};
    return "data: " + json::serialize(ev) + "\n\n";
  };
  auto pieces = SplitIntoChunks(reply, chunks);
  int sent = 0;
  for (size_t i = 0; i < pieces.size(); ++i) {
    if (drop_after >= 0 && sent >= drop_after) co_return;  // connection dropped mid-stream
    if (i > 0) co_await Sleep(delay);
    if (!co_await writer.WriteChunk(event(pieces[i], i == 0, false))) co_return;
    ++sent;
  }
  if (drop_after >= 0 && sent >= drop_after) co_return;
  co_await Sleep(delay);
  std::string tail = event("", false, true);
  bool include_usage = usage;
  if (auto* so = body.if_contains("stream_options"); so && so->is_object()) {
    if (auto* iu = so->get_object().if_contains("include_usage"); iu && iu->is_bool()) include_usage = usage && iu->get_bool();
  }
  if (include_usage) {
    json::object u{{"id", (chat ? "chatcmpl-" : "cmpl-") + id}, {"object", chunk_object}, {"created", 1700000000},
                   {"model", model}, {"choices", json::array{}}, {"usage", UsageJson(prompt.size(), reply)}};
    tail += "data: " + json::serialize(u) + "\n\n";
  }
  tail += "data: [DONE]\n\n";
  if (!co_await writer.WriteChunk(tail)) co_return;
  co_await writer.EndStream();
}

}  // namespace steward::sim
