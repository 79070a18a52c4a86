-- wrk script for the WorkSync projection-lag benchmark (driven by bench/run.py).
--
--   wrk -tT ... -s bench/lag.lua http://127.0.0.1:PORT -- RATE DATA_FILE T
--
-- Sends card moves at a fixed total RATE (commands/s, spread over the T wrk threads, each on
-- its own schedule: a thread that falls behind sends at once until it has caught up), each on
-- a random card of one of many boards (one board per user: little contention), to a random
-- column at a random position 0..10.
--
-- Projection lag is what the server reports in each answer's Server-Timing header:
-- `projection;dur=…` = from the command's events being appended (acknowledged by PostgreSQL)
-- until the API saw every projection the command affects (kanban, card_activities, activities)
-- commit them: command accepted -> rows visible. done() (bench/common.lua) prints one JSON line
-- named projection_lag whose p50_ms/p90_ms/p99_ms are that lag; the request latencies are
-- request_p50_ms/request_p99_ms.
--
-- DATA_FILE a Lua file returning { boards = { { token = "...", columns = {...},
--           cards = {...} }, ... } }, written by run.py during setup.

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local ffi = require("ffi")
ffi.cdef([[
   typedef struct { long tv_sec; long tv_usec; } worksync_timeval;
   int gettimeofday(worksync_timeval *tv, void *tz);
]])
local tv = ffi.new("worksync_timeval")

local function now_ms()
   ffi.C.gettimeofday(tv, nil)
   return tonumber(tv.tv_sec) * 1000 + tonumber(tv.tv_usec) / 1000
end

local MAX_POSITION = 10
local data, interval, next_at
lags = {} -- globals: done() reads them through thread:get
target_rate = nil

function init(args)
   local rate = tonumber(args[1]) or error("first script argument: commands per second")
   local data_file = args[2] or error("second script argument: the data file")
   local threads = tonumber(args[3]) or 1
   data = dofile(data_file)
   interval = 1000 * threads / rate
   target_rate = rate
   bench_name = "projection_lag"
   seed_random()
end

function delay()
   local now = now_ms()
   next_at = (next_at or now) + interval
   if next_at < now then
      return 0
   end
   return next_at - now
end

local function pick(list)
   return list[math.random(#list)]
end

function request()
   local board = pick(data.boards)
   local body = string.format(
      '{"column_id": %s, "position": %d}',
      json_string(pick(board.columns)),
      math.random(0, MAX_POSITION)
   )
   return wrk.format("PUT", "/api/v1/cards/" .. pick(board.cards) .. "/move", {
      ["Authorization"] = "Bearer " .. board.token,
      ["Content-Type"] = "application/json",
   }, body)
end

local count_status = response
function response(status, headers, body)
   count_status(status, headers, body)
   local timing = headers["server-timing"] or headers["Server-Timing"]
   if timing then
      local lag = timing:match("projection;dur=([%d%.]+)")
      if lag then
         lags[#lags + 1] = tonumber(lag)
      end
   end
end

function bench_percentiles(threads)
   local all = {}
   for _, thread in ipairs(threads) do
      for _, lag in ipairs(thread:get("lags") or {}) do
         all[#all + 1] = lag
      end
   end
   table.sort(all)
   local function percentile(p)
      if #all == 0 then
         return -1
      end
      return all[math.max(1, math.ceil(#all * p / 100))]
   end
   return percentile(50),
      percentile(90),
      percentile(99),
      string.format(
         '"lag_samples": %d, "lag_max_ms": %.2f, "target_rate": %.1f',
         #all,
         all[#all] or -1,
         threads[1] and threads[1]:get("target_rate") or -1
      )
end
