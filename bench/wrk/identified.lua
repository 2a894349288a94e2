-- GET /mtracking.gif from browsers that granted tracking: each request carries one of a few
-- hundred pairs of cookies (the signed consent cookie of a grant and a device cookie, minted
-- by bench/fixtures.py with the server's key), so the hit is identified and tied to a contact.
-- Usage: wrk -s bench/wrk/identified.lua http://127.0.0.1:PORT -- NONCE COOKIES_FILE
-- (COOKIES_FILE: one Cookie header value per line, one line per device.)
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")

setup = common.setup
init = common.init
done = common.done

-- A returning browser keeps its user agent and address: the first request of a device in this
-- thread draws them, later ones reuse them. (Each thread draws its own: with two threads a
-- device shows at most two faces.)
local faces = {}

function request()
  sent = sent + 1
  local device = common.line_index()
  local face = faces[device]
  if face == nil then
    face = common.visitor_headers()
    faces[device] = face
  end
  local headers = {}
  for name, value in pairs(face) do
    headers[name] = value
  end
  headers["Cookie"] = lines[device]
  headers["Accept"] = "image/avif,image/webp,image/apng,image/*,*/*;q=0.8"
  headers["Referer"] = "http://bench.example/"
  local path = "/mtracking.gif?page_url=http://bench.example/p/" .. math.random(1, 5000)
  return wrk.format("GET", path, headers)
end
