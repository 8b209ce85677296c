// steward-sim --listen 127.0.0.1:9000 [--threads N] [--chunks N]
//   [--chunk-delay-ms D] [--latency-ms D] [--error-rate P]
#include <CLI/CLI.hpp>
#include <csignal>
#include <iostream>

#include "sim/simulator.h"

int main(int argc, char** argv) {
  using namespace steward;
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"steward-sim: an OpenAI-compatible model server simulator"};
  std::string listen = "127.0.0.1:9000";
  int threads = 0;
  sim::SimOptions opt;
  app.add_option("--listen", listen, "HOST:PORT to listen on (port 0 picks a free one)");
  app.add_option("--threads", threads, "worker threads (0 = cores)");
  app.add_option("--chunks", opt.chunks, "SSE events per streamed reply")->check(CLI::Range(1, 100000));
  app.add_option("--chunk-delay-ms", opt.chunk_delay_ms, "delay between SSE events")->check(CLI::Range(0, 600000));
  app.add_option("--latency-ms", opt.latency_ms, "delay before each response head")->check(CLI::Range(0, 600000));
  app.add_option("--error-rate", opt.error_rate, "probability of answering 500")->check(CLI::Range(0.0, 1.0));
  app.add_option("--reply-words", opt.reply_words, "words in a generated reply")->check(CLI::Range(1, 100000));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::cerr << "steward-sim: " << e.what() << "\n";
    return 2;
  }
  auto hp = config::ParseHostPort(listen);
  if (!hp.ok()) {
    std::cerr << "steward-sim: --listen: " << hp.status().message() << "\n";
    return 2;
  }
  server::IoPool pool(threads);
  sim::Simulator simulator(opt);
  server::ServerOptions so;
  so.listen = *hp;
  so.threads = pool.size();
  so.max_body_bytes = 64u << 20;
  so.server_name = "steward-sim";
  server::HttpServer http(pool, so, [&](server::Request& r, const server::Connection& c, server::ResponseWriter& w) {
    return simulator.Handle(r, c, w);
  });
  if (auto s = http.Listen(); !s.ok()) {
    std::cerr << "steward-sim: " << s.message() << "\n";
    return 2;
  }
  std::cout << "steward-sim listening on " << hp->host << ":" << http.port() << std::endl;
  // Block the stop signals in every thread (workers inherit the mask) so
  // sigwait below receives them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  pool.Start();
  int sig = 0;
  sigwait(&set, &sig);
  http.Stop();
  pool.Stop();
  pool.Join();
  return 0;
}
