-- wrk script for the WorkSync kanban benchmarks (driven by bench/run.py).
--
--   wrk ... -s bench/kanban.lua http://127.0.0.1:PORT -- MODE DATA_FILE
--
-- MODE      move: 100% PUT /api/v1/cards/{id}/move: a random card of the ONE board to a
--                 random column at a random position 0..50 (every move contends for the
--                 same board aggregate: the worst case). The command waits for the kanban
--                 and card-activity projections before answering 200 (202 on timeout).
--           read: 100% GET /api/v1/boards/{id}: the board with its columns and all its cards.
--           spread: 100% card moves over MANY boards (16 x 50 cards, each moved by its
--                 owner, to a random column at a random position 0..12): little contention.
--                 Its DATA_FILE is bench/lag.lua's ({ boards = { { token, columns, cards } } }).
-- DATA_FILE a Lua file returning
--           { tokens = {"...", ...}, board = "uuid", columns = {"uuid", ...},
--             cards = {"uuid", ...} }
--           written by run.py during setup. Each request is sent as one of the tokens' users
--           (all members of the board's workspace), picked at random.
--
-- done() (bench/common.lua) prints one JSON line named card_move, card_move_spread or board_read.

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local MAX_POSITION = 50
local SPREAD_MAX_POSITION = 12
local data, mode

function init(args)
   mode = args[1] or "read"
   local data_file = args[2] or os.getenv("BENCH_DATA")
   if not data_file then
      error("no data file: pass it as the second script argument")
   end
   data = dofile(data_file)
   if mode == "move" then
      bench_name = "card_move"
   elseif mode == "read" then
      bench_name = "board_read"
   elseif mode == "spread" then
      bench_name = "card_move_spread"
   else
      error("unknown mode " .. tostring(mode) .. " (move, spread or read)")
   end
   seed_random()
end

local function pick(list)
   return list[math.random(#list)]
end

function request()
   if mode == "spread" then
      -- A card of one of many boards, moved by the board's owner: little contention.
      local board = pick(data.boards)
      local body = string.format(
         '{"column_id": %s, "position": %d}',
         json_string(pick(board.columns)),
         math.random(0, SPREAD_MAX_POSITION)
      )
      return wrk.format("PUT", "/api/v1/cards/" .. pick(board.cards) .. "/move", {
         ["Authorization"] = "Bearer " .. board.token,
         ["Content-Type"] = "application/json",
      }, body)
   end
   local headers = { ["Authorization"] = "Bearer " .. pick(data.tokens) }
   if mode == "move" then
      headers["Content-Type"] = "application/json"
      local body = string.format(
         '{"column_id": %s, "position": %d}',
         json_string(pick(data.columns)),
         math.random(0, MAX_POSITION)
      )
      return wrk.format("PUT", "/api/v1/cards/" .. pick(data.cards) .. "/move", headers, body)
   end
   return wrk.format("GET", "/api/v1/boards/" .. data.board, headers)
end
