-- Http2Server's 'stream' event, with the http2.constants header names (the document's example
-- under "Class: Http2Server"); a client POSTs to it.
local http2 = require "http2"
local C = http2.constants
local HTTP2_HEADER_METHOD, HTTP2_HEADER_PATH = C.HTTP2_HEADER_METHOD, C.HTTP2_HEADER_PATH
local HTTP2_HEADER_STATUS, HTTP2_HEADER_CONTENT_TYPE = C.HTTP2_HEADER_STATUS, C.HTTP2_HEADER_CONTENT_TYPE

local server = http2.createServer()
server:on("stream", function(stream, headers, flags)
  local method = headers[HTTP2_HEADER_METHOD]
  local path = headers[HTTP2_HEADER_PATH]
  console.log("server: " .. method .. " " .. path .. " flags " .. flags)
  stream:respond({
    [HTTP2_HEADER_STATUS] = 200,
    [HTTP2_HEADER_CONTENT_TYPE] = "text/plain; charset=utf-8",
  })
  stream:write("hello ")
  stream:finish("world")
end)

server:listen(0, "127.0.0.1", function()
  local client = http2.connect("http://127.0.0.1:" .. server:address().port)
  local req = client:request({ [":method"] = "POST", [":path"] = "/upload" })
  req:on("response", function(headers)
    console.log(headers[HTTP2_HEADER_STATUS] .. " " .. headers[HTTP2_HEADER_CONTENT_TYPE])
  end)
  req:setEncoding("utf8")
  local data = ""
  req:on("data", function(chunk) data = data .. chunk end)
  req:on("end", function()
    console.log(data)
    client:close()
    server:close()
  end)
  req:finish()
end)
