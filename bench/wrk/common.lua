-- Shared by every script in bench/wrk: distinct visitors, per-thread counters, the requests a
-- script picks from (the fixtures' line files) and the result line.
--
-- wrk runs this file once in its main Lua state (setup, done) and once in each thread's own
-- state (init, request). Globals set in a thread state are read back in done() via thread:get.

local M = {}

-- Realistic browsers only: the tracker flags HeadlessChrome, curl, python-requests … as
-- machines, which would hide the cost of the human path.
local CHROME_DESKTOP = {
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/%d.0.0.0 Safari/537.36",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/%d.0.0.0 Safari/537.36",
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/%d.0.0.0 Safari/537.36",
  "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/%d.0.0.0 Safari/537.36",
}
local ANDROID_MODELS = {
  "K", "Pixel 7", "Pixel 8 Pro", "SM-S911B", "SM-A546B", "SM-G991B", "Redmi Note 12", "moto g54 5G",
  "CPH2451", "M2101K6G",
}

local function pick(list)
  return list[math.random(#list)]
end

local function user_agent()
  local kind = math.random(100)
  local chrome = math.random(112, 131)
  if kind <= 30 then
    return string.format(pick(CHROME_DESKTOP), chrome)
  elseif kind <= 40 then
    return string.format(
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        .. "Chrome/%d.0.0.0 Safari/537.36 Edg/%d.0.%d.%d",
      chrome, chrome, math.random(1000, 2999), math.random(10, 199))
  elseif kind <= 48 then
    local v = math.random(115, 133)
    local os_part = pick({ "Windows NT 10.0; Win64; x64", "X11; Linux x86_64",
      "Macintosh; Intel Mac OS X 10.15", "X11; Ubuntu; Linux x86_64" })
    return string.format("Mozilla/5.0 (%s; rv:%d.0) Gecko/20100101 Firefox/%d.0", os_part, v, v)
  elseif kind <= 55 then
    return string.format(
      "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        .. "Version/%d.%d Safari/605.1.15", math.random(16, 18), math.random(0, 6))
  elseif kind <= 75 then
    local ios, minor = math.random(15, 18), math.random(0, 7)
    return string.format(
      "Mozilla/5.0 (iPhone; CPU iPhone OS %d_%d like Mac OS X) AppleWebKit/605.1.15 "
        .. "(KHTML, like Gecko) Version/%d.%d Mobile/15E148 Safari/604.1", ios, minor, ios, minor)
  elseif kind <= 78 then
    local ios, minor = math.random(15, 18), math.random(0, 7)
    return string.format(
      "Mozilla/5.0 (iPad; CPU OS %d_%d like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        .. "Version/%d.%d Mobile/15E148 Safari/604.1", ios, minor, ios, minor)
  elseif kind <= 81 then
    return string.format(
      "Mozilla/5.0 (iPhone; CPU iPhone OS %d_%d like Mac OS X) AppleWebKit/605.1.15 "
        .. "(KHTML, like Gecko) CriOS/%d.0.%d.%d Mobile/15E148 Safari/604.1",
      math.random(16, 18), math.random(0, 6), chrome, math.random(6000, 6999), math.random(10, 199))
  elseif kind <= 94 then
    return string.format(
      "Mozilla/5.0 (Linux; Android %d; %s) AppleWebKit/537.36 (KHTML, like Gecko) "
        .. "Chrome/%d.0.0.0 Mobile Safari/537.36", math.random(10, 15), pick(ANDROID_MODELS), chrome)
  elseif kind <= 97 then
    return string.format(
      "Mozilla/5.0 (Linux; Android %d; SAMSUNG %s) AppleWebKit/537.36 (KHTML, like Gecko) "
        .. "SamsungBrowser/%d.0 Chrome/%d.0.0.0 Mobile Safari/537.36",
      math.random(11, 14), pick({ "SM-S911B", "SM-A546B", "SM-G991B" }), math.random(20, 26), chrome)
  else
    local v = math.random(115, 133)
    return string.format(
      "Mozilla/5.0 (Android %d; Mobile; rv:%d.0) Gecko/%d.0 Firefox/%d.0", math.random(11, 14), v, v, v)
  end
end

-- A public-looking IPv4 address (no private, loopback, CGNAT or link-local first octet).
local SKIP = { [10] = true, [100] = true, [127] = true, [169] = true, [172] = true, [192] = true }
local function client_ip()
  local a = math.random(11, 223)
  while SKIP[a] do
    a = math.random(11, 223)
  end
  return string.format("%d.%d.%d.%d", a, math.random(0, 255), math.random(0, 255), math.random(1, 254))
end

-- Headers a browser would send, from a different visitor each time.
function M.visitor_headers()
  return {
    ["User-Agent"] = user_agent(),
    ["X-Forwarded-For"] = client_ip(),
    ["Accept-Language"] = pick({ "en-US,en;q=0.9", "de-DE,de;q=0.9,en;q=0.8", "fr-FR,fr;q=0.9",
      "en-GB,en;q=0.9", "es-ES,es;q=0.9,en;q=0.7", "nl-NL,nl;q=0.9,en;q=0.8" }),
  }
end

-- A v4-shaped UUID that is unique by construction within a run: run nonce, thread number and
-- the thread's request counter, plus random bits. (LuaJIT's math.random alone would repeat
-- between threads seeded alike, and the tracker would then silently drop "redelivered" ids.)
function M.uuid(nonce, thread_id, n)
  return string.format("%s-%04x-4%03x-%x%03x-%012x", nonce, thread_id, math.random(0, 0xfff),
    8 + math.random(0, 3), math.random(0, 0xfff), n)
end

-- Main state: number the threads and keep them for done().
local threads = {}

function M.setup(thread)
  table.insert(threads, thread)
  thread:set("thread_id", #threads)
end

-- The lines of a file the harness wrote (cookies, paths): one request's worth each.
local function read_lines(path)
  local file = assert(io.open(path, "r"), "cannot open " .. path)
  local list = {}
  for line in file:lines() do
    if line ~= "" then
      table.insert(list, line)
    end
  end
  file:close()
  assert(#list > 0, path .. " is empty")
  return list
end

-- Thread state: read the script arguments (run nonce, then the data file of the scripts that
-- need one) and seed this thread apart.
function M.init(args)
  nonce = args[1] or "00000000"
  sent = 0
  lines = args[2] and read_lines(args[2]) or {}
  math.randomseed(os.time() * 1000 + thread_id * 7919 + tonumber(nonce:sub(1, 6), 16))
end

-- One line of the data file, at random (thread state).
function M.line()
  return lines[math.random(#lines)]
end

-- The index of a random line (thread state), for scripts that keep something per line.
function M.line_index()
  return math.random(#lines)
end

-- One line the harness parses: BENCH_RESULT followed by a flat JSON object (latency in µs).
function M.done(summary, latency, requests)
  local total_sent = 0
  for _, thread in ipairs(threads) do
    total_sent = total_sent + (thread:get("sent") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "sent": %d, "duration_us": %d, "bytes": %d, '
      .. '"status_errors": %d, "connect_errors": %d, "read_errors": %d, "write_errors": %d, '
      .. '"timeouts": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, total_sent, summary.duration, summary.bytes,
    e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end

return M
