-- POST /form/submit?formId=<id> as the embedded form's script sends it (fetch with Accept:
-- application/json), the fields url-encoded, from many distinct visitors: each submission
-- names a new contact (an address unique by construction: run nonce, thread, counter).
-- Usage: wrk -s bench/wrk/form.lua http://127.0.0.1:PORT -- NONCE PATHS_FILE
-- (PATHS_FILE: the form's /form/submit?formId=<id>.)
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")

setup = common.setup
init = common.init
done = common.done

local NAMES = { "Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Margaret", "Ken" }
local MESSAGES = {
  "Hello%2C+I+would+like+a+quote+for+twenty+seats.",
  "Please+call+me+back+about+the+spring+offer.",
  "Do+you+ship+to+Belgium%3F",
  "I+have+a+question+about+my+last+invoice.",
}

function request()
  sent = sent + 1
  local headers = common.visitor_headers()
  headers["Content-Type"] = "application/x-www-form-urlencoded"
  headers["Origin"] = "http://bench.example"
  headers["Referer"] = "http://bench.example/contact"
  headers["Accept"] = "application/json"
  -- cs_hp is the form's invisible honeypot field: a browser sends it empty.
  local body = string.format(
    "email=visitor.%s.%d.%d%%40bench.example&first_name=%s&message=%s&cs_hp=",
    nonce, thread_id, sent, NAMES[math.random(#NAMES)], MESSAGES[math.random(#MESSAGES)])
  return wrk.format("POST", common.line(), headers, body)
end
