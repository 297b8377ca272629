-- wrk script for the create+delete run (bench/api-throughput.sh).
--
-- Each request is either POST /v1/instances with a name never used before, or
-- DELETE /v1/instances/{name}?wait=5 of an instance this thread has seen
-- created. wrk gives no per-connection hook, so the pairing goes through the
-- answers: a 201 puts the name from its Location header on this thread's queue,
-- and the next request any of the thread's connections sends is the DELETE of
-- the oldest queued name, or else a new POST. Requests therefore alternate
-- POST/DELETE (about half each) and a DELETE never overtakes its POST.
--
-- Names: cd-<run>-<thread>-<counter>, where <run> is the first script argument
-- (wrk ... -s create-delete.lua URL -- <run>), so rounds against one daemon
-- never reuse a name. Against the bare reference server every POST answers
-- Location /v1/instances/bare, so it sees the same request mix.
--
-- Prints the same BENCH line as report.lua, plus posts/deletes per thread
-- summed in done().

local threads = {}

function setup(thread)
   table.insert(threads, thread)
   thread:set("tid", #threads)
end

local run, counter, head, tail = "r", 0, 1, 0
local queue = {}
local post_headers, delete_headers
posts, deletes, created = 0, 0, 0

local function copy(t)
   local c = {}
   for k, v in pairs(t) do c[k] = v end
   return c
end

function init(args)
   run = args[1] or "r"
   post_headers = copy(wrk.headers)
   post_headers["Content-Type"] = "application/json"
   delete_headers = copy(wrk.headers)
end

function request()
   if head <= tail then
      local name = queue[head]
      queue[head] = nil
      head = head + 1
      deletes = deletes + 1
      return wrk.format("DELETE", "/v1/instances/" .. name .. "?wait=5", delete_headers, nil)
   end
   counter = counter + 1
   posts = posts + 1
   local name = string.format("cd-%s-%d-%d", run, tid, counter)
   return wrk.format("POST", "/v1/instances", post_headers,
                     '{"name":"' .. name .. '","kind":"container","image":"busybox"}')
end

function response(status, headers, body)
   if status == 201 then
      local loc = headers["Location"] or headers["location"]
      if loc then
         created = created + 1
         tail = tail + 1
         queue[tail] = loc:match("[^/]+$")
      end
   end
end

function done(summary, latency, requests)
   local p, d, c = 0, 0, 0
   for _, t in ipairs(threads) do
      p = p + t:get("posts")
      d = d + t:get("deletes")
      c = c + t:get("created")
   end
   local e = summary.errors
   io.write(string.format(
      "BENCH rps=%.1f p50_us=%d p99_us=%d requests=%d status_errors=%d socket_errors=%d " ..
      "posts=%d deletes=%d created=%d\n",
      summary.requests / (summary.duration / 1e6),
      latency:percentile(50.0), latency:percentile(99.0), summary.requests,
      e.status, e.connect + e.read + e.write + e.timeout, p, d, c))
end
