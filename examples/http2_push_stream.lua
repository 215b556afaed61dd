-- http2stream.pushStream() on the server; the client takes the push in its 'stream' event.
local http2 = require "http2"
local server = http2.createServer()
server:on("stream", function(stream)
  stream:respond({ [":status"] = 200 })
  stream:pushStream({ [":path"] = "/pushed" }, function(err, pushStream)
    if err then error(err) end
    pushStream:respond({ [":status"] = 200 })
    pushStream:finish("some pushed data")
  end)
  stream:finish("some data")
end)
server:listen(0, "127.0.0.1", function()
  local client = http2.connect("http://127.0.0.1:" .. server:address().port)
  local lines = {}
  local function done(key, line)
    lines[key] = line
    if lines.main and lines.push then
      print(lines.main)
      print(lines.push)
      client:close()
      server:close()
    end
  end
  client:on("stream", function(pushed, requestHeaders)
    pushed:setEncoding("utf8")
    local body = ""
    pushed:on("data", function(chunk) body = body .. chunk end)
    pushed:on("end", function() done("push", "pushed " .. requestHeaders[":path"] .. ": " .. body) end)
  end)
  local req = client:request({ [":path"] = "/" })
  req:setEncoding("utf8")
  local body = ""
  req:on("data", function(chunk) body = body .. chunk end)
  req:on("end", function() done("main", "response: " .. body) end)
  req:finish()
end)
