-- The batch variant of events.lua: POST /api/v1/events/batch with BENCH_BATCH (default 100)
-- events per request. See events.lua for the environment it reads.
if not os.getenv("BENCH_BATCH") then
   -- wrk's Lua has no setenv; events.lua reads this global override instead.
   BENCH_BATCH_DEFAULT = 100
end
dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "events.lua")
