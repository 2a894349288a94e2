-- POST /mtc/event, the script's pageview beacon: a JSON body sent as text/plain (a CORS
-- "simple" request, no preflight), a fresh event id each time, from many distinct visitors.
-- Usage: wrk -s bench/wrk/event.lua http://127.0.0.1:PORT -- NONCE
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")

setup = common.setup
init = common.init
done = common.done

function request()
  sent = sent + 1
  local headers = common.visitor_headers()
  headers["Content-Type"] = "text/plain"
  headers["Origin"] = "http://bench.example"
  headers["Accept"] = "*/*"
  local body = string.format(
    '{"type":"pageview","page_url":"http://bench.example/p/%d","id":"%s"}',
    math.random(1, 5000), common.uuid(nonce, thread_id, sent))
  return wrk.format("POST", "/mtc/event", headers, body)
end
