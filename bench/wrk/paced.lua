-- An open-loop load: another script's requests (BENCH_SCRIPT, e.g. event.lua) offered at a
-- fixed total rate (BENCH_RATE requests/s over BENCH_THREADS threads), whatever the answers'
-- latency. Each thread keeps a schedule of evenly spaced slots and holds each request until its
-- slot; a thread whose connections are all waiting falls behind its schedule, and the rate wrk
-- reports then falls short of the rate offered, which is how a server that cannot keep up
-- shows. Usage: BENCH_RATE=2000 BENCH_THREADS=2 BENCH_SCRIPT=event.lua wrk -t2 -s paced.lua ...
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. assert(os.getenv("BENCH_SCRIPT"), "BENCH_SCRIPT is not set"))

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock_id, bench_timespec *tp);
]]
local clock = ffi.new("bench_timespec")
local CLOCK_MONOTONIC = 1

local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, clock)
  return tonumber(clock.tv_sec) * 1000 + tonumber(clock.tv_nsec) / 1e6
end

local script_init = init
local interval, next_at

function init(args)
  script_init(args)
  local rate = tonumber(os.getenv("BENCH_RATE")) / tonumber(os.getenv("BENCH_THREADS"))
  interval = 1000 / rate
end

function delay()
  local now = now_ms()
  -- A slot missed is not made up later: the offered rate is a ceiling, never a burst.
  if next_at == nil or next_at < now then
    next_at = now
  end
  local wait = next_at - now
  next_at = next_at + interval
  return wait
end
