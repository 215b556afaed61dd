-- The client's 'altsvc' event: the server of the altsvc() example sends one ALTSVC frame for an
-- origin (stream 0) and one for a stream (empty origin); the client prints each.
local http2 = require "http2"

local server = http2.createServer()
server:on("session", function(session)
  -- Set altsvc for origin https://example.org:80
  session:altsvc("h2=:8000", "https://example.org:80")
end)
server:on("stream", function(stream)
  -- Set altsvc for a specific stream
  stream.session:altsvc("h2=:8000", stream.id)
  stream:respond()
  stream:finish("ok")
end)

server:listen(0, "127.0.0.1", function()
  local client = http2.connect("http://127.0.0.1:" .. server:address().port)
  local n = 0
  client:on("altsvc", function(alt, origin, streamId)
    console.log(alt)
    console.log(origin)
    console.log(streamId)
    n = n + 1
    if n == 2 then
      client:close()
      server:close()
    end
  end)
  local req = client:request({ [":path"] = "/" })
  req:resume()
end)
