-- Push streams on the client: 'stream' on the session, then 'push' and 'data' on the stream.
local http2 = require "http2"
local server = http2.createServer()
server:on("stream", function(stream)
  stream:respond({ [":status"] = 200 })
  stream:pushStream({ [":path"] = "/style.css" }, function(err, push)
    if err then error(err) end
    push:respond({ [":status"] = 200, ["content-type"] = "text/css" })
    push:finish("body{}")
    stream:finish("page")
  end)
end)
server:listen(0, "127.0.0.1", function()
  local client = http2.connect("http://127.0.0.1:" .. server:address().port)
  local main, pushed, ended = {}, {}, 0
  local function done()
    ended = ended + 1
    if ended < 2 then return end
    print(table.concat(main, "\n"))
    print(table.concat(pushed, "\n"))
    client:close()
    server:close()
  end
  client:on("stream", function(pushedStream, requestHeaders)
    pushedStream:on("push", function(responseHeaders)
      pushed[#pushed + 1] = "push " .. requestHeaders[":path"] .. " " .. responseHeaders[":status"] .. " "
        .. responseHeaders["content-type"]
    end)
    pushedStream:on("data", function(chunk) pushed[#pushed + 1] = "pushed data: " .. chunk end)
    pushedStream:on("end", done)
  end)
  local req = client:request({ [":path"] = "/" })
  req:on("response", function(headers) main[#main + 1] = "response " .. headers[":status"] end)
  req:on("data", function(chunk) main[#main + 1] = "data: " .. chunk end)
  req:on("end", done)
  req:finish()
end)
