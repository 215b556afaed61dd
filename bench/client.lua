-- The client scenario: lode's side of ../shared/anchors/node-client.js. N GETs of /index.html over
-- one http2.connect session, 100 in flight; prints "N requests in S s = R req/s".
--   build-bench/lode bench/client.lua [N] [PORT]
local http2 = require "http2"

local N = tonumber(arg[1]) or 100000
local C = 100
local client = http2.connect("http://127.0.0.1:" .. (arg[2] or "9203"))
client:on("error", function(err)
  io.stderr:write("client error: ", tostring(err), "\n")
  process.exit(1)
end)

local done, started = 0, 0
local t0 = process.hrtime.bigint()

local function one()
  if started >= N then return end
  started = started + 1
  local req = client:request({ [":path"] = "/index.html" })
  req:on("data", function() end)
  req:on("end", function()
    done = done + 1
    if done == N then
      local s = (process.hrtime.bigint() - t0) / 1e9
      print(string.format("%d requests in %.2f s = %.0f req/s", N, s, N / s))
      client:close()
    else
      one()
    end
  end)
end

for _ = 1, C do one() end
