-- GET /mtracking.gif from many distinct visitors (X-Forwarded-For, User-Agent) and pages.
-- Usage: wrk -s bench/wrk/pixel.lua http://127.0.0.1:PORT -- NONCE
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")

setup = common.setup
init = common.init
done = common.done

function request()
  sent = sent + 1
  local headers = common.visitor_headers()
  headers["Accept"] = "image/avif,image/webp,image/apng,image/*,*/*;q=0.8"
  headers["Referer"] = "http://bench.example/"
  local path = "/mtracking.gif?page_url=http://bench.example/p/" .. math.random(1, 5000)
  return wrk.format("GET", path, headers)
end
