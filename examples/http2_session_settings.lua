-- http2session.settings() and the 'localSettings' event: the client turns push off. The first
-- 'localSettings' acknowledges the initial SETTINGS, the second the change.
local http2 = require "http2"
local server = http2.createServer()
server:listen(0, "127.0.0.1", function()
  local session = http2.connect("http://127.0.0.1:" .. server:address().port)
  session:settings({ enablePush = false })
  local count = 0
  session:on("localSettings", function(settings)
    count = count + 1
    print("localSettings enablePush: " .. tostring(settings.enablePush))
    if count == 2 then
      print("session.localSettings.enablePush: " .. tostring(session.localSettings.enablePush))
      session:close()
      server:close()
    end
  end)
end)
