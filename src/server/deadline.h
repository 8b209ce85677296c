// One timer per connection instead of one per operation.
//
// beast::tcp_stream arms and cancels a timer around every read and write:
// two timer-queue updates under the reactor's lock and a clock read each
// time, 10-15% of the proxy's CPU per request. A Deadline only records the
// time by which the current operation must finish. Its timer is re-armed
// only when it fires (it then looks at the recorded deadline and either
// cancels the socket or sleeps until it) or when a deadline comes sooner
// than the one it is armed for, which after the first request of a
// connection is rare.
#pragma once

#include <boost/asio.hpp>
#include <boost/beast/core/error.hpp>
#include <chrono>
#include <memory>

#include "server/async.h"

namespace steward::server {


class Deadline {
 public:
  using Clock = std::chrono::steady_clock;

  // `socket` must outlive this object; its pending operations are cancelled
  // when the deadline passes.
  Deadline(const Executor& executor, Socket& socket);
  ~Deadline();
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;

  void ExpiresAfter(std::chrono::milliseconds timeout);
  void ExpiresNever();
  bool expired() const;

  // An operation's outcome: beast::error::timeout when it was cancelled
  // because the deadline passed.
  boost::beast::error_code Check(const boost::beast::error_code& ec) const;

 private:
  struct State;
  std::shared_ptr<State> state_;  // shared with the timer's pending wait
};

}  // namespace steward::server
