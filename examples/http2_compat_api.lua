-- The document's "Compatibility API" example (also shown under response.setHeader() and
-- response.writeHead()): setHeader values merge with writeHead's, writeHead winning, so the
-- answer's content-type is text/plain.
--   lode examples/http2_compat_api.lua [port]
local http2 = require "http2"

local server = http2.createServer(function(_, res)
  res:setHeader("Content-Type", "text/html")
  res:setHeader("X-Foo", "bar")
  res:writeHead(200, { ["Content-Type"] = "text/plain; charset=utf-8" })
  res:finish("ok")
end)
server:listen(tonumber(arg and arg[1]) or 8000, "127.0.0.1")
