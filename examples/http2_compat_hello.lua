-- ../shared/anchors/node-compat.js in Lua: the Compatibility API's hello world (the benchmark's).
--   lode examples/http2_compat_hello.lua [port]
local http2 = require "http2"

local server = http2.createServer(function(_, res)
  res:setHeader("content-type", "text/plain; charset=utf-8")
  res:finish("hello world")
end)
server:listen(tonumber(arg and arg[1]) or 8002, "127.0.0.1")
