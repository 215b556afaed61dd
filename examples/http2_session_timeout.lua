-- http2session.setTimeout(): an idle session fires 'timeout'.
local http2 = require "http2"
local server = http2.createServer()
server:listen(0, "127.0.0.1", function()
  local session = http2.connect("http://127.0.0.1:" .. server:address().port)
  session:setTimeout(200)
  session:on("timeout", function()
    print("session timed out")
    session:close()
    server:close()
  end)
end)
