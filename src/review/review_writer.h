// Stores held calls' reviews off the request path.
//
// Holding a call must not block a gateway worker on the store (an insert is
// a sync to disk): the policy stage's Submit() prepares the review row in
// memory, hands it to this writer's thread and puts the returned Barrier on
// the request. The gateway awaits barriers before it replies, so the 202
// with the review id leaves only once the row is durable; when the insert
// fails the barrier fails and the client gets 503 instead of an id for a
// review that does not exist. Rows queued while an insert runs are stored
// together in one transaction (one sync for the batch).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "review/review_queue.h"
#include "steward/stage.h"

namespace steward::review {

class ReviewWriter {
 public:
  // `on_stored` (may be empty) runs on the writer thread for every review
  // made durable.
  explicit ReviewWriter(ReviewQueue& queue, std::function<void()> on_stored = {});
  // Stores everything still queued, then stops the thread.
  ~ReviewWriter();
  ReviewWriter(const ReviewWriter&) = delete;
  ReviewWriter& operator=(const ReviewWriter&) = delete;

  // Queues `review` for insertion. The barrier completes (on the writer
  // thread, or at once in Wait() when already done) with the insert's status.
  std::shared_ptr<Barrier> Enqueue(Review review);

 private:
  class InsertBarrier;
  struct Pending {
    Review review;
    std::shared_ptr<InsertBarrier> barrier;
  };
  void Run();
  void Store(std::vector<Pending>& batch);

  ReviewQueue& queue_;
  std::function<void()> on_stored_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<Pending> pending_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace steward::review
