#include "stages/scan_output/scan_output_stage.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <map>

#include "scan/request_scan.h"

namespace steward::stages {
namespace {

const scan::Scanner* Patterns() {
  static auto s = scan::Scanner::Create("");
  return s->get();
}

std::unique_ptr<ScanOutputStage> MakeStage(const std::string& yaml = "") {
  YAML::Node root = YAML::Load(yaml.empty() ? "{}" : yaml);
  auto settings = scan::ParseScanSettings("test.yaml", root["scan"]);
  EXPECT_TRUE(settings.ok()) << settings.status().ToString();
  return std::make_unique<ScanOutputStage>(std::make_shared<const scan::ScanSettings>(*settings),
                                           Patterns());
}

ResponseView Reply(const std::string& text) {
  ResponseView r;
  r.status = 200;
  r.body = boost::json::parse(R"({"choices":[{"message":{"role":"assistant","content":""}}]})");
  r.body.as_object()["choices"].as_array()[0].as_object()["message"].as_object()["content"] = text;
  return r;
}

std::string Content(const ResponseView& r) {
  return std::string(r.body.at("choices").as_array()[0].at("message").at("content").as_string());
}

TEST(ScanOutput, LeakedSecretIsRedactedAndPromptValuesAreNotLeaks) {
  auto stage = MakeStage();
  RequestContext ctx;
  auto& state = ctx.Slot<scan::RequestScanState>();
  state.prompt_text = "my address is me@example.org\n";
  state.known_values.insert("me@example.org");
  ResponseView r = Reply("Hi me@example.org, the key is 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; ask ops@corp.example");
  ASSERT_EQ(stage->OnResponse(ctx, r).action, StageResult::Action::kContinue);
  EXPECT_EQ(Content(r), "Hi me@example.org, the key is <GITHUB_TOKEN>; ask ops@corp.example");
  EXPECT_TRUE(r.body_modified);
  bool email_flagged = false, token = false;
  for (const auto& f : ctx.findings) {
    EXPECT_EQ(f.direction, "output");
    if (f.type == "EMAIL_ADDRESS") email_flagged = f.count == 1 && f.action == "flag";
    if (f.type == "GITHUB_TOKEN") token = f.action == "redact";
  }
  EXPECT_TRUE(email_flagged);
  EXPECT_TRUE(token);
}

TEST(ScanOutput, BlockActionWithholdsReply) {
  auto stage = MakeStage("scan: {output: {entities: {US_SSN: block}}}");
  RequestContext ctx;
  ResponseView r = Reply("SSN 536-90-4567");
  StageResult res = stage->OnResponse(ctx, r);
  ASSERT_EQ(res.action, StageResult::Action::kReply);
  EXPECT_EQ(res.reply.status, 403);
  EXPECT_EQ(res.reply.body.find("536-90-4567"), std::string::npos);
}

TEST(ScanOutput, StreamedSecretSplitAcrossChunksIsRedacted) {
  auto stage = MakeStage();
  RequestContext ctx;
  ResponseView head;
  head.streaming = true;
  stage->OnResponse(ctx, head);
  std::string reply = "Use AKIAIOSFODNN7EXAMPLE to log in, then wait.";
  std::string got;
  size_t max_held = 0;
  for (size_t i = 0; i < reply.size(); i += 4) {
    StreamChunk c;
    c.has_text = true;
    c.text = reply.substr(i, 4);
    ASSERT_EQ(stage->OnChunk(ctx, c).action, StageResult::Action::kContinue);
    got += c.text;
    max_held = std::max(max_held, ctx.Slot<scan::RequestScanState>().leak_scanner->held());
  }
  StreamChunk fin;
  fin.final = true;
  stage->OnChunk(ctx, fin);
  got += fin.text;
  EXPECT_EQ(got, "Use <AWS_ACCESS_KEY> to log in, then wait.");
  EXPECT_LE(max_held, 32u);  // bounded hold-back
  ASSERT_EQ(ctx.findings.size(), 1u);
  EXPECT_EQ(ctx.findings[0].type, "AWS_ACCESS_KEY");
}

// One chat.completion.chunk event carrying tool-call argument deltas.
boost::json::object ToolDelta(const std::vector<std::pair<int, std::string>>& pieces,
                              const char* finish = nullptr) {
  boost::json::array calls;
  for (const auto& [index, args] : pieces)
    calls.push_back(boost::json::object{
        {"index", index}, {"function", boost::json::object{{"arguments", args}}}});
  boost::json::object choice{{"index", 0},
                             {"delta", boost::json::object{{"tool_calls", std::move(calls)}}}};
  choice["finish_reason"] = finish ? boost::json::value(finish) : boost::json::value(nullptr);
  return boost::json::object{{"object", "chat.completion.chunk"},
                             {"choices", boost::json::array{std::move(choice)}}};
}

// Concatenates every tool call's arguments in the events, by tool index.
std::map<int64_t, std::string> ArgumentsByIndex(const std::vector<boost::json::object>& events) {
  std::map<int64_t, std::string> out;
  for (const auto& ev : events) {
    for (const auto& ch : ev.at("choices").as_array()) {
      const auto* delta = ch.as_object().if_contains("delta");
      if (!delta || !delta->as_object().if_contains("tool_calls")) continue;
      for (const auto& tc : delta->at("tool_calls").as_array())
        out[tc.at("index").as_int64()] += tc.at("function").at("arguments").as_string();
    }
  }
  return out;
}

TEST(ScanOutput, StreamedToolCallArgumentsAreScannedPerToolCall) {
  auto stage = MakeStage();
  RequestContext ctx;
  ResponseView head;
  head.streaming = true;
  stage->OnResponse(ctx, head);
  // Two interleaved tool calls; the key is split across four deltas of call 1.
  std::string a0 = R"({"city":"Paris","days":3})";
  std::string a1 = R"({"cmd":"aws s3 ls","key":"AKIAIOSFODNN7EXAMPLE","region":"eu-west-1"})";
  std::vector<boost::json::object> relayed;
  size_t i0 = 0, i1 = 0;
  while (i0 < a0.size() || i1 < a1.size()) {
    std::vector<std::pair<int, std::string>> pieces;
    if (i0 < a0.size()) pieces.emplace_back(0, a0.substr(i0, 5)), i0 += 5;
    if (i1 < a1.size()) pieces.emplace_back(1, a1.substr(i1, 6)), i1 += 6;
    StreamChunk c;
    c.event = ToolDelta(pieces);
    ASSERT_EQ(stage->OnChunk(ctx, c).action, StageResult::Action::kContinue);
    relayed.push_back(c.event);
  }
  StreamChunk finishing;
  finishing.event = ToolDelta({}, "tool_calls");
  ASSERT_EQ(stage->OnChunk(ctx, finishing).action, StageResult::Action::kContinue);
  relayed.push_back(finishing.event);
  StreamChunk fin;  // the pipeline's final call: nothing is left to flush
  fin.final = true;
  fin.event = ToolDelta({{1, "stale copy of the first event"}});
  stage->OnChunk(ctx, fin);
  EXPECT_FALSE(fin.event.at("choices").as_array()[0].at("delta").as_object().contains("tool_calls"));
  auto args = ArgumentsByIndex(relayed);
  EXPECT_EQ(args[0], a0);
  EXPECT_EQ(args[1], R"({"cmd":"aws s3 ls","key":"<AWS_ACCESS_KEY>","region":"eu-west-1"})");
  bool key = false;
  for (const auto& f : ctx.findings) key |= f.type == "AWS_ACCESS_KEY" && f.direction == "output";
  EXPECT_TRUE(key);
}

TEST(ScanOutput, StreamedToolCallBlockAbortsAndHeldTailFlushesAtFinalCall) {
  auto stage = MakeStage("scan: {output: {entities: {US_SSN: block}}}");
  RequestContext ctx;
  ResponseView head;
  head.streaming = true;
  stage->OnResponse(ctx, head);
  StreamChunk c;
  c.event = ToolDelta({{0, R"({"note":"ssn 536-90-)"}});
  ASSERT_EQ(stage->OnChunk(ctx, c).action, StageResult::Action::kContinue);
  StreamChunk d;
  d.event = ToolDelta({{0, R"(4567"})"}});
  StageResult r = stage->OnChunk(ctx, d);
  if (r.action == StageResult::Action::kContinue) {  // may still be held back
    StreamChunk fin;
    fin.final = true;
    fin.event = ToolDelta({});
    r = stage->OnChunk(ctx, fin);
  }
  ASSERT_EQ(r.action, StageResult::Action::kReply);
  EXPECT_EQ(r.reply.status, 403);
  EXPECT_NE(r.reply.body.find("US_SSN"), std::string::npos);
  EXPECT_EQ(r.reply.body.find("4567"), std::string::npos);
}

TEST(ScanOutput, StreamWithoutFinishReasonFlushesToolArgumentsIntoFinalEvent) {
  auto stage = MakeStage();
  RequestContext ctx;
  ResponseView head;
  head.streaming = true;
  stage->OnResponse(ctx, head);
  std::string relayed;
  StreamChunk c;
  std::string args = R"({"to":"Joe","note":"see you at 10, room 4)";
  c.event = ToolDelta({{0, args}});
  stage->OnChunk(ctx, c);
  relayed += ArgumentsByIndex({c.event})[0];
  ASSERT_LT(relayed.size(), args.size());  // the trailing digits are held back
  StreamChunk fin;
  fin.final = true;
  fin.event = ToolDelta({{0, "copy of the first event"}});
  stage->OnChunk(ctx, fin);
  relayed += ArgumentsByIndex({fin.event})[0];
  EXPECT_EQ(relayed, args);
}

TEST(ScanOutput, NonStreamedToolCallArgumentsAreScanned) {
  auto stage = MakeStage();
  RequestContext ctx;
  ResponseView r;
  r.status = 200;
  r.body = boost::json::parse(
      R"({"choices":[{"message":{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"deploy","arguments":"{\"token\":\"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\"}"}}]},"finish_reason":"tool_calls"}]})");
  ASSERT_EQ(stage->OnResponse(ctx, r).action, StageResult::Action::kContinue);
  EXPECT_TRUE(r.body_modified);
  EXPECT_EQ(r.body.at("choices").as_array()[0].at("message").at("tool_calls").as_array()[0]
                .at("function").at("arguments").as_string(),
            R"({"token":"<GITHUB_TOKEN>"})");
}

TEST(ScanOutput, TooManyStreamedToolCallsAreRefused) {
  auto stage = MakeStage();
  RequestContext ctx;
  ResponseView head;
  head.streaming = true;
  stage->OnResponse(ctx, head);
  StageResult r = StageResult::Continue();
  for (int i = 0; i <= 256 && r.action == StageResult::Action::kContinue; ++i) {
    StreamChunk c;
    c.event = ToolDelta({{i, "{}"}});
    r = stage->OnChunk(ctx, c);
  }
  EXPECT_EQ(r.action, StageResult::Action::kReply);
  EXPECT_EQ(r.reply.status, 502);
}

}  // namespace
}  // namespace steward::stages
