-- wrk script for the ingest benchmarks (bench/run scenarios 1 and 2).
--
--   BENCH_KEY=<tenant api key> wrk -t2 -c64 -d30s -s bench/wrk/events.lua http://127.0.0.1:PORT
--   BENCH_BATCH=100 ...    POST /api/v1/events/batch with 100 events per request instead
--
-- Every event is a small "bench.ping" with a ~200-byte payload; no client id, so the
-- gateway makes the ids and no dedupe claim touches PostgreSQL (the common case).
-- done() prints one JSON line ("wrk-json: {...}") that bench/run parses: requests,
-- events, non-2xx answers, socket errors and latency percentiles in microseconds.

local key = os.getenv("BENCH_KEY") or ""
local batch = tonumber(os.getenv("BENCH_BATCH") or BENCH_BATCH_DEFAULT or "0")
local event_type = os.getenv("BENCH_EVENT_TYPE") or "bench.ping"
local pad = string.rep("x", tonumber(os.getenv("BENCH_PAD") or "200"))

local function one_event()
   return '{"event":"' .. event_type .. '","data":{"pad":"' .. pad .. '"}}'
end

local path, body
if batch > 0 then
   local parts = {}
   for i = 1, batch do
      parts[i] = one_event()
   end
   path = "/api/v1/events/batch"
   body = '{"events":[' .. table.concat(parts, ",") .. ']}'
else
   path = "/api/v1/events"
   body = one_event()
end

local headers = {
   ["Authorization"] = "Bearer " .. key,
   ["Content-Type"] = "application/json",
}

-- One pre-formatted request, sent over and over: the body never changes, only the ids the
-- gateway assigns.
local req = wrk.format("POST", path, headers, body)

request = function()
   return req
end

local non2xx_thread = 0
response = function(status, hdrs, resp_body)
   if status < 200 or status >= 300 then
      non2xx_thread = non2xx_thread + 1
      if non2xx_thread <= 3 then
         io.stderr:write("wrk: HTTP " .. status .. ": " .. string.sub(resp_body or "", 1, 300) .. "\n")
      end
   end
end

done = function(summary, latency, requests)
   local e = summary.errors
   local per = batch > 0 and batch or 1
   local secs = summary.duration / 1e6
   io.write(string.format(
      'wrk-json: {"requests":%d,"events_sent":%d,"seconds":%.3f,"requests_per_s":%.1f,' ..
      '"events_per_s":%.1f,"non2xx":%d,"socket_errors":%d,"timeouts":%d,' ..
      '"latency_us":{"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d}}\n',
      summary.requests, summary.requests * per, secs, summary.requests / secs,
      summary.requests * per / secs, e.status, e.connect + e.read + e.write, e.timeout,
      latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency:percentile(99.9), latency.max))
end
