// The coroutine and I/O types shared by the server, the upstream client and
// everything that runs on a worker thread.
//
// Every coroutine, socket and timer is bound to the concrete executor of its
// worker's io_context rather than the type-erased any_io_executor: erasing it
// cost a copy and an indirect call on every operation.
#pragma once

#include <boost/asio.hpp>
#include <boost/asio/as_tuple.hpp>
#include <chrono>

namespace steward::server {

namespace net = boost::asio;

using Executor = net::io_context::executor_type;
template <typename T>
using Task = net::awaitable<T, Executor>;
// Completion tokens of Task coroutines: the result as is, and
// (error_code, ...) as a tuple.
inline constexpr net::use_awaitable_t<Executor> kAwait{};
inline constexpr auto kAwaitTuple = net::as_tuple(kAwait);
using Socket = net::basic_stream_socket<net::ip::tcp, Executor>;
using Timer = net::basic_waitable_timer<std::chrono::steady_clock, net::wait_traits<std::chrono::steady_clock>, Executor>;

}  // namespace steward::server
