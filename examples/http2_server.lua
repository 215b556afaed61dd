-- The document's server example over h2c (TLS is its own change): http2_server.lua [port]
local http2 = require "http2"

local server = http2.createServer()
server:on("error", function(err) console.error(err) end)

server:on("stream", function(stream, headers) -- luacheck: ignore headers
  -- stream is a Duplex
  stream:respond({
    ["content-type"] = "text/html; charset=utf-8",
    [":status"] = 200,
  })
  stream:finish("<h1>Hello World</h1>")
end)

server:listen(tonumber(process.argv[3]) or 8443)
