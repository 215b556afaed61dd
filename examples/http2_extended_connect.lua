-- The extended CONNECT protocol (RFC 8441): a server with enableConnectProtocol that echoes the
-- tunnel, and a client that sends :protocol once the server's SETTINGS allow it.
--   lode examples/http2_extended_connect.lua
local http2 = require "http2"

local settings = { enableConnectProtocol = true }
local server = http2.createServer({ settings = settings })
server:on("stream", function(stream, headers)
  stream:respond()
  print("server: " .. headers[":method"] .. " " .. headers[":protocol"])
  stream:pipe(stream) -- echo
end)
server:listen(0, "127.0.0.1", function()
  local client = http2.connect("http://127.0.0.1:" .. server:address().port)
  client:on("remoteSettings", function(s)
    if s.enableConnectProtocol then
      local req = client:request({ [":method"] = "CONNECT", [":protocol"] = "foo" }, { endStream = false })
      req:setEncoding("utf8")
      req:on("data", function(d) print("client: " .. d) end)
      req:on("end", function() client:close(); server:close() end)
      req:finish("hello tunnel")
    end
  end)
end)
