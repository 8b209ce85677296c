#include "server/deadline.h"

namespace steward::server {

struct Deadline::State : std::enable_shared_from_this<State> {
  explicit State(const Executor& executor) : timer(executor) {}

  net::basic_waitable_timer<Clock, net::wait_traits<Clock>, Executor> timer;
  Socket* socket = nullptr;  // null once the owner is gone
  Clock::time_point deadline = Clock::time_point::max();
  Clock::time_point armed_for = Clock::time_point::max();
  bool armed = false;
  bool expired = false;

  void Arm(Clock::time_point at) {
    armed = true;
    armed_for = at;
    timer.expires_at(at);  // cancels a pending wait, whose handler then does nothing
    timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec == net::error::operation_aborted) return;
      self->OnTimer();
    });
  }

  void OnTimer() {
    armed = false;
    if (!socket || deadline == Clock::time_point::max()) return;
    if (Clock::now() >= deadline) {
      expired = true;
      boost::system::error_code ignored;
      socket->cancel(ignored);
      return;
    }
    Arm(deadline);
  }
};

Deadline::Deadline(const Executor& executor, Socket& socket)
    : state_(std::make_shared<State>(executor)) {
  state_->socket = &socket;
}

Deadline::~Deadline() {
  state_->socket = nullptr;
  state_->timer.cancel();
}

void Deadline::ExpiresAfter(std::chrono::milliseconds timeout) {
  State& s = *state_;
  s.expired = false;
  s.deadline = Clock::now() + timeout;
  if (!s.armed || s.deadline < s.armed_for) s.Arm(s.deadline);
}

void Deadline::ExpiresNever() {
  state_->expired = false;
  state_->deadline = Clock::time_point::max();
}

bool Deadline::expired() const { return state_->expired; }

boost::beast::error_code Deadline::Check(const boost::beast::error_code& ec) const {
  if (ec == net::error::operation_aborted && state_->expired) return boost::beast::error::timeout;
  return ec;
}

}  // namespace steward::server
