-- http2session.ping(): the server pings the client with an 8-byte payload.
local http2 = require "http2"
local server = http2.createServer()
server:on("session", function(session)
  session:ping("abcdefgh", function(err, duration, payload)
    if not err then
      print("Ping acknowledged, duration is a number: "
        .. tostring(type(duration) == "number" and duration >= 0))
      print(string.format("With payload '%s'", payload))
    end
    session:close()
    server:close()
  end)
end)
server:listen(0, "127.0.0.1", function()
  local client = http2.connect("http://127.0.0.1:" .. server:address().port)
  client:on("close", function() print("client closed") end)
end)
