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
-- done() (bench/common.lua) prints one JSON line named workspace_MODE.

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local users, create_share
local seq = 0

function init(args)
   local mode = args[1] or "read"
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
   bench_name = "workspace_" .. mode
   seed_random()
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
