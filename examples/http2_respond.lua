-- http2stream.respond(): a 200 with a body, read back by a client.
local http2 = require "http2"

local server = http2.createServer()
server:on("stream", function(stream)
  stream:respond({ [":status"] = 200 })
  stream:finish("some data")
end)

server:listen(0, "127.0.0.1", function()
  local client = http2.connect("http://127.0.0.1:" .. server:address().port)
  local req = client:request({ [":path"] = "/" })
  req:on("response", function(headers) console.log("status: " .. headers[":status"]) end)
  req:setEncoding("utf8")
  local data = ""
  req:on("data", function(chunk) data = data .. chunk end)
  req:on("end", function()
    console.log("body: " .. data)
    client:close()
    server:close()
  end)
end)
