#include "stages/scan_output/scan_output_stage.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

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

}  // namespace
}  // namespace steward::stages
