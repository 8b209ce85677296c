// steward-sim: an OpenAI-compatible model server simulator for tests, demos
// and benchmarks, on the same HTTP server code as the gateway.
//
// Any model name is accepted. Replies are deterministic functions of the
// prompt. Behaviour is set by flags (defaults for every request) and may be
// overridden per request by headers:
//   x-sim-echo: 1              reply content = JSON of the messages received
//   x-sim-reply: TEXT          reply content = TEXT (percent-decoded)
//   x-sim-chunks: N            SSE events carrying the content
//   x-sim-chunk-delay-ms: D    delay between SSE events
//   x-sim-latency-ms: D        delay before the response head (slow first byte)
//   x-sim-status: S            answer with status S and an OpenAI error body
//   x-sim-error-rate: P        answer 500 with probability P
//   x-sim-hang: 1              never answer (until the client gives up)
//   x-sim-drop-after: N        close the connection after N SSE events
//   x-sim-no-usage: 1          omit `usage`
//   x-sim-tool-call: NAME      (chat) reply with one call of tool NAME whose
//                              arguments are the reply text, streamed as
//                              argument deltas; finish_reason "tool_calls"
//   x-sim-no-finish-reason: 1  (stream) end with [DONE] and no finish_reason
#pragma once

#include <string>

#include "server/http_server.h"

namespace steward::sim {

struct SimOptions {
  int chunks = 8;
  int chunk_delay_ms = 0;
  int latency_ms = 0;
  double error_rate = 0;
  int reply_words = 24;
};

class Simulator {
 public:
  explicit Simulator(SimOptions options) : options_(options) {}
  server::Task<void> Handle(server::Request& request, const server::Connection& conn, server::ResponseWriter& writer);

 private:
  SimOptions options_;
};

// The deterministic reply text for a prompt.
std::string ReplyFor(std::string_view prompt, int words);

}  // namespace steward::sim
