-- wrk script for the WorkSync workspace benchmarks (driven by bench/run.py).
--
--   wrk ... -s bench/workspaces.lua http://127.0.0.1:PORT -- MODE DATA_FILE
--
-- MODE      create: 100% POST /api/v1/workspaces (the create-workspace command, which waits
--                   for its read-model projection before answering 201, or 202 on timeout)
--           read:   100% GET /api/v1/workspaces/{id} (one of the caller's own workspaces)
--           mixed:  20% create, 80% read
-- DATA_FILE a Lua file returning { {token = "...", ws = {"uuid", ...}}, ... }, written by
--           run.py during setup (registration is not measured).
--
-- done() prints one JSON line: name, throughput, p50_ms, p99_ms, errors, requests, and the
-- status counts seen. Non-2xx answers and socket errors both count as errors.

local threads = {}
local counter = 0

function setup(thread)
   counter = counter + 1
   thread:set("id", counter)
   table.insert(threads, thread)
end

local users, create_share
mode = nil -- global: done() runs in another Lua state and reads it through thread:get
local seq = 0
statuses = {} -- global so done() can read it through thread:get

function init(args)
   mode = args[1] or "read"
   local data_file = args[2] or os.getenv("BENCH_DATA")
   if not data_file then
      error("no data file: pass it as the second script argument")
   end
   users = dofile(data_file)
   if mode == "create" then
      create_share = 1.0
   elseif mode == "read" then
      create_share = 0.0
   elseif mode == "mixed" then
      create_share = 0.2
   else
      error("unknown mode " .. tostring(mode) .. " (create, read or mixed)")
   end
   math.randomseed(os.time() * 1000 + (id or 0))
end

function request()
   local user = users[math.random(#users)]
   local headers = { ["Authorization"] = "Bearer " .. user.token }
   if math.random() < create_share then
      seq = seq + 1
      headers["Content-Type"] = "application/json"
      local body = string.format('{"name": "bench %d-%d"}', id or 0, seq)
      return wrk.format("POST", "/api/v1/workspaces", headers, body)
   end
   local ws = user.ws[math.random(#user.ws)]
   return wrk.format("GET", "/api/v1/workspaces/" .. ws, headers)
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
   local counts = {}
   local non2xx = 0
   for _, thread in ipairs(threads) do
      for status, n in pairs(thread:get("statuses") or {}) do
         counts[status] = (counts[status] or 0) + n
         if status < 200 or status > 299 then
            non2xx = non2xx + n
         end
      end
   end
   local e = summary.errors
   -- wrk already counts status > 399 in errors.status; add the 1xx/3xx it does not count.
   local non2xx_uncounted = 0
   for status, n in pairs(counts) do
      if status < 200 or (status > 299 and status < 400) then
         non2xx_uncounted = non2xx_uncounted + n
      end
   end
   local errors = e.status + e.connect + e.read + e.write + e.timeout + non2xx_uncounted
   local parts = {}
   for status, n in pairs(counts) do
      table.insert(parts, string.format('"%d": %d', status, n))
   end
   table.sort(parts)
   local seconds = summary.duration / 1e6
   local name = threads[1] and threads[1]:get("mode") or "unknown"
   io.write(
      string.format(
         '{"name": "workspace_%s", "throughput": %.1f, "p50_ms": %.2f, "p90_ms": %.2f, '
            .. '"p99_ms": %.2f, "max_ms": %.2f, "errors": %d, "non2xx": %d, "requests": %d, '
            .. '"duration_s": %.2f, "socket_errors": {"connect": %d, "read": %d, "write": %d, '
            .. '"timeout": %d}, "statuses": {%s}}\n',
         name,
         summary.requests / seconds,
         latency:percentile(50) / 1000,
         latency:percentile(90) / 1000,
         latency:percentile(99) / 1000,
         latency.max / 1000,
         errors,
         non2xx,
         summary.requests,
         seconds,
         e.connect,
         e.read,
         e.write,
         e.timeout,
         table.concat(parts, ", ")
      )
   )
end
