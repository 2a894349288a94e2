-- GET /focus/<id>/viewpixel.gif, the view pixel a published focus item (a bar shown on every
-- page) loads when it is shown, from many distinct visitors with no cookie: counted anonymously.
-- Usage: wrk -s bench/wrk/focus.lua http://127.0.0.1:PORT -- NONCE PATHS_FILE
-- (PATHS_FILE: the item's /focus/<id>/viewpixel.gif.)
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")

setup = common.setup
init = common.init
done = common.done

function request()
  sent = sent + 1
  local headers = common.visitor_headers()
  headers["Accept"] = "image/avif,image/webp,image/apng,image/*,*/*;q=0.8"
  headers["Referer"] = "http://bench.example/p/" .. math.random(1, 5000)
  return wrk.format("GET", common.line(), headers)
end
