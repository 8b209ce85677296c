#include "monitor/metrics.h"

#include <gtest/gtest.h>

namespace steward::monitor {
namespace {

TEST(MetricsTest, RendersPrometheusText) {
  MetricsRegistry r;
  r.GetCounter("steward_requests_total", "Requests.", {{"route", "chat"}, {"status", "200"}}).Inc(3);
  r.GetGauge("steward_up", "Up.").Set(1);
  auto& h = r.GetHistogram("steward_latency_seconds", "Latency.", {{"route", "chat"}}, {0.1, 1});
  h.Observe(0.05);
  h.Observe(0.5);
  h.Observe(5);
  r.AddCallbackGauge("steward_breaker_state", "Breaker.", {{"upstream", "a\"b"}}, [] { return 2.0; });
  std::string text = r.Render();
  EXPECT_NE(text.find("# TYPE steward_requests_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("steward_requests_total{route=\"chat\",status=\"200\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("steward_latency_seconds_bucket{route=\"chat\",le=\"0.1\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("steward_latency_seconds_bucket{route=\"chat\",le=\"1\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("steward_latency_seconds_bucket{route=\"chat\",le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("steward_latency_seconds_count{route=\"chat\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("steward_breaker_state{upstream=\"a\\\"b\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("steward_up 1\n"), std::string::npos);
}

TEST(MetricsTest, SameLabelsSameSeries) {
  MetricsRegistry r;
  auto& a = r.GetCounter("c", "h", {{"k", "v"}});
  auto& b = r.GetCounter("c", "h", {{"k", "v"}});
  EXPECT_EQ(&a, &b);
}

}  // namespace
}  // namespace steward::monitor
