-- GET /email/<token>.gif, the per-recipient open pixel of a tracked email: a few thousand
-- recipients, each opening any number of times (every open is a row of its own), read in
-- webmail or a mail client with a browser's user agent (a mail proxy's would be a machine).
-- Usage: wrk -s bench/wrk/open.lua http://127.0.0.1:PORT -- NONCE PATHS_FILE
-- (PATHS_FILE: one /email/<token>.gif per line, one line per recipient.)
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")

setup = common.setup
init = common.init
done = common.done

function request()
  sent = sent + 1
  local headers = common.visitor_headers()
  headers["Accept"] = "image/avif,image/webp,image/apng,image/*,*/*;q=0.8"
  return wrk.format("GET", common.line(), headers)
end
