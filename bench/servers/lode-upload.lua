-- The upload scenario's Lua sink: reads every request body to the end in Lua, counting bytes, then
-- answers 200 with the count. The same program as servers/node-upload.js.
--   build-bench/lode bench/servers/lode-upload.lua PORT
local http2 = require "http2"

local server = http2.createServer()
server:on("stream", function(stream)
  local n = 0
  stream:on("data", function(chunk) n = n + #chunk end)
  stream:on("end", function()
    stream:respond({ ["content-type"] = "text/plain; charset=utf-8", [":status"] = 200 })
    stream:finish(tostring(n))
  end)
end)
server:listen(tonumber(arg[1]) or 8006, "127.0.0.1")
