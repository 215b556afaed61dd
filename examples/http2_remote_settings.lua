-- The 'remoteSettings' event: the client learns the server's SETTINGS.
local http2 = require "http2"
local server = http2.createServer({ settings = { maxConcurrentStreams = 42 } })
server:listen(0, "127.0.0.1", function()
  local session = http2.connect("http://127.0.0.1:" .. server:address().port)
  session:on("remoteSettings", function(settings)
    print("remoteSettings maxConcurrentStreams: " .. tostring(settings.maxConcurrentStreams))
    session:close()
    server:close()
  end)
end)
