#include "review/review_writer.h"

#include <optional>

namespace steward::review {

// Completes exactly once; Wait() may come before or after the insert ends.
class ReviewWriter::InsertBarrier final : public Barrier {
 public:
  void Wait(std::function<void(Status)> done) override {
    std::unique_lock lock(mu_);
    if (result_) {
      Status s = *result_;
      lock.unlock();
      done(std::move(s));
      return;
    }
    waiter_ = std::move(done);
  }
  void Complete(Status s) {
    std::unique_lock lock(mu_);
    if (!waiter_) {
      result_ = std::move(s);
      return;
    }
    auto waiter = std::move(waiter_);
    waiter_ = nullptr;
    result_ = s;
    lock.unlock();
    waiter(std::move(s));
  }

 private:
  std::mutex mu_;
  std::optional<Status> result_;
  std::function<void(Status)> waiter_;
};

ReviewWriter::ReviewWriter(ReviewQueue& queue, std::function<void()> on_stored)
    : queue_(queue), on_stored_(std::move(on_stored)), thread_([this] { Run(); }) {}

ReviewWriter::~ReviewWriter() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

std::shared_ptr<Barrier> ReviewWriter::Enqueue(Review review) {
  auto barrier = std::make_shared<InsertBarrier>();
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      barrier->Complete(Unavailable("the review queue is shutting down; review " + review.id +
                                    " was not stored"));
      return barrier;
    }
    pending_.push_back({std::move(review), barrier});
  }
  wake_.notify_one();
  return barrier;
}

void ReviewWriter::Run() {
  std::vector<Pending> batch;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      wake_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
      if (pending_.empty()) return;  // stopping, and everything is stored
      batch.assign(std::make_move_iterator(pending_.begin()),
                   std::make_move_iterator(pending_.end()));
      pending_.clear();
    }
    Store(batch);
    batch.clear();
  }
}

void ReviewWriter::Store(std::vector<Pending>& batch) {
  std::vector<Review> reviews;
  reviews.reserve(batch.size());
  for (const auto& p : batch) reviews.push_back(p.review);
  std::vector<Status> results(batch.size(), Status::Ok());
  if (Status all = queue_.InsertAll(reviews); !all.ok()) {
    // One bad row must not fail its neighbours: each on its own then.
    for (size_t i = 0; i < batch.size(); ++i) {
      results[i] = batch.size() == 1 ? all : queue_.Insert(batch[i].review);
    }
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    if (results[i].ok()) {
      if (on_stored_) on_stored_();
      batch[i].barrier->Complete(Status::Ok());
    } else {
      batch[i].barrier->Complete(
          Status(results[i].code(),
                 "review " + batch[i].review.id + " was not stored: " + results[i].message()));
    }
  }
}

}  // namespace steward::review
