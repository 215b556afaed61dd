-- The document's HTTP/2 CONNECT client: through the proxy on arg[1] to the TCP server on arg[2].
--   lode examples/http2_connect_client.lua [proxy_port] [tcp_port]
local http2 = require "http2"
local proxy_port = tonumber(arg and arg[1]) or 8001
local port = tonumber(arg and arg[2]) or 8000

local client = http2.connect("http://localhost:" .. proxy_port)

-- Must not specify the ':path' and ':scheme' headers for CONNECT requests or an error will be
-- thrown.
local req = client:request({
  [":method"] = "CONNECT",
  [":authority"] = "localhost:" .. port,
})

req:on("response", function(headers)
  print(headers[http2.constants.HTTP2_HEADER_STATUS])
end)

local data = ""
req:setEncoding("utf8")
req:on("data", function(chunk) data = data .. chunk end)
req:on("end", function()
  print("The server says: " .. data)
  client:close()
end)

req:finish("Jane")
