-- wrk script for the WorkSync milestones benchmarks (driven by bench/run.py).
--
--   wrk ... -s bench/milestones.lua http://127.0.0.1:PORT -- MODE DATA_FILE
--
-- MODE      list: 100% GET /api/v1/projects/{id}/milestones of the one project (1,000
--                 milestones): a page of 50 by due date, unfiltered or filtered at random by
--                 status, priority, assignee or a due-date window (one query each).
--           critical: 100% GET /api/v1/projects/{id}/critical-path of the same project
--                 (10,000 tasks, 30,000 dependencies, the milestones): every item's early and
--                 late dates and slack, the critical chain.
-- DATA_FILE a Lua file returning
--           { tokens = {"...", ...}, project = "uuid", assignees = {"uuid", ...},
--             statuses = {...}, priorities = {...}, milestones = N }
--           written by run.py during setup (bench/milestones.py). Each request is sent as one
--           of the tokens' users (the owner and members of the project's workspace).
--
-- done() (bench/common.lua) prints one JSON line named milestone_list or critical_path.

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local data, mode

function init(args)
   mode = args[1] or "list"
   local data_file = args[2] or os.getenv("BENCH_DATA")
   if not data_file then
      error("no data file: pass it as the second script argument")
   end
   data = dofile(data_file)
   if mode == "list" then
      bench_name = "milestone_list"
   elseif mode == "critical" then
      bench_name = "critical_path"
   else
      error("unknown mode " .. tostring(mode) .. " (list or critical)")
   end
   seed_random()
end

local function pick(list)
   return list[math.random(#list)]
end

local function due(days)
   return os.date("!%Y-%m-%d", os.time({ year = 2027, month = 1, day = 4 }) + days * 86400)
end

local function list_query()
   local kind = math.random(5)
   if kind == 1 then
      return ""
   elseif kind == 2 then
      return "?status=" .. pick(data.statuses)
   elseif kind == 3 then
      return "?priority=" .. pick(data.priorities)
   elseif kind == 4 then
      return "?assignee_id=" .. pick(data.assignees)
   end
   local from = math.random(0, data.milestones * 3)
   return "?due_after=" .. due(from) .. "&due_before=" .. due(from + 180)
end

function request()
   local headers = { ["Authorization"] = "Bearer " .. pick(data.tokens) }
   local base = "/api/v1/projects/" .. data.project
   if mode == "critical" then
      return wrk.format("GET", base .. "/critical-path", headers)
   end
   return wrk.format("GET", base .. "/milestones" .. list_query(), headers)
end
