-- wrk script: POST a small chat completion; prints one JSON line of results.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"sim-small","messages":[{"role":"user","content":"Summarise the main points of our meeting about the quarterly roadmap in three bullet points."}]}'
local extra = os.getenv("WRK_HEADERS") or ""
for pair in string.gmatch(extra, "([^|]+)") do
  local k, v = string.match(pair, "^([^:]+):%s*(.*)$")
  if k then wrk.headers[k] = v end
end

done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format('WRKJSON {"requests":%d,"duration_us":%d,"rps":%.1f,"p50_us":%d,"p90_us":%d,"p99_us":%d,"socket_errors":%d,"non_2xx":%d}\n',
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99), errors, summary.errors.status))
end
