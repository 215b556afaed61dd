-- ClientHttp2Stream 'response' event, with the http2.constants header names.
local http2 = require "http2"
local C = http2.constants
local server = http2.createServer()
server:on("stream", function(stream, headers)
  stream:respond({ [C.HTTP2_HEADER_STATUS] = 200,
    [C.HTTP2_HEADER_CONTENT_TYPE] = "text/plain; charset=utf-8" })
  stream:write("hello ")
  stream:finish(headers[C.HTTP2_HEADER_METHOD] .. " " .. headers[C.HTTP2_HEADER_PATH])
end)
server:listen(0, "127.0.0.1", function()
  local client = http2.connect("http://127.0.0.1:" .. server:address().port)
  local req = client:request({ [C.HTTP2_HEADER_PATH] = "/x" })
  req:on("response", function(headers)
    print(headers[C.HTTP2_HEADER_STATUS])
    print(headers["content-type"])
  end)
  local data = ""
  req:setEncoding("utf8")
  req:on("data", function(chunk) data = data .. chunk end)
  req:on("end", function() print(data); client:close(); server:close() end)
  req:finish()
end)
