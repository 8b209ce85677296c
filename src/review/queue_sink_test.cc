#include "review/queue_sink.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <future>

#include "scan/request_scan.h"

namespace steward::review {
namespace {

namespace json = boost::json;

RequestContext Call(const std::string& key_id, const std::string& content) {
  RequestContext ctx;
  ctx.request_id = "req_" + content.substr(0, 4);
  ctx.endpoint = Endpoint::kChatCompletions;
  ctx.principal.authenticated = true;
  ctx.principal.key_id = key_id;
  ctx.principal.name = "app-" + key_id;
  ctx.principal.role = "user";
  ctx.model = "sim-small";
  ctx.subject = "alice@example.org";
  ctx.body = json::parse(R"({"model":"sim-small","messages":[{"role":"user","content":")" +
                         content + R"("}]})")
                 .as_object();
  return ctx;
}

// What the gateway does before replying: awaits the call's barriers (here
// the review row's insert by the writer thread).
Status AwaitBarriers(RequestContext& ctx) {
  Status first;
  for (auto& b : ctx.barriers) {
    std::promise<Status> done;
    b->Wait([&done](Status s) { done.set_value(std::move(s)); });
    Status s = done.get_future().get();
    if (first.ok() && !s.ok()) first = s;
  }
  ctx.barriers.clear();
  return first;
}

policy::Decision ReviewDecision() {
  policy::Decision d;
  d.verdict = policy::Verdict::kReview;
  d.reasons = {"big-spend"};
  d.obligations.review_reasons = {"payments need a person"};
  d.message = "held by big-spend";
  return d;
}

TEST(RequestHashTest, SameRequestSameHashAnythingElseDiffers) {
  RequestContext a = Call("key_a", "pay 100 EUR"), b = Call("key_a", "pay 100 EUR");
  EXPECT_EQ(RequestHash(a), RequestHash(b));
  EXPECT_EQ(RequestHash(a).size(), 64u);
  RequestContext other_body = Call("key_a", "pay 900 EUR");
  RequestContext other_key = Call("key_b", "pay 100 EUR");
  RequestContext other_subject = Call("key_a", "pay 100 EUR");
  other_subject.subject = "bob";
  RequestContext other_endpoint = Call("key_a", "pay 100 EUR");
  other_endpoint.endpoint = Endpoint::kCompletions;
  for (RequestContext* c : {&other_body, &other_key, &other_subject, &other_endpoint}) {
    EXPECT_NE(RequestHash(*c), RequestHash(a));
  }
}

TEST(RequestHashTest, PseudonymsOfScanInputAreRestoredBeforeHashing) {
  // Two sends of one prompt get different random placeholders (as
  // scan_input rewrites them); the hash must not see the difference.
  RequestContext first = Call("key_a", "mail Jane Roe please");
  RequestContext second = Call("key_a", "mail Jane Roe please");
  const std::string expected = RequestHash(first);
  for (RequestContext* ctx : {&first, &second}) {
    auto& state = ctx->Slot<scan::RequestScanState>();
    std::string placeholder(state.vault.Pseudonymize("PERSON", "Jane Roe", "mail Jane Roe please"));
    auto& content = ctx->body["messages"].as_array()[0].as_object()["content"];
    content = "mail " + placeholder + " please";
    ctx->body_modified = true;
  }
  EXPECT_NE(json::serialize(first.body), json::serialize(second.body));
  EXPECT_EQ(RequestHash(first), expected);
  EXPECT_EQ(RequestHash(second), expected);
}

class QueueSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("steward-review-sink-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    auto db = OpenDatabase("sqlite:" + (dir_ / "steward.db").string());
    ASSERT_TRUE(db.ok());
    db_ = std::move(*db);
    queue_ = std::make_shared<ReviewQueue>(*db_, clock_, ReviewOptions{});
    ASSERT_TRUE(queue_->Init().ok());
    sink_ = std::make_unique<QueueReviewSink>(
        queue_, [](std::string_view s) { return "pseudo:" + std::string(s.size(), 'x'); });
  }
  void TearDown() override {
    sink_.reset();
    queue_.reset();
    db_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::filesystem::path dir_;
  FakeClock clock_;
  std::unique_ptr<Database> db_;
  std::shared_ptr<ReviewQueue> queue_;
  std::unique_ptr<QueueReviewSink> sink_;
};

TEST_F(QueueSinkTest, SubmitStoresThePseudonymNeverTheSubject) {
  RequestContext ctx = Call("key_a", "pay 100 EUR");
  EXPECT_FALSE(sink_->Redeem(ctx, ReviewDecision()).has_value());  // no header: submit
  auto id = sink_->Submit(ctx, ReviewDecision());
  ASSERT_TRUE(id.ok()) << id.status().message();
  ASSERT_EQ(ctx.barriers.size(), 1u);
  ASSERT_TRUE(AwaitBarriers(ctx).ok());
  auto r = queue_->Get(*id);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->subject, "pseudo:" + std::string(ctx.subject.size(), 'x'));
  EXPECT_EQ(r->key_name, "app-key_a");
  EXPECT_EQ(r->endpoint, "chat.completions");
  EXPECT_EQ(r->message, "payments need a person");
  EXPECT_EQ(r->reasons, std::vector<std::string>{"big-spend"});
  EXPECT_EQ(r->request_id, ctx.request_id);
  EXPECT_EQ(r->request_hash, RequestHash(ctx));
  // Nothing of the prompt in the row.
  auto rows = db_->Query("SELECT * FROM reviews");
  ASSERT_TRUE(rows.ok());
  for (const auto& v : rows->front().values) {
    if (auto* s = std::get_if<std::string>(&v)) {
      EXPECT_EQ(s->find("100 EUR"), std::string::npos);
      EXPECT_EQ(s->find("alice"), std::string::npos);
    }
  }
}

TEST_F(QueueSinkTest, ResendWithTheReviewIdWalksTheStates) {
  RequestContext held = Call("key_a", "pay 100 EUR");
  std::string id = *sink_->Submit(held, ReviewDecision());
  ASSERT_TRUE(AwaitBarriers(held).ok());
  auto resend = [&](const std::string& key, const std::string& content) {
    RequestContext ctx = Call(key, content);
    ctx.headers.emplace_back("x-steward-review-id", id);
    auto r = sink_->Redeem(ctx, ReviewDecision());
    EXPECT_TRUE(r.has_value());
    return r.value_or(StageResult::Continue());
  };
  StageResult pending = resend("key_a", "pay 100 EUR");
  EXPECT_EQ(pending.action, StageResult::Action::kHold);
  EXPECT_EQ(pending.reply.status, 202);
  EXPECT_NE(pending.reply.body.find(id), std::string::npos);

  ASSERT_TRUE(queue_->Decide(id, true, "key:adm", "ok").ok());
  StageResult wrong_body = resend("key_a", "pay 999 EUR");
  EXPECT_EQ(wrong_body.reply.status, 403);
  EXPECT_NE(wrong_body.reply.body.find("differs"), std::string::npos);
  StageResult wrong_key = resend("key_b", "pay 100 EUR");
  EXPECT_EQ(wrong_key.reply.status, 403);

  RequestContext ok = Call("key_a", "pay 100 EUR");
  ok.headers.emplace_back("x-steward-review-id", id);
  auto proceed = sink_->Redeem(ok, ReviewDecision());
  ASSERT_TRUE(proceed.has_value());
  EXPECT_EQ(proceed->action, StageResult::Action::kContinue);
  EXPECT_NE(std::find(ok.policy.obligations.begin(), ok.policy.obligations.end(),
                      "review_approved(" + id + ")"),
            ok.policy.obligations.end());
  StageResult again = resend("key_a", "pay 100 EUR");
  EXPECT_EQ(again.reply.status, 403);
  EXPECT_NE(again.reply.body.find("already used"), std::string::npos);
}

TEST_F(QueueSinkTest, RejectedAndMalformedIdsAre403) {
  RequestContext held = Call("key_a", "pay 100 EUR");
  std::string id = *sink_->Submit(held, ReviewDecision());
  ASSERT_TRUE(AwaitBarriers(held).ok());
  ASSERT_TRUE(queue_->Decide(id, false, "key:adm", "not this month").ok());
  RequestContext ctx = Call("key_a", "pay 100 EUR");
  ctx.headers.emplace_back("x-steward-review-id", id);
  auto r = sink_->Redeem(ctx, ReviewDecision());
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->reply.status, 403);
  EXPECT_NE(r->reply.body.find("review_rejected"), std::string::npos);
  EXPECT_NE(r->reply.body.find("not this month"), std::string::npos);

  RequestContext junk = Call("key_a", "pay 100 EUR");
  junk.headers.emplace_back("x-steward-review-id", std::string(500, 'a'));
  auto j = sink_->Redeem(junk, ReviewDecision());
  ASSERT_TRUE(j.has_value());
  EXPECT_EQ(j->reply.status, 403);
  EXPECT_NE(j->reply.body.find("not a review id"), std::string::npos);
}

TEST_F(QueueSinkTest, AFailedInsertFailsTheCallsBarrierAndLeavesNoReview) {
  // The store refuses the row (as a full disk would).
  ASSERT_TRUE(db_->Exec("CREATE TRIGGER refuse_reviews BEFORE INSERT ON reviews "
                        "BEGIN SELECT RAISE(ABORT, 'disk is full (test)'); END")
                  .ok());
  RequestContext held = Call("key_a", "pay 100 EUR");
  auto id = sink_->Submit(held, ReviewDecision());
  ASSERT_TRUE(id.ok());  // no I/O on the request path: the id is prepared
  Status stored = AwaitBarriers(held);
  ASSERT_FALSE(stored.ok());
  EXPECT_NE(stored.message().find(*id), std::string::npos) << stored.message();
  EXPECT_NE(stored.message().find("disk is full"), std::string::npos) << stored.message();
  EXPECT_EQ(queue_->Get(*id).status().code(), StatusCode::kNotFound);

  ASSERT_TRUE(db_->Exec("DROP TRIGGER refuse_reviews").ok());
  RequestContext next = Call("key_a", "pay 100 EUR");
  auto stored_id = sink_->Submit(next, ReviewDecision());
  ASSERT_TRUE(AwaitBarriers(next).ok());
  EXPECT_TRUE(queue_->Get(*stored_id).ok());
}

TEST_F(QueueSinkTest, StatusForTheOwningKeyOnly) {
  RequestContext held = Call("key_a", "pay 100 EUR");
  std::string id = *sink_->Submit(held, ReviewDecision());
  ASSERT_TRUE(AwaitBarriers(held).ok());

  LocalReply pending = ReviewStatusReply(*queue_, "key_a", id);
  ASSERT_EQ(pending.status, 200) << pending.body;
  json::object state = json::parse(pending.body).as_object();
  EXPECT_EQ(state.size(), 6u) << pending.body;  // nothing of the caller's call but its state
  EXPECT_EQ(state.at("review_id").as_string(), id);
  EXPECT_EQ(state.at("status").as_string(), "pending");
  EXPECT_EQ(state.at("created_ms").as_int64(), clock_.NowUnixMs());
  EXPECT_GT(state.at("expires_ms").as_int64(), state.at("created_ms").as_int64());
  EXPECT_TRUE(state.at("decided_ms").is_null());
  EXPECT_TRUE(state.at("note").is_null());

  clock_.AdvanceMs(5);
  ASSERT_TRUE(queue_->Decide(id, false, "key:adm", "not this month").ok());
  state = json::parse(ReviewStatusReply(*queue_, "key_a", id).body).as_object();
  EXPECT_EQ(state.at("status").as_string(), "rejected");
  EXPECT_EQ(state.at("decided_ms").as_int64(), clock_.NowUnixMs());
  EXPECT_EQ(state.at("note").as_string(), "not this month");

  // Another key's review and an unknown id read alike: 404, OpenAI shape.
  LocalReply other = ReviewStatusReply(*queue_, "key_b", id);
  LocalReply unknown = ReviewStatusReply(*queue_, "key_a", "rev_000000000000000000000000");
  for (const LocalReply* r : {&other, &unknown}) {
    EXPECT_EQ(r->status, 404);
    json::value body = json::parse(r->body);
    EXPECT_EQ(body.at("error").at("code").as_string(), "review_not_found") << r->body;
  }
  EXPECT_EQ(other.body.find("not this month"), std::string::npos);
  EXPECT_EQ(ReviewStatusReply(*queue_, "key_a", "").status, 404);
  EXPECT_EQ(ReviewStatusReply(*queue_, "key_a", id + "/approve").status, 404);
  EXPECT_EQ(ReviewStatusReply(*queue_, "key_a", std::string(300, 'r')).status, 404);
}

}  // namespace
}  // namespace steward::review
