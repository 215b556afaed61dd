-- serverhttp2session:altsvc (the document's example).
--   lode examples/http2_altsvc.lua [port]
local http2 = require "http2"
local server = http2.createServer()
server:on("session", function(session)
  -- Set altsvc for origin https://example.org:80
  session:altsvc("h2=:8000", "https://example.org:80")
end)
server:on("stream", function(stream)
  -- Set altsvc for a specific stream
  stream.session:altsvc("h2=:8000", stream.id)
  stream:respond({}, { endStream = true })
end)
server:listen(tonumber(arg and arg[1]) or 8000, "127.0.0.1")
