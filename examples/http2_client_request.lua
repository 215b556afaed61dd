-- clienthttp2session.request() with the http2.constants header names: the 'response' handler
-- prints the status and only then listens for the body.
local http2 = require "http2"

local server = http2.createServer()
server:on("stream", function(stream)
  stream:respond({ [":status"] = 200 })
  stream:finish("some data")
end)

server:listen(0, "127.0.0.1", function()
  local clientSession = http2.connect("http://127.0.0.1:" .. server:address().port)
  local HTTP2_HEADER_PATH = http2.constants.HTTP2_HEADER_PATH
  local HTTP2_HEADER_STATUS = http2.constants.HTTP2_HEADER_STATUS

  local req = clientSession:request({ [HTTP2_HEADER_PATH] = "/" })
  req:on("response", function(headers)
    console.log(headers[HTTP2_HEADER_STATUS])
    req:on("data", function(chunk) console.log("data: " .. chunk) end)
    req:on("end", function()
      console.log("end")
      clientSession:close()
      server:close()
    end)
  end)
end)
