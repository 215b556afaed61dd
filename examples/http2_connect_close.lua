-- http2.connect() returns a ClientHttp2Session at once; close() ends it gracefully ('close'
-- follows). Here the session connects to a server of its own on a free port.
local http2 = require "http2"

local server = http2.createServer()
server:listen(0, "127.0.0.1", function()
  local client = http2.connect("http://127.0.0.1:" .. server:address().port)
  console.log("connecting: " .. tostring(client.connecting))

  -- Use the client
  client:on("close", function()
    console.log("closed: " .. tostring(client.closed) .. ", destroyed: " .. tostring(client.destroyed))
    server:close()
  end)

  client:close()
  console.log("after close(): closed: " .. tostring(client.closed))
end)
