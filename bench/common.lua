-- Shared part of the wrk scripts (bench/workspaces.lua, bench/kanban.lua): thread
-- bookkeeping, status counting and the JSON line printed by done(). A script loads it with
--
--   dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")
--
-- and sets the global `bench_name` in its init(); done() prints one JSON line: name,
-- throughput, p50_ms, p99_ms, errors, requests, the status counts seen and, for each non-2xx
-- status, the body of its first answer. Non-2xx answers and socket errors both count as
-- errors.

local threads = {}
local counter = 0

function setup(thread)
   counter = counter + 1
   thread:set("id", counter)
   table.insert(threads, thread)
end

bench_name = nil -- global: done() runs in another Lua state and reads it through thread:get
statuses = {} -- global so done() can read it through thread:get
first_bodies = {} -- status -> the first non-2xx answer's body (truncated), for diagnosis

-- Seed each thread differently (wrk starts them within the same second).
function seed_random()
   math.randomseed(os.time() * 1000 + (id or 0))
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
   if (status < 200 or status > 299) and not first_bodies[status] then
      first_bodies[status] = (body or ""):sub(1, 300)
   end
end

-- A JSON string literal.
function json_string(s)
   s = s:gsub("\\", "\\\\"):gsub('"', '\\"')
   s = s:gsub("%c", function(c)
      return string.format("\\u%04x", c:byte())
   end)
   return '"' .. s .. '"'
end

function done(summary, latency, requests)
   local counts = {}
   local non2xx = 0
   local bodies = {}
   for _, thread in ipairs(threads) do
      for status, n in pairs(thread:get("statuses") or {}) do
         counts[status] = (counts[status] or 0) + n
         if status < 200 or status > 299 then
            non2xx = non2xx + n
         end
      end
      for status, body in pairs(thread:get("first_bodies") or {}) do
         bodies[status] = bodies[status] or body
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
   local samples = {}
   for status, body in pairs(bodies) do
      table.insert(samples, string.format('"%d": %s', status, json_string(body)))
   end
   table.sort(samples)
   local seconds = summary.duration / 1e6
   local name = threads[1] and threads[1]:get("bench_name") or "unknown"
   local p50, p90, p99 =
      latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000
   -- A script may report its own percentiles (e.g. projection lag) through bench_percentiles:
   -- it returns p50, p90, p99 in ms and a JSON fragment with more fields (or nil).
   local extra = ""
   if bench_percentiles then
      local request_p50, request_p99 = p50, p99
      p50, p90, p99, extra = bench_percentiles(threads)
      extra = string.format(
         '"request_p50_ms": %.2f, "request_p99_ms": %.2f, %s',
         request_p50,
         request_p99,
         extra and (extra .. ", ") or ""
      )
   end
   io.write(
      string.format(
         '{"name": "%s", "throughput": %.1f, "p50_ms": %.2f, "p90_ms": %.2f, '
            .. '"p99_ms": %.2f, "max_ms": %.2f, "errors": %d, %s"non2xx": %d, "requests": %d, '
            .. '"duration_s": %.2f, "socket_errors": {"connect": %d, "read": %d, "write": %d, '
            .. '"timeout": %d}, "statuses": {%s}, "first_error_bodies": {%s}}\n',
         name,
         summary.requests / seconds,
         p50,
         p90,
         p99,
         latency.max / 1000,
         errors,
         extra,
         non2xx,
         summary.requests,
         seconds,
         e.connect,
         e.read,
         e.write,
         e.timeout,
         table.concat(parts, ", "),
         table.concat(samples, ", ")
      )
   )
end
