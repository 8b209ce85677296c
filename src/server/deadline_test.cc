#include "server/deadline.h"

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/beast/core/error.hpp>

namespace steward::server {
namespace {

using tcp = net::ip::tcp;
using namespace std::chrono_literals;

// A connected pair of sockets; reads on `near` wait until `far` writes,
// which it never does unless a test says so.
struct SocketPair {
  net::io_context io;
  Socket near{io.get_executor()}, far{io.get_executor()};
  SocketPair() {
    net::basic_socket_acceptor<tcp, Executor> acceptor(io.get_executor(), {net::ip::make_address("127.0.0.1"), 0});
    near.connect(acceptor.local_endpoint());
    acceptor.accept(far);
  }
};

struct ReadOutcome {
  boost::beast::error_code ec;
  std::chrono::milliseconds elapsed{0};
};

// Starts a read on `near` now and runs the loop until it completes.
ReadOutcome TimedRead(SocketPair& pair, Deadline& deadline, std::function<void()> after_start = {}) {
  ReadOutcome out;
  bool done = false;
  char byte;
  auto start = std::chrono::steady_clock::now();
  pair.near.async_read_some(net::buffer(&byte, 1), [&](const boost::system::error_code& ec, size_t) {
    out.ec = deadline.Check(ec);
    out.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    done = true;
  });
  if (after_start) after_start();
  pair.io.restart();
  while (!done && pair.io.run_one_for(10s)) {
  }
  return out;
}

TEST(DeadlineTest, APendingReadTimesOutAtTheDeadline) {
  SocketPair pair;
  Deadline deadline(pair.io.get_executor(), pair.near);
  deadline.ExpiresAfter(50ms);
  auto out = TimedRead(pair, deadline);
  EXPECT_EQ(out.ec, boost::beast::error::timeout);
  EXPECT_GE(out.elapsed, 50ms);
  EXPECT_TRUE(deadline.expired());
}

TEST(DeadlineTest, ASoonerDeadlineReplacesALaterOne) {
  SocketPair pair;
  Deadline deadline(pair.io.get_executor(), pair.near);
  deadline.ExpiresAfter(60s);
  deadline.ExpiresAfter(30ms);
  auto out = TimedRead(pair, deadline);
  EXPECT_EQ(out.ec, boost::beast::error::timeout);
  EXPECT_LT(out.elapsed, 5s);
}

TEST(DeadlineTest, ALaterDeadlineIsHonouredAfterTheTimerWakesEarly) {
  SocketPair pair;
  Deadline deadline(pair.io.get_executor(), pair.near);
  deadline.ExpiresAfter(20ms);   // arms the timer for +20 ms
  deadline.ExpiresAfter(200ms);  // the timer wakes at +20 ms and sleeps on
  auto out = TimedRead(pair, deadline);
  EXPECT_EQ(out.ec, boost::beast::error::timeout);
  EXPECT_GE(out.elapsed, 190ms);
}

TEST(DeadlineTest, NoTimeoutWhenDataArrivesFirstOrWhenNeverExpiring) {
  SocketPair pair;
  Deadline deadline(pair.io.get_executor(), pair.near);
  deadline.ExpiresAfter(5s);
  auto out = TimedRead(pair, deadline, [&] { net::write(pair.far, net::buffer("x", 1)); });
  EXPECT_FALSE(out.ec) << out.ec.message();
  EXPECT_FALSE(deadline.expired());

  deadline.ExpiresAfter(20ms);
  deadline.ExpiresNever();
  net::steady_timer writer(pair.io, 150ms);  // data only after the old deadline
  writer.async_wait([&](auto) { net::write(pair.far, net::buffer("y", 1)); });
  out = TimedRead(pair, deadline);
  EXPECT_FALSE(out.ec) << out.ec.message();
  EXPECT_GE(out.elapsed, 140ms);
}

TEST(DeadlineTest, DestroyingItCancelsNothingLater) {
  SocketPair pair;
  {
    Deadline deadline(pair.io.get_executor(), pair.near);
    deadline.ExpiresAfter(10ms);
  }
  net::steady_timer writer(pair.io, 80ms);
  writer.async_wait([&](auto) { net::write(pair.far, net::buffer("z", 1)); });
  char byte;
  boost::system::error_code got = net::error::would_block;
  pair.near.async_read_some(net::buffer(&byte, 1), [&](const boost::system::error_code& ec, size_t) { got = ec; });
  pair.io.run_for(5s);
  EXPECT_FALSE(got) << got.message();
}

}  // namespace
}  // namespace steward::server
