#include "stages/scan_input/scan_input_stage.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "scan/request_scan.h"

namespace steward::stages {
namespace {

const scan::Scanner* Patterns() {
  static auto s = scan::Scanner::Create("");
  return s->get();
}

std::unique_ptr<ScanInputStage> MakeStage(const std::string& yaml = "") {
  YAML::Node root = YAML::Load(yaml.empty() ? "{}" : yaml);
  auto settings = scan::ParseScanSettings("test.yaml", root["scan"]);
  EXPECT_TRUE(settings.ok()) << settings.status().ToString();
  return std::make_unique<ScanInputStage>(
      std::make_shared<const scan::ScanSettings>(*settings), Patterns(), "0123456789abcdef");
}

RequestContext ChatRequest(const std::string& content, const std::string& role = "user") {
  RequestContext ctx;
  ctx.endpoint = Endpoint::kChatCompletions;
  ctx.principal.role = "user";
  ctx.model = "llama-3";
  ctx.body = boost::json::parse(R"({"model":"llama-3","messages":[{"role":")" + role +
                                R"(","content":""}]})")
                 .as_object();
  ctx.body["messages"].as_array()[0].as_object()["content"] = content;
  return ctx;
}

std::string FirstContent(const RequestContext& ctx) {
  return std::string(ctx.body.at("messages").as_array()[0].at("content").as_string());
}

const FindingSummary* FindSummary(const RequestContext& ctx, std::string_view type) {
  for (const auto& f : ctx.findings)
    if (f.type == type) return &f;
  return nullptr;
}

TEST(ScanInput, DefaultPseudonymizesAndRestores) {
  auto stage = MakeStage();
  auto ctx = ChatRequest("Mail jane.roe@corp.example and call +44 20 7946 0958.");
  ASSERT_EQ(stage->OnRequest(ctx).action, StageResult::Action::kContinue);
  std::string sent = FirstContent(ctx);
  EXPECT_EQ(sent.find("jane.roe@corp.example"), std::string::npos) << sent;
  EXPECT_EQ(sent.find("7946"), std::string::npos) << sent;
  EXPECT_TRUE(ctx.body_modified);
  const FindingSummary* email = FindSummary(ctx, "EMAIL_ADDRESS");
  ASSERT_NE(email, nullptr);
  EXPECT_EQ(email->direction, "input");
  EXPECT_EQ(email->count, 1);
  EXPECT_EQ(email->action, "pseudonymize");

  // The model echoes the placeholders; the reply must carry the originals.
  auto& vault = ctx.Slot<scan::RequestScanState>().vault;
  ASSERT_EQ(vault.size(), 2u);
  std::string reply = "Sure: " + sent;
  ResponseView resp;
  resp.status = 200;
  resp.body = boost::json::parse(R"({"choices":[{"message":{"role":"assistant","content":""}}]})");
  resp.body.as_object()["choices"].as_array()[0].as_object()["message"].as_object()["content"] = reply;
  stage->OnResponse(ctx, resp);
  EXPECT_TRUE(resp.body_modified);
  std::string restored(
      resp.body.at("choices").as_array()[0].at("message").at("content").as_string());
  EXPECT_EQ(restored, "Sure: Mail jane.roe@corp.example and call +44 20 7946 0958.");
}

TEST(ScanInput, SecretsAreRefusedWithoutEchoingValues) {
  auto stage = MakeStage();
  auto ctx = ChatRequest("deploy with AKIAIOSFODNN7EXAMPLE please");
  StageResult r = stage->OnRequest(ctx);
  ASSERT_EQ(r.action, StageResult::Action::kReply);
  EXPECT_EQ(r.reply.status, 403);
  EXPECT_NE(r.reply.body.find("AWS_ACCESS_KEY"), std::string::npos);
  EXPECT_EQ(r.reply.body.find("AKIAIOSFODNN7EXAMPLE"), std::string::npos);
  ASSERT_NE(FindSummary(ctx, "AWS_ACCESS_KEY"), nullptr);
  EXPECT_EQ(FindSummary(ctx, "AWS_ACCESS_KEY")->action, "block");
}

TEST(ScanInput, StreamRestoresPlaceholderSplitAcrossChunks) {
  auto stage = MakeStage();
  auto ctx = ChatRequest("my card is 4111 1111 1111 1111");
  ASSERT_EQ(stage->OnRequest(ctx).action, StageResult::Action::kContinue);
  std::string sent = FirstContent(ctx);
  size_t at = sent.find("4000");
  ASSERT_NE(at, std::string::npos) << sent;
  std::string placeholder = sent.substr(at, 19);
  ResponseView resp;
  resp.streaming = true;
  stage->OnResponse(ctx, resp);
  std::string reply = "Card " + placeholder + " noted.";
  std::string got;
  for (size_t i = 0; i < reply.size(); i += 3) {
    StreamChunk c;
    c.has_text = true;
    c.text = reply.substr(i, 3);
    stage->OnChunk(ctx, c);
    got += c.text;
  }
  StreamChunk fin;
  fin.final = true;
  stage->OnChunk(ctx, fin);
  got += fin.text;
  EXPECT_EQ(got, "Card 4111 1111 1111 1111 noted.");
}

TEST(ScanInput, StreamRestoresPlaceholderSplitAcrossToolCallDeltas) {
  auto stage = MakeStage();
  auto ctx = ChatRequest("my card is 4111 1111 1111 1111");
  ASSERT_EQ(stage->OnRequest(ctx).action, StageResult::Action::kContinue);
  std::string sent = FirstContent(ctx);
  size_t at = sent.find("4000");
  ASSERT_NE(at, std::string::npos) << sent;
  std::string placeholder = sent.substr(at, 19);
  ResponseView resp;
  resp.streaming = true;
  stage->OnResponse(ctx, resp);
  std::string args = R"({"card":")" + placeholder + R"(","amount":5})";
  std::string got;
  auto delta = [](const std::string& piece, bool finish) {
    boost::json::object choice{
        {"index", 0},
        {"delta", boost::json::object{{"tool_calls", boost::json::array{boost::json::object{
                                                         {"index", 0},
                                                         {"function", boost::json::object{
                                                                          {"arguments", piece}}}}}}}}};
    choice["finish_reason"] = finish ? boost::json::value("tool_calls") : boost::json::value(nullptr);
    return boost::json::object{{"choices", boost::json::array{std::move(choice)}}};
  };
  auto collect = [&got](const boost::json::object& ev) {
    for (const auto& tc : ev.at("choices").as_array()[0].at("delta").at("tool_calls").as_array())
      got += tc.at("function").at("arguments").as_string();
  };
  for (size_t i = 0; i < args.size(); i += 4) {
    StreamChunk c;
    c.event = delta(args.substr(i, 4), false);
    ASSERT_EQ(stage->OnChunk(ctx, c).action, StageResult::Action::kContinue);
    collect(c.event);
  }
  StreamChunk finishing;
  finishing.event = delta("", true);
  stage->OnChunk(ctx, finishing);
  collect(finishing.event);
  EXPECT_EQ(got, R"({"card":"4111 1111 1111 1111","amount":5})");
}

TEST(ScanInput, ConfigActionsPerEntityRoleAndRoute) {
  auto stage = MakeStage(R"(
scan:
  input:
    entities: {EMAIL_ADDRESS: mask, AWS_ACCESS_KEY: redact}
  roles:
    admin: {input: {pii: allow}}
  routes:
    - match: {model: "secret-*"}
      input: {entities: {EMAIL_ADDRESS: redact}}
)");
  auto ctx = ChatRequest("a@example.org key AKIAIOSFODNN7EXAMPLE");
  ASSERT_EQ(stage->OnRequest(ctx).action, StageResult::Action::kContinue);
  EXPECT_EQ(FirstContent(ctx), "****@example.org key <AWS_ACCESS_KEY>");

  auto admin = ChatRequest("a@example.org");
  admin.principal.role = "admin";
  stage->OnRequest(admin);
  EXPECT_EQ(FirstContent(admin), "a@example.org");

  auto routed = ChatRequest("mail bob@example.org");
  routed.model = "secret-model";
  stage->OnRequest(routed);
  EXPECT_EQ(FirstContent(routed), "mail <EMAIL_ADDRESS>");
}

// "What is the capital of France?" must reach the model as asked; a postal
// address is personal data and is still pseudonymized.
TEST(ScanInput, PlaceNamesAreKeptAddressesPseudonymized) {
  const scan::Scanner& scanner = scan::Scanner::Default();
  ASSERT_TRUE(scanner.has_names()) << "run from the repository root (data/scan)";
  const std::string prompt =
      "What is the capital of France? Ship the parts to 42 Elm Street in Springfield.";
  auto make = [&](const std::string& yaml) {
    YAML::Node root = YAML::Load(yaml);
    auto settings = scan::ParseScanSettings("test.yaml", root["scan"]);
    EXPECT_TRUE(settings.ok()) << settings.status().ToString();
    return std::make_unique<ScanInputStage>(std::make_shared<const scan::ScanSettings>(*settings),
                                            &scanner, "0123456789abcdef");
  };
  auto kept = ChatRequest(prompt);
  ASSERT_EQ(make("{}")->OnRequest(kept).action, StageResult::Action::kContinue);
  const std::string sent = FirstContent(kept);
  EXPECT_NE(sent.find("What is the capital of France? Ship the parts to "), std::string::npos)
      << sent;
  EXPECT_EQ(sent.find("42 Elm Street"), std::string::npos) << sent;
  EXPECT_NE(sent.find(" in Springfield."), std::string::npos) << sent;
  const FindingSummary* location = FindSummary(kept, "LOCATION");
  ASSERT_NE(location, nullptr);
  EXPECT_EQ(location->count, 3);
  EXPECT_EQ(location->action, "pseudonymize");  // the strongest taken

  auto corner = ChatRequest("Drop me at the corner of Rue Oberkampf and Boulevard Voltaire.");
  make("{}")->OnRequest(corner);
  EXPECT_EQ(FirstContent(corner).find("Oberkampf"), std::string::npos) << FirstContent(corner);

  auto only_places = ChatRequest("Compare Tokyo with Berlin.");
  make("{}")->OnRequest(only_places);
  EXPECT_EQ(FirstContent(only_places), "Compare Tokyo with Berlin.");
  ASSERT_NE(FindSummary(only_places, "LOCATION"), nullptr);
  EXPECT_EQ(FindSummary(only_places, "LOCATION")->action, "flag");

  auto all = ChatRequest(prompt);
  make("scan: {keep_place_names: false}")->OnRequest(all);
  EXPECT_EQ(FirstContent(all).find("France"), std::string::npos) << FirstContent(all);
  EXPECT_EQ(FirstContent(all).find("Springfield"), std::string::npos) << FirstContent(all);
}

TEST(ScanInput, BadConfigNamesTheLine) {
  YAML::Node root = YAML::Load("scan:\n  input:\n    entities: {EMAIL: mask}\n");
  auto s = scan::ParseScanSettings("x.yaml", root["scan"]);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("x.yaml:3"), std::string::npos) << s.status().message();
  root = YAML::Load("scan:\n  keep_place_names: maybe\n");
  s = scan::ParseScanSettings("x.yaml", root["scan"]);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("x.yaml:2"), std::string::npos) << s.status().message();
  root = YAML::Load("scan:\n  output: {pii: shred}\n");
  s = scan::ParseScanSettings("x.yaml", root["scan"]);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("shred"), std::string::npos);
}

TEST(ScanInput, ScansEveryMessagePart) {
  auto stage = MakeStage("scan: {input: {pii: redact}}");
  RequestContext ctx;
  ctx.endpoint = Endpoint::kChatCompletions;
  ctx.body = boost::json::parse(R"({"messages":[
    {"role":"user","content":[{"type":"text","text":"ip 10.1.2.3"},{"type":"image_url","image_url":{"url":"x"}}]},
    {"role":"assistant","content":null,"tool_calls":[{"id":"1","type":"function","function":{"name":"f","arguments":"{\"to\":\"c@d.io\"}"}}]},
    {"role":"tool","tool_call_id":"1","content":"sent to 10.9.8.7"}]})")
                 .as_object();
  stage->OnRequest(ctx);
  std::string s = boost::json::serialize(ctx.body);
  EXPECT_EQ(s.find("10.1.2.3"), std::string::npos) << s;
  EXPECT_EQ(s.find("c@d.io"), std::string::npos) << s;
  EXPECT_EQ(s.find("10.9.8.7"), std::string::npos) << s;
  EXPECT_NE(s.find("<IP_ADDRESS>"), std::string::npos);

  RequestContext comp;
  comp.endpoint = Endpoint::kCompletions;
  comp.body = boost::json::parse(R"({"prompt":["x e@f.io","y"]})").as_object();
  stage->OnRequest(comp);
  EXPECT_EQ(boost::json::serialize(comp.body), R"({"prompt":["x <EMAIL_ADDRESS>","y"]})");

  RequestContext emb;
  emb.endpoint = Endpoint::kEmbeddings;
  emb.body = boost::json::parse(R"({"input":"g@h.io","model":"e"})").as_object();
  stage->OnRequest(emb);
  EXPECT_EQ(std::string(emb.body.at("input").as_string()), "<EMAIL_ADDRESS>");
}

TEST(ScanInput, ApplyRedactionForPolicy) {
  RequestContext ctx = ChatRequest("write to z@example.net from 10.0.0.1");
  ASSERT_TRUE(scan::ApplyRedaction(ctx, {"EMAIL_ADDRESS"}, "mask").ok());
  EXPECT_EQ(FirstContent(ctx), "write to ****@example.net from 10.0.0.1");
  EXPECT_FALSE(scan::ApplyRedaction(ctx, {"EMAIL"}, "mask").ok());
  EXPECT_FALSE(scan::ApplyRedaction(ctx, {}, "block").ok());
}

}  // namespace
}  // namespace steward::stages
