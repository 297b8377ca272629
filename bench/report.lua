-- wrk script for plain GET runs (bench/api-throughput.sh): no request logic,
-- only a done() that prints one machine-readable line, so the script does not
-- have to parse wrk's unit-suffixed latency table.
--   BENCH rps=<req/s> p50_us=<..> p99_us=<..> requests=<n> status_errors=<n> socket_errors=<n>
-- status_errors counts answers with status > 399; socket_errors is connect+read+write+timeout.
function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "BENCH rps=%.1f p50_us=%d p99_us=%d requests=%d status_errors=%d socket_errors=%d\n",
      summary.requests / (summary.duration / 1e6),
      latency:percentile(50.0), latency:percentile(99.0), summary.requests,
      e.status, e.connect + e.read + e.write + e.timeout))
end
