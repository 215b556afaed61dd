-- http2session.setLocalWindowSize(): the server sets its connection window to 2^20. (The
-- document listens for 'connect' on the server, which Node never emits there; the session's
-- own hook is the server's 'session' event.)
local http2 = require "http2"
local server = http2.createServer()
local expectedWindowSize = 1 << 20
server:on("session", function(session)
  -- Set local window size to be 2 ** 20
  session:setLocalWindowSize(expectedWindowSize)
  print("local window size: " .. tostring(session.state.localWindowSize))
  session:close()
  server:close()
end)
server:listen(0, "127.0.0.1", function()
  http2.connect("http://127.0.0.1:" .. server:address().port)
end)
