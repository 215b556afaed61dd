-- The session's 'stream' event (server side): respond with write() then end().
local http2 = require "http2"
local server = http2.createServer()
server:on("session", function(session)
  session:on("stream", function(stream, headers)
    local method = headers[":method"]
    local path = headers[":path"]
    print("server got " .. method .. " " .. path)
    stream:respond({ [":status"] = 200, ["content-type"] = "text/plain; charset=utf-8" })
    stream:write("hello ")
    stream:finish("world")
  end)
end)
server:listen(0, "127.0.0.1", function()
  local client = http2.connect("http://127.0.0.1:" .. server:address().port)
  local req = client:request({ [":path"] = "/hi" })
  req:setEncoding("utf8")
  local data = ""
  req:on("data", function(chunk) data = data .. chunk end)
  req:on("end", function() print(data); client:close(); server:close() end)
  req:finish()
end)
