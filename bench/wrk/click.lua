-- GET /r/<redirect_id>?ct=<token>, a tracked link of an email: the signed ct names the
-- recipient, who granted tracking, so the click is attributed; the answer is a 302 to the
-- link's stored URL (wrk does not follow it).
-- Usage: wrk -s bench/wrk/click.lua http://127.0.0.1:PORT -- NONCE PATHS_FILE
-- (PATHS_FILE: one /r/<redirect_id>?ct=<token> per line, one line per recipient.)
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")

setup = common.setup
init = common.init
done = common.done

function request()
  sent = sent + 1
  local headers = common.visitor_headers()
  headers["Accept"] = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
  return wrk.format("GET", common.line(), headers)
end
