// End-to-end behaviour of the gateway core over loopback: auth, limits,
// routing, streaming relay, upstream faults and the circuit breaker,
// malformed input, slow clients, graceful shutdown, admin plane.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "harness.h"

namespace steward::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

std::map<std::string, std::string> Bearer(const std::string& key) { return {{"Authorization", "Bearer " + key}}; }

std::string ContentOf(const HttpResponse& r) {
  auto v = json::parse(r.body);
  return std::string(v.at("choices").at(0).at("message").at("content").as_string());
}

// A chat stream's events (all but the final [DONE]) read back: the text in
// order, how many events carried text and how many a role.
struct ChatStreamTally {
  std::string text;
  int content_events = 0;
  int role_events = 0;
};
ChatStreamTally TallyChatStream(const std::vector<std::string>& events) {
  ChatStreamTally t;
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    json::value ev = json::parse(events[i]);
    const auto& choices = ev.at("choices").as_array();
    if (choices.empty()) continue;  // usage event
    const auto& delta = choices[0].at("delta").as_object();
    if (const auto* c = delta.if_contains("content")) {
      t.text += c->as_string();
      ++t.content_events;
    }
    if (delta.contains("role")) ++t.role_events;
  }
  return t;
}

class GatewayTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fx_ = new GatewayFixture("server:\n  header_timeout_ms: 1500\n  max_body_bytes: 1048576\n");
    user_key_ = new std::string(fx_->CreateKey("user"));
    admin_key_ = new std::string(fx_->CreateKey("admin"));
  }
  static void TearDownTestSuite() {
    delete fx_;
    delete user_key_;
    delete admin_key_;
  }
  static GatewayFixture* fx_;
  static std::string* user_key_;
  static std::string* admin_key_;
};
GatewayFixture* GatewayTest::fx_ = nullptr;
std::string* GatewayTest::user_key_ = nullptr;
std::string* GatewayTest::admin_key_ = nullptr;

TEST_F(GatewayTest, ChatCompletionIsProxied) {
  auto r = fx_->Chat(*user_key_, "What is the capital of France?");
  ASSERT_EQ(r.status, 200) << r.body << fx_->log();
  EXPECT_EQ(r.Header("x-steward-request-id").rfind("req_", 0), 0u);
  EXPECT_NE(ContentOf(r).find("Simulated reply"), std::string::npos);
  auto v = json::parse(r.body);
  EXPECT_GT(v.at("usage").at("completion_tokens").as_int64(), 0);
}

TEST_F(GatewayTest, EchoShowsWhatReachedTheModel) {
  auto r = fx_->Chat(*user_key_, "plain words only", {{"x-sim-echo", "1"}});
  ASSERT_EQ(r.status, 200) << r.body;
  auto messages = json::parse(ContentOf(r));
  EXPECT_EQ(messages.at(0).at("content").as_string(), "plain words only");
}

TEST_F(GatewayTest, CompletionsEmbeddingsAndModels) {
  auto c = Http(fx_->port(), "POST", "/v1/completions", R"({"model":"sim-small","prompt":"Say hi"})", Bearer(*user_key_));
  ASSERT_EQ(c.status, 200) << c.body;
  EXPECT_TRUE(json::parse(c.body).at("choices").at(0).at("text").is_string());
  auto e = Http(fx_->port(), "POST", "/v1/embeddings", R"({"model":"embed","input":["a","b"]})", Bearer(*user_key_));
  ASSERT_EQ(e.status, 200) << e.body;
  EXPECT_EQ(json::parse(e.body).at("data").as_array().size(), 2u);
  // The vectors arrive as the model server wrote them, in plain decimals.
  EXPECT_EQ(e.body.find('E'), std::string::npos) << e.body;
  auto m = Http(fx_->port(), "GET", "/v1/models", "", Bearer(*user_key_));
  ASSERT_EQ(m.status, 200) << m.body;
  EXPECT_EQ(json::parse(m.body).at("object").as_string(), "list");
}

TEST_F(GatewayTest, AuthFailuresAre401InOpenAIShape) {
  auto none = Http(fx_->port(), "POST", "/v1/chat/completions", GatewayFixture::ChatBody("hi"));
  EXPECT_EQ(none.status, 401);
  auto err = json::parse(none.body).at("error");
  EXPECT_NE(std::string(err.at("message").as_string()).find("missing API key"), std::string::npos);
  EXPECT_FALSE(none.Header("x-steward-request-id").empty());
  auto bad = fx_->Chat("sk-stw-not-a-key", "hi");
  EXPECT_EQ(bad.status, 401);
  EXPECT_EQ(json::parse(bad.body).at("error").at("code").as_string(), "invalid_api_key");
  auto malformed = Http(fx_->port(), "POST", "/v1/chat/completions", GatewayFixture::ChatBody("hi"), {{"Authorization", "Basic abc"}});
  EXPECT_EQ(malformed.status, 401);
}

TEST_F(GatewayTest, RevokedKeyStopsWorking) {
  auto created = fx_->Cli({"keys", "create", "--name", "temp", "--json"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  auto info = json::parse(created.out);
  std::string secret(info.at("secret").as_string()), id(info.at("id").as_string());
  EXPECT_EQ(fx_->Chat(secret, "hi").status, 200);
  ASSERT_EQ(fx_->Cli({"keys", "revoke", id}).exit_code, 0);
  std::this_thread::sleep_for(1200ms);  // the gateway's key snapshot refreshes every second
  EXPECT_EQ(fx_->Chat(secret, "hi").status, 401);
  auto list = fx_->Cli({"keys", "list", "--json"});
  EXPECT_EQ(list.out.find(secret), std::string::npos) << "secrets must never be listed";
}

TEST_F(GatewayTest, RequestsPerMinuteLimitAnswers429WithRetryAfter) {
  std::string key = fx_->CreateKey("user", {"--rpm", "2"});
  EXPECT_EQ(fx_->Chat(key, "one").status, 200);
  EXPECT_EQ(fx_->Chat(key, "two").status, 200);
  auto third = fx_->Chat(key, "three");
  EXPECT_EQ(third.status, 429) << third.body;
  int retry = std::atoi(third.Header("retry-after").c_str());
  EXPECT_GE(retry, 1);
  EXPECT_LE(retry, 30);
  EXPECT_EQ(json::parse(third.body).at("error").at("code").as_string(), "rate_limit_exceeded");
}

TEST_F(GatewayTest, TokensPerMinuteLimitChargesUsage) {
  std::string key = fx_->CreateKey("user", {"--tpm", "20"});
  auto first = fx_->Chat(key, "a long enough prompt to use up the tiny token budget of this key at once");
  ASSERT_EQ(first.status, 200) << first.body;  // admitted: the budget was positive
  auto second = fx_->Chat(key, "again");
  EXPECT_EQ(second.status, 429);
  EXPECT_NE(second.body.find("tokens per minute"), std::string::npos);
}

TEST_F(GatewayTest, MalformedBodiesGetClear400s) {
  auto h = Bearer(*user_key_);
  auto truncated = Http(fx_->port(), "POST", "/v1/chat/completions", R"({"model":"m","messages":[{"role":"us)", h);
  EXPECT_EQ(truncated.status, 400);
  EXPECT_NE(truncated.body.find("not valid JSON"), std::string::npos) << truncated.body;
  auto wrong_type = Http(fx_->port(), "POST", "/v1/chat/completions", R"({"model":"m","messages":"hello"})", h);
  EXPECT_EQ(wrong_type.status, 400);
  EXPECT_NE(wrong_type.body.find("`messages` must be an array"), std::string::npos) << wrong_type.body;
  auto no_model = Http(fx_->port(), "POST", "/v1/chat/completions", R"({"messages":[{"role":"user","content":"x"}]})", h);
  EXPECT_EQ(no_model.status, 400);
  EXPECT_NE(no_model.body.find("`model`"), std::string::npos);
  auto bad_utf8 = Http(fx_->port(), "POST", "/v1/chat/completions",
                       std::string("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"\xff\xfe\"}]}"), h);
  EXPECT_EQ(bad_utf8.status, 400);
  EXPECT_NE(bad_utf8.body.find("UTF-8"), std::string::npos) << bad_utf8.body;
  auto not_object = Http(fx_->port(), "POST", "/v1/chat/completions", "[1,2]", h);
  EXPECT_EQ(not_object.status, 400);
  auto stream_type = Http(fx_->port(), "POST", "/v1/chat/completions",
                          R"({"model":"m","stream":"yes","messages":[{"role":"user","content":"x"}]})", h);
  EXPECT_EQ(stream_type.status, 400);
  auto unknown = Http(fx_->port(), "GET", "/v2/nothing", "", h);
  EXPECT_EQ(unknown.status, 404);
  auto wrong_method = Http(fx_->port(), "GET", "/v1/chat/completions", "", h);
  EXPECT_EQ(wrong_method.status, 405);
  // ...and the gateway keeps serving.
  EXPECT_EQ(fx_->Chat(*user_key_, "still fine?").status, 200);
}

TEST_F(GatewayTest, HugeBodyIs413AndGatewayKeepsServing) {
  std::string huge(60u << 20, 'a');  // 60 MB against a 1 MiB limit
  auto r = Http(fx_->port(), "POST", "/v1/chat/completions", huge, Bearer(*user_key_));
  EXPECT_EQ(r.status, 413);
  EXPECT_NE(r.body.find("exceeds the limit"), std::string::npos) << r.body;
  EXPECT_EQ(fx_->Chat(*user_key_, "after the flood").status, 200);
}

TEST_F(GatewayTest, SlowClientTimesOutWithoutBlockingOthers) {
  // A slowloris: sends a header byte every 200 ms and never finishes.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(fx_->port());
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  std::atomic<bool> closed_by_server{false};
  std::thread slow([&] {
    std::string head = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    ::send(fd, head.data(), head.size(), MSG_NOSIGNAL);
    for (int i = 0; i < 40; ++i) {
      std::this_thread::sleep_for(200ms);
      if (::send(fd, "a", 1, MSG_NOSIGNAL) < 0) {
        closed_by_server = true;
        return;
      }
      char buf[512];
      ssize_t n = ::recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
      if (n == 0 || (n > 0 && std::string(buf, n).find("408") != std::string::npos)) {
        closed_by_server = true;
        return;
      }
    }
  });
  // Meanwhile other clients are served promptly.
  for (int i = 0; i < 5; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(fx_->Chat(*user_key_, "concurrent").status, 200);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  }
  slow.join();
  ::close(fd);
  EXPECT_TRUE(closed_by_server) << "the server must drop a request that does not arrive within header_timeout_ms";
}

TEST_F(GatewayTest, StreamRelaysEveryChunkInOrderWithoutBuffering) {
  auto h = Bearer(*user_key_);
  h["x-sim-chunks"] = "6";
  h["x-sim-chunk-delay-ms"] = "250";
  auto plain = Http(fx_->sim_port(), "POST", "/v1/chat/completions", GatewayFixture::ChatBody("stream me", false), {});
  ASSERT_EQ(plain.status, 200);
  std::string expected = ContentOf(plain);

  auto s = HttpStream(fx_->port(), "/v1/chat/completions", GatewayFixture::ChatBody("stream me", true), h);
  ASSERT_EQ(s.status, 200) << s.body;
  EXPECT_EQ(s.headers["content-type"], "text/event-stream");
  auto events = s.DataEvents();
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events.back(), "[DONE]");
  ChatStreamTally tally = TallyChatStream(events);
  EXPECT_EQ(tally.text, expected) << "every chunk, in order";
  EXPECT_EQ(tally.content_events, 6);
  EXPECT_EQ(tally.role_events, 1);
  // The first chunk reached the client long before the last one was made
  // (the simulator spends ~1.5 s producing the rest).
  ASSERT_GE(s.pieces.size(), 2u);
  auto first = s.pieces.front().first, last = s.pieces.back().first;
  EXPECT_GT(last - first, 1000ms) << "the reply was buffered instead of relayed";
  EXPECT_LT(first - s.sent_at, 500ms);
}

TEST_F(GatewayTest, StreamWithoutUsageGetsEstimatedTokens) {
  auto h = Bearer(*user_key_);
  h["x-sim-no-usage"] = "1";
  auto s = HttpStream(fx_->port(), "/v1/chat/completions", GatewayFixture::ChatBody("estimate me", true), h);
  ASSERT_EQ(s.status, 200);
  EXPECT_EQ(s.DataEvents().back(), "[DONE]");
}

TEST_F(GatewayTest, UpstreamErrorsMapToGatewayStatuses) {
  auto h = Bearer(*user_key_);
  h["x-sim-status"] = "502";
  auto r = fx_->Chat(*user_key_, "fail please", h);
  EXPECT_EQ(r.status, 502);
  EXPECT_NE(r.body.find("upstream `local` answered 502"), std::string::npos) << r.body;
  h["x-sim-status"] = "400";
  auto passthrough = fx_->Chat(*user_key_, "client error", h);
  EXPECT_EQ(passthrough.status, 400) << "upstream 4xx is the client's problem and passes through";
}

TEST_F(GatewayTest, AdminPlaneServesAuditProofsAsTheCliPrintsThem) {
  auto call = fx_->Chat(*user_key_, "prove me");
  ASSERT_EQ(call.status, 200) << call.body;
  const std::string index = call.Header("x-steward-audit-index");
  ASSERT_FALSE(index.empty());
  const std::string size = std::to_string(std::stoll(index) + 1);

  auto record =
      Http(fx_->admin_port(), "GET", "/admin/audit/records/" + index, "", Bearer(*admin_key_));
  ASSERT_EQ(record.status, 200) << record.body;
  EXPECT_EQ(json::parse(record.body).at("record").at("request_id").as_string(),
            call.Header("x-steward-request-id"));
  // The same proof document over HTTP as from `steward audit prove`.
  auto proof = Http(fx_->admin_port(), "GET", "/admin/audit/proof/" + index + "?size=" + size, "",
                    Bearer(*admin_key_));
  ASSERT_EQ(proof.status, 200) << proof.body;
  CommandResult cli = fx_->Cli({"audit", "prove", index, "--size", size});
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  EXPECT_EQ(json::parse(proof.body), json::parse(cli.out));
  auto head = Http(fx_->admin_port(), "POST", "/admin/audit/sth", "", Bearer(*admin_key_));
  ASSERT_EQ(head.status, 200) << head.body;
  EXPECT_GE(json::parse(head.body).at("tree_size").as_int64(), std::stoll(size));
  EXPECT_EQ(Http(fx_->admin_port(), "GET", "/admin/audit/sth", "", Bearer(*user_key_)).status, 403);
}

TEST_F(GatewayTest, AdminPlaneProbesMetricsAndKeys) {
  EXPECT_EQ(Http(fx_->admin_port(), "GET", "/healthz").status, 200);
  auto ready = Http(fx_->admin_port(), "GET", "/readyz");
  EXPECT_EQ(ready.status, 200) << ready.body;
  EXPECT_EQ(Http(fx_->admin_port(), "GET", "/metrics").status, 401);
  EXPECT_EQ(Http(fx_->admin_port(), "GET", "/metrics", "", Bearer(*user_key_)).status, 403);
  fx_->Chat(*user_key_, "count me");
  auto m = Http(fx_->admin_port(), "GET", "/metrics", "", Bearer(*admin_key_));
  ASSERT_EQ(m.status, 200);
  EXPECT_NE(m.body.find("steward_requests_total{route=\"chat.completions\",model=\"sim-small\",status=\"200\"}"), std::string::npos);
  EXPECT_NE(m.body.find("steward_request_duration_seconds_bucket"), std::string::npos);
  EXPECT_NE(m.body.find("steward_stage_duration_seconds_bucket{stage=\"auth\""), std::string::npos);
  EXPECT_NE(m.body.find("steward_upstream_breaker_state{upstream=\"local\"} 0"), std::string::npos);
  auto created = Http(fx_->admin_port(), "POST", "/admin/keys", R"({"name":"via-api","role":"user"})", Bearer(*admin_key_));
  ASSERT_EQ(created.status, 201) << created.body;
  std::string secret(json::parse(created.body).at("secret").as_string());
  EXPECT_EQ(fx_->Chat(secret, "hello").status, 200);
  auto dash = Http(fx_->admin_port(), "GET", "/");
  EXPECT_EQ(dash.status, 200);
  EXPECT_NE(dash.body.find("<title>Steward</title>"), std::string::npos);
}

TEST_F(GatewayTest, AccessLogHasNoPromptTextAndNoSecrets) {
  std::string marker = "zebra-quartz-prompt-marker";
  ASSERT_EQ(fx_->Chat(*user_key_, marker).status, 200);
  std::this_thread::sleep_for(300ms);
  std::ifstream in(fx_->data_dir() + "/var/access.log");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string log = ss.str();
  EXPECT_NE(log.find("\"path\":\"/v1/chat/completions\""), std::string::npos);
  EXPECT_EQ(log.find(marker), std::string::npos);
  EXPECT_EQ(log.find(*user_key_), std::string::npos);
}

// With the governance stages on, the output scanner holds back the end of a
// chunk until it knows no entity continues there; that text goes out in an
// extra event, which must look like any other content delta (no second
// `role`), and the text must still arrive whole and in order.
TEST(GatewayStreamTest, HeldBackTextGoesOutAsAPlainDelta) {
  GatewayFixture fx(
      "pipeline: [audit, auth, rate_limit, route, registry, scan_input, injection, policy, "
      "scan_output]\n");
  std::string key = fx.CreateKey("user");
  auto plain = Http(fx.sim_port(), "POST", "/v1/chat/completions",
                    GatewayFixture::ChatBody("stream me", false), {});
  ASSERT_EQ(plain.status, 200);
  auto s =
      HttpStream(fx.port(), "/v1/chat/completions", GatewayFixture::ChatBody("stream me", true),
                 {{"authorization", "Bearer " + key}, {"x-sim-chunks", "6"}});
  ASSERT_EQ(s.status, 200) << s.body;
  auto events = s.DataEvents();
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back(), "[DONE]");
  ChatStreamTally tally = TallyChatStream(events);
  EXPECT_EQ(tally.text, ContentOf(plain));
  EXPECT_GT(tally.content_events, 6) << "expected the scanner to hold back a tail";
  EXPECT_EQ(tally.role_events, 1);
}

// A "*" upstream serves whatever it has: GET /v1/models lists what it
// reports (so UIs that pick a model from the list see them), next to the
// explicit names; an upstream that cannot answer only costs its own names.
TEST(GatewayModelsTest, ListsWhatWildcardUpstreamsReport) {
  GatewayFixture fx("", R"(upstreams:
  - name: family
    url: http://127.0.0.1:$SIM_PORT
    models: ["sim-s*", "pinned-model"]
  - name: dead
    url: http://127.0.0.1:1
    models: ["*"]
    connect_retries: 1
)");
  std::string key = fx.CreateKey("user");
  auto r = Http(fx.port(), "GET", "/v1/models", "", {{"Authorization", "Bearer " + key}});
  ASSERT_EQ(r.status, 200) << r.body;
  std::vector<std::string> ids;
  json::value list = json::parse(r.body);
  for (const auto& m : list.at("data").as_array()) ids.emplace_back(m.at("id").as_string());
  // steward-sim reports sim-small and sim-large; only sim-small matches "sim-s*".
  EXPECT_EQ(ids, (std::vector<std::string>{"pinned-model", "sim-small"}));
  EXPECT_NE(fx.log().find("upstream `dead`: cannot list its models"), std::string::npos)
      << fx.log();
}

// Breaker, fallback and recovery need their own upstream layout.
TEST(GatewayFaultTest, BreakerOpensFallsBackAndClosesOnRecovery) {
  GatewayFixture fx("", R"(upstreams:
  - name: primary
    url: http://127.0.0.1:$SIM_PORT
    models: ["main-model"]
    fallback_model: backup-model
    breaker: {failure_threshold: 3, open_ms: 1500}
  - name: backup
    url: http://127.0.0.1:$SIM_PORT
    models: ["backup-model"]
  - name: dead
    url: http://127.0.0.1:1
    models: ["dead-model"]
    connect_retries: 1
    breaker: {failure_threshold: 2, open_ms: 60000}
)");
  std::string key = fx.CreateKey("user");
  std::map<std::string, std::string> fail = {{"x-sim-status", "503"}};
  for (int i = 0; i < 3; ++i) EXPECT_EQ(fx.Chat(key, "x", fail, "main-model").status, 503);
  // Open now: the fallback model answers, and says so.
  auto fb = fx.Chat(key, "x", {{"x-sim-echo", "0"}}, "main-model");
  ASSERT_EQ(fb.status, 200) << fb.body;
  EXPECT_EQ(fb.Header("x-steward-fallback"), "backup-model");
  EXPECT_EQ(json::parse(fb.body).at("model").as_string(), "backup-model");
  // After open_ms a probe goes to the primary; it succeeds and the circuit closes.
  std::this_thread::sleep_for(1600ms);
  auto probe = fx.Chat(key, "x", {}, "main-model");
  ASSERT_EQ(probe.status, 200);
  EXPECT_EQ(probe.Header("x-steward-fallback"), "");
  EXPECT_EQ(json::parse(probe.body).at("model").as_string(), "main-model");

  // A dead upstream: 502 naming it, then fast 503s once its circuit opens.
  auto d1 = fx.Chat(key, "x", {}, "dead-model");
  EXPECT_EQ(d1.status, 502);
  EXPECT_NE(d1.body.find("upstream `dead`"), std::string::npos) << d1.body;
  EXPECT_NE(d1.body.find("unreachable"), std::string::npos) << d1.body;
  fx.Chat(key, "x", {}, "dead-model");
  auto t0 = std::chrono::steady_clock::now();
  auto open = fx.Chat(key, "x", {}, "dead-model");
  EXPECT_EQ(open.status, 503);
  EXPECT_NE(open.body.find("circuit is open"), std::string::npos) << open.body;
  EXPECT_FALSE(open.Header("retry-after").empty());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 200ms) << "an open circuit fails fast";
  // Unknown model: 404.
  auto unknown = fx.Chat(key, "x", {}, "nobody-serves-this");
  EXPECT_EQ(unknown.status, 404);
}

TEST(GatewayFaultTest, UpstreamTimeoutIs504AndDropMidStreamEndsWithError) {
  GatewayFixture fx("", R"(upstreams:
  - name: slow
    url: http://127.0.0.1:$SIM_PORT
    models: ["*"]
    timeout_ms: 400
)");
  std::string key = fx.CreateKey("user");
  auto slow = fx.Chat(key, "x", {{"x-sim-latency-ms", "2000"}});
  EXPECT_EQ(slow.status, 504) << slow.body;
  EXPECT_NE(slow.body.find("did not answer within 400 ms"), std::string::npos) << slow.body;

  auto s = HttpStream(fx.port(), "/v1/chat/completions", GatewayFixture::ChatBody("x", true),
                      {{"Authorization", "Bearer " + key}, {"x-sim-drop-after", "2"}, {"x-sim-chunks", "5"}});
  ASSERT_EQ(s.status, 200);
  auto events = s.DataEvents();
  ASSERT_FALSE(events.empty());
  EXPECT_NE(events.back(), "[DONE]");
  EXPECT_NE(events.back().find("stream interrupted"), std::string::npos) << events.back();
  EXPECT_EQ(fx.Chat(key, "after").status, 200);
}

TEST(GatewayLifecycleTest, SigtermFinishesInFlightRequestsThenExitsZero) {
  GatewayFixture fx;
  std::string key = fx.CreateKey("user");
  auto pending = std::async(std::launch::async, [&] {
    return HttpStream(fx.port(), "/v1/chat/completions", GatewayFixture::ChatBody("slow", true),
                      {{"Authorization", "Bearer " + key}, {"x-sim-chunks", "4"}, {"x-sim-chunk-delay-ms", "300"}});
  });
  std::this_thread::sleep_for(300ms);
  ::kill(fx.gateway().pid(), SIGTERM);
  auto s = pending.get();
  EXPECT_EQ(s.status, 200);
  ASSERT_FALSE(s.DataEvents().empty());
  EXPECT_EQ(s.DataEvents().back(), "[DONE]") << "the in-flight stream completed";
  EXPECT_EQ(fx.gateway().Wait(10s), 0) << fx.log();
  EXPECT_FALSE(WaitForPort(fx.port(), 200ms)) << "no longer listening";
}

}  // namespace
}  // namespace steward::testing

namespace steward::testing {
namespace {

TEST(GatewayTlsTest, ServesHttpsWhenCertificateConfigured) {
  std::string dir = "/tmp/steward-tls-" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  auto gen = steward::testing::Run({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                  "-keyout", dir + "/key.pem", "-out", dir + "/cert.pem"});
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  GatewayFixture fx("server:\n  tls_cert: " + dir + "/cert.pem\n  tls_key: " + dir + "/key.pem\n");
  std::string key = fx.CreateKey("user");
  auto r = steward::testing::Run({"/usr/bin/curl", "-s", "--cacert", dir + "/cert.pem", "-o", "-", "-w", "\n%{http_code}",
                "https://127.0.0.1:" + std::to_string(fx.port()) + "/v1/chat/completions", "-H", "Authorization: Bearer " + key,
                "-H", "Content-Type: application/json", "-d", GatewayFixture::ChatBody("over TLS")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Simulated reply"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.substr(r.out.size() - 3), "200");
  // Plain HTTP to the TLS port is refused, and the gateway keeps serving.
  auto plain = Http(fx.port(), "POST", "/v1/chat/completions", GatewayFixture::ChatBody("x"), {{"Authorization", "Bearer " + key}},
                    std::chrono::seconds(5));
  EXPECT_NE(plain.status, 200);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace steward::testing

namespace steward::testing {
namespace {

TEST(GatewayPolicyTest, RouteObligationSendsTheCallToAnotherModel) {
  std::string dir = "/tmp/steward-route-policy-" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  {
    std::ofstream p(dir + "/route.policy");
    p << "@id(\"callers\")\npermit (principal.role in [\"user\"], action in [\"chat.completions\"]);\n"
      << "@id(\"reroute-big\")\nobligate (action in [\"chat.completions\"]) when { resource.name == \"big-model\" }\n"
      << "  with route(\"small-model\");\n";
  }
  GatewayFixture fx("pipeline: [audit, auth, rate_limit, route, policy]\npolicy:\n  dir: " + dir + "\n");
  std::string key = fx.CreateKey("user");
  auto r = fx.Chat(key, "hello", {}, "big-model");
  ASSERT_EQ(r.status, 200) << r.body << fx.log();
  EXPECT_EQ(r.Header("x-steward-routed"), "small-model");
  EXPECT_EQ(json::parse(r.body).at("model").as_string(), "small-model");
  auto plain = fx.Chat(key, "hello", {}, "other-model");
  ASSERT_EQ(plain.status, 200);
  EXPECT_EQ(json::parse(plain.body).at("model").as_string(), "other-model");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace steward::testing

namespace steward::testing {
namespace {

TEST(GatewayPolicyTest, ModelsListOnlyWhatTheKeyMayUse) {
  std::string dir = "/tmp/steward-models-policy-" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  {
    std::ofstream p(dir + "/models.policy");
    p << "@id(\"callers\")\npermit (principal.role in [\"user\", \"admin\"], action in [\"chat.completions\", \"models\"]);\n"
      << "@id(\"admins-only\")\nforbid (principal.role == \"user\", resource.name == \"restricted-model\");\n";
  }
  GatewayFixture fx("pipeline: [audit, auth, rate_limit, route, policy]\npolicy:\n  dir: " + dir + "\n",
                    "upstreams:\n  - name: local\n    url: http://127.0.0.1:$SIM_PORT\n"
                    "    models: [\"open-model\", \"restricted-model\"]\n");
  auto ids = [&](const std::string& key) {
    auto r = Http(fx.port(), "GET", "/v1/models", "", {{"Authorization", "Bearer " + key}});
    std::vector<std::string> out;
    json::value list = json::parse(r.body);
    for (const auto& m : list.at("data").as_array()) out.emplace_back(m.at("id").as_string());
    return out;
  };
  EXPECT_EQ(ids(fx.CreateKey("user")), (std::vector<std::string>{"open-model"}));
  EXPECT_EQ(ids(fx.CreateKey("admin")), (std::vector<std::string>{"open-model", "restricted-model"}));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace steward::testing

namespace steward::testing {
namespace {

TEST(AdminPolicyTest, ModelApprovalWithAKeyIsAuthorisedByPolicy) {
  std::string cwd = std::filesystem::current_path().string();
  GatewayFixture fx("policy:\n  dir: " + cwd + "/examples/policies\n");
  std::string model_dir = fx.data_dir() + "/model";
  std::filesystem::create_directories(model_dir);
  std::ofstream(model_dir + "/weights.bin") << std::string(4096, 'w');
  std::string user = fx.CreateKey("user"), admin = fx.CreateKey("admin");
  EXPECT_EQ(fx.Cli({"models", "register", model_dir, "--name", "tm", "--version", "1", "--license", "mit", "--key", user})
                .exit_code,
            1);
  auto reg = fx.Cli({"models", "register", model_dir, "--name", "tm", "--version", "1", "--license", "mit", "--key", admin});
  ASSERT_EQ(reg.exit_code, 0) << reg.err;
  auto denied = fx.Cli({"models", "approve", "tm@1", "--key", user});
  EXPECT_EQ(denied.exit_code, 1) << denied.err;
  EXPECT_NE(denied.err.find("may not models.approve"), std::string::npos) << denied.err;
  auto ok = fx.Cli({"models", "approve", "tm@1", "--key", admin});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  auto list = fx.Cli({"models", "list", "--json"});
  EXPECT_NE(list.out.find("key:key_"), std::string::npos) << "the approving key is recorded: " << list.out;
  // The admin API is authorised by the same bundle.
  auto created = Http(fx.admin_port(), "POST", "/admin/keys", R"({"name":"x","role":"user"})", {{"Authorization", "Bearer " + admin}});
  EXPECT_EQ(created.status, 201) << created.body;
}

// A missing or mistyped command is named, with the commands that exist
// (CLI11 alone says "A subcommand is required" for both).
TEST(CliTest, MissingOrUnknownCommandIsNamed) {
  const std::string steward = BuildDir() + "/steward";
  auto missing = steward::testing::Run({steward, "keys"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("`steward keys` needs a command: create, list, revoke"),
            std::string::npos)
      << missing.err;
  auto unknown = steward::testing::Run({steward, "--config", "x.yaml", "keys", "frobnicate"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("unknown command `frobnicate` for `steward keys`"), std::string::npos)
      << unknown.err;
  auto top = steward::testing::Run({steward, "reviews"});
  EXPECT_EQ(top.exit_code, 2);
  EXPECT_NE(top.err.find("unknown command `reviews` for `steward`; commands: audit"),
            std::string::npos)
      << top.err;
}

// `config check` builds every stage, so a stage section `serve` refuses is
// refused with the same file:line message, and it leaves the data dir alone.
TEST(CliTest, ConfigCheckBuildsEveryStage) {
  const std::string steward = BuildDir() + "/steward";
  const auto dir = std::filesystem::temp_directory_path() /
                   ("steward_config_check_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string base =
      "listen: 127.0.0.1:8080\ndata_dir: " + (dir / "var").string() +
      "\nupstreams:\n  - name: local\n    url: http://127.0.0.1:9000\n    models: [\"*\"]\n";
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream((dir / name).string()) << text;
    return (dir / name).string();
  };
  const std::string bad = write("bad.yaml", base + "scan:\n  keep_place_name: true\n");
  auto refused = steward::testing::Run({steward, "config", "check", "--config", bad});
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_NE(refused.err.find("bad.yaml:8:3: unknown scan key `keep_place_name`"), std::string::npos)
      << refused.err;
  const std::string good = write(
      "good.yaml", base + "scan:\n  hash_key_file: " + (dir / "keys/scan.key").string() + "\n");
  auto ok = steward::testing::Run({steward, "config", "check", "--config", good});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find("good.yaml: ok"), std::string::npos) << ok.out;
  EXPECT_FALSE(std::filesystem::exists(dir / "var"));
  EXPECT_FALSE(std::filesystem::exists(dir / "keys"));

  // Fail closed: names are protected by default, so a gateway whose name
  // model cannot be loaded does not start (it used to warn and serve
  // without PERSON/LOCATION detection) unless names are turned off.
  std::filesystem::create_directories(dir / "data");
  write("data/names.model", "not a model");
  const std::string data_env = "STEWARD_DATA_DIR=" + (dir / "data").string();
  auto no_names = steward::testing::Run(
      {"/usr/bin/env", data_env, steward, "config", "check", "--config", good});
  EXPECT_EQ(no_names.exit_code, 2) << no_names.err;
  EXPECT_NE(no_names.err.find("PERSON/LOCATION detection is on (`scan.names`, default true) but "
                              "its data could not be loaded"),
            std::string::npos)
      << no_names.err;
  const std::string off = write("off.yaml", base + "scan:\n  names: false\n  hash_key_file: " +
                                                (dir / "keys/scan.key").string() + "\n");
  auto names_off = steward::testing::Run(
      {"/usr/bin/env", data_env, steward, "config", "check", "--config", off});
  EXPECT_EQ(names_off.exit_code, 0) << names_off.err;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace steward::testing
