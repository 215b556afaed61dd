-- The server's 'stream' event (the usual place for a server's handler), with an 'error' listener
-- on each stream: a network error destroys every stream, so each one handles it.
local http2 = require "http2"

-- Create an unencrypted HTTP/2 server
local server = http2.createServer()

server:on("stream", function(stream, headers) -- luacheck: ignore headers
  stream:respond({
    ["content-type"] = "text/html; charset=utf-8",
    [":status"] = 200,
  })
  stream:on("error", function(error) console.error(error) end)
  stream:finish("<h1>Hello World</h1>")
end)

server:listen(0, "127.0.0.1", function()
  local client = http2.connect("http://127.0.0.1:" .. server:address().port)
  local req = client:request({ [":path"] = "/" })
  req:on("response", function(headers) console.log(headers[":status"] .. " " .. headers["content-type"]) end)
  req:setEncoding("utf8")
  local data = ""
  req:on("data", function(chunk) data = data .. chunk end)
  req:on("end", function()
    console.log(data)
    client:close()
    server:close()
  end)
end)
